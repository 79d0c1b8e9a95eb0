"""Exact shallow policy trees: maximise sum_i Gamma_{i, pi(X_i)} over depth-1..3 trees.

The search is exhaustive over quantile-binned thresholds of every feature (as R's
``policytree`` is over every observed value), vectorised through cumulative histograms:

- depth 1: one cumulative histogram per feature, C1[j, b, :] = sum over rows with
  bin_j <= b of the channels (row count, Gamma_0, ..., Gamma_{K-1});
- depth 2: joint cumulative histograms F2[j1, b1, j2, b2, :] over rows with bin_j1 <= b1
  and bin_j2 <= b2, from which every (root split, child split) value follows by
  inclusion-exclusion in O(p^2 B^2 K) after an O(n p^2) pass;
- depth 3: the depth-2 search repeated inside each root region (p B regions).

Pure numpy; the tree is stored as flat arrays (feature, threshold, left, right, action).
"""

from __future__ import annotations

import numpy as np

__all__ = ["bin_features", "fit_policy_tree", "predict_tree", "tree_leaf_values"]

_NEG = -np.inf


def bin_features(X, n_bins):
    """Quantile-bin every column: (bins (n, p) int, edges (p, B - 1) float, B).

    ``bins[i, j] <= b``  <=>  ``X[i, j] <= edges[j, b]``. Columns with at most ``n_bins``
    distinct values keep every distinct value as a candidate threshold (exact search).
    Missing edges are padded with +inf.
    """
    X = np.asarray(X, dtype=np.float64)
    n, p = X.shape
    per_feature = []
    for j in range(p):
        u = np.unique(X[:, j])
        if u.shape[0] <= n_bins:
            e = u[:-1]
        else:
            q = np.linspace(0.0, 1.0, n_bins + 1)[1:-1]
            e = np.unique(np.quantile(X[:, j], q, method="lower"))
            e = e[e < u[-1]]
        per_feature.append(e)
    B = max(1, max(e.shape[0] for e in per_feature) + 1)
    edges = np.full((p, B - 1), np.inf)
    bins = np.empty((n, p), dtype=np.int64)
    for j, e in enumerate(per_feature):
        edges[j, : e.shape[0]] = e
        bins[:, j] = np.searchsorted(e, X[:, j], side="left")
    return bins, edges, B


def _weighted(scores, sample_weight):
    G = np.asarray(scores, dtype=np.float64)
    if sample_weight is not None:
        G = G * np.asarray(sample_weight, dtype=np.float64)[:, None]
    return G


def _channels(G, m):
    """Search channels: [row count (only when m > 1)], then Gamma_k - Gamma_0, k = 1..K-1.

    Subtracting each row's Gamma_0 shifts every tree's objective by the same constant
    sum_i Gamma_{i,0}, so the argmax is unchanged and action 0 becomes the zero channel:
    one channel fewer, and no count channel when any non-empty leaf is allowed (an empty
    side of a split then adds 0, the value of not splitting). Fewer channels = less work.
    """
    D = G[:, 1:] - G[:, :1]
    if m > 1:
        return np.hstack([np.ones((G.shape[0], 1)), D])
    return D


def _off(m):
    return 1 if m > 1 else 0


def _cum1(bins, W, B):
    """C1[j, b, c]: channel sums over rows with bin_j <= b."""
    n, p = bins.shape
    C = W.shape[1]
    idx = (bins + np.arange(p) * B).ravel()
    out = np.empty((p * B, C))
    for c in range(C):
        out[:, c] = np.bincount(idx, weights=np.repeat(W[:, c], p), minlength=p * B)
    return np.cumsum(out.reshape(p, B, C), axis=1)


def _cum2(bins, W, B):
    """F2[j1, b1, j2, b2, c]: channel sums over rows with bin_j1 <= b1 and bin_j2 <= b2."""
    n, p = bins.shape
    C = W.shape[1]
    inner = (bins + np.arange(p) * B).ravel()  # (n * p,) index of (j2, b2)
    H = np.empty((p, B, p * B, C))
    for j1 in range(p):
        idx = np.repeat(bins[:, j1], p) * (p * B) + inner
        for c in range(C):
            H[j1, :, :, c] = np.bincount(
                idx, weights=np.repeat(W[:, c], p), minlength=B * p * B
            ).reshape(B, p * B)
    H = H.reshape(p, B, p, B, C)
    return np.cumsum(np.cumsum(H, axis=1), axis=3)


