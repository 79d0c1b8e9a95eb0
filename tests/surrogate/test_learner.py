"""SurrogatePolicyLearner: the paper's recipe (Sec. 4.3) as one estimator.

The wiring is checked with a transparent stand-in policy learner (best arm by IPW mean);
tests/surrogate/test_policy_workflow.py runs the same recipe with DRPolicyClassifier.
"""

import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.base import BaseEstimator
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import GridSearchCV

from skcrm.datasets import make_surrogate_targeting
from skcrm.surrogate import (
    SurrogateIndexTransformer,
    SurrogatePolicyLearner,
    pack_surrogate_target,
    unpack_surrogate_target,
)


class BestArmByIPW(BaseEstimator):
    """Stand-in policy learner: treats everyone with the arm of highest IPW mean."""

    def __init__(self, shrink=0.0):
        self.shrink = shrink

    def fit(self, X, y, treatment=None, propensity=None):
        self.seen_ = (np.asarray(X).copy(), np.asarray(y).copy(), np.asarray(treatment).copy())
        p = np.asarray(propensity)
        p = p[np.arange(len(y)), treatment] if p.ndim == 2 else p
        self.classes_ = np.unique(treatment)
        means = [
            np.sum((treatment == a) * y / p) / np.sum((treatment == a) / p) for a in self.classes_
        ]
        self.best_ = self.classes_[int(np.argmax(means))]
        return self

    def predict(self, X):
        return np.full(len(X), self.best_)

    def score(self, X, y, treatment=None, propensity=None):
        p = np.asarray(propensity)
        p = p[np.arange(len(y)), treatment] if p.ndim == 2 else p
        w = (treatment == self.best_) / p
        return float(np.sum(w * y) / np.sum(w)) - self.shrink


@pytest.fixture(scope="module")
def sim():
    d = make_surrogate_targeting(4000, 1500, random_state=0)
    si = SurrogateIndexTransformer(LinearRegression(), covariate_cols=list(range(6)))
    si.fit(np.hstack([d.X_hist, d.S_hist]), d.y_hist)
    return d, si


def test_fit_imputes_with_the_prefit_index_and_learns_on_covariates(sim):
    d, si = sim
    learner = SurrogatePolicyLearner(si, BestArmByIPW()).fit(
        d.X, surrogates=d.S, treatment=d.treatment, propensity=d.propensity
    )
    expected = si.predict(np.hstack([d.X, d.S]))
    np.testing.assert_array_equal(learner.y_tilde_, expected)
    X_seen, y_seen, a_seen = learner.policy_.seen_
    np.testing.assert_array_equal(X_seen, d.X)  # covariates only, no surrogates
    np.testing.assert_array_equal(y_seen, expected)
    np.testing.assert_array_equal(a_seen, d.treatment)
    assert learner.surrogate_index_ is si
    assert learner.n_features_in_ == 6


def test_predict_needs_covariates_only(sim):
    d, si = sim
    learner = SurrogatePolicyLearner(si, BestArmByIPW()).fit(
        d.X, surrogates=d.S, treatment=d.treatment, propensity=d.propensity
    )
    assert learner.predict(d.X[:7]).shape == (7,)


def test_packed_target_equals_keywords(sim):
    d, si = sim
    kw = SurrogatePolicyLearner(si, BestArmByIPW()).fit(
        d.X, surrogates=d.S, treatment=d.treatment, propensity=d.propensity
    )
    Y = pack_surrogate_target(d.S, d.treatment, d.propensity)
    packed = SurrogatePolicyLearner(si, BestArmByIPW()).fit(d.X, Y)
    np.testing.assert_array_equal(packed.y_tilde_, kw.y_tilde_)
    assert packed.score(d.X, Y) == kw.score(
        d.X, surrogates=d.S, treatment=d.treatment, propensity=d.propensity
    )


def test_pack_unpack_round_trip():
    S = np.arange(6.0).reshape(3, 2)
    a = np.array([0, 1, 1])
    P = np.array([[0.6, 0.4], [0.5, 0.5], [0.1, 0.9]])
    S2, a2, p2 = unpack_surrogate_target(pack_surrogate_target(S, a, P), n_surrogates=2)
    np.testing.assert_array_equal(S2, S)
    np.testing.assert_array_equal(a2, a)
    np.testing.assert_array_equal(p2, P)


def test_packed_propensity_forms_are_stored_as_the_sorted_matrix():
    # issue 11: every form means one thing; a DataFrame is matched by label, and the
    # EconML P(T=1|X) vector (with control) is the probability of arm 1, not of the
    # received arm
    S = np.arange(6.0).reshape(3, 2)
    a = np.array([0, 1, 1])
    P = np.array([[0.6, 0.4], [0.5, 0.5], [0.1, 0.9]])
    ref = pack_surrogate_target(S, a, P)
    frame = pd.DataFrame({1: P[:, 1], 0: P[:, 0]})
    np.testing.assert_array_equal(pack_surrogate_target(S, a, frame), ref)
    np.testing.assert_allclose(pack_surrogate_target(S, a, P[:, 1], control=0), ref, atol=1e-15)
    with pytest.raises(ValueError, match="control must be"):
        pack_surrogate_target(S, a, P[:, 1])


