"""The POMDPPolicy estimator: API, input contract, per-customer outputs (spec §8 group E)."""

import pickle

import joblib
import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, cross_validate
from sklearn.pipeline import Pipeline

from skcrm.datasets import make_pomdp_crm
from skcrm.pomdp import POMDPPolicy, strategic_quadrants

KW = {
    "action_costs": [0, 2, 10],
    "outcome_values": [0, 10, 40],
    "n_init": 2,
    "n_belief_points": 51,
    "random_state": 0,
}


@pytest.fixture(scope="module")
def panel():
    X, y, truth = make_pomdp_crm(n_customers=200, n_periods=30, random_state=0)
    return X, y, truth


@pytest.fixture(scope="module")
def fitted(panel):
    X, y, _ = panel
    return POMDPPolicy(**KW).fit(X, y)


def test_init_stores_parameters_verbatim():
    costs = {0: 0.0, 1: 2.0}
    est = POMDPPolicy(action_costs=costs, discount=7, n_states="bad")
    assert est.action_costs is costs and est.discount == 7 and est.n_states == "bad"
    twin = clone(POMDPPolicy(**KW))
    assert twin.get_params() == POMDPPolicy(**KW).get_params()


def test_pickle_and_joblib_round_trips_are_bit_identical(fitted, panel, tmp_path):
    X, y, _ = panel
    for loaded in (
        pickle.loads(pickle.dumps(fitted)),
        joblib.load(joblib.dump(fitted, tmp_path / "m.joblib")[0]),
    ):
        np.testing.assert_array_equal(loaded.predict(X, y), fitted.predict(X, y))
        np.testing.assert_array_equal(loaded.transform(X, y), fitted.transform(X, y))
        np.testing.assert_array_equal(
            loaded.decision_function(X, y), fitted.decision_function(X, y)
        )


def test_same_random_state_gives_identical_fitted_attributes(panel, fitted):
    X, y, _ = panel
    again = POMDPPolicy(**KW).fit(X, y)
    for name in ("startprob_", "transmat_", "emissionprob_", "alpha_vectors_"):
        np.testing.assert_array_equal(getattr(again, name), getattr(fitted, name))


def test_output_shapes_and_argmax_relation(fitted, panel):
    X, y, _ = panel
    b = fitted.transform(X, y)
    q = fitted.decision_function(X, y)
    p = fitted.predict(X, y)
    assert b.shape == (len(X), 2) and q.shape == (len(X), 3) and p.shape == (len(X),)
    np.testing.assert_allclose(b.sum(1), 1.0, atol=1e-12)
    np.testing.assert_array_equal(p, fitted.actions_[q.argmax(1)])


def test_outputs_follow_the_original_row_order(fitted, panel):
    X, y, _ = panel
    perm = np.random.default_rng(0).permutation(len(X))
    Xs, ys = X.iloc[perm].reset_index(drop=True), y[perm]
    np.testing.assert_allclose(fitted.transform(Xs, ys), fitted.transform(X, y)[perm])
    np.testing.assert_array_equal(fitted.predict(Xs, ys), fitted.predict(X, y)[perm])


def test_outcome_column_is_used_when_y_is_none(fitted, panel):
    X, y, _ = panel
    np.testing.assert_array_equal(fitted.transform(X.assign(outcome=y)), fitted.transform(X, y))


def test_array_input_with_id_period_action_outcome_columns(fitted, panel):
    X, y, _ = panel
    arr = np.column_stack([X.to_numpy(), y])
    est = POMDPPolicy(**KW).fit(arr)
    np.testing.assert_allclose(est.transmat_, fitted.transmat_)