def _max_scores(x, off):
    """max(0, max_k x[..., off + k]): a leaf's best shifted value (action 0 is the 0)."""
    out = np.asarray(np.maximum(x[..., off], 0.0))
    for k in range(off + 1, x.shape[-1]):
        np.maximum(out, x[..., k], out=out)
    return out


def _valid(left, right, m):
    if m <= 1:
        return None
    return (left[..., 0] >= m) & (right[..., 0] >= m)


def _mask(valid, value):
    return value if valid is None else np.where(valid, value, _NEG)


def _split_values(cum, tot, m):
    """Value of every split (left = cum, right = tot - cum) with both sides >= m rows.

    cum: (..., B, C) cumulative over bins; tot broadcastable to (..., 1, C). Only bins
    0..B-2 are split candidates (bin B-1 would leave the right side empty).
    """
    off = _off(m)
    left = cum[..., :-1, :]
    right = tot - left
    value = _max_scores(left, off)
    value += _max_scores(right, off)
    return _mask(_valid(left, right, m), value)


def _leaf_value(tot, m):
    return _max_scores(tot, _off(m))


def _best1(cum, tot, m):
    """Best depth-<=1 value of regions: cum (..., p, B, C), tot (..., C)."""
    leaf = _leaf_value(tot, m)
    if cum.shape[-2] <= 1:
        return leaf
    split = _split_values(cum, tot[..., None, None, :], m)
    return np.maximum(leaf, split.reshape(*split.shape[:-2], -1).max(axis=-1))


def _root_depth1(C1, T, m):
    vals = _split_values(C1, T[None, None, :], m)  # (p, B-1)
    return vals


def _root_depth2(C1, F2, T, m):
    """Value of each root split followed by the best depth-<=1 children.

    C1 (..., p, B, C), F2 (..., p, B, p, B, C), T (..., C) -> (..., p, B-1); leading axes
    index a family of regions searched at once.
    """
    left_tot = C1[..., :-1, :]
    right_tot = T[..., None, None, :] - left_tot
    left_cum = F2[..., :-1, :, :, :]
    right_cum = C1[..., None, None, :, :, :] - left_cum
    left = _best1(left_cum, left_tot, m)
    right = _best1(right_cum, right_tot, m)
    return _mask(_valid(left_tot, right_tot, m), left + right)


def _best2(C1, F2, T, m):
    """Best depth-<=2 value of a family of regions (leading axes of the arrays)."""
    leaf = _leaf_value(T, m)
    if C1.shape[-2] <= 1:
        return leaf
    vals = _root_depth2(C1, F2, T, m)
    return np.maximum(leaf, vals.reshape(*vals.shape[:-2], -1).max(axis=-1))


def _hist_tuples(bins, W, B, tuples, chunk=2048):
    """Joint channel histograms of the feature tuples: (n_tuples, B, ..., B, C).

    ``tuples`` (T, d) lists feature indices; entry [t, b_1, ..., b_d, c] sums channel c over
    the rows with bin_{tuples[t, k]} = b_k for every k.
    """
    n, p = bins.shape
    C = W.shape[1]
    T, d = tuples.shape
    size = B**d
    out = np.zeros((T * size, C))
    if T == 0:
        return out.reshape((0,) + (B,) * d + (C,))
    base = (np.arange(T) * size)[None, :]
    for start in range(0, n, chunk):
        sl = slice(start, start + chunk)
        idx = base.copy()
        for k in range(d):
            idx = idx + bins[sl][:, tuples[:, k]] * B ** (d - 1 - k)
        idx = idx.ravel()
        for c in range(C):
            w = np.repeat(W[sl, c], T)
            out[:, c] += np.bincount(idx, weights=w, minlength=T * size)
    return out.reshape((T,) + (B,) * d + (C,))


