"""Treatment effects on the imputed long-term outcome (eqs. 16, 19-20)."""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold
from sklearn.utils import check_array, check_random_state, get_tags

from skcrm.utils import check_propensity, check_treatment, dr_scores, normal_ci

from ._core import arm_contrasts, hajek_arm_influence

__all__ = ["surrogate_ate"]


def _cross_fitted_mu(X, codes, y, n_arms, outcome_model, cv, random_state):
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
    folds = StratifiedKFold(cv, shuffle=True, random_state=seed) if isinstance(cv, int) else cv
    for train, test in folds.split(X, codes):
        model = clone(outcome_model).fit(design[train], y[train])
        for a in range(n_arms):
            mu[test, a] = model.predict(np.hstack([X[test], np.repeat(eye[[a]], len(test), 0)]))
    return mu


def _index_effects(y, draws, codes, p, n_arms, method):
    """Arm means under every bootstrap index, minus those under the fitted index: (K, B).

    The experiment and the outcome model stay fixed; only the imputed outcome changes.
    AIPW with a fixed ``mu`` is linear in the outcome: the arm-``a`` mean moves by
    ``mean_i 1{A_i = a} / p_i * (Y*_ib - Y~_i)``. The Hajek mean is recomputed exactly.
    """
    n = len(y)
    W = np.zeros((n, n_arms))
    W[np.arange(n), codes] = 1.0 / p
    shift = W.T @ (draws - y[:, None])  # (K, B)
    if method == "ipw":
        return shift / W.sum(axis=0)[:, None]
    return shift / n


