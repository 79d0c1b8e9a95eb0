"""Point-based POMDP solver, open-loop baseline, MDP bound and policy evaluation (numpy).

Model arrays follow the transit-then-emit convention: ``Q[a, s, s']``,
``P[a, s', y]``, ``R[s, a]`` (expected reward of action a from pre-action state s).

- :func:`pbvi` — point-based value iteration with alpha vectors and Perseus-style
  retention, infinite or finite horizon;
- open loop ("HMM", dissertation §2.4.2) = the same backup with one uninformative outcome;
- :func:`mdp_values` — fully observed value iteration (the QMDP upper bound);
- :func:`grid_upper_bound` — interpolation value iteration for two states (upper bound);
- :func:`evaluate_policy_grid` — exact evaluation (two model states) of any belief policy
  on a possibly different true process, over the joint (true state, policy belief);
- :func:`simulate_policy` — Monte Carlo on a true latent chain, vectorised over customers.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np

__all__ = [
    "belief_grid",
    "blind_alpha_vectors",
    "pbvi",
    "pbvi_finite",
    "alpha_values",
    "q_values",
    "mdp_values",
    "grid_upper_bound",
    "evaluate_policy_grid",
    "simulate_policy",
    "myopic_actions",
]

_CHUNK = 4_000_000  # cells of the (points x vectors x actions x outcomes) value array


def belief_grid(n_states, n_points, extra=None):
    """Belief points: a uniform grid on P(state 1) for two states, else a simplex lattice.

    For ``n_states >= 3`` the lattice ``{k / r : sum k = r}`` with the largest resolution
    r that gives at most ``n_points`` points (vertices included). ``extra`` beliefs
    (e.g. the start belief) are appended.

    Examples
    --------
    >>> belief_grid(2, 3)
    array([[1. , 0. ],
           [0.5, 0.5],
           [0. , 1. ]])
    >>> belief_grid(3, 10).shape
    (10, 3)
    """
    K = int(n_states)
    n_points = int(n_points)
    if K == 1:
        B = np.ones((1, 1))
    elif K == 2:
        x = np.linspace(0.0, 1.0, max(n_points, 2))
        B = np.column_stack([1 - x, x])
    else:
        r = 1
        while _n_lattice(K, r + 1) <= n_points:
            r += 1
        B = _simplex_lattice(K, r)
    if extra is not None:
        B = np.vstack([B, np.atleast_2d(np.asarray(extra, float))])
    return B


def _n_lattice(K, r):
    from math import comb

    return comb(r + K - 1, K - 1)


def _simplex_lattice(K, r):
    # stars and bars: choose K-1 bar positions among r+K-1 slots
    pts = []
    for bars in combinations(range(r + K - 1), K - 1):
        edges = (-1, *bars, r + K - 1)
        pts.append([edges[i + 1] - edges[i] - 1 for i in range(K)])
    return np.asarray(pts, float) / r


def blind_alpha_vectors(Q, R, gamma):
    """Values of the blind policies "always a": ``alpha_a = (I - gamma Q_a)^-1 R[:, a]``.

    Each is the exact value of a policy, so together they are a lower bound of V* (the
    start of PBVI).
    """
    A, K, _ = Q.shape
    return np.stack([np.linalg.solve(np.eye(K) - gamma * Q[a], R[:, a]) for a in range(A)])


def _projections(Gamma, Q, P):
    """``g[a, y, m, s] = sum_s' Q_a(s, s') P_a(s', y) alpha_m(s')``."""
    W = Q[:, None, :, :] * np.transpose(P, (0, 2, 1))[:, :, None, :]  # (A, L, K, K')
    return np.swapaxes(W @ np.ascontiguousarray(Gamma.T), -1, -2)


def _backup(Gamma, Q, P, R, gamma, B, g=None):
    """Point-based Bellman backup of the alpha set ``Gamma`` at every belief of B.

    Returns the backed-up vectors (n, K), their actions (n,) and the Q-values (n, A).
    """
    A, K, L = P.shape
    if g is None:
        g = _projections(Gamma, Q, P)  # (A, L, m, K)
    m = g.shape[2]
    flat = np.ascontiguousarray(g.reshape(A * L * m, K).T)
    n = B.shape[0]
    step = max(1, _CHUNK // max(1, m * A * L))
    sel = np.empty((n, A, L, K))
    ai, yi = np.arange(A)[None, :, None], np.arange(L)[None, None, :]
    for lo in range(0, n, step):
        vals = (B[lo : lo + step] @ flat).reshape(-1, A, L, m)
        best = vals.argmax(-1)  # (chunk, A, L)
        sel[lo : lo + step] = g[ai, yi, best]
    alpha = R.T[None, :, :] + gamma * sel.sum(2)  # (n, A, K)
    qv = np.einsum("nk,nak->na", B, alpha)
    act = qv.argmax(1)
    return alpha[np.arange(n), act], act, qv


def _unique_rows(V, acts):
    _, idx = np.unique(np.round(V, 10), axis=0, return_index=True)
    idx = np.sort(idx)
    return V[idx], acts[idx]


def alpha_values(Gamma, B):
    """``V(b) = max_m b . alpha_m`` for each row of B (piecewise-linear convex value)."""
    return (np.atleast_2d(B) @ Gamma.T).max(1)


def pbvi(Q, P, R, gamma, B, *, tol=1e-6, max_iter=10_000, init=None, callback=None):
    """Infinite-horizon point-based value iteration with Perseus retention.

    Starting from a lower bound (the blind policies, :func:`blind_alpha_vectors`), each
    iteration backs up every belief point; where the previous set already gives a higher
    value at a point, the old vector is kept for it. Values at the points therefore never
    decrease, so the iteration cannot cycle on a coarse grid (the prototype without
    retention oscillated on 11 points), and it stops when the largest change is below
    ``tol``.

    Parameters
    ----------
    Q : (A, K, K), P : (A, K, L), R : (K, A), gamma : float in (0, 1)
    B : (n, K) belief points
    tol : float
        Absolute stopping tolerance on the largest value change over B.
    max_iter : int
    init : (m, K) array, optional
        Starting alpha set (must be a lower bound of V*); default the blind vectors.
    callback : callable, optional
        Called as ``callback(iteration, values_at_B)`` after each iteration.

    Returns
    -------
    Gamma : (m, K) alpha vectors
    actions : (m,) action of each vector
    n_iter : int
    residual : float
        Largest value change in the last iteration.
    """
    Q, P, R, B = (np.asarray(x, dtype=float) for x in (Q, P, R, B))
    if init is None:
        Gamma = blind_alpha_vectors(Q, R, gamma)
        acts = np.arange(Q.shape[0])
    else:
        Gamma = np.atleast_2d(np.asarray(init, float))
        acts = np.zeros(len(Gamma), dtype=np.int64)
    old_vals = B @ Gamma.T
    residual = np.inf
    n_iter = 0
    for n_iter in range(1, max_iter + 1):  # noqa: B007
        v_old = old_vals.max(1)
        best_old = old_vals.argmax(1)
        new, new_act, _ = _backup(Gamma, Q, P, R, gamma, B)
        v_new = np.einsum("nk,nk->n", B, new)
        keep = v_old >= v_new
        chosen = np.where(keep[:, None], Gamma[best_old], new)
        chosen_act = np.where(keep, acts[best_old], new_act)
        Gamma, acts = _unique_rows(chosen, chosen_act)
        old_vals = B @ Gamma.T
        v = old_vals.max(1)
        residual = float(np.max(v - v_old))
        if callback is not None:
            callback(n_iter, v)
        if residual < tol:
            break
    return Gamma, acts, n_iter, residual


def perseus(Q, P, R, gamma, B, *, tol=1e-6, max_iter=10_000, batch=32, random_state=0):
    """Randomised point-based value iteration (Spaan & Vlassis' Perseus) for large sets.

    Each iteration backs up random beliefs, in batches, only until every belief of B has
    a value at least as high as before (a belief improved by another belief's new vector
    is not backed up itself). Values never decrease, so it cannot cycle; far fewer
    backups and alpha vectors than :func:`pbvi` on large belief sets, at the price of a
    slightly lower (still valid) lower bound.

    Returns the same ``(Gamma, actions, n_iter, residual)`` as :func:`pbvi`.
    """
    Q, P, R, B = (np.asarray(x, dtype=float) for x in (Q, P, R, B))
    rng = np.random.default_rng(random_state)
    Gamma = blind_alpha_vectors(Q, R, gamma)
    acts = np.arange(Q.shape[0])
    V = (B @ Gamma.T).max(1)
    residual, n_iter = np.inf, 0
    for n_iter in range(1, max_iter + 1):  # noqa: B007
        g = _projections(Gamma, Q, P)
        old_best = (B @ Gamma.T).argmax(1)
        new_vecs, new_acts = [], []
        V_new = np.full(len(B), -np.inf)
        todo = np.ones(len(B), dtype=bool)
        while todo.any():
            pick = rng.choice(np.flatnonzero(todo), size=min(batch, int(todo.sum())), replace=False)
            vec, act, _ = _backup(Gamma, Q, P, R, gamma, B[pick], g=g)
            worse = np.einsum("nk,nk->n", B[pick], vec) < V[pick]
            vec[worse] = Gamma[old_best[pick[worse]]]
            act[worse] = acts[old_best[pick[worse]]]
            new_vecs.append(vec)
            new_acts.append(act)
            V_new = np.maximum(V_new, (B @ vec.T).max(1))
            todo &= V_new < V
            todo[pick] = False
        Gamma, acts = _unique_rows(np.vstack(new_vecs), np.concatenate(new_acts))
        V_new = (B @ Gamma.T).max(1)
        residual = float(np.max(V_new - V))
        V = V_new
        if residual < tol:
            break
    return Gamma, acts, n_iter, residual


def pbvi_finite(Q, P, R, gamma, B, horizon):
    """Finite-horizon point-based backups from ``V_0 = 0`` (non-stationary policy).

    Returns a list ``[Gamma_0, Gamma_1, ..., Gamma_H]`` (``Gamma_h`` is the value with h
    periods to go; ``Gamma_0 = {0}``) and the matching list of action arrays.
    """
    Q, P, R, B = (np.asarray(x, dtype=float) for x in (Q, P, R, B))
    K = Q.shape[1]
    Gammas, acts = [np.zeros((1, K))], [np.zeros(1, dtype=np.int64)]
    for _ in range(int(horizon)):
        new, act, _ = _backup(Gammas[-1], Q, P, R, gamma, B)
        G, a = _unique_rows(new, act)
        Gammas.append(G)
        acts.append(a)
    return Gammas, acts


def q_values(Gamma, Q, P, R, gamma, B):
    """``Q(b, a) = b.R[:, a] + gamma sum_y max_m b.g_{m,a,y}`` (Bellman equation, §3.2).

    With ``Gamma`` the alpha set of V (or of ``V_{h-1}`` for finite horizons) this is
    the one-step lookahead value of each action; for one uninformative outcome
    (``P = ones((A, K, 1))``) it is the open-loop ``b.R[:, a] + gamma V_OL(b Q_a)``.

    Returns an array (n, A).
    """
    B = np.atleast_2d(np.asarray(B, dtype=float))
    A, K, L = P.shape
    g = _projections(np.asarray(Gamma, float), Q, P)
    m = g.shape[2]
    flat = np.ascontiguousarray(g.reshape(A * L * m, K).T)
    step = max(1, _CHUNK // max(1, m * A * L))
    out = np.empty((B.shape[0], A))
    for lo in range(0, B.shape[0], step):
        vals = (B[lo : lo + step] @ flat).reshape(-1, A, L, m)
        out[lo : lo + step] = B[lo : lo + step] @ R + gamma * vals.max(-1).sum(2)
    return out


def myopic_actions(R, B):
    """The myopic policy ``argmax_a b.R[:, a]`` (no regard for the future)."""
    return (np.atleast_2d(B) @ R).argmax(1)


def mdp_values(Q, R, gamma, *, tol=1e-10, max_iter=100_000):
    """Fully observed MDP values ``V(s) = max_a R[s,a] + gamma sum_s' Q_a(s,s') V(s')``.

    ``b . V_MDP`` is an upper bound of ``V*(b)`` (QMDP bound).
    """
    V = np.zeros(Q.shape[1])
    for _ in range(max_iter):
        new = (R + gamma * np.einsum("asz,z->sa", Q, V)).max(1)
        if np.max(np.abs(new - V)) < tol:
            return new
        V = new
    return V


def _interp_weights(x, n):
    """Linear interpolation on the grid ``linspace(0, 1, n)``: (lower index, upper weight)."""
    pos = np.clip(x, 0.0, 1.0) * (n - 1)
    lo = np.minimum(np.floor(pos).astype(np.int64), n - 2)
    return lo, pos - lo


def _two_state_updates(Q, P, x, a):
    """Next P(state 1) and Pr(y) for beliefs ``(1-x, x)`` under actions a, all outcomes."""
    b = np.column_stack([1 - x, x])
    phi = np.einsum("nk,nkj->nj", b, Q[a])  # (n, 2)
    joint = phi[:, :, None] * P[a]  # (n, 2, L)
    prob = joint.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        nxt = np.where(prob > 0, joint[:, 1] / prob, x[:, None])
    return nxt, prob


def grid_upper_bound(Q, P, R, gamma, n_points=201, *, tol=1e-9, max_iter=100_000):
    """Two-state value iteration with linear interpolation in P(state 1).

    V* is convex, so the interpolated fixed point is an **upper bound** of V*; with PBVI
    (a lower bound) it brackets V*.

    Returns the grid ``x`` (n,) and the values (n,).
    """
    A = Q.shape[0]
    x = np.linspace(0.0, 1.0, n_points)
    b = np.column_stack([1 - x, x])
    inst = b @ R  # (n, A)
    nxt, prob, lo, w = [], [], [], []
    for a in range(A):
        nx, pr = _two_state_updates(Q, P, x, np.full(n_points, a))
        l, ww = _interp_weights(nx, n_points)
        nxt.append(nx), prob.append(pr), lo.append(l), w.append(ww)
    lo, w, prob = np.stack(lo), np.stack(w), np.stack(prob)  # (A, n, L)
    V = np.full(n_points, inst.min() / (1 - gamma))
    for _ in range(max_iter):
        cont = ((1 - w) * V[lo] + w * V[lo + 1]) * prob
        new = (inst.T + gamma * cont.sum(2)).max(0)
        if np.max(np.abs(new - V)) < tol:
            return x, new
        V = new
    return x, V


def evaluate_policy_grid(
    policy,
    model_Q,
    model_P,
    true_Q,
    true_P,
    true_R,
    gamma,
    *,
    n_points=4001,
    horizon=None,
    tol=1e-9,
    max_iter=100_000,
):
    """Exact value of a belief policy on a true process, two model states.

    The policy acts on its own belief ``b_hat`` (filtered with ``model_Q``/``model_P``:
    pass ``model_P = ones`` for an open-loop policy that ignores outcomes), while the
    customer evolves by the true ``true_Q``/``true_P``. The value over the joint
    (true state s, policy belief x = b_hat(1)) solves
    ``V(s, x) = R[s, a] + gamma sum_{s', y} Q_a(s, s') P_a(s', y) V(s', x'(x, a, y))``
    with ``a = policy(x)``, by value iteration with linear interpolation in x.

    Parameters
    ----------
    policy : callable
        Maps beliefs (n, 2) to action indices (n,).
    horizon : int, optional
        Number of periods (discounted) instead of the infinite horizon.

    Returns
    -------
    x : (n_points,) grid of P(state 1) of the policy's belief
    V : (K_true, n_points) values
    """
    x = np.linspace(0.0, 1.0, n_points)
    act = np.asarray(policy(np.column_stack([1 - x, x])), dtype=np.int64)
    nxt, _ = _two_state_updates(model_Q, model_P, x, act)  # (n, L)
    lo, w = _interp_weights(nxt, n_points)
    # W[s, n, s', y] = Q_a(s, s') P_a(s', y) with a = act[n]
    W = np.einsum("nsz,nzy->snzy", true_Q[act], true_P[act])
    inst = true_R[:, act]  # (K, n)
    V = np.zeros_like(inst)
    n_iter = horizon if horizon is not None else max_iter
    for _ in range(int(n_iter)):
        Vn = (1 - w)[None] * V[:, lo] + w[None] * V[:, lo + 1]  # (K', n, L)
        new = inst + gamma * np.einsum("snzy,zny->sn", W, Vn)
        if horizon is None and np.max(np.abs(new - V)) < tol:
            return x, new
        V = new
    return x, V


def simulate_policy(
    policy,
    model_Q,
    model_P,
    model_b0,
    true_Q,
    true_P,
    true_R,
    true_b0,
    gamma,
    *,
    n_customers=10_000,
    horizon=None,
    random_state=None,
):
    """Monte Carlo value of a belief policy on a true latent chain (library rule).

    The same true process serves every policy compared (no resampling of the state from
    the firm's belief, the dissertation's Appendix B flaw). Rewards are the expected
    ``R[s, a]`` of the true pre-action state (unbiased, lower variance).

    Parameters
    ----------
    model_b0, true_b0 : array (K,) or (n_starts, K)
        Starting belief of the policy and distribution of the true initial state; with
        several starts, ``n_customers`` paths are simulated from each (vectorised).

    Returns
    -------
    mean : float or array (n_starts,)
    se : float or array (n_starts,)
        Standard error across simulated customers.
    """
    rng = np.random.default_rng(random_state)
    if horizon is None:
        horizon = int(np.ceil(np.log(1e-8) / np.log(gamma)))
    mb0 = np.asarray(model_b0, float)
    tb0 = np.asarray(true_b0, float)
    single = mb0.ndim == 1 and tb0.ndim == 1
    mb0, tb0 = np.atleast_2d(mb0), np.atleast_2d(tb0)
    n_starts = max(len(mb0), len(tb0))
    reps = int(n_customers)
    N = n_starts * reps
    K = true_Q.shape[1]
    tb = np.repeat(np.broadcast_to(tb0, (n_starts, K)), reps, axis=0)
    u = rng.random(N)
    s = np.minimum((np.cumsum(tb, 1) < u[:, None]).sum(1), K - 1)
    b = np.repeat(np.broadcast_to(mb0, (n_starts, model_Q.shape[1])), reps, axis=0).copy()
    total = np.zeros(N)
    disc = 1.0
    for _ in range(int(horizon)):
        a = np.asarray(policy(b), dtype=np.int64)
        total += disc * true_R[s, a]
        disc *= gamma
        p = true_Q[a, s]
        s = np.minimum((p.cumsum(1) < rng.random(N)[:, None]).sum(1), K - 1)
        py = true_P[a, s]
        y = np.minimum((py.cumsum(1) < rng.random(N)[:, None]).sum(1), py.shape[1] - 1)
        phi = np.einsum("nk,nkj->nj", b, model_Q[a])
        joint = phi * model_P[a, :, y]
        tot = joint.sum(1, keepdims=True)
        b = np.where(tot > 0, joint / np.where(tot > 0, tot, 1.0), phi)
    total = total.reshape(n_starts, reps)
    mean = total.mean(1)
    se = total.std(1, ddof=1) / np.sqrt(reps) if reps > 1 else np.full(n_starts, np.nan)
    if single:
        return float(mean[0]), float(se[0])
    return mean, se
