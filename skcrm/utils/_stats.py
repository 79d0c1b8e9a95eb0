"""Statistics two or more methods share: doubly-robust scores and normal intervals."""

from __future__ import annotations

import numpy as np

__all__ = ["dr_scores", "normal_ci"]


def dr_scores(mu_hat, treatment_idx, y, propensity):
    """Doubly-robust (AIPW) scores Gamma_a(X_i) of every unit and arm.

    Gamma_a(X_i) = mu(X_i, a) + (Y_i - mu(X_i, a)) / pi_D(a | X_i) 1{A_i = a}
    (Yang et al. 2022, eq. 19; Robins, Rotnitzky & Zhao 1994).

    Parameters
    ----------
    mu_hat : ndarray of shape (n, K)
        Outcome model mu(X_i, a), fitted without unit i (cross-fitting).
    treatment_idx : ndarray of int, shape (n,)
        Index of the arm each unit received, in 0..K-1.
    y : ndarray of shape (n,)
        Observed (or imputed) outcome.
    propensity : ndarray of shape (n,) or (n, K)
        Design probability of the received arm, or of every arm (columns in arm order).

    Returns
    -------
    ndarray of shape (n, K)
        The scores.

    Examples
    --------
    >>> import numpy as np
    >>> dr_scores(np.array([[1.0, 2.0]]), np.array([1]), np.array([4.0]), np.array([0.5]))
    array([[1., 6.]])
    """
    mu = np.asarray(mu_hat, dtype=np.float64)
    a = np.asarray(treatment_idx, dtype=np.int64)
    rows = np.arange(mu.shape[0])
    p = np.asarray(propensity, dtype=np.float64)
    p_obs = p[rows, a] if p.ndim == 2 else p
    gamma = mu.copy()
    gamma[rows, a] += (np.asarray(y, dtype=np.float64) - mu[rows, a]) / p_obs
    return gamma


def normal_ci(estimate, se, alpha=0.05):
    """Two-sided normal (1 - alpha) interval: estimate -+ z_{1 - alpha/2} se.

    Parameters
    ----------
    estimate : float or ndarray
        Point estimate(s).
    se : float or ndarray
        Standard error(s), broadcast against ``estimate``.
    alpha : float, default=0.05
        One minus the confidence level (0.05 = 95%).

    Returns
    -------
    lower, upper : float or ndarray
        Interval bounds (floats for scalar inputs).

    Examples
    --------
    >>> lo, hi = normal_ci(1.0, 0.5)
    >>> round(lo, 4), round(hi, 4)
    (0.02, 1.98)
    """
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1) (0.05 = 95% intervals), got {alpha!r}")
    from scipy.stats import norm

    z = norm.ppf(1.0 - alpha / 2.0)
    est, s = np.asarray(estimate, dtype=np.float64), np.asarray(se, dtype=np.float64)
    lo, hi = est - z * s, est + z * s
    if lo.ndim == 0:
        return float(lo), float(hi)
    return lo, hi