def _hist_triples(bins, W, B):
    """Joint channel histograms of every sorted feature triple a < b < c: (T, B, B, B, C).

    Same layout as ``_hist_tuples`` on ``combinations(range(p), 3)``. Built per leading
    pair (a, b): its triples (a, b, c > b) are contiguous, and one bincount into a block of
    (p - b - 1) B^3 cells keeps the scattered additions cache-local.
    """
    n, p = bins.shape
    C = W.shape[1]
    size = B**3
    T = p * (p - 1) * (p - 2) // 6
    out = np.empty((T * size, C))
    t = 0
    for a in range(p - 2):
        for b in range(a + 1, p - 1):
            k = p - b - 1
            base = bins[:, a] * (B * B) + bins[:, b] * B
            idx = (base[:, None] + bins[:, b + 1 :]) + (np.arange(k) * size)[None]
            idx = idx.ravel()
            for c in range(C):
                w = np.repeat(W[:, c], k)
                out[t * size : (t + k) * size, c] = np.bincount(idx, weights=w, minlength=k * size)
            t += k
    return out.reshape(T, B, B, B, C)


class _Joint:
    """Every (root feature, root bin, j2, b2, j3, b3) channel histogram, stored once.

    A row falls in one cell of each feature triple, so the histograms of the C(p, 3) sorted
    triples (plus pairs and singles for repeated features) hold every joint histogram the
    depth-3 search needs: n C(p, 3) work instead of n p^3.
    """

    def __init__(self, bins, W, B):
        from itertools import combinations

        p = bins.shape[1]
        self.B, self.C = B, W.shape[1]
        tri = np.array(list(combinations(range(p), 3)), dtype=np.int64).reshape(-1, 3)
        pair = np.array(list(combinations(range(p), 2)), dtype=np.int64).reshape(-1, 2)
        self.tri_id = {tuple(t): k for k, t in enumerate(tri.tolist())}
        self.pair_id = {tuple(t): k for k, t in enumerate(pair.tolist())}
        self.T3 = _hist_triples(bins, W, B)
        self.T2 = _hist_tuples(bins, W, B, pair)
        self.T1 = _hist_tuples(bins, W, B, np.arange(p)[:, None])

    def _pair(self, a, b):
        """(B, B, C) joint histogram of features a (axis 0) and b (axis 1), a != b."""
        if a < b:
            return self.T2[self.pair_id[(a, b)]]
        return self.T2[self.pair_id[(b, a)]].transpose(1, 0, 2)

    def by_root(self, j1, p):
        """H[r, j2, b2, j3, b3, c] for root feature j1 (not cumulated)."""
        B, C = self.B, self.C
        H = np.zeros((B, p, B, p, B, C))
        diag = np.arange(B)
        for j2 in range(p):
            for j3 in range(p):
                if j2 == j1 and j3 == j1:
                    H[diag, j2, diag, j3, diag] = self.T1[j1]
                elif j2 == j1:
                    H[diag, j2, diag, j3, :] = self._pair(j1, j3)
                elif j3 == j1:
                    H[diag, j2, :, j3, diag] = self._pair(j1, j2)
                elif j2 == j3:
                    H[:, j2, diag, j3, diag] = self._pair(j1, j2)
                else:
                    order = sorted((j1, j2, j3))
                    block = self.T3[self.tri_id[tuple(order)]]
                    perm = [order.index(j) for j in (j1, j2, j3)]
                    H[:, j2, :, j3, :] = block.transpose(*perm, 3)
        return H


def _root_depth3_one(joint, j1, p, m):
    H = joint.by_root(j1, p)
    F_by_root = np.cumsum(np.cumsum(H, axis=2), axis=4)  # 2-D cumulative per root bin
    F_left = np.cumsum(F_by_root, axis=0)
    F_right = F_left[-1][None] - F_left
    F_left, F_right = F_left[:-1], F_right[:-1]
    C1_left, C1_right = F_left[:, :, :, 0, -1, :], F_right[:, :, :, 0, -1, :]
    T_left, T_right = C1_left[:, 0, -1, :], C1_right[:, 0, -1, :]

    value = _best2(C1_left, F_left, T_left, m) + _best2(C1_right, F_right, T_right, m)
    return _mask(_valid(T_left, T_right, m), value)


def _root_depth3(bins, W, B, m, n_jobs=None, verbose=0):
    """(p, B-1) value of each root split followed by the best depth-<=2 children."""
    from skcrm.utils import progress

    n, p = bins.shape
    joint = _Joint(bins, W, B)
    if n_jobs is None or n_jobs == 1:
        roots = progress(range(p), verbose, desc="depth-3 search over root features")
        rows = [_root_depth3_one(joint, j1, p, m) for j1 in roots]
    else:
        from joblib import Parallel, delayed

        rows = Parallel(n_jobs=n_jobs, prefer="threads")(
            delayed(_root_depth3_one)(joint, j1, p, m) for j1 in range(p)
        )
    return np.stack(rows) if rows else np.full((p, B - 1), _NEG)


