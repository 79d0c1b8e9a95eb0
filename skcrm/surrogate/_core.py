"""Math core of the surrogate index: pure functions on arrays (no sklearn, no pandas).

Equation numbers refer to Yang, Eckles, Dhillon & Aral, *Targeting for long-term outcomes*
(the surrogate index is their Definition 3, eq. 4; the bias bounds eqs. 31-32 quote Athey,
Chetty, Imbens & Kang 2019).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "arm_contrasts",
    "athey_bias_bound",
    "hajek_arm_influence",
    "outside_support_fraction",
    "r2_score_1d",
    "support_bounds",
]


def hajek_arm_influence(y, arm, propensity_obs, n_arms, normalize=True):
    """Inverse-propensity arm means and their per-unit influence terms (eq. 16, fn. 12).

    For "always arm a" the Hajek estimator (eq. 16 with ``pi_P`` = point mass on ``a``) is
    ``m_a = sum_i w_ia y_i / sum_i w_ia`` with ``w_ia = 1{arm_i = a} / p_i``; the
    Horvitz-Thompson form (``normalize=False``) is ``m_a = mean_i(w_ia y_i)``. The returned
    influence terms ``psi[:, a]`` have mean ``m_a`` and their sample standard deviation over
    ``sqrt(n)`` is the (linearised) standard error; contrasts of columns give the contrasts'.

    Returns
    -------
    means : ndarray of shape (K,)
    psi : ndarray of shape (n, K)

    Examples
    --------
    >>> import numpy as np
    >>> m, psi = hajek_arm_influence(
    ...     np.array([1.0, 3.0, 5.0]), np.array([0, 1, 1]), np.array([0.5, 0.5, 0.25]), 2
    ... )
    >>> m.round(4).tolist()  # arm 1: (3/0.5 + 5/0.25) / (1/0.5 + 1/0.25)
    [1.0, 4.3333]
    """
    y = np.asarray(y, dtype=np.float64)
    arm = np.asarray(arm, dtype=np.intp)
    n = len(y)
    w = np.zeros((n, n_arms))
    w[np.arange(n), arm] = 1.0 / np.asarray(propensity_obs, dtype=np.float64)
    wy = w * y[:, None]
    if not normalize:
        return wy.mean(axis=0), wy
    wbar = w.mean(axis=0)
    if np.any(wbar == 0):
        missing = np.flatnonzero(wbar == 0).tolist()
        raise ValueError(f"no unit received arm(s) {missing}; their IPW mean is undefined")
    means = wy.sum(axis=0) / w.sum(axis=0)
    # linearisation of a ratio estimator: m_a + w_ia (y_i - m_a) / mean(w_a)
    psi = means + w * (y[:, None] - means) / wbar
    return means, psi


def arm_contrasts(psi, control=0):
    """Mean and standard error of every arm's contrast with ``control`` (eq. 20, averaged).

    ``psi`` holds per-unit terms whose column means are arm values (AIPW scores of eq. 19
    or the influence terms of :func:`hajek_arm_influence`). The contrast of arm ``a`` is
    ``mean_i(psi[i, a] - psi[i, control])``, its standard error the sample standard deviation
    of the differences over ``sqrt(n)``.

    Returns
    -------
    effect, se : ndarray of shape (K,)
        Zero for the control column.

    Examples
    --------
    >>> import numpy as np
    >>> effect, se = arm_contrasts(np.array([[0.0, 1.0], [0.0, 3.0]]))
    >>> effect.tolist(), se.round(4).tolist()
    ([0.0, 2.0], [0.0, 1.0])
    """
    psi = np.asarray(psi, dtype=np.float64)
    diff = psi - psi[:, [control]]
    n = diff.shape[0]
    return diff.mean(axis=0), diff.std(axis=0, ddof=1) / np.sqrt(n)


def athey_bias_bound(var_y, var_a, r2_y_s, r2_a_s):
    """Bound on the bias of the surrogate-index treatment effect when surrogacy fails.

    Eq. 31 (binary action, Athey et al. 2019):
    ``|b| <= sqrt(var(Y) / var(A) * (1 - R2_{Y|S}) * (1 - R2_{A|S}))``; with conditional
    variances and the R2 of regressions that also condition on X it is eq. 32 (``b_X``).
    Vectorised: arrays give one bound per entry (e.g. per covariate cell).

    Derivation (checked in the tests): the bias is ``cov(e, A) / var(A)`` with
    ``e = Y - E[Y|S]``; ``e`` is orthogonal to functions of ``S``, so ``cov(e, A) =
    cov(e, A - E[A|S])`` and Cauchy-Schwarz gives the bound, attained when ``e`` is
    proportional to ``A - E[A|S]``.

    The bound needs the residual variance of ``Y`` given ``S`` in the experiment; plugged in
    from historical data it covers only violations that also act in the history (see
    "What the bound covers" in the surrogate documentation: a direct effect on a history
    that never received the treatment is missed).

    Parameters
    ----------
    var_y : float or array-like
        Variance of the long-term outcome (``var(Y | X)`` for eq. 32).
    var_a : float or array-like
        Variance of the treatment indicator in the experiment (``var(A | X)``), > 0.
    r2_y_s : float or array-like
        R2 of ``Y`` on the surrogates (and covariates), e.g. ``oof_r2_`` of the index;
        negative values count as 0.
    r2_a_s : float or array-like
        R2 of ``A`` on the surrogates (and covariates) in the experiment.

    Returns
    -------
    float or ndarray
        The bound on ``|b|``, one per entry of the broadcast inputs.

    Examples
    --------
    >>> round(athey_bias_bound(100.0, 0.25, 0.9, 0.6), 4)
    4.0
    """
    var_y, var_a, r2_y_s, r2_a_s = (
        np.asarray(v, dtype=np.float64) for v in (var_y, var_a, r2_y_s, r2_a_s)
    )
    if np.any(var_y < 0) or np.any(var_a <= 0):
        raise ValueError("var_y must be >= 0 and var_a > 0")
    for name, r2 in (("r2_y_s", r2_y_s), ("r2_a_s", r2_a_s)):
        if np.any(r2 > 1) or np.any(~np.isfinite(r2)):
            raise ValueError(f"{name} must be a finite R2 <= 1, got {r2}")
    # a negative out-of-sample R2 means the regression explains nothing: cap at 0
    out = np.sqrt(var_y / var_a * (1 - r2_y_s.clip(0)) * (1 - r2_a_s.clip(0)))
    return float(out) if out.ndim == 0 else out


def support_bounds(reference, quantiles=(0.005, 0.995)):
    """Per-column ``quantiles`` of the historical surrogates (NaNs ignored).

    Returns
    -------
    ndarray of shape (2, p)

    Examples
    --------
    >>> import numpy as np
    >>> support_bounds(np.arange(1001.0)[:, None]).ravel().tolist()
    [5.0, 995.0]
    """
    return np.asarray(np.nanquantile(np.asarray(reference, np.float64), quantiles, axis=0))


def outside_support_fraction(values, bounds):
    """Share of rows of ``values`` outside ``[bounds[0], bounds[1]]``, per column.

    NaNs count as inside (a tree handles missing values on its own).

    Examples
    --------
    >>> import numpy as np
    >>> vals = np.array([[-1.0], [500.0], [2000.0]])
    >>> outside_support_fraction(vals, np.array([[5.0], [995.0]])).round(4).tolist()
    [0.6667]
    """
    values = np.asarray(values, dtype=np.float64)
    outside = (values < bounds[0]) | (values > bounds[1])
    return outside.mean(axis=0)


def r2_score_1d(y, pred, sample_weight=None):
    """Coefficient of determination ``1 - SSE / SST`` (weighted if weights are given).

    Examples
    --------
    >>> import numpy as np
    >>> r2_score_1d(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 4.0]))
    0.5
    """
    y = np.asarray(y, dtype=np.float64)
    pred = np.asarray(pred, dtype=np.float64)
    w = np.ones_like(y) if sample_weight is None else np.asarray(sample_weight, np.float64)
    ybar = np.average(y, weights=w)
    sst = np.sum(w * (y - ybar) ** 2)
    sse = np.sum(w * (y - pred) ** 2)
    if sst == 0:  # constant outcome: perfect or nothing explained (sklearn's convention)
        return 1.0 if sse == 0 else 0.0
    return float(1.0 - sse / sst)
