"""Lift scenarios, cell statistics and count rounding; pure numpy.

Arms are coded 0..M with 0 the control; segments 0..K-1; a *cell* is (segment, arm) with
code ``k * (M + 1) + a``. Loops run over cells and scenarios, never over customers.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "bayesian_lift_scenarios",
    "cell_bootstrap_means",
    "cell_means",
    "largest_remainder",
    "normal_lift_scenarios",
    "segment_mean_lifts",
    "shrinkage_intervals",
    "subsample_lift_scenarios",
]


def cell_means(y, cell, n_cells):
    """Per-cell counts, sums and means of ``y`` (means NaN where a cell is empty)."""
    counts = np.bincount(cell, minlength=n_cells).astype(float)
    sums = np.bincount(cell, weights=y, minlength=n_cells)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts > 0, sums / np.where(counts > 0, counts, 1.0), np.nan)
    return counts, sums, means


def cell_bootstrap_means(y, cell, n_cells, n_boot, rng):
    """Means of ``y`` in ``n_boot`` bootstrap resamples drawn within each cell, (n_boot, n_cells).

    Resampling within cells is the stratified bootstrap (per segment x arm).
    """
    out = np.full((n_boot, n_cells), np.nan)
    order = np.argsort(cell, kind="stable")
    bounds = np.searchsorted(cell[order], np.arange(n_cells + 1))
    ys = y[order]
    for c in range(n_cells):
        lo, hi = bounds[c], bounds[c + 1]
        n = hi - lo
        if n == 0:
            continue
        chunk = max(1, 4_000_000 // n)
        for start in range(0, n_boot, chunk):
            stop = min(n_boot, start + chunk)
            idx = rng.integers(0, n, size=(stop - start, n))
            out[start:stop, c] = ys[lo:hi][idx].mean(axis=1)
    return out


def segment_mean_lifts(lifts, seg, K):
    """phi-hat_km = (1/N_k) sum_{i in k} pi-hat_im (the average, not the sum)."""
    counts = np.bincount(seg, minlength=K).astype(float)
    sums = np.stack(
        [np.bincount(seg, weights=lifts[:, m], minlength=K) for m in range(lifts.shape[1])], axis=1
    )
    return sums / np.maximum(counts, 1.0)[:, None]


def subsample_lift_scenarios(lifts, seg, K, n_scenarios, n_per_segment, rng):
    """The paper's section-6 scenarios: per scenario and segment, the mean predicted lift of
    ``n_per_segment`` customers drawn with replacement. (S, K, M)."""
    M = lifts.shape[1]
    out = np.empty((n_scenarios, K, M))
    order = np.argsort(seg, kind="stable")
    bounds = np.searchsorted(seg[order], np.arange(K + 1))
    for k in range(K):
        rows = order[bounds[k] : bounds[k + 1]]
        idx = rng.integers(0, rows.size, size=(n_scenarios, n_per_segment))
        out[:, k, :] = lifts[rows[idx]].mean(axis=1)
    return out


def bayesian_lift_scenarios(successes, counts, n_scenarios, rng):
    """Posterior lift draws: p_ka ~ Beta(1 + successes, 1 + failures); lift = p_km - p_k0.

    ``successes``/``counts`` are (K, M + 1); returns (S, K, M).
    """
    a = 1.0 + successes
    b = 1.0 + counts - successes
    p = rng.beta(a, b, size=(n_scenarios, *a.shape))
    return p[:, :, 1:] - p[:, :, :1]


def normal_lift_scenarios(lift_hat, se, n_scenarios, rng):
    """CLT scenarios phi^s ~ N(phi-hat, diag(se^2)); (S, K, M)."""
    return lift_hat + se * rng.standard_normal((n_scenarios, *lift_hat.shape))


def largest_remainder(targets):
    """Round non-negative real counts (n, C), each row summing to an integer, to integers
    with the same row sums, giving the leftover units to the largest remainders (ties: the
    lower column).

    Examples
    --------
    >>> largest_remainder(np.array([[1.5, 1.5, 2.0]])).tolist()
    [[2, 1, 2]]
    """
    t = np.asarray(targets, dtype=float)
    base = np.floor(t + 1e-9)
    total = np.rint(t.sum(axis=1))
    left = (total - base.sum(axis=1)).astype(np.int64)
    frac = t - base
    order = np.argsort(-frac, axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(t.shape[1])[None, :].repeat(t.shape[0], 0), axis=1)
    return (base + (ranks < left[:, None])).astype(np.int64)


def shrinkage_intervals(lift_hat, se, confidence_level):
    """Empirical-Bayes intervals of segment lifts, pooling each campaign's segments.

    Per campaign (column) the K segment estimates ``lift_hat[:, m]`` with standard errors
    ``se[:, m]`` are read as draws ``phi_k ~ N(mu, tau^2)`` observed with noise ``se_k``;
    ``tau^2`` is the DerSimonian-Laird moment estimate (>= 0) and ``mu`` its precision-
    weighted mean. The interval of cell k is the normal posterior's
    ``mean_k +- z sd_k`` with ``B_k = se_k^2 / (se_k^2 + tau^2)``,
    ``mean_k = mu + (1 - B_k)(lift_hat_k - mu)`` and
    ``sd_k^2 = (1 - B_k) se_k^2 + B_k^2 Var(mu)`` (Morris 1983), ``z`` the two-sided normal
    quantile at ``confidence_level``. Homogeneous segments shrink to the pooled mean, whose
    standard error is about ``se / sqrt(K)``; heterogeneous ones keep their own estimates.

    Parameters
    ----------
    lift_hat : ndarray of shape (K, M)
        Segment lift estimates.
    se : ndarray of shape (K, M)
        Their standard errors (>= 0).
    confidence_level : float
        Two-sided level of the intervals.

    Returns
    -------
    lower, upper : ndarray of shape (K, M)
        Interval bounds.

    Examples
    --------
    >>> lo, hi = shrinkage_intervals(np.array([[0.0], [0.2]]), np.full((2, 1), 0.5), 0.95)
    >>> np.round(lo.ravel(), 4), np.round(hi.ravel(), 4)  # tau^2 = 0: both shrink to 0.1
    (array([-0.593, -0.593]), array([0.793, 0.793]))
    """
    from scipy.stats import norm

    phi = np.asarray(lift_hat, dtype=float)
    se2 = np.asarray(se, dtype=float) ** 2
    K = phi.shape[0]
    z = norm.ppf((1.0 + confidence_level) / 2.0)
    positive = se2 > 0
    if K < 2 or not positive.all():
        # one segment, or cells known exactly: no pooling
        sd = np.sqrt(se2)
        return phi - z * sd, phi + z * sd
    w0 = 1.0 / se2
    sw0 = w0.sum(axis=0)
    mu0 = (w0 * phi).sum(axis=0) / sw0
    Q = (w0 * (phi - mu0) ** 2).sum(axis=0)
    c = sw0 - (w0**2).sum(axis=0) / sw0
    tau2 = np.maximum(0.0, (Q - (K - 1)) / np.where(c > 0, c, np.inf))
    w = 1.0 / (se2 + tau2)
    mu = (w * phi).sum(axis=0) / w.sum(axis=0)
    var_mu = 1.0 / w.sum(axis=0)
    B = se2 / (se2 + tau2)
    mean = mu + (1.0 - B) * (phi - mu)
    sd = np.sqrt((1.0 - B) * se2 + B**2 * var_mu)
    return mean - z * sd, mean + z * sd
