"""Public POMDP model object: users solve their own POMDPs with it."""

from __future__ import annotations

import numpy as np

from . import _solver
from ._core import belief_update

__all__ = ["POMDPModel", "POMDPSolution"]

_POLICIES = ("pomdp", "open_loop", "myopic", "mdp_bound")


def _check_stochastic(arr, name, axis=-1):
    if np.any(~np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(f"{name} must hold finite non-negative probabilities")
    sums = arr.sum(axis)
    if not np.allclose(sums, 1.0, atol=1e-8):
        bad = float(np.max(np.abs(sums - 1)))
        raise ValueError(f"{name} rows must sum to 1 (largest deviation {bad:.3g})")


class POMDPModel:
    """A finite POMDP with transit-then-emit timing.

    Each period, from pre-action state ``s`` the action ``a`` earns ``reward[s, a]`` in
    expectation, the state moves to ``s' ~ transition[a, s, :]`` and the outcome
    ``y ~ emission[a, s', :]`` is observed.

    Parameters
    ----------
    transition : array-like of shape (A, K, K)
        ``transition[a, s, s']``, rows sum to 1.
    emission : array-like of shape (A, K, L)
        ``emission[a, s', y]``, rows sum to 1.
    reward : array-like of shape (K, A)
        ``reward[s, a]``.
    discount : float
        In (0, 1) for the infinite horizon; 1 is allowed with a finite ``horizon``.
    horizon : int, optional
        Number of periods; None (default) for the infinite discounted horizon.

    Examples
    --------
    The Tiger problem at discount 0.75 (R package ``pomdp``: 1.933439).

    >>> from skcrm.datasets import pomdp_tiger
    >>> sol = POMDPModel(*pomdp_tiger(), discount=0.75).solve(201, initial_belief=[0.5, 0.5])
    >>> sol.info["converged"], round(sol.info["lower"], 6), round(sol.info["upper"], 6)
    (True, 1.933439, 1.933439)
    >>> round(float(sol.value([0.5, 0.5])), 4)
    1.9334
    >>> sol.action([[0.5, 0.5], [0.01, 0.99]]).tolist()
    [0, 1]
    """

    def __init__(self, transition, emission, reward, discount, horizon=None):
        Q = np.asarray(transition, dtype=float)
        P = np.asarray(emission, dtype=float)
        R = np.asarray(reward, dtype=float)
        if Q.ndim != 3 or Q.shape[1] != Q.shape[2]:
            raise ValueError(f"transition must have shape (A, K, K), got {Q.shape}")
        A, K, _ = Q.shape
        if P.ndim != 3 or P.shape[:2] != (A, K):
            raise ValueError(f"emission must have shape ({A}, {K}, L), got {P.shape}")
        if R.shape != (K, A):
            raise ValueError(
                f"reward must have shape ({K}, {A}) = (states, actions), got {R.shape}"
            )
        if not np.all(np.isfinite(R)):
            raise ValueError("reward must be finite")
        _check_stochastic(Q, "transition")
        _check_stochastic(P, "emission")
        discount = float(discount)
        if horizon is None and not 0.0 < discount < 1.0:
            raise ValueError(
                f"discount must be in (0, 1) for the infinite horizon, got {discount}; "
                "discount=1 needs a finite horizon"
            )
        if horizon is not None:
            if int(horizon) != horizon or horizon < 1:
                raise ValueError(f"horizon must be a positive integer or None, got {horizon}")
            if not 0.0 < discount <= 1.0:
                raise ValueError(f"discount must be in (0, 1], got {discount}")
        self.transition, self.emission, self.reward = Q, P, R
        self.discount = discount
        self.horizon = None if horizon is None else int(horizon)

    @property
    def n_states(self):
        return self.transition.shape[1]

    @property
    def n_actions(self):
        return self.transition.shape[0]

    @property
    def n_outcomes(self):
        return self.emission.shape[2]

    def belief_update(self, belief, action, outcome):
        """One Bayes step; returns ``(new_belief, Pr(outcome | belief, action))``.

        Parameters
        ----------
        belief : array-like of shape (K,) or (n, K)
            Belief(s) over the hidden states.
        action : label, optional
            Action of the next period; default the optimal one at each row.
        outcome : int or label
            Observed outcome level.
        """
        return belief_update(belief, self.transition, self.emission, action, outcome)

    def open_loop(self):
        """The same model with the outcome channel removed (the dissertation's "HMM")."""
        return POMDPModel(
            self.transition,
            np.ones((self.n_actions, self.n_states, 1)),
            self.reward,
            self.discount,
            self.horizon,
        )

    def solve(
        self,
        n_belief_points=None,
        *,
        initial_belief=None,
        tol=1e-3,
        vi_tol=1e-6,
        max_iter=10_000,
        belief_points=None,
        method="pbvi",
        max_time=60.0,
        max_points=20_000,
        open_loop=True,
    ):
        """Solve the POMDP and its open-loop baseline with lower and upper bounds.

        With ``initial_belief`` (infinite horizon), belief points are grown by
        reachability from it (HSVI2-style trials: the action best under the upper bound,
        the outcome with the largest weighted gap) and backed up until the relative gap
        ``(upper - lower) / max(1, |value|)`` at that belief is below ``tol``. The lower
        bound is a set of alpha vectors (values of policies), re-evaluated exactly as a
        finite-state controller after each trial; the upper bound is the fast informed
        bound with a sawtooth interpolation over backed-up points. Without it,
        point-based value iteration runs on a fixed grid and the gap over the grid is
        reported (and warned about when it exceeds ``tol``).

        Parameters
        ----------
        n_belief_points : int, optional
            Size of a fixed grid (P(state 1) for two states, else the largest simplex
            lattice with at most this many points). Default: 201 without
            ``initial_belief`` (a grid must have at least 11 points), none with it.
        initial_belief : array-like of shape (K,), optional
            Start belief ``b0`` of the bounded solver.
        tol : float, default=1e-3
            Relative gap at ``b0`` (or largest over the grid) that the solver aims for.
        vi_tol : float, default=1e-6
            Absolute stopping tolerance of grid value iteration.
        max_iter : int, default=10000
            Iterations of grid value iteration.
        belief_points : array (n, K), optional
            Extra belief points (e.g. the start belief) added to the grid.
        method : {"pbvi", "perseus"}
            Grid value iteration: every point backed up every iteration (``"pbvi"``)
            or randomised backups until every point improved (``"perseus"``).
        max_time, max_points : float, int
            Budget of the bounded solver (seconds, belief points); a warning says when
            it stops before reaching ``tol``.
        open_loop : bool, default=True
            Also solve the open-loop baseline (needed for ``policy="open_loop"`` and the
            value of learning); False skips it. With ``initial_belief`` its budget is
            the POMDP's solve time (at least 1 s, at most ``max_time``): without
            observations the upper bound closes slowly on problems with many states
            (4x3, cheese, network), and a warning then gives its gap.

        Returns
        -------
        POMDPSolution
            ``info`` holds ``lower``, ``upper``, ``gap``, ``relative_gap``,
            ``converged``, ``n_points`` and the solver's counters (with
            ``initial_belief``: ``n_trials``, ``n_backups``, ``time`` in seconds and
            ``stopped_by``, None or the budget that stopped it).
        """
        from . import _bounds
        from ._messages import warn

        if method not in ("pbvi", "perseus"):
            raise ValueError(f"method must be 'pbvi' or 'perseus', got {method!r}")
        K = self.n_states
        if n_belief_points is None and (initial_belief is None or self.horizon is not None):
            n_belief_points = 201
        if n_belief_points is not None:
            if initial_belief is None and int(n_belief_points) < 11:
                raise ValueError(
                    f"n_belief_points={n_belief_points} is too small a grid to be meaningful "
                    "(Tiger: 5 points give V(0.5) = 13.04 against 19.37); use at least 11, "
                    "or pass initial_belief to grow the points from the start belief with "
                    "a certified gap"
                )
            B = _solver.belief_grid(K, n_belief_points, extra=belief_points)
        elif belief_points is not None:
            B = np.atleast_2d(np.asarray(belief_points, float))
        else:
            B = None
        b0 = None
        if initial_belief is not None:
            b0 = np.asarray(initial_belief, dtype=float)
            if b0.shape != (K,) or np.any(b0 < 0) or not np.isclose(b0.sum(), 1.0):
                raise ValueError(f"initial_belief must be {K} probabilities summing to 1")
            b0 = b0 / b0.sum()
        Q, P, R, g = self.transition, self.emission, self.reward, self.discount
        P_ol = np.ones((self.n_actions, self.n_states, 1))
        if self.horizon is not None:
            if B is None:
                B = _solver.belief_grid(K, 201)
            if b0 is not None:
                B = np.vstack([B, b0])
            stages, _ = _solver.pbvi_finite(Q, P, R, g, B, self.horizon)
            stages_ol, _ = _solver.pbvi_finite(Q, P_ol, R, g, B, self.horizon)
            return POMDPSolution(
                model=self,
                belief_points=B,
                alpha_vectors=stages[-1],
                alpha_vectors_open_loop=stages_ol[-1],
                stages=stages,
                stages_open_loop=stages_ol,
                mdp_values=None,
                info={"n_iter": self.horizon, "residual": 0.0},
            )
        solver = _solver.pbvi if method == "pbvi" else _solver.perseus
        out, info = [], {}
        tasks = (("", P), ("_open_loop", P_ol)) if open_loop else (("", P),)
        for tag, PP in tasks:
            init, it, res = None, 0, 0.0
            if B is not None:
                G, act, it, res = solver(Q, PP, R, g, B, tol=vi_tol, max_iter=max_iter)
                init = (G, act)
            if b0 is not None:
                budget = max_time
                if tag:  # the open-loop baseline: no longer than the POMDP (>= 1 s)
                    budget = min(max_time, max(1.0, info.get("time", 0.0)))
                r = _bounds.solve_bounded(
                    Q,
                    PP,
                    R,
                    g,
                    b0,
                    tol=tol,
                    belief_points=B,
                    max_time=budget,
                    max_points=max_points,
                    init_alpha=init,
                )
                G = r["alpha_vectors"]
                pts = r["belief_points"]
                part = {k: r[k] for k in ("lower", "upper", "gap", "relative_gap", "converged")}
                part.update(
                    n_points=r["n_points"],
                    n_trials=r["n_trials"],
                    n_backups=r["n_backups"],
                    time=r["time"],
                    stopped_by=r["stopped_by"],
                )
                if not r["converged"]:
                    what = "open-loop baseline" if tag else "POMDP solver"
                    hint = (
                        "; its budget is the POMDP's solve time (at least 1 s, at most "
                        "max_time): pass open_loop=False if it is not needed"
                        if tag
                        else ""
                    )
                    warn(
                        f"the {what} stopped at its {r['stopped_by']} budget with a "
                        f"relative gap of {r['relative_gap']:.3g} at the initial belief "
                        f"(lower {r['lower']:.6g}, upper {r['upper']:.6g}), above "
                        f"tol={tol}; increase max_time / max_points or tol{hint}",
                        _convergence_warning(),
                    )
            elif tag == "":
                pts = B
                lo_v = _solver.alpha_values(G, B)
                if K == 2:  # interpolation on P(state 1): a tight upper bound
                    pts2, V = _bounds.two_state_upper(Q, PP, R, g, max(len(B), 201))
                    up_v = np.interp(B[:, 1], pts2[:, 1], V)
                else:
                    ub = _bounds.grid_upper_bound_any(Q, PP, R, g, B, max_time=2.0)
                    up_v = ub(B)
                up_v = np.maximum(up_v, lo_v)
                rel = (up_v - lo_v) / np.maximum(1.0, np.maximum(np.abs(lo_v), np.abs(up_v)))
                j = int(np.argmax(rel))
                part = {
                    "lower": float(lo_v[j]),
                    "upper": float(up_v[j]),
                    "gap": float(up_v[j] - lo_v[j]),
                    "relative_gap": float(rel[j]),
                    "converged": bool(rel[j] <= tol),
                    "n_points": len(B),
                }
                if not part["converged"]:
                    warn(
                        f"on the grid of {len(B)} belief points the value is only known to "
                        f"within a relative gap of {rel[j]:.3g} (lower {lo_v[j]:.6g}, "
                        f"upper {up_v[j]:.6g}) > tol={tol}; pass initial_belief (or more "
                        "n_belief_points) for a certified value",
                        _convergence_warning(),
                    )
            else:
                pts, part = B, {}
            part.update(n_iter=it, residual=res)
            out.append((G, pts))
            info.update({k + tag: v for k, v in part.items()})
        return POMDPSolution(
            model=self,
            belief_points=out[0][1],
            alpha_vectors=out[0][0],
            alpha_vectors_open_loop=out[1][0] if open_loop else None,
            stages=None,
            stages_open_loop=None,
            mdp_values=_solver.mdp_values(Q, R, g),
            info=info,
        )


def _convergence_warning():
    from sklearn.exceptions import ConvergenceWarning

    return ConvergenceWarning


class POMDPSolution:
    """A solved :class:`POMDPModel`: values and actions at any belief.

    Parameters
    ----------
    model : POMDPModel
        The model solved.
    belief_points : ndarray (n, K)
        Belief points the solver backed up.
    alpha_vectors, alpha_vectors_open_loop : ndarray (m, K), (m', K)
        Lower-bound alpha vectors of V* and of the open-loop value.
    stages, stages_open_loop : list of ndarray or None
        Per-stage alpha sets of a finite-horizon model.
    mdp_values : ndarray (K,) or None
        Fully observed values (infinite horizon).
    info : dict
        The solver's report (bounds, gap, counters).

    Attributes
    ----------
    model : POMDPModel
    belief_points : ndarray (n, K)
    alpha_vectors : ndarray (m, K)
        Alpha vectors of V* (the full horizon for a finite-horizon model).
    alpha_vectors_open_loop : ndarray (m', K)
        Alpha vectors of the open-loop value ``V_OL``.
    mdp_values : ndarray (K,) or None
        Fully observed values (infinite horizon only).
    info : dict
        Iterations and final residuals of the solver.
    """

    def __init__(
        self,
        model,
        belief_points,
        alpha_vectors,
        alpha_vectors_open_loop,
        stages,
        stages_open_loop,
        mdp_values,
        info,
    ):
        self.model = model
        self.belief_points = belief_points
        self.alpha_vectors = alpha_vectors
        self.alpha_vectors_open_loop = alpha_vectors_open_loop
        self.stages = stages
        self.stages_open_loop = stages_open_loop
        self.mdp_values = mdp_values
        self.info = info

    def _beliefs(self, belief):
        b = np.asarray(belief, dtype=float)
        single = b.ndim == 1
        b = np.atleast_2d(b)
        K = self.model.n_states
        if b.shape[-1] != K:
            raise ValueError(f"belief must have {K} entries per row, got shape {b.shape}")
        if np.any(b < -1e-12) or not np.allclose(b.sum(1), 1.0, atol=1e-8):
            raise ValueError("each belief must be a probability vector (non-negative, sums to 1)")
        return b, single

    def _out(self, value, single):
        return value[0] if single else value

    def _gammas(self, policy, periods_left):
        if policy == "pomdp":
            if self.stages is None:
                return self.alpha_vectors
            return self.stages[self._stage(periods_left)]
        if self.stages_open_loop is None:
            if self.alpha_vectors_open_loop is None:
                raise ValueError(
                    "the open-loop baseline was not solved (solve(open_loop=False)); solve "
                    "again with open_loop=True"
                )
            return self.alpha_vectors_open_loop
        return self.stages_open_loop[self._stage(periods_left)]

    def _stage(self, periods_left):
        H = self.model.horizon
        h = H if periods_left is None else int(periods_left)
        if not 0 <= h <= H:
            raise ValueError(f"periods_left must be in [0, {H}], got {periods_left}")
        return h

    def value(self, belief, policy="pomdp", periods_left=None):
        """Value at one belief (K,) or at each row of a 2-D array (n, K).

        Parameters
        ----------
        belief : array-like of shape (K,) or (n, K)
            Belief(s) over the hidden states.
        policy : {"pomdp", "open_loop", "myopic", "mdp_bound"}
            ``"pomdp"`` = V* (dynamic customer value under adaptive learning);
            ``"open_loop"`` = the best plan that ignores outcomes (the "HMM");
            ``"myopic"`` = value of ``argmax_a b.R[:, a]`` with belief updating (two
            states: exact grid evaluation; more: Monte Carlo, 20,000 customers);
            ``"mdp_bound"`` = ``b . V_MDP`` (the fully observed upper bound).
        periods_left : int, optional
            For a finite-horizon model, the number of periods to go (default: all).
        """
        b, single = self._beliefs(belief)
        if policy in ("pomdp", "open_loop"):
            return self._out(_solver.alpha_values(self._gammas(policy, periods_left), b), single)
        if policy == "mdp_bound":
            if self.mdp_values is None:
                raise ValueError("the MDP bound is computed for the infinite horizon only")
            return self._out(b @ self.mdp_values, single)
        if policy == "myopic":
            return self._out(self.evaluate(lambda bb: self.action(bb, policy="myopic"), b), single)
        raise ValueError(f"policy must be one of {_POLICIES}, got {policy!r}")

    def q_values(self, belief, policy="pomdp", periods_left=None):
        """``Q(b, a)`` for every action: (A,) for one belief, (n, A) for several.

        Parameters
        ----------
        belief : array-like of shape (K,) or (n, K)
            Belief(s) over the hidden states.
        policy : {'pomdp', 'open_loop', 'myopic'}
            Which policy's values (see :meth:`value`).
        periods_left : int, optional
            For a finite-horizon model, the number of periods to go (default: all).
        """
        b, single = self._beliefs(belief)
        m = self.model
        if policy == "myopic":
            return self._out(b @ m.reward, single)
        if policy not in ("pomdp", "open_loop"):
            raise ValueError(f"policy must be 'pomdp', 'open_loop' or 'myopic', got {policy!r}")
        if self.stages is not None:
            h = self._stage(periods_left)
            if h == 0:
                return self._out(np.zeros((len(b), m.n_actions)), single)
            stages = self.stages if policy == "pomdp" else self.stages_open_loop
            G = stages[h - 1]
        else:
            G = self._gammas(policy, None)
        P = m.emission if policy == "pomdp" else np.ones((m.n_actions, m.n_states, 1))
        return self._out(_solver.q_values(G, m.transition, P, m.reward, m.discount, b), single)

    def action(self, belief, policy="pomdp", periods_left=None):
        """Index of the best action (argmax of :meth:`q_values`) at each belief.

        Parameters
        ----------
        belief : array-like of shape (K,) or (n, K)
            Belief(s) over the hidden states.
        policy : {'pomdp', 'open_loop', 'myopic'}
            Which policy's values (see :meth:`value`).
        periods_left : int, optional
            For a finite-horizon model, the number of periods to go (default: all).
        """
        q = self.q_values(belief, policy=policy, periods_left=periods_left)
        return np.argmax(q, axis=-1)

    def evaluate(
        self,
        policy,
        belief,
        *,
        true_model=None,
        n_points=4001,
        horizon=None,
        method="exact",
        n_customers=20_000,
        random_state=0,
    ):
        """Value of any belief policy, optionally on a different true process.

        Parameters
        ----------
        n_points : int, default=4001
            Grid size of the exact two-state evaluation.
        n_customers : int
            Number of customers (simulated paths).
        random_state : int, RandomState or None
            Seed of the simulation; default the estimator's ``random_state``.
        policy : callable
            Maps the policy's beliefs (n, K) (filtered with this model) to action indices.
        belief : array (K,) or (n, K)
            Starting belief of the policy (and of the true state, unless ``true_model``).
        true_model : POMDPModel, optional
            The process the customer really follows (default: this model).
        horizon : int, optional
            Truncate to this many periods (discounted).
        method : {"exact", "simulate"}
            ``"exact"`` needs two model states (joint grid, ``evaluate_policy_grid``);
            ``"simulate"`` is Monte Carlo and returns values only (standard errors via
            ``skcrm.pomdp._solver.simulate_policy``).
        """
        b, single = self._beliefs(belief)
        true = true_model or self.model
        m = self.model
        if method == "exact" and m.n_states == 2 and true.n_states == 2:
            x, V = _solver.evaluate_policy_grid(
                policy,
                m.transition,
                m.emission,
                true.transition,
                true.emission,
                true.reward,
                m.discount,
                n_points=n_points,
                horizon=horizon,
            )
            vals = np.stack([np.interp(b[:, 1], x, V[s]) for s in range(2)], 1)
            return self._out((b * vals).sum(1), single)
        if method not in ("exact", "simulate"):
            raise ValueError(f"method must be 'exact' or 'simulate', got {method!r}")
        out, _ = _solver.simulate_policy(
            policy,
            m.transition,
            m.emission,
            b,
            true.transition,
            true.emission,
            true.reward,
            b,
            m.discount,
            n_customers=n_customers,
            horizon=horizon,
            random_state=random_state,
        )
        return self._out(out, single)
