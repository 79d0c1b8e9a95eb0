"""DigitalTwinRegressor: the sklearn shell around the digital-twin model (Levy 2024)."""

from __future__ import annotations

import copy
import math
import numbers
import time
import warnings

import numpy as np
import pandas as pd
from scipy.special import logit
from scipy.stats import norm
from sklearn.base import BaseEstimator, RegressorMixin, TransformerMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ..utils._dask import dask_dispatch
from ..utils._progress import progress
from ._core import (
    cutpoints_from_unconstrained_np,
    gauss_hermite,
    mlp_forward_np,
    ordinal_probs_np,
    posterior_node_weights_np,
)

__all__ = ["DigitalTwinRegressor"]

_DELTAS = np.round(np.arange(-2, 2.0001, 0.1), 10)


def _plain(value):
    """A numpy scalar as the Python value (for readable messages)."""
    return value.item() if isinstance(value, np.generic) else value


def _thread_limit(n_jobs):
    """Context limiting BLAS/OpenMP threads to ``n_jobs`` (no-op for None)."""
    import contextlib

    if n_jobs is None:
        return contextlib.nullcontext()
    import os

    from threadpoolctl import threadpool_limits

    n = int(n_jobs)
    n = max((os.cpu_count() or 1) + 1 + n, 1) if n < 0 else max(n, 1)
    return threadpool_limits(limits=n)


def _warn(message, category=UserWarning):
    """Warn at the user's line (``skcrm.utils.warn``)."""
    from ..utils import warn

    warn(message, category)


