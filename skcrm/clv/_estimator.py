"""The sklearn shell of the attribute BG/NBD (Braun, Schweidel & Stein 2015)."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.base import BaseEstimator, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_array, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import (
    _check_feature_names,
    _check_n_features,
    check_is_fitted,
    validate_data,
)

from ..utils import check_columns, progress
from ..utils._dask import as_dask_frame, dask_dispatch
from . import _likelihood as lik
from ._data import prepare_long, prepare_rfm, unit_days
from ._features import dynamic_term_list
from ._solver import (
    cumulative_multipliers,
    fit_mle,
    hessian,
    is_sharded,
    total_log_likelihood,
    total_weight,
)
from ._uncertainty import interval_frame, normal_draws, with_theta
from ._warn import warn

__all__ = ["AttributeBGNBD", "annual_to_weekly"]

# prior scales of method="nuts" / "map": Normal(0, 1.5) on the log-parameters (rescaled time
# axis), Normal(0, 1) on the coefficients
_PRIOR_SCALE_LOG = 1.5
# above this many customers, fit a subsample first and use forward-difference Hessians
_WARM_START_SIZE = 200_000
# the warm start fits every k-th customer, about _WARM_START_SIZE / _SUB_DIV of them
_SUB_DIV = 8
# future jobs simulated per path; beyond them a path continues with its own mean multiplier
_MAX_SIMULATED_JOBS = 128
# paths (the first ones drawn, so still an unbiased average) that continue past those jobs
_TAIL_PATHS = 16


def _log_customer_col(est, meta):
    """The customer column of a Dask transaction log, None for a per-customer RFM table."""
    return est.customer_col if est._tcol(meta) in meta.columns else None


def annual_to_weekly(rate):
    """Weekly discount rate equivalent to an annual one: ``(1 + rate)**(1/52) - 1``.

    Parameters
    ----------
    rate : float
        Annual discount rate.

    Returns
    -------
    float
        Weekly rate.

    Examples
    --------
    >>> round(annual_to_weekly(0.10), 6)
    0.001835
    """
    return (1.0 + rate) ** (1.0 / 52.0) - 1.0


class AttributeBGNBD(BaseEstimator):
    """BG/NBD customer base whose dropout after each transaction depends on its attributes.

    Purchases arrive at rate lambda ~ Gamma(r, rate alpha) while a customer is active; after
    job k (the first included) the customer leaves with ``p_k = 1 - exp(-theta q_k)``,
    ``theta ~ Gamma(s, rate b)``, ``ln q_k = coef' z_k`` (Braun, Schweidel & Stein 2015, Eqs.
    1-3). The marginal likelihood is closed form and is maximised with scipy's L-BFGS-B and
    exact analytic gradients. Two switches nest the classics exactly: ``dropout_mixing="beta"``
    with ``dropout_after_first=False`` is the BG/NBD of Fader, Hardie & Lee (2005), with
    ``dropout_after_first=True`` the MBG/NBD.

    Parameters
    ----------
    customer_col : str, default="customer_id"
        Customer id column of the long transaction log (one row per transaction).
    time_col : str, optional
        Time column of the log: numbers in model units or datetimes (converted with
        ``time_unit`` from ``origin``). Default: ``"t"``, or ``"date"`` when the log has no
        ``"t"`` column (so ``fit(load_cdnow("master"))`` works as printed).
    attribute_cols : list of str, optional
        Numeric transaction attributes z_k (already encoded; no constant column).
    rfm_cols : tuple of str, default=("frequency", "recency", "T")
        Columns of a per-customer summary (lifetimes conventions) for the classic model.
    observation_end : float or date-like, optional
        End of the observation period T (default: the last transaction in ``fit``).
    drop_after_observation_end : bool, default=False
        Drop (with a warning) instead of rejecting rows after ``observation_end``.
    time_unit : str, default="W"
        Model time unit of datetime columns: any pandas time unit ("W", "D", "h", "min",
        ...) or "M", "Q", "Y" (mean Gregorian month, quarter, year).
    origin : float or date-like, optional
        Time zero (default: the earliest datetime in ``fit``).
    first_transaction_effect : bool, default=False
        Add the paper's first-job indicator ``"first"`` to the design.
    dynamic_cols : list of str, optional
        0/1 attribute columns whose coefficient evolves with experience (Eqs. 8-9).
    dynamic_terms : "full", "none" or list of (from, to), default="full"
        Evolution terms; ``from`` is a dynamic column or ``"drift"``.
    dropout_mixing : {"gamma", "beta"}, default="gamma"
        Heterogeneity of dropout: the paper's gamma on theta, or a beta on p (BG/NBD).
    dropout_after_first : bool, default=True
        Churn is possible right after the first purchase (paper); False gives BG/NBD timing.
    posterior_indexing : {"exact", "paper"}, default="exact"
        ``"exact"`` corrects Eqs. 6-7, which count one churn draw too many (``"paper"``).
    horizon : float, default=52.0
        Forecast length used by :meth:`predict`, in model time units.
    future_attributes : {"carry_last", "reference", "mean_q", "bootstrap"}, dict or callable, \
