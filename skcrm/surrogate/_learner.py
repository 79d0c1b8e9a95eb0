"""The paper's recipe as one estimator: impute with a prefit index, learn a DR policy (Sec. 4.3)."""

from __future__ import annotations

import numbers
from collections.abc import Mapping

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, _fit_context, clone
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import HasMethods, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from skcrm.policy._estimator import _cap_is_joint
from skcrm.policy._target import pack_policy_target, unpack_policy_target
from skcrm.utils import check_propensity, check_treatment
from skcrm.utils._dask import dask_dispatch


def _policy_is_joint(est):
    """The fitted policy learner's reason to refuse Dask input (its treated-share cap)."""
    return _cap_is_joint(getattr(est, "policy_", None))


__all__ = ["SurrogatePolicyLearner", "pack_surrogate_target", "unpack_surrogate_target"]

_ROUTED = {"surrogates": True, "treatment": True, "propensity": True}


def pack_surrogate_target(surrogates, treatment, propensity, *, control=None):
    """Pack treatment, design propensities and surrogates into one float ``y``.

    With metadata routing off, ``GridSearchCV`` and ``cross_validate`` slice ``y`` for both
    ``fit`` and ``score`` but pass keyword arguments to ``fit`` only; a packed ``y`` makes
    the experimental surrogates, treatment and propensities reach the scorer too. The
    propensities are stored as the full (n, K) matrix in sorted-arm order, whatever form
    they were given in, so that the packed target means one thing.

    Parameters
    ----------
    surrogates : array-like of shape (n_samples, n_surrogates)
        Experimental surrogates, in the column order the index was fitted on.
    treatment : array-like of shape (n_samples,)
        Numeric arm labels (e.g. 0 = control, 1, 2, ...); encode string labels first.
    propensity : float, array-like, DataFrame or dict
        Design probabilities in any form of ``skcrm.utils.check_propensity`` (an
        (n, K) array in sorted-arm order, a DataFrame or dict keyed by arm, or for two arms
        P(T = the non-control arm) as a vector or scalar, which needs ``control``).
    control : label, default=None
        The no-action arm; needed only to read a two-arm vector or scalar propensity.

    Returns
    -------
    ndarray of shape (n_samples, n_surrogates + 1 + n_arms)
        Columns ``[S_1, ..., S_q, treatment, P_1, ..., P_K]`` (arms in sorted order): the
        layout of :func:`skcrm.policy.pack_policy_target` with the surrogates as outcomes.

    Examples
    --------
    >>> pack_surrogate_target([[5.0, 1.0]], [1], [[0.7, 0.3]])
    array([[5. , 1. , 1. , 0.7, 0.3]])
    """
    S = np.asarray(surrogates, dtype=np.float64)
    if S.ndim == 1:
        S = S[:, None]
    a = np.asarray(treatment)
    if not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
        raise TypeError(
            f"treatment must be numeric to be packed into y (got dtype {a.dtype}); encode the "
            "labels as integers first"
        )
    P = _propensity_matrix(a, propensity, control, n_samples=S.shape[0])
    return pack_policy_target(S, a, P)


def _propensity_matrix(treatment, propensity, control, n_samples=None):
    """Design probabilities as the (n, K) matrix in sorted-arm order (check_propensity).

    The arms are those the propensity names (DataFrame or dict keys, or the K columns of a
    numeric matrix with integer arms 0..K-1) when every received arm is among them, so that
    an arm absent from a subset of rows (a cross-validation fold) keeps its column.
    """
    a = np.asarray(treatment)
    arms = None
    if isinstance(propensity, pd.DataFrame | Mapping):
        arms = list(propensity.columns if isinstance(propensity, pd.DataFrame) else propensity)
    elif np.ndim(propensity) == 2 and np.issubdtype(a.dtype, np.integer):
        arms = list(range(np.shape(propensity)[1]))
    if arms is not None and len(arms) >= 2 and np.all(np.isin(np.unique(a), arms)):
        info = check_treatment(a, n_samples=n_samples, actions=arms, control=control)
    else:
        info = check_treatment(a, n_samples=n_samples, control=control)
    return check_propensity(propensity, info)[1]


def unpack_surrogate_target(y, n_surrogates):
    """Inverse of :func:`pack_surrogate_target`: ``(surrogates, treatment, propensity)``.

    Parameters
    ----------
    y : array-like of shape (n_samples, n_surrogates + 1 + n_arms)
        A packed target.
    n_surrogates : int
        Number of surrogate columns (the first ones); the arms are after the treatment.

    Returns
    -------
    surrogates : ndarray of shape (n_samples, n_surrogates)
    treatment : ndarray of shape (n_samples,)
        int64 when every label is a whole number.
    propensity : ndarray of shape (n_samples, n_arms)
        Design probabilities, columns in sorted-arm order.

    Examples
    --------
    >>> S, a, P = unpack_surrogate_target([[5.0, 1.0, 1.0, 0.7, 0.3]], n_surrogates=2)
    >>> S.tolist(), a.tolist(), P.tolist()
    ([[5.0, 1.0]], [1], [[0.7, 0.3]])
    """
    y = np.asarray(y, dtype=np.float64)
    n_arms = y.shape[1] - 1 - n_surrogates if y.ndim == 2 else 0
    if y.ndim != 2 or n_surrogates < 1 or n_arms < 2:
        raise ValueError(
            "a packed surrogate target has columns [S_1..S_q, treatment, P_1..P_K] with K >= 2 "
            f"arms and q = n_surrogates = {n_surrogates} >= 1 surrogates, got shape "
            f"{y.shape}; build it with pack_surrogate_target"
        )
    S, a, P = unpack_policy_target(y, n_outcomes=n_surrogates)
    return S.reshape(y.shape[0], n_surrogates), a, P


class SurrogatePolicyLearner(BaseEstimator):
    """Targeting for a long-term outcome: surrogate index, then DR policy learning.

    The recipe of Yang et al. (Sec. 4.3): a surrogate index fitted beforehand on historical
    data imputes the long-term outcome of each experimental unit from its short-term
    surrogates and covariates (step 2, eq. 9); a doubly-robust policy learner then learns
    whom to treat from the covariates alone (step 3, eqs. 19, 21-22). ``predict`` needs only
    the covariates, because the surrogates are observed after treatment and are not
    available when the policy is applied.

    Parameters
    ----------
    surrogate_index : fitted SurrogateIndexTransformer (or any fitted regressor)
        Prefit on historical data with inputs laid out as ``index_input`` says. It is not
        refitted; inside ``GridSearchCV`` wrap it in ``sklearn.frozen.FrozenEstimator`` so
        that cloning keeps it fitted.
    policy : estimator, default=None
        Policy learner with ``fit(X, y, treatment=, propensity=)``, ``predict`` and
        ``score(X, y, treatment=, propensity=)``; ``None`` is
        ``skcrm.policy.DRPolicyClassifier(random_state=random_state)``.
    index_input : {"covariates+surrogates", "surrogates"}, default="covariates+surrogates"
        What the index reads: the covariates followed by the surrogates (the default,
        Definition 3 conditions on both), or the surrogates alone.
    horizon : str, default=None
        Which horizon of a multi-horizon index imputes the outcome (default: the first).
    control : label, default=None
        The no-action arm, passed to the default policy learner; needed to read a two-arm
        propensity given as P(T = the non-control arm) (vector or scalar), and by the policy
        learner wherever it compares with the control.
    n_jobs : int, default=None
        Parallel jobs of the default policy learner.
    verbose : int, default=0
        Progress of the default policy learner.
    random_state : int, RandomState instance or None, default=None
        Seeds the default policy learner.

    Attributes
    ----------
    surrogate_index_ : estimator
        The prefit index used (the same object as ``surrogate_index``).
    policy_ : estimator
        The fitted policy learner.
    y_tilde_ : ndarray of shape (n_samples,)
        Imputed long-term outcome of the training units.
    classes_ : ndarray
        Actions, as the policy learner orders them.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Covariate names when ``X`` is a DataFrame.

    References
    ----------
    .. [1] Yang, J., Eckles, D., Dhillon, P., & Aral, S. Targeting for long-term outcomes.
       Management Science, Sec. 4.3 (the workflow) and Sec. 5.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> from skcrm.datasets import make_surrogate_targeting
    >>> from skcrm.surrogate import SurrogateIndexTransformer, SurrogatePolicyLearner
    >>> d = make_surrogate_targeting(4000, 2000, random_state=0)
    >>> si = SurrogateIndexTransformer(LinearRegression(), covariate_cols=list(range(6)))
    >>> si = si.fit(np.hstack([d.X_hist, d.S_hist]), d.y_hist)
    >>> learner = SurrogatePolicyLearner(si, random_state=0).fit(
    ...     d.X, surrogates=d.S, treatment=d.treatment, propensity=d.propensity
    ... )
    >>> learner.predict(d.X[:5]).shape
    (5,)
    """

    __metadata_request__fit = _ROUTED
    __metadata_request__score = _ROUTED

    _parameter_constraints: dict = {
        "surrogate_index": [HasMethods(["predict"])],
        "policy": [HasMethods(["fit", "predict"]), None],
        "index_input": [StrOptions({"covariates+surrogates", "surrogates"})],
        "horizon": [str, None],
        "control": "no_validation",
        "n_jobs": [numbers.Integral, None],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        surrogate_index,
        policy=None,
        *,
        index_input="covariates+surrogates",
        horizon=None,
        control=None,
        n_jobs=None,
        verbose=0,
        random_state=None,
    ):
        self.surrogate_index = surrogate_index
        self.policy = policy
        self.index_input = index_input
        self.horizon = horizon
        self.control = control
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.random_state = random_state

    def _policy(self):
        if self.policy is not None:
            return clone(self.policy)
        from skcrm.policy import DRPolicyClassifier

        params = {
            "control": self.control,
            "random_state": self.random_state,
            "n_jobs": self.n_jobs,
            "verbose": self.verbose,
        }
        accepted = DRPolicyClassifier().get_params()
        return DRPolicyClassifier(**{k: v for k, v in params.items() if k in accepted})

    def _inputs(self, X, y, surrogates, treatment, propensity, method):
        """Resolve keyword or packed inputs; return (surrogates, treatment, propensity)."""
        if surrogates is None and treatment is None and propensity is None:
            if y is None:
                raise ValueError(
                    f"{method} needs the experimental surrogates, treatment and propensity: "
                    "pass them as keywords (surrogates=, treatment=, propensity=; with "
                    "metadata routing inside GridSearchCV) or packed in y with "
                    "pack_surrogate_target"
                )
            return unpack_surrogate_target(y, self._n_surrogates(X))
        missing = [
            k for k, v in (("surrogates", surrogates), ("treatment", treatment)) if v is None
        ]
        if propensity is None:
            missing.append("propensity")
        if missing:
            raise ValueError(
                f"{method} got some but not all of surrogates/treatment/propensity; missing "
                f"{missing}"
            )
        if y is not None:
            raise ValueError(
                "y must be None when surrogates/treatment/propensity are given as keywords: "
                "the outcome is imputed by the surrogate index"
            )
        return surrogates, treatment, self._propensity_matrix(treatment, propensity)

    def _propensity_matrix(self, treatment, propensity):
        """The design probabilities as the (n, K) matrix in sorted-arm order."""
        return _propensity_matrix(treatment, propensity, self.control)

    def _n_surrogates(self, X):
        """Surrogate columns of a packed target: what the index reads beyond ``X``."""
        n_in = getattr(self.surrogate_index, "n_features_in_", None)
        if n_in is None:
            raise ValueError(
                "a packed target needs an index with n_features_in_ (to know how many "
                "surrogate columns it holds); pass surrogates=, treatment=, propensity="
            )
        if self.index_input == "surrogates":
            return int(n_in)
        return int(n_in) - np.shape(X)[1]

    def _impute(self, X, surrogates):
        index = self.surrogate_index
        if len(surrogates) != len(X):
            raise ValueError(f"surrogates has {len(surrogates)} rows but X has {len(X)}")
        if self.index_input == "surrogates":
            Z = surrogates
        elif isinstance(X, pd.DataFrame) and isinstance(surrogates, pd.DataFrame):
            Z = pd.concat([X.reset_index(drop=True), surrogates.reset_index(drop=True)], axis=1)
        else:
            Z = np.hstack([np.asarray(X, dtype=np.float64), _as_2d(surrogates)])
        kwargs = {} if self.horizon is None else {"horizon": self.horizon}
        y_tilde = np.asarray(index.predict(Z, **kwargs), dtype=np.float64)
        if not np.all(np.isfinite(y_tilde)):
            raise ValueError("the surrogate index imputed non-finite outcomes; check its inputs")
        return y_tilde

    def _check_index(self):
        try:
            check_is_fitted(self.surrogate_index)
        except NotFittedError as exc:
            raise ValueError(
                "surrogate_index must be fitted beforehand on the historical data (the index "
                "and the policy are learned on different units). Inside GridSearchCV wrap it "
                "in sklearn.frozen.FrozenEstimator so that cloning keeps it fitted."
            ) from exc

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None, *, surrogates=None, treatment=None, propensity=None):
        """Impute the long-term outcome, then learn the policy on the covariates.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_covariates)
            Pre-treatment covariates of the experimental units (what the policy reads).
        y : None or ndarray of shape (n_samples, 1 + n_arms + n_surrogates)
            ``None``, or the packed target of :func:`pack_surrogate_target`.
        surrogates : array-like or DataFrame of shape (n_samples, n_surrogates)
            Experimental surrogates (post-treatment, short-term).
        treatment : array-like of shape (n_samples,)
            Arm received by each unit (discrete labels).
        propensity : float, array-like, DataFrame or dict
            Design probabilities in any form of ``skcrm.utils.check_propensity``.

        Returns
        -------
        self
            The fitted learner.
        """
        self._check_index()
        # X is checked here (numeric, finite, dense, 2-D) and passed on as given, so that a
        # DataFrame keeps its column names for the index and the policy learner
        validate_data(self, X, reset=True, dtype=None)
        surrogates, treatment, propensity = self._inputs(
            X, y, surrogates, treatment, propensity, "fit"
        )
        self.surrogate_index_ = self.surrogate_index
        self.y_tilde_ = self._impute(X, surrogates)
        self.policy_ = self._policy().fit(
            X, self.y_tilde_, treatment=np.asarray(treatment), propensity=propensity
        )
        if hasattr(self.policy_, "classes_"):
            self.classes_ = self.policy_.classes_
        return self

    @dask_dispatch(joint=_policy_is_joint)
    def predict(self, X):
        """Recommended action for each unit, from its covariates only.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_covariates)
            Pre-treatment covariates.

        Returns
        -------
        ndarray of shape (n_samples,)
            Recommended arm labels.
        """
        check_is_fitted(self, "policy_")
        return self.policy_.predict(X)

    @dask_dispatch(joint=_policy_is_joint)
    def predict_proba(self, X):
        """Policy probabilities ``pi(a | x)`` (one-hot unless the learner explores).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_covariates)
            Pre-treatment covariates.

        Returns
        -------
        ndarray of shape (n_samples, n_actions)
            Probabilities, columns in the policy learner's arm order.
        """
        check_is_fitted(self, "policy_")
        return self.policy_.predict_proba(X)

    def score(self, X, y=None, *, surrogates=None, treatment=None, propensity=None):
        """DR value of the learned policy on held-out units, on the imputed outcome.

        The held-out outcome is imputed by the same prefit index; the value is what the
        policy learner's ``score`` reports (for ``DRPolicyClassifier``: eq. 17, or the gain
        over control with ``score_baseline="control"``). Higher is better.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_covariates)
            Pre-treatment covariates of the held-out units.
        y : None or ndarray of shape (n_samples, 1 + n_arms + n_surrogates)
            ``None``, or the packed target of :func:`pack_surrogate_target`.
        surrogates : array-like or DataFrame of shape (n_samples, n_surrogates)
            Their surrogates.
        treatment : array-like of shape (n_samples,)
            Arm received by each unit.
        propensity : float, array-like, DataFrame or dict
            Design probabilities (see ``skcrm.utils.check_propensity``).

        Returns
        -------
        float
            The policy's value on the imputed outcome.
        """
        check_is_fitted(self, "policy_")
        surrogates, treatment, propensity = self._inputs(
            X, y, surrogates, treatment, propensity, "score"
        )
        y_tilde = self._impute(X, surrogates)
        return float(
            self.policy_.score(X, y_tilde, treatment=np.asarray(treatment), propensity=propensity)
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = False
        tags.non_deterministic = False
        return tags


def _as_2d(a):
    a = np.asarray(a, dtype=np.float64)
    return a[:, None] if a.ndim == 1 else a
