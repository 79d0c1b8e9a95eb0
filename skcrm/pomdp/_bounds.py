"""Bounded point-based solver: lower and upper bounds grown from the start belief.

The lower bound is a set of alpha vectors (each the value of a policy tree, so every
one is a lower bound of V*); the upper bound is the fast informed bound (FIB, Hauskrecht
2000) combined with a sawtooth interpolation over belief points whose upper values come
from Bellman backups of the bound itself (Hauskrecht 2000; Smith & Simmons' HSVI 2005;
Kurniawati et al.'s SARSOP 2008 use the same pair). Belief points are grown by
reachability from the start belief ``b0``: trials follow the action that is best under
the upper bound and the outcome with the largest probability-weighted gap (HSVI), until
the gap at ``b0`` is below the tolerance. The points of every trial are backed up in
reverse order (one vectorised backup per point), and all points are swept together
(vectorised over points) between trials.

Arrays follow the transit-then-emit convention: ``Q[a, s, s']``, ``P[a, s', y]``,
``R[s, a]``.
"""

from __future__ import annotations

import time

import numpy as np

from ._solver import _backup, blind_alpha_vectors

__all__ = ["fast_informed_bound", "UpperBound", "solve_bounded"]


def fast_informed_bound(Q, P, R, gamma, *, tol=1e-10, max_iter=100_000):
    """Fast informed bound ``Qf[s, a]``: ``V*(b) <= max_a b . Qf[:, a]``.

    ``Qf(s,a) = R(s,a) + gamma sum_y max_a' sum_s' Q_a(s,s') P_a(s',y) Qf(s',a')``
    (Hauskrecht 2000); tighter than the MDP (QMDP) bound.
    """
    A, K, L = P.shape
    W = np.einsum("asz,azy->aysz", Q, P)  # (A, L, K, K')
    Qf = np.full((K, A), np.max(R) / (1 - gamma))
    for _ in range(max_iter):
        nxt = np.einsum("aysz,zb->aysb", W, Qf).max(-1)  # (A, L, K)
        new = R + gamma * nxt.sum(1).T
        if np.max(np.abs(new - Qf)) < tol:
            return new
        Qf = new
    return Qf


