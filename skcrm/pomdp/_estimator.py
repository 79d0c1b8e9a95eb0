"""POMDPPolicy: the scikit-learn shell around the IO-HMM estimation and the POMDP solver."""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, check_random_state, validate_data

from skcrm.utils import progress
from skcrm.utils._dask import as_dask_frame, is_dask_frame

from . import _parametric, _solver
from ._core import belief_update, emission_likelihoods, forward_filter
from ._dask import dask_scoring
from ._em import fit_em, n_free_parameters, order_states, run_em
from ._messages import warn
from ._model import POMDPModel
from ._strategy import strategic_quadrants

__all__ = ["POMDPPolicy"]

_PARAMETRIC_ATTRS = (
    "coef_",
    "standard_errors_",
    "coef_names_",
    "covariate_mean_",
    "covariate_patterns_",
    "pattern_solutions_",
    "action_feature_matrix_",
    "emission_intercepts_",
    "emission_scale_",
    "cutpoints_",
)


class _Panel:
    """A validated customer-period panel, padded to (n_customers, n_periods)."""

    def __init__(self, customers, codes, pos, actions, outcomes):
        self.customers = customers  # (N,) ids in order of first appearance
        self.codes = codes  # (n_rows,) customer index of each input row
        self.pos = pos  # (n_rows,) period index within the customer (0-based)
        N = len(customers)
        T = int(pos.max()) + 1 if len(pos) else 0
        self.actions = np.full((N, T), -1, dtype=np.int64)
        self.outcomes = np.full((N, T), -1, dtype=np.int64)
        self.actions[codes, pos] = actions
        self.outcomes[codes, pos] = outcomes
        self.lengths = np.bincount(codes, minlength=N)

    @property
    def n_rows(self):
        return len(self.codes)

    def n_observed(self):
        """Number of customer-periods with an observed outcome."""
        return int((self.outcomes >= 0).sum())

    def action_counts(self, n_actions, later=False):
        """Rows per action; ``later=True`` counts only periods after a customer's first."""
        acts = self.actions[:, 1:] if later else self.actions
        return np.bincount(acts[acts >= 0], minlength=n_actions)


