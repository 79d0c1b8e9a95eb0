"""DRPolicyClassifier: doubly-robust multi-action policy learning and evaluation."""

from __future__ import annotations

import numbers

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, _fit_context, clone
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, check_cv
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from skcrm.utils import (
    TreatmentInfo,
    check_propensity,
    check_treatment,
    dr_scores,
    format_labels,
    normal_ci,
    progress,
    warn,
)

from ..utils._dask import dask_dispatch
from ._core import bootstrap_ci, dr_policy_value, policy_matrix
from ._policy_tree import PolicyTreeClassifier
from ._target import unpack_policy_target


def _cap_is_joint(est):
    """Why ``est``'s predictions couple all rows (a treated-share cap), or None."""
    cap = getattr(est, "max_treated_fraction", None)
    if cap is None:
        return None
    return (
        f"max_treated_fraction={cap} ranks all rows together, so each "
        "partition would get its own cap; score decision_function or predict_value on the "
        "Dask frame, or predict on the collected rows"
    )


__all__ = ["DRPolicyClassifier"]


def _resolve_regressor(model, random_state):
    if model is None:
        return HistGradientBoostingRegressor(random_state=random_state)
    if isinstance(model, str):
        if model != "xgboost":
            raise ValueError(f"outcome_model string must be 'xgboost', got {model!r}")
        try:
            from xgboost import XGBRegressor
        except ImportError as exc:  # pragma: no cover - xgboost is a dependency
            raise ImportError("outcome_model='xgboost' needs the xgboost package") from exc
        return XGBRegressor(random_state=random_state, n_jobs=1)
    return clone(model)


def _resolve_classifier(model, random_state):
    if model is None:
        return PolicyTreeClassifier(max_depth=2, min_samples_leaf=1)
    if isinstance(model, str):
        if model != "xgboost":
            raise ValueError(f"policy_model string must be 'xgboost', got {model!r}")
        from xgboost import XGBClassifier

        return XGBClassifier(random_state=random_state, n_jobs=1)
    return clone(model)


def _is_score_based(model):
    return bool(getattr(model, "_skcrm_score_based", False))


def _proba_in_order(model, X, K):
    """(n, K) predict_proba of a classifier fitted on codes 0..K-1, columns by code."""
    P = np.asarray(model.predict_proba(X), dtype=np.float64)
    classes = np.asarray(getattr(model, "classes_", np.arange(K))).astype(np.int64)
    out = np.zeros((P.shape[0], K))
    out[:, classes] = P
    return out


def _label_key(label):
    """A hashable plain-Python key of a label (numpy scalars -> Python scalars)."""
    return label.item() if hasattr(label, "item") else label


class _Constant:
    """A fitted 'classifier' that always answers one label (a pair with a single label)."""

    def __init__(self, label):
        self.label = int(label)

    def predict(self, X):
        return np.full(X.shape[0], self.label)