default="carry_last"
        Future jobs repeat the last job's attributes, take all attributes 0 (except
        ``static_cols``), or use the mean multiplier of the fit data's repeat jobs (the paper's
        E(B_k) heuristic); a dict ``{column: value}`` overrides those columns of the
        carried-forward attributes (e.g. future jobs delivered "as requested").
        Simulation (Monte Carlo): ``"bootstrap"`` draws ``n_future_sims`` paths whose jobs
        resample the customer's own past non-first attribute vectors (the population's for a
        customer without repeat jobs); a callable ``sampler(history_df, n_future, rng)``
        returns paths of shape ``(n_paths, n_future, n_attr)`` (the same paths for every
        customer) or ``(n_customers, n_paths, n_future, n_attr)`` (customers in the order of
        the output), columns in ``attribute_cols`` order. Expectations and DERT then average
        over the paths; evolving-coefficient features are recomputed along each path, and
        beyond the ``n_future`` simulated jobs (at most 128) a path continues with its own
        mean multiplier (averaged over the first 16 paths only, an unbiased and cheaper
        estimate of that tail). With ``"bootstrap"`` (no dynamic or static columns, gamma
        dropout mixing), customers who resample the population's jobs are dealt into 32
        groups that share their draws (common random numbers): each customer's estimate is
        as before, its error is correlated with those of its group.
    n_future_sims : int, default=0
        Number of paths of ``future_attributes="bootstrap"`` (0 = no simulation; the paths of
        a callable sampler are the ones it returns).
    static_cols : list of str, optional
        Customer-level attribute columns carried unchanged (last observed value) into every
        future job, under every scenario except ``"mean_q"``.
    penalizer : float, default=0.0
        L2 penalty on the coefficients and the log-parameters (per customer).
    initial_params : dict, optional
        Starting values on the natural scale, e.g. ``{"r": 1, "alpha": 1, "s": 1, "b": 1}``.
    max_iter : int, default=1000
        Maximum L-BFGS-B iterations.
    tol : float, default=1e-8
        Gradient tolerance of L-BFGS-B (projected gradient, on the rescaled problem).
    method : {"mle", "map", "nuts"}, default="mle"
        Maximum likelihood; ``"map"``: the posterior mode under the priors below (covariance
        from the Hessian of the log-posterior, a Laplace approximation); ``"nuts"``: in
        addition a Bayesian posterior by numpyro's NUTS sampler started at the MLE (our
        extension; priors Normal(0, 1.5) on the log-parameters on the rescaled time axis and
        Normal(0, 1) on the coefficients). With ``"nuts"`` the fitted parameters are the
        posterior means, the standard errors the posterior standard deviations,
        ``posterior_samples_`` holds the draws, and the per-customer predictions
        (``probability_alive``, ``conditional_expected_transactions``, ``dert``) average
        over up to ``n_posterior_samples`` posterior draws instead of plugging in the means.
    num_warmup, num_samples, num_chains : int, default=500, 1000, 1
        NUTS settings (``method="nuts"``).
    n_posterior_samples : int, default=200
        Posterior draws (evenly spaced) that ``method="nuts"`` predictions average over.
    n_jobs : int, optional
        Threads for the per-customer chunks of the exact E[X(t)] quadrature and of DERT
        (``None``: one; ``-1``: all cores).
    random_state : int, RandomState or None
        Seeds the NUTS sampler and the simulated future paths; maximum likelihood is
        deterministic.
    verbose : int, default=0
        Print optimiser progress.

    Attributes
    ----------
    params_ : pandas.Series
        r, alpha and the dropout parameters (s, b) or (a, b).
    coef_ : pandas.Series
        Coefficients of the design columns ``design_feature_names_``.
    covariance_ : pandas.DataFrame
        Inverse Hessian on the natural scale (delta method).
    standard_errors_ : pandas.Series
    log_likelihood_ : float
    aic_, bic_ : float
    n_customers_, n_transactions_ : int
    observation_end_, origin_ : float or Timestamp
    converged_ : bool
    n_iter_ : int
    design_feature_names_ : list of str
        Names of the columns of the churn design (attributes, ``"first"``, evolution terms),
        in the order of ``coef_``.
    mean_repeat_q_ : float
        Mean churn multiplier of the fit data's repeat jobs (``future_attributes="mean_q"``).
    optimizer_message_ : str
        The optimiser's final message.
    posterior_samples_ : dict of ndarray
        Posterior draws by parameter name (``method="nuts"`` only).
    input_form_ : {"long", "rfm"}
    n_features_in_ : int
    feature_names_in_ : ndarray of str

    References
    ----------
    Braun, M., Schweidel, D. A., & Stein, E. (2015). Transaction attributes and customer
    valuation. Journal of Marketing Research, 52(6), 848-864.
    Fader, P. S., Hardie, B. G. S., & Lee, K. L. (2005). "Counting your customers" the easy
    way. Marketing Science, 24(2), 275-284.

    Examples
    --------
    >>> from skcrm.clv import AttributeBGNBD
    >>> from skcrm.datasets import load_cdnow
    >>> bg = AttributeBGNBD(dropout_mixing="beta", dropout_after_first=False)
    >>> bg = bg.fit(load_cdnow("summary"))
    >>> bg.params_.round(4).to_dict()
    {'r': 0.2426, 'alpha': 4.4135, 'a': 0.7929, 'b': 2.4258}
    >>> round(bg.log_likelihood_, 2)
    -9582.43
    """

    _parameter_constraints: dict = {
        "customer_col": [str],
        "time_col": [str, None],
        "attribute_cols": [list, tuple, None],
        "rfm_cols": [list, tuple],
        "observation_end": [Real, str, pd.Timestamp, np.datetime64, None],
        "drop_after_observation_end": ["boolean"],
        "time_unit": [str],
        "origin": [Real, str, pd.Timestamp, np.datetime64, None],
        "first_transaction_effect": ["boolean"],
        "dynamic_cols": [list, tuple, None],
        "dynamic_terms": [StrOptions({"full", "none"}), list, tuple],
        "dropout_mixing": [StrOptions({"gamma", "beta"})],
        "dropout_after_first": ["boolean"],
        "posterior_indexing": [StrOptions({"exact", "paper"})],
        "horizon": [Interval(Real, 0, None, closed="neither")],
        "future_attributes": [
            StrOptions({"carry_last", "reference", "mean_q", "bootstrap"}),
            dict,
            callable,
        ],
        "n_future_sims": [Interval(Integral, 0, None, closed="left")],
        "static_cols": [list, tuple, None],
        "penalizer": [Interval(Real, 0, None, closed="left")],
        "initial_params": [dict, None],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="neither")],
        "method": [StrOptions({"mle", "map", "nuts"})],
        "num_warmup": [Interval(Integral, 1, None, closed="left")],
        "num_samples": [Interval(Integral, 1, None, closed="left")],
        "num_chains": [Interval(Integral, 1, None, closed="left")],
        "n_posterior_samples": [Interval(Integral, 1, None, closed="left")],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        customer_col="customer_id",
        time_col=None,
        attribute_cols=None,
        rfm_cols=("frequency", "recency", "T"),
        observation_end=None,
        drop_after_observation_end=False,
        time_unit="W",
        origin=None,
        first_transaction_effect=False,
        dynamic_cols=None,
        dynamic_terms="full",
        dropout_mixing="gamma",
        dropout_after_first=True,
        posterior_indexing="exact",
        horizon=52.0,
        future_attributes="carry_last",
        n_future_sims=0,
        static_cols=None,
        penalizer=0.0,
        initial_params=None,
        max_iter=1000,
        tol=1e-8,
        method="mle",
        num_warmup=500,
        num_samples=1000,
        num_chains=1,
        n_posterior_samples=200,
        n_jobs=None,
        random_state=None,
        verbose=0,
    ):
        self.customer_col = customer_col
        self.time_col = time_col
        self.attribute_cols = attribute_cols
        self.rfm_cols = rfm_cols
        self.observation_end = observation_end
        self.drop_after_observation_end = drop_after_observation_end
        self.time_unit = time_unit
        self.origin = origin
        self.first_transaction_effect = first_transaction_effect
        self.dynamic_cols = dynamic_cols
        self.dynamic_terms = dynamic_terms
        self.dropout_mixing = dropout_mixing
        self.dropout_after_first = dropout_after_first
        self.posterior_indexing = posterior_indexing
        self.horizon = horizon
        self.future_attributes = future_attributes
        self.n_future_sims = n_future_sims
        self.static_cols = static_cols
        self.penalizer = penalizer
        self.initial_params = initial_params
        self.max_iter = max_iter
        self.tol = tol
        self.method = method
        self.num_warmup = num_warmup
        self.num_samples = num_samples
        self.num_chains = num_chains
        self.n_posterior_samples = n_posterior_samples
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ input handling
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = False
        tags.input_tags.allow_nan = False
        tags.input_tags.positive_only = True
        return tags

    def _tcol(self, X=None):
        """The time column: ``time_col``, or by default ``"t"``, else ``"date"`` if X has it."""
        if self.time_col is not None:
            return self.time_col
        if isinstance(X, pd.DataFrame) and "t" not in X.columns and "date" in X.columns:
            return "date"
        return "t"

    def _is_long(self, X):
        return (
            isinstance(X, pd.DataFrame)
            and self.customer_col in X.columns
            and self._tcol(X) in X.columns
        )

    def _dropout_names(self):
        return ("s", "b") if self.dropout_mixing == "gamma" else ("a", "b")

    def _prepare(self, X, *, fit, sample_weight=None):
        """Histories and future-path inputs of X under the estimator's settings."""
        dyn = list(self.dynamic_cols or [])
        attrs = list(self.attribute_cols or [])
        if self._is_long(X):
            if sample_weight is not None:
                raise ValueError(
                    "sample_weight applies to RFM summaries (counts of identical rows); "
                    "a transaction log gives each customer weight 1"
                )
            terms = dynamic_term_list(dyn, self.dynamic_terms)
            prep = prepare_long(
                X,
                customer_col=self.customer_col,
                time_col=self._tcol(X),
                attribute_cols=attrs,
                dynamic_cols=dyn,
                terms=terms,
                first_effect=self.first_transaction_effect,
                after_first=self.dropout_after_first,
                observation_end=self.observation_end if fit else self.observation_end_,
                origin=self.origin if fit else self.origin_,
                time_unit=self.time_unit,
                drop_after=self.drop_after_observation_end,
                fit=fit,
            )
            prep["form"] = "long"
            return prep
        is_rfm_frame = isinstance(X, pd.DataFrame) and set(self.rfm_cols) <= set(X.columns)
        if (attrs or dyn) and isinstance(X, pd.DataFrame) and not is_rfm_frame:
            check_columns(X, [self.customer_col, self._tcol(X), *attrs])
        if attrs or dyn:
            raise ValueError(
                "attribute_cols/dynamic_cols need a transaction log with columns "
                f"{self.customer_col!r} and {self._tcol(X)!r}; an RFM summary has no attributes"
            )
        if not fit and self.input_form_ == "long" and self.design_feature_names_:
            raise ValueError("this model was fitted with attributes; pass a transaction log")
        frame = X[list(self.rfm_cols)] if isinstance(X, pd.DataFrame) else X
        if isinstance(frame, pd.DataFrame):
            frame = frame.set_axis([str(c) for c in frame.columns], axis=1)
        if fit or self.input_form_ == "rfm":
            arr = validate_data(self, frame, reset=fit, dtype=np.float64)
        else:  # a log-fitted classic model also scores RFM summaries
            arr = check_array(frame, dtype=np.float64)
        if isinstance(X, pd.DataFrame):
            arr = pd.DataFrame(arr, columns=list(self.rfm_cols), index=X.index)
        prep = prepare_rfm(
            arr,
            tuple(self.rfm_cols),
            self.first_transaction_effect,
            self.dropout_after_first,
            sample_weight,
        )
        prep["form"] = "rfm"
        prep["index"] = X.index if isinstance(X, pd.DataFrame) else None
        prep["names"] = ["first"] if self.first_transaction_effect else []
        return prep

    def _check_settings(self):
        unit_days(self.time_unit)
        if self.first_transaction_effect and not self.dropout_after_first:
            raise ValueError(
                "first_transaction_effect=True needs dropout_after_first=True: without a churn "
                "draw after the first job its coefficient has no effect"
            )
        dyn = list(self.dynamic_cols or [])
        missing = [c for c in dyn if c not in list(self.attribute_cols or [])]
        if missing:
            raise ValueError(f"dynamic_cols {missing} must also be listed in attribute_cols")
        self._check_future_settings()

    def _check_future_settings(self):
        attrs = list(self.attribute_cols or [])
        static = list(self.static_cols or [])
        bad = [c for c in static if c not in attrs]
        if bad:
            raise ValueError(f"static_cols {bad} must also be listed in attribute_cols {attrs}")
        fa = self.future_attributes
        if static and isinstance(fa, str) and fa == "mean_q":
            raise ValueError(
                "static_cols cannot be combined with future_attributes='mean_q', which uses one "
                "population mean multiplier; use 'reference', 'bootstrap' or a sampler"
            )
        if isinstance(fa, dict) and set(fa) & set(static):
            raise ValueError(
                f"future_attributes overrides static_cols {sorted(set(fa) & set(static))}; "
                "static columns keep the customer's last value"
            )
        if isinstance(fa, str) and fa == "bootstrap" and self.n_future_sims == 0:
            raise ValueError("future_attributes='bootstrap' needs n_future_sims > 0 paths")
        if self.n_future_sims > 0 and not (callable(fa) or fa == "bootstrap"):
            raise ValueError(
                f"n_future_sims={self.n_future_sims} simulates future attribute paths: set "
                "future_attributes='bootstrap' or pass a sampler callable (got "
                f"future_attributes={fa!r})"
            )

    # ------------------------------------------------------------------ fitting
    def _theta0(self, n_coef, scale):
        names = ["r", "alpha", *self._dropout_names()]
        init = {"r": 1.0, "alpha": 1.0, names[2]: 1.0, "b": 1.0}
        for key, value in (self.initial_params or {}).items():
            if key in init:
                if not (np.isfinite(value) and value > 0):
                    raise ValueError(f"initial_params[{key!r}] must be > 0, got {value!r}")
                init[key] = float(value) * (scale if key == "alpha" else 1.0)
            elif key not in ("coef",):
                raise ValueError(f"initial_params has unknown key {key!r}; expected {names}")
        theta = np.zeros(4 + n_coef)
        theta[:4] = np.log([init[k] for k in names])
        if "coef" in (self.initial_params or {}):
            theta[4:] = np.asarray(self.initial_params["coef"], dtype=float)
        return theta

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None):
        """Fit by maximum likelihood.

        Parameters
        ----------
        X : pandas.DataFrame, dask.dataframe.DataFrame, Parquet path or array-like
            A long transaction log (columns ``customer_col``, ``time_col``,
            ``attribute_cols``) or an RFM summary (``rfm_cols``, classic model) of shape
            (n_customers, 3). A Dask DataFrame (or the path of a Parquet file or folder,
            read with Dask) is fitted out of core: each partition's customers become one
            shard of sufficient statistics on its worker, and every likelihood and
            gradient evaluation is a sum over the shards (see "Scaling out" in the docs).
        y : None
            Ignored.
        sample_weight : array-like of shape (n_customers,), optional
            Counts of identical RFM rows.

        Returns
        -------
        self : AttributeBGNBD
            The fitted model.
        """
        self._check_settings()
        ddf = as_dask_frame(X)
        if ddf is not None:  # out of core: histories sharded over the Dask partitions
            return self._fit_histories(self._prepare_dask(ddf, sample_weight))
        prep = self._prepare(X, fit=True, sample_weight=sample_weight)
        H = prep["H"]
        if self._is_long(X):
            cols = [self.customer_col, self._tcol(X), *list(self.attribute_cols or [])]
            self.feature_names_in_ = np.asarray(cols, dtype=object)
            self.n_features_in_ = len(cols)
            self.observation_end_ = prep["T"]
            self.origin_ = prep["origin"]
            self.n_transactions_ = int(prep["x"].sum())
        else:
            self.observation_end_ = None
            self.origin_ = None
            self.n_transactions_ = int((prep["x"] * H.weight).sum())
        self.input_form_ = prep["form"]
        return self._fit_histories(prep)

    def _prepare_dask(self, ddf, sample_weight):
        """Sharded histories of a Dask transaction log, and the fitted input attributes."""
        from ._dask import prepare_sharded

        if sample_weight is not None:
            raise ValueError("sample_weight applies to RFM summaries, not to a Dask log")
        if self.method == "nuts":
            raise ValueError(
                "method='nuts' needs the histories in memory; fit a Dask log with "
                "method='mle' or 'map'"
            )
        tcol = self._tcol(ddf._meta)
        attrs = list(self.attribute_cols or [])
        missing = [c for c in (self.customer_col, tcol, *attrs) if c not in ddf.columns]
        if missing and not (missing == [self.customer_col] and ddf.index.name == missing[0]):
            raise ValueError(f"X is missing column(s) {missing}; it has {list(ddf.columns)}")
        prep = prepare_sharded(self, ddf, tcol)
        cols = [self.customer_col, tcol, *attrs]
        self.feature_names_in_ = np.asarray(cols, dtype=object)
        self.n_features_in_ = len(cols)
        self.observation_end_ = prep["T"]
        self.origin_ = prep["origin"]
        self.n_transactions_ = int(prep["x_sum"])
        self.input_form_ = "long"
        prep["form"] = "long"
        return prep

    def _fit_histories(self, prep):
        """Maximum likelihood on prepared (in-memory or sharded) histories."""
        H = prep["H"]
        sharded = is_sharded(H)
        self.design_feature_names_ = list(prep["names"])
        self.n_customers_ = int(total_weight(H))
        Amax = H.A_max if sharded else float(np.max(H.A, initial=0.0))
        scale = 10.0 / Amax if Amax > 0 else 1.0
        H = H.compress()
        Hs = H.scaled(scale)
        theta0 = self._theta0(H.n_coef, scale)
        bounds = [(-20.0, 20.0)] * 4 + [(-50.0, 50.0)] * H.n_coef
        m = H.n_customers if sharded else H.n.size
        hess_inv0 = None
        callback = _progress_printer(self.verbose, scale)
        pen, mask = self.penalizer, None
        if self.method == "map":  # posterior mode under the priors of method="nuts"
            prior = np.r_[np.full(4, 0.5 / _PRIOR_SCALE_LOG**2), np.full(H.n_coef, 0.5)]
            mask = self.penalizer + prior / total_weight(H)
            pen = 1.0
        self._penalty_ = (pen, mask)
        if m > _WARM_START_SIZE and self.initial_params is None and not sharded:
            # fit an evenly spaced subsample first, then a few BFGS steps on all customers
            # starting from the subsample's parameters and inverse Hessian
            step = max(1, m // (_WARM_START_SIZE // _SUB_DIV))
            sub = prep["H"].scaled(scale).subset(np.arange(0, m, step))
            sub = sub.compress()
            args = (self.dropout_mixing, pen, self.max_iter, self.tol, bounds)
            if self.verbose:
                print(f"[AttributeBGNBD] warm start on {sub.n.size} of {m} customers")
            theta0 = fit_mle(theta0, sub, *args, callback=callback, penalty_mask=mask).x
            hs = hessian(theta0, sub, self.dropout_mixing, pen, penalty_mask=mask)
            hs = hs / sub.weight.sum()
            try:
                hess_inv0 = np.linalg.inv(hs)
                hess_inv0 = 0.5 * (hess_inv0 + hess_inv0.T)
                np.linalg.cholesky(hess_inv0)  # positive definite, or LinAlgError
            except np.linalg.LinAlgError:
                hess_inv0 = None
        res = fit_mle(
            theta0,
            Hs,
            self.dropout_mixing,
            pen,
            self.max_iter,
            self.tol,
            bounds,
            hess_inv0,
            callback,
            penalty_mask=mask,
        )
        if self.verbose:
            print(f"[AttributeBGNBD] {res.message} after {res.nit} iterations, f={res.fun:.10g}")
        theta = res.x.copy()
        theta[1] -= np.log(scale)
        # L-BFGS-B may stop in the line search at the optimum (rounding): accept a small gradient
        grad_ok = np.max(np.abs(res.jac), initial=0.0) < 1e-5
        self.converged_ = bool(res.success or grad_ok)
        self.n_iter_ = int(res.nit)
        self.optimizer_message_ = str(res.message)
        if not self.converged_:
            warn(
                f"L-BFGS-B did not converge ({res.message}); try a larger max_iter, other "
                "initial_params, or a small penalizer",
                ConvergenceWarning,
            )
        self._set_params_from_theta(theta)
        # Time scaling shifts Eq. (3) by -sum(w n) ln(scale) and leaves its gradient in theta
        # unchanged: without a penalty, the optimizer's last value and gradient are those of
        # the unscaled histories (no extra pass over the customers for either)
        reuse = pen == 0 and mask is None and not sharded and np.isfinite(res.fun)
        if reuse:
            n_sum = float(H.weight @ H.n)
            self.log_likelihood_ = float(-res.fun * total_weight(H) + np.log(scale) * n_sum)
        else:
            self.log_likelihood_ = total_log_likelihood(theta, H, self.dropout_mixing)
        self._set_covariance(theta, H, g0=np.asarray(res.jac, dtype=float) if reuse else None)
        if self.method == "nuts":
            self._fit_nuts(res.x, Hs, scale, H)
        k = theta.size
        self.aic_ = float(2 * k - 2 * self.log_likelihood_)
        self.bic_ = float(k * np.log(max(self.n_customers_, 1)) - 2 * self.log_likelihood_)
        if sharded and H.n_coef:
            self.mean_repeat_q_ = prep["mean_q"](self.coef_.to_numpy())
        elif prep["form"] == "long" and H.n_coef and prep["q_nonfirst_F"].shape[0]:
            q = np.exp(prep["q_nonfirst_F"] @ self.coef_.to_numpy())
            self.mean_repeat_q_ = float(q.mean())
        else:
            self.mean_repeat_q_ = 1.0
        return self

    def _fit_nuts(self, theta_scaled, Hs, scale, H):
        from ._bayes import nuts_posterior

        draws = nuts_posterior(
            theta_scaled,
            Hs,
            self.dropout_mixing,
            num_warmup=self.num_warmup,
            num_samples=self.num_samples,
            num_chains=self.num_chains,
            random_state=self.random_state,
            verbose=self.verbose,
        )
        draws[:, 1] -= np.log(scale)
        names = [*self.params_.index, *self.coef_.index]
        natural = np.concatenate([np.exp(draws[:, :4]), draws[:, 4:]], axis=1)
        self.posterior_samples_ = {nm: natural[:, i].copy() for i, nm in enumerate(names)}
        mean = natural.mean(axis=0)
        theta = np.concatenate([np.log(mean[:4]), mean[4:]])
        self._set_params_from_theta(theta)
        self.log_likelihood_ = total_log_likelihood(theta, H, self.dropout_mixing)
        cov = np.cov(natural, rowvar=False).reshape(len(names), len(names))
        self._cov_log_ = np.cov(draws, rowvar=False).reshape(len(names), len(names))
        self.covariance_ = pd.DataFrame(cov, index=names, columns=names)
        self.standard_errors_ = pd.Series(np.sqrt(np.diag(cov)), index=names, name="std_error")

    def _set_params_from_theta(self, theta):
        names = ["r", "alpha", *self._dropout_names()]
        self.params_ = pd.Series(np.exp(theta[:4]), index=names, name="estimate")
        self.coef_ = pd.Series(
            theta[4:], index=self.design_feature_names_, name="coef", dtype=float
        )
        self._theta_ = theta

    def _set_covariance(self, theta, H, g0=None):
        names = [*self.params_.index, *self.coef_.index]
        central = (H.n_customers if is_sharded(H) else H.n.size) <= _WARM_START_SIZE
        pen, mask = getattr(self, "_penalty_", (self.penalizer, None))
        Hm = hessian(theta, H, self.dropout_mixing, pen, central=central, penalty_mask=mask, g0=g0)
        try:
            cov_log = np.linalg.inv(Hm)
            ok = np.all(np.isfinite(cov_log)) and np.all(np.diag(cov_log) > 0)
        except np.linalg.LinAlgError:
            ok = False
        if not ok:
            warn(
                "the Hessian of the log-likelihood is singular or not positive definite: "
                "standard errors are NaN; check for non-identified attributes or add a penalizer",
                ConvergenceWarning,
            )
            cov_log = np.full_like(Hm, np.nan)
        jac = np.concatenate([np.exp(theta[:4]), np.ones(theta.size - 4)])
        cov = cov_log * np.outer(jac, jac)
        self._cov_log_ = cov_log
        self.covariance_ = pd.DataFrame(cov, index=names, columns=names)
        self.standard_errors_ = pd.Series(np.sqrt(np.diag(cov)), index=names, name="std_error")

    def _args(self):
        r, alpha, d1, d2 = self.params_.to_numpy()
        return r, alpha, d1, d2, self.dropout_mixing

    def _loglik_rows(self, H):
        U, V, _ = cumulative_multipliers(H, self.coef_.to_numpy())
        return lik.log_likelihood(H.n, H.R, H.A, U, V, *self._args())

    # ------------------------------------------------------------------ prediction plumbing
    def _future_log_q(self, prep, last_attrs=None):
        """(c0, c1) with ln q of future job j = c0 + c1 (j - 1), per customer."""
        m = prep["H"].n.size
        zero = np.zeros(m)
        if self._simulates():  # the paths carry the multipliers (see _future_paths)
            return zero, zero.copy()
        if self.future_attributes == "mean_q":
            return zero + np.log(self.mean_repeat_q_), zero
        if prep["form"] != "long" or not self.attribute_cols:
            return zero, zero.copy()
        attrs = list(self.attribute_cols)
        z = prep["last_attrs"] if last_attrs is None else last_attrs
        if self.future_attributes == "reference":
            z = self._keep_static(np.zeros_like(z), z)
        elif isinstance(self.future_attributes, dict):
            unknown = set(self.future_attributes) - set(attrs)
            if unknown:
                raise ValueError(
                    f"future_attributes names columns {sorted(unknown)} not in attribute_cols"
                )
            z = z.copy()
            for col, value in self.future_attributes.items():
                z[:, attrs.index(col)] = value
        coef = self.coef_
        c0 = z @ coef[attrs].to_numpy()
        c1 = zero.copy()
        dyn = list(self.dynamic_cols or [])
        for f, c in dynamic_term_list(dyn, self.dynamic_terms):
            zc = z[:, attrs.index(c)]
            if f == "drift":
                g = coef[f"{c}:drift"]
                c0 = c0 + g * zc * prep["x"]
                c1 = c1 + g * zc
            else:
                g = coef[f"{f}->{c}"]
                c0 = c0 + g * zc * prep["dyn_counts"][:, dyn.index(f)]
                c1 = c1 + g * zc * z[:, attrs.index(f)]
        return c0, c1

    def _simulates(self):
        fa = self.future_attributes
        return callable(fa) or (isinstance(fa, str) and fa == "bootstrap")

    def _keep_static(self, z, last):
        """z with the static columns (last axis) set to the customer's last values."""
        attrs = list(self.attribute_cols or [])
        for col in self.static_cols or []:
            j = attrs.index(col)
            z[..., j] = last[:, j].reshape(last.shape[:1] + (1,) * (z.ndim - 2))
        return z

    def _path_log_q(self, z, prep):
        """ln q of simulated future jobs, z of shape (m, J, n_attr) -> (m, J) (Eqs. 8-9).

        Evolving-coefficient features are recomputed along the path: the drift term of future
        job j uses the job index x + j - 1, the own/cross terms the history's indicator counts
        plus those of the path's earlier jobs.
        """
        attrs = list(self.attribute_cols)
        coef = self.coef_
        lq = z @ coef[attrs].to_numpy()
        dyn = list(self.dynamic_cols or [])
        j0 = np.arange(z.shape[1], dtype=float)
        for f, c in dynamic_term_list(dyn, self.dynamic_terms):
            zc = z[:, :, attrs.index(c)]
            if f == "drift":
                lq += coef[f"{c}:drift"] * zc * (prep["x"][:, None] + j0)
            else:
                zf = z[:, :, attrs.index(f)]
                prev = prep["dyn_counts"][:, dyn.index(f), None] + np.cumsum(zf, axis=1) - zf
                lq += coef[f"{f}->{c}"] * zc * prev
        return lq

    @staticmethod
    def _bootstrap_pools(prep):
        """(counts, starts, size) of each customer's resampling pool, or None.

        Customer c resamples ``starts[c] + floor(u * counts[c])`` among the non-first jobs: its
        own past non-first jobs, or the population's when it has none. None when nobody has a
        repeat job (then the last attributes are carried forward).
        """
        codes = prep["nonfirst_codes"]
        size = codes.size
        if size == 0:
            return None
        m = prep["x"].size
        counts = np.bincount(codes, minlength=m)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        starts = np.where(counts > 0, starts, 0)[:, None]
        counts = np.where(counts > 0, counts, size)[:, None].astype(float)
        return counts, starts, size

    def _bootstrap_paths(self, prep, n_future, rng):
        """Generator of (m, J) indices into the non-first jobs, one array per path (see
        :meth:`_bootstrap_pools`), or None when nobody has a repeat job."""
        pools = self._bootstrap_pools(prep)
        if pools is None:
            return None
        counts, starts, size = pools
        m = counts.shape[0]

        def gen():  # one buffer reused: each path is consumed before the next is drawn
            u = np.empty((m, n_future))
            idx = np.empty((m, n_future), dtype=np.int64)
            for _ in range(self.n_future_sims):
                rng.random(out=u)
                u *= counts
                np.copyto(idx, u, casting="unsafe")  # truncation, as astype
                idx += starts
                np.minimum(idx, size - 1, out=idx)
                yield idx

        return gen()

    def _sampler_paths(self, X, prep, n_future, rng):
        """Generator of (m, J, n_attr) paths from the user's sampler, validated."""
        m, n_attr = prep["x"].size, len(self.attribute_cols)
        arr = self.future_attributes(X, n_future, rng)
        try:
            arr = np.asarray(arr, dtype=float)
        except (TypeError, ValueError) as err:
            raise TypeError(f"the future_attributes sampler must return numbers: {err}") from err
        if arr.ndim == 3 and arr.shape[1:] == (n_future, n_attr):
            arr = np.broadcast_to(arr[None], (m, *arr.shape))
        if arr.ndim != 4 or arr.shape[0] != m or arr.shape[2:] != (n_future, n_attr):
            raise ValueError(
                f"the future_attributes sampler returned shape {arr.shape}; expected (n_paths, "
                f"{n_future}, {n_attr}) or ({m}, n_paths, {n_future}, {n_attr}) = (customers, "
                "paths, n_future jobs, attribute_cols)"
            )
        if arr.shape[1] == 0:
            raise ValueError("the future_attributes sampler returned no paths")
        if not np.all(np.isfinite(arr)):
            raise ValueError("the future_attributes sampler returned NaN or infinite values")
        for p in range(arr.shape[1]):
            yield np.array(arr[:, p])

    def _future_paths(self, X, prep, V, n_needed, seed, pool_prep=None):
        """(head, B_end, q_mean) of the simulated future paths (Eqs. 6-7), or None.

        ``pool_prep`` (default ``prep``) supplies the attributes the paths are drawn from, so
        both arms of :meth:`incremental_dert` share the same paths (common random numbers).
        """
        if not self._simulates():
            return None
        if prep["form"] != "long" or not self.attribute_cols:
            raise ValueError(
                "simulated future attributes (future_attributes='bootstrap' or a sampler) need "
                "a model fitted on a transaction log with attribute_cols"
            )
        n_future = int(min(_MAX_SIMULATED_JOBS, max(1, n_needed)))
        rng = np.random.default_rng(seed)
        pool_prep = prep if pool_prep is None else pool_prep
        last = pool_prep["last_attrs"]
        attr_coef = self.coef_[list(self.attribute_cols)].to_numpy()
        fast = False  # bootstrap without dynamic or static columns: gather ln q directly
        if callable(self.future_attributes):
            paths = self._sampler_paths(X, pool_prep, n_future, rng)
        else:
            paths = self._bootstrap_paths(pool_prep, n_future, rng)
            pool = pool_prep["nonfirst_attrs"]
            if paths is None:
                paths = iter([np.repeat(last[:, None, :], n_future, axis=1)])
            elif not (self.dynamic_cols or self.static_cols):
                fast, pool_lq = True, pool @ attr_coef
            else:
                paths = (pool[idx] for idx in paths)
        d1, d2, mixing = *self.params_.to_numpy()[2:], self.dropout_mixing
        head, n_paths, B_end, q_mean = 0.0, 0, [], []
        if fast and mixing == "gamma":
            # multipliers gathered from exp(ln q) of the pool, survival ratios accumulated in
            # place, each path drawn and consumed block by block of customers (the same
            # random stream as drawing whole paths; no per-path temporaries)
            acc = lik.GammaPathAccumulator(V, np.exp(np.minimum(pool_lq, 700.0)), d1, d2)
            counts, starts, _ = self._bootstrap_pools(pool_prep)
            steps = progress(
                range(self.n_future_sims),
                self.verbose,
                desc="simulated attribute paths",
                total=self.n_future_sims,
            )
            for _ in steps:
                keep = len(B_end) < _TAIL_PATHS
                b_end, q_bar = acc.add_bootstrap(rng, counts, starts, n_future, keep)
                if b_end is not None:
                    B_end.append(b_end)
                    q_mean.append(q_bar)
            return acc.mean(), np.array(B_end), np.array(q_mean)
        total = self.n_future_sims if not callable(self.future_attributes) else None
        paths = progress(paths, self.verbose, desc="simulated attribute paths", total=total)
        for z in paths:
            if fast:
                lq = pool_lq[z]
            else:
                lq = self._path_log_q(self._keep_static(np.array(z, dtype=float), last), prep)
            ratio, b_end, q_bar = lik.path_survival_head(V, lq, d1, d2, mixing)
            head = head + ratio
            n_paths = n_paths + 1
            if len(B_end) < _TAIL_PATHS:
                B_end.append(b_end)
                q_mean.append(q_bar)
        return head / n_paths, np.array(B_end), np.array(q_mean)

    def _mc_seed(self):
        return int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))

    def _state(self, X, last_attrs=None, n_needed=_MAX_SIMULATED_JOBS, seed=None, pool_prep=None):
        check_is_fitted(self)
        self._check_future_settings()
        prep = self._prepare(X, fit=False)
        H = prep["H"]
        U, V, _ = cumulative_multipliers(H, self.coef_.to_numpy())
        c0, c1 = self._future_log_q(prep, last_attrs)
        seed = self._mc_seed() if seed is None and self._simulates() else seed
        paths = self._future_paths(X, prep, V, n_needed, seed, pool_prep)
        return prep, (H.n, H.R, H.A, U, V), (c0, c1, paths)

    def _classic_columns(self, X):
        """(n, R, A, index) of an RFM summary for the fused classic-model kernels, or None.

        Only for plug-in predictions of a classic model (no attributes, no first-job effect,
        no simulated futures) on a numeric RFM array or DataFrame; the feature-name and
        column-count checks are those of ``validate_data``, and the value checks run inside
        the kernels (anything they refuse goes through :meth:`_prepare`, which raises). The
        columns are views of the input (no copy, any real dtype); sklearn's checks run only
        where they have something to say (names that differ from those of the fit, a fit with
        names and an array now, a column count other than 3).
        """
        if not hasattr(self, "params_"):
            check_is_fitted(self)
        if (
            self._averages()
            or self.attribute_cols
            or self.dynamic_cols
            or self.first_transaction_effect
            or self._simulates()
            or self.future_attributes == "mean_q"
            or (self.input_form_ == "long" and self.design_feature_names_)
            or self._is_long(X)
        ):
            return None
        rfm_fit = self.input_form_ == "rfm"
        index = None
        if isinstance(X, pd.DataFrame):
            cols = list(self.rfm_cols)
            if not (X.columns.is_unique and set(cols) <= set(X.columns)):
                return None
            series = [X[c] for c in cols]
            if not all(isinstance(c.dtype, np.dtype) and c.dtype.kind in "iuf" for c in series):
                return None
            if rfm_fit:
                names = [str(c) for c in cols]
                fitted = getattr(self, "feature_names_in_", None)
                if fitted is None or list(fitted) != names:
                    _check_feature_names(self, X[cols].set_axis(names, axis=1), reset=False)
            n, R, A = (c.to_numpy() for c in series)
            index = X.index
        elif isinstance(X, np.ndarray) and X.dtype.kind in "iuf" and X.ndim == 2:
            if rfm_fit and hasattr(self, "feature_names_in_"):
                _check_feature_names(self, X, reset=False)  # warns: fitted with names
            if X.shape[1] != 3:
                return None
            n, R, A = X[:, 0], X[:, 1], X[:, 2]
        else:
            return None
        if n.shape[0] == 0:
            return None
        if rfm_fit and getattr(self, "n_features_in_", 3) != 3:
            _check_n_features(self, np.empty((0, 3)), reset=False)
        return n, R, A, index

    def _classic_alive(self, cols):
        n, R, A, _ = cols
        return lik.classic_rfm_alive(
            n, R, A, *self._args()[:4], self.dropout_mixing, self.dropout_after_first
        )

    def _wrap_index(self, index, values, name):
        if index is not None:
            return pd.Series(values, index=index, name=name)
        return values

    def _wrap(self, prep, values, name):
        """Per-customer values as a Series indexed by customer id (log input, or an RFM
        DataFrame's index); an ndarray for array input, which has no ids."""
        if prep["form"] == "long":
            index = pd.Index(prep["customers"], name=self.customer_col)
            return pd.Series(values, index=index, name=name)
        if prep.get("index") is not None:
            return pd.Series(np.asarray(values), index=prep["index"], name=name)
        return np.asarray(values)

    # ------------------------------------------------------------------ per-customer outputs
    @dask_dispatch(per_customer=_log_customer_col)
    def probability_alive(self, X, t=0.0):
        """P(customer still active at the observation end), Eq. (5), or at T + t.

        Parameters
        ----------
        X : pandas.DataFrame or array-like
            Transaction log or RFM summary (same form as in ``fit``).
        t : float or array-like, default=0.0
            Time after the observation end: P(alive at T + t), which also requires surviving
            the churn draw after each purchase in (T, T + t] (constant future attributes).

        Returns
        -------
        pandas.Series indexed by customer id (log input or RFM DataFrame), ndarray for an array

        Examples
        --------
        >>> from skcrm.clv import AttributeBGNBD
        >>> from skcrm.datasets import load_cdnow
        >>> s = load_cdnow("summary")
        >>> bg = AttributeBGNBD(dropout_mixing="beta", dropout_after_first=False).fit(s)
        >>> bg.probability_alive(s).iloc[:3].to_numpy().round(4)  # FHL customer 1: 0.7266
        array([0.7266, 0.2122, 1.    ])
        """
        if self._averages():
            return self._posterior_average(lambda m: m.probability_alive(X, t))
        if np.ndim(t) == 0 and t == 0:
            cols = self._classic_columns(X)
            out = None if cols is None else self._classic_alive(cols)
            if out is not None:
                return self._wrap_index(cols[3], out, "probability_alive")
        prep, hist, (c0, c1, paths) = self._state(X)
        if np.all(np.asarray(t) == 0):
            out = lik.probability_alive(*hist, *self._args())
        else:
            if paths is not None or np.any(c1 != 0):
                raise ValueError(
                    "P(alive) at a future time needs constant future attributes (no evolving "
                    "coefficients or simulated paths)"
                )
            out = lik.probability_alive_later(t, *hist, *self._args(), future_log_q=c0)
        return self._wrap(prep, out, "probability_alive")

    @dask_dispatch(per_customer=_log_customer_col)
    def conditional_expected_transactions(self, X, t):
        """Expected transactions in (T, T + t], Eq. (6) (corrected unless indexing="paper").

        Parameters
        ----------
        X : pandas.DataFrame or array-like
            Transaction log or RFM summary.
        t : float or array-like of shape (n_customers,)
            Forecast length in model time units.

        Returns
        -------
        pandas.Series or ndarray

        Examples
        --------
        >>> from skcrm.clv import AttributeBGNBD
        >>> from skcrm.datasets import load_cdnow
        >>> s = load_cdnow("summary")
        >>> bg = AttributeBGNBD(dropout_mixing="beta", dropout_after_first=False).fit(s)
        >>> bg.conditional_expected_transactions(s, 39.0).iloc[:3].to_numpy().round(4)
        array([1.2259, 0.2033, 0.1948])
        """
        if self._averages():
            return self._posterior_average(lambda m: m.conditional_expected_transactions(X, t))
        fast = self._classic_expected(X, t)
        if fast is not None:
            return fast
        n_needed = self._jobs_needed(X, t) if self._simulates() else 0
        prep, hist, (c0, c1, paths) = self._state(X, n_needed=n_needed)
        out = lik.conditional_expected_transactions(
            t,
            *hist,
            *self._args(),
            c0,
            c1,
            self.posterior_indexing,
            future_paths=paths,
            n_jobs=self.n_jobs,
        )
        return self._wrap(prep, out, "expected_transactions")

    def _classic_expected(self, X, t):
        """Fused E[X(t)] of a classic beta-dropout model on an RFM summary, or None."""
        if self.dropout_mixing != "beta" or np.ndim(t) != 0:
            return None
        t = float(t)
        if not (np.isfinite(t) and t > 0):
            return None
        cols = self._classic_columns(X)
        if cols is None:
            return None
        pa = self._classic_alive(cols)
        if pa is None:
            return None
        n = np.asarray(cols[0], dtype=np.float64)
        V = n + 1.0 if self.dropout_after_first else n
        r, alpha, a, b = self._args()[:4]
        e = lik._bgnbd_expected_alive_fast(
            t, n, cols[2], V, r, alpha, a, b, self.posterior_indexing
        )
        if e is None or not np.isfinite(e).all():
            return None
        e *= pa
        return self._wrap_index(cols[3], e, "expected_transactions")

    @dask_dispatch(per_customer=_log_customer_col)
    def predict(self, X):
        """Expected transactions over ``horizon``: :meth:`conditional_expected_transactions`.

        Parameters
        ----------
        X : pandas.DataFrame or array-like
            Transaction log or RFM summary.

        Returns
        -------
        pandas.Series or ndarray
        """
        return self.conditional_expected_transactions(X, self.horizon)

    @dask_dispatch(per_customer=_log_customer_col)
    def probability_of_n_transactions(self, X, t, n):
        """P(exactly n transactions in (T, T + t] | history) (the count distribution behind Eq. 6).

        Parameters
        ----------
        X : pandas.DataFrame or array-like
            Transaction log or RFM summary (same form as in ``fit``).
        t : float
            Forecast length.
        n : int or array-like of int
            Counts.

        Returns
        -------
        pandas.DataFrame or ndarray
            Columns n; a DataFrame indexed by customer for log input, else an ndarray of
            shape (n_customers, len(n)).

        Examples
        --------
        >>> from skcrm.clv import AttributeBGNBD
        >>> from skcrm.datasets import load_cdnow
        >>> s = load_cdnow("summary")
        >>> bg = AttributeBGNBD(dropout_mixing="beta", dropout_after_first=False).fit(s)
        >>> bg.probability_of_n_transactions(s.iloc[:2], 39.0, [0, 1, 2]).to_numpy().round(4)
        array([[0.4454, 0.2393, 0.1442],
               [0.8833, 0.0676, 0.0281]])
        """
        counts = np.atleast_1d(np.asarray(n, dtype=int))
        if np.any(counts < 0):
            raise ValueError("n must be >= 0")
        prep, hist, (c0, c1, paths) = self._state(X, n_needed=int(counts.max()) + 3)
        pmf = lik.conditional_pmf(
            counts, t, *hist, *self._args(), c0, c1, self.posterior_indexing, future_paths=paths
        )
        if prep["form"] == "long":
            index = pd.Index(prep["customers"], name=self.customer_col)
            return pd.DataFrame(pmf, index=index, columns=counts)
        if prep.get("index") is not None:
            return pd.DataFrame(pmf, index=prep["index"], columns=counts)
        return pmf

    @dask_dispatch(per_customer=_log_customer_col)
    def probability_no_transactions(self, X, t):
        """P(no transaction in (T, T + t] | history) (the count distribution behind Eq. 6).

        Parameters
        ----------
        X : pandas.DataFrame or array-like
            Transaction log or RFM summary (same form as in ``fit``).
        t : float
            Forecast length.

        Returns
        -------
        pandas.Series or ndarray
            One probability per customer.
        """
        out = self.probability_of_n_transactions(X, t, 0)
        return out[0] if isinstance(out, pd.DataFrame) else out[:, 0]

    def _new_customer_B(self, t, attributes):
        """Cumulative multipliers B_1..B_K of a new customer's jobs 1..K."""
        check_is_fitted(self)
        coef = self.coef_
        z = dict.fromkeys(self.attribute_cols or [], 0.0)
        unknown = set(attributes or {}) - set(z)
        if unknown:
            raise ValueError(f"attributes {sorted(unknown)} are not in attribute_cols")
        z.update(attributes or {})
        base = sum(coef[c] * v for c, v in z.items())
        slope = 0.0
        for f, c in dynamic_term_list(list(self.dynamic_cols or []), self.dynamic_terms):
            name = f"{c}:drift" if f == "drift" else f"{f}->{c}"
            slope += coef[name] * z[c] * (1.0 if f == "drift" else z[f])
        r, alpha = self.params_["r"], self.params_["alpha"]
        tmax = float(np.max(t))
        K = lik._nb_terms(np.array([r]), np.array([tmax / (alpha + tmax)]), 1e-12, 200_000)
        k = np.arange(K, dtype=float)
        lq = np.minimum(base + slope * k, 700.0)
        if self.first_transaction_effect:
            lq[0] += coef["first"]
        q = np.exp(lq)
        if not self.dropout_after_first:
            q[0] = 0.0
        return np.cumsum(q)

    def expected_transactions(self, t, attributes=None):
        """Prior expected repeat transactions of a new customer in t, Eq. (4).

        Parameters
        ----------
        t : float or array-like
            Time since the first purchase.
        attributes : dict, optional
            Attribute values of every job (default: all 0).

        Returns
        -------
        ndarray

        Examples
        --------
        >>> from skcrm.clv import AttributeBGNBD
        >>> from skcrm.datasets import load_cdnow
        >>> s = load_cdnow("summary")
        >>> bg = AttributeBGNBD(dropout_mixing="beta", dropout_after_first=False).fit(s)
        >>> bg.expected_transactions([39.0, 78.0]).round(4)
        array([1.195, 1.858])
        """
        base, slope, first = self._new_customer_q(attributes)
        t = np.atleast_1d(np.asarray(t, dtype=float))
        if slope == 0.0:  # constant multipliers after the first job: exact at every horizon
            q1 = 0.0 if not self.dropout_after_first else float(np.exp(min(first, 700.0)))
            zero = np.zeros_like(t)
            return lik.conditional_expected_transactions(
                t, zero, zero, zero, zero, zero + q1, *self._args(), future_log_q=base
            )
        B = self._new_customer_B(t, attributes)
        return lik.expected_transactions(t, B, *self._args())

    def _new_customer_q(self, attributes):
        """(ln q of every job, its slope per job, ln q of the first job) of a new customer."""
        check_is_fitted(self)
        coef = self.coef_
        z = dict.fromkeys(self.attribute_cols or [], 0.0)
        unknown = set(attributes or {}) - set(z)
        if unknown:
            raise ValueError(f"attributes {sorted(unknown)} are not in attribute_cols")
        z.update(attributes or {})
        base = float(sum(coef[c] * v for c, v in z.items()))
        slope = 0.0
        for f, c in dynamic_term_list(list(self.dynamic_cols or []), self.dynamic_terms):
            name = f"{c}:drift" if f == "drift" else f"{f}->{c}"
            slope += coef[name] * z[c] * (1.0 if f == "drift" else z[f])
        first = base + (coef["first"] if self.first_transaction_effect else 0.0)
        return base, float(slope), float(first)

    def probability_of_n_transactions_new(self, t, n, attributes=None):
        """Prior P(X(t) = n) of a new customer (the count distribution behind Eq. 4).

        Parameters
        ----------
        t : float
            Time since the first purchase.
        n : int or array-like of int
            Counts.
        attributes : dict, optional
            Attribute values of every job (default: all 0).

        Returns
        -------
        ndarray
            P(X(t) = n) for each n.
        """
        counts = np.atleast_1d(np.asarray(n, dtype=int))
        B = self._new_customer_B(t, attributes)
        if B.size < counts.max() + 2:
            B = np.concatenate([B, B[-1] + np.arange(1, counts.max() + 3)])
        return lik.prior_pmf(counts, t, B, *self._args())

    @dask_dispatch(per_customer=_log_customer_col)
    def dert(
        self, X, discount_rate=None, discount_factor=None, discounting="continuous", horizon=None
    ):
        """Discounted expected residual transactions, Eq. (7) (corrected indexing by default).

        Parameters
        ----------
        X : pandas.DataFrame or array-like
            Transaction log or RFM summary (same form as in ``fit``).
        discount_rate : float, optional
            Discount rate d per model time unit (delta = 1/(1+d)).
        discount_factor : float, optional
            delta per time unit; give exactly one of rate and factor.
        discounting : {"continuous", "discrete"}
            Continuous discounting at rho = -ln(delta), or the paper's end-of-period sum,
            computed as the continuous value times (1 - delta)/rho (accurate to a few 1e-5).
        horizon : float, optional
            Count only purchases in (T, T + horizon] (default: the whole residual lifetime).

        Returns
        -------
        pandas.Series or ndarray

        Examples
        --------
        >>> from skcrm.clv import AttributeBGNBD
        >>> from skcrm.datasets import load_cdnow
        >>> s = load_cdnow("summary")
        >>> bg = AttributeBGNBD(dropout_mixing="beta", dropout_after_first=False).fit(s)
        >>> bg.dert(s.iloc[:3], discount_rate=0.002).to_numpy().round(3)
        array([6.078, 1.088, 1.231])
        """
        if self._averages():
            return self._posterior_average(
                lambda m: m.dert(X, discount_rate, discount_factor, discounting, horizon)
            )
        prep, hist, fut = self._state(X)
        out = self._dert(hist, fut, discount_rate, discount_factor, discounting, horizon)
        return self._wrap(prep, out, "dert")

    def _dert(self, hist, fut, discount_rate, discount_factor, discounting, horizon=None):
        c0, c1, paths = fut
        if (discount_rate is None) == (discount_factor is None):
            raise ValueError("give exactly one of discount_rate and discount_factor")
        delta = 1.0 / (1.0 + discount_rate) if discount_factor is None else discount_factor
        if not 0 < delta < 1:
            raise ValueError(f"the discount factor must lie in (0, 1), got {delta}")
        if discounting not in ("continuous", "discrete"):
            raise ValueError(f"discounting must be 'continuous' or 'discrete', got {discounting!r}")
        rho = -np.log(delta)
        if horizon is not None and not (np.isfinite(horizon) and horizon > 0):
            if not np.isinf(horizon):
                raise ValueError(f"horizon must be > 0, got {horizon!r}")
            horizon = None
        if paths is None and np.all(c1 == 0):
            out = lik.dert_grid(
                rho,
                *hist,
                *self._args(),
                c0,
                self.posterior_indexing,
                n_jobs=self.n_jobs,
                horizon=horizon,
            )
        elif horizon is not None:
            raise ValueError(
                "dert(horizon=...) needs constant future attributes (no evolving coefficients "
                "or simulated paths)"
            )
        else:  # evolving coefficients or simulated paths: multipliers change with the job
            out = lik.dert_continuous(
                rho, *hist, *self._args(), c0, c1, self.posterior_indexing, future_paths=paths
            )
        return out * ((1 - delta) / rho if discounting == "discrete" else 1.0)

    @dask_dispatch(per_customer=_log_customer_col)
    def residual_value(self, X, margin=1.0, **dert_kw):
        """Margin times DERT: the discounted residual value of each customer.

        Parameters
        ----------
        X : pandas.DataFrame or array-like
            Transaction log or RFM summary (same form as in ``fit``).
        margin : float, default=1.0
            Value per transaction.
        **dert_kw
            Arguments of :meth:`dert`.

        Returns
        -------
        pandas.Series or ndarray
            Residual value per customer.
        """
        return self.dert(X, **dert_kw) * margin

    @dask_dispatch(per_customer=_log_customer_col)
    def incremental_dert(self, X, changes, which="last", relative=False, **dert_kw):
        """Change in DERT from changing one transaction's attributes (paper Section 4).

        ``which="last"``: DERT with the last transaction's attributes changed minus DERT as
        observed (the paper's case). ``which="next"``: a transaction about to happen at the
        observation end, with the changed attributes versus a copy of the last one -- the
        paper's upper bound on what to invest to change an imminent transaction. Future jobs
        follow the same scenario in both arms (the observed last attributes); history features
        of evolving coefficients are recomputed from the changed job.

        Parameters
        ----------
        X : pandas.DataFrame
            Transaction log of the observation period.
        changes : dict
            ``{attribute column: new value}``.
        which : {"last", "next"}
            The transaction to change.
        relative : bool
            Return the change as a fraction of the unchanged arm's DERT.
        **dert_kw
            ``discount_rate``/``discount_factor``/``discounting`` of :meth:`dert`.

        Returns
        -------
        pandas.Series
        """
        check_is_fitted(self)
        if not self._is_long(X):
            raise ValueError("incremental_dert needs a transaction log")
        if which not in ("last", "next"):
            raise ValueError(f"which must be 'last' or 'next', got {which!r}")
        bad = set(changes) - set(self.attribute_cols or [])
        if bad:
            raise ValueError(f"changes name columns {sorted(bad)} that are not attribute_cols")
        rows = pd.DataFrame(
            {
                "c": X[self.customer_col].to_numpy(),
                "t": X[self._tcol(X)].to_numpy(),
                "p": np.arange(len(X)),
            }
        ).sort_values(["c", "t", "p"], kind="mergesort")
        last = rows.groupby("c", sort=False)["p"].last().to_numpy()
        if which == "next":
            imminent = X.iloc[last].copy()
            tcol = self._tcol(X)
            imminent[tcol] = self._input_time(self.observation_end_, X[tcol])
            X = pd.concat([X, imminent], ignore_index=True)
            last = np.arange(len(X) - len(imminent), len(X))
        seed = self._mc_seed() if self._simulates() else None
        prep, hist, fut = self._state(X, seed=seed)
        base = self._dert(hist, fut, **_dert_args(dert_kw))
        changed = X.copy()
        for col, value in changes.items():
            changed.iloc[last, changed.columns.get_loc(col)] = value
        # same future scenario in both arms: the observed attributes (and the same paths)
        prep2, hist2, (_, _, paths2) = self._state(changed, seed=seed, pool_prep=prep)
        c0b, c1b = self._future_log_q(prep2, last_attrs=prep["last_attrs"])
        new = self._dert(hist2, (c0b, c1b, paths2), **_dert_args(dert_kw))
        diff = new - base
        return self._wrap(prep, diff / base if relative else diff, "incremental_dert")

    def _jobs_needed(self, X, t):
        """Future jobs the Eq. 6 series needs at horizon t (its adaptive truncation)."""
        prep = self._prepare(X, fit=False)
        H = prep["H"]
        r, alpha = self.params_["r"], self.params_["alpha"]
        t = np.broadcast_to(np.asarray(t, dtype=float), H.A.shape)
        return lik._nb_terms(r + H.n, t / (t + alpha + H.A), 1e-10, 100_000) + 2

    def _input_time(self, t, column):
        """Model time t expressed in the units of the input's time column."""
        if pd.api.types.is_datetime64_any_dtype(column) or column.dtype == object:
            days = t * unit_days(self.time_unit)
            return pd.Timestamp(self.origin_) + pd.Timedelta(days=days)
        return t + (0.0 if self.origin_ is None else float(self.origin_))

    @dask_dispatch(per_customer=_log_customer_col)
    def retention_investment_upper_bound(self, X, changes, margin=1.0, which="next", **dert_kw):
        """max(0, -margin x incremental DERT): most worth spending to prevent the change.

        By default for an imminent transaction (``which="next"``), the paper's upper bound on
        the investment in changing the attributes of a transaction about to happen.

        Parameters
        ----------
        X : pandas.DataFrame
            Transaction log of the observation period.
        changes : dict
            ``{attribute column: new value}``.
        margin : float, default=1.0
            Value per transaction.
        which : {"next", "last"}, default="next"
            The transaction to change (see :meth:`incremental_dert`).
        **dert_kw
            ``discount_rate``/``discount_factor``/``discounting`` of :meth:`dert`.

        Returns
        -------
        pandas.Series
            Upper bound per customer.
        """
        inc = self.incremental_dert(X, changes, which=which, **dert_kw)
        return np.maximum(0.0, -margin * inc)

    @dask_dispatch(per_customer=_log_customer_col)
    def log_likelihood(self, X):
        """Per-customer marginal log-likelihood, Eq. (3).

        Parameters
        ----------
        X : pandas.DataFrame or array-like
            Transaction log or RFM summary (same form as in ``fit``).

        Returns
        -------
        pandas.Series or ndarray
            Log-likelihood per customer.
        """
        prep, hist, _ = self._state(X)
        return self._wrap(prep, lik.log_likelihood(*hist, *self._args()), "log_likelihood")

    def score(self, X, y=None, sample_weight=None):
        """Mean per-customer log-likelihood of X under the fitted model (higher is better).

        Held-out customers give a held-out likelihood for ``GridSearchCV`` with
        ``GroupKFold(groups=customer id)``; the fitted ``observation_end_`` is used.

        Parameters
        ----------
        X : pandas.DataFrame or array-like
            Transaction log or RFM summary (same form as in ``fit``).
        y : None
            Ignored.
        sample_weight : array-like, optional
            Counts of identical RFM rows.

        Returns
        -------
        float

        Examples
        --------
        >>> from skcrm.clv import AttributeBGNBD
        >>> from skcrm.datasets import load_cdnow
        >>> s = load_cdnow("summary")
        >>> bg = AttributeBGNBD(dropout_mixing="beta", dropout_after_first=False).fit(s)
        >>> round(bg.score(s), 4)
        -4.0655
        """
        check_is_fitted(self)
        prep = self._prepare(X, fit=False, sample_weight=sample_weight)
        H = prep["H"]
        ll = self._loglik_rows(H)
        return float(H.weight @ ll / H.weight.sum())

    # ------------------------------------------------------------------ uncertainty
    def _averages(self):
        return (
            self.method == "nuts"
            and hasattr(self, "posterior_samples_")
            and not getattr(self, "_plugin", False)
        )

    def _posterior_thetas(self, n_draws):
        names = [*self.params_.index, *self.coef_.index]
        draws = np.column_stack([self.posterior_samples_[nm] for nm in names])
        idx = np.unique(np.linspace(0, draws.shape[0] - 1, min(n_draws, draws.shape[0])).round())
        draws = draws[idx.astype(int)]
        return np.concatenate([np.log(draws[:, :4]), draws[:, 4:]], axis=1)

    def _draw_thetas(self, n_draws, rng):
        """Parameter draws (log-parameters, coefficients): posterior draws for NUTS, else the
        asymptotic normal law of the MLE/MAP (covariance of the log-parameters)."""
        if self.method == "nuts" and hasattr(self, "posterior_samples_"):
            return self._posterior_thetas(n_draws)
        return normal_draws(self._theta_, self._cov_log_, n_draws, rng)

    def _set_theta_copy(self, theta):
        return with_theta(self, theta)

    def _posterior_average(self, func):
        vals = [
            func(with_theta(self, th)) for th in self._posterior_thetas(self.n_posterior_samples)
        ]
        mean = np.mean([np.asarray(v, dtype=float) for v in vals], axis=0)
        first = vals[0]
        if isinstance(first, pd.Series):
            return pd.Series(mean, index=first.index, name=first.name)
        return mean

    @dask_dispatch(per_customer=_log_customer_col)
    def predict_interval(
        self,
        X=None,
        *,
        quantity="expected_transactions",
        t=None,
        alpha=0.05,
        n_draws=500,
        discount_rate=None,
        horizon=None,
        attributes=None,
        random_state=None,
    ):
        """Point prediction, standard error and interval carrying parameter uncertainty.

        The prediction is recomputed under ``n_draws`` parameter draws: from the asymptotic
        normal law of the MLE (or MAP) on the log-parameter scale, or, with
        ``method="nuts"``, from the posterior draws. The interval is the draws'
        ``alpha/2`` and ``1 - alpha/2`` quantiles, the standard error their standard
        deviation.

        Parameters
        ----------
        X : pandas.DataFrame or array-like, optional
            Transaction log or RFM summary (not used for ``"new_customer"``).
        quantity : {"expected_transactions", "probability_alive", "dert", "new_customer"}
            E[X(t)] given the history, P(alive at T + t), DERT, or a new customer's E[X(t)].
        t : float, optional
            Horizon of ``"expected_transactions"``/``"new_customer"`` (default ``horizon``
            of the estimator) or the future time of ``"probability_alive"`` (default 0).
        alpha : float, default=0.05
            1 - confidence level.
        n_draws : int, default=500
            Parameter draws.
        discount_rate : float, optional
            Discount rate of ``"dert"``.
        horizon : float, optional
            Finite DERT horizon.
        attributes : dict, optional
            Attributes of the new customer's jobs (``"new_customer"``).
        random_state : int, RandomState or None
            Seed of the normal draws.

        Returns
        -------
        pandas.DataFrame
            Columns ``estimate``, ``std_error``, ``lower``, ``upper``, indexed by customer;
            ``attrs`` holds the level.

        Examples
        --------
        >>> from skcrm.clv import AttributeBGNBD
        >>> from skcrm.datasets import load_cdnow
        >>> s = load_cdnow("summary")
        >>> bg = AttributeBGNBD(dropout_mixing="beta", dropout_after_first=False).fit(s)
        >>> ci = bg.predict_interval(s.iloc[:2], t=39.0, random_state=0)
        >>> list(ci.columns)
        ['estimate', 'std_error', 'lower', 'upper']
        """
        check_is_fitted(self)
        if not 0 < alpha < 1:
            raise ValueError(f"alpha must lie in (0, 1), got {alpha!r}")
        funcs = {
            "expected_transactions": lambda m: m.conditional_expected_transactions(
                X, self.horizon if t is None else t
            ),
            "probability_alive": lambda m: m.probability_alive(X, 0.0 if t is None else t),
            "dert": lambda m: m.dert(X, discount_rate=discount_rate, horizon=horizon),
            "new_customer": lambda m: m.expected_transactions(
                self.horizon if t is None else t, attributes
            ),
        }
        if quantity not in funcs:
            raise ValueError(f"quantity must be one of {sorted(funcs)}, got {quantity!r}")
        func = funcs[quantity]
        rng = np.random.default_rng(
            check_random_state(random_state).randint(np.iinfo(np.int32).max)
        )
        point = func(self)
        thetas = self._draw_thetas(n_draws, rng)
        draws = [np.asarray(func(with_theta(self, th)), dtype=float) for th in thetas]
        return interval_frame(point, np.vstack(draws), alpha, quantity)

    # ------------------------------------------------------------------ inference
    def summary(self):
        """Table of estimates like the paper's Table 2: estimate, SE, z, p, 95 % CI.

        CIs are Wald intervals on the log scale for the positive parameters.

        Returns
        -------
        pandas.DataFrame

        Examples
        --------
        >>> from skcrm.clv import AttributeBGNBD
        >>> from skcrm.datasets import load_cdnow
        >>> s = load_cdnow("summary")
        >>> bg = AttributeBGNBD(dropout_mixing="beta", dropout_after_first=False).fit(s)
        >>> bg.summary().loc["r", ["estimate", "std_error"]].round(4).tolist()
        [0.2426, 0.0126]
        """
        check_is_fitted(self)
        est = pd.concat([self.params_, self.coef_])
        se = self.standard_errors_.reindex(est.index)
        z = est / se
        p = 2 * stats.norm.sf(np.abs(z))
        crit = stats.norm.ppf(0.975)
        lo, hi = est - crit * se, est + crit * se
        k = len(self.params_)
        se_log = np.sqrt(np.diag(self._cov_log_))[:k]
        lo.iloc[:k] = np.exp(np.log(self.params_.to_numpy()) - crit * se_log)
        hi.iloc[:k] = np.exp(np.log(self.params_.to_numpy()) + crit * se_log)
        z.iloc[:k] = np.nan
        p[:k] = np.nan
        return pd.DataFrame(
            {"estimate": est, "std_error": se, "z": z, "p_value": p, "ci_lower": lo, "ci_upper": hi}
        )

    def lr_test(self, restricted):
        """Likelihood-ratio test of a nested (restricted) fitted model against this one.

        Parameters
        ----------
        restricted : AttributeBGNBD
            A fitted model nested in this one (fewer parameters).

        Returns
        -------
        dict with ``statistic``, ``df`` and ``p_value``

        Examples
        --------
        >>> from skcrm.clv import AttributeBGNBD
        >>> from skcrm.datasets import load_cdnow
        >>> s = load_cdnow("summary")
        >>> bg = AttributeBGNBD(dropout_mixing="beta", dropout_after_first=False).fit(s)
        >>> plain = AttributeBGNBD().fit(s)  # paper's timing, q = 1
        >>> first = AttributeBGNBD(first_transaction_effect=True).fit(s)
        >>> test = first.lr_test(plain)
        >>> round(test["statistic"], 2), test["df"], round(test["p_value"], 3)
        (2.11, 1, 0.146)
        """
        check_is_fitted(self)
        check_is_fitted(restricted)
        df = self._theta_.size - restricted._theta_.size
        if df <= 0:
            raise ValueError("the restricted model must have fewer parameters than this one")
        stat = 2.0 * (self.log_likelihood_ - restricted.log_likelihood_)
        return {"statistic": float(stat), "df": int(df), "p_value": float(stats.chi2.sf(stat, df))}


def _progress_printer(verbose, scale):
    """Optimiser callback printing each iteration's parameters when ``verbose``."""
    if not verbose:
        return None
    state = {"it": 0}

    def callback(xk, *args):
        state["it"] += 1
        r, alpha, d1, d2 = np.exp(xk[:4])
        print(
            f"[AttributeBGNBD] iteration {state['it']}: r={r:.5g} alpha={alpha / scale:.5g} "
            f"dropout=({d1:.5g}, {d2:.5g}) coef={np.round(xk[4:], 4).tolist()}",
            flush=True,
        )

    return callback


def _dert_args(kw):
    allowed = {"discount_rate", "discount_factor", "discounting"}
    bad = set(kw) - allowed
    if bad:
        raise TypeError(f"unexpected DERT argument(s) {sorted(bad)}; expected {sorted(allowed)}")
    return {"discount_rate": None, "discount_factor": None, "discounting": "continuous", **kw}
