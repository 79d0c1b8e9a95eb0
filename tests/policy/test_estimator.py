"""DRPolicyClassifier: spec 002 section 8 groups A (A4-A6) and D, and bad inputs."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone, is_classifier
from sklearn.exceptions import NotFittedError
from sklearn.tree import DecisionTreeClassifier

from skcrm.datasets import make_surrogate_targeting
from skcrm.policy import DRPolicyClassifier, pack_policy_target


@pytest.fixture(scope="module")
def k2():
    return make_surrogate_targeting(10, 2000, n_actions=2, random_state=0)


@pytest.fixture(scope="module")
def k4():
    return make_surrogate_targeting(10, 2000, n_actions=4, random_state=1)


def _fit(d, **params):
    params.setdefault("random_state", 0)
    return DRPolicyClassifier(**params).fit(
        d.X, d.y_long, treatment=d.treatment, propensity=d.propensity
    )


@pytest.fixture(scope="module")
def fitted_k2(k2):
    return _fit(k2)


def test_learned_policy_beats_treating_no_one(k2, fitted_k2):
    gain = k2.policy_value(fitted_k2, n_mc=100_000) - k2.policy_value(0, n_mc=100_000)
    assert gain > 1.0  # oracle gain is 2.25


def test_dr_scores_use_cross_fitted_mu(k2, fitted_k2):
    a = k2.treatment
    p_obs = k2.propensity[np.arange(2000), a]
    expected = fitted_k2.mu_hat_.copy()
    expected[np.arange(2000), a] += (k2.y_long - expected[np.arange(2000), a]) / p_obs
    np.testing.assert_allclose(fitted_k2.dr_scores_, expected, atol=1e-12)
    assert sorted(np.unique(fitted_k2.fold_indices_)) == [0, 1, 2]


def test_weighted_reduction_with_unrestricted_tree_reproduces_row_argmax(k2):
    pol = _fit(
        k2,
        policy_model=DecisionTreeClassifier(max_depth=None, min_samples_leaf=1, random_state=0),
        reduction="weighted",
    )
    G = pol.dr_scores_
    rows = G[:, 1] != G[:, 0]
    np.testing.assert_array_equal(pol.predict(k2.X)[rows], np.argmax(G, axis=1)[rows])


def test_ovo_equals_weighted_for_two_actions(k2):
    tree = DecisionTreeClassifier(max_depth=3, min_samples_leaf=50, random_state=0)
    a = _fit(k2, policy_model=tree, reduction="weighted").predict(k2.X)
    b = _fit(k2, policy_model=tree, reduction="ovo").predict(k2.X)
    np.testing.assert_array_equal(a, b)


def test_packed_target_gives_identical_scores(k2, fitted_k2):
    packed = pack_policy_target(k2.y_long, k2.treatment, k2.propensity)
    pol = DRPolicyClassifier(random_state=0).fit(k2.X, packed)
    np.testing.assert_array_equal(pol.dr_scores_, fitted_k2.dr_scores_)
    assert pol.score(k2.X, packed) == fitted_k2.score(
        k2.X, k2.y_long, treatment=k2.treatment, propensity=k2.propensity
    )


def test_treated_arm_propensity_vector_equals_full_matrix(k2, fitted_k2):
    # the contract (issue 11): a per-row vector with two arms is P(T = the non-control arm),
    # the EconML/causalml habit (it used to be read as the received arm's probability)
    p_treated = k2.propensity[:, 1]
    pol = DRPolicyClassifier(control=0, random_state=0).fit(
        k2.X, k2.y_long, treatment=k2.treatment, propensity=p_treated
    )
    np.testing.assert_array_equal(pol.dr_scores_, fitted_k2.dr_scores_)
    with pytest.raises(ValueError, match="control must be named"):
        DRPolicyClassifier(random_state=0).fit(
            k2.X, k2.y_long, treatment=k2.treatment, propensity=p_treated
        )


def test_string_labels_and_dataframe_match_integer_coding(k2, fitted_k2):
    labels = np.array(["control", "discount"])[k2.treatment]
    X = pd.DataFrame(k2.X, columns=[f"x{j}" for j in range(1, 7)])
    pol = DRPolicyClassifier(random_state=0).fit(
        X, k2.y_long, treatment=labels, propensity=k2.propensity
    )
    np.testing.assert_array_equal(pol.dr_scores_, fitted_k2.dr_scores_)
    np.testing.assert_array_equal(
        pol.predict(X), np.array(["control", "discount"])[fitted_k2.predict(k2.X)]
    )
    assert list(pol.feature_names_in_) == list(X.columns)


def test_not_a_classifier_for_cv_splitting():
    assert not is_classifier(DRPolicyClassifier())


def test_not_fitted_raises(k2):
    with pytest.raises(NotFittedError):
        DRPolicyClassifier().predict(k2.X)


def test_feature_count_mismatch_raises(k2, fitted_k2):
    with pytest.raises(ValueError, match="features"):
        fitted_k2.predict(k2.X[:, :5])


def test_pickle_round_trip_predicts_identically(k2, fitted_k2):
    twin = pickle.loads(pickle.dumps(fitted_k2))
    np.testing.assert_array_equal(twin.predict(k2.X), fitted_k2.predict(k2.X))


def test_same_seed_same_scores_different_seed_different_folds(k2, fitted_k2):
    again = _fit(k2)
    np.testing.assert_array_equal(again.dr_scores_, fitted_k2.dr_scores_)
    np.testing.assert_array_equal(again.predict(k2.X), fitted_k2.predict(k2.X))
    other = _fit(k2, random_state=1)
    assert not np.array_equal(other.fold_indices_, fitted_k2.fold_indices_)


def test_clone_keeps_parameters():
    est = DRPolicyClassifier(cv=4, action_costs=[0.0, 1.0], random_state=3)
    assert clone(est).get_params() == est.get_params()


def test_arm_without_rows_raises_naming_it(k2):
    with pytest.raises(ValueError, match=r"arm\(s\) \[7\] have no training rows"):
        DRPolicyClassifier(actions=[0, 1, 7]).fit(
            k2.X, k2.y_long, treatment=k2.treatment, propensity=0.5
        )


def test_propensity_column_without_arm_raises(k2):
    P = np.column_stack([k2.propensity * 0.9, np.full(2000, 0.1)])
    with pytest.raises(ValueError, match=r"propensity must have shape \(n, K\)"):
        DRPolicyClassifier().fit(k2.X, k2.y_long, treatment=k2.treatment, propensity=P)


def test_small_propensities_are_clipped_with_warning(k2):
    p = k2.propensity.copy()
    rows = np.arange(3)
    p[rows, k2.treatment[:3]] = 1e-5
    p[rows, 1 - k2.treatment[:3]] = 1 - 1e-5
    with pytest.warns(UserWarning, match="3 propensity values of the received arm are below"):
        pol = DRPolicyClassifier(random_state=0).fit(
            k2.X, k2.y_long, treatment=k2.treatment, propensity=p
        )
    assert pol.propensity_.min() == pytest.approx(1e-3)


def test_propensity_rows_not_summing_to_one_raise(k2):
    with pytest.raises(ValueError, match="propensity rows must sum to 1"):
        DRPolicyClassifier().fit(
            k2.X, k2.y_long, treatment=k2.treatment, propensity=k2.propensity * 0.9
        )


@pytest.mark.parametrize("bad", [0.0, 1.5, -0.2])
def test_propensity_outside_unit_interval_raises(k2, bad):
    with pytest.raises(
        ValueError, match=r"propensity (must hold probabilities|gives probability 0)"
    ):
        DRPolicyClassifier(control=0).fit(k2.X, k2.y_long, treatment=k2.treatment, propensity=bad)


def test_single_arm_raises(k2):
    with pytest.raises(ValueError, match=r"1 arm\(s\) \[0\]; at least 2 are needed"):
        DRPolicyClassifier().fit(k2.X, k2.y_long, treatment=np.zeros(2000), propensity=1.0)


def test_nan_outcome_raises(k2):
    y = k2.y_long.copy()
    y[5] = np.nan
    with pytest.raises(ValueError, match=r"y \(the outcome\) has NaN"):
        DRPolicyClassifier().fit(k2.X, y, treatment=k2.treatment, propensity=k2.propensity)


def test_mismatched_lengths_raise(k2):
    with pytest.raises(ValueError, match="treatment has 1999 rows but X has 2000"):
        DRPolicyClassifier().fit(k2.X, k2.y_long, treatment=k2.treatment[:-1], propensity=0.5)
    with pytest.raises(ValueError, match="y has 1999 rows but X has 2000"):
        DRPolicyClassifier().fit(k2.X, k2.y_long[:-1], treatment=k2.treatment, propensity=0.5)


def test_missing_treatment_raises(k2):
    with pytest.raises(ValueError, match="treatment is required"):
        DRPolicyClassifier().fit(k2.X, k2.y_long)


def test_unknown_action_in_score_raises(k2, fitted_k2):
    with pytest.raises(ValueError, match=r"label\(s\) \[5\] that are not arms"):
        fitted_k2.score(
            k2.X, k2.y_long, treatment=np.where(k2.treatment == 1, 5, 0), propensity=0.5
        )


def test_estimated_propensities_warn(k2):
    with pytest.warns(UserWarning, match="no propensity given"):
        pol = DRPolicyClassifier(random_state=0).fit(k2.X, k2.y_long, treatment=k2.treatment)
    assert hasattr(pol, "propensity_model_")
    # the design is logistic-like in x1, x2: estimates track the truth
    p_true = k2.propensity[np.arange(2000), k2.treatment]
    assert np.corrcoef(pol.propensity_, p_true)[0, 1] > 0.9


def test_k4_ovo_predicts_every_row_with_valid_labels(k4):
    pol = _fit(k4, policy_model=DecisionTreeClassifier(max_depth=3, min_samples_leaf=50))
    assert pol.reduction_ == "ovo" and len(pol.pairwise_models_) == 6
    assert set(np.unique(pol.predict(k4.X))) <= {0, 1, 2, 3}


def test_decision_function_and_predict_value_shapes(k4):
    pol = _fit(k4, control=0)
    values = pol.decision_function(k4.X[:10])
    assert values.shape == (10, 4)
    np.testing.assert_allclose(pol.predict_value(k4.X[:10]), values[:, 1:] - values[:, :1])


def test_no_warning_with_known_propensities(k2):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _fit(k2)
    assert not caught, [str(w.message) for w in caught]


def test_policy_features_restrict_the_tree_but_not_mu(k2):
    pol = _fit(k2, policy_features=[2, 5])
    used = pol.policy_model_.tree_["feature"]
    assert set(used[used >= 0]) <= {0, 1}  # indices into the two policy columns
    assert list(pol.policy_feature_names_) == ["x2", "x5"]
    assert pol.policy_model_.n_features_in_ == 2
    assert pol.decision_function(k2.X).shape == (2000, 2)  # mu still sees every column


def test_argmax_reduction_recommends_best_regressed_score(k4):
    pol = _fit(k4, policy_model=DecisionTreeClassifier(), reduction="argmax")
    assert len(pol.value_models_) == 4
    values = np.column_stack([m.predict(k4.X) for m in pol.value_models_])
    np.testing.assert_array_equal(pol.predict(k4.X), np.argmax(values, axis=1))


def test_xgboost_alias_for_the_outcome_model(k2):
    pol = _fit(k2, outcome_model="xgboost")
    assert type(pol.outcome_model_).__name__ == "XGBRegressor"
    assert pol.dr_scores_.shape == (2000, 2)


def test_weighted_reduction_rejects_more_than_two_actions(k4):
    with pytest.raises(ValueError, match="reduction='weighted' needs 2 actions"):
        _fit(k4, policy_model=DecisionTreeClassifier(), reduction="weighted")


def test_sample_weight_multiplies_policy_objective(k2):
    w = np.where(np.arange(2000) % 2 == 0, 2.0, 1.0)
    pol = DRPolicyClassifier(random_state=0).fit(
        k2.X, k2.y_long, treatment=k2.treatment, propensity=k2.propensity, sample_weight=w
    )
    a = pol.predict(k2.X)
    G = pol.dr_scores_
    achieved = np.sum(w * G[np.arange(2000), a])
    assert pol.policy_model_.tree_["objective"] == pytest.approx(achieved, rel=1e-10)
