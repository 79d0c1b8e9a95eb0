"""Issue 11 for DRPolicyClassifier: the treatment contract, each silent case as a test.

Every test here failed on main before the contract (the failure value is in its comment).
"""

import numpy as np
import pandas as pd
import pytest
from sklearn.dummy import DummyRegressor
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.model_selection import KFold

from skcrm.datasets import load_hillstrom, make_surrogate_targeting
from skcrm.policy import DRPolicyClassifier, PolicyTreeClassifier
from skcrm.utils import dr_scores


def _fast_mu():
    return HistGradientBoostingRegressor(max_iter=20, random_state=0)


@pytest.fixture(scope="module")
def hillstrom():
    frame = load_hillstrom().sample(3000, random_state=0).reset_index(drop=True)
    X = frame[["recency", "history", "mens", "womens", "newbie"]].astype(float)
    return X, frame["spend"].to_numpy(float), frame["segment"].astype(str).to_numpy()


def test_control_is_never_guessed_from_sort_order(hillstrom):
    # main: control=None took the first sorted label, "Mens E-Mail"
    X, y, a = hillstrom
    pol = DRPolicyClassifier(_fast_mu(), random_state=0).fit(X, y, treatment=a, propensity=1 / 3)
    assert pol.control_ is None and pol.control_index_ is None
    assert list(pol.actions_) == ["Mens E-Mail", "No E-Mail", "Womens E-Mail"]
    with pytest.raises(ValueError, match="pass control="):
        pol.predict_value(X)
    with pytest.raises(ValueError, match="pass control="):
        pol.budget_curve()
    res = pol.evaluate(X, y, treatment=a, propensity=1 / 3, n_boot=10)
    assert "gain" not in res  # no control, no gain over control


def test_max_treated_fraction_without_control_raises(hillstrom):
    # main: max_treated_fraction=0.3 without a control treated everyone
    X, y, a = hillstrom
    with pytest.raises(ValueError, match="control is required"):
        DRPolicyClassifier(max_treated_fraction=0.3).fit(X, y, treatment=a, propensity=1 / 3)


def test_max_treated_fraction_with_tied_gains_treats_the_fraction():
    # main: with tied outcome-model gains, max_treated_fraction=0.3 treated 2.8% (here 0%)
    rng = np.random.default_rng(0)
    n = 2000
    X = rng.normal(size=(n, 3))
    a = rng.integers(0, 2, n)
    y = 2.0 * a + rng.normal(size=n)  # treating helps everyone; DummyRegressor ties the gains
    pol = DRPolicyClassifier(
        DummyRegressor(),
        policy_model=PolicyTreeClassifier(max_depth=1),
        control=0,
        max_treated_fraction=0.3,
        random_state=0,
    ).fit(X, y, treatment=a, propensity=0.5)
    assert np.all(pol.predict_value(X) == 0.0)  # every gain is tied
    for rows in (slice(None), slice(0, 1000), slice(0, 7)):
        pred = pol.predict(X[rows])
        assert np.sum(pred == 1) == int(np.floor(0.3 * pred.shape[0]))
        np.testing.assert_array_equal(pred, pol.predict(X[rows]))  # reproducible


