"""Treatment and propensity reach fit and score in Pipeline, cross_validate and GridSearchCV:
by metadata routing and by the packed target (5.2 and check C8)."""

import numpy as np
import pytest
import sklearn
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.model_selection import GridSearchCV, KFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skcrm.datasets import make_surrogate_targeting
from skcrm.policy import DRPolicyClassifier, PolicyTreeClassifier, pack_policy_target


@pytest.fixture(scope="module")
def data():
    return make_surrogate_targeting(10, 4000, n_actions=2, random_state=0)


def _grid():
    # policy_model must be an estimator instance for nested parameters (the default None
    # stands for PolicyTreeClassifier(max_depth=2)).
    est = DRPolicyClassifier(
        HistGradientBoostingRegressor(max_iter=30, random_state=0),
        policy_model=PolicyTreeClassifier(),
        score_baseline="control",
        control=0,
        random_state=0,
    )
    return GridSearchCV(est, {"policy_model__max_depth": [1, 2, 3]}, cv=3)


@pytest.fixture(scope="module")
def packed_search(data):
    Y = pack_policy_target(data.y_long, data.treatment, data.propensity)
    return _grid().fit(data.X, Y)


def test_grid_search_on_packed_target_selects_by_positive_gain(packed_search):
    assert packed_search.best_score_ > 0  # gain over control; oracle gain is 2.25
    assert packed_search.best_params_["policy_model__max_depth"] in (1, 2, 3)


def test_grid_search_with_routing_gives_identical_cv_results(data, packed_search):
    with sklearn.config_context(enable_metadata_routing=True):
        routed = _grid().fit(
            data.X, data.y_long, treatment=data.treatment, propensity=data.propensity
        )
    for key in ("mean_test_score", "split0_test_score", "split1_test_score", "split2_test_score"):
        np.testing.assert_array_equal(routed.cv_results_[key], packed_search.cv_results_[key])


def test_cross_validate_pipeline_packed_equals_routed(data):
    pipe = make_pipeline(
        StandardScaler(),
        DRPolicyClassifier(HistGradientBoostingRegressor(max_iter=30), random_state=0),
    )
    Y = pack_policy_target(data.y_long, data.treatment, data.propensity)
    packed = cross_validate(pipe, data.X, Y, cv=KFold(3))["test_score"]
    with sklearn.config_context(enable_metadata_routing=True):
        routed = cross_validate(
            pipe,
            data.X,
            data.y_long,
            cv=KFold(3),
            params={"treatment": data.treatment, "propensity": data.propensity},
        )["test_score"]
    np.testing.assert_array_equal(packed, routed)
    # each fold's score is the held-out DR value of a fitted policy (V(none) is about 24.1)
    assert np.all((packed > 22) & (packed < 28))


def test_score_without_routing_needs_packed_target(data):
    est = DRPolicyClassifier(random_state=0).fit(
        data.X, data.y_long, treatment=data.treatment, propensity=data.propensity
    )
    with pytest.raises(ValueError, match="treatment is required"):
        est.score(data.X, data.y_long)


def test_packed_and_keyword_disagreement_raises(data):
    Y = pack_policy_target(data.y_long, data.treatment, data.propensity)
    with pytest.raises(ValueError, match="disagrees"):
        DRPolicyClassifier().fit(data.X, Y, treatment=1 - data.treatment)
