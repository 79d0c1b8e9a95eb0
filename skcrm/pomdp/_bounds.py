"""Bounded point-based solver: lower and upper bounds grown from the start belief.

The lower bound is a set of alpha vectors (each the value of a policy graph, so every
one is a lower bound of V*); the upper bound is the fast informed bound (FIB, Hauskrecht
2000) combined with a sawtooth interpolation over belief points whose upper values come
from Bellman backups of the bound itself (Hauskrecht 2000; Smith & Simmons' HSVI 2005;
Kurniawati et al.'s SARSOP 2008 use the same pair). Belief points are grown by
reachability from the start belief ``b0``: trials follow the action that is best under
the upper bound and the outcome with the largest probability-weighted excess gap
(HSVI2), aiming at half the current gap, until the gap at ``b0`` is below the
tolerance. The points of every trial are backed up in reverse order; between trials all
stored points are swept together (vectorised over points) within a time budget, the
lower bound's vectors are evaluated exactly as a finite-state controller (policy
iteration: one linear solve instead of many backups), and vectors or sawtooth points
that no stored belief needs are pruned.

Arrays follow the transit-then-emit convention: ``Q[a, s, s']``, ``P[a, s', y]``,
``R[s, a]``.
"""

from __future__ import annotations

import time

import numpy as np

from ._solver import _backup, blind_alpha_vectors

__all__ = ["fast_informed_bound", "UpperBound", "solve_bounded"]


def fast_informed_bound(Q, P, R, gamma, *, tol=1e-9, max_iter=100_000):
    """Fast informed bound ``Qf[s, a]``: ``V*(b) <= max_a b . Qf[:, a]``.

    ``Qf(s,a) = R(s,a) + gamma sum_y max_a' sum_s' Q_a(s,s') P_a(s',y) Qf(s',a')``
    (Hauskrecht 2000); tighter than the MDP (QMDP) bound. The iteration starts above
    (``max R / (1 - gamma)``) and the operator is monotone, so every iterate is an
    upper bound; it stops when the change is below ``tol`` times the scale of the values.
    """
    A, K, L = P.shape
    W = np.einsum("asz,azy->aysz", Q, P)  # (A, L, K, K')
    Qf = np.full((K, A), np.max(R) / (1 - gamma))
    scale = max(1.0, float(np.max(np.abs(R))) / (1 - gamma))
    for _ in range(max_iter):
        nxt = (W @ Qf).max(-1)  # (A, L, K)
        new = R + gamma * nxt.sum(1).T
        if np.max(np.abs(new - Qf)) < tol * scale:
            return new
        Qf = new
    return Qf