def test_learner_reads_the_econml_vector_with_control(sim):
    d, si = sim
    kw = {"surrogates": d.S, "treatment": d.treatment}
    ref = SurrogatePolicyLearner(si, BestArmByIPW()).fit(d.X, propensity=d.propensity, **kw)
    vec = SurrogatePolicyLearner(si, BestArmByIPW(), control=0).fit(
        d.X, propensity=d.propensity[:, 1], **kw
    )
    assert vec.policy_.best_ == ref.policy_.best_
    np.testing.assert_array_equal(vec.predict(d.X), ref.predict(d.X))
    with pytest.raises(ValueError, match="control must be named"):
        SurrogatePolicyLearner(si, BestArmByIPW()).fit(d.X, propensity=d.propensity[:, 1], **kw)


def test_dataframes_are_concatenated_by_name(sim):
    d, _ = sim
    cols = [f"x{j}" for j in range(1, 7)]
    scols = ["short_revenue", "engagement", "content", "irrelevant"]
    H = pd.DataFrame(np.hstack([d.X_hist, d.S_hist]), columns=cols + scols)
    si = SurrogateIndexTransformer(LinearRegression(), covariate_cols=cols).fit(H, d.y_hist)
    X, S = pd.DataFrame(d.X, columns=cols), pd.DataFrame(d.S, columns=scols)
    learner = SurrogatePolicyLearner(si, BestArmByIPW()).fit(
        X, surrogates=S, treatment=d.treatment, propensity=d.propensity
    )
    np.testing.assert_allclose(learner.y_tilde_, si.predict(pd.concat([X, S], axis=1)))
    assert list(learner.feature_names_in_) == cols


def test_grid_search_with_a_frozen_index_and_packed_target(sim):
    d, si = sim
    Y = pack_surrogate_target(d.S, d.treatment, d.propensity)
    gs = GridSearchCV(
        SurrogatePolicyLearner(FrozenEstimator(si), BestArmByIPW()),
        {"policy__shrink": [0.0, 1.0]},
        cv=3,
    ).fit(d.X, Y)
    assert gs.best_params_ == {"policy__shrink": 0.0}
    np.testing.assert_allclose(
        gs.cv_results_["mean_test_score"][0] - gs.cv_results_["mean_test_score"][1], 1.0
    )


def test_grid_search_with_metadata_routing_equals_packed(sim):
    d, si = sim
    Y = pack_surrogate_target(d.S, d.treatment, d.propensity)
    base = SurrogatePolicyLearner(FrozenEstimator(si), BestArmByIPW())
    packed = GridSearchCV(base, {"policy__shrink": [0.0, 1.0]}, cv=3).fit(d.X, Y)
    with sklearn.config_context(enable_metadata_routing=True):
        routed = GridSearchCV(base, {"policy__shrink": [0.0, 1.0]}, cv=3).fit(
            d.X, surrogates=d.S, treatment=d.treatment, propensity=d.propensity
        )
    np.testing.assert_allclose(
        routed.cv_results_["mean_test_score"], packed.cv_results_["mean_test_score"], atol=1e-12
    )


def test_unfitted_index_gives_a_clear_error(sim):
    d, _ = sim
    learner = SurrogatePolicyLearner(SurrogateIndexTransformer(), BestArmByIPW())
    with pytest.raises(ValueError, match="FrozenEstimator"):
        learner.fit(d.X, surrogates=d.S, treatment=d.treatment, propensity=d.propensity)


def test_missing_inputs_are_named(sim):
    d, si = sim
    learner = SurrogatePolicyLearner(si, BestArmByIPW())
    with pytest.raises(ValueError, match="pack_surrogate_target"):
        learner.fit(d.X)
    with pytest.raises(ValueError, match=r"missing \['propensity'\]"):
        learner.fit(d.X, surrogates=d.S, treatment=d.treatment)
    with pytest.raises(ValueError, match="rows"):
        learner.fit(d.X, surrogates=d.S[:10], treatment=d.treatment, propensity=d.propensity)


def test_an_arm_absent_from_the_rows_keeps_its_propensity_column():
    # a fold without arm 2: the DataFrame still names it, the packed matrix keeps 3 columns
    S = np.zeros((4, 1))
    a = np.array([0, 1, 0, 1])
    frame = pd.DataFrame({2: [0.2] * 4, 0: [0.5] * 4, 1: [0.3] * 4})
    packed = pack_surrogate_target(S, a, frame)
    _, _, P = unpack_surrogate_target(packed, n_surrogates=1)
    np.testing.assert_allclose(P, [[0.5, 0.3, 0.2]] * 4)
