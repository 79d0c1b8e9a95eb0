"""``RobustCampaignAllocator``: the sklearn shell around ``solve_allocation``.

fit: learn uplift (two-model, treatment dummy or segment means), segment customers, build
lift scenarios (bootstrap, the paper's subsample means, Bayesian or normal), transform to
value and solve the chosen allocation model. The fitted state is numpy and plain Python
(plus fitted sklearn models); cvxpy problems live only in ``_models``' cache.
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import BaseEstimator, _fit_context, clone, is_classifier
from sklearn.cluster import KMeans
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, check_random_state, validate_data

from ..metrics import summary_statistics, worst_case_loss
from ..policy._target import unpack_policy_target
from ..utils import check_treatment, format_labels, warn
from ..utils._dask import dask_dispatch
from . import _uncertainty as unc
from ._core import METHODS, solve_allocation

__all__ = ["RobustCampaignAllocator"]

_MIN_CELL_ROWS = 2


def _plain(value):
    """A numpy scalar as the plain Python value (for readable messages)."""
    return value.item() if hasattr(value, "item") else value


def _predict_response(model, X):
    """P(response) for classifiers with predict_proba, else the regression prediction."""
    if hasattr(model, "predict_proba"):
        proba = model.predict_proba(X)
        classes = list(model.classes_)
        if proba.shape[1] == 1:
            return np.full(X.shape[0], float(classes[0] == 1))
        return proba[:, classes.index(1)] if 1 in classes else proba[:, -1]
    return np.asarray(model.predict(X), dtype=float)


def _joint_over_rows(est):
    """Why predict/allocate cannot run partition by partition (dask_dispatch's ``joint``)."""
    return (
        "it assigns campaigns jointly over all rows of a segment (largest-remainder rounding "
        "of the allocation's counts), so a partition-by-partition answer would be wrong. "
        "Score the rows out of core with predict_lift / predict_segment (they accept Dask "
        "input), call .compute() (or pass X.compute()), then assign the in-memory rows."
    )


class RobustCampaignAllocator(BaseEstimator):
    """Allocate campaigns to customer segments under lift uncertainty (Lo, Pachamanova &
    Gulpinar).

    Learns individual lifts of M campaigns against a control from a randomised experiment,
    segments customers, represents the uncertainty of the segment lifts by scenarios and
    solves a nominal, stochastic or robust allocation model (``solve_allocation``).

    Paper-replication preset: ``uplift_model="two_model", segmentation="kmeans_lift",
    uncertainty="subsample_means", n_scenarios=50, n_per_segment=100,
    nominal_estimate="scenario_mean", interval_method="scenario_min", cov_scale="mean",
    action_costs=1, budget=60000`` with ``theta`` in {20, 150, 300}.

    Parameters
    ----------
    method : str, default="ellipsoidal"
        One of ``"nominal"``, ``"expected_value"``, ``"max_regret"``, ``"interval"``,
        ``"ellipsoidal"``, ``"budgeted"``, ``"dnorm"``, ``"worst_case"``, ``"cvar"``,
        ``"mean_variance"``.
    theta : float, default=1.645
        Ellipsoid / D-norm radius (units set by ``cov_scale``).
    gamma : float, default=None
        Bertsimas-Sim budget (None: ``min(KM, sqrt(-2 KM ln(alpha)))``).
    tail_fraction : float, default=0.05
        CVaR tail: the probability mass of the worst scenarios whose mean value ``cvar``
        maximises (the paper's alpha; ``alpha`` is a confidence level in skcrm).
    risk_aversion : float, default=1.0
        Scale-free risk aversion of ``mean_variance``: the penalty is
        ``lambda * Var(value)`` with ``lambda = risk_aversion / (2 sd_N)``, where ``sd_N``
        is the standard deviation of the nominal allocation's value, so that at the nominal
        allocation one more unit of value sd costs ``risk_aversion`` units of value (as
        ``theta`` does for ``ellipsoidal``) whatever the units of the outcome and the size
        of the population. The lambda used is ``risk_aversion_``.
    dnorm_d : int, default=1
        Order d of the D-norm set.
    dnorm_matrix : {"identity", "inv_sqrt_cov", "inv_halfwidth"} or array, default="identity"
        The matrix A of the D-norm set.
    interval_method : {"shrinkage", "scenario_min", "normal_ci", "percentile"}, \
default="shrinkage"
        Lower bounds of ``interval`` and ``budgeted``: ``"shrinkage"`` (empirical-Bayes
        intervals at level ``1 - alpha`` that pool each campaign's segments, so that a
        campaign whose average lift is clearly positive keeps positive bounds when its
        segments are individually noisy), the scenario minimum (the paper), normal
        intervals or scenario percentiles at level ``1 - alpha``.
    alpha : float, default=0.05
        One minus the confidence level of the ``interval_method`` intervals and of the
        default ``gamma`` (0.05 = 95%).
    cov_scale : "scenario", "mean" or float, default="scenario"
        Covariance of the scenarios, of their mean (Sigma / S), or a multiplier.
    budget : float, default=None
        Global budget B.
    action_costs : float or array-like of shape (M,) or (K, M), default=1.0
        Cost of one campaign for one customer (per campaign, or per segment and campaign).
    campaign_budgets : array-like of shape (M,), default=None
        Budget B_m of each campaign.
    capacities : array-like of shape (M,), default=None
        Most customers C_m each campaign can reach.
    max_cell : float or array-like of shape (K, M), default=None
        Most customers of a segment given one campaign.
    segment_sizes : array-like of shape (K,), default=None
        Target population sizes N_k (default: training rows per segment).
    revenue : float or array-like of shape (M,) or (K, M), default=1.0
        Value of one incremental response.
    net_of_cost : bool, default=False
        Value per customer ``revenue * lift - action_costs`` instead of ``revenue * lift``.
    segmentation : {"kmeans_lift", "kmeans_features", "column"} or clusterer, \
default="kmeans_lift"
        How customers are segmented: k-means on the lift vectors (the paper), on the
        features, a column of X, or any clusterer with ``fit`` and ``predict``.
    n_segments : int, default=10
        Number of k-means segments.
    segment_col : int or str, default=None
        Column of X holding segment labels when ``segmentation="column"`` (excluded from
        the uplift model's features).
    min_segment_size : int, default=None
        Merge the smallest segment into the nearest centroid until all reach this size.
    uplift_model : {"two_model", "treatment_dummy", "segment_means"}, default="two_model"
        How individual lifts are estimated.
    estimator : estimator, default=None
        Response model. Default chosen by the outcome's type: ``LogisticRegression`` for a
        binary (0/1) outcome, ``LinearRegression`` otherwise (counts, spend). A classifier
        with a non-binary outcome is refused.
    uncertainty : {"bootstrap", "subsample_means", "bayesian", "normal"}, default="bootstrap"
        How the lift scenarios are drawn.
    n_scenarios : int, default=50
        Number of lift scenarios S.
    n_per_segment : int, default=100
        Draws per segment of ``subsample_means`` scenarios.
    nominal_estimate : {"scenario_mean", "point"}, default="scenario_mean"
        The nominal lift: the mean of the scenarios or the point estimate.
    control : label, default=None
        Label of the no-campaign arm. Required: lifts are measured against it, and it is
        never guessed.
    integer : {False, "floor", True}, default=False
        Continuous allocation (the paper), floor + greedy repair, or an exact MILP.
    score_metric : {"mean", "quantile", "cvar", "min", "neg_wcl"}, default="mean"
        What ``score`` returns.
    score_tail_fraction : float, default=0.05
        Tail of the ``"quantile"`` and ``"cvar"`` score metrics.
    n_score_scenarios : int, default=200
        Bootstrap replicates of the held-out rows for ``score``.
    solver : str, default=None
        cvxpy solver (default HiGHS for LPs, Clarabel for SOCP/QP).
    solver_options : dict, default=None
        Passed to the solver.
    n_jobs : int, default=None
        Parallel bootstrap refits (joblib).
    random_state : int, RandomState or None, default=None
        Seeds the segmentation, the scenarios and ``predict``'s tie-breaking.
    verbose : int, default=0
        Progress bars and the solver's log (nothing is printed when 0).

    Attributes
    ----------
    segments_ : ndarray of shape (K,)
        Segment labels.
    actions_ : ndarray of shape (M + 1,)
        Sorted labels of every arm, control included (as in every skcrm estimator).
    campaigns_ : ndarray of shape (M,)
        Sorted labels of the campaigns (the columns of ``allocation_``; the control arm is
        not one of them).
    control_ : scalar
        The control label.
    n_segments_ : int
        Number of segments K.
    n_campaigns_ : int
        Number of campaigns M.
    outcome_type_ : {"binary", "continuous"}
        Type of the training outcome (chooses the default response model).
    segment_sizes_ : ndarray of shape (K,)
        Population sizes N_k used.
    uplift_models_ : list of estimators or None
        Fitted response models.
    segmenter_ : estimator or None
        Fitted clusterer.
    lift_hat_ : ndarray of shape (K, M)
        Nominal segment lifts.
    lift_scenarios_ : ndarray of shape (S, K, M)
        Lift scenarios.
    lift_cov_ : ndarray of shape (K*M, K*M)
        Covariance of the lift scenarios (times ``cov_scale``).
    lift_lower_ : ndarray of shape (K, M)
        Lower bounds of the lifts (``interval_method``).
    lift_upper_ : ndarray of shape (K, M)
        Upper bounds of the lifts.
    value_hat_ : ndarray of shape (K, M)
        Nominal value per customer.
    value_scenarios_ : ndarray of shape (S, K, M)
        Value scenarios.
    value_lower_ : ndarray of shape (K, M)
        Value per customer at the lower lift bound (never above the nominal value).
    value_cov_factor_ : ndarray of shape (S, K*M)
        Factor F of the value covariance, cov = F'F; the ellipsoidal and mean-variance
        problems use it without ever forming the (K*M, K*M) covariance.
    revenue_, action_costs_ : ndarray of shape (K, M)
        Revenue per response and cost per contacted customer, broadcast to the cells.
    cov_scale_factor_ : float
        Factor applied to the scenario covariance (``cov_scale``).
    cell_counts_ : ndarray of shape (K, M + 1)
        Training rows per segment x arm cell (control first).
    raw_segment_labels_ : ndarray
        Segment labels before small segments were merged.
    segment_map_ : ndarray of int
        Merged segment of each raw segment (``min_segment_size``).
    allocation_ : ndarray of shape (K, M)
        Customers of segment k given campaign m.
    assignment_rate_ : ndarray of shape (K, M)
        ``allocation_ / segment_sizes_``.
    expected_profit_ : float
        Nominal expected value of the allocation.
    worst_case_profit_ : float
        Its minimum over the value scenarios.
    robust_objective_ : float
        The model's own optimum.
    profit_sd_ : float
        Standard deviation of its value.
    budget_used_ : float
        Total cost of the allocation.
    risk_aversion_ : float
        The lambda used by ``mean_variance`` (from the scale-free ``risk_aversion``).
    max_regret_ : float
        Only for ``method="max_regret"``.
    scenario_optima_ : ndarray of shape (S,)
        Only for ``method="max_regret"``.
    solver_status_ : str
        Solver status.
    solver_name_ : str
        Solver used.
    n_features_in_ : int
        Number of features seen in fit.
    feature_names_in_ : ndarray of str
        Names of the features seen in fit (DataFrame input only).

    References
    ----------
    Lo, V.S.Y., Pachamanova, D. & Gulpinar, N. Uncertainty representation and risk
    management for direct segmented marketing.

    Examples
    --------
    >>> import numpy as np
    >>> from skcrm.datasets import make_er8_data
    >>> d = make_er8_data(random_state=0)
    >>> X = np.column_stack([d.X, d.segment])
    >>> est = RobustCampaignAllocator(method="interval", uplift_model="segment_means",
    ...     segmentation="column", segment_col=4, segment_sizes=d.segment_sizes,
    ...     budget=30000, control=0, random_state=0)
    >>> est = est.fit(X, np.column_stack([d.y, d.treatment]))
    >>> est.allocation_.shape, round(est.budget_used_)
    ((8, 2), 30000)
    """

    _parameter_constraints: dict = {
        "method": [StrOptions(set(METHODS))],
        "theta": [Interval(numbers.Real, 0, None, closed="left")],
        "gamma": [Interval(numbers.Real, 0, None, closed="left"), None],
        "tail_fraction": [Interval(numbers.Real, 0, 1, closed="right")],
        "risk_aversion": [Interval(numbers.Real, 0, None, closed="left")],
        "dnorm_d": [Interval(numbers.Integral, 1, None, closed="left")],
        "dnorm_matrix": [StrOptions({"identity", "inv_sqrt_cov", "inv_halfwidth"}), "array-like"],
        "interval_method": [StrOptions({"shrinkage", "scenario_min", "normal_ci", "percentile"})],
        "alpha": [Interval(numbers.Real, 0, 1, closed="neither")],
        "cov_scale": [
            StrOptions({"scenario", "mean"}),
            Interval(numbers.Real, 0, None, closed="neither"),
        ],
        "budget": [Interval(numbers.Real, 0, None, closed="left"), None],
        "action_costs": ["array-like", numbers.Real],
        "campaign_budgets": ["array-like", None],
        "capacities": ["array-like", None],
        "max_cell": ["array-like", numbers.Real, None],
        "segment_sizes": ["array-like", None],
        "revenue": ["array-like", numbers.Real],
        "net_of_cost": ["boolean"],
        "segmentation": [
            StrOptions({"kmeans_lift", "kmeans_features", "column"}),
            HasMethods(["fit", "predict"]),
        ],
        "n_segments": [Interval(numbers.Integral, 1, None, closed="left")],
        "segment_col": [numbers.Integral, str, None],
        "min_segment_size": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "uplift_model": [StrOptions({"two_model", "treatment_dummy", "segment_means"})],
        "estimator": [HasMethods(["fit", "predict"]), None],
        "uncertainty": [StrOptions({"bootstrap", "subsample_means", "bayesian", "normal"})],
        "n_scenarios": [Interval(numbers.Integral, 2, None, closed="left")],
        "n_per_segment": [Interval(numbers.Integral, 1, None, closed="left")],
        "nominal_estimate": [StrOptions({"scenario_mean", "point"})],
        "control": "no_validation",
        "integer": ["boolean", StrOptions({"floor"})],
        "score_metric": [StrOptions({"mean", "quantile", "cvar", "min", "neg_wcl"})],
        "score_tail_fraction": [Interval(numbers.Real, 0, 1, closed="right")],
        "n_score_scenarios": [Interval(numbers.Integral, 2, None, closed="left")],
        "solver": [str, None],
        "solver_options": [dict, None],
        "n_jobs": [numbers.Integral, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        method="ellipsoidal",
        theta=1.645,
        gamma=None,
        tail_fraction=0.05,
        risk_aversion=1.0,
        dnorm_d=1,
        dnorm_matrix="identity",
        interval_method="shrinkage",
        alpha=0.05,
        cov_scale="scenario",
        budget=None,
        action_costs=1.0,
        campaign_budgets=None,
        capacities=None,
        max_cell=None,
        segment_sizes=None,
        revenue=1.0,
        net_of_cost=False,
        segmentation="kmeans_lift",
        n_segments=10,
        segment_col=None,
        min_segment_size=None,
        uplift_model="two_model",
        estimator=None,
        uncertainty="bootstrap",
        n_scenarios=50,
        n_per_segment=100,
        nominal_estimate="scenario_mean",
        control=None,
        integer=False,
        score_metric="mean",
        score_tail_fraction=0.05,
        n_score_scenarios=200,
        solver=None,
        solver_options=None,
        n_jobs=None,
        random_state=None,
        verbose=0,
    ):
        self.method = method
        self.theta = theta
        self.gamma = gamma
        self.tail_fraction = tail_fraction
        self.risk_aversion = risk_aversion
        self.dnorm_d = dnorm_d
        self.dnorm_matrix = dnorm_matrix
        self.interval_method = interval_method
        self.alpha = alpha
        self.cov_scale = cov_scale
        self.budget = budget
        self.action_costs = action_costs
        self.campaign_budgets = campaign_budgets
        self.capacities = capacities
        self.max_cell = max_cell
        self.segment_sizes = segment_sizes
        self.revenue = revenue
        self.net_of_cost = net_of_cost
        self.segmentation = segmentation
        self.n_segments = n_segments
        self.segment_col = segment_col
        self.min_segment_size = min_segment_size
        self.uplift_model = uplift_model
        self.estimator = estimator
        self.uncertainty = uncertainty
        self.n_scenarios = n_scenarios
        self.n_per_segment = n_per_segment
        self.nominal_estimate = nominal_estimate
        self.control = control
        self.integer = integer
        self.score_metric = score_metric
        self.score_tail_fraction = score_tail_fraction
        self.n_score_scenarios = n_score_scenarios
        self.solver = solver
        self.solver_options = solver_options
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.target_tags.single_output = False
        tags.target_tags.multi_output = True
        tags.input_tags.allow_nan = False
        tags.non_deterministic = False
        return tags

    # ------------------------------------------------------------------ input handling
    def _split_targets(self, y, treatment, n):
        """(outcome float (n,), treatment labels (n,)) from y (n, 2) or y + treatment."""
        if y is None:
            raise ValueError(
                "y is required: pass y of shape (n, 2) = [outcome, treatment] or a 1-D "
                "outcome together with treatment="
            )
        y_arr = np.asarray(y)
        if y_arr.ndim == 2 and y_arr.shape[1] >= 2:
            # [outcome, treatment] -- skcrm.policy.pack_policy_target's layout, read by its
            # one implementation; the propensity columns (3rd on) are not needed: lifts are
            # differences in means of a randomised experiment within segments
            if treatment is not None:
                raise ValueError("pass the treatment either as y[:, 1] or as treatment=, not both")
            try:
                outcome, treat, _ = unpack_policy_target(y_arr)
            except (TypeError, ValueError) as exc:
                raise ValueError(
                    "y of shape (n, 2+) must be numeric [outcome, treatment] columns (see "
                    "skcrm.policy.pack_policy_target); pass string arm labels as treatment="
                ) from exc
        elif y_arr.ndim == 1 or (y_arr.ndim == 2 and y_arr.shape[1] == 1):
            if treatment is None:
                raise ValueError(
                    "treatment is required: pass y of shape (n, 2) = [outcome, treatment] or "
                    "treatment= (enable metadata routing to pass it through a Pipeline or "
                    "GridSearchCV)"
                )
            outcome, treat = y_arr.reshape(-1), np.asarray(treatment).reshape(-1)
        else:
            raise ValueError(f"y must have shape (n,) or (n, 2+), got {y_arr.shape}")
        if outcome.shape[0] != n or treat.shape[0] != n:
            raise ValueError(
                f"X has {n} rows but the outcome has {outcome.shape[0]} and the treatment "
                f"{treat.shape[0]}"
            )
        try:
            outcome = outcome.astype(float)
        except (TypeError, ValueError) as exc:
            raise ValueError("the outcome (y[:, 0]) must be numeric") from exc
        if not np.all(np.isfinite(outcome)):
            raise ValueError("the outcome (y[:, 0]) must be finite (no NaN or inf)")
        return outcome, treat

    def _arm_codes(self, treat, fitting):
        """Codes 0 (control) .. M of the treatment labels (``skcrm.utils.check_treatment``)."""
        if fitting:
            info = check_treatment(
                treat, n_samples=treat.shape[0], control=self.control, require_control=True
            )
            c = info.control_index
            self.actions_ = info.actions
            self.campaigns_ = np.delete(info.actions, c)
            self.control_ = info.control
            # code a: 0 = control, 1..M = campaigns in sorted order
            self._arm_order_ = np.r_[c, np.delete(np.arange(info.n_actions), c)]
            codes = info.codes
        else:
            info = check_treatment(
                treat, n_samples=treat.shape[0], actions=self.actions_, control=self.control_,
            )  # fmt: skip
            codes = info.codes
        inverse = np.empty_like(self._arm_order_)
        inverse[self._arm_order_] = np.arange(self._arm_order_.size)
        return inverse[codes]

    def _segment_col_index(self):
        col = self.segment_col
        if col is None:
            raise ValueError('segmentation="column" needs segment_col (a column index or name)')
        if isinstance(col, str):
            names = getattr(self, "feature_names_in_", None)
            if names is None or col not in list(names):
                raise ValueError(f"segment_col={col!r} is not a column name of X")
            return list(names).index(col)
        if not 0 <= col < self.n_features_in_:
            raise ValueError(
                f"segment_col={col} is out of range for X with {self.n_features_in_} columns"
            )
        return int(col)

    def _features(self, X):
        """(model features, raw segment column or None)."""
        if self.segmentation == "column":
            j = self._segment_col_index()
            return np.delete(X, j, axis=1), X[:, j]
        return X, None

    # ------------------------------------------------------------------ uplift models
    def _base(self):
        """The response model: the user's, or one chosen by the outcome's type."""
        if self.estimator is not None:
            return self.estimator
        if self.outcome_type_ == "binary":
            return LogisticRegression(max_iter=1000)
        return LinearRegression()

    def _check_inputs(self, outcome, arm, raw_col):
        """Every check on the experiment that can fail, before any model is fitted."""
        M = self.campaigns_.size
        arms = np.concatenate([[self.control_], self.campaigns_])
        values = np.unique(outcome)
        self.outcome_type_ = "binary" if np.all(np.isin(values, (0.0, 1.0))) else "continuous"
        counts = np.bincount(arm, minlength=M + 1)
        # rows per segment x arm cell: known before fitting for a segment column;
        # for a clustering, every arm needs at least the minimum per segment
        if isinstance(self.segmentation, str) and self.segmentation == "column":
            _, seg = np.unique(raw_col, return_inverse=True)
            cells = np.bincount(seg * (M + 1) + arm, minlength=(seg.max() + 1) * (M + 1))
            low = np.argwhere(cells.reshape(-1, M + 1) < _MIN_CELL_ROWS)
            if low.size and (self.min_segment_size is None):
                k, a = low[0]
                raise ValueError(
                    f"segment {_plain(np.unique(raw_col)[k])!r} x arm {_plain(arms[a])!r} has "
                    f"{int(cells.reshape(-1, M + 1)[k, a])} training row(s); at least "
                    f"{_MIN_CELL_ROWS} are needed per segment x arm cell"
                )
        else:
            n_seg = self.n_segments if isinstance(self.segmentation, str) else 1
            need = _MIN_CELL_ROWS * n_seg
            low = np.flatnonzero(counts < need)
            if low.size:
                a = low[0]
                raise ValueError(
                    f"arm {_plain(arms[a])!r} has {int(counts[a])} training row(s) of "
                    f"{outcome.size}; with n_segments={n_seg} every arm needs at least {need} "
                    f"({_MIN_CELL_ROWS} per segment x arm cell). Use fewer n_segments or more "
                    "data"
                )
        needs_models = self.uplift_model != "segment_means"
        if needs_models and is_classifier(self._base()):
            if self.outcome_type_ != "binary":
                raise ValueError(
                    f"estimator {type(self._base()).__name__} is a classifier but the "
                    f"outcome is not binary ({values.size} distinct values, e.g. "
                    f"{format_labels(values[:4])}); a classifier would read P(outcome == 1) "
                    "as the response. Pass a regressor (the default for a non-binary outcome)"
                )
            groups = range(M + 1) if self.uplift_model == "two_model" else [None]
            for a in groups:
                rows = outcome if a is None else outcome[arm == a]
                if rows.size and np.unique(rows).size < 2:
                    where = "" if a is None else f" in arm {_plain(arms[a])!r}"
                    raise ValueError(
                        f"the outcome is constant (all {_plain(rows[0]):g}){where}: a response "
                        f"classifier cannot be fitted{where}. Use uplift_model='segment_means', "
                        "a estimator that handles one class, or more data"
                    )

    def _design_dummy(self, Xf, arm):
        """[X, D, X * D] with one dummy per campaign (treatment dummy)."""
        M = len(self.campaigns_)
        D = np.zeros((Xf.shape[0], M))
        rows = np.flatnonzero(arm > 0)
        D[rows, arm[rows] - 1] = 1.0
        inter = (Xf[:, :, None] * D[:, None, :]).reshape(Xf.shape[0], -1)
        return np.hstack([Xf, D, inter])

    def _fit_uplift(self, Xf, outcome, arm, rs):
        M = len(self.campaigns_)
        base = self._base()
        target = outcome.astype(np.int64) if is_classifier(base) else outcome
        if self.uplift_model == "two_model":
            models = []
            for a in range(M + 1):
                rows = arm == a
                model = clone(base)
                if "random_state" in model.get_params():
                    model.set_params(random_state=rs)
                models.append(model.fit(Xf[rows], target[rows]))
            return models
        model = clone(base)
        if "random_state" in model.get_params():
            model.set_params(random_state=rs)
        return [model.fit(self._design_dummy(Xf, arm), target)]

    def _lifts_from(self, models, Xf):
        M = len(self.campaigns_)
        if self.uplift_model == "two_model":
            p = np.column_stack([_predict_response(m, Xf) for m in models])
            return p[:, 1:] - p[:, :1]
        p0 = _predict_response(models[0], self._design_dummy(Xf, np.zeros(Xf.shape[0], int)))
        return np.column_stack(
            [
                _predict_response(models[0], self._design_dummy(Xf, np.full(Xf.shape[0], a))) - p0
                for a in range(1, M + 1)
            ]
        )

    # ------------------------------------------------------------------ segmentation
    def _fit_segments(self, Xf, raw_col, lifts, rs):
        if isinstance(self.segmentation, str):
            if self.segmentation == "column":
                self.segmenter_ = None
                self.segment_values_ = np.unique(raw_col)
                raw = np.searchsorted(self.segment_values_, raw_col)
                space = Xf
            else:
                space = lifts if self.segmentation == "kmeans_lift" else Xf
                if space.shape[0] < self.n_segments:
                    raise ValueError(
                        f"n_segments={self.n_segments} exceeds the number of rows "
                        f"({space.shape[0]})"
                    )
                self.segmenter_ = KMeans(self.n_segments, n_init=10, random_state=rs).fit(space)
                raw = self.segmenter_.labels_
        else:
            if not (hasattr(self.segmentation, "fit") and hasattr(self.segmentation, "predict")):
                raise TypeError(
                    "segmentation must be 'kmeans_lift', 'kmeans_features', 'column' or a "
                    "clusterer with fit and predict"
                )
            self.segmenter_ = clone(self.segmentation).fit(Xf)
            raw = np.asarray(self.segmenter_.predict(Xf))
            space = Xf
        raw_labels, raw = np.unique(raw, return_inverse=True)
        self.raw_segment_labels_ = raw_labels
        mapping = np.arange(raw_labels.size)
        if self.min_segment_size is not None:
            mapping = self._merge_small(raw, space, raw_labels.size)
        self.segment_map_ = mapping
        seg = mapping[raw]
        if isinstance(self.segmentation, str) and self.segmentation == "column":
            self.segments_ = np.array(
                [
                    self.segment_values_[np.flatnonzero(mapping == k)[0]]
                    for k in range(mapping.max() + 1)
                ]
            )
        else:
            self.segments_ = np.arange(mapping.max() + 1)
        return seg

    def _merge_small(self, raw, space, n_raw):
        """Merge the smallest segment into the nearest centroid until all are >= min size."""
        group = np.arange(n_raw)
        counts = np.bincount(raw, minlength=n_raw).astype(float)
        cent = np.stack([space[raw == j].mean(axis=0) for j in range(n_raw)])
        active = set(range(n_raw))
        while len(active) > 1:
            small = min(active, key=lambda j: counts[j])
            if counts[small] >= self.min_segment_size:
                break
            others = [j for j in active if j != small]
            dist = [np.linalg.norm(cent[j] - cent[small]) for j in others]
            tgt = others[int(np.argmin(dist))]
            w = counts[tgt] + counts[small]
            cent[tgt] = (cent[tgt] * counts[tgt] + cent[small] * counts[small]) / w
            counts[tgt] = w
            group[group == small] = tgt
            active.remove(small)
        _, final = np.unique(group, return_inverse=True)
        return final

    def _raw_segments(self, Xf, raw_col, lifts):
        if isinstance(self.segmentation, str) and self.segmentation == "column":
            pos = np.searchsorted(self.segment_values_, raw_col)
            pos_c = np.clip(pos, 0, self.segment_values_.size - 1)
            bad = self.segment_values_[pos_c] != raw_col
            if np.any(bad):
                raise ValueError(
                    f"segment_col holds labels {np.unique(raw_col[bad]).tolist()[:5]} not "
                    "seen in fit"
                )
            return pos_c
        if isinstance(self.segmentation, str) and self.segmentation == "kmeans_lift":
            raw = self.segmenter_.predict(lifts)
        else:
            raw = np.asarray(self.segmenter_.predict(Xf))
        pos = np.searchsorted(self.raw_segment_labels_, raw)
        return np.clip(pos, 0, self.raw_segment_labels_.size - 1)

    # ------------------------------------------------------------------ fit
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, treatment=None):
        """Learn lifts, segments and scenarios, then solve the allocation model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Customers of the experiment (features, plus the segment column if any).
        y : array-like of shape (n_samples, 2) or (n_samples,)
            ``[outcome, treatment]`` columns (the packed target; the layout of
            ``skcrm.policy.pack_policy_target``, whose propensity columns are ignored), or
            the outcome alone with ``treatment``.
        treatment : array-like of shape (n_samples,), optional
            Arm of each row (``control`` = no campaign).

        Returns
        -------
        self
        """
        X = validate_data(self, X, reset=True, dtype=np.float64, ensure_min_samples=2)
        outcome, treat = self._split_targets(y, treatment, X.shape[0])
        arm = self._arm_codes(treat, fitting=True)
        M = len(self.campaigns_)
        self._check_inputs(outcome, arm, self._features(X)[1])
        rs = check_random_state(self.random_state)
        seed = int(rs.randint(np.iinfo(np.int32).max))
        rng = np.random.default_rng(seed)
        Xf, raw_col = self._features(X)

        if self.uplift_model == "segment_means":
            if isinstance(self.segmentation, str) and self.segmentation == "kmeans_lift":
                raise ValueError(
                    'uplift_model="segment_means" has no individual lifts to cluster; use '
                    'segmentation="column", "kmeans_features" or a clusterer'
                )
            self.uplift_models_ = None
            lifts = None
        else:
            self.uplift_models_ = self._fit_uplift(Xf, outcome, arm, seed)
            lifts = self._lifts_from(self.uplift_models_, Xf)
        seg = self._fit_segments(Xf, raw_col, lifts, seed)
        K = self.segments_.size
        self.n_segments_, self.n_campaigns_ = int(K), int(M)

        cell = seg * (M + 1) + arm
        counts, sums, means = unc.cell_means(outcome, cell, K * (M + 1))
        counts2 = counts.reshape(K, M + 1)
        if self.uplift_model == "segment_means" or self.uncertainty == "bootstrap":
            low = np.argwhere(counts2 < _MIN_CELL_ROWS)
            if low.size:
                k, a = low[0]
                arms = np.concatenate([[self.control_], self.campaigns_])
                raise ValueError(
                    f"segment {_plain(self.segments_[k])!r} x arm {_plain(arms[a])!r} has "
                    f"{int(counts2[k, a])} training row(s); at least {_MIN_CELL_ROWS} are needed "
                    "per segment x arm cell. Use fewer n_segments, min_segment_size, or more data."
                )
        self.cell_counts_ = counts2

        # N_k of the target population
        if self.segment_sizes is None:
            self.segment_sizes_ = np.bincount(seg, minlength=K).astype(float)
        else:
            sizes = np.asarray(self.segment_sizes, dtype=float).reshape(-1)
            if sizes.shape != (K,):
                raise ValueError(
                    f"segment_sizes must have one entry per segment ({K}), got {sizes.shape[0]}"
                )
            if np.any(sizes < 0):
                raise ValueError("segment_sizes must be >= 0")
            self.segment_sizes_ = sizes

        # point estimates and scenarios
        mean2 = means.reshape(K, M + 1)
        if lifts is None:
            point = mean2[:, 1:] - mean2[:, :1]
        else:
            point = unc.segment_mean_lifts(lifts, seg, K)
        scen = self._scenarios(
            X, Xf, raw_col, outcome, arm, seg, lifts, point, sums, counts, rng, seed
        )
        self.lift_scenarios_ = scen
        self.lift_hat_ = scen.mean(axis=0) if self.nominal_estimate == "scenario_mean" else point
        S = scen.shape[0]
        scale = {"scenario": 1.0, "mean": 1.0 / S}.get(self.cov_scale, self.cov_scale)
        self.cov_scale_factor_ = float(scale)
        flat = scen.reshape(S, K * M)
        self.lift_cov_ = scale * np.atleast_2d(np.cov(flat, rowvar=False, ddof=1))
        sd = np.sqrt(np.clip(np.diag(self.lift_cov_), 0, None)).reshape(K, M)
        if self.interval_method == "shrinkage":
            se = scen.std(axis=0, ddof=1)  # standard errors of the segment lifts
            self.lift_lower_, self.lift_upper_ = unc.shrinkage_intervals(
                self.lift_hat_, se, 1.0 - self.alpha
            )
        elif self.interval_method == "scenario_min":
            self.lift_lower_, self.lift_upper_ = scen.min(axis=0), scen.max(axis=0)
        elif self.interval_method == "normal_ci":
            from scipy.stats import norm

            z = norm.ppf(1 - self.alpha / 2)
            self.lift_lower_, self.lift_upper_ = self.lift_hat_ - z * sd, self.lift_hat_ + z * sd
        else:
            tail = 100 * self.alpha / 2
            self.lift_lower_ = np.percentile(scen, tail, axis=0)
            self.lift_upper_ = np.percentile(scen, 100 - tail, axis=0)

        # value transform v = r * phi - net * c
        self.revenue_ = self._km(self.revenue, "revenue", K, M)
        self.action_costs_ = self._km(self.action_costs, "action_costs", K, M)
        net = self.action_costs_ if self.net_of_cost else 0.0
        self.value_hat_ = self.revenue_ * self.lift_hat_ - net
        self.value_scenarios_ = self.revenue_ * scen - net
        self.value_lower_ = self.revenue_ * np.minimum(self.lift_lower_, self.lift_hat_) - net
        vflat = self.value_scenarios_.reshape(S, K * M)
        self.value_cov_factor_ = (vflat - vflat.mean(axis=0)) * np.sqrt(scale / (S - 1))
        self.__dict__.pop("_nominal_sd", None)

        res = self._solve()
        self._store(res)
        self._warn_if_empty()
        return self

    def _lambda(self, risk_aversion):
        """lambda of mean_variance from the scale-free ``risk_aversion`` (see the class doc)."""
        if "_nominal_sd" not in self.__dict__:
            kw = self._solve_kwargs(raw=True) | {"method": "nominal", "integer": False}
            eta = solve_allocation(self.value_hat_, self.segment_sizes_, **kw).allocation
            self._nominal_sd = float(np.linalg.norm(self.value_cov_factor_ @ eta.ravel()))
        sd = self._nominal_sd
        return 0.0 if sd <= 0 else float(risk_aversion) / (2.0 * sd)

    def _warn_if_empty(self):
        """Warn when a robust model allocates nothing although the nominal one would."""
        if self.method in ("nominal", "expected_value") or self.allocation_.sum() > 0.5:
            return
        if not np.any(self.value_hat_ > 0) or self.budget == 0:
            return  # nothing is worth doing under the nominal model either
        why = {
            "interval": "every segment x campaign lower bound is <= 0 (largest "
            f"{self.value_lower_.max():.3g}): no lift is distinguishable from zero at "
            f"alpha={self.alpha}. Try interval_method='shrinkage', a larger alpha (narrower "
            "intervals), or more data",
            "budgeted": "the Bertsimas-Sim penalty exceeds the value of every allocation: try "
            "interval_method='shrinkage', a smaller gamma or a larger alpha",
            "ellipsoidal": f"theta={self.theta} exceeds every allocation's ratio of expected "
            "value to its standard deviation: try a smaller theta",
            "dnorm": f"theta={self.theta} is too large for the D-norm set: try a smaller theta",
            "mean_variance": "the variance penalty exceeds the value of every allocation: try "
            "a smaller risk_aversion",
            "worst_case": "every allocation loses value in the worst scenario: try cvar with a "
            "larger tail_fraction, or more scenarios' data",
            "cvar": f"every allocation loses value on average in the worst "
            f"{self.tail_fraction:.0%} of scenarios: try a larger tail_fraction",
            "max_regret": "no allocation lowers the maximum regret",
        }.get(self.method, "")
        warn(
            f"method={self.method!r} allocates nothing although the nominal lifts are positive "
            f"in {int((self.value_hat_ > 0).sum())} segment x campaign cell(s): {why}"
        )

    def _km(self, value, name, K, M):
        arr = np.asarray(value, dtype=float)
        if arr.ndim == 0:
            out = np.full((K, M), float(arr))
        elif arr.shape == (M,):
            out = np.broadcast_to(arr, (K, M)).copy()
        elif arr.shape == (K, M):
            out = arr.copy()
        else:
            raise ValueError(
                f"{name} must be a scalar or have shape ({M},) or ({K}, {M}), got {arr.shape}"
            )
        if np.any(out < 0) or not np.all(np.isfinite(out)):
            raise ValueError(f"{name} must be finite and >= 0")
        return out

    def _scenarios(self, X, Xf, raw_col, outcome, arm, seg, lifts, point, sums, counts, rng, seed):
        K, M = self.n_segments_, self.n_campaigns_
        S = self.n_scenarios
        cell = seg * (M + 1) + arm
        if self.uncertainty == "subsample_means":
            if lifts is None:  # n draws per (segment, arm) cell, difference of means
                means = np.empty((S, K * (M + 1)))
                order = np.argsort(cell, kind="stable")
                bounds = np.searchsorted(cell[order], np.arange(K * (M + 1) + 1))
                for c in range(K * (M + 1)):
                    rows = order[bounds[c] : bounds[c + 1]]
                    idx = rng.integers(0, rows.size, size=(S, self.n_per_segment))
                    means[:, c] = outcome[rows[idx]].mean(axis=1)
                m3 = means.reshape(S, K, M + 1)
                return m3[:, :, 1:] - m3[:, :, :1]
            return unc.subsample_lift_scenarios(lifts, seg, K, S, self.n_per_segment, rng)
        if self.uncertainty == "bayesian":
            if self.uplift_model != "segment_means":
                raise ValueError('uncertainty="bayesian" needs uplift_model="segment_means"')
            if not np.all(np.isin(outcome, (0.0, 1.0))):
                raise ValueError('uncertainty="bayesian" needs a binary (0/1) outcome')
            return unc.bayesian_lift_scenarios(
                sums.reshape(K, M + 1), counts.reshape(K, M + 1), S, rng
            )
        if self.uncertainty == "normal":
            if lifts is None:
                c2 = counts.reshape(K, M + 1)
                sq = np.bincount(cell, weights=outcome**2, minlength=K * (M + 1)).reshape(K, M + 1)
                mu = sums.reshape(K, M + 1) / c2
                var = np.maximum(sq / c2 - mu**2, 0) * c2 / np.maximum(c2 - 1, 1)
                se = np.sqrt(var[:, 1:] / c2[:, 1:] + var[:, :1] / c2[:, :1])
            else:
                n_k = np.bincount(seg, minlength=K).astype(float)[:, None]
                sq = np.stack(
                    [np.bincount(seg, weights=lifts[:, m] ** 2, minlength=K) for m in range(M)], 1
                )
                var = np.maximum(sq / n_k - point**2, 0) * n_k / np.maximum(n_k - 1, 1)
                se = np.sqrt(var / n_k)
            return unc.normal_lift_scenarios(point, se, S, rng)
        # bootstrap (default)
        if lifts is None:  # stratified per segment x arm, difference of response rates
            boot = unc.cell_bootstrap_means(outcome, cell, K * (M + 1), S, rng).reshape(S, K, M + 1)
            return boot[:, :, 1:] - boot[:, :, :1]
        # refit the uplift model on S resamples stratified by arm
        idx_all = []
        for a in range(M + 1):
            rows = np.flatnonzero(arm == a)
            idx_all.append(rows[rng.integers(0, rows.size, size=(S, rows.size))])
        idx = np.concatenate(idx_all, axis=1)
        seeds = rng.integers(0, np.iinfo(np.int32).max, size=S)

        def one(s):
            rows = idx[s]
            models = self._fit_uplift(Xf[rows], outcome[rows], arm[rows], int(seeds[s]))
            return unc.segment_mean_lifts(self._lifts_from(models, Xf), seg, K)

        if self.n_jobs not in (None, 1):
            from joblib import Parallel, delayed

            out = Parallel(n_jobs=self.n_jobs)(delayed(one)(s) for s in range(S))
        else:
            from ..utils import progress

            out = [
                one(s) for s in progress(range(S), verbose=self.verbose, desc="bootstrap refits")
            ]
        return np.stack(out)

    # ------------------------------------------------------------------ solving
    def _solve_kwargs(self, raw=False):
        kw = {
            "method": self.method,
            "scenarios": self.value_scenarios_,
            "lower": self.value_lower_,
            "cov_factor": self.value_cov_factor_,
            "theta": self.theta,
            "gamma": self.gamma,
            "tail_fraction": self.tail_fraction,
            "risk_aversion": self.risk_aversion,
            "dnorm_d": self.dnorm_d,
            "dnorm_matrix": self.dnorm_matrix,
            "alpha": self.alpha,
            "action_costs": self.action_costs_,
            "budget": self.budget,
            "campaign_budgets": self.campaign_budgets,
            "capacities": self.capacities,
            "max_cell": self.max_cell,
            "integer": self.integer,
            "solver": self.solver,
            "solver_options": self.solver_options,
            "verbose": bool(self.verbose),
        }
        if not raw and self.method == "mean_variance":
            self.risk_aversion_ = self._lambda(self.risk_aversion)
            kw["risk_aversion"] = self.risk_aversion_
        return kw

    def _solve(self, segment_sizes=None, **overrides):
        kw = self._solve_kwargs()
        kw.update(overrides)
        sizes = self.segment_sizes_ if segment_sizes is None else segment_sizes
        return solve_allocation(self.value_hat_, sizes, **kw)

    def _metrics(self, eta):
        S = self.value_scenarios_.shape[0]
        x = eta.ravel()
        return {
            "expected_profit": float(self.value_hat_.ravel() @ x),
            "worst_case_profit": float((self.value_scenarios_.reshape(S, -1) @ x).min()),
            "profit_sd": float(np.linalg.norm(self.value_cov_factor_ @ x)),
            "budget_used": float((self.action_costs_ * eta).sum()),
        }

    def _store(self, res):
        self.allocation_ = res.allocation
        N = self.segment_sizes_[:, None]
        self.assignment_rate_ = np.divide(
            res.allocation, N, out=np.zeros_like(res.allocation), where=N > 0
        )
        m = self._metrics(res.allocation)
        self.expected_profit_ = m["expected_profit"]
        self.worst_case_profit_ = m["worst_case_profit"]
        self.profit_sd_ = m["profit_sd"]
        self.budget_used_ = m["budget_used"]
        self.robust_objective_ = -res.objective if self.method == "max_regret" else res.objective
        if self.method == "max_regret":
            self.max_regret_ = float(res.objective)
            self.scenario_optima_ = np.asarray(res.extras["scenario_optima"])
        self.solver_status_ = res.status
        self.solver_name_ = res.solver

    # ------------------------------------------------------------------ prediction side
    def _prep(self, X):
        check_is_fitted(self, "allocation_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return (X, *self._features(X))

    def _lifts_and_segments(self, X):
        X, Xf, raw_col = self._prep(X)
        lifts = None if self.uplift_models_ is None else self._lifts_from(self.uplift_models_, Xf)
        seg = self.segment_map_[self._raw_segments(Xf, raw_col, lifts)]
        return lifts, seg

    @dask_dispatch()
    def predict_segment(self, X):
        """Segment code (0..K-1, index into ``segments_``) of each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Customers.

        Returns
        -------
        ndarray of int64, shape (n_samples,)
        """
        return self._lifts_and_segments(X)[1]

    @dask_dispatch()
    def predict_lift(self, X):
        """Individual lift predictions (n, M); segment values for ``segment_means``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Customers.

        Returns
        -------
        ndarray of shape (n_samples, M)
            Predicted lift of each campaign (columns in ``campaigns_`` order).
        """
        lifts, seg = self._lifts_and_segments(X)
        return self.lift_hat_[seg] if lifts is None else lifts

    @dask_dispatch(joint=_joint_over_rows)
    def predict(self, X):
        """Assign a campaign (or the control label) to each row, matching the allocation.

        Within segment k with n_k rows the target counts are ``assignment_rate_[k] * n_k``,
        rounded by largest remainder; campaigns are filled in decreasing ``lift_hat_[k]``
        order with the rows of highest predicted lift (random order, seeded by
        ``random_state``, for ``segment_means``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Customers.

        Returns
        -------
        ndarray of shape (n_samples,)

        Raises
        ------
        TypeError
            For a Dask DataFrame: the per-segment counts couple all rows, so partitions
            cannot be assigned one by one (see Notes).

        Notes
        -----
        The assignment is joint over the rows of ``X`` (the counts of each segment are split
        by largest remainder over all its rows), so a Dask DataFrame is refused rather than
        assigned partition by partition, which would round every partition separately and
        miss the allocation. Score the rows out of core with the row-wise
        :meth:`predict_lift` and :meth:`predict_segment` (both accept Dask input), compute
        them, then assign in memory.
        """
        lifts, seg = self._lifts_and_segments(X)
        n = seg.shape[0]
        K, M = self.n_segments_, self.n_campaigns_
        n_k = np.bincount(seg, minlength=K).astype(float)
        targets = self.assignment_rate_ * n_k[:, None]
        full = np.column_stack([targets, np.maximum(n_k - targets.sum(axis=1), 0.0)])
        counts = unc.largest_remainder(full)[:, :M]
        if lifts is None:
            rng = np.random.default_rng(check_random_state(self.random_state).randint(2**31 - 1))
            lifts = np.repeat(rng.random(n)[:, None], M, axis=1)
        code = np.full(n, -1, dtype=np.int64)
        order_seg = np.argsort(seg, kind="stable")
        bounds = np.searchsorted(seg[order_seg], np.arange(K + 1))
        for k in np.flatnonzero(counts.sum(axis=1) > 0):
            rows = order_seg[bounds[k] : bounds[k + 1]]
            free = np.ones(rows.size, dtype=bool)
            for m in np.argsort(-self.lift_hat_[k], kind="stable"):
                need = counts[k, m]
                if need <= 0:
                    continue
                cand = np.flatnonzero(free)
                pick = cand[np.argsort(-lifts[rows[cand], m], kind="stable")[:need]]
                code[rows[pick]] = m
                free[pick] = False
        labels = np.concatenate([self.campaigns_, [self.control_]])
        return labels[np.where(code < 0, M, code)]

    _RESOLVE_PARAMS = (
        "method", "theta", "gamma", "tail_fraction", "risk_aversion", "dnorm_d", "dnorm_matrix",
        "alpha", "budget", "campaign_budgets", "capacities", "max_cell", "integer",
        "solver", "solver_options",
    )  # fmt: skip

    def resolve(self, **params):
        """Change allocation-model parameters and re-solve on the fitted scenarios.

        The uplift models, segments and scenarios are kept (no refit), so switching between
        models or tracing theta is a re-solve of the cached cvxpy problem.

        Parameters
        ----------
        **params
            Any of ``method``, ``theta``, ``gamma``, ``tail_fraction``, ``risk_aversion``,
            ``dnorm_d``, ``dnorm_matrix``, ``alpha``, ``budget``,
            ``campaign_budgets``, ``capacities``, ``max_cell``, ``integer``, ``solver``,
            ``solver_options``.

        Returns
        -------
        self
        """
        check_is_fitted(self, "allocation_")
        bad = sorted(set(params) - set(self._RESOLVE_PARAMS))
        if bad:
            raise ValueError(
                f"resolve() changes only allocation-model parameters {list(self._RESOLVE_PARAMS)};"
                f" {bad} need a new fit"
            )
        self.set_params(**params)
        self._validate_params()
        for name in ("max_regret_", "scenario_optima_"):
            self.__dict__.pop(name, None)
        if {"budget", "campaign_budgets", "capacities", "max_cell"} & set(params):
            self.__dict__.pop("_nominal_sd", None)
        self._store(self._solve())
        self._warn_if_empty()
        return self

    @dask_dispatch(joint=_joint_over_rows)
    def allocate(self, X=None, segment_sizes=None):
        """Re-solve the fitted model for another population (does not change the fit).

        Parameters
        ----------
        X : array-like, optional
            Population whose segment counts become N_k.
        segment_sizes : array-like of shape (K,), optional
            N_k directly.

        Returns
        -------
        AllocationResult
        """
        check_is_fitted(self, "allocation_")
        if segment_sizes is None:
            if X is None:
                sizes = self.segment_sizes_
            else:
                sizes = np.bincount(self.predict_segment(X), minlength=self.n_segments_).astype(
                    float
                )
        else:
            sizes = np.asarray(segment_sizes, dtype=float)
        return self._solve(segment_sizes=sizes)

    def evaluate(self, scenarios=None, allocation=None):
        """Table-2 summary (plus WCL) of the realised value over scenarios.

        Parameters
        ----------
        scenarios : array-like of shape (S, K, M), optional
            Value scenarios (default: the training value scenarios).
        allocation : array-like of shape (K, M), optional
            Default ``allocation_``.

        Returns
        -------
        pandas.Series
        """
        check_is_fitted(self, "allocation_")
        scen = self.value_scenarios_ if scenarios is None else np.asarray(scenarios, float)
        eta = self.allocation_ if allocation is None else np.asarray(allocation, float)
        values = scen.reshape(scen.shape[0], -1) @ eta.ravel()
        out = summary_statistics(values)
        out["WCL (%)"] = worst_case_loss(values)
        return out

    def robustness_path(self, param_values, param="theta"):
        """Price of robustness: re-solve for each value of ``param`` (DPP re-solve).

        Parameters
        ----------
        param_values : iterable of float
            Values of ``param`` to solve for.
        param : {"theta", "gamma", "tail_fraction", "risk_aversion", "budget"}

        Returns
        -------
        pandas.DataFrame
            Columns expected_profit, robust_objective, worst_case_profit, profit_sd,
            budget_used, n_nonzero_cells (cells with at least half a customer).
        """
        import pandas as pd

        check_is_fitted(self, "allocation_")
        if param not in ("theta", "gamma", "tail_fraction", "risk_aversion", "budget"):
            raise ValueError(
                f"param must be theta, gamma, tail_fraction, risk_aversion or budget, got {param!r}"
            )
        rows = []
        for value in param_values:
            if param == "risk_aversion":
                res = self._solve(risk_aversion=self._lambda(value))
            else:
                res = self._solve(**{param: value})
            m = self._metrics(res.allocation)
            robust = -res.objective if self.method == "max_regret" else res.objective
            rows.append(
                {
                    param: value,
                    "expected_profit": m["expected_profit"],
                    "robust_objective": robust,
                    "worst_case_profit": m["worst_case_profit"],
                    "profit_sd": m["profit_sd"],
                    "budget_used": m["budget_used"],
                    "n_nonzero_cells": int((res.allocation >= 0.5).sum()),
                }
            )
        return pd.DataFrame(rows).set_index(param)

    # ------------------------------------------------------------------ scoring
    def held_out_values(self, X, y, treatment=None, n_boot=None):
        """Realised value of ``allocation_`` on held-out experimental data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Held-out customers of the experiment.
        y : array-like of shape (n_samples, 2) or (n_samples,)
            ``[outcome, treatment]`` or the outcome with ``treatment``.
        treatment : array-like of shape (n_samples,), optional
            Arm of each row.
        n_boot : int, optional
            Bootstrap replicates of the held-out rows (stratified by segment x arm).

        Returns
        -------
        value : float
            The plug-in value with difference-in-means lifts.
        values : ndarray of shape (n_boot,) or None
            Its bootstrap replicates.
        """
        lifts, seg = self._lifts_and_segments(X)
        outcome, treat = self._split_targets(y, treatment, seg.shape[0])
        arm = self._arm_codes(treat, fitting=False)
        K, M = self.n_segments_, self.n_campaigns_
        cell = seg * (M + 1) + arm
        counts, _, means = unc.cell_means(outcome, cell, K * (M + 1))
        m2 = means.reshape(K, M + 1)
        lift = m2[:, 1:] - m2[:, :1]
        missing = np.isnan(lift)
        if missing.any():
            warn(
                f"{int(missing.sum())} segment x campaign cell(s) have no held-out rows in a "
                "treated or control arm; their fitted lift_hat_ is used instead",
            )
            lift = np.where(missing, self.lift_hat_, lift)
        net = self.action_costs_ if self.net_of_cost else 0.0
        eta = self.allocation_
        value = float(((self.revenue_ * lift - net) * eta).sum())
        if n_boot is None:
            return value, None
        rng = np.random.default_rng(check_random_state(self.random_state).randint(2**31 - 1))
        boot = unc.cell_bootstrap_means(outcome, cell, K * (M + 1), n_boot, rng).reshape(
            n_boot, K, M + 1
        )
        bl = boot[:, :, 1:] - boot[:, :, :1]
        bl = np.where(np.isnan(bl), lift, bl)
        values = ((self.revenue_ * bl - net) * eta).reshape(n_boot, -1).sum(axis=1)
        return value, values

    def score(self, X, y, treatment=None):
        """Held-out realised value of the allocation under ``score_metric`` (higher is better).

        ``"mean"``: the plug-in value sum_km v^test_km eta_km with difference-in-means lifts;
        ``"quantile"``, ``"cvar"``, ``"min"``, ``"neg_wcl"``: over ``n_score_scenarios``
        bootstrap replicates of the held-out rows (stratified by segment x arm).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Held-out customers of the experiment.
        y : array-like of shape (n_samples, 2) or (n_samples,)
            ``[outcome, treatment]`` or the outcome with ``treatment``.
        treatment : array-like of shape (n_samples,), optional
            Arm of each row.

        Returns
        -------
        float
        """
        if self.score_metric == "mean":
            return self.held_out_values(X, y, treatment)[0]
        _, values = self.held_out_values(X, y, treatment, n_boot=self.n_score_scenarios)
        a = self.score_tail_fraction
        if self.score_metric == "quantile":
            return float(np.percentile(values, 100 * a))
        if self.score_metric == "cvar":
            k = max(1, int(np.ceil(a * values.size)))
            return float(np.sort(values)[:k].mean())
        if self.score_metric == "min":
            return float(values.min())
        wcl = worst_case_loss(values)
        return -wcl if np.isfinite(wcl) else float("-inf")
