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


def _channels(scores, sample_weight):
    """(n, 1 + K) channels: row count, then weighted scores."""
    G = np.asarray(scores, dtype=np.float64)
    if sample_weight is not None:
        G = G * np.asarray(sample_weight, dtype=np.float64)[:, None]
    return np.hstack([np.ones((G.shape[0], 1)), G])


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


def _max_scores(x):
    """max_k x[..., 1 + k]: elementwise maxima (faster than .max over a short last axis)."""
    out = x[..., 1].copy()
    for k in range(2, x.shape[-1]):
        np.maximum(out, x[..., k], out=out)
    return out


def _split_values(cum, tot, m):
    """Value of every split (left = cum, right = tot - cum) with both sides >= m rows.

    cum: (..., B, C) cumulative over bins; tot broadcastable to (..., 1, C). Only bins
    0..B-2 are split candidates (bin B-1 would leave the right side empty).
    """
    left = cum[..., :-1, :]
    right = tot - left
    value = _max_scores(left) + _max_scores(right)
    valid = (left[..., 0] >= m) & (right[..., 0] >= m)
    return np.where(valid, value, _NEG)


def _leaf_value(tot):
    return _max_scores(tot)


def _best1(cum, tot, m):
    """Best depth-<=1 value of regions: cum (..., p, B, C), tot (..., C)."""
    leaf = _leaf_value(tot)
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
    valid = (left_tot[..., 0] >= m) & (right_tot[..., 0] >= m)
    return np.where(valid, left + right, _NEG)


def _best2(C1, F2, T, m):
    """Best depth-<=2 value of a family of regions (leading axes of the arrays)."""
    leaf = _leaf_value(T)
    if C1.shape[-2] <= 1:
        return leaf
    vals = _root_depth2(C1, F2, T, m)
    return np.maximum(leaf, vals.reshape(*vals.shape[:-2], -1).max(axis=-1))


def _joint_by_root(bins, W, B, j1, chunk=4096):
    """H[r, j2, b2, j3, b3, c]: channel sums of rows with bin_j1 = r, bin_j2 = b2, bin_j3 = b3."""
    n, p = bins.shape
    C = W.shape[1]
    pB = p * B
    H = np.zeros((B * pB * pB, C))
    U = bins + np.arange(p) * B
    for start in range(0, n, chunk):
        sl = slice(start, start + chunk)
        r = bins[sl, j1]
        idx = ((r[:, None, None] * pB + U[sl, :, None]) * pB + U[sl, None, :]).ravel()
        for c in range(C):
            w = np.repeat(W[sl, c], p * p)
            H[:, c] += np.bincount(idx, weights=w, minlength=B * pB * pB)
    return H.reshape(B, p, B, p, B, C)


def _root_depth3(bins, W, B, m):
    """(p, B-1) value of each root split followed by the best depth-<=2 children."""
    n, p = bins.shape
    out = np.full((p, B - 1), _NEG)
    for j1 in range(p):
        H = _joint_by_root(bins, W, B, j1)
        F_by_root = np.cumsum(np.cumsum(H, axis=2), axis=4)  # 2-D cumulative per root bin
        F_left = np.cumsum(F_by_root, axis=0)
        F_right = F_left[-1][None] - F_left
        F_left, F_right = F_left[:-1], F_right[:-1]
        C1_left, C1_right = F_left[:, :, :, 0, -1, :], F_right[:, :, :, 0, -1, :]
        T_left, T_right = C1_left[:, 0, -1, :], C1_right[:, 0, -1, :]
        value = _best2(C1_left, F_left, T_left, m) + _best2(C1_right, F_right, T_right, m)
        valid = (T_left[:, 0] >= m) & (T_right[:, 0] >= m)
        out[j1] = np.where(valid, value, _NEG)
    return out


def _grow(bins, W, B, depth, m, nodes):
    """Append the optimal depth-<=``depth`` subtree of these rows to ``nodes``; return id."""
    node_id = len(nodes)
    tot = W.sum(axis=0)
    leaf = {
        "feature": -1,
        "bin": -1,
        "left": -1,
        "right": -1,
        "action": int(np.argmax(tot[1:])),
        "value": float(tot[1:].max()),
        "n": int(tot[0]),
    }
    nodes.append(leaf)
    if depth == 0 or B <= 1 or W.shape[0] < 2 * m:
        return node_id
    C1 = _cum1(bins, W, B)
    if depth == 1:
        vals = _root_depth1(C1, C1[0, -1], m)
    elif depth == 2:
        vals = _root_depth2(C1, _cum2(bins, W, B), C1[0, -1], m)
    else:
        vals = _root_depth3(bins, W, B, m)
    if vals.size == 0 or not np.isfinite(vals.max()):
        return node_id
    j, b = np.unravel_index(int(np.argmax(vals)), vals.shape)
    # keep the leaf unless splitting strictly improves the objective
    if vals[j, b] <= leaf["value"] + 1e-12 * max(1.0, abs(leaf["value"])):
        return node_id
    go_left = bins[:, j] <= b
    leaf.update(feature=int(j), bin=int(b))
    leaf["left"] = _grow(bins[go_left], W[go_left], B, depth - 1, m, nodes)
    leaf["right"] = _grow(bins[~go_left], W[~go_left], B, depth - 1, m, nodes)
    return node_id


def fit_policy_tree(X, scores, max_depth=2, n_bins=64, min_samples_leaf=1, sample_weight=None):
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
    bins, edges, B = bin_features(X, n_bins)
    W = _channels(scores, sample_weight)
    nodes: list[dict] = []
    _grow(bins, W, B, max_depth, min_samples_leaf, nodes)
    feature = np.array([nd["feature"] for nd in nodes], dtype=np.int64)
    threshold = np.array(
        [edges[nd["feature"], nd["bin"]] if nd["feature"] >= 0 else np.nan for nd in nodes]
    )
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