def _grow(bins, W, G, B, depth, m, nodes, n_jobs=None, verbose=0):
    """Append the optimal depth-<=``depth`` subtree of these rows to ``nodes``; return id."""
    node_id = len(nodes)
    tot = G.sum(axis=0)
    leaf = {
        "feature": -1,
        "bin": -1,
        "left": -1,
        "right": -1,
        "action": int(np.argmax(tot)),
        "value": float(tot.max()),
        "n": int(G.shape[0]),
    }
    nodes.append(leaf)
    if depth == 0 or B <= 1 or W.shape[0] < 2 * m:
        return node_id
    if W.shape[1] == _off(m):  # a single action: nothing to split for
        return node_id
    leaf_shifted = float(_leaf_value(W.sum(axis=0), m))
    C1 = _cum1(bins, W, B)
    if depth == 1:
        vals = _root_depth1(C1, C1[0, -1], m)
    elif depth == 2:
        vals = _root_depth2(C1, _cum2(bins, W, B), C1[0, -1], m)
    else:
        vals = _root_depth3(bins, W, B, m, n_jobs, verbose)
    if vals.size == 0 or not np.isfinite(vals.max()):
        return node_id
    j, b = np.unravel_index(int(np.argmax(vals)), vals.shape)
    # keep the leaf unless splitting strictly improves the objective
    if vals[j, b] <= leaf_shifted + 1e-12 * max(1.0, abs(leaf_shifted)):
        return node_id
    go_left = bins[:, j] <= b
    leaf.update(feature=int(j), bin=int(b))
    for side, rows in (("left", go_left), ("right", ~go_left)):
        leaf[side] = _grow(bins[rows], W[rows], G[rows], B, depth - 1, m, nodes, n_jobs, verbose)
    return node_id


# --------------------------------------------------------------------- exact search
# Every distinct value of every feature is a candidate threshold (R's policytree): a split
# "x_j <= t" with t a value taken by x_j in the node and some row above t. Vectorised over
# the candidate thresholds of one root feature at a time; O(p n log n) at depth 1,
# O(p^2 n^2 K) at depth 2 and O(p^3 n^3 K) at depth 3 (intended for small n, or as the
# reference of the binned search).


def _exact_depth1(X, W, m):
    """(values (n-1, p), thresholds (n-1, p)) of every depth-1 split of these rows."""
    n = X.shape[0]
    off = 0
    order = np.argsort(X, axis=0, kind="stable")
    Xs = np.take_along_axis(X, order, axis=0)
    cum = np.cumsum(W[order], axis=0)  # (n, p, C)
    left = cum[:-1]
    right = cum[-1][None] - left
    value = _max_scores(left, off) + _max_scores(right, off)
    count = np.arange(1, n)[:, None]
    ok = (Xs[:-1] < Xs[1:]) & (count >= m) & (n - count >= m)
    return np.where(ok, value, _NEG), Xs[:-1]


def _exact_best1(X, W, m):
    leaf = float(_leaf_value(W.sum(axis=0), 1))
    if X.shape[0] < 2 * max(m, 1):
        return leaf
    vals, _ = _exact_depth1(X, W, m)
    return max(leaf, float(vals.max()) if vals.size else _NEG)