def test_filtered_belief_is_the_bayes_recursion(fitted, panel):
    X, y, _ = panel
    b = fitted.startprob_
    for t in range(3):
        b, _ = fitted.belief_update(b, X["action"].iloc[t], y[t])
    np.testing.assert_allclose(fitted.transform(X, y)[2], b, atol=1e-12)


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda X, y: (X.drop(index=3), y[np.arange(len(y)) != 3]), "gap in periods"),
        (
            lambda X, y: (X.assign(period=X["period"].where(X.index != 4, 4)), y),
            "duplicate periods",
        ),
        (lambda X, y: (X.drop(columns="action"), y), "missing column"),
        (lambda X, y: (X.assign(period=X["period"] + 0.5), y), "integer periods"),
        (lambda X, y: (X, y[:-1]), "one outcome per row"),
    ],
)
def test_bad_panels_raise_clear_errors(panel, mutate, match):
    X, y, _ = panel
    Xb, yb = mutate(X.copy(), y)
    with pytest.raises(ValueError, match=match):
        POMDPPolicy(**KW).fit(Xb, yb)


def test_unknown_action_at_predict_time_is_rejected(fitted, panel):
    X, y, _ = panel
    with pytest.raises(ValueError, match=r"unknown action\(s\) \[7\]"):
        fitted.predict(X.assign(action=X["action"].where(X.index != 0, 7)), y)


def test_outcome_outside_the_fitted_range_is_rejected(fitted, panel):
    X, y, _ = panel
    bad = y.copy()
    bad[5] = 3
    with pytest.raises(ValueError, match="outside the fitted range"):
        fitted.transform(X, bad)


@pytest.mark.parametrize("discount", [0.0, 1.0, 1.5, -0.2])
def test_discount_outside_unit_interval_is_rejected(panel, discount):
    X, y, _ = panel
    with pytest.raises(ValueError, match="discount"):
        POMDPPolicy(discount=discount, **KW).fit(X, y)


def test_single_customer_single_period_is_rejected():
    X = pd.DataFrame({"customer_id": [1], "period": [1], "action": [0]})
    with pytest.raises(ValueError, match="one customer with one period"):
        POMDPPolicy().fit(X, [1])


def test_missing_outcomes_are_accepted_and_propagate_beliefs(fitted, panel):
    X, y, _ = panel
    yn = y.astype(float)
    yn[1] = np.nan
    b = fitted.transform(X, yn)
    expected = fitted.startprob_
    expected, _ = fitted.belief_update(expected, X["action"].iloc[0], y[0])
    phi = expected @ fitted.transmat_[np.searchsorted(fitted.actions_, X["action"].iloc[1])]
    np.testing.assert_allclose(b[1], phi, atol=1e-12)
    assert np.isfinite(fitted.score(X, yn))


def test_pipeline_with_logistic_regression_on_belief_features(panel):
    X, y, _ = panel
    X = X.assign(outcome=y)
    target = (y > 0).astype(int)
    pipe = Pipeline([("pomdp", POMDPPolicy(**KW)), ("clf", LogisticRegression())])
    pipe.fit(X, target)
    assert pipe.predict(X).shape == (len(X),)
    assert pipe.score(X, target) > 0.5


def test_grouped_cross_validation_scores_held_out_customers(panel):
    X, y, _ = panel
    res = cross_validate(POMDPPolicy(**KW), X, y, groups=X["customer_id"], cv=GroupKFold(3))
    assert res["test_score"].shape == (3,)
    assert np.all((res["test_score"] < -0.3) & (res["test_score"] > -1.5))


def test_recommend_gives_one_row_per_customer(fitted, panel):
    X, y, _ = panel
    rec = fitted.recommend(X, y)
    assert rec.shape == (200, 2 + 1 + 3 + 2)
    assert rec.index.name == "customer_id"
    last = X.groupby("customer_id").tail(1).index
    np.testing.assert_allclose(
        rec[["belief_state0", "belief_state1"]].to_numpy(), fitted.transform(X, y)[last]
    )
    np.testing.assert_allclose(
        rec["vol"], rec["dcv"] - fitted.dynamic_customer_value(X, y, policy="open_loop").to_numpy()
    )


