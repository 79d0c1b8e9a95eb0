"""Math core of doubly-robust policy evaluation and learning (Yang et al., eqs. 16-23).

Pure functions: numpy arrays in, numpy arrays out; no sklearn, no pandas. Actions are
integer indices 0..K-1 (positions in the sorted arms); the estimator maps labels to indices.
The DR scores (eq. 19) and normal intervals live in :mod:`skcrm.utils` (one implementation).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "bootstrap_ci",
    "dr_policy_value",
    "ipw_policy_value",
    "policy_matrix",
]

# The DR scores (eq. 19) and the normal interval have one implementation, in skcrm.utils.


def policy_matrix(policy, n_actions):
    """(n, K) policy probabilities pi(a | X_i) from action indices (n,) or a matrix (n, K)."""
    pol = np.asarray(policy)
    if pol.ndim == 2:
        return pol.astype(np.float64)
    out = np.zeros((pol.shape[0], n_actions))
    out[np.arange(pol.shape[0]), pol.astype(np.int64)] = 1.0
    return out


def dr_policy_value(scores, policy):
    """DR (AIPW) value of a policy and its standard error (eqs. 17-18).

    V_DR(pi) = (1/n) sum_i psi_i, psi_i = sum_a pi(a | X_i) Gamma_a(X_i), which equals
    mu(X_i, pi) + pi(A_i | X_i) / pi_D(A_i | X_i) (Y_i - mu(X_i, A_i)) of eq. 17.

    Parameters
    ----------
    scores : ndarray of shape (n, K)
        DR scores (eq. 19).
    policy : ndarray of shape (n,) or (n, K)
        Action indices, or the policy's probabilities of every action.

    Returns
    -------
    value : float
    se : float
        sd(psi) / sqrt(n) (ddof = 1).
    psi : ndarray of shape (n,)
        Per-unit contributions.

    Examples
    --------
    >>> import numpy as np
    >>> G = np.array([[1.0, 3.0], [2.0, 0.0]])
    >>> value, se, psi = dr_policy_value(G, np.array([1, 0]))
    >>> float(value), psi.tolist()
    (2.5, [3.0, 2.0])
    """
    G = np.asarray(scores, dtype=np.float64)
    psi = np.sum(policy_matrix(policy, G.shape[1]) * G, axis=1)
    n = psi.shape[0]
    se = float(np.std(psi, ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
    return float(np.mean(psi)), se, psi


def ipw_policy_value(y, treatment_idx, propensity_obs, policy_prob_obs, normalize=True):
    """Inverse-propensity-weighted policy value: Hajek (eq. 16) or Horvitz-Thompson (fn. 12).

    w_i = pi_P(A_i | X_i) / pi_D(A_i | X_i);  Hajek: sum w_i Y_i / sum w_i;
    Horvitz-Thompson: (1/n) sum w_i Y_i.

    Parameters
    ----------
    y : ndarray of shape (n,)
        Observed outcome.
    treatment_idx : ndarray of shape (n,)
        Unused beyond its length; kept for symmetry with :func:`dr_scores`.
    propensity_obs : ndarray of shape (n,)
        pi_D(A_i | X_i).
    policy_prob_obs : ndarray of shape (n,)
        pi_P(A_i | X_i), the evaluated policy's probability of the realised action
        (1{pi(X_i) = A_i} for a deterministic policy).
    normalize : bool, default=True
        Hajek (True) or Horvitz-Thompson (False).

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> y, a = np.array([1.0, 3.0]), np.array([0, 1])
    >>> ipw_policy_value(y, a, np.array([0.5, 0.25]), np.array([0.0, 1.0]))
    3.0
    >>> ipw_policy_value(y, a, np.array([0.5, 0.25]), np.array([0.0, 1.0]), normalize=False)
    6.0
    """
    y = np.asarray(y, dtype=np.float64)
    if len(treatment_idx) != y.shape[0]:
        raise ValueError("treatment_idx and y must have the same length")
    w = np.asarray(policy_prob_obs, dtype=np.float64) / np.asarray(propensity_obs, np.float64)
    if normalize:
        total = np.sum(w)
        if total <= 0:
            raise ValueError("the evaluated policy puts no weight on any realised action")
        return float(np.sum(w * y) / total)
    return float(np.mean(w * y))


def bootstrap_ci(psi, alpha=0.05, n_boot=1000, rng=None):
    """Percentile bootstrap interval of mean(psi) over resampled rows (section 3.7).

    The nuisances stay fixed; rows are resampled with replacement ``n_boot`` times.
    """
    psi = np.asarray(psi, dtype=np.float64)
    rng = np.random.default_rng(rng)
    n = psi.shape[0]
    means = np.empty(n_boot)
    chunk = max(1, int(2_000_000 // max(n, 1)))
    for start in range(0, n_boot, chunk):
        stop = min(n_boot, start + chunk)
        idx = rng.integers(0, n, size=(stop - start, n))
        means[start:stop] = psi[idx].mean(axis=1)
    lo, hi = np.quantile(means, [alpha / 2.0, 1.0 - alpha / 2.0])
    return (float(lo), float(hi))
