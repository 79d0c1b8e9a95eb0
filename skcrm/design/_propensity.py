"""Design (behaviour) policies for targeting experiments (App. D.2 of Yang et al.)."""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

__all__ = ["garbled_threshold_propensity"]


def garbled_threshold_propensity(risk, *, threshold=0.0068, sigma=0.003, cap=0.5):
    """Treatment probability of the "garbled threshold" design policy (App. D.2).

    A unit is treated when its noisy risk score clears a threshold,
    ``R_i - eps >= tau`` with ``eps ~ N(0, sigma^2)``, so
    ``pi_D(1 | R_i) = Pr(eps <= R_i - tau) = Phi((R_i - tau) / sigma)``, then capped at
    ``cap``: ``min(Phi((R_i - tau) / sigma), cap)``. Higher-risk units are treated more
    often (a UCB-like prior on the benefit), while the noise keeps every probability in
    (0, 1) so that the experiment supports inverse-propensity evaluation (positivity,
    eq. 6). The defaults are the paper's Experiment 1 (``sigma = 0.003``,
    ``tau = 0.0068``, capped at 50%).

    Parameters
    ----------
    risk : array-like
        Predicted risk scores ``R_i`` (e.g. churn probabilities).
    threshold : float, default=0.0068
        ``tau``: controls how many units are treated.
    sigma : float, default=0.003
        Standard deviation of the garbling noise (amount of exploration), > 0.
    cap : float, default=0.5
        Upper bound on the treatment probability, in (0, 1].

    Returns
    -------
    ndarray
        Treatment probabilities, same shape as ``risk``.

    References
    ----------
    .. [1] Yang, J., Eckles, D., Dhillon, P., & Aral, S. Targeting for long-term outcomes,
       Appendix D.2 (design policy).

    Examples
    --------
    >>> garbled_threshold_propensity([0.0068, 0.0098, 0.5]).round(4).tolist()
    [0.5, 0.5, 0.5]
    >>> garbled_threshold_propensity([0.0, 0.0038]).round(4).tolist()
    [0.0117, 0.1587]
    """
    r = np.asarray(risk, dtype=np.float64)
    if not np.all(np.isfinite(r)):
        raise ValueError("risk must be finite (no NaN or inf)")
    if not np.isfinite(sigma) or sigma <= 0:
        raise ValueError(f"sigma must be a positive number, got {sigma!r}")
    if not np.isfinite(threshold):
        raise ValueError(f"threshold must be finite, got {threshold!r}")
    if not 0 < cap <= 1:
        raise ValueError(f"cap must be in (0, 1], got {cap!r}")
    return np.minimum(ndtr((r - threshold) / sigma), cap)