def test_dcv_ordering_of_policies(fitted, panel):
    X, y, _ = panel
    Xs, ys = X.iloc[:90], y[:90]
    dcv = {
        p: fitted.dynamic_customer_value(Xs, ys, policy=p).to_numpy()
        for p in ("pomdp", "open_loop", "myopic", "mdp_bound")
    }
    assert np.all(dcv["open_loop"] <= dcv["pomdp"] + 1e-9)
    assert np.all(dcv["myopic"] <= dcv["pomdp"] + 1e-6 * np.abs(dcv["pomdp"]))
    assert np.all(dcv["pomdp"] <= dcv["mdp_bound"] + 1e-6 * np.abs(dcv["pomdp"]))


def test_simulated_dcv_agrees_with_exact(fitted):
    exact = fitted.dynamic_customer_value(horizon=60)
    sim = fitted.dynamic_customer_value(
        horizon=60, method="simulate", n_simulations=20_000, random_state=0
    )
    assert sim == pytest.approx(exact, abs=0.03 * abs(exact))


def test_value_of_learning_matched_is_nonnegative_and_infinite_limit(fitted):
    for h in (1, 3, 12):
        assert fitted.value_of_learning(horizon=h) >= -1e-9
    assert fitted.value_of_learning() == pytest.approx(fitted.vol_at_start_)
    curve = fitted.vol_curve(horizons=(12, 60, 240))
    assert list(curve.columns) == ["dcv_pomdp", "dcv_open_loop", "vol"]
    assert curve.loc[240, "vol"] == pytest.approx(fitted.vol_at_start_, rel=0.01)


def test_strategic_quadrants_reproduce_table6():
    quad, mode = strategic_quadrants([122_236, 73_092, 227_626, 71_014], [8_512, 3_604, 2_792, 272])
    assert quad.tolist() == ["good_friend", "acquaintance", "best_friend", "stranger"]
    assert mode.tolist() == ["adaptive", "adaptive", "open_loop", "open_loop"]


def test_strategic_segments_split_at_the_medians(fitted, panel):
    X, y, _ = panel
    seg = fitted.strategic_segments(X, y)
    high_dcv = seg["dcv"] > seg["dcv"].median()
    high_vol = seg["vol"] > seg["vol"].median()
    assert (seg["quadrant"] == "good_friend").eq(high_dcv & high_vol).all()
    assert (seg["learning_mode"] == "adaptive").eq(high_vol).all()


def test_simulate_returns_a_panel_the_estimator_accepts(fitted):
    Xs, ys, states = fitted.simulate(20, 5, random_state=0)
    assert Xs.shape == (100, 3) and ys.shape == (100,) and states.shape == (100,)
    assert fitted.transform(Xs, ys).shape == (100, 2)


def test_plan_open_loop_follows_the_open_loop_policy(fitted):
    plan = fitted.plan_open_loop(n_periods=5)
    assert plan.shape == (5,)
    assert set(plan.tolist()) <= set(fitted.actions_.tolist())


def test_spend_labels_with_identity_costs():
    X, y, truth = make_pomdp_crm(
        n_customers=100, n_periods=24, problem="fan2015_like", random_state=0
    )
    est = POMDPPolicy(
        action_costs="identity",
        outcome_values=truth.rev,
        discount=0.95,
        n_init=2,
        n_belief_points=51,
        random_state=0,
    ).fit(X, y)
    np.testing.assert_array_equal(est.actions_, [0, 25, 50, 100, 150])
    np.testing.assert_array_equal(est.action_costs_, [0, 25, 50, 100, 150])
    assert set(est.predict(X, y).tolist()) <= {0, 25, 50, 100, 150}


def test_metadata_routing_of_groups_through_grid_search(panel):
    from sklearn.model_selection import GridSearchCV

    X, y, _ = panel
    with sklearn.config_context(enable_metadata_routing=True):
        search = GridSearchCV(POMDPPolicy(**KW), {"n_states": [1, 2]}, cv=GroupKFold(3))
        search.fit(X, y, groups=X["customer_id"])
    assert search.best_params_["n_states"] == 2