class DigitalTwinRegressor(TransformerMixin, RegressorMixin, BaseEstimator):
    """Deep generative "digital marketing twin" of ordinal survey answers (Levy 2024).

    A customer network ``f`` maps a respondent's covariates (plus one-hot firm and
    period) to a Normal brand affinity ``z ~ N(mu, nu)`` (Eqs. 1-7); a firm network
    ``g`` maps the KPIs of each (firm, period) to a Gamma prior of the performance
    factors ``phi``; each ordinal target follows an ordered logit with baseline
    ``alpha_jkt`` and positive loading ``lambda_jkt = sum_l beta_jl phi_ktl`` (Eqs. 8-10).
    Training maximises the ELBO of Eq. (11) with Adam on minibatches; ``z`` is
    integrated out exactly by Gauss-Hermite quadrature (``local_inference="marginal"``)
    or drawn once from N(mu, nu) (the paper-literal ``"amortized"`` reading).

    The fitted model completes the firm x period tensor of answers: what each respondent
    would answer, or how much affinity they would have, at another firm or period
    (``counterfactual_predict``, ``complete``, ``transform``), and how affinity responds
    to the strategic survey items (``driver_effects``, ``recommend_actions``).

    Parameters
    ----------
    firm_col, time_col : str, int or None, default=None
        Column of X holding the firm (period) label: a name for DataFrames or a position.
        None means a single firm (period).
    kpi : DataFrame, array-like of shape (n_firms, n_periods, H) or None, default=None
        Firm KPIs. Preferably a firm x period table: a DataFrame indexed by a (firm,
        period) MultiIndex, or a long DataFrame with the ``firm_col`` and ``time_col``
        columns; the cells of the training rows are looked up by label, so any
        cross-validation fold works (a missing cell raises an error naming it). An array
        is read by position, aligned with the sorted firm and period labels of the
        training rows. Standardised internally. None gives "random effect" performance
        factors (Model 3 of Table 3).
    customer_encoder : {"mlp", "linear", "none"}, default="mlp"
        Network f: an MLP (Model 4), one Dense layer (Model 1) or only the (firm,
        period) cell (Model 2, no individual predictors).
    firm_encoder : {"mlp", "linear", "none"}, default="mlp"
        Network g on the KPIs (Models 4 and 1) or learned constants (Model 3).
    hidden_layer_sizes : tuple of int, default=(32,)
        Hidden widths of f (not reported in the paper; (32,) won on the generator).
    target_offsets : bool or "auto", default=True
        Give each target a respondent-level baseline ``alpha_jkt + delta_j(x)``: f gets
        J more linear outputs ``delta(x)`` beside (mu, log nu), which enter every
        target's linear predictor, ``eta_ij = alpha_jkt + delta_j(x_i) + z_i lambda_jkt``.
        The brand affinity ``z`` still carries what the targets share (its noise is
        common to all of them); ``delta`` carries what a covariate does to one target
        but not the others, which the paper's single affinity cannot represent (a survey
        whose satisfaction items follow other drivers than the brand feelings). Off: the
        paper's Eq. (8). ``weight_decay`` applies to ``delta``'s weights too, which keeps
        shared effects on ``z``. ``"auto"`` fits both models on the same training rows
        and keeps the one with the lower validation negative ELBO (twice the fit time;
        without a validation set it keeps the offsets). The default True was chosen by
        validation on three generators (see the user guide).
    kpi_hidden_layer_sizes : tuple of int, default=(16,)
        Hidden widths of g.
    activation : {"tanh", "relu", "gelu"}, default="tanh"
        Hidden activation of f (the paper: tanh).
    n_firm_factors : int, default=2
        Number L of firm-side performance factors.
    encode_firm_period : bool, default=True
        Append one-hot firm and period to f's input; counterfactuals swap them.
    local_inference : {"marginal", "amortized"}, default="marginal"
        Exact quadrature over z (recommended) or the paper-literal single draw, whose
        variance nu collapses to zero (see the user guide).
    firm_inference : {"meanfield", "amortized"}, default="meanfield"
        LogNormal guide per cell with the Gamma(g(KPI)) prior, or q(phi) = Gamma(g(KPI)).
    n_quadrature : int, default=16
        Gauss-Hermite nodes.
    twin_noise : {"independent", "shared"}, default="independent"
        Counterfactual z drawn from p(z | x) (the paper's Eq. 12) or carrying the
        standardised residual inferred from the factual answers (needs ``y``).
    alpha_prior_scale, beta_prior_scale : float, default=1.0
        Scales of alpha ~ N(0, s^2) and beta ~ HalfNormal(s) (the paper: 1).
    cutpoint_concentration, cutpoint_anchor : float, default=1.0, 0.0
        kappa and anchor of the induced-Dirichlet cut-point prior (the paper: 1, 0).
    n_categories : int, list of int or None, default=None
        Categories 0..M_j-1 of each target (overrides the observed range).
    categories : list of array-like or None, default=None
        Explicit ordered labels of each target.
    reverse_targets : list of int or None, default=None
        Targets coded "higher = worse", reverse-coded internally (the paper's
        Retention = 4 - Q20); outputs are in the original coding.
    learning_rate : float, default=3e-3
        Adam step size.
    batch_size : int, default=256
        Minibatch size.
    max_iter : int, default=300
        Maximum passes (epochs) over the training data.
    weight_decay : float, default=0.5
        ``weight_decay * ||theta_f||^2`` is added to the full-data negative ELBO
        (0.5 = a N(0, 1) prior on f's weights; 0 = the paper).
    early_stopping : bool, default=True
        Stop on the validation negative ELBO and restore the best parameters.
    validation_fraction : float, default=0.1
        Share of the training rows held out for early stopping.
    n_iter_no_change : int, default=20
        Patience in epochs.
    tol : float, default=1e-4
        Minimum improvement of the validation loss per individual.
    predict_statistic : {"mean", "median", "mode"}, default="mean"
        Summary of the posterior predictive returned by ``predict``.
    missing_indicator : bool, default=True
        Add an indicator column for every feature with NaN at fit.
    standardize : bool, default=True
        Standardise covariates (mean 0, sd 1) before f.
    strategic_features : list or None, default=None
        Default features of ``driver_effects`` and ``recommend_actions``.
    n_posterior_samples : int, default=0
        0 plugs in the posterior means of the global latents at prediction; >0
        averages the predictive over that many draws (fixed seed).
    n_jobs : int or None, default=None
        Threads of the numpy/BLAS work in ``fit`` and the queries (``threadpoolctl``
        limit; None leaves the current setting, -1 uses every core). XLA's own thread pool
        for the training step is configured per process (``XLA_FLAGS``), not per call.
    random_state : int, RandomState or None, default=None
        Seeds the split, the minibatch order, the initial weights and the draws.
    verbose : int, default=0
        Progress bar over epochs with the training and validation losses ("compiling"
        is shown while XLA compiles the training step); nothing is printed when 0.

    Attributes
    ----------
    n_features_in_ : int
        Columns of X (firm and period columns included).
    feature_names_in_ : ndarray of str
        Column names of X when it is a DataFrame.
    covariate_names_ : list of str
        The covariate columns (all columns but firm and period).
    n_outputs_ : int
        Number of targets J.
    firms_, periods_ : ndarray
        Sorted firm and period labels seen in training.
    n_firms_, n_periods_ : int
        K and T.
    categories_ : list of ndarray
        Ordered labels of each target.
    n_categories_ : ndarray of int
        M_j.
    impute_values_, feature_mean_, feature_scale_ : ndarray
        Covariate preprocessing (mean imputation, standardisation).
    feature_min_, feature_max_ : ndarray
        Range of each covariate seen in fit (values outside are flagged at predict).
    target_offsets_ : bool
        Whether the fitted model has the per-target offsets (``target_offsets="auto"``
        resolved).
    target_offsets_validation_loss_ : ndarray of shape (2,) or None
        Best validation negative ELBO without and with the offsets when
        ``target_offsets="auto"`` compared them; None otherwise.
    n_encoder_inputs_ : int
        Width of the encoder input (covariates, indicators and one-hots, padded to a
        multiple of 8 so that compiled shapes are reused).
    random_seed_ : int
        Seed drawn from ``random_state`` at fit; every later draw (minibatches, noise,
        ``sample``) derives from it, so a pickled model reproduces its draws.
    missing_indicator_features_ : ndarray of int
        Covariates that get a missing indicator.
    kpi_, kpi_mean_, kpi_scale_ : ndarray
        Raw KPIs (K, T, H) and their standardisation.
    encoder_params_, kpi_encoder_params_ : dict
        Flax parameters of f and g as nested dicts of numpy arrays.
    variational_params_ : dict
        Guide parameters: alpha_loc/alpha_scale (J, K, T), beta_loc/beta_scale (J, L),
        phi_loc/phi_scale (K, T, L), cut_loc/cut_scale and cut_mask (J, M_max - 1).
    alpha_, beta_, phi_, loadings_ : ndarray
        Posterior means of alpha (J, K, T), beta (J, L), phi (K, T, L) and
        lambda = sum_l beta phi (J, K, T).
    phi_prior_shape_, phi_prior_rate_ : ndarray of shape (K, T, L)
        Gamma prior of phi given by g.
    cutpoints_ : list of ndarray
        Cut points of each target (M_j - 1,), at the guide's location.
    affinity_scale_ : float
        Standard deviation of mu over the training rows.
    loss_curve_, validation_loss_curve_ : list of float
        Training and validation negative ELBO per individual, per epoch.
    best_validation_loss_ : float or None
    n_iter_ : int
        Epochs run.
    converged_ : bool
        True when early stopping fired (the validation loss stopped improving by ``tol``
        for ``n_iter_no_change`` epochs) or, without a validation set, when the training
        loss improved by less than ``tol`` over the last ``n_iter_no_change`` epochs.
    n_train_samples_ : int
    fit_time_ : float
        Seconds spent in ``fit`` (compilation included).
    epoch_times_ : list of float
        Seconds per training epoch; the first includes the XLA compilation of the step.

    References
    ----------
    Levy, S. (2024). Digital Marketing Twins. Working paper.

    Examples
    --------
    >>> from skcrm.datasets import make_digital_twin_survey
    >>> X, y, kpi, truth = make_digital_twin_survey(n_per_cell=30, random_state=0)
    >>> est = DigitalTwinRegressor(firm_col="firm", time_col="period", kpi=kpi,
    ...                            max_iter=3, early_stopping=False, random_state=0)
    >>> est.fit(X, y).predict(X).shape
    (360, 7)
    >>> est.complete(X.iloc[:5]).shape
    (5, 3, 4, 7)
    """

    _parameter_constraints: dict = {
        "firm_col": [str, Interval(numbers.Integral, 0, None, closed="left"), None],
        "time_col": [str, Interval(numbers.Integral, 0, None, closed="left"), None],
        "kpi": ["array-like", None],
        "customer_encoder": [StrOptions({"mlp", "linear", "none"})],
        "firm_encoder": [StrOptions({"mlp", "linear", "none"})],
        "hidden_layer_sizes": ["array-like"],
        "target_offsets": ["boolean", StrOptions({"auto"})],
        "kpi_hidden_layer_sizes": ["array-like"],
        "activation": [StrOptions({"tanh", "relu", "gelu"})],
        "n_firm_factors": [Interval(numbers.Integral, 1, None, closed="left")],
        "encode_firm_period": ["boolean"],
        "local_inference": [StrOptions({"marginal", "amortized"})],
        "firm_inference": [StrOptions({"meanfield", "amortized"})],
        "n_quadrature": [Interval(numbers.Integral, 2, None, closed="left")],
        "twin_noise": [StrOptions({"independent", "shared"})],
        "alpha_prior_scale": [Interval(numbers.Real, 0, None, closed="neither")],
        "beta_prior_scale": [Interval(numbers.Real, 0, None, closed="neither")],
        "cutpoint_concentration": [Interval(numbers.Real, 0, None, closed="neither")],
        "cutpoint_anchor": [numbers.Real],
        "n_categories": [Interval(numbers.Integral, 2, None, closed="left"), list, None],
        "categories": [list, None],
        "reverse_targets": [list, None],
        "learning_rate": [Interval(numbers.Real, 0, None, closed="neither")],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "weight_decay": [Interval(numbers.Real, 0, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(numbers.Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(numbers.Integral, 1, None, closed="left")],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "predict_statistic": [StrOptions({"mean", "median", "mode"})],
        "missing_indicator": ["boolean"],
        "standardize": ["boolean"],
        "strategic_features": [list, None],
        "n_posterior_samples": [Interval(numbers.Integral, 0, None, closed="left")],
        "n_jobs": [numbers.Integral, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        firm_col=None,
        time_col=None,
        kpi=None,
        customer_encoder="mlp",
        firm_encoder="mlp",
        hidden_layer_sizes=(32,),
        target_offsets=True,
        kpi_hidden_layer_sizes=(16,),
        activation="tanh",
        n_firm_factors=2,
        encode_firm_period=True,
        local_inference="marginal",
        firm_inference="meanfield",
        n_quadrature=16,
        twin_noise="independent",
        alpha_prior_scale=1.0,
        beta_prior_scale=1.0,
        cutpoint_concentration=1.0,
        cutpoint_anchor=0.0,
        n_categories=None,
        categories=None,
        reverse_targets=None,
        learning_rate=3e-3,
        batch_size=256,
        max_iter=300,
        weight_decay=0.5,
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change=20,
        tol=1e-4,
        predict_statistic="mean",
        missing_indicator=True,
        standardize=True,
        strategic_features=None,
        n_posterior_samples=0,
        n_jobs=None,
        random_state=None,
        verbose=0,
    ):
        self.firm_col = firm_col
        self.time_col = time_col
        self.kpi = kpi
        self.customer_encoder = customer_encoder
        self.firm_encoder = firm_encoder
        self.hidden_layer_sizes = hidden_layer_sizes
        self.target_offsets = target_offsets
        self.kpi_hidden_layer_sizes = kpi_hidden_layer_sizes
        self.activation = activation
        self.n_firm_factors = n_firm_factors
        self.encode_firm_period = encode_firm_period
        self.local_inference = local_inference
        self.firm_inference = firm_inference
        self.n_quadrature = n_quadrature
        self.twin_noise = twin_noise
        self.alpha_prior_scale = alpha_prior_scale
        self.beta_prior_scale = beta_prior_scale
        self.cutpoint_concentration = cutpoint_concentration
        self.cutpoint_anchor = cutpoint_anchor
        self.n_categories = n_categories
        self.categories = categories
        self.reverse_targets = reverse_targets
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.weight_decay = weight_decay
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.predict_statistic = predict_statistic
        self.missing_indicator = missing_indicator
        self.standardize = standardize
        self.strategic_features = strategic_features
        self.n_posterior_samples = n_posterior_samples
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ sklearn plumbing
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        tags.target_tags.required = True
        tags.regressor_tags.poor_score = True
        return tags

    def __getstate__(self):
        state = super().__getstate__()
        return {k: v for k, v in state.items() if not k.startswith("_cache")}

    # ------------------------------------------------------------------ input handling
    def _column_index(self, col, name):
        if col is None:
            return None
        names = getattr(self, "feature_names_in_", None)
        if isinstance(col, str):
            if names is None or col not in list(names):
                raise ValueError(
                    f"{name}={col!r} is not a column of X; pass a DataFrame with that "
                    "column or an integer position"
                )
            return int(list(names).index(col))
        if col >= self.n_features_in_:
            raise ValueError(
                f"{name}={col} is out of range for X with {self.n_features_in_} columns"
            )
        return int(col)

    def _split_X(self, X, reset):
        """Validate X; return (covariates float (n, p), firm labels, period labels)."""
        frame = X if isinstance(X, pd.DataFrame) else None
        if frame is not None:  # columns are converted one by one below (no float64 copy)
            validate_data(self, X, reset=reset, skip_check_array=True)
            if frame.shape[0] < 1:
                raise ValueError("Found array with 0 sample(s) while a minimum of 1 is required.")
            arr = None
        else:
            arr = validate_data(
                self, X, reset=reset, dtype=None, ensure_all_finite=False, ensure_min_samples=1
            )
        n_rows, n_cols = (frame if frame is not None else arr).shape
        fi = self._column_index(self.firm_col, "firm_col")
        pi = self._column_index(self.time_col, "time_col")
        if fi is not None and fi == pi:
            raise ValueError("firm_col and time_col must be different columns")

        def labels(i, name):
            if i is None:
                return np.zeros(n_rows, dtype=int)
            col = frame.iloc[:, i].to_numpy() if frame is not None else arr[:, i]
            if pd.isna(col).any():
                raise ValueError(f"the {name} column of X has missing values; labels are required")
            return col

        firm = labels(fi, "firm")
        period = labels(pi, "period")
        keep = [j for j in range(n_cols) if j not in (fi, pi)]
        names = self._covariate_names(keep)
        cov = np.empty((n_rows, len(keep)), dtype=float)
        for out_j, (j, name) in enumerate(zip(keep, names, strict=True)):
            try:
                source = frame.iloc[:, j].to_numpy() if frame is not None else arr[:, j]
                cov[:, out_j] = np.asarray(source, dtype=float)
            except (TypeError, ValueError) as exc:
                raise type(exc)(
                    f"covariate column {name!r} must be numeric (one-hot encode categorical "
                    f"columns first): {exc}"
                ) from exc
        if np.isinf(cov).any():
            raise ValueError("X contains infinite values; use NaN for missing covariates")
        return cov, firm, period

    def _covariate_names(self, keep):
        names = getattr(self, "feature_names_in_", None)
        if names is not None:
            return [str(names[j]) for j in keep]
        return [f"x{j}" for j in keep]

    def _cell(self, firm_idx, period_idx):
        """Cell index f * T + p; rows with an unseen label (index -1) get the pooled cell
        K * T (alpha and loadings averaged over the fitted cells)."""
        cell = firm_idx * self.n_periods_ + period_idx
        return np.where((firm_idx < 0) | (period_idx < 0), self.n_firms_ * self.n_periods_, cell)

    def _own_labels(self, values, known, name):
        """Indices of the rows' own labels; unseen ones give -1 and a warning (so that
        cross-validation folds that hold a firm or period out still get predictions)."""
        known = np.asarray(known)
        values = np.asarray(values)
        try:
            idx = np.clip(np.searchsorted(known, values), 0, len(known) - 1)
        except TypeError as exc:
            raise ValueError(f"{name} labels are not comparable with the fitted ones") from exc
        bad = known[idx] != values
        if np.any(bad):
            unseen = sorted({str(_plain(v)) for v in values[bad]})[:5]
            _warn(
                f"DigitalTwinRegressor: {int(bad.sum())} row(s) have {name} label(s) "
                f"{unseen} not seen in fit (fitted {name}s: {[_plain(k) for k in known]}); "
                f"they are predicted at the average of the fitted {name}s (baselines and "
                f"loadings averaged over the fitted cells, one-hot {name} spread evenly). "
                "This happens when cross-validation folds hold a whole firm or period out."
            )
        return np.where(bad, -1, idx).astype(int)

    @staticmethod
    def _label_index(values, known, name):
        known = np.asarray(known)
        try:
            idx = np.searchsorted(known, values)
        except TypeError as exc:
            raise ValueError(f"{name} labels are not comparable with the fitted ones") from exc
        idx = np.clip(idx, 0, len(known) - 1)
        bad = known[idx] != np.asarray(values)
        if np.any(bad):
            unseen = sorted({str(v) for v in np.asarray(values)[bad]})[:5]
            raise ValueError(
                f"unseen {name} label(s) {unseen}; the model knows {name}s "
                f"{[_plain(k) for k in known]} "
                "(forecasting an unseen firm or period is not supported)"
            )
        return idx.astype(int)

    def _input_width(self, p):
        K, T = self.n_firms_, self.n_periods_
        if self.customer_encoder == "none":
            return K * T
        return p + len(self.missing_indicator_features_) + (K + T if self.encode_firm_period else 0)

    @staticmethod
    def _soft_onehot(idx, width):
        """One-hot rows; an unseen label (-1) spreads 1 / width over every column."""
        out = np.where((idx < 0)[:, None], 1.0 / width, np.zeros((len(idx), width)))
        seen = np.where(idx >= 0)[0]
        out[seen, idx[seen]] = 1.0
        return out

    def _encode(self, cov, firm_idx, period_idx, dtype=float):
        """Inputs of f: standardised covariates, missing indicators, one-hot firm/period,
        zero columns up to ``n_encoder_inputs_`` (a multiple of 8, so shapes are bucketed)."""
        n = cov.shape[0]
        K, T = self.n_firms_, self.n_periods_
        out = np.zeros((n, self.n_encoder_inputs_), dtype=dtype)
        if self.customer_encoder == "none":
            known = (firm_idx >= 0) & (period_idx >= 0)
            out[np.where(known)[0], (firm_idx * T + period_idx)[known]] = 1.0
            if not known.all():  # unseen label: spread evenly over the matching cells
                rows = np.where(~known)[0]
                fw = self._soft_onehot(firm_idx[rows], K)
                pw = self._soft_onehot(period_idx[rows], T)
                out[rows, : K * T] = (fw[:, :, None] * pw[:, None, :]).reshape(len(rows), K * T)
            return out
        miss = np.isnan(cov)
        p = cov.shape[1]
        n_ind = len(self.missing_indicator_features_)
        block = out[:, :p]
        np.copyto(block, cov)
        np.copyto(block, self.impute_values_[None, :], where=miss)
        block -= self.feature_mean_
        block /= self.feature_scale_
        if n_ind:
            out[:, p : p + n_ind] = miss[:, self.missing_indicator_features_]
        if self.encode_firm_period:
            base = p + n_ind
            out[:, base : base + K] = self._soft_onehot(firm_idx, K)
            out[:, base + K : base + K + T] = self._soft_onehot(period_idx, T)
        return out

    def _check_y(self, y, reset):
        if y is None:
            raise ValueError(
                "DigitalTwinRegressor requires y to be passed, but the target y is None"
            )
        y_arr = np.asarray(y)
        if y_arr.dtype == object:
            try:
                y_arr = y_arr.astype(float)
            except (TypeError, ValueError) as exc:
                raise ValueError("targets must be ordinal integer codes (NaN = missing)") from exc
        y_arr = np.asarray(y_arr, dtype=float)
        self._cache_y_1d = y_arr.ndim == 1
        if y_arr.ndim == 1:
            y_arr = y_arr[:, None]
        if y_arr.ndim != 2:
            raise ValueError(f"y must be 1-D or 2-D, got shape {y_arr.shape}")
        if np.isinf(y_arr).any():
            raise ValueError("y contains infinite values; targets must be ordinal codes")
        finite = ~np.isnan(y_arr)
        if np.any(y_arr[finite] != np.round(y_arr[finite])):
            raise ValueError(
                "DigitalTwinRegressor needs ordinal targets: every non-missing y value must be "
                "an integer category code (continuous targets are not supported)"
            )
        if reset:
            empty = np.where(~finite.any(axis=0))[0]
            if len(empty):
                raise ValueError(f"target column(s) {empty.tolist()} of y are entirely NaN")
        elif y_arr.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y has {y_arr.shape[1]} targets, the model was fit on {self.n_outputs_}"
            )
        return y_arr

    def _set_categories(self, y):
        J = y.shape[1]
        if self.categories is not None:
            if len(self.categories) != J:
                raise ValueError(f"categories has {len(self.categories)} entries for {J} targets")
            cats = [np.sort(np.asarray(c, dtype=float)) for c in self.categories]
        elif self.n_categories is not None:
            ms = [self.n_categories] * J if np.isscalar(self.n_categories) else self.n_categories
            if len(ms) != J:
                raise ValueError(f"n_categories has {len(ms)} entries for {J} targets")
            cats = [np.arange(int(m), dtype=float) for m in ms]
        else:
            cats = []
            for j in range(J):
                lo, hi = np.nanmin(y[:, j]), np.nanmax(y[:, j])
                cats.append(np.arange(lo, max(hi, lo + 1) + 1, dtype=float))
        cats = [c if len(c) >= 2 else np.array([c[0], c[0] + 1]) for c in cats]
        self.categories_ = cats
        self.n_categories_ = np.array([len(c) for c in cats], dtype=int)
        rev = self.reverse_targets or []
        for j in rev:
            if not (isinstance(j, numbers.Integral) and 0 <= j < J):
                raise ValueError(f"reverse_targets must hold target indices in 0..{J - 1}, got {j}")
        self._reversed = np.isin(np.arange(J), rev)

    def _codes(self, y):
        """Internal codes 0..M_j-1 (reversed where asked), -1 for NaN."""
        codes = np.full(y.shape, -1, dtype=int)
        for j, cats in enumerate(self.categories_):
            col = y[:, j]
            obs = ~np.isnan(col)
            idx = np.clip(np.searchsorted(cats, col[obs]), 0, len(cats) - 1)
            if np.any(cats[idx] != col[obs]):
                bad = sorted(set(col[obs][cats[idx] != col[obs]].tolist()))[:5]
                raise ValueError(
                    f"target {j} has values {bad} outside its categories {cats.tolist()}"
                )
            if self._reversed[j]:
                idx = len(cats) - 1 - idx
            codes[obs, j] = idx
        return codes

    def _prepare_kpi(self):
        K, T = self.n_firms_, self.n_periods_
        if self.kpi is None:
            self.kpi_ = None
            self.kpi_mean_ = self.kpi_scale_ = None
            return np.zeros((K * T, 1), dtype=np.float32)
        if isinstance(self.kpi, pd.DataFrame):
            table = self.kpi
            if not isinstance(table.index, pd.MultiIndex):
                cols = [self.firm_col, self.time_col]
                if all(isinstance(c, str) and c in table.columns for c in cols):
                    table = table.set_index(cols)
                else:
                    raise ValueError(
                        "a kpi DataFrame must be a firm x period table: indexed by a "
                        "(firm, period) MultiIndex, or with the columns named by firm_col "
                        f"and time_col ({self.firm_col!r}, {self.time_col!r})"
                    )
            if table.index.nlevels != 2:
                raise ValueError(
                    f"the kpi table's index must have 2 levels (firm, period), got "
                    f"{table.index.nlevels}"
                )
            if table.index.has_duplicates:
                dup = table.index[table.index.duplicated()][0]
                raise ValueError(
                    f"the kpi table has several rows for (firm, period) = "
                    f"{tuple(_plain(v) for v in dup)}"
                )
            want = pd.MultiIndex.from_product([self.firms_, self.periods_])
            pos = table.index.get_indexer(want)
            if np.any(pos < 0):
                f, p = want[int(np.argmax(pos < 0))]
                raise ValueError(
                    f"the kpi table has no row for firm {_plain(f)!r}, period {_plain(p)!r}; "
                    "every (firm, period) cell in the training rows needs its KPIs"
                )
            values = table.to_numpy()[pos]
            try:
                kpi = np.asarray(values, dtype=float).reshape(K, T, -1)
            except (TypeError, ValueError) as exc:
                raise ValueError("the kpi table's columns must be numeric KPIs") from exc
        else:
            kpi = np.asarray(self.kpi, dtype=float)
            if kpi.ndim == 2 and kpi.shape[0] == K * T:
                kpi = kpi.reshape(K, T, -1)
            if kpi.ndim != 3 or kpi.shape[:2] != (K, T):
                raise ValueError(
                    f"kpi is an array of shape {kpi.shape}, read by position as (n_firms, "
                    f"n_periods, H) = ({K}, {T}, H) for the firms "
                    f"{[_plain(v) for v in self.firms_]} and periods "
                    f"{[_plain(v) for v in self.periods_]} in these training rows. A "
                    "cross-validation fold that lacks a firm or period gives this mismatch: "
                    "pass kpi as a DataFrame indexed by (firm, period) (or with the firm_col "
                    "and time_col columns) so that KPIs are looked up by label"
                )
        missing = np.argwhere(np.isnan(kpi).any(axis=2))
        if len(missing):
            k, t = missing[0]
            raise ValueError(
                f"kpi is missing values for firm {_plain(self.firms_[k])!r}, period "
                f"{_plain(self.periods_[t])!r}"
            )
        self.kpi_ = kpi
        flat = kpi.reshape(K * T, -1)
        self.kpi_mean_ = flat.mean(0)
        sd = flat.std(0)
        self.kpi_scale_ = np.where(sd > 0, sd, 1.0)
        return ((flat - self.kpi_mean_) / self.kpi_scale_).astype(np.float32)

    def _config(self):
        from ._model import ModelConfig

        g_kind = "none" if self.kpi is None else self.firm_encoder
        f_hidden = tuple(int(h) for h in self.hidden_layer_sizes)
        if self.customer_encoder != "mlp":
            f_hidden = ()
        return ModelConfig(
            n_targets=int(self.n_outputs_),
            n_cells=int(self.n_firms_ * self.n_periods_),
            n_firm_factors=int(self.n_firm_factors),
            f_hidden=f_hidden,
            n_offsets=int(self.n_outputs_) if self.target_offsets_ else 0,
            activation=self.activation,
            g_kind=g_kind,
            g_hidden=tuple(int(h) for h in self.kpi_hidden_layer_sizes),
            local_inference=self.local_inference,
            firm_inference=self.firm_inference,
            n_quadrature=int(self.n_quadrature),
            alpha_prior_scale=float(self.alpha_prior_scale),
            beta_prior_scale=float(self.beta_prior_scale),
            cutpoint_concentration=float(self.cutpoint_concentration),
            cutpoint_anchor=float(self.cutpoint_anchor),
            learning_rate=float(self.learning_rate),
            weight_decay=float(self.weight_decay),
        )

    # ------------------------------------------------------------------ fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the twin by stochastic variational inference (Eq. 11).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Covariates with the firm and period columns; NaN allowed in covariates.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Ordinal integer codes, NaN where an answer is missing.
        sample_weight : array-like of shape (n_samples,), default=None
            Survey weights multiplying each respondent's log-likelihood. Their scale
            matters against the priors: normalise survey weights to mean 1.

        Returns
        -------
        self : DigitalTwinRegressor
        """
        with _thread_limit(self.n_jobs):
            return self._fit(X, y, sample_weight)

    def _fit(self, X, y, sample_weight):
        t_start = time.perf_counter()
        for name in ("hidden_layer_sizes", "kpi_hidden_layer_sizes"):
            sizes = getattr(self, name)
            if not all(isinstance(h, numbers.Integral) and h > 0 for h in np.ravel(sizes)):
                raise ValueError(f"{name} must be a tuple of positive integers, got {sizes!r}")
        cov, firm, period = self._split_X(X, reset=True)
        y_raw = self._check_y(y, reset=True)
        if y_raw.shape[0] != cov.shape[0]:
            raise ValueError(f"X has {cov.shape[0]} rows but y has {y_raw.shape[0]}")
        self._y_1d = self._cache_y_1d
        n = cov.shape[0]
        if sample_weight is None:
            w = np.ones(n)
        else:
            w = np.asarray(sample_weight, dtype=float).ravel()
            if w.shape != (n,) or np.any(~np.isfinite(w)) or np.any(w < 0):
                raise ValueError("sample_weight must be n_samples non-negative finite numbers")
            if w.sum() <= 0:
                raise ValueError("sample_weight sums to zero: at least one positive weight needed")

        self.firms_ = np.unique(firm)
        self.periods_ = np.unique(period)
        self.n_firms_, self.n_periods_ = len(self.firms_), len(self.periods_)
        firm_idx = self._label_index(firm, self.firms_, "firm")
        period_idx = self._label_index(period, self.periods_, "period")
        self.covariate_names_ = self._covariate_names(
            [j for j in range(self.n_features_in_) if j not in self._special_columns()]
        )
        self.n_outputs_ = y_raw.shape[1]
        self._set_categories(y_raw)
        codes = self._codes(y_raw)

        miss = np.isnan(cov)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            means = np.nanmean(cov, axis=0) if n else np.zeros(cov.shape[1])
            sds = np.nanstd(cov, axis=0) if n else np.ones(cov.shape[1])
        self.impute_values_ = np.where(np.isnan(means), 0.0, means)
        if self.standardize:
            self.feature_mean_ = self.impute_values_.copy()
            self.feature_scale_ = np.where(np.isfinite(sds) & (sds > 0), sds, 1.0)
        else:
            self.feature_mean_ = np.zeros(cov.shape[1])
            self.feature_scale_ = np.ones(cov.shape[1])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            self.feature_min_ = np.nan_to_num(np.nanmin(cov, axis=0), nan=-np.inf)
            self.feature_max_ = np.nan_to_num(np.nanmax(cov, axis=0), nan=np.inf)
        self._nan_columns_at_fit = np.where(miss.any(axis=0))[0]
        self.missing_indicator_features_ = (
            np.where(miss.any(axis=0))[0] if self.missing_indicator else np.array([], dtype=int)
        )
        kpi_std = self._prepare_kpi()
        # Shapes are bucketed (inputs to a multiple of 8, cut points to a multiple of 4,
        # batches always batch_size rows) so that refits on other data reuse the compiled
        # training step.
        self.n_encoder_inputs_ = int(8 * math.ceil(max(self._input_width(cov.shape[1]), 1) / 8))
        x_in = self._encode(cov, firm_idx, period_idx, dtype=np.float32)
        del cov
        cell = (firm_idx * self.n_periods_ + period_idx).astype(np.int32)

        rs = check_random_state(self.random_state)
        self.random_seed_ = int(rs.randint(0, 2**31 - 1))
        rng = np.random.default_rng(self.random_seed_)
        order = rng.permutation(n)
        n_val = int(round(self.validation_fraction * n)) if self.early_stopping else 0
        if self.early_stopping and (n_val < 2 or n - n_val < 2):
            n_val = 0
            _warn(
                f"DigitalTwinRegressor: early_stopping=True but {n} rows give a validation "
                f"set of {int(round(self.validation_fraction * n))} row(s) at "
                f"validation_fraction={self.validation_fraction}; early stopping is "
                "disabled and all max_iter epochs run. Pass more rows, a larger "
                "validation_fraction, or early_stopping=False to silence this."
            )
        if self.firm_col is not None and self.n_firms_ == 1:
            _warn(
                f"DigitalTwinRegressor: X has a single firm ({_plain(self.firms_[0])!r}); "
                "the twin cannot learn what respondents would answer at another firm, so "
                "counterfactuals across firms equal the factual predictions. Fit on a "
                "survey with several firms."
            )
        val, tr = order[:n_val], order[n_val:]
        if self.target_offsets == "auto" and len(val):
            # Fit with and without the offsets on the same split and minibatch order; keep
            # the one with the lower best validation negative ELBO.
            fits = []
            for use in (False, True):
                self.target_offsets_ = use
                self._train(x_in, cell, codes, w, kpi_std, tr, val, copy.deepcopy(rng))
                fits.append((self.best_validation_loss_, dict(self.__dict__)))
            self.target_offsets_validation_loss_ = np.array([f[0] for f in fits])
            self.__dict__.update(min(fits, key=lambda f: f[0])[1])
        else:
            self.target_offsets_ = self.target_offsets in (True, "auto")
            self.target_offsets_validation_loss_ = None
            self._train(x_in, cell, codes, w, kpi_std, tr, val, rng)
        self.fit_time_ = time.perf_counter() - t_start
        return self

    def _special_columns(self):
        out = set()
        for col, name in ((self.firm_col, "firm_col"), (self.time_col, "time_col")):
            idx = self._column_index(col, name)
            if idx is not None:
                out.add(idx)
        return out

    def _train(self, x_in, cell, codes, w, kpi_std, tr, val, rng):
        import jax
        import jax.numpy as jnp

        from ..utils._jax import jax_key, to_numpy_tree
        from ._model import draw_noise, evaluate, init_params, make_optimizer, train_step

        cfg = self._config()
        J = self.n_outputs_
        n_cut = int(4 * math.ceil((self.n_categories_.max() - 1) / 4))
        cut_mask = np.arange(n_cut)[None, :] < (self.n_categories_[:, None] - 1)
        cut_init = np.zeros((J, n_cut))
        for j in range(J):
            obs = codes[tr, j][codes[tr, j] >= 0]
            M = self.n_categories_[j]
            freq = (np.bincount(obs, minlength=M) + 0.5) / (len(obs) + 0.5 * M)
            c = logit(np.clip(np.cumsum(freq)[:-1], 1e-4, 1 - 1e-4))
            steps = np.maximum(np.diff(c), 1e-2)
            cut_init[j, : M - 1] = np.concatenate([[c[0]], np.log(steps)])
        cut_mask_j = jnp.asarray(cut_mask.astype(np.float32))
        kpi_j = jnp.asarray(kpi_std)

        def arrays(idx):
            return {
                "x": x_in[idx],
                "cell": cell[idx],
                "y": np.maximum(codes[idx], 0).astype(np.int32),
                "mask": (codes[idx] >= 0).astype(np.float32),
                "w": w[idx].astype(np.float32),
            }

        def padded(idx, size):
            data = arrays(idx)
            pad = (-len(idx)) % size
            if pad:
                data = {
                    k: np.concatenate([v, np.zeros((pad,) + v.shape[1:], v.dtype)])
                    for k, v in data.items()
                }
            return data

        n_tr = len(tr)
        B = int(self.batch_size)
        n_batches = math.ceil(n_tr / B)
        train_data = padded(tr, B)
        n_pad = n_batches * B
        val_data = padded(val, B) if len(val) else None
        val_noise = draw_noise(np.random.default_rng(self.random_seed_ + 1), cfg, n_cut, B, 3)

        params = init_params(
            jax_key(np.random.RandomState(self.random_seed_)),
            cfg,
            x_in.shape[1],
            kpi_std.shape[1],
            cut_init,
        )
        opt_state = make_optimizer(cfg).init(params)
        n_batches_f = jnp.float32(n_batches)
        n_total = jnp.float32(max(n_tr, 1))

        def val_loss(p):
            ll_sum, kl = 0.0, None
            for s in range(0, len(val_data["x"]), B):
                chunk = {k: v[s : s + B] for k, v in val_data.items()}
                ll, kl = evaluate(p, val_noise, chunk, kpi_j, cut_mask_j, cfg=cfg)
                ll_sum += float(jnp.sum(ll * chunk["w"]))
            return -ll_sum / max(float(val_data["w"].sum()), 1e-12) + float(kl) / n_tr

        self.loss_curve_, self.validation_loss_curve_ = [], []
        best, best_params, stall, stopped = np.inf, params, 0, False
        bar = progress(range(self.max_iter), self.verbose, desc="DigitalTwinRegressor")
        if hasattr(bar, "set_postfix_str"):
            # The first step compiles (seconds); say so instead of a frozen 0% bar.
            bar.set_postfix_str("compiling the training step (XLA)...")
        step = 0
        self.epoch_times_ = []
        for epoch in bar:
            t_epoch = time.perf_counter()
            perm = rng.permutation(n_pad)
            losses = []
            for b in range(n_batches):
                idx = perm[b * B : (b + 1) * B]
                batch = {k: v[idx] for k, v in train_data.items()}
                params, opt_state, loss = train_step(
                    params,
                    opt_state,
                    draw_noise(rng, cfg, n_cut, B),
                    batch,
                    kpi_j,
                    cut_mask_j,
                    n_batches_f,
                    n_total,
                    cfg=cfg,
                )
                losses.append(loss)
                step += 1
            train_loss = float(np.mean(jax.device_get(losses)))
            if not np.isfinite(train_loss):
                raise FloatingPointError(
                    f"the training loss became {train_loss} at epoch {epoch + 1}; lower "
                    "learning_rate or standardise the covariates"
                )
            self.loss_curve_.append(train_loss)
            self.epoch_times_.append(time.perf_counter() - t_epoch)
            info = {"loss": f"{train_loss:.4f}"}
            if val_data is not None:
                vl = val_loss(params)
                self.validation_loss_curve_.append(vl)
                info["val"] = f"{vl:.4f}"
                if vl < best - self.tol:
                    best, best_params, stall = vl, params, 0
                else:
                    stall += 1
                if stall >= self.n_iter_no_change:
                    stopped = True
            if hasattr(bar, "set_postfix"):
                bar.set_postfix(info)
            if self.verbose >= 2 and hasattr(bar, "write"):
                bar.write(f"epoch {epoch + 1}: " + ", ".join(f"{k}={v}" for k, v in info.items()))
            if stopped:
                break
        self.n_iter_ = len(self.loss_curve_)
        self.n_train_samples_ = int(n_tr)
        if val_data is not None:
            params = best_params
            self.best_validation_loss_ = float(best)
            self.converged_ = bool(stopped)
            if not stopped:
                _warn(
                    f"DigitalTwinRegressor: the validation loss was still improving after "
                    f"max_iter={self.max_iter}; increase max_iter or learning_rate",
                    ConvergenceWarning,
                )
        else:
            self.best_validation_loss_ = None
            m = int(self.n_iter_no_change)
            curve = self.loss_curve_
            self.converged_ = bool(len(curve) > m and curve[-m - 1] - min(curve[-m:]) < self.tol)
        self._store(to_numpy_tree(params), kpi_std, cut_mask, x_in[tr])

    def _store(self, p, kpi_std, cut_mask, x_train):
        """Numpy-only fitted state and posterior summaries from the trained pytree."""
        from ._core import GAMMA_CLIP

        def plain(tree):
            return {k: plain(v) if isinstance(v, dict) else np.asarray(v) for k, v in tree.items()}

        def scale(raw):
            return np.exp(np.clip(np.asarray(raw, dtype=float), -12.0, 4.0))

        K, T, L, J = self.n_firms_, self.n_periods_, self.n_firm_factors, self.n_outputs_
        self.encoder_params_ = plain(dict(p["f"]))
        self.kpi_encoder_params_ = plain(dict(p["g"]))
        vp = {
            "alpha_loc": np.asarray(p["alpha_loc"], float).reshape(J, K, T),
            "alpha_scale": scale(p["alpha_raw"]).reshape(J, K, T),
            "beta_loc": np.asarray(p["beta_loc"], float),
            "beta_scale": scale(p["beta_raw"]),
            "phi_loc": np.asarray(p["phi_loc"], float).reshape(K, T, L),
            "phi_scale": scale(p["phi_raw"]).reshape(K, T, L),
            "cut_loc": np.asarray(p["cut_loc"], float),
            "cut_scale": scale(p["cut_raw"]),
            "cut_mask": np.asarray(cut_mask, dtype=bool),
        }
        self.variational_params_ = vp
        cfg = self._config()
        if cfg.g_kind == "none":
            out = np.broadcast_to(self.kpi_encoder_params_["const"], (K * T, 2 * L))
        else:
            n_hidden = len(cfg.g_hidden) if cfg.g_kind == "mlp" else 0
            out = mlp_forward_np(self.kpi_encoder_params_, kpi_std, n_hidden, "tanh")
        out = np.exp(np.clip(out, *GAMMA_CLIP))
        self.phi_prior_shape_ = out[:, :L].reshape(K, T, L)
        self.phi_prior_rate_ = out[:, L:].reshape(K, T, L)
        self.alpha_ = vp["alpha_loc"].copy()
        self.beta_ = np.exp(vp["beta_loc"] + 0.5 * vp["beta_scale"] ** 2)
        if self.firm_inference == "amortized":
            self.phi_ = self.phi_prior_shape_ / self.phi_prior_rate_
        else:
            self.phi_ = np.exp(vp["phi_loc"] + 0.5 * vp["phi_scale"] ** 2)
        self.loadings_ = np.einsum("jl,ktl->jkt", self.beta_, self.phi_)
        cut = cutpoints_from_unconstrained_np(vp["cut_loc"], vp["cut_mask"])
        self.cutpoints_ = [cut[j, : m - 1].copy() for j, m in enumerate(self.n_categories_)]
        mu, _, _ = self._moments_from_inputs(x_train.astype(float))
        self.affinity_scale_ = float(np.std(mu)) if len(mu) else 0.0

    # ------------------------------------------------------------------ model evaluation
    def _moments_from_inputs(self, x_in):
        n_hidden = len(self._config().f_hidden)
        out = mlp_forward_np(self.encoder_params_, x_in, n_hidden, self.activation)
        from ._core import LOG_SCALE_CLIP

        off = out[:, 2:] if out.shape[1] > 2 else np.zeros((len(out), self.n_outputs_))
        return out[:, 0], np.exp(0.5 * np.clip(out[:, 1], *LOG_SCALE_CLIP)), off

    def _rows(self, X):
        """Validated covariates and own (firm, period) indices of the rows of X."""
        check_is_fitted(self)
        cov, firm, period = self._split_X(X, reset=False)
        nan_cols = np.where(np.isnan(cov).any(axis=0))[0]
        new = np.setdiff1d(nan_cols, self._nan_columns_at_fit)
        if len(new):
            names = [self.covariate_names_[v] for v in new]
            counts = [int(np.isnan(cov[:, v]).sum()) for v in new]
            _warn(
                f"DigitalTwinRegressor: covariate(s) {names} have NaN in {counts} row(s) but "
                "had no missing values at fit, so the model never learned what a missing "
                "value means there; they are replaced by the training mean. Impute them "
                "yourself, or refit on data with missing values in these columns."
            )
        return (
            cov,
            self._own_labels(firm, self.firms_, "firm"),
            self._own_labels(period, self.periods_, "period"),
        )

    def _override(self, own, value, known, name):
        if value is None:
            return own
        values = np.asarray(value)
        if values.ndim == 0:
            values = np.repeat(values, len(own))
        elif values.shape != own.shape:
            raise ValueError(f"{name} must be one label or one label per row of X")
        return self._label_index(values, known, name)

    def _moments(self, cov, firm_idx, period_idx):
        return self._moments_from_inputs(self._encode(cov, firm_idx, period_idx))

    def _global_draws(self):
        """(alpha (J, C), lambda (J, C), cut (J, M_max - 1)) at the posterior means, or
        ``n_posterior_samples`` draws from the guide (fixed seed)."""
        vp = self.variational_params_
        J, C = self.n_outputs_, self.n_firms_ * self.n_periods_

        def pooled(a):  # extra last column: the pooled cell of unseen labels
            return np.concatenate([a, a.mean(axis=1, keepdims=True)], axis=1)

        if self.n_posterior_samples == 0:
            cut = cutpoints_from_unconstrained_np(vp["cut_loc"], vp["cut_mask"])
            return [(pooled(self.alpha_.reshape(J, C)), pooled(self.loadings_.reshape(J, C)), cut)]
        rng = np.random.default_rng(self.random_seed_)
        draws = []
        for _ in range(self.n_posterior_samples):
            alpha = vp["alpha_loc"] + vp["alpha_scale"] * rng.normal(size=vp["alpha_loc"].shape)
            beta = np.exp(vp["beta_loc"] + vp["beta_scale"] * rng.normal(size=vp["beta_loc"].shape))
            if self.firm_inference == "amortized":
                phi = rng.gamma(self.phi_prior_shape_) / self.phi_prior_rate_
            else:
                phi = np.exp(vp["phi_loc"] + vp["phi_scale"] * rng.normal(size=vp["phi_loc"].shape))
            u = vp["cut_loc"] + vp["cut_scale"] * rng.normal(size=vp["cut_loc"].shape)
            cut = cutpoints_from_unconstrained_np(u, vp["cut_mask"])
            lam = np.einsum("jl,ktl->jkt", beta, phi)
            draws.append((pooled(alpha.reshape(J, C)), pooled(lam.reshape(J, C)), cut))
        return draws

    def _node_posterior(self, mu, sd, cell, codes, off):
        """Posterior weights of the quadrature nodes given the observed answers (n, Q);
        ``off`` (n, J) are the per-target offsets of ``target_offsets`` (zeros without)."""
        nodes, weights = gauss_hermite(self.n_quadrature)
        mask = (codes >= 0).astype(float)
        y = np.maximum(codes, 0)
        out = np.zeros((len(mu), len(nodes)))
        draws = self._global_draws()
        for alpha, lam, cut in draws:
            out += posterior_node_weights_np(
                mu, sd, alpha[:, cell].T + off, lam[:, cell].T, cut, y, mask, nodes, weights
            )
        return out / len(draws)

    def _proba_internal(self, mu, sd, off, cell, node_weights=None):
        """Posterior-predictive probabilities (n, J, M_max) in internal codes."""
        nodes, weights = gauss_hermite(self.n_quadrature)
        wq = (
            np.broadcast_to(weights, (len(mu), len(nodes)))
            if node_weights is None
            else node_weights
        )
        zq = mu[:, None] + sd[:, None] * nodes[None, :]
        draws = self._global_draws()
        out = 0.0
        for alpha, lam, cut in draws:
            a = alpha[:, cell].T + off
            eta = a[:, None, :] + zq[:, :, None] * lam[:, cell].T[:, None, :]
            out = out + np.einsum("nq,nqjm->njm", wq, ordinal_probs_np(eta, cut))
        return out / len(draws)

    def _labels_internal(self):
        """(J, M_max) label value of each internal code (NaN past M_j)."""
        m_max = self.variational_params_["cut_mask"].shape[1] + 1
        lab = np.full((self.n_outputs_, m_max), np.nan)
        for j, cats in enumerate(self.categories_):
            lab[j, : len(cats)] = cats[::-1] if self._reversed[j] else cats
        return lab

    def _statistic(self, proba, statistic):
        statistic = statistic or self.predict_statistic
        if statistic not in ("mean", "median", "mode"):
            raise ValueError(f"statistic must be 'mean', 'median' or 'mode', got {statistic!r}")
        lab = self._labels_internal()
        if statistic == "mean":
            return np.nansum(proba * np.nan_to_num(lab)[None], axis=-1)
        if statistic == "mode":
            idx = proba.argmax(-1)
        else:
            idx = (np.cumsum(proba, axis=-1) < 0.5 - 1e-12).sum(-1)
            idx = np.minimum(idx, self.n_categories_[None, :] - 1)
        return np.take_along_axis(np.broadcast_to(lab, proba.shape), idx[..., None], -1)[..., 0]

    def _shape_out(self, values):
        return values[..., 0] if self._y_1d else values

    # ------------------------------------------------------------------ public queries
    @dask_dispatch(per_customer=False)
    def predict(self, X):
        """Posterior-predictive ``predict_statistic`` of each target at the row's own cell.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Rows with their firm and period columns (as in ``fit``).

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_targets)
            In the original label units. A Dask DataFrame X gives a lazy Dask
            DataFrame (Series for one target) with X's index, scored partition by
            partition with the pickled model.
        """
        return self.counterfactual_predict(X)

    def predict_proba(self, X):
        """Posterior-predictive category probabilities.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Rows with their firm and period columns (as in ``fit``).

        Returns
        -------
        list of ndarray
            One (n_samples, M_j) array per target, columns in ``categories_[j]`` order
            (a single array when the model was fit on 1-D y).
        """
        cov, f, p = self._rows(X)
        mu, sd, off = self._moments(cov, f, p)
        proba = self._proba_internal(mu, sd, off, self._cell(f, p))
        out = []
        for j, m in enumerate(self.n_categories_):
            pj = proba[:, j, :m]
            out.append(pj[:, ::-1].copy() if self._reversed[j] else pj.copy())
        return out[0] if self._y_1d else out

    @dask_dispatch(per_customer=False)
    def counterfactual_predict(
        self, X, *, firm=None, period=None, statistic=None, return_proba=False, y=None
    ):
        """Responses as if each row were observed at ``firm`` / ``period`` (the twin).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Rows with their firm and period columns (as in ``fit``).
        firm, period : label or array-like of labels, default=None
            Target cell; None keeps the row's own firm (period).
        statistic : {"mean", "median", "mode"}, default=None
            Defaults to ``predict_statistic``.
        return_proba : bool, default=False
            Return the (n, J, M_max) probabilities in internal codes instead.
        y : array-like, default=None
            Factual answers, used only when ``twin_noise="shared"``.

        Returns
        -------
        ndarray of shape (n_samples, n_targets) (1-D for a single target)
            A Dask DataFrame X gives a lazy Dask DataFrame (Series for one target)
            with X's index; ``firm`` / ``period`` must then be single labels, and
            ``y`` and ``return_proba`` are not supported.
        """
        cov, f, p = self._rows(X)
        f2 = self._override(f, firm, self.firms_, "firm")
        p2 = self._override(p, period, self.periods_, "period")
        node_w = None
        if self.twin_noise == "shared":
            if y is None:
                if firm is not None or period is not None:
                    raise ValueError("twin_noise='shared' needs the factual answers y")
            else:
                mu0, sd0, off0 = self._moments(cov, f, p)
                codes = self._codes(self._check_y(y, reset=False))
                node_w = self._node_posterior(mu0, sd0, self._cell(f, p), codes, off0)
        mu, sd, off = self._moments(cov, f2, p2)
        proba = self._proba_internal(mu, sd, off, self._cell(f2, p2), node_w)
        if return_proba:
            return proba
        return self._shape_out(self._statistic(proba, statistic))

    def complete(self, X, *, statistic=None):
        """The whole twin tensor: answers of every row at every (firm, period).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Rows with their firm and period columns (as in ``fit``).
        statistic : {"mean", "median", "mode"}, default=None
            Summary of the posterior predictive; None uses ``predict_statistic``.

        Returns
        -------
        ndarray of shape (n_samples, n_firms, n_periods, n_targets)
        """
        cov, f, p = self._rows(X)
        out = np.empty((cov.shape[0], self.n_firms_, self.n_periods_, self.n_outputs_))
        for k in range(self.n_firms_):
            for t in range(self.n_periods_):
                kk = np.full_like(f, k)
                tt = np.full_like(p, t)
                mu, sd, off = self._moments(cov, kk, tt)
                proba = self._proba_internal(mu, sd, off, self._cell(kk, tt))
                out[:, k, t] = self._statistic(proba, statistic)
        return out

    def affinity(self, X, *, firm=None, period=None, return_std=False):
        """Mean mu (and sd sqrt(nu)) of the brand affinity z, Eqs. (6)-(7).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Rows with their firm and period columns (as in ``fit``).
        firm, period : label or array-like of labels, default=None
            Cell at which to evaluate; None keeps each row's own firm (period).
        return_std : bool, default=False
            Also return the standard deviation sqrt(nu).

        Returns
        -------
        mu : ndarray (n_samples,)
        sd : ndarray (n_samples,), only with ``return_std=True``
        """
        cov, f, p = self._rows(X)
        f = self._override(f, firm, self.firms_, "firm")
        p = self._override(p, period, self.periods_, "period")
        mu, sd, off = self._moments(cov, f, p)
        return (mu, sd) if return_std else mu

    def posterior_affinity(self, X, y):
        """E and sd of z given x and the observed answers y (quadrature).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Rows with their firm and period columns (as in ``fit``).
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Observed answers, NaN where missing.

        Returns
        -------
        mean, sd : ndarray of shape (n_samples,)
        """
        if self.local_inference != "marginal":
            raise ValueError("posterior_affinity needs local_inference='marginal'")
        cov, f, p = self._rows(X)
        mu, sd, off = self._moments(cov, f, p)
        codes = self._codes(self._check_y(y, reset=False))
        w = self._node_posterior(mu, sd, self._cell(f, p), codes, off)
        nodes, _ = gauss_hermite(self.n_quadrature)
        zq = mu[:, None] + sd[:, None] * nodes[None, :]
        mean = (w * zq).sum(1)
        return mean, np.sqrt(np.maximum((w * zq**2).sum(1) - mean**2, 0.0))

    def impute(self, X, y, *, statistic=None):
        """Fill the NaN answers of y given the observed ones, via p(z | x, y_obs).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Rows with their firm and period columns (as in ``fit``).
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Observed answers, NaN where missing.
        statistic : {"mean", "median", "mode"}, default=None
            Summary of the posterior predictive; None uses ``predict_statistic``.

        Returns
        -------
        ndarray shaped like y: observed cells unchanged, NaN cells filled.
        """
        cov, f, p = self._rows(X)
        y_arr = self._check_y(y, reset=False)
        codes = self._codes(y_arr)
        mu, sd, off = self._moments(cov, f, p)
        cell = self._cell(f, p)
        node_w = self._node_posterior(mu, sd, cell, codes, off)
        filled = self._statistic(self._proba_internal(mu, sd, off, cell, node_w), statistic)
        out = np.where(np.isnan(y_arr), filled, y_arr)
        return self._shape_out(out)

    def sample(self, X, y=None, *, n_draws=1, firm=None, period=None, random_state=None):
        """Draws of the answers: from p(y | x), or given a row's observed answers.

        Without ``y``, each draw is ``z ~ N(mu(x), nu(x))`` then an ordered-logit answer
        per target (the posterior predictive p(y | x) at the row's cell, or at ``firm`` /
        ``period``). With ``y``, the draws are **multiple imputations** of the NaN cells
        of ``y`` conditional on the row's observed cells: ``z`` is drawn from its exact
        posterior ``p(z | x, y_obs) ∝ N(z; mu, nu) prod_j P(y_j | z)`` (inverse-CDF sampling
        on a 129-point grid over mu +/- 6 sd), then each missing answer from
        ``P(y_j | z)``; observed cells are returned unchanged. Global latents are plugged in
        at their posterior means, or cycle through ``n_posterior_samples`` draws from the
        variational posterior when that is > 0 (which also propagates their uncertainty
        into the imputations, as proper multiple imputation asks).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Rows with their firm and period columns.
        y : array-like of shape (n_samples,) or (n_samples, n_targets), default=None
            Observed answers, NaN where missing. None draws every answer from p(y | x).
        n_draws : int, default=1
            Number of draws (imputations).
        firm, period : label, default=None
            Cell at which to draw (None: each row's own); not allowed with ``y``.
        random_state : int, RandomState or None, default=None
            Seed of the draws.

        Returns
        -------
        ndarray of shape (n_draws, n_samples, n_targets) of labels
            (n_draws, n_samples) for a single target.
        """
        if y is not None and (firm is not None or period is not None):
            raise ValueError(
                "sample(X, y) imputes the missing answers at each row's own cell; "
                "firm/period overrides need y=None"
            )
        cov, f, p = self._rows(X)
        f = self._override(f, firm, self.firms_, "firm")
        p = self._override(p, period, self.periods_, "period")
        mu, sd, off = self._moments(cov, f, p)
        cell = self._cell(f, p)
        rng = check_random_state(random_state)
        n_draws = int(n_draws)
        if n_draws < 1:
            raise ValueError(f"n_draws must be a positive integer, got {n_draws}")
        draws = self._global_draws()
        n, J = len(mu), self.n_outputs_
        codes = None
        if y is not None:
            codes = self._codes(self._check_y(y, reset=False))
            if codes.shape[0] != n:
                raise ValueError(f"X has {n} rows but y has {codes.shape[0]}")
        out_codes = np.empty((n_draws, n, J), dtype=int)
        for d in range(n_draws):
            alpha, lam, cut = draws[d % len(draws)]
            a, lm = alpha[:, cell].T + off, lam[:, cell].T  # (n, J)
            if codes is None:
                z = mu + sd * rng.normal(size=n)
            else:
                z = self._posterior_z_draw(mu, sd, a, lm, cut, codes, rng)
            ystar = a + z[:, None] * lm + rng.logistic(size=(n, J))
            out_codes[d] = (ystar[..., None] > cut[None]).sum(-1)
        if codes is not None:
            out_codes = np.where(codes[None] >= 0, codes[None], out_codes)
        lab = self._labels_internal()
        out = lab[np.arange(J)[None, None, :], out_codes]
        return out[..., 0] if self._y_1d else out

    def _posterior_z_draw(self, mu, sd, a, lm, cut, codes, rng, n_grid=129, chunk=4096):
        """One draw of z per row from p(z | x, y_obs) by inverse CDF on a fine grid."""
        from ._core import ordinal_log_prob_np

        grid = np.linspace(-6.0, 6.0, n_grid)
        step = grid[1] - grid[0]
        out = np.empty(len(mu))
        mask = codes >= 0
        y = np.maximum(codes, 0)
        for s in range(0, len(mu), chunk):
            sl = slice(s, s + chunk)
            zg = mu[sl, None] + sd[sl, None] * grid[None, :]  # (m, G)
            eta = a[sl, None, :] + zg[:, :, None] * lm[sl, None, :]  # (m, G, J)
            lp = ordinal_log_prob_np(eta, cut, np.broadcast_to(y[sl, None, :], eta.shape))
            logw = (lp * mask[sl, None, :]).sum(-1) - 0.5 * grid[None, :] ** 2
            w = np.exp(logw - logw.max(1, keepdims=True))
            cdf = np.cumsum(w, axis=1)
            cdf /= cdf[:, -1:]
            u = rng.uniform(size=len(zg))
            k = (cdf < u[:, None]).sum(1)  # bin of each draw, jittered within it
            xi = grid[np.minimum(k, n_grid - 1)] + step * (rng.uniform(size=len(zg)) - 0.5)
            out[sl] = mu[sl] + sd[sl] * xi
        return out

    @dask_dispatch(per_customer=False)
    def transform(self, X):
        """Twin coordinates: E[z] of each row under every firm at its own period.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Rows with their firm and period columns (as in ``fit``).

        Returns
        -------
        ndarray of shape (n_samples, n_firms)
            A lazy Dask DataFrame with X's index when X is a Dask DataFrame.
        """
        cov, f, p = self._rows(X)
        return np.column_stack(
            [self._moments(cov, np.full_like(f, k), p)[0] for k in range(self.n_firms_)]
        )

    def get_feature_names_out(self, input_features=None):
        """``affinity_<firm>`` for each firm.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Ignored (the output names depend on the fitted firms only).

        Returns
        -------
        ndarray of str
            One name per output column of ``transform``.
        """
        check_is_fitted(self)
        return np.array([f"affinity_{k}" for k in self.firms_], dtype=object)

    def twin_simplex(self, X, *, period=None):
        """Softmax over firms of E[z] at ``period`` (default: first period), Figure 4.

        Raw cross-firm comparisons of z are identified only through the priors.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Rows with their firm and period columns (as in ``fit``).
        period : label, default=None
            Period at which every firm is evaluated (None: the first period).

        Returns
        -------
        ndarray of shape (n_samples, n_firms)
        """
        cov, f, p = self._rows(X)
        period = self.periods_[0] if period is None else period
        p = self._override(p, period, self.periods_, "period")
        z = np.column_stack(
            [self._moments(cov, np.full_like(f, k), p)[0] for k in range(self.n_firms_)]
        )
        e = np.exp(z - z.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)

    def _feature_positions(self, features):
        if features is None:
            features = self.strategic_features
        if features is None:
            return list(range(len(self.covariate_names_)))
        out = []
        for feat in features:
            if isinstance(feat, str):
                if feat not in self.covariate_names_:
                    raise ValueError(
                        f"unknown feature {feat!r}; covariates are {self.covariate_names_}"
                    )
                out.append(self.covariate_names_.index(feat))
            else:
                name = self._covariate_names([int(feat)])[0]
                if name not in self.covariate_names_:
                    raise ValueError(f"column {feat} is not a covariate (firm/period column?)")
                out.append(self.covariate_names_.index(name))
        return out

    def driver_effects(
        self,
        X,
        features=None,
        deltas=_DELTAS,
        *,
        firm=None,
        period=None,
        clip=False,
        output="affinity",
        target=None,
    ):
        """Individual response curves of affinity to shifted survey items (Figure 7).

        Each feature is shifted by each delta in raw units (before imputation and
        scaling), one feature at a time, all other inputs fixed.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Rows with their firm and period columns (as in ``fit``).
        features : list of names or column positions, default=None
            Defaults to ``strategic_features`` or every covariate.
        deltas : array-like, default=-2..2 by 0.1
            Shifts in the feature's raw units (the paper's grid by default).
        firm, period : label, default=None
            Cell at which to evaluate (None: each row's own).
        clip : bool, default=False
            Clip shifted values to the training range (the paper does not clip).
        output : {"affinity", "response"}, default="affinity"
            E[z], or E[y_target] for ``output="response"``.
        target : int, default=None
            Target index for ``output="response"``.

        Returns
        -------
        ndarray of shape (n_samples, n_features, n_deltas)
            NaN for rows whose feature is NaN.
        """
        cov, f, p = self._rows(X)
        f = self._override(f, firm, self.firms_, "firm")
        p = self._override(p, period, self.periods_, "period")
        deltas = np.asarray(deltas, dtype=float).ravel()
        pos = self._feature_positions(features)
        if output not in ("affinity", "response"):
            raise ValueError(f"output must be 'affinity' or 'response', got {output!r}")
        if output == "response" and (target is None or not 0 <= int(target) < self.n_outputs_):
            raise ValueError("output='response' needs a target index")
        n, D = cov.shape[0], len(deltas)
        out = np.empty((n, len(pos), D))
        ff, pp = np.tile(f, D), np.tile(p, D)
        for i, v in enumerate(pos):
            big = np.tile(cov, (D, 1))
            big[:, v] += np.repeat(deltas, n)
            if clip:
                big[:, v] = np.clip(big[:, v], self.feature_min_[v], self.feature_max_[v])
            mu, sd, off = self._moments(big, ff, pp)
            if output == "response":
                proba = self._proba_internal(mu, sd, off, self._cell(ff, pp))
                vals = self._statistic(proba, "mean")[:, int(target)]
            else:
                vals = mu
            curve = vals.reshape(D, n).T
            curve[np.isnan(cov[:, v])] = np.nan
            out[:, i] = curve
        return out

    @dask_dispatch(per_customer=False)
    def recommend_actions(
        self,
        X,
        features=None,
        delta=1.0,
        *,
        firm=None,
        period=None,
        output="affinity",
        target=None,
    ):
        """The "path of least resistance": per customer, the lever that most raises z.

        The gain of feature v is ``E[z | x + delta_v e_v] - E[z | x]``. ``delta`` may be a
        dict ``{feature: delta}`` so that items coded "higher = worse" are improved by a
        negative shift (e.g. ``{"change_likelihood": -1}``).

        The gains are computed for each respondent from the fitted network, so the
        recommended lever differs between respondents wherever the model's effects do.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Rows with their firm and period columns (as in ``fit``).
        features : list of names or column positions, default=None
            Candidate levers; defaults to the keys of a ``delta`` dict, then
            ``strategic_features``, then every covariate.
        delta : float or dict, default=1.0
            Shift of every lever, or ``{feature: shift}`` per lever (raw units).
        firm, period : label, default=None
            Cell at which to evaluate (None: each row's own).
        output : {"affinity", "response"}, default="affinity"
            Gain in E[z], or in E[y_target] for ``output="response"``.
        target : int, default=None
            Target index for ``output="response"``.

        Returns
        -------
        DataFrame
            ``best_feature``, ``gain`` and one ``gain_<feature>`` column per feature
            (NaN where the feature is NaN).
            A lazy Dask DataFrame, scored partition by partition, when X is a Dask
            DataFrame (``firm`` / ``period`` then single labels).
        """
        pos = self._feature_positions(
            features if features is not None else (list(delta) if isinstance(delta, dict) else None)
        )
        names = [self.covariate_names_[v] for v in pos]
        base = self.affinity(X, firm=firm, period=period)
        if output == "response":
            mean = self.counterfactual_predict(X, firm=firm, period=period, statistic="mean")
            base = mean if mean.ndim == 1 else mean[:, int(target)]
        gains = np.empty((len(base), len(pos)))
        for i, name in enumerate(names):
            d = delta.get(name, 1.0) if isinstance(delta, dict) else float(delta)
            eff = self.driver_effects(
                X, [name], [d], firm=firm, period=period, output=output, target=target
            )
            gains[:, i] = eff[:, 0, 0] - base
        valid = ~np.isnan(gains)
        best = np.where(valid.any(1), np.nanargmax(np.where(valid, gains, -np.inf), 1), -1)
        frame = pd.DataFrame(
            {
                "best_feature": [names[b] if b >= 0 else None for b in best],
                "gain": np.where(
                    best >= 0, gains[np.arange(len(best)), np.maximum(best, 0)], np.nan
                ),
            },
            index=X.index if isinstance(X, pd.DataFrame) else None,
        )
        for i, name in enumerate(names):
            frame[f"gain_{name}"] = gains[:, i]
        if (
            self.customer_encoder == "linear"
            and len(names) > 1
            and frame["best_feature"].nunique() == 1
        ):
            _warn(
                "customer_encoder='linear' gives every lever the same effect on the affinity "
                f"for every respondent, so all {len(frame)} get the same lever "
                f"({frame['best_feature'].iloc[0]!r}); fit with customer_encoder='mlp' for "
                "levers that differ between respondents"
            )
        return frame

    def alpha_interval(self, level=0.95):
        """Credible band of the baselines alpha_jkt (Figure 5).

        Parameters
        ----------
        level : float, default=0.95
            Credible level of the band.

        Returns
        -------
        ndarray of shape (2, J, K, T)
            Lower and upper bounds.
        """
        check_is_fitted(self)
        zq = norm.ppf(0.5 + level / 2)
        vp = self.variational_params_
        return np.stack(
            [vp["alpha_loc"] - zq * vp["alpha_scale"], vp["alpha_loc"] + zq * vp["alpha_scale"]]
        )

    def loadings_interval(self, level=0.95, *, n_mc=500):
        """Monte Carlo credible band of the loadings lambda_jkt (Figure 6).

        Parameters
        ----------
        level : float, default=0.95
            Credible level of the band.
        n_mc : int, default=500
            Draws from the variational posterior.

        Returns
        -------
        ndarray of shape (2, J, K, T)
            Lower and upper bounds.
        """
        check_is_fitted(self)
        vp = self.variational_params_
        rng = np.random.default_rng(self.random_seed_)
        beta = np.exp(
            vp["beta_loc"] + vp["beta_scale"] * rng.normal(size=(n_mc,) + vp["beta_loc"].shape)
        )
        if self.firm_inference == "amortized":
            phi = rng.gamma(self.phi_prior_shape_, size=(n_mc,) + self.phi_prior_shape_.shape)
            phi = phi / self.phi_prior_rate_
        else:
            phi = np.exp(
                vp["phi_loc"] + vp["phi_scale"] * rng.normal(size=(n_mc,) + vp["phi_loc"].shape)
            )
        lam = np.einsum("sjl,sktl->sjkt", beta, phi)
        return np.quantile(lam, [0.5 - level / 2, 0.5 + level / 2], axis=0)

    def neg_elbo(self, X, y, *, n_mc=20):
        """Average held-out negative ELBO per individual (Table 3 "loss").

        Local term averaged over ``n_mc`` draws of the globals, plus the global KL
        divided by the number of training rows.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Rows with their firm and period columns (as in ``fit``).
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Observed answers, NaN where missing.
        n_mc : int, default=20
            Draws of the global latents.

        Returns
        -------
        float
            Negative ELBO per individual.
        """
        import jax
        import jax.numpy as jnp

        from ._model import draw_noise, evaluate

        cov, f, p = self._rows(X)
        codes = self._codes(self._check_y(y, reset=False))
        cfg = self._config()
        vp = self.variational_params_
        K, T, L, J = self.n_firms_, self.n_periods_, self.n_firm_factors, self.n_outputs_
        params = {
            "f": self.encoder_params_,
            "g": self.kpi_encoder_params_,
            "alpha_loc": vp["alpha_loc"].reshape(J, K * T),
            "alpha_raw": np.log(vp["alpha_scale"]).reshape(J, K * T),
            "beta_loc": vp["beta_loc"],
            "beta_raw": np.log(vp["beta_scale"]),
            "phi_loc": vp["phi_loc"].reshape(K * T, L),
            "phi_raw": np.log(vp["phi_scale"]).reshape(K * T, L),
            "cut_loc": vp["cut_loc"],
            "cut_raw": np.log(vp["cut_scale"]),
        }
        params = jax.tree_util.tree_map(lambda a: jnp.asarray(a, jnp.float32), params)
        if self.kpi_ is None:
            kpi = np.zeros((K * T, 1), np.float32)
        else:
            kpi = ((self.kpi_.reshape(K * T, -1) - self.kpi_mean_) / self.kpi_scale_).astype(
                np.float32
            )
        B = int(self.batch_size)
        data = {
            "x": self._encode(cov, f, p).astype(np.float32),
            "cell": (f * T + p).astype(np.int32),
            "y": np.maximum(codes, 0).astype(np.int32),
            "mask": (codes >= 0).astype(np.float32),
        }
        n = len(data["x"])
        pad = (-n) % B
        data = {
            k: np.concatenate([v, np.zeros((pad,) + v.shape[1:], v.dtype)]) for k, v in data.items()
        }
        noise = draw_noise(
            np.random.default_rng(self.random_seed_ + 2), cfg, vp["cut_mask"].shape[1], B, int(n_mc)
        )
        ll_all, kl = [], 0.0
        for s in range(0, n + pad, B):
            chunk = {k: v[s : s + B] for k, v in data.items()}
            ll, kl = evaluate(
                params,
                noise,
                chunk,
                jnp.asarray(kpi),
                jnp.asarray(vp["cut_mask"], jnp.float32),
                cfg=cfg,
            )
            ll_all.append(np.asarray(ll))
        ll = np.concatenate(ll_all)[:n]
        return float(-np.mean(ll) + float(kl) / self.n_train_samples_)

    def score(self, X, y, sample_weight=None):
        """Mean over targets of R^2 of ``predict``, ignoring NaN cells.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Rows with their firm and period columns (as in ``fit``).
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Observed answers, NaN where missing.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows in each target's R^2.

        Returns
        -------
        float
            Mean R^2 over the targets with at least two observed answers.
        """
        from sklearn.metrics import r2_score

        pred = np.asarray(self.predict(X), dtype=float)
        y_arr = np.asarray(y, dtype=float)
        if pred.ndim == 1:
            pred, y_arr = pred[:, None], y_arr.reshape(-1, 1)
        scores = []
        for j in range(y_arr.shape[1]):
            obs = ~np.isnan(y_arr[:, j])
            sw = None if sample_weight is None else np.asarray(sample_weight)[obs]
            if obs.sum() >= 2:
                scores.append(r2_score(y_arr[obs, j], pred[obs, j], sample_weight=sw))
        return float(np.mean(scores)) if scores else float("nan")
