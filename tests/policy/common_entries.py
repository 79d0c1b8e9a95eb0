"""Registry entries of the policy estimators for tests/test_common.py."""

from sklearn.tree import DecisionTreeClassifier

from skcrm.datasets import make_surrogate_targeting
from skcrm.policy import DRPolicyClassifier, PolicyTreeClassifier
from tests._registry import (
    CHECKS_THAT_FIT_ON_RANDOM_DATA,
    SAMPLE_WEIGHT_CHECKS,
    Entry,
    FitData,
)


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
_FITTING_CHECKS = (*CHECKS_THAT_FIT_ON_RANDOM_DATA, *SAMPLE_WEIGHT_CHECKS)

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