def _three_arm_data(n=3000, seed=0):
    """Labels 'a' < 'b' < 'c' with the control 'c' last in sort order; unequal design."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    P = np.column_stack([np.full(n, 0.2), np.full(n, 0.3), np.full(n, 0.5)])
    codes = (rng.random(n)[:, None] > np.cumsum(P, axis=1)).sum(axis=1)
    labels = np.array(["a", "b", "c"])[codes]
    y = X[:, 0] + np.array([1.0, 2.0, 0.0])[codes] * (X[:, 1] > 0) + rng.normal(size=n)
    return X, y, labels, codes, P


def test_propensity_matrix_columns_follow_sorted_actions():
    # main: (n, K) columns were read in classes_ order (control first): c, a, b
    X, y, labels, codes, P = _three_arm_data()
    pol = DRPolicyClassifier(_fast_mu(), control="c", random_state=0).fit(
        X, y, treatment=labels, propensity=P
    )
    assert list(pol.actions_) == ["a", "b", "c"] and pol.control_index_ == 2
    np.testing.assert_allclose(pol.propensity_, P[np.arange(len(y)), codes])
    np.testing.assert_allclose(pol.dr_scores_, dr_scores(pol.mu_hat_, codes, y, P), atol=1e-12)
    assert pol.predict_value(X[:5]).shape == (5, 2)


def test_propensity_dataframe_is_matched_by_label():
    # main: a DataFrame was read by position (policy value 1.985 vs 1.610 when shuffled)
    X, y, labels, _, P = _three_arm_data()
    frame = pd.DataFrame(P, columns=["a", "b", "c"])
    shuffled = frame[["c", "a", "b"]]
    fits = [
        DRPolicyClassifier(_fast_mu(), control="c", random_state=0).fit(
            X, y, treatment=labels, propensity=p
        )
        for p in (P, frame, shuffled)
    ]
    for other in fits[1:]:
        np.testing.assert_array_equal(other.dr_scores_, fits[0].dr_scores_)
    values = [
        f.score(X, y, treatment=labels, propensity=p)
        for f, p in zip(fits, (P, frame, shuffled), strict=True)
    ]
    assert values[0] == values[1] == values[2]
    with pytest.raises(ValueError, match="column 'd' is not an arm"):
        fits[0].score(X, y, treatment=labels, propensity=frame.rename(columns={"a": "d"}))


def test_econml_treated_probability_vector_gives_the_true_effect():
    # main: P(T=1|X) read as the received arm's probability gave 3.43 where the truth is 1.0
    # (a constant outcome model, so the propensity carries the whole adjustment)
    rng = np.random.default_rng(3)
    n = 20_000
    X = rng.normal(size=(n, 2))
    e = np.clip(1 / (1 + np.exp(-X[:, 0])), 0.1, 0.9)
    a = (rng.random(n) < e).astype(int)
    y = 2 * X[:, 0] + 1.0 * a + rng.normal(size=n)
    pol = DRPolicyClassifier(DummyRegressor(), control=0, random_state=0).fit(
        X, y, treatment=a, propensity=e
    )
    effect = np.mean(pol.dr_scores_[:, 1] - pol.dr_scores_[:, 0])
    assert effect == pytest.approx(1.0, abs=0.2)


def test_float_dose_treatment_is_refused():
    # main: a float dose with 40 values silently became 40 arms
    rng = np.random.default_rng(0)
    dose = np.round(rng.choice(np.arange(40) / 10 + 0.05, 800), 2)
    X = rng.normal(size=(800, 2))
    with pytest.raises(ValueError, match="treatment looks continuous"):
        DRPolicyClassifier().fit(X, rng.normal(size=800), treatment=dose, propensity=1 / 40)


def test_cv_accepts_a_splitter():
    d = make_surrogate_targeting(10, 600, n_actions=2, random_state=0)
    pol = DRPolicyClassifier(_fast_mu(), cv=KFold(4), random_state=0).fit(
        d.X, d.y_long, treatment=d.treatment, propensity=d.propensity
    )
    np.testing.assert_array_equal(pol.fold_indices_, np.repeat(np.arange(4), 150))
    assert pol.n_splits_ == 4


def test_relabelled_arms_and_dict_costs_give_the_same_policy():
    X, y, labels, codes, P = _three_arm_data(seed=1)
    new = {"a": "zeta", "b": "alpha", "c": "mid"}  # sorted order changes: alpha, mid, zeta
    relabelled = np.array([new[v] for v in labels])
    frame = pd.DataFrame(P, columns=["a", "b", "c"]).rename(columns=new)
    costs = {"a": 0.2, "b": 0.5}
    one = DRPolicyClassifier(_fast_mu(), control="c", action_costs=costs, random_state=0).fit(
        X, y, treatment=labels, propensity=pd.DataFrame(P, columns=["a", "b", "c"])
    )
    two = DRPolicyClassifier(
        _fast_mu(),
        control="mid",
        action_costs={new[k]: v for k, v in costs.items()},
        random_state=0,
    ).fit(X, y, treatment=relabelled, propensity=frame)
    back = {v: k for k, v in new.items()}
    np.testing.assert_array_equal([back[v] for v in two.predict(X)], one.predict(X))


def test_packed_propensity_dataframe_is_stored_in_sorted_label_order():
    from skcrm.policy import pack_policy_target, unpack_policy_target

    P = np.array([[0.2, 0.3, 0.5], [0.1, 0.6, 0.3]])
    shuffled = pd.DataFrame(P, columns=[0, 1, 2])[[2, 0, 1]]
    packed = pack_policy_target([1.0, 2.0], [0, 2], shuffled)
    np.testing.assert_array_equal(unpack_policy_target(packed)[2], P)
    assert unpack_policy_target(pack_policy_target([1.0, 2.0], [0, 2], 1 / 3))[2] == 1 / 3


def test_warnings_point_at_the_users_line():
    # main: warnings from the policy fit pointed at sklearn/base.py
    d = make_surrogate_targeting(10, 600, n_actions=2, random_state=0)
    with pytest.warns(UserWarning, match="no propensity given") as record:
        DRPolicyClassifier(_fast_mu(), random_state=0).fit(d.X, d.y_long, treatment=d.treatment)
    assert record[0].filename == __file__
    P = d.propensity.copy()
    P[0, d.treatment[0]] = 1e-6
    P[0, 1 - d.treatment[0]] = 1 - 1e-6
    with pytest.warns(UserWarning, match="below min_propensity") as record:
        DRPolicyClassifier(_fast_mu(), random_state=0).fit(
            d.X, d.y_long, treatment=d.treatment, propensity=P
        )
    assert record[0].filename == __file__
