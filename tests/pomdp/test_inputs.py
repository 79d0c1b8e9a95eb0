"""Inputs by label (issue 17 item 3): each test carries today's silent failure."""

import numpy as np
import pandas as pd
import pytest

from skcrm.datasets import make_pomdp_crm
from skcrm.pomdp import POMDPPolicy

FAST = {"n_init": 1, "max_iter": 300, "tol": 1e-4, "n_belief_points": 21, "random_state": 0}
ACTIONS = np.array(["none", "email", "call"], dtype=object)
LEVELS = np.array(["none", "small", "large"], dtype=object)


@pytest.fixture(scope="module")
def panel():
    X, y, _ = make_pomdp_crm(n_customers=150, n_periods=20, random_state=0)
    return X, y


@pytest.fixture(scope="module")
def reference(panel):
    X, y = panel
    return POMDPPolicy(action_costs=[0, 2, 10], outcome_values=[0, 10, 40], **FAST).fit(X, y)


def _named(X):
    Xs = X.copy()
    Xs["action"] = ACTIONS[X["action"].to_numpy()]
    return Xs


def test_action_costs_list_with_string_actions_is_refused(panel):
    # today: [0, 2, 10] was matched to the sorted labels (call, email, none), so "call"
    # cost 0 and the policy called all rows
    X, y = panel
    with pytest.raises(ValueError, match="action_costs given as a list is ambiguous"):
        POMDPPolicy(action_costs=[0, 2, 10], outcome_values=[0, 10, 40], **FAST).fit(_named(X), y)


@pytest.mark.parametrize("as_series", [False, True])
def test_action_costs_by_label_give_the_integer_labelled_answer(panel, reference, as_series):
    X, y = panel
    costs = {"none": 0, "email": 2, "call": 10}
    if as_series:
        costs = pd.Series(costs)
    est = POMDPPolicy(action_costs=costs, outcome_values=[0, 10, 40], **FAST).fit(_named(X), y)
    assert dict(zip(est.actions_, est.action_costs_, strict=True)) == {
        "call": 10.0,
        "email": 2.0,
        "none": 0.0,
    }
    pred = est.predict(_named(X), y)
    np.testing.assert_array_equal(pred, ACTIONS[reference.predict(X, y)])
    assert (pred == "call").mean() < 1.0  # "call" is not free
    assert est.log_likelihood_ == pytest.approx(reference.log_likelihood_, rel=1e-9)


def test_unknown_or_missing_labels_in_a_cost_dict_are_named(panel):
    X, y = panel
    with pytest.raises(ValueError, match=r"no entry for action\(s\) \['call'\]"):
        POMDPPolicy(action_costs={"none": 0, "email": 2}, **FAST).fit(_named(X), y)
    with pytest.raises(ValueError, match="unknown action"):
        POMDPPolicy(action_costs={"none": 0, "email": 2, "call": 1, "sms": 1}, **FAST).fit(
            _named(X), y
        )


def test_string_outcomes_need_an_order(panel):
    # today: levels sorted alphabetically (large, none, small), so outcome_values
    # [0, 10, 40] gave "large" the value 0
    X, y = panel
    with pytest.raises(ValueError, match="order cannot be guessed"):
        POMDPPolicy(action_costs=[0, 2, 10], outcome_values=[0, 10, 40], **FAST).fit(X, LEVELS[y])


@pytest.mark.parametrize("how", ["ordered", "outcome_levels", "dict"])
def test_ordered_outcome_levels_keep_their_values(panel, reference, how):
    X, y = panel
    kw = {"action_costs": [0, 2, 10], "outcome_values": [0, 10, 40]}
    ys = LEVELS[y]
    if how == "ordered":
        ys = pd.Series(pd.Categorical(ys, categories=list(LEVELS), ordered=True))
    elif how == "outcome_levels":
        kw["outcome_levels"] = list(LEVELS)
    else:
        kw["outcome_values"] = {"large": 40, "none": 0, "small": 10}
        kw["outcome_levels"] = list(LEVELS)
    est = POMDPPolicy(**kw, **FAST).fit(X, ys)
    values = dict(zip(est.outcome_levels_, est.outcome_values_, strict=True))
    assert values == {"none": 0.0, "small": 10.0, "large": 40.0}
    np.testing.assert_allclose(est.reward_, reference.reward_, rtol=1e-9)
    np.testing.assert_array_equal(est.predict(X, ys), reference.predict(X, y))


def test_unordered_categorical_outcome_is_refused(panel):
    X, y = panel
    ys = pd.Series(pd.Categorical(LEVELS[y]))
    with pytest.raises(ValueError, match="unordered categorical"):
        POMDPPolicy(**FAST).fit(X, ys)