def _exact_children_best1(X, W, L, m):
    """Best depth-<=1 value of the rows in L[s] and of the rest, for every row of L (S, n)."""
    n, p = X.shape
    leafL = _max_scores(L.astype(np.float64) @ W, 0)  # (S,)
    tot = W.sum(axis=0)
    leafR = _max_scores(tot[None] - L.astype(np.float64) @ W, 0)
    bestL, bestR = leafL.copy(), leafR.copy()
    nL = L.sum(axis=1)
    for j in range(p):
        o = np.argsort(X[:, j], kind="stable")
        xs = X[o, j]
        distinct = xs[:-1] < xs[1:]
        Lo = L[:, o]
        Wo = W[o]
        cumL = np.cumsum(Lo[:, :, None] * Wo[None], axis=1)  # (S, n, C)
        cntL = np.cumsum(Lo, axis=1)
        cumA = np.cumsum(Wo, axis=0)[None]
        cntA = np.arange(1, n + 1)[None]
        totL = cumL[:, -1:]
        # left child (rows in L): split after sorted position i
        a = cumL[:, :-1]
        v = _max_scores(a, 0) + _max_scores(totL - a, 0)
        c = cntL[:, :-1]
        ok = distinct[None] & (c >= m) & (nL[:, None] - c >= m)
        # a split is only a split of the child if it separates two of the child's rows;
        # requiring both sides non-empty (m >= 1) does that
        ok &= (c >= 1) & (nL[:, None] - c >= 1)
        bestL = np.maximum(bestL, np.where(ok, v, _NEG).max(axis=1, initial=_NEG))
        # right child (rows not in L)
        b = cumA[:, :-1] - a
        totR = cumA[:, -1:] - totL
        v = _max_scores(b, 0) + _max_scores(totR - b, 0)
        c = cntA[:, :-1] - cntL[:, :-1]
        nR = n - nL
        ok = distinct[None] & (c >= max(m, 1)) & (nR[:, None] - c >= max(m, 1))
        bestR = np.maximum(bestR, np.where(ok, v, _NEG).max(axis=1, initial=_NEG))
    return bestL, bestR


def _exact_root_candidates(x, m):
    """Sorted distinct thresholds t of x with >= m rows on each side of x <= t."""
    u = np.unique(x)[:-1]
    if u.size == 0:
        return u
    left = np.searchsorted(np.sort(x), u, side="right")
    return u[(left >= max(m, 1)) & (x.shape[0] - left >= max(m, 1))]


def _exact_root_values(X, W, depth, m, chunk=256):
    """[(thresholds, values)] per feature of every root split followed by optimal subtrees."""
    n, p = X.shape
    out = []
    for j in range(p):
        t = _exact_root_candidates(X[:, j], m)
        if t.size == 0:
            out.append((t, np.empty(0)))
            continue
        if depth == 1:
            vals, thr = _exact_depth1(X[:, [j]], W, m)
            keep = np.isfinite(vals[:, 0])
            order = np.argsort(thr[keep, 0])
            out.append((thr[keep, 0][order], vals[keep, 0][order]))
            continue
        values = np.empty(t.size)
        if depth == 2:
            for start in range(0, t.size, chunk):
                L = X[None, :, j] <= t[start : start + chunk, None]
                bl, br = _exact_children_best1(X, W, L, m)
                values[start : start + chunk] = bl + br
        else:
            for k, tk in enumerate(t):
                go = X[:, j] <= tk
                values[k] = _exact_best(X[go], W[go], depth - 1, m) + _exact_best(
                    X[~go], W[~go], depth - 1, m
                )
        out.append((t, values))
    return out


def _exact_best(X, W, depth, m):
    """Optimal (shifted) objective of a depth-<=``depth`` tree on these rows."""
    leaf = float(_leaf_value(W.sum(axis=0), 1))
    if depth == 0 or X.shape[0] < 2 * max(m, 1):
        return leaf
    if depth == 1:
        return _exact_best1(X, W, m)
    best = leaf
    for _, v in _exact_root_values(X, W, depth, m):
        if v.size:
            best = max(best, float(v.max()))
    return best


def _grow_exact(X, W, G, depth, m, nodes):
    node_id = len(nodes)
    tot = G.sum(axis=0)
    leaf = {
        "feature": -1,
        "threshold": np.nan,
        "left": -1,
        "right": -1,
        "action": int(np.argmax(tot)),
        "value": float(tot.max()),
        "n": int(G.shape[0]),
    }
    nodes.append(leaf)
    if depth == 0 or W.shape[1] == 0 or X.shape[0] < 2 * max(m, 1):
        return node_id
    leaf_shifted = float(_leaf_value(W.sum(axis=0), 1))
    best, arg = _NEG, None
    for j, (t, v) in enumerate(_exact_root_values(X, W, depth, m)):
        if v.size and v.max() > best:
            k = int(np.argmax(v))
            best, arg = float(v[k]), (j, float(t[k]))
    if arg is None or best <= leaf_shifted + 1e-12 * max(1.0, abs(leaf_shifted)):
        return node_id
    j, t = arg
    go = X[:, j] <= t
    leaf.update(feature=j, threshold=t)
    for side, rows in (("left", go), ("right", ~go)):
        leaf[side] = _grow_exact(X[rows], W[rows], G[rows], depth - 1, m, nodes)
    return node_id


