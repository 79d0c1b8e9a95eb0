"""Simulators with known ground truth for POMDPPolicy (crm3, fan2015_like, Tiger, Three-doors).

numpy, scipy and pandas only: importing skcrm.datasets must stay light. The truth's value
methods import the solver of :mod:`skcrm.pomdp` lazily (numpy only as well).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "POMDPTruth",
    "POMDPParametricTruth",
    "make_pomdp_crm",
    "make_pomdp_parametric",
    "pomdp_tiger",
    "pomdp_three_doors",
]


@dataclass
class POMDPTruth:
    """The true model behind simulated CRM panels.

    Parameters
    ----------
    Q : ndarray (A, K, K)
        ``Q[a, s, s']`` transition of the relationship state under action a.
    P : ndarray (A, K, L)
        ``P[a, s', y]`` outcome level given the new state.
    rev : ndarray (L,)
        Value of each outcome level.
    cost : ndarray (A,)
        Cost of each action.
    b0 : ndarray (K,)
        Distribution of the state before the first period.
    gamma : float
        Discount factor.
    actions : ndarray (A,)
        Action labels (spend levels for ``fan2015_like``).
    """

    Q: np.ndarray
    P: np.ndarray
    rev: np.ndarray
    cost: np.ndarray
    b0: np.ndarray
    gamma: float
    actions: np.ndarray

    @property
    def R(self) -> np.ndarray:
        """``R[s, a] = sum_s' Q[a,s,s'] sum_y P[a,s',y] rev[y] - cost[a]``."""
        return np.einsum("asz,azy,y->sa", self.Q, self.P, self.rev) - self.cost[None, :]

    def model(self):
        """The true model as a :class:`skcrm.pomdp.POMDPModel`."""
        from skcrm.pomdp import POMDPModel

        return POMDPModel(self.Q, self.P, self.R, self.gamma)

    def solution(self, n_belief_points=201):
        """The solved true model (cached per number of belief points).

        Parameters
        ----------
        n_belief_points : int, default=201
            Belief grid of the solver.

        Returns
        -------
        POMDPSolution
            The solution.
        """
        cache = self.__dict__.setdefault("_solutions", {})
        if n_belief_points not in cache:
            cache[n_belief_points] = self.model().solve(n_belief_points=n_belief_points)
        return cache[n_belief_points]

    def optimal_value(self, b):
        """``V*(b)`` of the true POMDP.

        Parameters
        ----------
        b : array-like of shape (K,) or (n, K)
            Belief(s) over the relationship states.

        Returns
        -------
        float or ndarray
            One value (or action index) per belief.
        """
        return self.solution().value(b)

    def open_loop_value(self, b):
        """``V_OL(b)``: the best plan that ignores outcomes (the dissertation's "HMM").

        Parameters
        ----------
        b : array-like of shape (K,) or (n, K)
            Belief(s) over the relationship states.

        Returns
        -------
        float or ndarray
            One value (or action index) per belief.
        """
        return self.solution().value(b, policy="open_loop")

    def myopic_value(self, b):
        """Value of the myopic policy ``argmax_a b.R[:, a]`` with belief updating.

        Parameters
        ----------
        b : array-like of shape (K,) or (n, K)
            Belief(s) over the relationship states.

        Returns
        -------
        float or ndarray
            One value (or action index) per belief.
        """
        return self.solution().value(b, policy="myopic")

    def policy(self, b):
        """Index of the optimal action at belief b.

        Parameters
        ----------
        b : array-like of shape (K,) or (n, K)
            Belief(s) over the relationship states.

        Returns
        -------
        float or ndarray
            One value (or action index) per belief.
        """
        return self.solution().action(b)

    def evaluate_estimator(
        self,
        est,
        *,
        policy="pomdp",
        method="exact",
        n_customers=100_000,
        horizon=None,
        random_state=0,
    ):
        """Value on this true process of a fitted POMDPPolicy's plug-in policy.

        The policy filters with the fitted ``transmat_``/``emissionprob_`` from its own
        ``startprob_`` and acts with its own solution, while customers follow the truth
        from ``b0``.

        Parameters
        ----------
        est : fitted POMDPPolicy
            The estimator whose policy is evaluated.
        policy : {"pomdp", "open_loop", "myopic"}
            Which of its policies.
        method : {"exact", "simulate"}
            ``"exact"`` (two fitted states): joint (true state, policy belief) grid;
            ``"simulate"``: Monte Carlo with ``n_customers`` paths.
        n_customers : int, default=100_000
            Simulated customers (``method="simulate"``).
        horizon : int or None, default=None
            Periods simulated (None: until discounting makes the rest negligible).
        random_state : int, default=0
            Seed of the simulation.

        Returns
        -------
        float (exact) or (mean, standard error) (simulate)
        """
        from skcrm.pomdp import _solver

        sol = est._solution()
        to_truth = np.searchsorted(self.actions, est.actions_)
        if not np.array_equal(self.actions[to_truth], est.actions_):
            raise ValueError("the estimator's actions are not those of this truth")

        def act(b):
            return to_truth[sol.action(b, policy=policy)]

        Qm = np.zeros((len(self.actions), *est.transmat_.shape[1:]))
        Pm = np.ones((len(self.actions), est.n_states, est.emissionprob_.shape[2]))
        Qm[to_truth] = est.transmat_
        if policy != "open_loop":
            Pm[to_truth] = est.emissionprob_
        if method == "exact":
            x, V = _solver.evaluate_policy_grid(
                act, Qm, Pm, self.Q, self.P, self.R, self.gamma, horizon=horizon
            )
            start = float(est.startprob_[1])
            return float(sum(self.b0[s] * np.interp(start, x, V[s]) for s in range(len(self.b0))))
        return _solver.simulate_policy(
            act,
            Qm,
            Pm,
            est.startprob_,
            self.Q,
            self.P,
            self.R,
            self.b0,
            self.gamma,
            n_customers=n_customers,
            horizon=horizon,
            random_state=random_state,
        )


def _crm3():
    Q = np.array(
        [
            [[0.95, 0.05], [0.20, 0.80]],
            [[0.85, 0.15], [0.12, 0.88]],
            [[0.65, 0.35], [0.05, 0.95]],
        ]
    )
    P = np.array(
        [
            [[0.95, 0.04, 0.01], [0.40, 0.40, 0.20]],
            [[0.92, 0.06, 0.02], [0.30, 0.45, 0.25]],
            [[0.88, 0.09, 0.03], [0.20, 0.45, 0.35]],
        ]
    )
    return POMDPTruth(
        Q=Q,
        P=P,
        rev=np.array([0.0, 10.0, 40.0]),
        cost=np.array([0.0, 2.0, 10.0]),
        b0=np.array([0.9, 0.1]),
        gamma=0.95,
        actions=np.arange(3),
    )


def _logit(p):
    return np.log(p / (1 - p))


def _fan2015_like(gamma=0.99):
    # Table 4 emissions (low row renormalised), Table 3 marketing effects on transitions
    # with intercepts calibrated so that M = 0 reproduces Table 4.
    spend = np.array([0.0, 25.0, 50.0, 100.0, 150.0])
    m = spend / 10
    q01 = 1 / (1 + np.exp(-(_logit(0.0484) + 0.062 * m - 0.016 * m**2)))
    q11 = 1 / (1 + np.exp(-(_logit(0.1131) + 0.295 * m - 0.032 * m**2)))
    Q = np.stack([np.array([[1 - a, a], [1 - b, b]]) for a, b in zip(q01, q11, strict=True)])
    low = np.array([0.9531, 0.0346, 0.0084, 0.0033, 0.0005])
    high = np.array([0.0043, 0.2568, 0.4004, 0.2688, 0.0697])
    emis = np.stack([low / low.sum(), high / high.sum()])
    P = np.broadcast_to(emis, (5, 2, 5)).copy()
    return POMDPTruth(
        Q=Q,
        P=P,
        rev=np.array([0.0, 3813.0, 7421.0, 20123.0, 63331.0]),
        cost=spend.copy(),
        b0=np.array([0.921, 0.079]),
        gamma=gamma,
        actions=spend.astype(np.int64),
    )


def _threshold_behavior(truth, rng):
    """Endogenous logging policy: call with prob. 0.8 if the true filter's P(high) < 0.4."""

    def act(belief, n):
        random = rng.choice(len(truth.cost), size=n, p=[0.5, 0.3, 0.2])
        low = belief[:, 1] < 0.4
        call = rng.random(n) < 0.8
        return np.where(low & call, 2, random)

    return act


def make_pomdp_crm(
    n_customers=1000,
    n_periods=60,
    problem="crm3",
    *,
    behavior="random",
    behavior_probs=None,
    discount=None,
    random_state=None,
    return_states=False,
):
    """Simulate a customer-period panel from a known CRM POMDP.

    Each customer starts with ``S_0 ~ b0``; every period an action is drawn from the
    behaviour policy, then ``S_t ~ Q[a_t][S_{t-1}]`` and ``Y_t ~ P[a_t][S_t]``
    (transit-then-emit, a true latent chain).

    Parameters
    ----------
    n_customers : int, default=1000
        Customers simulated.
    n_periods : int, default=60
        Periods per customer.
    problem : {"crm3", "fan2015_like"}
        ``"crm3"``: 2 states, actions none/e-mail/call, outcomes none/small/large
        purchase. ``"fan2015_like"``: Fan (2015) Tables 2-4, actions are monthly spend
        levels 0/25/50/100/150 and 5 purchase levels.
    behavior : {"random", "threshold", "epsilon_optimal"}
        How the logged actions were chosen: iid with ``behavior_probs``; endogenous
        (a call with probability 0.8 when the true filter's P(high) < 0.4, crm3 only); or
        the true optimal policy with probability 0.8, random otherwise.
    behavior_probs : array-like of shape (A,), optional
        Default (0.5, 0.3, 0.2) for crm3 and uniform for fan2015_like.
    discount : float, optional
        Discount of the truth (default 0.95 for crm3, 0.99 for fan2015_like).
    random_state : int, RandomState or None
        Seed of the simulation.
    return_states : bool
        Add the hidden state of each period as column ``hidden_state``.

    Returns
    -------
    X : DataFrame
        ``customer_id``, ``period`` (1..n_periods), ``action`` (the action label).
    y : ndarray of int (n_rows,)
        Outcome level of each row.
    truth : POMDPTruth

    Examples
    --------
    >>> X, y, truth = make_pomdp_crm(n_customers=3, n_periods=4, random_state=0)
    >>> X.shape, y.shape, truth.R.round(3).tolist()
    ((12, 3), (12,), [[1.36, 1.365, -2.16], [9.76, 10.928, 7.68]])
    """
    if problem == "crm3":
        truth = _crm3()
    elif problem == "fan2015_like":
        truth = _fan2015_like()
    else:
        raise ValueError(f"problem must be 'crm3' or 'fan2015_like', got {problem!r}")
    if discount is not None:
        truth.gamma = float(discount)
    if behavior not in ("random", "threshold", "epsilon_optimal"):
        raise ValueError(
            f"behavior must be 'random', 'threshold' or 'epsilon_optimal', got {behavior!r}"
        )
    if behavior == "threshold" and problem != "crm3":
        raise ValueError("behavior='threshold' is defined for problem='crm3' only")
    rng = _check_random_state(random_state)
    A, K, _ = truth.P.shape
    probs = (
        np.asarray(behavior_probs, float)
        if behavior_probs is not None
        else (np.array([0.5, 0.3, 0.2]) if problem == "crm3" else np.full(A, 1 / A))
    )
    if probs.shape != (A,) or not np.isclose(probs.sum(), 1) or np.any(probs < 0):
        raise ValueError(f"behavior_probs must be {A} probabilities summing to 1, got {probs}")
    N, T = int(n_customers), int(n_periods)
    if N < 1 or T < 1:
        raise ValueError("n_customers and n_periods must be positive")
    states = np.empty((N, T), dtype=np.int64)
    actions = np.empty((N, T), dtype=np.int64)
    outcomes = np.empty((N, T), dtype=np.int64)
    s = _draw_rows(np.broadcast_to(truth.b0, (N, K)), rng)
    belief = np.broadcast_to(truth.b0, (N, K)).copy()
    thresh = _threshold_behavior(truth, rng) if behavior == "threshold" else None
    for t in range(T):
        if behavior == "random":
            a = rng.choice(A, size=N, p=probs)
        elif behavior == "threshold":
            a = thresh(belief, N)
        else:
            greedy = truth.policy(belief)
            a = np.where(rng.random(N) < 0.8, greedy, rng.choice(A, size=N, p=probs))
        s = _draw_rows(truth.Q[a, s], rng)
        y = _draw_rows(truth.P[a, s], rng)
        if behavior != "random":
            phi = np.einsum("nk,nkj->nj", belief, truth.Q[a])
            joint = phi * truth.P[a, :, y]
            belief = joint / joint.sum(1, keepdims=True)
        states[:, t], actions[:, t], outcomes[:, t] = s, a, y
    X = pd.DataFrame(
        {
            "customer_id": np.repeat(np.arange(N), T),
            "period": np.tile(np.arange(1, T + 1), N),
            "action": truth.actions[actions.ravel()],
        }
    )
    if return_states:
        X["hidden_state"] = states.ravel()
    return X, outcomes.ravel(), truth


@dataclass
class POMDPParametricTruth:
    """The true parametric model behind :func:`make_pomdp_parametric`.

    Parameters
    ----------
    theta : ndarray
        Flat parameter vector in the layout of ``skcrm.pomdp._parametric``.
    params : dict
        The same parameters by block (``g0, gA, gZ, beta0, delta, bA, bZ, s, nu, tau, rho``).
    actions : ndarray (A,)
        Action labels (monthly spend).
    action_features : dict
        ``label -> feature vector`` (spend / 10), as passed to ``POMDPPolicy``.
    covariate_cols : list of str
        Names of the static customer covariates in X.
    n_states : int
        Number of hidden states.
    n_outcomes : int
        Number of outcome levels.
    """

    theta: np.ndarray
    params: dict
    actions: np.ndarray
    action_features: dict
    covariate_cols: list
    n_states: int
    n_outcomes: int

    def layout(self):
        """The ``skcrm.pomdp._parametric.Layout`` of ``theta``."""
        from skcrm.pomdp._parametric import Layout

        d_a = len(next(iter(self.action_features.values())))
        return Layout(self.n_states, self.n_outcomes, d_a, len(self.covariate_cols))

    def arrays(self, Z):
        """``(pi, Q (N, A, K, K), P (N, A, K, L))`` for covariate rows ``Z``.

        Parameters
        ----------
        Z : array-like of shape (N, d_z)
            Covariate rows.

        Returns
        -------
        tuple of ndarray
            Initial, transition and emission probabilities per row.
        """
        from skcrm.pomdp._parametric import model_arrays

        F = np.array([self.action_features[a] for a in self.actions.tolist()], dtype=float)
        return model_arrays(self.theta, self.layout(), F, np.asarray(Z, dtype=float))


def make_pomdp_parametric(n_customers=500, n_periods=40, *, random_state=None):
    """Simulate a panel from a logit / ordered-logit IO-HMM with a customer covariate.

    The dissertation's model family: two states, actions are monthly spend
    0/5/15 with feature ``spend / 10``; the customer covariate ``size`` (standard
    normal, static) shifts the transition logits, the latent purchase utility and the
    scale of the cut points. Transitions: binary logits relative to staying; emissions:
    ordered logit over 4 purchase levels with ``beta_1 = beta_0 + exp(delta_1)``, state
    scales ``sigma = (1, 0.8)`` and cut points ``(0, 1, 2.5) * exp(0.2 size)``. Actions
    are drawn uniformly (an exploratory logged policy).

    Parameters
    ----------
    n_customers : int, default=500
        Customers simulated.
    n_periods : int, default=40
        Periods per customer.
    random_state : int, RandomState or None
        Seed of the simulation.

    Returns
    -------
    X : DataFrame
        ``customer_id``, ``period``, ``action`` (spend label), ``size`` (covariate).
    y : ndarray of int (n_rows,)
        Purchase level 0..3.
    truth : POMDPParametricTruth

    Examples
    --------
    >>> X, y, truth = make_pomdp_parametric(n_customers=3, n_periods=4, random_state=0)
    >>> X.shape, y.shape, truth.theta.shape
    ((12, 4), (12,), (16,))
    """
    rng = _check_random_state(random_state)
    N, T = int(n_customers), int(n_periods)
    if N < 1 or T < 1:
        raise ValueError("n_customers and n_periods must be positive")
    params = {
        "g0": np.array([[-2.5], [-2.0]]),  # 0 -> 1 and 1 -> 0 at zero spend
        "gA": np.array([[[1.2]], [[-0.8]]]),  # spend lifts upgrades, slows downgrades
        "gZ": np.array([[[0.5]], [[-0.3]]]),
        "beta0": np.array([-1.0]),
        "delta": np.array([np.log(2.5)]),  # beta_1 = 1.5
        "bA": np.array([[0.6], [0.3]]),
        "bZ": np.array([0.4]),
        "s": np.array([np.log(0.8)]),
        "nu": np.log(np.array([1.0, 1.5])),
        "tau": np.array([0.2]),
        "rho": np.array([-1.0]),
    }
    order = ["g0", "gA", "gZ", "beta0", "delta", "bA", "bZ", "s", "nu", "tau", "rho"]
    theta = np.concatenate([params[k].ravel() for k in order])
    actions = np.array([0, 5, 15])
    truth = POMDPParametricTruth(
        theta=theta,
        params=params,
        actions=actions,
        action_features={int(a): np.array([a / 10.0]) for a in actions},
        covariate_cols=["size"],
        n_states=2,
        n_outcomes=4,
    )
    size = rng.standard_normal(N)
    pi, Q, P = truth.arrays(size[:, None])
    K = len(pi)
    s = _draw_rows(np.broadcast_to(pi, (N, K)), rng)
    acts = rng.randint(len(actions), size=(N, T))
    outcomes = np.empty((N, T), dtype=np.int64)
    rows = np.arange(N)
    for t in range(T):
        a = acts[:, t]
        s = _draw_rows(Q[rows, a, s], rng)
        outcomes[:, t] = _draw_rows(P[rows, a, s], rng)
    X = pd.DataFrame(
        {
            "customer_id": np.repeat(np.arange(N), T),
            "period": np.tile(np.arange(1, T + 1), N),
            "action": actions[acts.ravel()],
            "size": np.repeat(size, T),
        }
    )
    return X, outcomes.ravel(), truth


def _check_random_state(seed):
    if seed is None or isinstance(seed, int | np.integer):
        return np.random.RandomState(seed)
    if isinstance(seed, np.random.RandomState):
        return seed
    raise ValueError(f"random_state must be None, an int or a RandomState, got {seed!r}")


def _draw_rows(prob, rng):
    """One categorical draw per row of ``prob`` (n, k), vectorised."""
    u = rng.random(prob.shape[0])
    return np.minimum((prob.cumsum(1) < u[:, None]).sum(1), prob.shape[1] - 1)


def pomdp_tiger(listen_accuracy=0.85):
    """The Tiger problem (Cassandra, Kaelbling & Littman 1994) as ``(Q, P, R)`` arrays.

    States tiger-left/tiger-right; actions listen (-1), open-left, open-right (+10 if the
    tiger is behind the other door, -100 otherwise); after an open the tiger is reset
    uniformly and the observation is uninformative. ``R[s, a]`` is on the pre-action
    state.

    Parameters
    ----------
    listen_accuracy : float, default=0.85
        Probability that listening hears the tiger behind the correct door.

    Returns
    -------
    Q : ndarray (3, 2, 2), P : ndarray (3, 2, 2), R : ndarray (2, 3)

    Examples
    --------
    >>> Q, P, R = pomdp_tiger()
    >>> R.tolist()
    [[-1.0, -100.0, 10.0], [-1.0, 10.0, -100.0]]
    """
    p = float(listen_accuracy)
    Q = np.stack([np.eye(2), np.full((2, 2), 0.5), np.full((2, 2), 0.5)])
    P = np.stack([np.array([[p, 1 - p], [1 - p, p]]), np.full((2, 2), 0.5), np.full((2, 2), 0.5)])
    R = np.array([[-1.0, -100.0, 10.0], [-1.0, 10.0, -100.0]])
    return Q, P, R


def pomdp_three_doors():
    """The three-door Tiger problem (R package ``pomdp``) as ``(Q, P, R)`` arrays.

    States tiger-left/center/right; actions listen (-1) and open-left/center/right (-100
    on the tiger, +10 otherwise); listening observation matrix
    ``[[.80,.15,.05],[.25,.50,.25],[.05,.15,.80]]``.

    Examples
    --------
    >>> Q, P, R = pomdp_three_doors()
    >>> Q.shape, P.shape, R.shape
    ((4, 3, 3), (4, 3, 3), (3, 4))
    """
    listen = np.array([[0.80, 0.15, 0.05], [0.25, 0.50, 0.25], [0.05, 0.15, 0.80]])
    Q = np.stack([np.eye(3)] + [np.full((3, 3), 1 / 3)] * 3)
    P = np.stack([listen] + [np.full((3, 3), 1 / 3)] * 3)
    R = np.full((3, 4), 10.0)
    R[:, 0] = -1.0
    R[np.arange(3), np.arange(1, 4)] = -100.0
    return Q, P, R