def test_continuous_outcome_is_refused(panel):
    # today: revenue in dollars became 2,189 outcome levels
    X, y = panel
    rng = np.random.default_rng(0)
    revenue = np.where(y > 0, rng.gamma(2.0, 50.0, len(y)), 0.0)
    with pytest.raises(ValueError, match="looks continuous"):
        POMDPPolicy(**FAST).fit(X, revenue)
    with pytest.raises(ValueError, match="at most 50 discrete levels"):
        POMDPPolicy(**FAST).fit(X, np.round(revenue))


def test_negative_missing_code_is_refused_and_missing_values_equals_nan(panel):
    # today: -1 became an outcome level of its own
    X, y = panel
    coded = y.astype(float).copy()
    coded[::7] = -1
    with pytest.raises(ValueError, match=r"missing_values=\[-1\]"):
        POMDPPolicy(**FAST).fit(X, coded)
    nan = coded.copy()
    nan[nan == -1] = np.nan
    a = POMDPPolicy(missing_values=[-1], **FAST).fit(X, coded)
    b = POMDPPolicy(**FAST).fit(X, nan)
    np.testing.assert_array_equal(a.outcome_levels_, [0, 1, 2])
    assert a.log_likelihood_ == pytest.approx(b.log_likelihood_, rel=1e-12)


def test_one_period_customers_warn_that_transitions_are_unidentified(panel):
    # today: converged_=True and nothing said
    X, y = panel
    first = (X["period"] == X["period"].min()).to_numpy()
    with pytest.warns(UserWarning, match="not identified") as rec:
        POMDPPolicy(**FAST).fit(X[first], y[first])
    assert rec[0].filename == __file__


def test_impossible_observation_is_an_error_not_a_nan_belief(panel):
    # today: transform returned a NaN belief
    X, y = panel
    est = POMDPPolicy(outcome_values=[0, 10, 40, 100], pseudo_count=0.0, **FAST).fit(X, y)
    assert np.all(est.emissionprob_[..., 3] == 0)  # level 3 never seen in fit
    bad = y.copy()
    bad[3] = 3
    with pytest.raises(ValueError, match="impossible under the fitted model"):
        est.transform(X, bad)


@pytest.mark.parametrize("kind", ["month_start", "month_end", "period"])
def test_monthly_date_periods(panel, reference, kind):
    # today: monthly datetime periods raised "gap in periods"
    X, y = panel
    Xd = X.copy()
    months = pd.period_range("2020-01", periods=int(X["period"].max()) + 1, freq="M")
    per = months[X["period"].to_numpy()]
    if kind == "month_start":
        Xd["period"] = per.to_timestamp(how="start")
    elif kind == "month_end":
        Xd["period"] = per.to_timestamp(how="end").normalize()
    else:
        Xd["period"] = per
    est = POMDPPolicy(action_costs=[0, 2, 10], outcome_values=[0, 10, 40], **FAST).fit(Xd, y)
    assert est.log_likelihood_ == pytest.approx(reference.log_likelihood_, rel=1e-12)
    np.testing.assert_array_equal(est.predict(Xd, y), reference.predict(X, y))


def test_daily_dates_need_the_right_frequency(panel):
    X, y = panel
    Xd = X.copy()
    Xd["period"] = pd.Timestamp("2020-01-01") + pd.to_timedelta(7 * X["period"], unit="D")
    est = POMDPPolicy(time_freq="W", **FAST).fit(Xd, y)
    assert est.n_iter_ >= 1
    with pytest.raises(ValueError, match="gap in periods"):
        POMDPPolicy(time_freq="D", **FAST).fit(Xd, y)


def test_recommend_without_x_is_the_reference_customer(reference):
    # today: recommend(None) failed with sklearn's "Expected 2D array"
    for rec in (reference.recommend(), reference.recommend(None)):
        assert list(rec.index) == ["reference"]
        np.testing.assert_allclose(
            rec.filter(like="belief_state").to_numpy()[0], reference.startprob_
        )
        assert rec["dcv"].iloc[0] == pytest.approx(reference.value_at_start_)
        assert rec["vol"].iloc[0] == pytest.approx(reference.vol_at_start_)


def test_verbose_fit_prints_nothing_to_stdout(panel, capsys):
    # today: EM progress went through print() in one path and tqdm in another
    X, y = panel
    POMDPPolicy(verbose=1, **{**FAST, "max_iter": 5}).fit(X, y)
    assert capsys.readouterr().out == ""


def test_parameters_after_n_states_are_keyword_only():
    with pytest.raises(TypeError):
        POMDPPolicy(2, 0.9)
    assert POMDPPolicy(3).n_states == 3