class DRPolicyClassifier(BaseEstimator):
    """Learn and evaluate a multi-action targeting policy with doubly-robust scores.

    The method of Yang, Eckles, Dhillon & Aral (2022), section 4.2:

    1. cross-fit an outcome model mu(x, a) on ``cv`` folds (eq. 19's mu-hat),
    2. form DR scores Gamma_a(X_i) = mu(X_i, a) + (Y_i - mu(X_i, a)) / pi_D(a|X_i) 1{A_i = a}
       (eq. 19) with the known design propensities pi_D,
    3. learn the policy maximising (1/n) sum_i Gamma_{pi(X_i)}(X_i) (eqs. 21-22): directly
       with a score-based learner (the default exact :class:`PolicyTreeClassifier`), or by
       cost-sensitive classification with any sklearn classifier (weighted binary
       reduction, one-vs-one majority vote) or plug-in argmax of regressions of Gamma,
    4. score a policy on held-out rows by the DR value (eq. 17), so ``GridSearchCV`` selects
       by cross-validated policy value.

    Parameters
    ----------
    outcome_model : regressor, "xgboost" or None, default=None
        Model of mu(x, a); None -> ``HistGradientBoostingRegressor(random_state)`` (the
        paper used XGBoost). Fitted on ``[X, one-hot(A)]`` (S-learner) or per arm.
    propensity_model : classifier or None, default=None
        Used only when no ``propensity`` is passed (cross-fitted, with a warning); None ->
        ``LogisticRegression``. In experiments pass the known design probabilities.
    policy_model : estimator or None, default=None
        A score-based learner (fitted on the (n, K) scores directly, e.g.
        :class:`PolicyTreeClassifier`) or any classifier accepting ``sample_weight``;
        None -> ``PolicyTreeClassifier(max_depth=2)``.
    reduction : {"auto", "weighted", "ovo", "argmax"}, default="auto"
        For a classifier ``policy_model``: "weighted" (K = 2; label 1{G1 > G0}, weight
        ``|G1 - G0|``, eq. 21), "ovo" (one weighted classifier per pair of actions, majority
        vote, eq. 22), "argmax" (regress each Gamma_a on X with a clone of the outcome
        model; recommend the argmax). "auto" = weighted if K = 2 else ovo. Ignored for a
        score-based ``policy_model``.
    outcome_per_action : bool, default=False
        One outcome regressor per arm (T-learner) instead of one on [X, one-hot(A)].
    cv : int or cross-validation splitter, default=3
        Cross-fitting folds for mu (paper: 3). An int gives ``StratifiedKFold`` on the arm
        (shuffled, seeded by ``random_state``); a splitter must partition the rows.
    min_propensity : float, default=1e-3
        Propensities of the received arm below it are clipped (with a warning).
    control : label or None, default=None
        The no-action arm ("treat no one"). Required for everything that compares arms with
        the control: ``max_treated_fraction``, ``score_baseline="control"``,
        :meth:`predict_value`, :meth:`budget_curve`, the gains of :meth:`evaluate`, and a
        scalar or per-row ``propensity`` with two arms. Never guessed from sort order.
    actions : array-like or None, default=None
        Every action label, so that arms absent from the data are known (they then raise).
    policy_features : list of int or str, or None
        Columns the policy may use; mu always uses every column (section 4.2.2).
    action_costs : array-like of shape (K,), dict or None
        Cost of each action (in the order of the sorted ``actions_``, or a dict
        ``{label: cost}``, missing labels cost 0), subtracted from the scores: the policy
        maximises value net of cost, and values are reported net.
    max_treated_fraction : float in (0, 1] or None
        Treat at most this share of the rows passed to ``predict`` (and to ``score``,
        ``evaluate``): among the rows the policy would treat, those with the largest
        estimated gain mu(x, a) - mu(x, control) net of cost go first, exactly
        floor(fraction * n) of them when more want treatment. Ties in the gain are broken at
        random by a generator seeded at fit from ``random_state`` (reproducible). The cap
        is a share of the batch: predict the whole population at once (a single row is
        treated only when the fraction is 1). Needs ``control``.
    n_bootstrap : int, default=0
        R bootstrap refits of the policy for bootstrap Thompson sampling (eq. 23); the
        scores stay fixed and rows are resampled.
    bts_floor : float, default=0.0
        Probability floor of every action in ``predict_proba`` with ``n_bootstrap > 0``.
    score_baseline : {None, "control"}, default=None
        ``score`` returns V_DR(pi) or V_DR(pi) - V_DR(always control).
    alpha : float, default=0.05
        1 - confidence level of :meth:`evaluate`'s intervals.
    random_state : int, RandomState or None
        Seeds the folds, the outcome/propensity models and the bootstrap.
    n_jobs : int or None
        Parallel jobs over pairs (ovo) and bootstrap replicates.
    verbose : int, default=0
        Progress bars over the cross-fitting folds and the bootstrap replicates.

    Attributes
    ----------
    actions_ : ndarray of shape (K,)
        Arm labels, sorted; the columns of every (n, K) array (propensities, scores,
        ``decision_function``, ``predict_proba``) follow this order.
    n_actions_ : int
        Number of arms K.
    control_ : label or None
        The control label (None when ``control`` was not given).
    control_index_ : int or None
        Position of the control in ``actions_``.
    n_splits_ : int
        Number of cross-fitting folds used.
    action_costs_ : ndarray of shape (K,)
        Action costs in ``actions_`` order.
    policy_features_ : ndarray of int
        Columns of X the policy reads.
    policy_feature_names_ : ndarray of str
        Their names.
    reduction_ : str
        The policy reduction used ("scores", "weighted", "ovo" or "argmax").
    n_features_in_ : int
        Number of columns of X.
    feature_names_in_ : ndarray of str
        When X is a DataFrame with string column names.
    mu_hat_ : ndarray of shape (n, K)
        Cross-fitted outcome predictions.
    dr_scores_ : ndarray of shape (n, K)
        DR scores (eq. 19) of the training rows (before action costs).
    propensity_ : ndarray of shape (n,)
        Clipped pi_D(A_i | X_i) used.
    propensity_model_ : classifier
        Refit on all rows (only when propensities were estimated).
    outcome_models_ : list
        Per-fold outcome models (lists per arm when ``outcome_per_action``).
    outcome_model_ : estimator or list
        Refit on all rows; used by ``score``, ``decision_function`` and new-data scores.
    policy_model_ : estimator
        The fitted policy (score-based or weighted reduction).
    pairwise_models_ : dict
        ``(a, b) -> classifier`` for the one-vs-one reduction (action indices).
    value_models_ : list
        Regressors of each Gamma_a for the argmax reduction.
    bootstrap_policies_ : list
        The ``n_bootstrap`` refitted policies.
    feature_importances_ : ndarray of shape (n_features,)
        The policy model's feature importances on the columns of X (0 for columns the
        policy does not read); only when the policy model has them (policy trees,
        sklearn trees).
    train_value_ : float
        In-sample DR value of the policy (optimistic; not for model selection).
    fold_indices_ : ndarray of shape (n,)
        Cross-fitting fold of every training row.

    References
    ----------
    Yang, J., Eckles, D., Dhillon, P., Aral, S. (2022). Targeting for long-term outcomes.
    Manuscript MS-MKG-20-03054, eqs. 16-23.

    Examples
    --------
    >>> from skcrm.datasets import make_surrogate_targeting
    >>> from skcrm.policy import DRPolicyClassifier
    >>> d = make_surrogate_targeting(10, 3000, random_state=0)
    >>> pol = DRPolicyClassifier(random_state=0).fit(
    ...     d.X, d.y_long, treatment=d.treatment, propensity=d.propensity)
    >>> pol.dr_scores_.shape, sorted(set(pol.predict(d.X).tolist()))
    ((3000, 2), [0, 1])
    >>> bool(d.policy_value(pol) > d.policy_value(0) + 1.0)
    True
    """

    __metadata_request__fit = {"treatment": True, "propensity": True}
    # sample_weight of score is requested so that Pipeline.score (which always forwards its
    # sample_weight, None included, under metadata routing) reaches it.
    __metadata_request__score = {"treatment": True, "propensity": True, "sample_weight": True}

    _parameter_constraints = {
        "outcome_model": [None, StrOptions({"xgboost"}), HasMethods(["fit", "predict"])],
        "propensity_model": [None, HasMethods(["fit", "predict_proba"])],
        "policy_model": [None, StrOptions({"xgboost"}), HasMethods(["fit", "predict"])],
        "reduction": [StrOptions({"auto", "weighted", "ovo", "argmax"})],
        "outcome_per_action": ["boolean"],
        "cv": ["cv_object"],
        "min_propensity": [Interval(numbers.Real, 0, 1, closed="neither")],
        "control": "no_validation",
        "actions": ["array-like", None],
        "policy_features": ["array-like", None],
        "action_costs": ["array-like", dict, None],
        "max_treated_fraction": [Interval(numbers.Real, 0, 1, closed="right"), None],
        "n_bootstrap": [Interval(numbers.Integral, 0, None, closed="left")],
        "bts_floor": [Interval(numbers.Real, 0, 1, closed="left")],
        "score_baseline": [None, StrOptions({"control"})],
        "alpha": [Interval(numbers.Real, 0, 1, closed="neither")],
        "random_state": ["random_state"],
        "n_jobs": [None, numbers.Integral],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        outcome_model=None,
        propensity_model=None,
        policy_model=None,
        *,
        reduction="auto",
        outcome_per_action=False,
        cv=3,
        min_propensity=1e-3,
        control=None,
        actions=None,
        policy_features=None,
        action_costs=None,
        max_treated_fraction=None,
        n_bootstrap=0,
        bts_floor=0.0,
        score_baseline=None,
        alpha=0.05,
        random_state=None,
        n_jobs=None,
        verbose=0,
    ):
        self.outcome_model = outcome_model
        self.propensity_model = propensity_model
        self.policy_model = policy_model
        self.reduction = reduction
        self.outcome_per_action = outcome_per_action
        self.cv = cv
        self.min_propensity = min_propensity
        self.control = control
        self.actions = actions
        self.policy_features = policy_features
        self.action_costs = action_costs
        self.max_treated_fraction = max_treated_fraction
        self.n_bootstrap = n_bootstrap
        self.bts_floor = bts_floor
        self.score_baseline = score_baseline
        self.alpha = alpha
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    # ------------------------------------------------------------------ inputs
    def _split_target(self, y, treatment, propensity, n):
        """Outcome, treatment, propensity from a 1-D y plus keywords or a packed 2-D y."""
        if y is None:
            raise ValueError("requires y to be passed, but the target y is None")
        y_arr = np.asarray(y)
        if y_arr.ndim == 2:
            out, a_packed, p_packed = unpack_policy_target(y_arr)
            if treatment is not None and not np.array_equal(
                np.asarray(treatment).astype(np.float64), a_packed.astype(np.float64)
            ):
                raise ValueError("treatment= disagrees with the treatment packed into y")
            if propensity is not None and p_packed is not None:
                raise ValueError(
                    "propensity is given twice: as propensity= and packed into y; pass one"
                )
            treatment = a_packed if treatment is None else treatment
            propensity = p_packed if propensity is None else propensity
        elif y_arr.ndim == 1:
            out = y_arr
        else:
            raise ValueError(f"y must be 1-D (outcome) or a packed 2-D target, got {y_arr.shape}")
        try:
            out = np.asarray(out, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError("y (the outcome) must be numeric") from exc
        if out.shape[0] != n:
            raise ValueError(f"y has {out.shape[0]} rows but X has {n}")
        if not np.all(np.isfinite(out)):
            bad = np.flatnonzero(~np.isfinite(out))[:5].tolist()
            raise ValueError(f"y (the outcome) has NaN or infinite values (rows {bad})")
        if treatment is None:
            raise ValueError(
                "treatment is required: pass treatment= (with metadata routing in "
                "meta-estimators) or a packed y from pack_policy_target"
            )
        return out, treatment, propensity

    def _set_actions(self, treatment, n):
        """Read the arms (sorted ``actions_``) and the control; return the row codes."""
        needs_control = self.max_treated_fraction is not None or self.score_baseline is not None
        info = check_treatment(
            treatment,
            n_samples=n,
            actions=self.actions,
            control=self.control,
            require_control=needs_control,
        )
        observed = np.bincount(info.codes, minlength=info.n_actions)
        if np.any(observed == 0):
            raise ValueError(
                f"arm(s) {format_labels(info.actions[observed == 0])} have no training rows; "
                "every action needs data"
            )
        self.actions_ = info.actions
        self.control_index_ = info.control_index
        self.control_ = info.control
        self.n_actions_ = info.n_actions
        return info

    def _info(self, codes):
        return TreatmentInfo(self.actions_, codes, self.control_index_)

    def _require_control(self, what):
        if self.control_index_ is None:
            raise ValueError(
                f"{what} compares arms with the control: pass control= (one of "
                f"{format_labels(self.actions_)}) when fitting; skcrm never guesses it"
            )
        return self.control_index_

    def _costs(self):
        K = self.n_actions_
        if self.action_costs is None:
            return np.zeros(K)
        if isinstance(self.action_costs, dict):
            keys = {_label_key(k): float(v) for k, v in self.action_costs.items()}
            arms = [_label_key(a) for a in self.actions_]
            unknown = [k for k in keys if k not in arms]
            if unknown:
                raise ValueError(
                    f"action_costs names unknown actions {unknown}; the arms are "
                    f"{format_labels(self.actions_)}"
                )
            return np.array([keys.get(a, 0.0) for a in arms])
        c = np.asarray(self.action_costs, dtype=np.float64)
        if c.shape != (K,):
            raise ValueError(
                f"action_costs must have one cost per action ({K}, in the order of the sorted "
                f"arms {format_labels(self.actions_)}) or be a dict, got shape {c.shape}"
            )
        return c

    def _policy_columns(self, X):
        if self.policy_features is None:
            return np.arange(X.shape[1])
        feats = list(np.asarray(self.policy_features).ravel())
        names = getattr(self, "feature_names_in_", None)
        idx = []
        for f in feats:
            if isinstance(f, str):
                if names is None or f not in list(names):
                    raise ValueError(f"policy_features names unknown column {f!r}")
                idx.append(list(names).index(f))
            else:
                if not 0 <= int(f) < X.shape[1]:
                    raise ValueError(f"policy_features index {f} out of range")
                idx.append(int(f))
        return np.asarray(idx, dtype=np.int64)

    # ------------------------------------------------------------- nuisances
    def _design(self, X, a_idx):
        Z = np.zeros((X.shape[0], X.shape[1] + self.n_actions_ - 1))
        Z[:, : X.shape[1]] = X
        treated = a_idx > 0
        Z[np.flatnonzero(treated), X.shape[1] + a_idx[treated] - 1] = 1.0
        return Z

    def _fit_outcome(self, X, y, a_idx, sw, seed):
        base = _resolve_regressor(self.outcome_model, seed)
        kw = {} if sw is None else {"sample_weight": sw}
        if self.outcome_per_action:
            models = []
            for a in range(self.n_actions_):
                rows = a_idx == a
                if rows.sum() < 2:
                    raise ValueError(
                        f"arm {_label_key(self.actions_[a])!r} has {int(rows.sum())} rows in a "
                        "training fold; outcome_per_action needs at least 2 (use a smaller cv)"
                    )
                kwa = {} if sw is None else {"sample_weight": sw[rows]}
                models.append(clone(base).fit(X[rows], y[rows], **kwa))
            return models
        return base.fit(self._design(X, a_idx), y, **kw)

    def _predict_outcome(self, model, X):
        """(n, K) mu(x, a) for every arm."""
        n, K = X.shape[0], self.n_actions_
        if isinstance(model, list):
            return np.column_stack([m.predict(X) for m in model]).astype(np.float64)
        Z = np.concatenate([self._design(X, np.full(n, a)) for a in range(K)])
        return np.asarray(model.predict(Z), dtype=np.float64).reshape(K, n).T

    def _folds(self, X, a_idx, rng_seed):
        """Cross-fitting fold of every row: ``cv`` int -> stratified on the arm."""
        n = a_idx.shape[0]
        if isinstance(self.cv, numbers.Integral):
            counts = np.bincount(a_idx, minlength=self.n_actions_)
            if counts.min() < self.cv:
                arm = _label_key(self.actions_[int(np.argmin(counts))])
                raise ValueError(
                    f"arm {arm!r} has {int(counts.min())} rows, fewer than cv={self.cv}"
                )
            splitter = StratifiedKFold(self.cv, shuffle=True, random_state=rng_seed)
        else:
            splitter = check_cv(self.cv)
        fold = np.full(n, -1, dtype=np.int64)
        for k, (_, test) in enumerate(splitter.split(X, a_idx)):
            if np.any(fold[test] >= 0):
                raise ValueError("cv must split the rows into disjoint test folds (a partition)")
            fold[test] = k
        if np.any(fold < 0):
            raise ValueError("cv must put every row in one test fold (a partition of the rows)")
        self.n_splits_ = k + 1
        return fold

    # ---------------------------------------------------------------- policy
    def _resolved_reduction(self, model):
        if _is_score_based(model):
            return "scores"
        if self.reduction == "auto":
            return "weighted" if self.n_actions_ == 2 else "ovo"
        if self.reduction == "weighted" and self.n_actions_ != 2:
            raise ValueError(
                f"reduction='weighted' needs 2 actions, got {self.n_actions_}; use 'ovo'"
            )
        return self.reduction

    def _fit_policy(self, Xp, X, G, sw, seed):
        """Fit one policy on (Xp, G); return its state (kind, model(s))."""
        model = _resolve_classifier(self.policy_model, seed)
        kind = self._resolved_reduction(model)
        w_row = np.ones(G.shape[0]) if sw is None else sw
        if kind == "scores":
            return ("scores", model.fit(Xp, G, sample_weight=sw))
        if kind == "argmax":
            base = _resolve_regressor(self.outcome_model, seed)
            models = [clone(base).fit(X, G[:, a], sample_weight=sw) for a in range(G.shape[1])]
            return ("argmax", models)
        if kind == "weighted":
            return ("weighted", self._fit_pair(model, Xp, G[:, 0], G[:, 1], w_row))
        pairs = [(a, b) for a in range(G.shape[1]) for b in range(a + 1, G.shape[1])]
        fitted = Parallel(n_jobs=self.n_jobs)(
            delayed(self._fit_pair)(clone(model), Xp, G[:, a], G[:, b], w_row) for a, b in pairs
        )
        return ("ovo", dict(zip(pairs, fitted, strict=True)))

    @staticmethod
    def _fit_pair(model, Xp, g_a, g_b, w_row):
        """Weighted binary reduction (eq. 21): label 1{g_b > g_a}, weight |g_b - g_a|."""
        w = np.abs(g_b - g_a) * w_row
        keep = w > 0
        label = (g_b > g_a).astype(np.int64)
        if not keep.any() or np.unique(label[keep]).size == 1:
            return _Constant(label[keep][0] if keep.any() else 0)
        return model.fit(Xp[keep], label[keep], sample_weight=w[keep])

    def _policy_actions(self, state, Xp, X):
        kind, model = state
        if kind == "scores":
            if hasattr(model, "apply_actions"):
                return model.apply_actions(Xp)
            return np.asarray(model.predict(Xp), dtype=np.int64)
        if kind == "argmax":
            values = np.column_stack([m.predict(X) for m in model])
            return np.argmax(values, axis=1)
        if kind == "weighted":
            return np.asarray(model.predict(Xp), dtype=np.int64)
        K, n = self.n_actions_, Xp.shape[0]
        votes = np.zeros((n, K))
        for (a, b), m in model.items():
            win_b = np.asarray(m.predict(Xp), dtype=np.int64) == 1
            votes[:, b] += win_b
            votes[:, a] += ~win_b
        top = votes == votes.max(axis=1, keepdims=True)
        tied = top.sum(axis=1) > 1
        best = np.argmax(top, axis=1)
        if tied.any():
            # ties: the larger estimated action value mu(x, a), then the lower index
            mu = self._net_values(X[tied])
            best[tied] = np.argmax(np.where(top[tied], mu, -np.inf), axis=1)
        return best

    def _net_values(self, X):
        return self._predict_outcome(self.outcome_model_, X) - self.action_costs_

    def _apply_cap(self, actions, X):
        """Treat at most floor(max_treated_fraction * n) of these rows (largest gain first).

        The gain of a row is mu(x, a) - mu(x, control) net of cost for its recommended arm
        a; ties are broken at random with a generator seeded at fit (``random_state``), so
        the same rows always get the same answer and tied gains still fill the cap.
        """
        if self.max_treated_fraction is None:
            return actions
        c = self.control_index_
        n = actions.shape[0]
        values = self._net_values(X)
        gain = values[np.arange(n), actions] - values[:, c]
        treated = np.flatnonzero(actions != c)
        k_max = int(np.floor(self.max_treated_fraction * n + 1e-9))
        if treated.size <= k_max:
            return actions
        tie = np.random.default_rng(self._tie_seed).random(n)
        # largest gain first; among equal gains, the random key decides
        order = np.lexsort((tie[treated], -gain[treated]))
        out = actions.copy()
        out[treated[order[k_max:]]] = c
        return out

    # ------------------------------------------------------------------- fit
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, treatment=None, propensity=None, sample_weight=None):
        """Cross-fit mu, build DR scores (eq. 19) and learn the policy (eqs. 21-22).

        Parameters
        ----------
        X : array-like of shape (n, p)
            Pre-treatment covariates (never surrogates).
        y : array-like of shape (n,) or packed (n, 2 + ...)
            Outcome (e.g. the imputed long-term outcome), or the output of
            :func:`pack_policy_target`.
        treatment : array-like of shape (n,)
            Realised action labels.
        propensity : float, array-like of shape (n,) or (n, K), optional
            Known design probability of the observed arm (scalar or per row) or of every
            arm; see ``skcrm.utils.check_propensity`` for every form: an (n, K) array
            with columns in sorted ``actions_`` order, a DataFrame with columns named by arm,
            a dict ``{arm: p}``, or (two arms, with ``control``) P(T = the non-control arm)
            as a scalar or per-row vector (the EconML/causalml habit). None -> estimated
            (warns).
        sample_weight : array-like of shape (n,), optional
            Multiplies the outcome-model and the policy-model weights.

        Returns
        -------
        self
        """
        X = validate_data(self, X, dtype=np.float64)
        n = X.shape[0]
        out, treatment, propensity = self._split_target(y, treatment, propensity, n)
        info = self._set_actions(treatment, n)
        a_idx = info.codes
        sw = None if sample_weight is None else _check_sample_weight(sample_weight, X)
        self.action_costs_ = self._costs()
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        self._tie_seed = seed
        fold = self._folds(X, a_idx, seed)
        self.fold_indices_ = fold

        # (1) propensities: known design probabilities, or cross-fitted estimates
        if propensity is None:
            warn(
                "no propensity given: estimating it with propensity_model; in experiments "
                "pass the known design probabilities"
            )
            base = self.propensity_model or LogisticRegression(max_iter=1000)
            P = np.empty((n, self.n_actions_))
            for k in range(self.n_splits_):
                train = fold != k
                m = clone(base).fit(X[train], a_idx[train])
                P[fold == k] = _proba_in_order(m, X[fold == k], self.n_actions_)
            self.propensity_model_ = clone(base).fit(X, a_idx)
            propensity = P
        self.propensity_, _ = check_propensity(propensity, info, min_propensity=self.min_propensity)

        # (2) cross-fitted outcome model
        mu = np.empty((n, self.n_actions_))
        self.outcome_models_ = []
        for k in progress(range(self.n_splits_), self.verbose, desc="cross-fitting mu"):
            train = fold != k
            m = self._fit_outcome(
                X[train], out[train], a_idx[train], None if sw is None else sw[train], seed
            )
            self.outcome_models_.append(m)
            mu[fold == k] = self._predict_outcome(m, X[fold == k])
        self.mu_hat_ = mu
        # (3) DR scores, eq. 19
        self.dr_scores_ = dr_scores(mu, a_idx, out, self.propensity_)
        G = self.dr_scores_ - self.action_costs_
        # (5) outcome model on all rows (for new-data scores and decision_function)
        self.outcome_model_ = self._fit_outcome(X, out, a_idx, sw, seed)
        # (4) the policy
        cols = self._policy_columns(X)
        self.policy_features_ = cols
        names = getattr(self, "feature_names_in_", None)
        self.policy_feature_names_ = (
            np.asarray(names)[cols] if names is not None else np.array([f"x{j}" for j in cols])
        )
        Xp = X[:, cols]
        self._policy_state = self._fit_policy(Xp, X, G, sw, seed)
        kind, model = self._policy_state
        self.reduction_ = kind
        if kind in ("scores", "weighted"):
            self.policy_model_ = model
            inner = getattr(model, "feature_importances_", None)
            if inner is not None:
                imp = np.zeros(X.shape[1])
                imp[cols] += np.asarray(inner, dtype=np.float64)
                self.feature_importances_ = imp
        elif kind == "ovo":
            self.pairwise_models_ = model
        else:
            self.value_models_ = model
        actions = self._apply_cap(self._policy_actions(self._policy_state, Xp, X), X)
        self.train_value_ = dr_policy_value(G, actions)[0]
        # (6) bootstrap Thompson sampling, eq. 23
        self.bootstrap_policies_ = []
        if self.n_bootstrap > 0:
            if self.bts_floor * self.n_actions_ > 1:
                raise ValueError(
                    f"bts_floor={self.bts_floor} times {self.n_actions_} actions exceeds 1"
                )
            boot_rng = np.random.default_rng(seed)
            draws = [boot_rng.integers(0, n, n) for _ in range(self.n_bootstrap)]
            seeds = boot_rng.integers(np.iinfo(np.int32).max, size=self.n_bootstrap)
            self.bootstrap_policies_ = Parallel(n_jobs=self.n_jobs)(
                delayed(self._fit_policy)(
                    Xp[idx], X[idx], G[idx], None if sw is None else sw[idx], int(s)
                )
                for idx, s in progress(
                    zip(draws, seeds, strict=True),
                    self.verbose,
                    desc="bootstrap policies",
                    total=self.n_bootstrap,
                )
            )
        return self

    # --------------------------------------------------------------- predict
    def _check_X(self, X):
        check_is_fitted(self, "dr_scores_")
        return validate_data(self, X, dtype=np.float64, reset=False)

    def _actions(self, X):
        Xp = X[:, self.policy_features_]
        return self._apply_cap(self._policy_actions(self._policy_state, Xp, X), X)

    @dask_dispatch(joint=_cap_is_joint)
    def predict(self, X):
        """Recommended action of every row (labels of ``actions_``).

        Parameters
        ----------
        X : array-like of shape (n, p)
            Covariates (the columns seen in ``fit``).

        Returns
        -------
        ndarray of shape (n,)
        """
        X = self._check_X(X)
        return self.actions_[self._actions(X)]

    @dask_dispatch(joint=_cap_is_joint)
    def predict_proba(self, X):
        """Policy distribution pi(a | x), (n, K) in ``actions_`` order.

        One-hot for the deterministic policy; with ``n_bootstrap > 0`` the bootstrap
        Thompson sampling shares (eq. 23), ``bts_floor + (1 - K bts_floor) * share``.

        Parameters
        ----------
        X : array-like of shape (n, p)
            Covariates (the columns seen in ``fit``).

        Returns
        -------
        ndarray of shape (n, K)
            Probability of each arm.
        """
        X = self._check_X(X)
        K = self.n_actions_
        if not self.bootstrap_policies_:
            return policy_matrix(self._actions(X), K)
        Xp = X[:, self.policy_features_]
        shares = np.zeros((X.shape[0], K))
        for state in self.bootstrap_policies_:
            a = self._apply_cap(self._policy_actions(state, Xp, X), X)
            shares[np.arange(X.shape[0]), a] += 1.0
        shares /= len(self.bootstrap_policies_)
        return self.bts_floor + (1.0 - K * self.bts_floor) * shares

    @dask_dispatch()
    def decision_function(self, X):
        """(n, K) estimated action values mu(x, a) net of ``action_costs`` (plug-in).

        Parameters
        ----------
        X : array-like of shape (n, p)
            Covariates (the columns seen in ``fit``).

        Returns
        -------
        ndarray of shape (n, K)
            Columns in ``actions_`` order.
        """
        X = self._check_X(X)
        return self._net_values(X)

    @dask_dispatch()
    def predict_value(self, X):
        """(n, K - 1) estimated effects of the non-control arms vs control (net of cost).

        Columns follow the non-control arms of ``actions_`` (EconML's ``predict_value``).
        Needs ``control``.

        Parameters
        ----------
        X : array-like of shape (n, p)
            Covariates (the columns seen in ``fit``).

        Returns
        -------
        ndarray of shape (n, K - 1)
            Effects of the treated arms.
        """
        values = self.decision_function(X)
        c = self._require_control("predict_value")
        treated = [k for k in range(self.n_actions_) if k != c]
        return values[:, treated] - values[:, [c]]

    # ----------------------------------------------------------- evaluation
    def _scores_on(self, X, y, treatment, propensity):
        """Validated X and (n, K) DR scores of new labelled rows, net of costs."""
        X = self._check_X(X)
        n = X.shape[0]
        out, treatment, propensity = self._split_target(y, treatment, propensity, n)
        a_idx = self._info(np.zeros(0, np.int64)).encode(treatment)
        if a_idx.shape[0] != n:
            raise ValueError(f"treatment has {a_idx.shape[0]} rows but X has {n}")
        if propensity is None:
            if not hasattr(self, "propensity_model_"):
                raise ValueError(
                    "propensity is required to score: the policy was fitted with known "
                    "design propensities (pass propensity= or a packed y)"
                )
            propensity = _proba_in_order(self.propensity_model_, X, self.n_actions_)
        p_obs, _ = check_propensity(
            propensity, self._info(a_idx), min_propensity=self.min_propensity
        )
        mu = self._predict_outcome(self.outcome_model_, X)
        return X, dr_scores(mu, a_idx, out, p_obs) - self.action_costs_

    def dr_scores(self, X, y, treatment=None, propensity=None):
        """(n, K) DR scores (eq. 19) of new labelled rows with the refit outcome model.

        Honest for rows not used in ``fit``. Net of ``action_costs``.

        Parameters
        ----------
        X : array-like of shape (n, p)
            Covariates.
        y : array-like of shape (n,) or packed 2-D target
            Outcomes.
        treatment : array-like of shape (n,), optional
            Arm labels (or packed in ``y``).
        propensity : scalar, array-like, DataFrame or dict, optional
            Design probabilities, in a form of ``skcrm.utils.check_propensity``.

        Returns
        -------
        ndarray of shape (n, K)
            Scores, columns in ``actions_`` order.
        """
        return self._scores_on(X, y, treatment, propensity)[1]

    def score(self, X, y, treatment=None, propensity=None, sample_weight=None):
        """DR value (eq. 17) of the learned policy on these rows (higher is better).

        With ``score_baseline="control"`` the value minus that of treating no one.

        Parameters
        ----------
        X : array-like of shape (n, p)
            Held-out covariates.
        y : array-like of shape (n,) or packed 2-D target
            Held-out outcomes.
        treatment : array-like of shape (n,), optional
            Arm labels (or packed in ``y``).
        propensity : scalar, array-like, DataFrame or dict, optional
            Design probabilities, as in :meth:`fit`.
        sample_weight : array-like of shape (n,), optional
            Weights of the rows in the mean.

        Returns
        -------
        float
        """
        X, G = self._scores_on(X, y, treatment, propensity)
        psi = G[np.arange(X.shape[0]), self._actions(X)]
        if self.score_baseline == "control":
            psi = psi - G[:, self._require_control("score_baseline='control'")]
        return float(np.average(psi, weights=sample_weight))

    def export_text(self, decimals=3):
        """The policy tree as text rules (a :class:`PolicyTreeClassifier` policy model).

        Parameters
        ----------
        decimals : int, default=3
            Digits of thresholds and values.

        Returns
        -------
        str
            Indented rules with the policy feature names and the arm labels.
        """
        check_is_fitted(self, "dr_scores_")
        model = getattr(self, "policy_model_", None)
        if not hasattr(model, "export_text"):
            raise ValueError("export_text needs a PolicyTreeClassifier as policy_model")
        return model.export_text(
            feature_names=[str(f) for f in self.policy_feature_names_],
            action_names=[str(_label_key(a)) for a in self.actions_],
            decimals=decimals,
        )

    def _effect_scores(self, X, y, treatment, propensity):
        """Predicted effects and DR effect scores of the treated arms vs control (gross).

        On new rows: effects from the refit outcome model, DR scores with it. With ``X``
        None: the training rows' cross-fitted (out-of-fold) mu and DR scores.
        Returns ``(gains (n, K - 1), scores (n, K - 1), treated labels)``.
        """
        check_is_fitted(self, "dr_scores_")
        c = self._require_control("budget_curve")
        treated = np.array([k for k in range(self.n_actions_) if k != c], dtype=np.int64)
        if X is None:
            if y is not None or treatment is not None or propensity is not None:
                raise ValueError("pass X together with y, treatment and propensity")
            mu, G = self.mu_hat_, self.dr_scores_
        else:
            X, G = self._scores_on(X, y, treatment, propensity)
            G = G + self.action_costs_
            mu = self._predict_outcome(self.outcome_model_, X)
        gains = mu[:, treated] - mu[:, [c]]
        scores = G[:, treated] - G[:, [c]]
        return gains, scores, self.actions_[treated]

    def budget_curve(
        self, X=None, y=None, *, treatment=None, propensity=None, budgets=None, costs=None
    ):
        """Value of the best multi-arm policy at every spend budget, with standard errors.

        Customers and arms are prioritised by the outcome model's predicted effects
        mu(x, k) - mu(x, control) and the allocation is the exact LP path of
        :func:`skcrm.policy.budget_curve` (at most one arm per customer, average spend at
        most the budget); its value is measured with DR effect scores
        Gamma_k - Gamma_control, so the curve is honest on held-out rows, or on the training
        rows' out-of-fold scores when ``X`` is None.

        Parameters
        ----------
        X : array-like of shape (n, p), optional
            Held-out covariates; None -> the training rows (cross-fitted mu and scores).
        y : array-like of shape (n,) or packed target, optional
            Held-out outcomes.
        treatment : array-like of shape (n,), optional
            Held-out treatment labels.
        propensity : scalar, array-like or DataFrame, optional
            Held-out design propensities (same forms as in :meth:`fit`).
        budgets : array-like, optional
            Average spend per customer; default 21 points from 0 to the spend of treating
            every customer with a positive predicted gain.
        costs : array-like of shape (K - 1,) or (n, K - 1), dict or None
            Cost of each treated arm (in the order of the treated arms of ``actions_``, or
            ``{label: cost}``); default ``action_costs`` minus the control's cost when
            given, else 1 per treated customer (the budget is then the treated share).

        Returns
        -------
        DataFrame
            Indexed by budget: ``value``, ``std_error``, ``spend`` and one ``share_<arm>``
            per arm (see :func:`skcrm.policy.budget_curve`).
        """
        from ._budget import budget_curve, budget_path

        gains, scores, labels = self._effect_scores(X, y, treatment, propensity)
        m = labels.shape[0]
        if costs is None:
            if self.action_costs is None:
                C = np.ones(m)
            else:
                treated = [k for k in range(self.n_actions_) if k != self.control_index_]
                C = self.action_costs_[treated] - self.action_costs_[self.control_index_]
        elif isinstance(costs, dict):
            keys = {_label_key(k): v for k, v in costs.items()}
            unknown = set(keys) - {_label_key(a) for a in labels}
            if unknown:
                raise ValueError(f"costs names unknown treated arms {sorted(map(str, unknown))}")
            C = np.array([float(keys.get(_label_key(a), np.nan)) for a in labels])
            if np.isnan(C).any():
                raise ValueError(f"costs must give a cost for every treated arm {labels.tolist()}")
        else:
            C = np.asarray(costs, dtype=np.float64)
        if np.any(np.asarray(C) <= 0):
            raise ValueError(
                "budget curves need strictly positive costs of the treated arms; got "
                f"{np.asarray(C).tolist()} (pass costs=)"
            )
        if budgets is None:
            top = budget_path(gains, C)["spend"]
            budgets = np.linspace(0.0, float(top[-1]) if top.size else 1.0, 21)
        return budget_curve(
            gains,
            C,
            budgets,
            scores=scores,
            arm_names=[str(a) for a in labels],
            control_name=str(self.actions_[self.control_index_]),
        )

    def _as_policy_matrix(self, policy, X):
        if hasattr(policy, "predict"):
            policy = policy.predict(X)
        arr = np.asarray(policy)
        if arr.ndim == 2:
            if arr.shape != (X.shape[0], self.n_actions_):
                raise ValueError(
                    f"policy probabilities must have shape {(X.shape[0], self.n_actions_)}"
                )
            return arr.astype(np.float64)
        if arr.ndim == 0:
            arr = np.full(X.shape[0], arr.item())
        if arr.shape[0] != X.shape[0]:
            raise ValueError(f"policy has {arr.shape[0]} actions for {X.shape[0]} rows")
        return policy_matrix(
            self._info(np.zeros(0, np.int64)).encode(arr, param="policy"), self.n_actions_
        )

    def evaluate(
        self,
        X,
        y,
        treatment=None,
        propensity=None,
        *,
        policy=None,
        n_boot=1000,
        alpha=None,
        random_state=None,
    ):
        """DR value of the learned policy with standard error, normal and bootstrap CIs.

        Per-unit contributions psi_i = Gamma_{pi(X_i)}(X_i) (eq. 17) give the value, its
        standard error sd(psi)/sqrt(n) and normal interval; a percentile bootstrap over rows
        (outcome model held fixed, section 3.7) gives the bootstrap interval. The gain over
        treating no one is the paired mean of psi_i - Gamma_control(X_i).

        Parameters
        ----------
        X : array-like of shape (n, p)
            Held-out covariates.
        y : array-like of shape (n,) or packed 2-D target
            Held-out outcomes.
        treatment : array-like of shape (n,), optional
            Arm labels (or packed in ``y``).
        propensity : scalar, array-like, DataFrame or dict, optional
            Design probabilities, as in :meth:`fit`.
        policy : array-like, label, or estimator, optional
            Action labels (n,) or one label, (n, K) probabilities, or an estimator with
            ``predict``.
            A second policy: its value, the paired difference (learned minus it) and the
            share of rows on which both choose the same action are added.
        n_boot : int, default=1000
            Bootstrap draws of the percentile intervals.
        alpha : float, optional
            Defaults to the estimator's ``alpha``.
        random_state : int or None
            Seed of the bootstrap.

        Returns
        -------
        dict
            ``value, se, ci, ci_bootstrap, action_shares, n``; with a ``control``
            ``baseline_value, gain, gain_se, gain_ci, gain_ci_bootstrap``; with ``policy``
            ``policy_value, policy_se, policy_ci, policy_ci_bootstrap, difference,
            difference_se, difference_ci, difference_ci_bootstrap, agreement``.
        """
        alpha = self.alpha if alpha is None else alpha
        X, G = self._scores_on(X, y, treatment, propensity)
        n = X.shape[0]
        actions = self._actions(X)
        psi = G[np.arange(n), actions]
        rng = np.random.default_rng(random_state)
        seed = int(rng.integers(np.iinfo(np.int32).max))

        def summary(values):
            m = float(np.mean(values))
            se = float(np.std(values, ddof=1) / np.sqrt(n))
            return m, se, normal_ci(m, se, alpha), bootstrap_ci(values, alpha, n_boot, seed)

        value, se, ci, ci_b = summary(psi)
        shares = np.bincount(actions, minlength=self.n_actions_) / n
        result = {
            "value": value,
            "se": se,
            "ci": ci,
            "ci_bootstrap": ci_b,
            "action_shares": {
                _label_key(c): float(s) for c, s in zip(self.actions_, shares, strict=True)
            },
            "n": n,
        }
        c = self.control_index_
        if c is not None:
            gain, gain_se, gain_ci, gain_ci_b = summary(psi - G[:, c])
            result.update(
                baseline_value=float(np.mean(G[:, c])),
                gain=gain,
                gain_se=gain_se,
                gain_ci=gain_ci,
                gain_ci_bootstrap=gain_ci_b,
            )
        if policy is not None:
            P = self._as_policy_matrix(policy, X)
            other = np.sum(P * G, axis=1)
            ov, ose, oci, oci_b = summary(other)
            d, dse, dci, dci_b = summary(psi - other)
            result.update(
                policy_value=ov,
                policy_se=ose,
                policy_ci=oci,
                policy_ci_bootstrap=oci_b,
                difference=d,
                difference_se=dse,
                difference_ci=dci,
                difference_ci_bootstrap=dci_b,
                agreement=float(np.mean(P[np.arange(n), actions])),
            )
        return result

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags
