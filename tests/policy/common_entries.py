"""Registry entries of the policy estimators for tests/test_common.py."""

from sklearn.tree import DecisionTreeClassifier

from skcrm.datasets import make_surrogate_targeting
from skcrm.policy import DRPolicyClassifier, PolicyTreeClassifier
from tests._registry import Entry, FitData


def _policy_data():
    d = make_surrogate_targeting(10, 600, n_actions=2, random_state=0)
    return FitData(d.X, d.y_long, {"treatment": d.treatment, "propensity": d.propensity})


def _k4_data():
    d = make_surrogate_targeting(10, 800, n_actions=4, random_state=1)
    return FitData(d.X, d.y_long, {"treatment": d.treatment, "propensity": d.propensity})


def _tree_data():
    d = make_surrogate_targeting(10, 400, n_actions=4, random_state=2)
    return FitData(d.X, d.mu)


# sklearn's checks call fit(X, y) with a plain 1-D y and no treatment. Policy learning
# cannot run without the realised actions, so fit raises "treatment is required" in every
# check that fits; these behaviours are tested with real treatment in tests/policy.
_NEEDS_TREATMENT = (
    "fit requires treatment= (the realised actions); sklearn's check passes only X and y"
)
_FITTING_CHECKS = [
    "check_all_zero_sample_weights_error",
    "check_dict_unchanged",
    "check_dont_overwrite_parameters",
    "check_dtype_object",
    "check_estimators_dtypes",
    "check_estimators_fit_returns_self",
    "check_estimators_nan_inf",
    "check_estimators_overwrite_params",
    "check_estimators_pickle",
    "check_estimators_pickle(readonly_memmap=True)",
    "check_f_contiguous_array_estimator",
    "check_fit2d_1feature",
    "check_fit2d_1sample",
    "check_fit2d_predict1d",
    "check_fit_check_is_fitted",
    "check_fit_idempotent",
    "check_fit_score_takes_y",
    "check_methods_sample_order_invariance",
    "check_methods_subset_invariance",
    "check_n_features_in",
    "check_n_features_in_after_fitting",
    "check_pipeline_consistency",
    "check_positive_only_tag_during_fit",
    "check_readonly_memmap_input",
    "check_sample_weight_equivalence_on_dense_data",
    "check_sample_weights_list",
    "check_sample_weights_not_an_array",
    "check_sample_weights_not_overwritten",
    "check_sample_weights_pandas_series",
    "check_sample_weights_shape",
]

ENTRIES = [
    Entry(
        estimator=DRPolicyClassifier(random_state=0),
        data=_policy_data,
        expected_failed_checks=dict.fromkeys(_FITTING_CHECKS, _NEEDS_TREATMENT),
    ),
    Entry(
        estimator=DRPolicyClassifier(
            policy_model=DecisionTreeClassifier(max_depth=2, random_state=0),
            reduction="ovo",
            n_bootstrap=3,
            random_state=0,
        ),
        data=_k4_data,
        output_method="predict_proba",
        check_estimator=False,
        id="DRPolicyClassifier-ovo-bts",
    ),
    Entry(estimator=PolicyTreeClassifier(max_depth=2), data=_tree_data),
]