def surrogate_ate(
    y_tilde,
    treatment,
    propensity,
    *,
    X=None,
    index_draws=None,
    outcome_model=None,
    control=None,
    cv=3,
    alpha=0.05,
    random_state=None,
):
    """Average treatment effect of every arm vs control on the imputed outcome.

    Under surrogacy and comparability the ATE on the surrogate index ``Y~`` equals the ATE
    on the long-term outcome (Athey et al. 2019; Prop. 1 of Yang et al.). With covariates
    ``X`` the estimator is AIPW: the mean of ``Gamma_a - Gamma_control`` with the DR scores
    of eq. 19 and a cross-fitted outcome model; without, it is the inverse-propensity
    (Hajek, eq. 16) contrast. Design propensities are taken as known (the paper's setting).

    The standard error has two parts. ``se_experiment`` is the sampling noise of the
    experiment given the fitted index (per-unit influence terms); ``se_index`` is the
    estimation uncertainty of the index itself, the spread of the estimate across
    bootstrap refits of the index on the historical data (``index_draws``, from
    :meth:`SurrogateIndexTransformer.predict_bootstrap`). The two are independent (the index
    is learned on other units), so ``se = sqrt(se_experiment**2 + se_index**2)``, and the
    normal interval uses ``se``. Without ``index_draws``, ``se_index`` is 0 and the interval
    treats the index as known: it is too narrow when the history is not much larger than
    the experiment (derivation in the method's documentation).

    Parameters
    ----------
    y_tilde : array-like of shape (n_samples,)
        Imputed long-term outcome of the experimental units (e.g.
        ``SurrogateIndexTransformer.predict``), or any outcome.
    treatment : array-like of shape (n_samples,)
        Arm received by each unit: discrete labels (strings, integers, booleans); continuous
        doses are refused.
    propensity : float, array-like, DataFrame or dict
        Design probabilities, in any form of ``skcrm.utils.check_propensity``: an
        (n_samples, n_arms) array whose columns follow the sorted arm labels, a DataFrame
        with columns named by arm (matched by label), a dict ``{arm: probability}``, or
        for two arms P(T = the non-control arm | X) as a per-row vector or a scalar (the
        EconML / causalml propensity score).
    X : array-like of shape (n_samples, n_features), default=None
        Pre-treatment covariates for the AIPW outcome model; ``None`` gives IPW.
    index_draws : array-like of shape (n_samples, n_draws), default=None
        Imputed outcome of the same units under ``n_draws >= 2`` bootstrap replicates of the
        index (``SurrogateIndexTransformer(n_bootstrap=B).predict_bootstrap``). Adds the
        index's estimation uncertainty to the standard error and interval.
    outcome_model : regressor, default=None
        Fitted on ``[X, one-hot(arm)]`` with ``cv`` cross-fitting;
        ``None`` is ``HistGradientBoostingRegressor``.
    control : label
        The no-action arm every other arm is compared with. Required: it is never guessed
        from sort order.
    cv : int or cross-validation splitter, default=3
        Cross-fitting folds of the outcome model: an int is
        ``StratifiedKFold(cv, shuffle=True)`` on the arm (the paper's Sec. 5.1 uses 3); a
        splitter's ``split(X, arm_codes)`` is used as given.
    alpha : float, default=0.05
        ``1 - alpha`` confidence intervals.
    random_state : int, RandomState instance or None, default=None
        Seeds the cross-fitting folds and the default outcome model.

    Returns
    -------
    dict
        ``{arm: {"ate", "se", "se_experiment", "se_index", "ci_low", "ci_high", "alpha",
        "n_treated", "n_index_draws", "method"}}`` for every non-control arm.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> a = rng.integers(0, 2, 4000)
    >>> y = 1.0 + 0.5 * a + rng.normal(size=4000)
    >>> res = surrogate_ate(y, a, 0.5, control=0)
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
    if isinstance(cv, numbers.Integral) and not isinstance(cv, bool):
        if cv < 2:
            raise ValueError(f"cv must be an int >= 2 or a splitter, got {cv!r}")
        cv = int(cv)
    elif not hasattr(cv, "split"):
        raise ValueError(f"cv must be an int >= 2 or a splitter (with split), got {cv!r}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1) (0.05 = 95% intervals), got {alpha!r}")
    draws = None
    if index_draws is not None:
        draws = np.asarray(index_draws, dtype=np.float64)
        if draws.ndim != 2 or draws.shape[0] != len(y) or draws.shape[1] < 2:
            raise ValueError(
                f"index_draws must have shape (n_samples, n_draws) = ({len(y)}, B) with B >= 2 "
                f"(SurrogateIndexTransformer(n_bootstrap=B).predict_bootstrap), got {draws.shape}"
            )
        if not np.all(np.isfinite(draws)):
            raise ValueError("index_draws has non-finite values (NaN or inf)")
    info = check_treatment(treatment, n_samples=len(y), control=control, require_control=True)
    arms, codes, control_code = info.actions, info.codes, info.control_index
    p, _ = check_propensity(propensity, info)
    if X is None:
        _, psi = hajek_arm_influence(y, codes, p, len(arms), normalize=True)
        method = "ipw"
    else:
        mu = _cross_fitted_mu(X, codes, y, len(arms), outcome_model, cv, random_state)
        psi = dr_scores(mu, codes, y, p)
        method = "aipw"
    effect, se_exp = arm_contrasts(psi, control_code)
    if draws is None:
        se_index = np.zeros_like(se_exp)
    else:
        moved = _index_effects(y, draws, codes, p, len(arms), method)
        se_index = (moved - moved[[control_code]]).std(axis=1, ddof=1)
    se = np.sqrt(se_exp**2 + se_index**2)
    lo, hi = normal_ci(effect, se, alpha)
    counts = np.bincount(codes, minlength=len(arms))
    out = {}
    for k, arm in enumerate(arms):
        if k == control_code:
            continue
        out[arm.item()] = {
            "ate": float(effect[k]),
            "se": float(se[k]),
            "se_experiment": float(se_exp[k]),
            "se_index": float(se_index[k]),
            "ci_low": float(lo[k]),
            "ci_high": float(hi[k]),
            "alpha": float(alpha),
            "n_treated": int(counts[k]),
            "n_index_draws": 0 if draws is None else int(draws.shape[1]),
            "method": method,
        }
    return out