def fit_policy_tree(
    X,
    scores,
    max_depth=2,
    n_bins=64,
    min_samples_leaf=1,
    sample_weight=None,
    n_jobs=None,
    split_search="binned",
    verbose=0,
):
    """Exact depth-``max_depth`` policy tree maximising sum_i w_i Gamma_{i, pi(X_i)}.

    Parameters
    ----------
    X : ndarray of shape (n, p)
    scores : ndarray of shape (n, K)
        Reward of every action for every row (DR scores, eq. 19).
    max_depth : {1, 2, 3}
    n_bins : int
        Maximum number of quantile bins per feature (thresholds are bin edges).
    min_samples_leaf : int
        Minimum rows in every leaf.
    sample_weight : ndarray of shape (n,), optional
        Multiplies each row's scores.
    n_jobs : int or None
        Threads over the root features of the depth-3 search.
    split_search : {"binned", "exact"}
        Thresholds at quantile-bin edges (fast), or at every distinct value (policytree's
        exhaustive search; for small n).
    verbose : int
        Progress bar over the root features of the depth-3 search.

    Returns
    -------
    dict of ndarrays
        ``feature, threshold, left, right, action, value, n_samples`` (one entry per node,
        node 0 the root; leaves have feature -1) and ``objective`` (the maximised sum).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> G = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    >>> tree = fit_policy_tree(X, G, max_depth=1)
    >>> predict_tree(tree, X).tolist(), float(tree["threshold"][0])
    ([0, 0, 1, 1], 1.0)
    """
    if max_depth not in (1, 2, 3):
        raise ValueError(f"max_depth must be 1, 2 or 3, got {max_depth!r}")
    G = _weighted(scores, sample_weight)
    nodes: list[dict] = []
    if split_search == "exact":
        W = _channels(G, 1)
        _grow_exact(np.asarray(X, dtype=np.float64), W, G, max_depth, min_samples_leaf, nodes)
        threshold = np.array([nd["threshold"] for nd in nodes], dtype=np.float64)
    elif split_search == "binned":
        bins, edges, B = bin_features(X, n_bins)
        W = _channels(G, min_samples_leaf)
        _grow(bins, W, G, B, max_depth, min_samples_leaf, nodes, n_jobs, verbose)
        threshold = np.array(
            [edges[nd["feature"], nd["bin"]] if nd["feature"] >= 0 else np.nan for nd in nodes]
        )
    else:
        raise ValueError(f"split_search must be 'binned' or 'exact', got {split_search!r}")
    feature = np.array([nd["feature"] for nd in nodes], dtype=np.int64)
    value = np.array([nd["value"] for nd in nodes])
    is_leaf = feature < 0
    return {
        "feature": feature,
        "threshold": threshold,
        "left": np.array([nd["left"] for nd in nodes], dtype=np.int64),
        "right": np.array([nd["right"] for nd in nodes], dtype=np.int64),
        "action": np.array([nd["action"] for nd in nodes], dtype=np.int64),
        "value": value,
        "n_samples": np.array([nd["n"] for nd in nodes], dtype=np.int64),
        "objective": float(value[is_leaf].sum()),
    }


def _leaf_index(tree, X):
    X = np.asarray(X, dtype=np.float64)
    node = np.zeros(X.shape[0], dtype=np.int64)
    feature, threshold = tree["feature"], tree["threshold"]
    for _ in range(feature.shape[0]):
        f = feature[node]
        internal = f >= 0
        if not internal.any():
            break
        rows = np.flatnonzero(internal)
        go_left = X[rows, f[rows]] <= threshold[node[rows]]
        node[rows] = np.where(go_left, tree["left"][node[rows]], tree["right"][node[rows]])
    return node


def predict_tree(tree, X):
    """Action index of every row of X under a tree from :func:`fit_policy_tree`."""
    return tree["action"][_leaf_index(tree, X)]


def tree_leaf_values(tree, X, scores):
    """(n_nodes,) mean score of each leaf's action over the rows of X falling in it."""
    leaf = _leaf_index(tree, X)
    G = np.asarray(scores, dtype=np.float64)
    chosen = G[np.arange(G.shape[0]), tree["action"][leaf]]
    n_nodes = tree["feature"].shape[0]
    sums = np.bincount(leaf, weights=chosen, minlength=n_nodes)
    counts = np.bincount(leaf, minlength=n_nodes)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
