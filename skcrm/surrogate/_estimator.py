"""The scikit-learn shell of the surrogate index (Definition 3, eq. 4)."""

from __future__ import annotations

import numbers

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context, clone
from sklearn.model_selection import check_cv
from sklearn.utils import check_random_state, get_tags
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from skcrm.utils import check_treatment, progress
from skcrm.utils import warn as _warn

from ..utils._dask import dask_dispatch
from ._core import outside_support_fraction, r2_score_1d, support_bounds

__all__ = ["SurrogateIndexTransformer"]

_TREATMENT_WORDS = ("treatment", "treatments", "action", "actions", "a", "w", "arm")


def _reject_treatment(method: str, kwargs: dict) -> None:
    """The index never sees the treatment: refuse it loudly, and any other extra."""
    if not kwargs:
        return
    names = sorted(kwargs)
    if any(name.lower() in _TREATMENT_WORDS for name in names):
        raise TypeError(
            f"SurrogateIndexTransformer.{method} got {names}: the surrogate index is "
            "E_H[Y | S, X], learned on historical data that records no treatment (Definition 3 "
            "of Yang et al.); under surrogacy E[Y | S, X, A] = E[Y | S, X], so the treatment is "
            "never an input. Pass the treatment to surrogate_ate or DRPolicyClassifier instead."
        )
    raise TypeError(f"SurrogateIndexTransformer.{method} got unexpected argument(s) {names}")


def _default_regressor(estimator, random_state):
    """The regressor the index clones: HGB by default, XGBoost by name (paper fn. 7)."""
    if estimator is None:
        from sklearn.ensemble import HistGradientBoostingRegressor

        return HistGradientBoostingRegressor(random_state=random_state)
    if isinstance(estimator, str):  # only "xgboost" passes parameter validation
        try:
            from xgboost import XGBRegressor
        except ImportError as exc:  # pragma: no cover - xgboost is a dependency
            raise ImportError("estimator='xgboost' needs the xgboost package") from exc
        seed = check_random_state(random_state).randint(0, 2**31 - 1)
        seed = random_state if isinstance(random_state, numbers.Integral) else seed
        return XGBRegressor(random_state=int(seed), n_jobs=1)
    return clone(estimator)