class POMDPPolicy(TransformerMixin, BaseEstimator):
    """Hidden relationship states, optimal contact policy and value of learning (Fan 2015).

    Fits an input-output hidden Markov model to a long customer-period panel (hidden
    relationship states; action-dependent transitions ``Q[a]`` and outcome emissions
    ``P[a]``; EM with restarts and Dirichlet pseudo-counts), then solves the POMDP of the
    firm that filters each customer's state from purchases (the "adaptive learning"
    policy) and the open-loop baseline that plans without looking (the dissertation's
    "HMM"). Timing is transit-then-emit: the action of period t moves the state into
    period t and shapes period t's outcome.

    A ``dask.dataframe.DataFrame`` (or a Parquet path) is fitted out of core and equals the
    in-memory fit; ``transform``, ``decision_function``, ``predict``,
    ``predict_outcome_proba``, ``recommend``, ``dynamic_customer_value``,
    ``value_of_learning`` and ``strategic_segments`` of a Dask X return Dask objects
    computed partition by partition (the outcomes must then be the column
    ``outcome_col``; see "Scaling out" in the docs).

    The "learning" here is *filtering of the hidden state*, as in the dissertation: the
    parameters are point estimates treated as known afterwards; there is no Bayesian
    learning of parameters. The value of learning (VOL) is ``DCV_POMDP - DCV_open_loop``.

    Parameters
    ----------
    n_states : int, default=2
        Number of hidden relationship states K. After fitting, state 0 is the weakest
        (lowest expected outcome value under the most frequent action).
    discount : float, default=0.95
        Discount factor per period, in (0, 1) (1 is allowed with a finite ``horizon``).
        It does not change the likelihood, so do not tune it with ``score``.
    horizon : int or None, default=None
        None for the infinite discounted horizon; an int for a finite horizon (each row's
        decision then plans ``horizon`` periods ahead).
    action_costs : None, "identity", dict, Series or array-like, default=None
        Cost of each action: None = zero, ``"identity"`` = the numeric action label is
        the spend (dissertation: reward = revenue - marketing), a dict or Series keyed
        by action label. A list is accepted only when the action labels are the
        integers ``0 .. A-1`` (otherwise its order would be a guess).
    outcome_values : dict, Series, array-like or None, default=None
        Value of each outcome level (dissertation: mean revenue per purchase level),
        keyed by level; a list follows the level order (integer levels ``0 .. L-1``,
        the categories of an ordered categorical, or ``outcome_levels``). None = the
        level index ``0, 1, ..., L-1``.
    outcome_levels : array-like or None, default=None
        The outcome levels from lowest to highest. Needed for string outcomes that are
        not an ordered categorical (they are never sorted alphabetically).
    missing_values : array-like or None, default=None
        Outcome codes that mean "not observed" besides NaN (e.g. ``[-1]``). Negative
        codes are refused otherwise.
    action_effects : {"both", "transition", "emission"}, default="both"
        Which matrices depend on the action; the others are shared across actions.
    transition_model : {"tabular", "logit"}, default="tabular"
        ``"tabular"``: a free K x K matrix per action. ``"logit"``: the dissertation's
        multinomial logit relative to staying, in ``action_features`` and
        ``covariate_cols``. Use together with
        ``emission_model="ordered_logit"``.
    emission_model : {"tabular", "ordered_logit"}, default="tabular"
        ``"ordered_logit"``: ordered logit with monotone state intercepts
        ``beta_j = beta_{j-1} + exp(delta_j)``, state scales ``exp(s_j)`` (state 0 is the
        unit; all fixed to 1 with fewer than 3 outcome levels) and cut points
        ``mu_l = sum_{k<=l} exp(nu_k) exp(tau . z)``.
    estimator : {"auto", "em", "mle"}, default="auto"
        ``"em"`` (tabular models), ``"mle"`` (parametric models: L-BFGS-B on the JAX
        forward-algorithm likelihood, standard errors from the inverse Hessian);
        ``"auto"`` picks the one that fits the model family.
    action_features : dict or None, default=None
        Parametric models: ``action label -> feature vector`` (e.g. spend/10,
        (spend/10)**2); None = dummies of the actions after the first.
    covariate_cols : list of str or None, default=None
        Parametric models: static customer covariates (columns of a DataFrame X). They
        shift the transition logits, the latent purchase utility and the scale of the cut
        points, so every covariate pattern has its own POMDP, solved once per unique row.
    n_init : int, default=5
        EM (or MLE) restarts; the best penalised log-likelihood is kept.
    max_iter : int, default=500
        EM iterations per restart.
    tol : float, default=1e-6
        Relative change of the EM objective that stops a restart.
    pseudo_count : float, default=0.1
        Dirichlet pseudo-count added to every expected count (MAP); 0 = maximum
        likelihood.
    initial_state : "estimate" or array-like of shape (K,), default="estimate"
        Estimate the distribution of the state before the first period, or fix it (a
        fixed array keeps the states in the EM's order, not re-sorted).
    n_belief_points : int, default=201
        Belief points of the point-based solver (grid on P(high) for two states, simplex
        lattice with at most this many points otherwise).
    solver_tol : float, default=1e-3
        Relative gap between the upper and lower bounds of the value at
        ``startprob_`` at which the POMDP solver stops (the grid points are swept by
        value iteration first, then points reachable from ``startprob_`` are added until
        the gap is below ``solver_tol``; ``solver_info_`` reports both bounds).
    solver_max_iter : int, default=10000
        Iterations of grid value iteration.
    customer_col, time_col, action_col : str
        Columns of X with the customer id, the period (consecutive within a customer:
        integers, pandas Periods, or dates) and the action label of that period.
    time_freq : str or None, default=None
        Period length of date periods (a pandas frequency such as ``"M"`` or ``"W"``);
        None infers it from the dates.
    outcome_col : str or None, default="outcome"
        Column of X with the outcome level, used when ``y`` is None (so a Pipeline can
        carry another target). NaN outcomes are unobserved periods.
    random_state : int, RandomState or None, default=None
        Seeds the EM restarts and the simulations.
    n_jobs : int or None, default=None
        Parallel POMDP solves over covariate patterns (joblib).
    verbose : int, default=0
        Print EM progress.

    Attributes
    ----------
    actions_ : ndarray (A,)
        Sorted action labels seen in fit.
    outcome_levels_ : ndarray (L,)
        Outcome labels; column l of the emissions is ``outcome_levels_[l]``.
    outcome_values_, action_costs_ : ndarray (L,), (A,)
    startprob_ : ndarray (K,)
        Distribution of the state before each customer's first period.
    transmat_ : ndarray (A, K, K)
        ``transmat_[a, s, s']``.
    emissionprob_ : ndarray (A, K, L)
        ``emissionprob_[a, s', y]``.
    reward_ : ndarray (K, A)
        ``R[s, a] = sum_s' Q_a(s,s') sum_y P_a(s',y) v_y - c_a``.
    state_order_ : ndarray (K,)
        Permutation applied to the EM's states to sort them (state 0 = weakest).
    log_likelihood_, n_iter_, converged_ : float, int, bool
        Log-likelihood of the fitted model, iterations and convergence of the best
        restart.
    log_likelihood_history_ : ndarray
        Objective per iteration (EM: one column per restart) or per restart (MLE).
    n_actions_, n_outcomes_ : int
        Number of actions A and outcome levels L.
    n_params_, aic_, bic_ : int, float, float
        Free parameters and information criteria (n = observed outcomes).
    alpha_vectors_, alpha_actions_ : ndarray (m, K), (m,)
        Alpha vectors of V* and their actions.
    alpha_vectors_open_loop_ : ndarray (m', K)
    alpha_stages_, alpha_stages_open_loop_ : list of ndarray or None
        Per-stage alpha sets for a finite horizon.
    mdp_values_ : ndarray (K,) or None
    belief_points_ : ndarray (n, K)
    solver_n_iter_, solver_residual_ : int, float
        Grid value-iteration iterations and final residual.
    solver_info_ : dict
        Solver report: ``lower``, ``upper``, ``gap``, ``relative_gap`` and
        ``converged`` at ``startprob_`` (and the same for the open loop).
    value_at_start_, vol_at_start_ : float
        DCV (POMDP) and VOL at ``startprob_``.
    n_features_in_, feature_names_in_
    coef_, standard_errors_, coef_names_ : ndarray, ndarray, list of str
        Parametric models: the MLE in the layout of ``skcrm.pomdp._parametric``,
        its inverse-Hessian standard errors and readable names.
    emission_intercepts_, emission_scale_, cutpoints_ : ndarray (K,), (K,), (L-1,)
        Parametric models: ``beta_j``, ``sigma_j`` and the cut points at ``z = 0``.
    covariate_patterns_ : ndarray (G, d_z)
        Unique covariate rows seen in fit (one POMDP each); the per-pattern solutions
        are in ``pattern_solutions_``. ``transmat_``, ``emissionprob_`` and the solver
        attributes describe the reference customer (covariates at their training mean),
        used where no customer is given (``X=None``) and by ``simulate``.
    pattern_solutions_ : list of dict
        Parametric models with covariates: the solved POMDP of each covariate pattern.
    action_feature_matrix_ : ndarray (A, d_a)
        Parametric models: the action features, one row per action of ``actions_``.
    covariate_mean_ : ndarray (d_z,)
        Parametric models: training mean of the covariates (the reference customer).

    References
    ----------
    Fan, J. (2015). A Double Loop Learning Model for Integrated and Proactive Customer
    Relationship Management. PhD dissertation.

    Examples
    --------
    >>> from skcrm.datasets import make_pomdp_crm
    >>> X, y, truth = make_pomdp_crm(n_customers=300, n_periods=30, random_state=0)
    >>> est = POMDPPolicy(action_costs=[0, 2, 10], outcome_values=[0, 10, 40],
    ...                   n_init=2, random_state=0).fit(X, y)
    >>> est.transform(X, y).shape, est.predict(X, y)[:3].tolist()
    ((9000, 2), [2, 2, 2])
    >>> bool(est.vol_at_start_ > 0)
    True
    """

    _parameter_constraints: dict = {
        "n_states": [Interval(Integral, 1, None, closed="left")],
        "discount": [Interval(Real, 0, 1, closed="right")],
        "horizon": [None, Interval(Integral, 1, None, closed="left")],
        "action_costs": [None, StrOptions({"identity"}), dict, "array-like"],
        "outcome_values": [None, dict, "array-like"],
        "outcome_levels": [None, "array-like"],
        "missing_values": [None, "array-like"],
        "time_freq": [None, str],
        "action_effects": [StrOptions({"both", "transition", "emission"})],
        "transition_model": [StrOptions({"tabular", "logit"})],
        "emission_model": [StrOptions({"tabular", "ordered_logit"})],
        "estimator": [StrOptions({"auto", "em", "mle"})],
        "action_features": [None, dict],
        "covariate_cols": [None, list],
        "n_init": [Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "pseudo_count": [Interval(Real, 0, None, closed="left")],
        "initial_state": [StrOptions({"estimate"}), "array-like"],
        "n_belief_points": [Interval(Integral, 3, None, closed="left")],
        "solver_tol": [Interval(Real, 0, None, closed="neither")],
        "solver_max_iter": [Interval(Integral, 1, None, closed="left")],
        "customer_col": [str],
        "time_col": [str],
        "action_col": [str],
        "outcome_col": [None, str],
        "random_state": ["random_state"],
        "n_jobs": [None, Integral],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        n_states=2,
        *,
        discount=0.95,
        horizon=None,
        action_costs=None,
        outcome_values=None,
        outcome_levels=None,
        missing_values=None,
        action_effects="both",
        transition_model="tabular",
        emission_model="tabular",
        estimator="auto",
        action_features=None,
        covariate_cols=None,
        n_init=5,
        max_iter=500,
        tol=1e-6,
        pseudo_count=0.1,
        initial_state="estimate",
        n_belief_points=201,
        solver_tol=1e-3,
        solver_max_iter=10_000,
        customer_col="customer_id",
        time_col="period",
        time_freq=None,
        action_col="action",
        outcome_col="outcome",
        random_state=None,
        n_jobs=None,
        verbose=0,
    ):
        self.n_states = n_states
        self.discount = discount
        self.horizon = horizon
        self.action_costs = action_costs
        self.outcome_values = outcome_values
        self.outcome_levels = outcome_levels
        self.missing_values = missing_values
        self.action_effects = action_effects
        self.transition_model = transition_model
        self.emission_model = emission_model
        self.estimator = estimator
        self.action_features = action_features
        self.covariate_cols = covariate_cols
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.pseudo_count = pseudo_count
        self.initial_state = initial_state
        self.n_belief_points = n_belief_points
        self.solver_tol = solver_tol
        self.solver_max_iter = solver_max_iter
        self.customer_col = customer_col
        self.time_col = time_col
        self.time_freq = time_freq
        self.action_col = action_col
        self.outcome_col = outcome_col
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = False
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True
        tags.input_tags.string = True
        return tags

    # ------------------------------------------------------------------ input handling
    def _check_columns(self, X, reset):
        """Feature names (when ``reset``) and the id/time/action columns of a DataFrame X."""
        if reset:
            validate_data(self, X, reset=True, skip_check_array=True)
        missing = [c for c in (self.customer_col, self.time_col, self.action_col) if c not in X]
        if missing:
            raise ValueError(
                f"X is missing column(s) {missing} (set customer_col/time_col/action_col); "
                f"it has {list(X.columns)}"
            )

    def _columns(self, X, y, reset):
        """(ids, times, action labels, outcome values or None) from a table or an array."""
        if is_dask_frame(X):
            raise ValueError(
                "this method needs the panel X in memory; a Dask X is accepted by fit and by "
                "the per-customer methods (transform, decision_function, predict, "
                "predict_outcome_proba, recommend, dynamic_customer_value, value_of_learning, "
                "strategic_segments): pass X.compute() or a sample of customers"
            )
        if isinstance(X, pd.DataFrame):
            self._check_columns(X, reset)
            ids = X[self.customer_col].to_numpy()
            times = X[self.time_col].to_numpy()
            acts = X[self.action_col].to_numpy()
            if y is None and self.outcome_col is not None and self.outcome_col in X:
                y = X[self.outcome_col]
        else:
            arr = validate_data(
                self,
                X,
                reset=reset,
                dtype=None,
                ensure_all_finite="allow-nan",
                ensure_min_samples=1,
            )
            if arr.shape[1] < 3:
                raise ValueError(
                    "an array X needs the columns [customer id, period, action] (and "
                    f"optionally the outcome); got {arr.shape[1]} column(s)"
                )
            ids, times, acts = arr[:, 0], arr[:, 1], arr[:, 2]
            if y is None and arr.shape[1] >= 4:
                y = arr[:, 3]
        if len(ids) == 0:
            raise ValueError("X has no rows")
        if pd.isna(pd.Series(ids)).any():
            raise ValueError(f"column {self.customer_col!r} has missing customer ids")
        return ids, times, acts, y

    def _panel(self, X, y, *, fitting):
        ids, times, acts, y = self._columns(X, y, reset=fitting)
        if y is None:
            raise ValueError(
                "outcomes are needed: pass y or include the outcome column "
                f"{self.outcome_col!r} in X"
            )
        y_in = y if isinstance(y, pd.Series) else np.asarray(y)
        if np.ndim(y_in) != 1 or len(y_in) != len(ids):
            raise ValueError(
                f"y must be 1-D with one outcome per row of X ({len(ids)}), got {np.shape(y_in)}"
            )
        t = self._periods(times)
        if np.any(~np.isfinite(t)) or np.any(t != np.round(t)):
            raise ValueError(f"column {self.time_col!r} must hold integer periods")
        codes, customers = pd.factorize(pd.Series(ids), sort=False)
        order = np.lexsort((t, codes))
        sc, st = codes[order], t[order]
        same = sc[1:] == sc[:-1]
        step = st[1:] - st[:-1]
        if np.any(same & (step == 0)):
            who = _plain(np.asarray(customers)[sc[1:][same & (step == 0)][0]])
            raise ValueError(
                f"duplicate periods: customer {who!r} has two rows with the same {self.time_col!r}"
            )
        if np.any(same & (step != 1)):
            who = _plain(np.asarray(customers)[sc[1:][same & (step != 1)][0]])
            raise ValueError(
                f"gap in periods: customer {who!r} skips a {self.time_col!r} value; periods "
                "must be consecutive within a customer (add the missing periods with a NaN "
                "outcome if they were not observed)"
            )
        first = np.full(len(customers), np.inf)
        np.minimum.at(first, codes, t)
        pos = (t - first[codes]).astype(np.int64)
        a_idx = self._encode_actions(acts, fitting)
        y_idx = self._encode_outcomes(y_in, fitting)
        return _Panel(np.asarray(customers), codes.astype(np.int64), pos, a_idx, y_idx)

    def _periods(self, times):
        """Integer period numbers from integers, pandas Periods or datetimes (+ time_freq)."""
        ser = pd.Series(times)
        if isinstance(ser.dtype, pd.PeriodDtype):
            return ser.map(lambda p: p.ordinal).to_numpy(dtype=float)
        if pd.api.types.is_datetime64_any_dtype(ser) or (
            ser.dtype == object and len(ser) and isinstance(ser.iloc[0], pd.Timestamp)
        ):
            ser = pd.to_datetime(ser)
            freq = self._date_freq(ser)
            return ser.dt.to_period(freq).map(lambda p: p.ordinal).to_numpy(dtype=float)
        t = pd.to_numeric(ser, errors="coerce").to_numpy(dtype=float)
        return t

    def _date_freq(self, dates):
        """Period length of date periods: ``time_freq`` or inferred from the distinct dates."""
        ser = pd.Series(dates)
        if ser.isna().any():
            raise ValueError(f"column {self.time_col!r} has missing dates")
        freq = self.time_freq
        if freq is None:
            uniq = pd.DatetimeIndex(np.unique(ser.to_numpy()))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                freq = pd.infer_freq(uniq) if len(uniq) >= 3 else None
            freq = getattr(freq, "freqstr", freq)
            if freq is None:
                raise ValueError(
                    f"column {self.time_col!r} holds dates whose period length cannot be "
                    "inferred; pass time_freq (e.g. 'M' for months, 'W' for weeks)"
                )
        freq = {"MS": "M", "ME": "M", "QS": "Q", "QE": "Q", "YS": "Y", "YE": "Y"}.get(
            str(freq), freq
        )
        if isinstance(freq, str) and freq.startswith("W-"):
            freq = "W"
        return freq

    def _encode_actions(self, acts, fitting):
        acts = np.asarray(acts)
        if pd.isna(pd.Series(acts)).any():
            raise ValueError(f"column {self.action_col!r} has missing actions")
        if fitting:
            self.actions_ = np.unique(acts)
        idx = np.searchsorted(self.actions_, acts)
        idx = np.clip(idx, 0, len(self.actions_) - 1)
        bad = self.actions_[idx] != acts
        if np.any(bad):
            unknown = sorted(set(np.asarray(acts)[bad].tolist()), key=str)[:5]
            raise ValueError(
                f"unknown action(s) {unknown} in column {self.action_col!r}; the model was "
                f"fitted on actions {self.actions_.tolist()}"
            )
        return idx.astype(np.int64)

    def _missing_mask(self, y):
        missing = pd.isna(pd.Series(y)).to_numpy()
        if self.missing_values is not None:
            codes = list(np.atleast_1d(np.asarray(self.missing_values, dtype=object)))
            missing = missing | pd.Series(y).isin(codes).to_numpy()
        return missing

    def _encode_outcomes(self, y, fitting):
        ser = y if isinstance(y, pd.Series) else None
        y = (
            np.asarray(y, dtype=object)
            if not np.issubdtype(np.asarray(y).dtype, np.number)
            else np.asarray(y)
        )
        missing = self._missing_mask(y)
        obs = y[~missing]
        if fitting:
            if obs.size == 0:
                raise ValueError("y has no observed outcome (all NaN)")
            self.outcome_levels_ = self._outcome_levels(obs, ser)
        levels = self.outcome_levels_
        out = np.full(len(y), -1, dtype=np.int64)
        if obs.size:
            lookup = {_plain(v): k for k, v in enumerate(levels.tolist())}
            keys = [_plain(v) for v in obs.tolist()]
            idx = np.array([lookup.get(k, -1) for k in keys], dtype=np.int64)
            if np.any(idx < 0):
                bad = sorted({k for k, i in zip(keys, idx.tolist(), strict=True) if i < 0}, key=str)
                raise ValueError(
                    f"outcome level(s) {bad[:5]} are outside the fitted range "
                    f"{[_plain(v) for v in levels.tolist()]}; missing outcomes must be NaN "
                    "(or listed in missing_values)"
                )
            out[~missing] = idx
        return out

    def _outcome_levels(self, obs, ser):
        """Outcome levels in their meaningful order (never a silent alphabetical sort)."""
        if self.outcome_levels is not None:
            levels = list(self.outcome_levels)
            if len(set(map(_plain, levels))) != len(levels):
                raise ValueError("outcome_levels has duplicate levels")
            unknown = sorted({_plain(v) for v in obs.tolist()} - set(map(_plain, levels)), key=str)
            if unknown:
                raise ValueError(
                    f"y has outcome level(s) {unknown[:5]} that are not in outcome_levels "
                    f"{[_plain(v) for v in levels]}"
                )
            return np.asarray(
                levels, dtype=object if any(isinstance(v, str) for v in levels) else None
            )
        if ser is not None and isinstance(ser.dtype, pd.CategoricalDtype):
            if not ser.dtype.ordered:
                raise ValueError(
                    "y is an unordered categorical: its levels have no meaningful order; make "
                    "it ordered (pd.Categorical(..., ordered=True)) or pass outcome_levels"
                )
            return np.asarray(ser.dtype.categories)
        numeric = all(isinstance(v, Real) and not isinstance(v, bool) for v in obs.tolist()[:1000])
        if numeric:
            vals = np.asarray(obs, dtype=float)
            if np.any(vals != np.round(vals)):
                raise ValueError(
                    "y looks continuous (non-integer values, e.g. "
                    f"{_plain(vals[vals != np.round(vals)][0])}); POMDPPolicy needs discrete "
                    "outcome levels: discretize it (e.g. pd.cut into purchase levels) and pass "
                    "the value of each level as outcome_values"
                )
            if vals.min() < 0:
                code = int(vals.min())
                raise ValueError(
                    f"y has the negative outcome code {code}; outcome levels are "
                    "0, 1, ..., L-1. Missing outcomes must be NaN, or name the code in "
                    f"missing_values=[{code}]"
                )
            L = int(vals.max()) + 1
            ov = self.outcome_values
            if isinstance(ov, (dict, pd.Series)):
                keys = [k for k in dict(ov) if isinstance(_plain(k), Integral)]
                L = max([L] + [int(k) + 1 for k in keys])
            elif ov is not None:  # levels that a subset (a CV fold) may not show
                L = max(L, len(np.asarray(ov)))
            if L > _MAX_LEVELS:
                raise ValueError(
                    f"y has outcome levels up to {L - 1} ({len(np.unique(vals))} distinct "
                    f"values): it looks continuous or a count; POMDPPolicy needs at most "
                    f"{_MAX_LEVELS} discrete levels (discretize it, or pass outcome_levels)"
                )
            return np.arange(L)
        kinds = {type(_plain(v)) for v in obs.tolist()}
        if kinds != {str}:
            raise ValueError(f"y mixes outcome label types {sorted(t.__name__ for t in kinds)}")
        raise ValueError(
            f"y has string outcome levels {sorted(set(obs.tolist()))[:6]}: their order cannot "
            "be guessed (alphabetical order is rarely the value order); pass an ordered "
            "categorical or outcome_levels=[...] from lowest to highest"
        )

    def _costs(self):
        A = len(self.actions_)
        c = self.action_costs
        if c is None:
            return np.zeros(A)
        if isinstance(c, str):
            try:
                return self.actions_.astype(float)
            except (TypeError, ValueError) as exc:
                raise ValueError("action_costs='identity' needs numeric action labels") from exc
        return _by_label(c, self.actions_, "action_costs", "action")

    def _values(self):
        L = len(self.outcome_levels_)
        if self.outcome_values is None:
            return np.arange(L, dtype=float)
        ordered = self.outcome_levels is not None or not np.issubdtype(
            np.asarray(self.outcome_levels_).dtype, np.number
        )
        return _by_label(
            self.outcome_values,
            self.outcome_levels_,
            "outcome_values",
            "outcome level",
            positional_ok=ordered,
        )

    # ------------------------------------------------------------------ fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Estimate the model by EM and solve the POMDP and its open-loop baseline.

        Parameters
        ----------
        X : DataFrame, array (n_rows, 3 or 4), Dask DataFrame or Parquet path
            Long customer-period panel (see the class docstring). A
            ``dask.dataframe.DataFrame`` (or the path of a Parquet file or folder, read
            through Dask) is fitted out of core: each partition's customers are encoded
            and kept on the worker that read them, every E-step (or likelihood and
            gradient evaluation) is a map-reduce over the partitions, and the result
            equals the in-memory fit (see "Scaling out" in the docs).
        y : array-like (n_rows,), optional
            Outcome level per row (NaN = unobserved); default ``X[outcome_col]``. With a
            Dask X the outcomes must be the column ``outcome_col``.

        Returns
        -------
        self
        """
        if self.horizon is None and self.discount >= 1:
            raise ValueError(
                f"discount must be in (0, 1) for the infinite horizon, got {self.discount}; "
                "discount=1 needs a finite horizon"
            )
        ddf = as_dask_frame(X)
        if ddf is not None:
            from ._dask import shard_panel

            panel = shard_panel(self, ddf, y)
        else:
            panel = self._panel(X, y, fitting=True)
        if panel.n_rows < 2:
            raise ValueError(
                "the panel has one customer with one period: at least two customer-periods "
                "are needed to estimate the model"
            )
        K, A, L = self.n_states, len(self.actions_), len(self.outcome_levels_)
        self.n_actions_, self.n_outcomes_ = A, L
        self.action_costs_ = self._costs()
        self.outcome_values_ = self._values()
        init_state = self.initial_state
        if not isinstance(init_state, str):
            init_state = np.asarray(init_state, dtype=float)
            if init_state.shape != (K,) or not np.isclose(init_state.sum(), 1):
                raise ValueError(
                    f"initial_state must be 'estimate' or {K} probabilities summing to 1"
                )
        rng = check_random_state(self.random_state)
        for attr in _PARAMETRIC_ATTRS:  # a refit must not keep another model's state
            self.__dict__.pop(attr, None)
        if self._is_parametric():
            self._fit_parametric(X, panel, init_state, rng)
        else:
            self._fit_tabular(panel, init_state, rng)
        n_obs = panel.n_observed()
        self.aic_ = 2 * self.n_params_ - 2 * self.log_likelihood_
        self.bic_ = self.n_params_ * np.log(n_obs) - 2 * self.log_likelihood_
        self.reward_ = (
            np.einsum("asz,azy,y->sa", self.transmat_, self.emissionprob_, self.outcome_values_)
            - self.action_costs_[None, :]
        )
        self._solve()
        if self._has_covariates():
            self._solve_patterns()
        return self

    # ------------------------------------------------------------------ parametric models
    def _is_parametric(self):
        t = self.transition_model != "tabular"
        if t != (self.emission_model != "tabular"):
            raise ValueError(
                "transition_model='logit' and emission_model='ordered_logit' go together "
                f"(got transition_model={self.transition_model!r}, "
                f"emission_model={self.emission_model!r})"
            )
        if t and self.estimator == "em":
            raise ValueError(
                "estimator='em' fits tabular models; the logit / ordered-logit models use "
                "estimator='mle' (or 'auto')"
            )
        if not t and self.estimator == "mle":
            raise ValueError(
                "estimator='mle' is for transition_model='logit' with "
                "emission_model='ordered_logit'; tabular models use estimator='em' (or 'auto')"
            )
        if not t and (self.covariate_cols or self.action_features is not None):
            raise ValueError(
                "covariate_cols and action_features need transition_model='logit' and "
                "emission_model='ordered_logit'"
            )
        return t

    def _has_covariates(self):
        return getattr(self, "covariate_patterns_", None) is not None

    def _action_feature_matrix(self):
        A = len(self.actions_)
        if self.action_features is None:
            return _parametric.default_action_features(A)
        missing = [a for a in self.actions_.tolist() if a not in self.action_features]
        if missing:
            raise ValueError(f"action_features has no feature vector for action(s) {missing}")
        rows = [
            np.atleast_1d(np.asarray(self.action_features[a], dtype=float))
            for a in self.actions_.tolist()
        ]
        if len({r.shape for r in rows}) != 1 or rows[0].ndim != 1:
            raise ValueError("action_features must map every action to a 1-D vector of one length")
        F = np.stack(rows)
        if not np.all(np.isfinite(F)):
            raise ValueError("action_features must be finite numbers")
        return F

    def _covariate_matrix(self, X, panel):
        cols = list(self.covariate_cols or [])
        N = len(panel.customers)
        if not cols:
            return np.zeros((N, 0))
        if not isinstance(X, pd.DataFrame):
            raise ValueError("covariate_cols needs X as a pandas DataFrame")
        missing = [c for c in cols if c not in X]
        if missing:
            raise ValueError(f"X is missing covariate column(s) {missing} (covariate_cols)")
        vals = np.empty((len(X), len(cols)))
        for k, c in enumerate(cols):
            v = pd.to_numeric(X[c], errors="coerce").to_numpy(dtype=float)
            if not np.all(np.isfinite(v)):
                raise ValueError(f"covariate column {c!r} must hold finite numbers")
            vals[:, k] = v
        Z = np.zeros((N, len(cols)))
        Z[panel.codes] = vals
        bad = np.any(Z[panel.codes] != vals, axis=0)
        if np.any(bad):
            raise ValueError(
                f"covariate column {cols[int(np.argmax(bad))]!r} must be constant within a "
                "customer (covariates are static customer characteristics)"
            )
        return Z

    def _layout(self):
        return _parametric.Layout(
            n_states=self.n_states,
            n_outcomes=self.n_outcomes_,
            d_a=self.action_feature_matrix_.shape[1],
            d_z=len(self.covariate_cols or []),
            fixed_scale=self.n_outcomes_ < 3,
            estimate_initial=isinstance(self.initial_state, str),
        )

    def _fixed_initial(self):
        if isinstance(self.initial_state, str):
            return None
        return np.asarray(self.initial_state, dtype=float)

    def _customer_arrays(self, Z):
        """(pi, Q (N, A, K, K), P (N, A, K, L)) for covariate rows Z."""
        return _parametric.model_arrays(
            self.coef_, self._layout(), self.action_feature_matrix_, Z, self._fixed_initial()
        )

    def _fit_parametric(self, X, panel, init_state, rng):
        K = self.n_states
        self.action_feature_matrix_ = self._action_feature_matrix()
        layout = self._layout()
        options = {
            "n_init": self.n_init,
            "max_iter": self.max_iter,
            "tol": self.tol,
            "rng": np.random.default_rng(rng.randint(2**31 - 1)),
            "verbose": self.verbose,
        }
        if isinstance(panel, _Panel):
            Z = self._covariate_matrix(X, panel)
            res = _parametric.fit_mle(
                panel.actions,
                panel.outcomes,
                self.action_feature_matrix_,
                Z,
                layout,
                fixed_initial=self._fixed_initial(),
                **options,
            )
            z_mean = Z.mean(0)
            patterns = np.unique(Z, axis=0) if Z.shape[1] else None
        else:  # sharded on Dask: the likelihood and gradient are map-reduced
            res = panel.fit_mle(
                self.action_feature_matrix_, layout, self._fixed_initial(), **options
            )
            z_mean, patterns = panel.covariate_mean, panel.covariate_patterns
        self.coef_ = res["theta"]
        self.standard_errors_ = res["se"]
        self.coef_names_ = layout.names()
        self.covariate_mean_ = z_mean
        pi, Q, P = self._customer_arrays(self.covariate_mean_[None])
        self.startprob_, self.transmat_, self.emissionprob_ = pi, Q[0], P[0]
        self.state_order_ = np.arange(K)  # the monotone intercepts order the states
        self.log_likelihood_ = res["loglik"]
        self.n_iter_ = res["n_iter"]
        self.converged_ = res["converged"]
        self.log_likelihood_history_ = np.asarray(res["all_logliks"], dtype=float)
        if not self.converged_:
            warn(
                f"L-BFGS-B did not converge in max_iter={self.max_iter} iterations; increase "
                "max_iter or n_init, or standardise the covariates and action features",
                ConvergenceWarning,
            )
        self.n_params_ = layout.size
        p = _parametric.unpack(self.coef_, layout)
        self.emission_intercepts_ = p["beta0"][0] + np.r_[0.0, np.cumsum(np.exp(p["delta"]))]
        self.emission_scale_ = np.ones(K) if layout.fixed_scale else np.exp(np.r_[0.0, p["s"]])
        self.cutpoints_ = np.r_[0.0, np.cumsum(np.exp(p["nu"]))]
        self.covariate_patterns_ = patterns

    def _solve_patterns(self):
        from joblib import Parallel, delayed

        _, Q, P = self._customer_arrays(self.covariate_patterns_)
        R = np.einsum("gasz,gazy,y->gsa", Q, P, self.outcome_values_) - self.action_costs_
        self.pattern_solutions_ = Parallel(n_jobs=self.n_jobs)(
            delayed(_solve_one)(
                Q[g],
                P[g],
                R[g],
                self.discount,
                self.horizon,
                self.n_belief_points,
                self.solver_tol,
                self.solver_max_iter,
                self.startprob_,
            )
            for g in progress(range(len(Q)), self.verbose, desc="POMDP per covariate pattern")
        )

    def _pattern_solution(self, Q, P, stored):
        from ._model import POMDPSolution

        R = np.einsum("asz,azy,y->sa", Q, P, self.outcome_values_) - self.action_costs_
        model = POMDPModel(Q, P, R, self.discount, self.horizon)
        if stored is None:
            stored = _solve_one(
                Q,
                P,
                R,
                self.discount,
                self.horizon,
                self.n_belief_points,
                self.solver_tol,
                self.solver_max_iter,
                self.startprob_,
            )
        return POMDPSolution(model=model, **stored)

    def _per_customer(self, Z, b, cust, fn):
        """Apply ``fn(solution, beliefs)`` per covariate pattern; rows of b belong to cust."""
        pats, inv = np.unique(Z, axis=0, return_inverse=True)
        inv = np.asarray(inv).ravel()
        known = {tuple(r): g for g, r in enumerate(self.covariate_patterns_.tolist())}
        _, Q, P = self._customer_arrays(pats)
        out = None
        row_pat = inv[cust]
        for g, row in enumerate(pats.tolist()):
            idx = np.flatnonzero(row_pat == g)
            if idx.size == 0:
                continue
            k = known.get(tuple(row))
            sol = self._pattern_solution(
                Q[g], P[g], None if k is None else self.pattern_solutions_[k]
            )
            val = np.asarray(fn(sol, b[idx]))
            if out is None:
                out = np.empty((len(b),) + val.shape[1:])
            out[idx] = val
        return out

    def _fit_tabular(self, panel, init_state, rng):
        K, A, L = self.n_states, self.n_actions_, self.n_outcomes_
        options = {
            "n_init": self.n_init,
            "max_iter": self.max_iter,
            "tol": self.tol,
            "pseudo_count": self.pseudo_count,
            "action_effects": self.action_effects,
            "initial_state": init_state,
            "rng": np.random.default_rng(rng.randint(2**31 - 1)),
            "verbose": self.verbose,
        }
        if isinstance(panel, _Panel):
            res = fit_em(panel.actions, panel.outcomes, K, A, L, **options)
        else:  # sharded on Dask: each E-step is a map-reduce over the partitions
            res = run_em(panel.estep, panel.outcome_counts, panel.n_cells, K, A, L, **options)
        pi, Q, P = res["startprob"], res["transmat"], res["emissionprob"]
        if isinstance(init_state, str):
            freq = panel.action_counts(A)
            perm = order_states(P, self.outcome_values_, int(np.argmax(freq)))
        else:
            perm = np.arange(K)
        self.state_order_ = perm
        self.startprob_ = pi[perm]
        self.transmat_ = Q[:, perm][:, :, perm]
        self.emissionprob_ = P[:, perm]
        self.log_likelihood_ = res["loglik"]
        self.n_iter_ = res["n_iter"]
        self.converged_ = res["converged"]
        self.log_likelihood_history_ = np.asarray(res["history"], dtype=float)
        if not self.converged_:
            warn(
                f"EM did not converge in max_iter={self.max_iter} iterations (tol={self.tol}); "
                "increase max_iter or tol",
                ConvergenceWarning,
            )
        self.n_params_ = n_free_parameters(
            K, A, L, self.action_effects, "estimate" if isinstance(init_state, str) else "fixed"
        )
        self._warn_unidentified(panel)

    def _warn_unidentified(self, panel):
        """Transitions are learnt only from customers seen in two consecutive periods."""
        if self.n_states < 2:
            return
        seen = panel.action_counts(self.n_actions_, later=True)
        if seen.sum() == 0:
            warn(
                "no customer has two consecutive periods: the transition matrix is not "
                "identified by the data (it only reflects the starting values and "
                "pseudo_count), whatever converged_ says; fit on longer histories or use "
                "n_states=1",
                UserWarning,
            )
        elif self.action_effects in ("both", "transition") and np.any(seen == 0):
            missing = [_plain(a) for a in self.actions_[seen == 0].tolist()]
            warn(
                f"action(s) {missing} never precede a later period of the same customer: "
                "their transition matrices are not identified by the data; use "
                "action_effects='emission' or collect longer histories",
                UserWarning,
            )

    def _model(self, horizon="self"):
        h = self.horizon if horizon == "self" else horizon
        return POMDPModel(self.transmat_, self.emissionprob_, self.reward_, self.discount, h)

    def _solve(self):
        model = self._model()
        with warnings.catch_warnings():
            sol = model.solve(
                self.n_belief_points,
                initial_belief=self.startprob_ if self.horizon is None else None,
                tol=self.solver_tol,
                max_iter=self.solver_max_iter,
                belief_points=self.startprob_,
            )
        self.belief_points_ = sol.belief_points
        self.alpha_vectors_ = sol.alpha_vectors
        self.alpha_vectors_open_loop_ = sol.alpha_vectors_open_loop
        self.alpha_stages_ = sol.stages
        self.alpha_stages_open_loop_ = sol.stages_open_loop
        self.mdp_values_ = sol.mdp_values
        self.solver_n_iter_ = int(sol.info["n_iter"])
        self.solver_residual_ = float(sol.info["residual"])
        self.solver_info_ = dict(sol.info)
        self.alpha_actions_ = self._alpha_actions(sol)
        self.value_at_start_ = float(sol.value(self.startprob_))
        self.vol_at_start_ = float(self.value_at_start_ - sol.value(self.startprob_, "open_loop"))

    def _alpha_actions(self, sol):
        # the action of each vector = the best action at the belief point it is best at
        B = self.belief_points_
        best = (B @ self.alpha_vectors_.T).argmax(1)
        acts = np.zeros(len(self.alpha_vectors_), dtype=np.int64)
        acts[best] = sol.action(B)
        return acts

    def _solution(self):
        from ._model import POMDPSolution

        return POMDPSolution(
            model=self._model(),
            belief_points=self.belief_points_,
            alpha_vectors=self.alpha_vectors_,
            alpha_vectors_open_loop=self.alpha_vectors_open_loop_,
            stages=self.alpha_stages_,
            stages_open_loop=self.alpha_stages_open_loop_,
            mdp_values=self.mdp_values_,
            info={"n_iter": self.solver_n_iter_, "residual": self.solver_residual_},
        )

    # ------------------------------------------------------------------ per-row outputs
    def _filter(self, X, y):
        check_is_fitted(self)
        panel = self._panel(X, y, fitting=False)
        if self._has_covariates():
            Z = self._covariate_matrix(X, panel)
            pi, Q, P = self._customer_arrays(Z)
            alpha, log_c = _parametric.forward_filter_customers(
                pi, Q, P, panel.actions, panel.outcomes
            )
            panel.Z = Z
            return panel, alpha, log_c
        E = emission_likelihoods(self.emissionprob_[None], panel.actions, panel.outcomes)
        alpha, log_c = forward_filter(self.startprob_[None], self.transmat_[None], E, panel.actions)
        self._check_possible(panel, alpha[0])
        return panel, alpha[0], log_c[0]

    def _check_possible(self, panel, alpha):
        """An outcome with probability 0 under the model leaves no belief: say where."""
        real = panel.actions.T >= 0  # (T, N)
        dead = real & (alpha.sum(-1) < 0.5)
        if dead.any():
            t, n = np.argwhere(dead)[0]
            first = np.argmax(dead[:, n])
            y = panel.outcomes[n, first]
            raise ValueError(
                f"customer {_plain(panel.customers[n])!r} has an outcome that is impossible "
                f"under the fitted model (level {_plain(self.outcome_levels_[y])!r} after "
                f"action {_plain(self.actions_[panel.actions[n, first]])!r} in its period "
                f"{first + 1}): the fitted emission probability is 0 in every reachable "
                "state. Refit with pseudo_count > 0, or check the data"
            )

    @dask_scoring
    def transform(self, X, y=None):
        """Filtered beliefs ``P(S_t | outcomes and actions up to row t)``, one row per row.

        Returns an array (n_rows, K) in the original row order; rows sum to 1.

        Parameters
        ----------
        X : DataFrame or array
            Customer-period panel in the layout of :meth:`fit`.
        y : array-like, optional
            Outcome per row of X (default ``X[outcome_col]``).
        """
        panel, alpha, _ = self._filter(X, y)
        return alpha[panel.pos, panel.codes]

    def fit_transform(self, X, y=None, **fit_params):
        """Fit, then return the filtered beliefs of the training rows.

        Parameters
        ----------
        X : DataFrame or array
            Customer-period panel in the layout of :meth:`fit`.
        y : array-like, optional
            Outcome per row of X (default ``X[outcome_col]``).
        **fit_params : dict
            Passed to :meth:`fit`.
        """
        return self.fit(X, y, **fit_params).transform(X, y)

    def get_feature_names_out(self, input_features=None):
        """Names of the belief columns: ``belief_state0 ... belief_state{K-1}``.

        Parameters
        ----------
        input_features : None
            Ignored (the output names do not depend on the input).
        """
        check_is_fitted(self)
        return np.asarray([f"belief_state{k}" for k in range(self.n_states)], dtype=object)

    @dask_scoring
    def decision_function(self, X, y=None):
        """Q-values ``Q(b_t, a)`` of the next period's actions at each row's belief (n_rows, A).

        Parameters
        ----------
        X : DataFrame or array
            Customer-period panel in the layout of :meth:`fit`.
        y : array-like, optional
            Outcome per row of X (default ``X[outcome_col]``).
        """
        if self._has_covariates_fitted():
            panel, alpha, _ = self._filter(X, y)
            b = alpha[panel.pos, panel.codes]
            return self._per_customer(panel.Z, b, panel.codes, lambda sol, bb: sol.q_values(bb))
        b = self.transform(X, y)
        return self._solution().q_values(b)

    @dask_scoring
    def predict(self, X, y=None):
        """The optimal next action (label) after each row: ``actions_[argmax Q]``.

        Parameters
        ----------
        X : DataFrame or array
            Customer-period panel in the layout of :meth:`fit`.
        y : array-like, optional
            Outcome per row of X (default ``X[outcome_col]``).
        """
        q = self.decision_function(X, y)
        return self.actions_[np.argmax(q, axis=1)]

    @dask_scoring
    def predict_outcome_proba(self, X, y=None, action=None):
        """``Pr(y_{t+1} | history, a_{t+1})`` per row; ``action`` label, default optimal.

        Parameters
        ----------
        X : DataFrame or array
            Customer-period panel in the layout of :meth:`fit`.
        y : array-like, optional
            Outcome per row of X (default ``X[outcome_col]``).
        action : label, optional
            Action of the next period; default the optimal one at each row.
        """
        if self._has_covariates_fitted():
            panel, alpha, _ = self._filter(X, y)
            b = alpha[panel.pos, panel.codes]
            _, Qc, Pc = self._customer_arrays(panel.Z)
            Q, P = Qc[panel.codes], Pc[panel.codes]
            q = self.decision_function(X, y) if action is None else None
        else:
            b = self.transform(X, y)
            Q = P = None
            q = self._solution().q_values(b) if action is None else None
        if action is None:
            a = np.argmax(q, axis=1)
        else:
            a = np.full(len(b), self._encode_actions(np.array([action]), False)[0])
        rows = np.arange(len(b))
        Qa = self.transmat_[a] if Q is None else Q[rows, a]
        Pa = self.emissionprob_[a] if P is None else P[rows, a]
        phi = np.einsum("nk,nkj->nj", b, Qa)
        return np.einsum("nk,nky->ny", phi, Pa)

    def score(self, X, y=None):
        """Mean one-step-ahead log-likelihood per observed row (higher is better).

        ``(1/n) sum_t log Pr(y_t | y_<t, a_<=t)`` over rows with an observed outcome.
        Cross-validate with ``GroupKFold`` on the customer id so that customers are never
        split across folds.

        Parameters
        ----------
        X : DataFrame or array
            Customer-period panel in the layout of :meth:`fit`.
        y : array-like, optional
            Outcome per row of X (default ``X[outcome_col]``).
        """
        panel, _, log_c = self._filter(X, y)
        obs = panel.outcomes[panel.codes, panel.pos] >= 0
        vals = log_c[panel.pos, panel.codes][obs]
        if vals.size == 0:
            raise ValueError("score needs at least one observed outcome")
        return float(vals.mean())

    # ------------------------------------------------------------------ per-customer outputs
    def _last_beliefs(self, X, y, return_z=False):
        panel, alpha, _ = self._filter(X, y)
        last = panel.lengths - 1
        b = alpha[last, np.arange(len(panel.customers))]
        if return_z:
            return panel.customers, b, getattr(panel, "Z", None)
        return panel.customers, b

    def _has_covariates_fitted(self):
        check_is_fitted(self)
        return self._has_covariates()

    def _customer_values(self, Z, b, policies=("q", "pomdp", "open_loop")):
        """Q-values / V* / V_open_loop per customer from the customers' own POMDPs."""
        cust = np.arange(len(b))
        out = []
        for p in policies:
            if p == "q":
                out.append(self._per_customer(Z, b, cust, lambda sol, bb: sol.q_values(bb)))
            else:
                out.append(
                    self._per_customer(Z, b, cust, lambda sol, bb, p=p: sol.value(bb, policy=p))
                )
        return out

    def _no_covariates_here(self, X, what):
        if X is not None and self._has_covariates_fitted():
            raise ValueError(
                f"{what} with X is not available for a model with covariate_cols (each "
                "customer has its own POMDP); call it with X=None for the reference customer "
                "(covariates at their training mean), or use recommend / "
                "dynamic_customer_value / value_of_learning"
            )

    def _beliefs_or_start(self, X, y):
        check_is_fitted(self)
        if X is None:
            return None, self.startprob_[None]
        return self._last_beliefs(X, y)

    @dask_scoring
    def recommend(self, X=None, y=None):
        """One row per customer: current belief, recommended action, Q-values, DCV, VOL.

        Parameters
        ----------
        X : DataFrame or array, optional
            Customers' histories (the panel layout of :meth:`fit`). None gives one row
            for the reference customer: a new customer at ``startprob_`` (covariates at
            their training mean for a model with ``covariate_cols``).
        y : array-like, optional
            Outcomes of the rows of X (default ``X[outcome_col]``).

        Returns
        -------
        DataFrame indexed by customer id (``"reference"`` when X is None) with columns
        ``belief_state<k>``, ``action``, ``q_<action>`` per action, ``dcv`` (V* at the
        belief) and ``vol`` (V* - V_open_loop).
        """
        if X is None:
            check_is_fitted(self)
            customers, b, Z = np.array(["reference"], dtype=object), self.startprob_[None], None
        else:
            customers, b, Z = self._last_beliefs(X, y, return_z=True)
        if Z is not None:
            q, dcv, ol = self._customer_values(Z, b)
        else:
            sol = self._solution()
            q = sol.q_values(b)
            dcv = sol.value(b)
            ol = sol.value(b, policy="open_loop")
        vol = dcv - ol
        out = pd.DataFrame(b, columns=[f"belief_state{k}" for k in range(self.n_states)])
        out.insert(self.n_states, "action", self.actions_[q.argmax(1)])
        for j, a in enumerate(self.actions_.tolist()):
            out[f"q_{a}"] = q[:, j]
        out["dcv"], out["vol"] = dcv, vol
        out.index = pd.Index(customers, name=self.customer_col)
        return out

    def _policy_fn(self, policy, sol):
        if policy == "pomdp":
            return lambda b: sol.action(b)
        if policy == "open_loop":
            return lambda b: sol.action(b, policy="open_loop")
        if policy == "myopic":
            return lambda b: sol.action(b, policy="myopic")
        raise ValueError(
            f"policy must be 'pomdp', 'open_loop', 'myopic' or 'mdp_bound', got {policy!r}"
        )

    @dask_scoring
    def dynamic_customer_value(
        self,
        X=None,
        y=None,
        *,
        policy="pomdp",
        horizon=None,
        method="exact",
        n_simulations=1000,
        random_state=None,
    ):
        """Dynamic customer value (DCV): expected discounted profit from the current belief.

        Parameters
        ----------
        n_simulations : int, default=1000
            Simulated paths per customer for ``method='simulate'``.
        random_state : int, RandomState or None
            Seed of the simulation; default the estimator's ``random_state``.
        X, y : panel, optional
            Customers' histories; None gives the value at ``startprob_`` (a float).
        policy : {"pomdp", "open_loop", "myopic", "mdp_bound"}
            Adaptive (belief-updating) optimal policy, the open-loop plan (the
            dissertation's "HMM"), the myopic policy, or the fully observed upper bound.
        horizon : int, optional
            Value over this many periods of the (stationary) policy; None = infinite.
        method : {"exact", "simulate"}
            ``"exact"``: alpha vectors (pomdp/open_loop, infinite horizon) or the joint
            grid evaluation (two states); ``"simulate"``: Monte Carlo with
            ``n_simulations`` paths per customer on the fitted model.

        Returns
        -------
        Series indexed by customer id, or a float when X is None.
        """
        customers, b = self._beliefs_or_start(X, y)
        if X is not None and self._has_covariates():
            if policy not in ("pomdp", "open_loop") or horizon is not None or method != "exact":
                self._no_covariates_here(
                    X, f"dynamic_customer_value(policy={policy!r}, horizon, method)"
                )
            _, _, Z = self._last_beliefs(X, y, return_z=True)
            (vals,) = self._customer_values(Z, b, (policy,))
            return pd.Series(vals, index=pd.Index(customers, name=self.customer_col), name="dcv")
        vals = self._dcv(b, policy, horizon, method, n_simulations, random_state)
        if customers is None:
            return float(vals[0])
        return pd.Series(vals, index=pd.Index(customers, name=self.customer_col), name="dcv")

    def _dcv(self, b, policy, horizon, method, n_simulations, random_state):
        sol = self._solution()
        if method not in ("exact", "simulate"):
            raise ValueError(f"method must be 'exact' or 'simulate', got {method!r}")
        if policy == "mdp_bound":
            if self.mdp_values_ is None:
                raise ValueError("policy='mdp_bound' needs an infinite-horizon model")
            return b @ self.mdp_values_
        fn = self._policy_fn(policy, sol)
        if method == "exact" and horizon is None and policy in ("pomdp", "open_loop"):
            return sol.value(b, policy=policy)
        if method == "exact" and policy == "open_loop" and horizon is not None:
            return self._open_loop_truncated(b, horizon, sol)
        if method == "exact" and self.n_states == 2:
            return sol.evaluate(fn, b, horizon=horizon)
        if method == "exact":
            method = "simulate"
        rs = check_random_state(self.random_state if random_state is None else random_state)
        mean, _ = _solver.simulate_policy(
            fn,
            self.transmat_,
            self.emissionprob_,
            b,
            self.transmat_,
            self.emissionprob_,
            self.reward_,
            b,
            self.discount,
            n_customers=n_simulations,
            horizon=horizon,
            random_state=rs.randint(2**31 - 1),
        )
        return np.atleast_1d(mean)

    def _open_loop_truncated(self, b, horizon, sol):
        """Open-loop plan over ``horizon`` periods: the belief path is deterministic."""
        b = np.array(b, dtype=float)
        total = np.zeros(len(b))
        disc = 1.0
        for _ in range(int(horizon)):
            a = sol.action(b, policy="open_loop")
            total += disc * np.einsum("nk,nk->n", b, self.reward_[:, a].T)
            disc *= self.discount
            b = np.einsum("nk,nkj->nj", b, self.transmat_[a])
        return total

    @dask_scoring
    def value_of_learning(
        self, X=None, y=None, *, horizon=None, policy_horizon="matched", relative=False
    ):
        """VOL = DCV under adaptive learning minus DCV under the open-loop plan (§3.5).

        Parameters
        ----------
        X : DataFrame or array, optional
            Customer-period panel in the layout of :meth:`fit`; None = the reference
            customer at ``startprob_``.
        y : array-like, optional
            Outcome per row of X (default ``X[outcome_col]``).
        horizon : int, optional
            Planning horizon; None = infinite.
        policy_horizon : {"matched", "infinite"}
            ``"matched"``: policies optimal for ``horizon`` (VOL >= 0). ``"infinite"``:
            the stationary policies truncated at ``horizon``, as the dissertation
            simulates (can be negative at short horizons).
        relative : bool
            Divide by the open-loop DCV.

        Returns
        -------
        Series indexed by customer id, or a float when X is None.
        """
        customers, b = self._beliefs_or_start(X, y)
        if X is not None and self._has_covariates():
            if horizon is not None:
                self._no_covariates_here(X, "value_of_learning(horizon=...)")
            _, _, Z = self._last_beliefs(X, y, return_z=True)
            pomdp, ol = self._customer_values(Z, b, ("pomdp", "open_loop"))
        else:
            pomdp, ol = self._vol_parts(b, horizon, policy_horizon)
        vol = pomdp - ol
        if relative:
            vol = vol / ol
        if customers is None:
            return float(vol[0])
        return pd.Series(vol, index=pd.Index(customers, name=self.customer_col), name="vol")

    def _vol_parts(self, b, horizon, policy_horizon):
        if policy_horizon not in ("matched", "infinite"):
            raise ValueError(
                f"policy_horizon must be 'matched' or 'infinite', got {policy_horizon!r}"
            )
        if horizon is None:
            sol = self._solution()
            return sol.value(b), sol.value(b, policy="open_loop")
        if policy_horizon == "matched":
            fin = self._model(horizon=int(horizon)).solve(
                self.n_belief_points, belief_points=b if len(b) <= 1000 else None
            )
            return fin.value(b), fin.value(b, policy="open_loop")
        return (
            self._dcv(b, "pomdp", horizon, "exact", 1000, None),
            self._dcv(b, "open_loop", horizon, "exact", 1000, None),
        )

    def vol_curve(
        self, X=None, y=None, horizons=(12, 24, 36, 48, 60, 120), policy_horizon="infinite"
    ):
        """DCV (POMDP, open loop) and VOL over planning horizons (Figure 15 analogue).

        With X, the values are averaged over its customers (at their current beliefs).

        Parameters
        ----------
        X : DataFrame or array, optional
            Customer-period panel in the layout of :meth:`fit`; None = the reference
            customer at ``startprob_``.
        y : array-like, optional
            Outcome per row of X (default ``X[outcome_col]``).
        horizons : sequence of int
            Planning horizons (periods).
        policy_horizon : {'infinite', 'matched'}
            Truncated stationary policies (as the dissertation simulates) or policies
            optimal for each horizon.

        Returns
        -------
        DataFrame indexed by ``horizon`` with columns ``dcv_pomdp``, ``dcv_open_loop``,
        ``vol``.
        """
        self._no_covariates_here(X, "vol_curve")
        _, b = self._beliefs_or_start(X, y)
        rows = []
        for h in horizons:
            p, o = self._vol_parts(b, int(h), policy_horizon)
            rows.append((int(h), float(np.mean(p)), float(np.mean(o))))
        out = pd.DataFrame(rows, columns=["horizon", "dcv_pomdp", "dcv_open_loop"])
        out["vol"] = out["dcv_pomdp"] - out["dcv_open_loop"]
        return out.set_index("horizon")

    def strategic_segments(self, X, y=None, *, dcv_threshold="median", vol_threshold="median"):
        """Place customers on the DCV x VOL map (dissertation §2.5, Table 6, Figure 18).

        Parameters
        ----------
        X : DataFrame or array
            Customer-period panel in the layout of :meth:`fit`.
        y : array-like, optional
            Outcome per row of X (default ``X[outcome_col]``).
        dcv_threshold : 'median' or float
            DCV above which a customer is 'high DCV'.
        vol_threshold : 'median' or float
            VOL above which a customer is 'high VOL' (e.g. the monitoring cost).

        Returns
        -------
        DataFrame indexed by customer id with ``dcv``, ``vol``, ``quadrant`` (good_friend:
        high DCV and VOL; acquaintance: low DCV, high VOL; best_friend: high DCV, low
        VOL; stranger: both low) and ``learning_mode`` ("adaptive" where VOL exceeds
        ``vol_threshold``, e.g. the monitoring cost, else "open_loop").
        """
        if is_dask_frame(X):
            from ._dask import dask_strategic_segments

            if y is not None:
                raise ValueError(
                    "y cannot be given with a Dask X; put the outcomes in the column "
                    f"outcome_col={self.outcome_col!r} of X"
                )
            return dask_strategic_segments(self, X, dcv_threshold, vol_threshold)
        rec = self.recommend(X, y)
        quad, mode = strategic_quadrants(
            rec["dcv"].to_numpy(), rec["vol"].to_numpy(), dcv_threshold, vol_threshold
        )
        return pd.DataFrame(
            {"dcv": rec["dcv"], "vol": rec["vol"], "quadrant": quad, "learning_mode": mode},
            index=rec.index,
        )

    def plan_open_loop(self, X=None, y=None, n_periods=12):
        """Fixed action plans (labels) for open-loop customers: (n_customers, n_periods).

        Parameters
        ----------
        X : DataFrame or array, optional
            Customer-period panel in the layout of :meth:`fit`; None = the reference
            customer at ``startprob_``.
        y : array-like, optional
            Outcome per row of X (default ``X[outcome_col]``).
        n_periods : int
            Number of periods.
        """
        self._no_covariates_here(X, "plan_open_loop")
        customers, b = self._beliefs_or_start(X, y)
        sol = self._solution()
        b = np.array(b, dtype=float)
        plan = np.empty((len(b), int(n_periods)), dtype=np.int64)
        for t in range(int(n_periods)):
            a = sol.action(b, policy="open_loop")
            plan[:, t] = a
            b = np.einsum("nk,nkj->nj", b, self.transmat_[a])
        out = self.actions_[plan]
        return out if customers is not None else out[0]

    def belief_update(self, belief, action, outcome):
        """One Bayes step from ``belief`` after ``action`` (label) and ``outcome`` (level).

        Returns ``(new_belief, probability of the outcome)``.

        Parameters
        ----------
        belief : array-like of shape (K,) or (n, K)
            Belief(s) over the hidden states.
        action : label, optional
            Action of the next period; default the optimal one at each row.
        outcome : int or label
            Observed outcome level.
        """
        check_is_fitted(self)
        a = self._encode_actions(np.array([action]), False)[0]
        yv = self._encode_outcomes(np.array([outcome], dtype=object), False)[0]
        return belief_update(belief, self.transmat_, self.emissionprob_, a, yv)

    def simulate(self, n_customers, n_periods, *, policy="pomdp", random_state=None):
        """Simulate a panel from the fitted model, acting with a policy on filtered beliefs.

        Parameters
        ----------
        n_customers : int
            Number of customers (simulated paths).
        n_periods : int
            Number of periods.
        random_state : int, RandomState or None
            Seed of the simulation; default the estimator's ``random_state``.
        policy : {"pomdp", "open_loop", "myopic", "random"}

        Returns
        -------
        X : DataFrame (id, time, action columns), y : ndarray of outcome labels,
        states : ndarray of hidden states (same row order).
        """
        check_is_fitted(self)
        rng = check_random_state(self.random_state if random_state is None else random_state)
        sol = self._solution()
        N, T, K = int(n_customers), int(n_periods), self.n_states
        A = self.n_actions_
        s = _draw(np.broadcast_to(self.startprob_, (N, K)), rng)
        b = np.broadcast_to(self.startprob_, (N, K)).copy()
        ol_b = b.copy()
        S = np.empty((N, T), dtype=np.int64)
        Ac = np.empty((N, T), dtype=np.int64)
        Y = np.empty((N, T), dtype=np.int64)
        for t in range(T):
            if policy == "random":
                a = rng.randint(A, size=N)
            elif policy == "open_loop":
                a = sol.action(ol_b, policy="open_loop")
            elif policy in ("pomdp", "myopic"):
                a = sol.action(b, policy=policy)
            else:
                raise ValueError(
                    f"policy must be 'pomdp', 'open_loop', 'myopic' or 'random', got {policy!r}"
                )
            s = _draw(self.transmat_[a, s], rng)
            yy = _draw(self.emissionprob_[a, s], rng)
            b, _ = belief_update(b, self.transmat_, self.emissionprob_, a, yy)
            ol_b = np.einsum("nk,nkj->nj", ol_b, self.transmat_[a])
            S[:, t], Ac[:, t], Y[:, t] = s, a, yy
        X = pd.DataFrame(
            {
                self.customer_col: np.repeat(np.arange(N), T),
                self.time_col: np.tile(np.arange(1, T + 1), N),
                self.action_col: self.actions_[Ac.ravel()],
            }
        )
        return X, self.outcome_levels_[Y.ravel()], S.ravel()


def _solve_one(Q, P, R, discount, horizon, n_points, tol, max_iter, start):
    """Solve one POMDP; the solution's arrays as a plain dict (picklable, joblib-friendly)."""
    with warnings.catch_warnings():
        sol = POMDPModel(Q, P, R, discount, horizon).solve(
            n_points,
            initial_belief=start if horizon is None else None,
            tol=tol,
            max_iter=max_iter,
            belief_points=start,
        )
    return {
        "belief_points": sol.belief_points,
        "alpha_vectors": sol.alpha_vectors,
        "alpha_vectors_open_loop": sol.alpha_vectors_open_loop,
        "stages": sol.stages,
        "stages_open_loop": sol.stages_open_loop,
        "mdp_values": sol.mdp_values,
        "info": {k: float(v) for k, v in sol.info.items() if np.isscalar(v)},
    }


def _draw(prob, rng):
    u = rng.random_sample(prob.shape[0])
    return np.minimum((prob.cumsum(1) < u[:, None]).sum(1), prob.shape[1] - 1)


_MAX_LEVELS = 50


def _by_label(values, labels, name, what, positional_ok=False):
    """One number per label from a dict / Series keyed by label (lists only when safe)."""
    shown = [_plain(v) for v in np.asarray(labels).tolist()]
    if isinstance(values, pd.Series):
        values = values.to_dict()
    if isinstance(values, dict):
        keyed = {_plain(k): v for k, v in values.items()}
        missing = [a for a in shown if a not in keyed]
        if missing:
            raise ValueError(f"{name} has no entry for {what}(s) {missing}")
        extra = [k for k in keyed if k not in shown]
        if extra:
            raise ValueError(f"{name} has entries for unknown {what}(s) {extra}; known: {shown}")
        out = np.array([float(keyed[a]) for a in shown])
    else:
        out = np.asarray(values, dtype=float)
        if out.shape != (len(shown),):
            raise ValueError(
                f"{name} must have one entry per {what} ({len(shown)}: {shown}), got shape "
                f"{out.shape}"
            )
        integer = all(isinstance(a, Integral) for a in shown) and shown == list(range(len(shown)))
        if not (integer or positional_ok):
            raise ValueError(
                f"{name} given as a list is ambiguous for the {what}s {shown} (it would be "
                f"matched to their sorted order); pass a dict keyed by {what}, e.g. "
                f"{dict.fromkeys(shown[:3], '...')}"
            )
    if not np.all(np.isfinite(out)):
        raise ValueError(f"{name} must be finite numbers")
    return out


def _plain(value):
    return value.item() if hasattr(value, "item") else value