class UpperBound:
    """Sawtooth upper bound over belief points, capped by the fast informed bound.

    ``UB(b) = min(FIB(b), b.c + min_i (v_i - p_i.c) min_{s: p_i(s) > 0} b(s) / p_i(s))``
    with ``c`` the upper values at the vertices and ``(p_i, v_i)`` the upper points
    (Hauskrecht 2000); for two states the piecewise-linear interpolation through the
    points (tighter, and valid because V* is convex). Points are stored in arrays that
    grow by doubling, so adding one is O(K).
    """

    def __init__(self, Qf):
        self.Qf = np.asarray(Qf, float)
        K = self.Qf.shape[0]
        self.corner = self.Qf.max(1).copy()  # values at the vertices e_s
        self._P = np.zeros((16, K))
        self._invT = np.zeros((K, 16))
        self._v = np.zeros(16)
        self.n = 0
        self._where = {}
        self._d = None
        self._interp = None

    @property
    def points(self):
        return self._P[: self.n]

    @property
    def values(self):
        return self._v[: self.n]

    def __call__(self, B):
        B = np.atleast_2d(B)
        base = B @ self.corner
        n = self.n
        if n and B.shape[1] == 2:
            if self._interp is None:
                x = np.concatenate([[0.0], self._P[:n, 1], [1.0]])
                v = np.concatenate([[self.corner[0]], self._v[:n], [self.corner[1]]])
                order = np.argsort(x, kind="stable")
                self._interp = (x[order], v[order])
            xs, vs = self._interp
            base = np.minimum(base, np.interp(B[:, 1], xs, vs))
        elif n:
            if self._d is None:
                self._d = np.minimum(self._v[:n] - self._P[:n] @ self.corner, 0.0)
            d = self._d
            step = max(1, 2_000_000 // n)
            if len(B) > step:
                return np.concatenate([self(B[lo : lo + step]) for lo in range(0, len(B), step)])
            # min over the point's support of b(s) / p(s): 1/p(s) = inf off the support,
            # and b(s) = 0 is raised to 1e-300 so that 0 * inf never occurs (the bound
            # moves by ~1e-300, upwards: still an upper bound)
            Bt = np.where(B > 0, B, 1e-300)
            inv = self._invT[:, :n]
            ratio = Bt[:, 0, None] * inv[0]
            for s in range(1, B.shape[1]):
                np.minimum(ratio, Bt[:, s, None] * inv[s], out=ratio)
            ratio *= d
            base = base + ratio.min(1)
        return np.minimum(base, (B @ self.Qf).max(1))

    def add(self, B, v, min_gain=0.0):
        """Add points whose backed-up value improves the bound by more than ``min_gain``.

        Vertices update ``corner``.
        """
        B = np.atleast_2d(np.asarray(B, float))
        v = np.atleast_1d(np.asarray(v, float))
        cur = self(B)
        better = v < cur - np.maximum(min_gain, 1e-12 * np.maximum(1.0, np.abs(cur)))
        if not better.any():
            return
        B, v = B[better], v[better]
        vertex = B.max(1) > 1 - 1e-12
        if vertex.any():
            np.minimum.at(self.corner, B[vertex].argmax(1), v[vertex])
        for b, val in zip(B[~vertex], v[~vertex], strict=True):
            key = _key(b)
            j = self._where.get(key)
            if j is not None:
                self._v[j] = min(self._v[j], val)
                continue
            if self.n == len(self._v):
                self._P = np.vstack([self._P, np.zeros_like(self._P)])
                self._invT = np.hstack([self._invT, np.zeros_like(self._invT)])
                self._v = np.concatenate([self._v, np.zeros_like(self._v)])
            self._where[key] = self.n
            self._P[self.n] = b
            with np.errstate(divide="ignore"):
                self._invT[:, self.n] = np.where(b > 0, 1.0 / np.where(b > 0, b, 1.0), np.inf)
            self._v[self.n] = val
            self.n += 1
        self._d = None
        self._interp = None

    def prune(self):
        """Drop the points that the other points' sawtooth already implies.

        Point i goes when ``p_i.c + min_{j != i} d_j r_j(p_i) <= v_i``; two points cannot
        drop each other (that needs ``r_j(p_i) r_i(p_j) >= 1``, i.e. equal points, which
        are stored once), so the bound does not change anywhere.
        """
        n = self.n
        if n < 2 or self._P.shape[1] == 2:
            return
        P, v, invT = self._P[:n], self._v[:n], self._invT[:, :n]
        d = np.minimum(v - P @ self.corner, 0.0)
        Pt = np.where(P > 0, P, 1e-300)
        ratio = Pt[:, 0, None] * invT[0]
        for s in range(1, P.shape[1]):
            np.minimum(ratio, Pt[:, s, None] * invT[s], out=ratio)
        ratio *= d
        np.fill_diagonal(ratio, 0.0)
        keep = np.flatnonzero(P @ self.corner + ratio.min(1) > v)
        m = len(keep)
        self._P[:m], self._invT[:, :m], self._v[:m] = P[keep], invT[:, keep], v[keep]
        self.n = m
        self._where = {_key(b): j for j, b in enumerate(self._P[:m])}
        self._d = None
        self._interp = None


def _key(b):
    return np.round(b, 9).tobytes()


def _successors(Q, P, B):
    """``Pr(y | b, a)`` (n, A, L) and the next beliefs (n, A, L, K)."""
    phi = np.einsum("nk,akz->naz", B, Q)  # (n, A, K')
    joint = phi[:, :, None, :] * np.transpose(P, (0, 2, 1))[None]  # (n, A, L, K')
    prob = joint.sum(-1)
    nxt = joint / np.where(prob > 0, prob, 1.0)[..., None]
    return prob, nxt


def _upper_q(Q, P, R, gamma, ub, B):
    """Upper-bound Q-values ``b.R_a + gamma sum_y Pr(y|b,a) UB(b'_ay)`` (n, A)."""
    prob, nxt = _successors(Q, P, B)
    n, A, L, K = nxt.shape
    vals = ub(nxt.reshape(-1, K)).reshape(n, A, L)
    return B @ R + gamma * np.sum(np.where(prob > 0, prob * vals, 0.0), -1), prob, nxt


class _Lower:
    """Alpha-vector lower bound (each vector is the value of a policy graph).

    Every vector keeps its action and its witness belief (the belief it was backed up
    at; NaN for the blind policies), so the set can be read as a finite-state
    controller and evaluated exactly (:meth:`evaluate_controller`).
    """

    def __init__(self, G, acts):
        self._G = np.array(G, dtype=float)
        self._a = np.array(acts, dtype=np.int64)
        self._w = np.full(self._G.shape, np.nan)
        self.n = len(self._G)

    @property
    def G(self):
        return self._G[: self.n]

    @property
    def acts(self):
        return self._a[: self.n]

    @property
    def witness(self):
        return self._w[: self.n]

    def __call__(self, B):
        return (np.atleast_2d(B) @ self.G.T).max(1)

    def append(self, alpha, act, witness=None):
        if self.n == len(self._G):
            self._G = np.vstack([self._G, np.zeros_like(self._G)])
            self._a = np.concatenate([self._a, np.zeros_like(self._a)])
            self._w = np.vstack([self._w, np.zeros_like(self._w)])
        self._G[self.n] = alpha
        self._a[self.n] = act
        self._w[self.n] = np.nan if witness is None else witness
        self.n += 1

    def extend(self, G, acts, witness=None):
        for i, (g, a) in enumerate(zip(G, acts, strict=True)):
            self.append(g, a, None if witness is None else witness[i])

    def keep(self, idx):
        idx = np.asarray(idx)
        m = len(idx)
        self._G[:m], self._a[:m], self._w[:m] = self._G[idx], self._a[idx], self._w[idx]
        self.n = m

    def prune(self, B):
        """Keep the vectors that are best at some point of B (values at B unchanged)."""
        self.keep(np.unique((B @ self.G.T).argmax(1)))

    def evaluate_controller(self, W, R, gamma, L):
        """Exact values of the controller read from the vectors (policy evaluation).

        Node i takes its action a_i and, after outcome y, moves to the vector that is
        best at its witness belief's successor ``b_i W_{a_i y}`` (blind nodes stay put).
        The values solve ``V_i = R_{a_i} + gamma sum_y W_{a_i y} V_{succ(i, y)}``: each
        is the value of a policy, hence a lower bound of V*, and one solve does what
        many point-based backups would (policy iteration, Hansen 1998). The values are
        appended to the set.
        """
        G, acts, wit = self.G, self.acts, self.witness
        m, K = G.shape
        has = ~np.isnan(wit[:, 0])
        idx = acts[:, None] * L + np.arange(L)  # (m, L)
        joint = np.einsum("mk,mlkz->mlz", np.where(has[:, None], wit, 0.0), W[idx])
        succ = (joint @ G.T).argmax(-1)  # (m, L)
        succ[~has] = np.arange(m)[~has, None]
        M = np.zeros((m, K, m, K))
        rows = np.arange(m)
        for y in range(L):
            M[rows, :, succ[:, y], :] += W[idx[:, y]]
        A_ = np.eye(m * K) - gamma * M.reshape(m * K, m * K)
        try:
            V = np.linalg.solve(A_, R.T[acts].ravel()).reshape(m, K)
        except np.linalg.LinAlgError:  # pragma: no cover - singular only if gamma >= 1
            return
        if not np.all(np.isfinite(V)):  # pragma: no cover
            return
        self.extend(V, acts.copy(), wit.copy())


def solve_bounded(
    Q,
    P,
    R,
    gamma,
    b0,
    *,
    tol=1e-3,
    belief_points=None,
    max_points=20_000,
    max_time=60.0,
    max_depth=None,
    init_alpha=None,
    upper_points=None,
    polish=True,
    n_sweeps=50,
    evaluate=True,
):
    """Heuristic search value iteration from ``b0`` until the relative gap is below ``tol``.

    HSVI2 (Smith & Simmons 2005): each trial walks down from ``b0`` taking the action
    that is best under the upper bound and the outcome with the largest
    probability-weighted excess gap ``UB - LB - eps gamma^-depth``, and stops where the
    excess is not positive; the beliefs of the trial are then backed up in reverse order,
    one point-based backup each (lower bound: a new alpha vector; upper bound: a sawtooth
    point). Trials aim at ``max(tol / 2, gap / 2)`` (absolute), so they are shallow while
    the gap is wide. After each trial, vectorised backups of every stored belief
    (both bounds) run while they still move a bound and cost no more time than the
    trials did; the lower-bound vectors are then read as a finite-state controller and
    evaluated exactly (one linear solve, while vectors x states <= 1500), which does
    the work of many backups (policy iteration). Vectors best at no stored belief and
    sawtooth points implied by the others are pruned (neither changes a bound at any
    stored belief).

    Parameters
    ----------
    Q, P, R, gamma : model arrays (see the module docstring) and the discount in (0, 1).
    b0 : (K,) start belief.
    tol : float
        Relative gap ``(upper - lower) / max(1, |lower|, |upper|)`` at ``b0`` that stops
        the solver.
    belief_points : (n, K) array, optional
        Extra beliefs kept in the point set and backed up (vectorised) at the start.
    max_points, max_time : budget (stored belief points, seconds) after which it stops.
    max_depth : int, optional
        Longest trial; default ``ceil(log(1e-3 tol) / log(gamma))``.
    init_alpha : (alpha vectors (m, K), actions (m,)), optional
        Lower-bound vectors to start from (values of policies, e.g. from PBVI on a grid).
    upper_points : (beliefs (m, K), upper values (m,)), optional
        Known upper bounds of V* to seed the upper bound with.
    polish : bool
        After convergence, vectorised lower-bound backups over all stored beliefs (a
        better policy away from ``b0``) for at most a fifth of the time spent.
    n_sweeps : int
        Most vectorised sweeps over the stored beliefs after a trial (0: none).
    evaluate : bool
        Exact evaluation of the lower bound's controller after each trial.

    Returns
    -------
    dict with ``alpha_vectors``, ``alpha_actions``, ``belief_points``, ``lower``,
    ``upper``, ``gap``, ``relative_gap``, ``converged``, ``n_trials``, ``n_points``,
    ``n_backups``, ``time``, ``stopped_by`` and the upper bound object ``upper_bound``.
    """
    t0 = time.perf_counter()
    Q, P, R = (np.asarray(x, dtype=float) for x in (Q, P, R))
    b0 = np.asarray(b0, dtype=float)
    A, K, L = P.shape
    X = A * L
    if max_depth is None:
        max_depth = int(np.ceil(np.log(1e-3 * tol) / np.log(gamma)))
    # W[a*L + y] = Q_a diag(P_a[:, y]): unnormalised successor b W = Pr(y|b,a) b'_{ay}
    W = np.einsum("asz,azy->aysz", Q, P).reshape(X, K, K)
    Wt = np.ascontiguousarray(np.transpose(W, (0, 2, 1)))  # (X, K', K)
    RT = np.ascontiguousarray(R.T)
    lower = _Lower(blind_alpha_vectors(Q, R, gamma), np.arange(A))
    if init_alpha is not None:
        lower.extend(*init_alpha)
    upper = UpperBound(fast_informed_bound(Q, P, R, gamma))
    if upper_points is None and K == 2:
        upper_points = two_state_upper(Q, P, R, gamma)
    if upper_points is not None:  # valid upper values (e.g. two-state interpolation)
        upper.add(*upper_points)

    def expand(Bs):
        """Successors of the beliefs Bs (n, K) and both bounds' one-step lookahead."""
        n = len(Bs)
        joint = np.einsum("nk,xkz->nxz", Bs, W)  # Pr(y | b, a) b'_{ay}
        prob = joint.sum(2)
        nxt = joint / np.where(prob > 0, prob, 1.0)[:, :, None]
        vals = joint @ lower.G.T  # (n, X, m) = Pr(y|b,a) alpha_m . b'
        best = vals.argmax(2)
        lo_next = np.take_along_axis(vals, best[:, :, None], 2)[:, :, 0]
        up_next = prob * upper(nxt.reshape(n * X, K)).reshape(n, X)
        qu = Bs @ R + gamma * up_next.reshape(n, A, L).sum(2)
        return prob, nxt, best, lo_next, up_next, qu

    def update(Bs, best, qu, min_gain=0.0):
        # lower: alpha_a = R_a + gamma sum_y W_ay alpha_best(a, y), the best a at each b
        sel = np.einsum("xzs,nxz->nxs", Wt, lower.G[best])  # (n, X, K)
        alpha = RT[None] + gamma * sel.reshape(len(Bs), A, L, K).sum(2)  # (n, A, K)
        ql = np.einsum("nk,nak->na", Bs, alpha)
        a = ql.argmax(1)
        v = ql[np.arange(len(Bs)), a]
        cur = lower(Bs)
        better = np.flatnonzero(v > cur + 1e-12 * np.maximum(1.0, np.abs(v)))
        for i in better:
            lower.append(alpha[i, a[i]], a[i], Bs[i])
        upper.add(Bs, qu.max(1), min_gain)
        return v, qu.max(1)

    def sweep(Bs, min_gain=0.0):
        _, _, best, _, _, qu = expand(Bs)
        return update(Bs, best, qu, min_gain)

    corners = np.eye(K)
    pts = {_key(b0): b0}
    if belief_points is not None:
        extra = np.atleast_2d(np.asarray(belief_points, float))
        for b in extra:
            pts.setdefault(_key(b), b)
        Bx = np.vstack([corners, extra])
        new, act, _ = _backup(lower.G, Q, P, R, gamma, Bx)
        better = np.einsum("nk,nk->n", Bx, new) > lower(Bx) + 1e-12
        lower.extend(new[better], act[better], Bx[better])
        q, _, _ = _upper_q(Q, P, R, gamma, upper, Bx)
        upper.add(Bx, q.max(1))

    def gap():
        lo, up = float(lower(b0)[0]), float(upper(b0)[0])
        return lo, up, (up - lo) / max(1.0, abs(lo), abs(up))

    lo, up, rel = gap()
    n_trials, n_backups, stopped_by = 0, 0, None
    last_prune = lower.n
    t_trials = t_sweeps = 0.0
    last_up_prune = 0
    while rel > tol:
        if time.perf_counter() - t0 > max_time:
            stopped_by = "max_time"
            break
        if len(pts) >= max_points:
            stopped_by = "max_points"
            break
        eps_tol = tol * max(1.0, abs(lo), abs(up))
        # trials aim at half the tolerance or half the current gap, whichever is
        # larger: shallow trials while the gap is wide, and no slow approach to tol
        eps = max(0.5 * eps_tol, 0.5 * (up - lo))
        path, b, thresh = [], b0, eps
        t_trial = time.perf_counter()
        for _ in range(max_depth):
            prob, nxt, best, lo_next, up_next, qu = (x[0] for x in expand(b[None]))
            path.append(b)
            a = int(qu.argmax())
            thresh /= gamma
            sl = slice(a * L, (a + 1) * L)
            score = up_next[sl] - lo_next[sl] - prob[sl] * thresh
            y = int(score.argmax())
            if score[y] <= 0:
                update(b[None], best[None], qu[None])
                n_backups += 1
                path.pop()
                break
            b = nxt[a * L + y]
        for bb in reversed(path):
            sweep(bb[None])
            n_backups += 1
            pts.setdefault(_key(bb), bb)
        t_trials += time.perf_counter() - t_trial
        if n_sweeps and t_sweeps < t_trials:
            # vectorised sweeps over every stored belief while they still move the
            # bounds and cost no more time than the trials have (value iteration on the
            # points found so far; the trials alone move a bound by one step per trial)
            t_sw = time.perf_counter()
            Bs = np.vstack([corners, np.asarray(list(pts.values()))])
            lo_b, up_b = lower(Bs), upper(Bs)
            for _ in range(n_sweeps):
                lo_n, up_n = sweep(Bs, 0.01 * eps)
                n_backups += len(Bs)
                moved = max(np.max(lo_n - lo_b), np.max(up_b - up_n))
                lo_b, up_b = np.maximum(lo_b, lo_n), np.minimum(up_b, up_n)
                if moved < 0.1 * eps or t_sweeps + time.perf_counter() - t_sw > t_trials:
                    break
            t_sweeps += time.perf_counter() - t_sw
            upper.prune()
            last_up_prune = upper.n
        if evaluate and lower.n * K <= 1500:
            lower.evaluate_controller(W, R, gamma, L)
            lower.prune(np.vstack([corners, np.asarray(list(pts.values()))]))
        n_trials += 1
        if lower.n > 2 * last_prune + 50:
            lower.prune(np.vstack([corners, np.asarray(list(pts.values()))]))
            last_prune = lower.n
        if upper.n > 1.3 * last_up_prune + 50:
            upper.prune()
            last_up_prune = upper.n
        if evaluate and lower.n * K <= 1500:
            lower.evaluate_controller(W, R, gamma, L)
            lower.prune(np.vstack([corners, np.asarray(list(pts.values()))]))
        lo, up, rel = gap()
    B = np.asarray(list(pts.values()))
    if polish and len(B) > 1:
        budget = 0.2 * (time.perf_counter() - t0)
        t1 = time.perf_counter()
        before = lower(B)
        for _ in range(50):
            new, act, _ = _backup(lower.G, Q, P, R, gamma, B)
            better = np.einsum("nk,nk->n", B, new) > before + 1e-12 * np.maximum(1, np.abs(before))
            if not better.any():
                break
            lower.extend(new[better], act[better], B[better])
            lower.prune(np.vstack([corners, B]))
            after = lower(B)
            if np.max(after - before) < 1e-9 * max(1.0, abs(lo)) or (
                time.perf_counter() - t1 > budget
            ):
                break
            before = after
    lower.prune(np.vstack([corners, B]))
    lo, up, rel = gap()
    return {
        "alpha_vectors": lower.G.copy(),
        "alpha_actions": lower.acts.copy(),
        "belief_points": B,
        "lower": lo,
        "upper": up,
        "gap": up - lo,
        "relative_gap": rel,
        "converged": rel <= tol,
        "n_trials": n_trials,
        "n_backups": n_backups,
        "n_points": len(B),
        "time": time.perf_counter() - t0,
        "stopped_by": stopped_by,
        "upper_bound": upper,
    }


def two_state_upper(Q, P, R, gamma, n=201):
    """Upper values of V* on a grid of P(state 1) (interpolation fixed point, convex V*)."""
    from ._solver import grid_upper_bound

    tol = 1e-10
    x, V = grid_upper_bound(Q, P, R, gamma, n, tol=tol)
    # value iteration stopped at a change below tol is within tol gamma / (1 - gamma) of
    # the fixed point (the upper bound)
    return np.column_stack([1 - x, x]), V + 2 * tol * gamma / (1 - gamma)


def grid_upper_bound_any(Q, P, R, gamma, B, *, max_sweeps=200, tol=1e-9, max_time=10.0):
    """Upper bound swept to a fixed point over the belief points B (any number of states).

    Returns the :class:`UpperBound` (valid at any belief after any number of sweeps).
    """
    t0 = time.perf_counter()
    K = Q.shape[1]
    pts = np.vstack([np.eye(K), B])
    ub = UpperBound(fast_informed_bound(Q, P, R, gamma))
    prev = ub(pts)
    for _ in range(max_sweeps):
        q, _, _ = _upper_q(Q, P, R, gamma, ub, pts)
        ub.add(pts, q.max(1))
        cur = ub(pts)
        if np.max(prev - cur) < tol or time.perf_counter() - t0 > max_time:
            break
        prev = cur
    return ub