class SurrogateIndexTransformer(TransformerMixin, BaseEstimator):
    """Surrogate index: the long-term outcome imputed from short-term surrogates.

    Learns ``g(s, x) = E_H[Y | S = s, X = x]`` on historical data ``H`` in which the
    long-term outcome ``Y`` is observed (Definition 3, eq. 4 of Yang et al.), and maps
    experimental units, whose ``Y`` is not yet observed, to the imputed outcome
    ``Y~_i = g(S_i, X_i)``. Under surrogacy (Assumption 2) and comparability (Assumption 3)
    treatment effects and policy values computed on ``Y~`` equal those on ``Y``
    (Propositions 1-2). The treatment is never an input: the historical data record none.

    Parameters
    ----------
    estimator : regressor, "xgboost" or None, default=None
        The regressor of ``Y`` on the surrogates (and covariates). ``None`` is
        ``HistGradientBoostingRegressor(random_state=random_state)``; ``"xgboost"`` is
        ``xgboost.XGBRegressor`` (the paper's footnote 7). Any scikit-learn regressor or
        pipeline works; it is cloned, never modified.
    surrogate_cols : list of int or str, default=None
        Columns of ``X`` holding the surrogates ``S`` (positions, or names for a
        DataFrame). ``None``: every column not in ``covariate_cols``.
    covariate_cols : list of int or str, default=None
        Columns holding pre-treatment covariates ``X``. ``None``: every column that is not
        a surrogate (none when ``surrogate_cols`` and ``horizons`` are both ``None``).
    include_covariates : bool, default=True
        Whether the index conditions on the covariates (Definition 3). ``False`` gives the
        pure-surrogate index ``E[Y | S]`` of Athey et al. (2019).
    horizons : dict of str to list, default=None
        One index per horizon: ``{name: surrogate columns}``, e.g. the surrogates accumulated
        over the first ``m`` months (the paper's Fig. 3). ``transform`` then returns one
        column per horizon, in the dict's order. Each horizon's index uses its own
        surrogates plus the covariates.
    cv : int, cross-validation generator or None, default=None
        With a value, ``fit`` also computes out-of-fold predictions on the historical data
        (``oof_predictions_``, ``oof_r2_`` = the R2 of eqs. 31-32) and ``fit_transform``
        returns them instead of in-sample predictions. An int means
        ``KFold(cv, shuffle=True, random_state=random_state)``.
    n_bootstrap : int, default=0
        Number of bootstrap replicates of the index: ``fit`` also refits the regressor on
        ``n_bootstrap`` resamples (with replacement) of the historical rows, and
        :meth:`predict_bootstrap` returns their imputations. Pass those to
        :func:`surrogate_ate` (``index_draws=``) so that its intervals include the
        uncertainty of the fitted index, not only the experiment's sampling noise.
    n_jobs : int, default=None
        Parallel jobs (joblib) over horizons, cross-validation folds and bootstrap
        replicates.
    verbose : int, default=0
        Show a progress bar over the bootstrap (and cross-validation) fits when > 0.
    random_state : int, RandomState instance or None, default=None
        Seeds the default regressor, the folds of ``cv`` and the bootstrap resamples.

    Attributes
    ----------
    estimator_ : regressor
        The fitted index (first horizon when ``horizons`` is set).
    estimators_ : dict of str to regressor
        The fitted index of every horizon (``{"surrogate_index": estimator_}`` without
        horizons).
    horizon_names_ : list of str
        Horizon names in output order.
    surrogate_idx_ : list of int
        Positions of all surrogate columns in ``X``.
    covariate_idx_ : list of int
        Positions of the covariate columns (empty if ``include_covariates=False``).
    columns_ : dict of str to ndarray of int
        Positions of the columns each horizon's regressor reads.
    oof_predictions_ : ndarray of shape (n_samples, n_horizons)
        Out-of-fold predictions on the training rows (only with ``cv``).
    oof_r2_ : float or dict of str to float
        Out-of-fold R2 (per horizon with ``horizons``; only with ``cv``).
    bootstrap_estimators_ : dict of str to list of regressor
        The ``n_bootstrap`` refits of every horizon's index on resampled historical rows
        (only with ``n_bootstrap > 0``).
    support_bounds_ : ndarray of shape (2, n_surrogates)
        The 0.5% and 99.5% historical quantiles of each surrogate (for ``support_check``).
    y_mean_, y_std_ : float
        Mean and standard deviation of the historical outcome.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Defined when ``X`` is a DataFrame with string column names.

    See Also
    --------
    surrogate_ate : treatment effects on the imputed outcome.
    athey_bias_bound : how large the bias can be when surrogacy fails (eqs. 31-32).

    References
    ----------
    .. [1] Yang, J., Eckles, D., Dhillon, P., & Aral, S. Targeting for long-term outcomes.
       Management Science (manuscript MS-MKG-20-03054), Definition 3 and Section 4.
    .. [2] Athey, S., Chetty, R., Imbens, G., & Kang, H. (2019). The surrogate index:
       combining short-term proxies to estimate long-term treatment effects more rapidly
       and precisely. NBER Working Paper 26463.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> rng = np.random.default_rng(0)
    >>> S = rng.normal(size=(500, 2))
    >>> y = 2 * S[:, 0] - S[:, 1] + rng.normal(scale=0.1, size=500)
    >>> si = SurrogateIndexTransformer(LinearRegression(), cv=5).fit(S, y)
    >>> si.transform(S[:2]).shape, round(si.oof_r2_, 2)
    ((2, 1), 1.0)
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict"]), StrOptions({"xgboost"}), None],
        "surrogate_cols": ["array-like", None],
        "covariate_cols": ["array-like", None],
        "include_covariates": ["boolean"],
        "horizons": [dict, None],
        "cv": ["cv_object", None],
        "n_bootstrap": [Interval(numbers.Integral, 0, None, closed="left")],
        "n_jobs": [Interval(numbers.Integral, None, None, closed="neither"), None],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        estimator=None,
        *,
        surrogate_cols=None,
        covariate_cols=None,
        include_covariates=True,
        horizons=None,
        cv=None,
        n_bootstrap=0,
        n_jobs=None,
        verbose=0,
        random_state=None,
    ):
        self.estimator = estimator
        self.surrogate_cols = surrogate_cols
        self.covariate_cols = covariate_cols
        self.include_covariates = include_covariates
        self.horizons = horizons
        self.cv = cv
        self.n_bootstrap = n_bootstrap
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.random_state = random_state

    # ------------------------------------------------------------------ columns
    def _resolve(self, cols, names, n_features, what):
        """Column positions of ``cols`` (names need a DataFrame; ints are positions)."""
        out = []
        for c in cols:
            if isinstance(c, numbers.Integral) and not isinstance(c, bool):
                if not -n_features <= c < n_features:
                    raise ValueError(
                        f"{what} names column position {c}, but X has {n_features} columns"
                    )
                out.append(int(c) % n_features)
            elif isinstance(c, str):
                if names is None:
                    raise ValueError(
                        f"{what} names column {c!r} but X has no column names; pass a "
                        "DataFrame or use column positions"
                    )
                if c not in names:
                    raise ValueError(
                        f"{what} names column {c!r}, which X does not have; X has {names}"
                    )
                out.append(names.index(c))
            else:
                raise TypeError(f"{what} must list column names or positions, got {c!r}")
        return out

    def _columns(self, names, n_features):
        """Surrogate/covariate positions and the columns each horizon's regressor reads."""
        if self.horizons is not None:
            if len(self.horizons) == 0:
                raise ValueError("horizons must name at least one horizon, got {}")
            horizon_sur = {}
            for h, cols in self.horizons.items():
                if not isinstance(h, str):
                    raise TypeError(f"horizon names must be strings, got {h!r}")
                if isinstance(cols, str | numbers.Integral):
                    cols = [cols]
                idx = self._resolve(list(cols), names, n_features, f"horizons[{h!r}]")
                if not idx:
                    raise ValueError(f"horizons[{h!r}] lists no surrogate column")
                horizon_sur[h] = idx
        if self.surrogate_cols is not None:
            sur = self._resolve(list(self.surrogate_cols), names, n_features, "surrogate_cols")
        elif self.horizons is not None:
            sur = sorted({i for idx in horizon_sur.values() for i in idx})
        else:
            sur = None
        if self.covariate_cols is not None:
            cov = self._resolve(list(self.covariate_cols), names, n_features, "covariate_cols")
        elif sur is None:
            cov = []
        else:
            cov = [j for j in range(n_features) if j not in set(sur)]
        if sur is None:
            sur = [j for j in range(n_features) if j not in set(cov)]
        if self.horizons is not None:
            loose = sorted({i for idx in horizon_sur.values() for i in idx} - set(sur))
            if loose:
                raise ValueError(f"horizons use column(s) {loose} that are not in surrogate_cols")
        overlap = sorted(set(sur) & set(cov))
        if overlap:
            raise ValueError(f"column(s) {overlap} are both surrogates and covariates")
        if not sur:
            raise ValueError("the surrogate index needs at least one surrogate column")
        used_cov = cov if self.include_covariates else []
        if self.horizons is None:
            horizon_sur = {"surrogate_index": sur}
        columns = {h: np.asarray(used_cov + idx, dtype=np.intp) for h, idx in horizon_sur.items()}
        return sur, used_cov, columns

    @staticmethod
    def _names(X):
        cols = getattr(X, "columns", None)
        if cols is None:
            return None
        return [str(c) if not isinstance(c, str) else c for c in cols]

    # ------------------------------------------------------------------ fitting
    def _check_y(self, y):
        if y is None:
            raise ValueError(
                "SurrogateIndexTransformer requires y to be passed, but the target y is None: "
                "y is the long-term outcome observed in the historical data"
            )
        try:
            arr = np.asarray(y)
            if arr.dtype.kind == "c":
                return  # validate_data reports complex targets
            arr = arr.astype(np.float64)
        except (TypeError, ValueError):
            return  # validate_data reports non-numeric targets
        bad = ~np.isfinite(arr)
        if bad.any():
            rows = np.flatnonzero(bad.ravel())[:5].tolist()
            raise ValueError(
                f"y (the long-term outcome) has {int(bad.sum())} non-finite value(s) (NaN or "
                f"inf), e.g. at rows {rows}; the surrogate index is learned only from units "
                "whose long-term outcome is observed: drop those rows"
            )

    def _validate(self, X, y, reset):
        allow_nan = get_tags(_default_regressor(self.estimator, None)).input_tags.allow_nan
        finite = "allow-nan" if allow_nan else True
        if y is None:  # transform: X only
            return validate_data(self, X, reset=reset, ensure_all_finite=finite, dtype=np.float64)
        return validate_data(
            self, X, y, reset=reset, y_numeric=True, ensure_all_finite=finite, dtype=np.float64
        )

    def _fit_one(self, X, y, columns):
        est = _default_regressor(self.estimator, self.random_state)
        return est.fit(X[:, columns], y)

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, **kwargs):
        """Learn the index on historical data.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Historical surrogates and covariates.
        y : array-like of shape (n_samples,)
            The long-term outcome, observed in the historical data.
        **kwargs
            Refused: in particular a treatment, which the index never uses.

        Returns
        -------
        self
        """
        self._fit(X, y, kwargs)
        return self

    def _fit(self, X, y, kwargs, method="fit"):
        _reject_treatment(method, kwargs)
        self._check_y(y)
        names = self._names(X)
        X, y = self._validate(X, y, reset=True)
        if y.ndim != 1:
            raise ValueError(f"y must be one long-term outcome (1-D), got shape {y.shape}")
        sur, cov, columns = self._columns(names, X.shape[1])
        self.surrogate_idx_ = sur
        self.covariate_idx_ = cov
        self.columns_ = columns
        self.horizon_names_ = list(columns)
        parallel = Parallel(n_jobs=self.n_jobs)
        fitted = parallel(delayed(self._fit_one)(X, y, c) for c in columns.values())
        self.estimators_ = dict(zip(columns, fitted, strict=True))
        self.estimator_ = fitted[0]
        self.support_bounds_ = support_bounds(X[:, sur], (0.005, 0.995))
        self.y_mean_ = float(np.mean(y))
        self.y_std_ = float(np.std(y))
        if self.cv is not None:
            self._fit_oof(X, y)
        if self.n_bootstrap:
            self._fit_bootstrap(X, y)
        elif hasattr(self, "bootstrap_estimators_"):
            del self.bootstrap_estimators_
        return X

    def _fit_resampled(self, X, y, columns, seed):
        rows = np.random.default_rng(seed).integers(0, X.shape[0], X.shape[0])
        return self._fit_one(X[rows], y[rows], columns)

    def _fit_bootstrap(self, X, y):
        """Refit every horizon's index on ``n_bootstrap`` resamples of the historical rows."""
        rng = check_random_state(self.random_state)
        seeds = rng.randint(0, 2**31 - 1, size=self.n_bootstrap)
        tasks = [(h, s) for s in seeds for h in self.columns_]
        fits = Parallel(n_jobs=self.n_jobs, return_as="generator")(
            delayed(self._fit_resampled)(X, y, self.columns_[h], s) for h, s in tasks
        )
        desc = "bootstrap of the surrogate index"
        fits = progress(fits, self.verbose, desc=desc, total=len(tasks))
        out = {h: [] for h in self.columns_}
        for (h, _), est in zip(tasks, fits, strict=True):
            out[h].append(est)
        self.bootstrap_estimators_ = out

    def _fit_oof(self, X, y):
        cv = self.cv
        if isinstance(cv, numbers.Integral):
            from sklearn.model_selection import KFold

            cv = KFold(cv, shuffle=True, random_state=self.random_state)
        cv = check_cv(cv, y, classifier=False)
        folds = list(cv.split(X, y))
        tasks = [(h, train, test) for h in self.columns_ for train, test in folds]
        fits = Parallel(n_jobs=self.n_jobs, return_as="generator")(
            delayed(self._fit_one)(X[train], y[train], self.columns_[h]) for h, train, _ in tasks
        )
        fits = progress(fits, self.verbose, desc="out-of-fold index fits", total=len(tasks))
        oof = np.full((X.shape[0], len(self.columns_)), np.nan)
        col = {h: k for k, h in enumerate(self.columns_)}
        for (h, _, test), est in zip(tasks, fits, strict=True):
            oof[test, col[h]] = est.predict(X[test][:, self.columns_[h]])
        if np.isnan(oof).any():
            raise ValueError("cv must put every training row in exactly one test fold")
        self.oof_predictions_ = oof
        r2 = {h: r2_score_1d(y, oof[:, k]) for h, k in col.items()}
        self.oof_r2_ = r2["surrogate_index"] if self.horizons is None else r2

    def fit_transform(self, X, y=None, **kwargs):
        """Fit, then impute the training rows: out-of-fold when ``cv`` is set.

        With ``cv`` this differs from ``fit(X, y).transform(X)`` on purpose (like
        :class:`~sklearn.preprocessing.TargetEncoder`): each row is imputed by an index
        that did not see it, so in-sample overfit does not leak into validation studies.
        With ``cv=None`` it equals ``fit(X, y).transform(X)``.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Historical surrogates and covariates.
        y : array-like of shape (n_samples,)
            The long-term outcome, observed in the historical data.
        **kwargs
            Refused: in particular a treatment, which the index never uses.

        Returns
        -------
        ndarray of shape (n_samples, n_horizons)
            Imputed long-term outcome of the training rows.
        """
        return self._fit_transform(X, y, kwargs)

    @_fit_context(prefer_skip_nested_validation=False)
    def _fit_transform(self, X, y, kwargs):
        Xv = self._fit(X, y, kwargs, method="fit_transform")
        if self.cv is not None:
            return self.oof_predictions_.copy()
        return self._predict_all(Xv)

    # ------------------------------------------------------------------ prediction
    def _check_transform_input(self, X):
        check_is_fitted(self)
        names = self._names(X)
        seen = getattr(self, "feature_names_in_", None)
        if names is not None and seen is not None:
            needed = [seen[j] for j in sorted({int(i) for c in self.columns_.values() for i in c})]
            missing = [c for c in needed if c not in names]
            if missing:
                raise ValueError(
                    f"X is missing column(s) {missing} that the surrogate index was fitted on "
                    f"(surrogates and covariates); X has {names}"
                )
            if names != list(seen) and set(seen) <= set(names):
                # columns are matched by name: a reordered DataFrame gives the same answer
                X = X.loc[:, [X.columns[names.index(c)] for c in seen]]
        return self._validate(X, None, reset=False)

    def _predict_all(self, X):
        # threads: tree predictions release the GIL, and X is not copied to workers
        preds = Parallel(n_jobs=self.n_jobs if len(self.columns_) > 1 else None, prefer="threads")(
            delayed(self.estimators_[h].predict)(X[:, cols]) for h, cols in self.columns_.items()
        )
        return np.column_stack(preds).astype(np.float64, copy=False)

    @dask_dispatch()
    def transform(self, X):
        """Impute the long-term outcome ``Y~ = g(S, X)`` (eq. 4) for each row.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Surrogates and covariates, laid out as in ``fit``.

        Returns
        -------
        ndarray of shape (n_samples, n_horizons)
            One column per horizon (a single column without ``horizons``).
        """
        return self._predict_all(self._check_transform_input(X))

    @dask_dispatch()
    def predict(self, X, horizon=None):
        """Imputed long-term outcome of one horizon as a 1-D array.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Surrogates and covariates, laid out as in ``fit``.
        horizon : str, default=None
            Which horizon (default: the first).

        Returns
        -------
        ndarray of shape (n_samples,)
            The imputed long-term outcome.
        """
        Xv = self._check_transform_input(X)
        h = self.horizon_names_[0] if horizon is None else horizon
        if h not in self.columns_:
            raise ValueError(f"unknown horizon {h!r}; fitted horizons are {self.horizon_names_}")
        return self.estimators_[h].predict(Xv[:, self.columns_[h]])

    @dask_dispatch()
    def predict_bootstrap(self, X, horizon=None):
        """Imputed long-term outcome under each bootstrap replicate of the index.

        Column ``b`` is ``g*_b(S, X)``, the index refitted on the ``b``-th resample of the
        historical rows. The spread across columns is the index's estimation uncertainty;
        pass the matrix to :func:`surrogate_ate` as ``index_draws``.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Surrogates and covariates, laid out as in ``fit``.
        horizon : str, default=None
            Which horizon (default: the first).

        Returns
        -------
        ndarray of shape (n_samples, n_bootstrap)
        """
        check_is_fitted(self)
        if not hasattr(self, "bootstrap_estimators_"):
            raise ValueError(
                "predict_bootstrap needs bootstrap replicates of the index: fit with "
                "n_bootstrap > 0 (e.g. SurrogateIndexTransformer(n_bootstrap=200))"
            )
        Xv = self._check_transform_input(X)
        h = self.horizon_names_[0] if horizon is None else horizon
        if h not in self.columns_:
            raise ValueError(f"unknown horizon {h!r}; fitted horizons are {self.horizon_names_}")
        Xh = Xv[:, self.columns_[h]]
        preds = Parallel(n_jobs=self.n_jobs, prefer="threads")(
            delayed(est.predict)(Xh) for est in self.bootstrap_estimators_[h]
        )
        return np.column_stack(preds).astype(np.float64, copy=False)

    def score(self, X, y):
        """R2 of the (first horizon's) index on labelled data, e.g. held-out history.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Surrogates and covariates, laid out as in ``fit``.
        y : array-like of shape (n_samples,)
            The observed long-term outcome.

        Returns
        -------
        float
            Coefficient of determination.
        """
        self._check_y(y)
        pred = self.predict(X)
        y = np.asarray(y, dtype=np.float64)
        return r2_score_1d(y, pred)

    def get_feature_names_out(self, input_features=None):
        """``["surrogate_index"]``, or ``["surrogate_index_<horizon>", ...]``.

        Parameters
        ----------
        input_features : array-like of str, default=None
            Ignored (the output names do not depend on the input names).

        Returns
        -------
        ndarray of str
            One name per output column.
        """
        check_is_fitted(self)
        if self.horizons is None:
            return np.asarray(["surrogate_index"], dtype=object)
        return np.asarray([f"surrogate_index_{h}" for h in self.horizon_names_], dtype=object)

    # ------------------------------------------------------------------ diagnostics
    def support_check(self, X, treatment=None, *, support_tol=0.10, warn=True):
        """Share of experimental surrogate values outside the historical range.

        A tree-based index cannot extrapolate: where an intervention pushes a surrogate
        outside what the historical data cover (e.g. a deep discount lowering short-term
        revenue below anything seen before), the imputed outcome is clamped and treatment
        effects are biased. This reports, per surrogate (and per arm when ``treatment`` is
        given), the fraction of rows of ``X`` outside the historical [0.5%, 99.5%] quantile
        range (nominally about 1%).

        Parameters
        ----------
        X : array-like or DataFrame
            Experimental rows, laid out as in ``fit``.
        treatment : array-like of shape (n_samples,), default=None
            Arm of each row (discrete labels); only used to split the report by arm.
        support_tol : float, default=0.10
            A ``UserWarning`` names every (arm, surrogate) above this fraction.
        warn : bool, default=True
            Whether to issue the ``UserWarning`` (the table is returned either way).

        Returns
        -------
        pandas.DataFrame
            Rows: ``"all"`` or one per arm; columns: surrogate names; values: fractions.
        """
        import pandas as pd

        Xv = self._check_transform_input(X)
        S = Xv[:, self.surrogate_idx_]
        if hasattr(self, "feature_names_in_"):
            names = [str(self.feature_names_in_[j]) for j in self.surrogate_idx_]
        else:
            names = [f"x{j}" for j in self.surrogate_idx_]
        bounds = self.support_bounds_
        if treatment is None:
            groups = {"all": np.ones(len(S), dtype=bool)}
        else:
            info = check_treatment(treatment, n_samples=len(S), min_arms=1)
            groups = {a.item(): info.codes == k for k, a in enumerate(info.actions)}
        rows = {}
        for a, mask in groups.items():
            rows[a] = outside_support_fraction(S[mask], bounds)
        table = pd.DataFrame.from_dict(rows, orient="index", columns=names)
        table.index.name = "arm" if treatment is not None else None
        flagged = [
            (a, c, v) for a in table.index for c, v in table.loc[a].items() if v > support_tol
        ]
        if flagged and warn:
            detail = ", ".join(f"arm {a!r}: {c} {v:.0%}" for a, c, v in flagged)
            _warn(
                f"experimental surrogates outside the historical [0.5%, 99.5%] range more often "
                f"than support_tol={support_tol:.0%} ({detail}); a tree-based index cannot "
                "extrapolate there and effects on those arms may be biased. Consider historical "
                "data with similar interventions or a parametric index."
            )
        return table

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        try:
            probe = _default_regressor(self.estimator, None)
            tags.input_tags.allow_nan = get_tags(probe).input_tags.allow_nan
        except ImportError:  # pragma: no cover
            pass
        return tags