class UpperBound:
    """Sawtooth upper bound over belief points, capped by the fast informed bound."""

    def __init__(self, Qf):
        self.Qf = Qf
        self.corner = Qf.max(1).copy()  # values at the vertices e_s
        K = Qf.shape[0]
        self.points = np.zeros((0, K))
        self.values = np.zeros(0)
        self._where = {}
        self._inv = None

    def __call__(self, B):
        B = np.atleast_2d(B)
        fib = (B @ self.Qf).max(1)
        base = B @ self.corner
        if len(self.points) and B.shape[1] == 2:
            # two states: linear interpolation in P(state 1) between the upper points (and
            # the vertices) is an upper bound of the convex V*, tighter than the sawtooth
            if self._inv is None:
                x = np.concatenate([[0.0], self.points[:, 1], [1.0]])
                v = np.concatenate([[self.corner[0]], self.values, [self.corner[1]]])
                order = np.argsort(x, kind="stable")
                self._inv = (x[order], v[order])
            xs, vs = self._inv
            base = np.minimum(base, np.interp(B[:, 1], xs, vs))
        elif len(self.points):
            if self._inv is None:
                with np.errstate(divide="ignore"):
                    self._inv = np.where(self.points > 0, 1.0 / self.points, np.inf)
            d = np.minimum(self.values - self.points @ self.corner, 0.0)  # (m,)
            inv = self._inv
            step = max(1, 2_000_000 // max(1, len(self.points) * B.shape[1]))
            out = np.empty(len(B))
            with np.errstate(invalid="ignore"):
                for lo in range(0, len(B), step):
                    b = B[lo : lo + step]
                    # min over the point's support of b(s) / point(s); 0 * inf = nan is
                    # ignored by fmin (coordinates outside the point's support)
                    ratio = np.fmin.reduce(b[:, None, :] * inv[None], axis=-1)  # (n, m)
                    out[lo : lo + step] = base[lo : lo + step] + np.min(d[None] * ratio, 1)
            base = np.minimum(base, out)
        return np.minimum(base, fib)

    def add(self, B, v):
        """Add points whose backed-up value improves the bound (vertices update ``corner``)."""
        B = np.atleast_2d(B)
        cur = self(B)
        better = v < cur - 1e-12
        if not better.any():
            return
        B, v = B[better], v[better]
        vertex = B.max(1) > 1 - 1e-12
        if vertex.any():
            s = B[vertex].argmax(1)
            np.minimum.at(self.corner, s, v[vertex])
            self._inv = None
        new_b, new_v = [], []
        for b, val in zip(B[~vertex], v[~vertex], strict=True):
            key = _key(b)
            j = self._where.get(key)
            if j is not None:
                self.values[j] = min(self.values[j], val)
            else:
                self._where[key] = len(self.points) + len(new_b)
                new_b.append(b)
                new_v.append(val)
        self._inv = None
        if new_b:
            self.points = np.vstack([self.points, new_b])
            self.values = np.concatenate([self.values, new_v])


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
    """Alpha-vector lower bound with point-based backups."""

    def __init__(self, Q, P, R, gamma):
        self.Q, self.P, self.R, self.gamma = Q, P, R, gamma
        self.G = blind_alpha_vectors(Q, R, gamma)
        self.acts = np.arange(Q.shape[0])

    def __call__(self, B):
        return (np.atleast_2d(B) @ self.G.T).max(1)

    def backup(self, B):
        B = np.atleast_2d(B)
        new, act, _ = _backup(self.G, self.Q, self.P, self.R, self.gamma, B)
        better = np.einsum("nk,nk->n", B, new) > self(B) + 1e-12
        if better.any():
            self.G = np.vstack([self.G, new[better]])
            self.acts = np.concatenate([self.acts, act[better]])

    def prune(self, B):
        """Keep the vectors that are best at some point of B (values at B unchanged)."""
        best = np.unique((B @ self.G.T).argmax(1))
        self.G, self.acts = self.G[best], self.acts[best]


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
    sweep_every=10,
    init_alpha=None,
    upper_points=None,
    lattice=201,
):
    """Grow reachable beliefs from ``b0`` until ``(upper - lower) / |value| <= tol`` at b0.

    Parameters
    ----------
    Q, P, R, gamma : model arrays (see the module docstring) and the discount in (0, 1).
    b0 : (K,) start belief.
    tol : float
        Relative gap at ``b0`` that stops the solver (absolute when the value is below 1
        in magnitude).
    belief_points : (n, K) array, optional
        Extra beliefs kept in the point set and swept with the others (e.g. a grid).
    max_points, max_time : budget (belief points, seconds) after which it stops.
    max_depth : int, optional
        Longest trial; default ``ceil(log(1e-3 tol) / log(gamma))``.
    sweep_every : int
        Trials between two vectorised sweeps over all belief points.
    lattice : int
        For three or more states, the lower bound starts from point-based value
        iteration on a simplex lattice of at most this many points (0: blind policies).
    upper_points : (beliefs (m, K), upper values (m,)), optional
        Known upper bounds of V* to seed the upper bound with.
    init_alpha : (alpha vectors (m, K), actions (m,)), optional
        Lower-bound vectors to start from (values of policies, e.g. from PBVI on a grid).

    Returns
    -------
    dict with ``alpha_vectors``, ``alpha_actions``, ``belief_points``, ``lower``,
    ``upper``, ``gap``, ``relative_gap``, ``converged``, ``n_trials``, ``n_points``,
    ``time``, ``stopped_by`` and the upper bound object ``upper_bound``.
    """
    t0 = time.perf_counter()
    Q, P, R = (np.asarray(x, dtype=float) for x in (Q, P, R))
    b0 = np.asarray(b0, dtype=float)
    A, K, L = P.shape
    if max_depth is None:
        max_depth = int(np.ceil(np.log(1e-3 * tol) / np.log(gamma)))
    lower = _Lower(Q, P, R, gamma)
    if init_alpha is None and K >= 3 and lattice:
        # a cheap start for the lower bound: point-based value iteration on a coarse
        # simplex lattice (at most ``lattice`` points) and b0
        from ._solver import belief_grid, pbvi

        grid = belief_grid(K, lattice, extra=b0)
        G, act, _, _ = pbvi(Q, P, R, gamma, grid, tol=1e-3 * tol * max(1.0, np.abs(R).max()))
        init_alpha = (G, act)
    if init_alpha is not None:
        lower.G = np.vstack([lower.G, init_alpha[0]])
        lower.acts = np.concatenate([lower.acts, init_alpha[1]])
    upper = UpperBound(fast_informed_bound(Q, P, R, gamma))
    if upper_points is None and K == 2:
        upper_points = two_state_upper(Q, P, R, gamma)
    if upper_points is not None:  # valid upper values (e.g. two-state interpolation)
        upper.add(*upper_points)
    corners = np.eye(K)
    pts = [b0[None]]
    extra = None if belief_points is None else np.atleast_2d(np.asarray(belief_points, float))
    if extra is not None:
        pts.append(extra)
        lower.backup(extra)
        q, _, _ = _upper_q(Q, P, R, gamma, upper, extra)
        upper.add(extra, q.max(1))
    B = np.vstack(pts)
    seen = {_key(b) for b in B}

    def _gap():
        lo, up = float(lower(b0)[0]), float(upper(b0)[0])
        return lo, up, (up - lo) / max(1.0, abs(lo), abs(up))

    lo, up, rel = _gap()
    n_trials, stopped_by = 0, None
    while rel > tol:
        if time.perf_counter() - t0 > max_time:
            stopped_by = "max_time"
            break
        if len(B) >= max_points:
            stopped_by = "max_points"
            break
        # one HSVI trial from b0
        eps = tol * max(1.0, abs(lo), abs(up))
        path, b = [], b0
        for depth in range(max_depth):
            path.append(b)
            qu, prob, nxt = _upper_q(Q, P, R, gamma, upper, b[None])
            a = int(qu[0].argmax())
            nb = nxt[0, a]  # (L, K)
            excess = upper(nb) - lower(nb) - eps * gamma ** -(depth + 1)
            score = prob[0, a] * excess
            y = int(score.argmax())
            if score[y] <= 0:
                break
            b = nb[y]
        path = np.asarray(path)
        for i in range(len(path) - 1, -1, -1):  # back up in reverse order
            bb = path[i : i + 1]
            lower.backup(bb)
            q, _, _ = _upper_q(Q, P, R, gamma, upper, bb)
            upper.add(bb, q.max(1))
        for bb in path[1:]:
            key = _key(bb)
            if key not in seen:
                seen.add(key)
                B = np.vstack([B, bb[None]])
        n_trials += 1
        if n_trials % sweep_every == 0 or len(B) <= 1000:
            # vectorised sweeps over all points while they still move the bounds at b0
            for _ in range(50 if len(B) <= 1000 else 1):
                lower.backup(B)
                q, _, _ = _upper_q(Q, P, R, gamma, upper, np.vstack([corners, B]))
                upper.add(np.vstack([corners, B]), q.max(1))
                lower.prune(B)
                lo_new, up_new, rel = _gap()
                moved = (lo_new - lo) + (up - up_new)
                lo, up = lo_new, up_new
                if rel <= tol or moved < 0.01 * tol * max(1.0, abs(lo)):
                    break
        lo, up, rel = _gap()
    for _ in range(200):  # polish the lower bound on the points found (vectorised sweeps)
        before = lower(B)
        lower.backup(B)
        lower.prune(B)
        if np.max(lower(B) - before) < 1e-9 * max(1.0, abs(lo)):
            break
    lo, up, rel = _gap()
    lower.prune(np.vstack([B, corners]))
    return {
        "alpha_vectors": lower.G,
        "alpha_actions": lower.acts,
        "belief_points": B,
        "lower": lo,
        "upper": up,
        "gap": up - lo,
        "relative_gap": rel,
        "converged": rel <= tol,
        "n_trials": n_trials,
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
