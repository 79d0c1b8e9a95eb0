"""Treatment effects on the imputed long-term outcome (spec 2.4; eqs. 16, 19-20)."""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold
from sklearn.utils import check_array, check_random_state, get_tags

from ._core import aipw_scores, arm_contrasts, hajek_arm_influence, normal_ci

__all__ = ["surrogate_ate"]


def _observed_propensity(propensity, codes, n, n_arms):
    """``pi_D(A_i | X_i)`` from a scalar, an (n,) vector or an (n, K) matrix."""
    p = np.asarray(propensity, dtype=np.float64)
    if p.ndim == 0:
        p = np.full(n, float(p))
    elif p.ndim == 2:
        if p.shape != (n, n_arms):
            raise ValueError(
                f"propensity as a matrix must have shape (n_samples, n_arms) = ({n}, {n_arms}) "
                f"with columns in sorted arm order, got {p.shape}"
            )
        if not np.allclose(p.sum(axis=1), 1.0, atol=1e-6):
            raise ValueError("propensity rows must sum to 1 (one column per arm)")
        p = p[np.arange(n), codes]
    elif p.shape != (n,):
        raise ValueError(
            f"propensity must be a scalar, shape ({n},) (probability of the received arm) "
            f"or ({n}, {n_arms}), got {p.shape}"
        )
    if not np.all(np.isfinite(p)) or np.any(p <= 0) or np.any(p > 1):
        raise ValueError(
            "propensity must hold design probabilities in (0, 1]; positivity (eq. 6) needs "
            f"every received arm to have positive probability, got min {np.nanmin(p):g}"
        )
    return p


def _cross_fitted_mu(X, codes, y, n_arms, outcome_model, n_folds, random_state):
    """Cross-fitted ``mu(X_i, a)`` for every arm (single model on [X, one-hot(A)])."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    rng = check_random_state(random_state)
    seed = rng.randint(0, 2**31 - 1)
    if outcome_model is None:
        outcome_model = HistGradientBoostingRegressor(random_state=seed)
    allow_nan = get_tags(outcome_model).input_tags.allow_nan
    X = check_array(X, dtype=np.float64, ensure_all_finite="allow-nan" if allow_nan else True)
    if X.shape[0] != len(y):
        raise ValueError(f"X has {X.shape[0]} rows but y_tilde has {len(y)}")
    n = len(y)
    eye = np.eye(n_arms)[:, 1:]
    design = np.hstack([X, eye[codes]])
    mu = np.empty((n, n_arms))
    folds = StratifiedKFold(n_folds, shuffle=True, random_state=seed)
    for train, test in folds.split(X, codes):
        model = clone(outcome_model).fit(design[train], y[train])
        for a in range(n_arms):
            mu[test, a] = model.predict(np.hstack([X[test], np.repeat(eye[[a]], len(test), 0)]))
    return mu


def surrogate_ate(
    y_tilde,
    treatment,
    propensity,
    *,
    X=None,
    outcome_model=None,
    control=None,
    n_folds=3,
    alpha=0.05,
    random_state=None,
):
    """Average treatment effect of every arm vs control on the imputed outcome.

    Under surrogacy and comparability the ATE on the surrogate index ``Y~`` equals the ATE
    on the long-term outcome (Athey et al. 2019; Prop. 1 of Yang et al.). With covariates
    ``X`` the estimator is AIPW: the mean of ``Gamma_a - Gamma_control`` with the DR scores
    of eq. 19 and a cross-fitted outcome model; without, it is the inverse-propensity
    (Hajek, eq. 16) contrast. Design propensities are taken as known (the paper's setting);
    standard errors come from the per-unit influence terms, CIs are normal.

    Parameters
    ----------
    y_tilde : array-like of shape (n_samples,)
        Imputed long-term outcome of the experimental units (e.g.
        ``SurrogateIndexTransformer.predict``), or any outcome.
    treatment : array-like of shape (n_samples,)
        Arm received by each unit (any labels; sorted, the first is the default control).
    propensity : float, array-like of shape (n_samples,) or (n_samples, n_arms)
        Design probability of the received arm, or of every arm (columns in sorted label
        order).
    X : array-like of shape (n_samples, n_features), default=None
        Pre-treatment covariates for the AIPW outcome model; ``None`` gives IPW.
    outcome_model : regressor, default=None
        Fitted on ``[X, one-hot(arm)]`` with ``n_folds`` cross-fitting;
        ``None`` is ``HistGradientBoostingRegressor``.
    control : label, default=None
        The control arm (default: the first sorted label).
    n_folds : int, default=3
        Cross-fitting folds (stratified on the arm), as in the paper's Sec. 5.1.
    alpha : float, default=0.05
        ``1 - alpha`` confidence intervals.
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    dict
        ``{arm: {"ate", "se", "ci_low", "ci_high", "n_treated", "method"}}`` for every
        non-control arm.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> a = rng.integers(0, 2, 4000)
    >>> y = 1.0 + 0.5 * a + rng.normal(size=4000)
    >>> res = surrogate_ate(y, a, 0.5)
    >>> round(res[1]["ate"], 1), res[1]["method"]
    (0.5, 'ipw')
    """
    y = np.asarray(y_tilde, dtype=np.float64)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.ravel()
    if y.ndim != 1:
        raise ValueError(f"y_tilde must be 1-D (one outcome per unit), got shape {y.shape}")
    if not np.all(np.isfinite(y)):
        raise ValueError("y_tilde has non-finite values (NaN or inf)")
    treatment = np.asarray(treatment)
    if treatment.shape != y.shape:
        raise ValueError(f"treatment must have shape {y.shape} like y_tilde, got {treatment.shape}")
    if not isinstance(n_folds, numbers.Integral) or n_folds < 2:
        raise ValueError(f"n_folds must be an int >= 2, got {n_folds!r}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    arms, codes = np.unique(treatment, return_inverse=True)
    if len(arms) < 2:
        raise ValueError(f"treatment must contain at least two arms, got {arms.tolist()}")
    if control is None:
        control_code = 0
    else:
        hits = np.flatnonzero(arms == control)
        if len(hits) == 0:
            raise ValueError(f"control {control!r} is not among the arms {arms.tolist()}")
        control_code = int(hits[0])
    p = _observed_propensity(propensity, codes, len(y), len(arms))
    if X is None:
        _, psi = hajek_arm_influence(y, codes, p, len(arms), normalize=True)
        method = "ipw"
    else:
        mu = _cross_fitted_mu(X, codes, y, len(arms), outcome_model, n_folds, random_state)
        psi = aipw_scores(y, codes, p, mu)
        method = "aipw"
    effect, se = arm_contrasts(psi, control_code)
    lo, hi = normal_ci(effect, se, alpha)
    counts = np.bincount(codes, minlength=len(arms))
    out = {}
    for k, arm in enumerate(arms):
        if k == control_code:
            continue
        key = arm.item() if hasattr(arm, "item") else arm
        out[key] = {
            "ate": float(effect[k]),
            "se": float(se[k]),
            "ci_low": float(lo[k]),
            "ci_high": float(hi[k]),
            "n_treated": int(counts[k]),
            "method": method,
        }
    return out
