"""POMDPPolicy in the shared harness (tests/test_common.py)."""

from skcrm.datasets import make_pomdp_crm, make_pomdp_parametric
from skcrm.pomdp import POMDPPolicy
from tests._registry import Entry, FitData


def _panel():
    X, y, _ = make_pomdp_crm(n_customers=60, n_periods=12, random_state=0)
    X = X.assign(outcome=y)
    return FitData(X=X)


def _parametric_panel():
    X, y, _ = make_pomdp_parametric(n_customers=40, n_periods=10, random_state=0)
    return FitData(X=X.assign(outcome=y))


_PANEL = (
    "X is a customer-period panel: the check's random floats are not integer periods "
    "consecutive within a customer"
)

ENTRIES = [
    Entry(
        estimator=POMDPPolicy(n_init=2, max_iter=30, n_belief_points=21, random_state=0),
        data=_panel,
        output_method="predict",
        expected_failed_checks={
            "check_fit_score_takes_y": _PANEL,
            "check_estimators_overwrite_params": _PANEL,
            "check_dont_overwrite_parameters": _PANEL,
            "check_estimators_fit_returns_self": _PANEL,
            "check_readonly_memmap_input": _PANEL,
            "check_n_features_in_after_fitting": _PANEL,
            "check_positive_only_tag_during_fit": _PANEL,
            "check_estimators_dtypes": _PANEL,
            "check_dtype_object": _PANEL,
            "check_pipeline_consistency": _PANEL,
            "check_estimators_pickle": _PANEL,
            "check_f_contiguous_array_estimator": _PANEL,
            "check_transformer_data_not_an_array": _PANEL,
            "check_transformer_general": _PANEL,
            "check_transformer_preserve_dtypes": _PANEL,
            "check_transformer_n_iter": _PANEL,
            "check_methods_sample_order_invariance": _PANEL,
            "check_methods_subset_invariance": _PANEL,
            "check_dict_unchanged": _PANEL,
            "check_fit_idempotent": _PANEL,
            "check_fit_check_is_fitted": _PANEL,
            "check_n_features_in": _PANEL,
            "check_fit2d_1sample": "a one-row panel is rejected with our own message (one "
            "customer with one period cannot identify the model)",
            "check_fit2d_1feature": "an array X needs at least the id, period and action columns",
            "check_fit2d_predict1d": "an array X needs at least the id, period and action columns",
        },
    ),
    Entry(
        estimator=POMDPPolicy(
            n_states=2, n_init=1, max_iter=20, n_belief_points=11, random_state=1
        ),
        data=_panel,
        output_method="transform",
        check_estimator=False,
        id="POMDPPolicy-transform",
    ),
    Entry(
        estimator=POMDPPolicy(
            transition_model="logit",
            emission_model="ordered_logit",
            action_features={0: [0.0], 5: [0.5], 15: [1.5]},
            covariate_cols=["size"],
            n_init=1,
            max_iter=1000,
            n_belief_points=11,
            random_state=0,
        ),
        data=_parametric_panel,
        output_method="predict",
        check_estimator=False,
        id="POMDPPolicy-logit-covariates",
    ),
]
