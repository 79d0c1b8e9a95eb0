"""Parameter uncertainty carried into per-customer predictions (delta-free: parameter draws)."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["interval_frame", "normal_draws", "with_theta"]


def normal_draws(theta, cov, n_draws, rng):
    """``n_draws`` draws from N(theta, cov) (the asymptotic law of the MLE on the log scale).

    Raises a ValueError when the covariance is not available (NaN after a singular Hessian).
    """
    cov = np.asarray(cov, dtype=float)
    if not np.all(np.isfinite(cov)):
        raise ValueError(
            "the parameter covariance is not available (singular Hessian at the fit): no "
            "intervals; add a small penalizer or use method='map'"
        )
    cov = 0.5 * (cov + cov.T)
    return rng.multivariate_normal(np.asarray(theta, float), cov, size=n_draws, method="eigh")


def with_theta(estimator, theta):
    """A shallow copy of a fitted estimator with its parameters set from ``theta``."""
    other = copy.copy(estimator)
    other._set_params_from_theta(np.asarray(theta, dtype=float))
    other._plugin = True
    return other


def interval_frame(point, draws, alpha, name):
    """Point estimate, standard error (sd of the draws) and percentile interval per customer.

    Parameters
    ----------
    point : pandas.Series or ndarray
        Point prediction per customer.
    draws : ndarray of shape (n_draws, n_customers)
        The prediction under each parameter draw.
    alpha : float
        1 - confidence level.
    name : str
        Quantity name (stored in ``attrs``).
    """
    draws = np.asarray(draws, dtype=float)
    index = point.index if isinstance(point, pd.Series) else pd.RangeIndex(draws.shape[1])
    lo, hi = np.nanquantile(draws, [alpha / 2, 1 - alpha / 2], axis=0)
    out = pd.DataFrame(
        {
            "estimate": np.asarray(point, dtype=float),
            "std_error": np.nanstd(draws, axis=0, ddof=1),
            "lower": lo,
            "upper": hi,
        },
        index=index,
    )
    out.attrs.update(
        {"quantity": name, "alpha": alpha, "level": 1 - alpha, "n_draws": draws.shape[0]}
    )
    return out


def z_interval(point, se, alpha):
    """Normal interval (for reference in tests and notes)."""
    z = stats.norm.ppf(1 - alpha / 2)
    return point - z * se, point + z * se
