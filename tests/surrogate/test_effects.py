"""surrogate_ate: AIPW and IPW effects per arm with confidence intervals."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LinearRegression

from skcrm.surrogate import surrogate_ate


def test_ipw_with_constant_propensity_is_the_difference_in_means():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 2, 500)
    y = rng.normal(size=500) + a
    res = surrogate_ate(y, a, 0.5, control=0)
    d = y[a == 1].mean() - y[a == 0].mean()
    assert res[1]["ate"] == pytest.approx(d, abs=1e-12)
    assert res[1]["method"] == "ipw" and res[1]["n_treated"] == int(a.sum())
    assert res[1]["ci_low"] < d < res[1]["ci_high"]


def test_aipw_with_a_correct_outcome_model_is_exact_on_noiseless_data():
    rng = np.random.default_rng(1)
    n = 300
    X = rng.normal(size=(n, 2))
    arms = np.array(["ctrl", "email", "gift"])
    a = arms[rng.integers(0, 3, n)]
    effect = {"ctrl": 0.0, "email": 0.7, "gift": -0.3}
    y = 1 + X @ [2.0, -1.0] + np.vectorize(effect.get)(a)
    res = surrogate_ate(
        y, a, 1 / 3, X=X, outcome_model=LinearRegression(), control="ctrl", random_state=0
    )
    assert set(res) == {"email", "gift"}
    assert res["email"]["ate"] == pytest.approx(0.7, abs=1e-10)
    assert res["gift"]["ate"] == pytest.approx(-0.3, abs=1e-10)
    assert res["gift"]["se"] == pytest.approx(0.0, abs=1e-10)


def test_control_can_be_any_arm():
    rng = np.random.default_rng(2)
    a = rng.integers(0, 3, 600)
    y = rng.normal(size=600) + np.array([0.0, 1.0, 3.0])[a]
    base = surrogate_ate(y, a, 1 / 3, control=0)
    swapped = surrogate_ate(y, a, 1 / 3, control=2)
    assert swapped[1]["ate"] == pytest.approx(base[1]["ate"] - base[2]["ate"], abs=1e-12)
    assert swapped[0]["ate"] == pytest.approx(-base[2]["ate"], abs=1e-12)


def _binary_design(seed=3, n=400):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    p1 = np.clip(1 / (1 + np.exp(-x)), 0.05, 0.95)
    a = (rng.uniform(size=n) < p1).astype(int)
    y = x + a * (1 + x) + rng.normal(size=n)
    return x, p1, a, y


def test_every_propensity_form_gives_the_same_answer():
    # (n, K) in sorted-label order, the EconML P(T=1|X) vector, a DataFrame with its
    # columns in any order (matched by label), and string labels
    x, p1, a, y = _binary_design()
    P = np.column_stack([1 - p1, p1])
    ref = surrogate_ate(y, a, P, X=x[:, None], control=0, random_state=0)[1]
    forms = [p1, pd.DataFrame({1: p1, 0: 1 - p1}), pd.DataFrame({1: p1})]
    for form in forms:
        got = surrogate_ate(y, a, form, X=x[:, None], control=0, random_state=0)[1]
        assert got == ref
    labels = np.where(a == 1, "email", "control")
    named = pd.DataFrame({"email": p1, "control": 1 - p1})
    got = surrogate_ate(y, labels, named, X=x[:, None], control="control", random_state=0)
    assert got["email"] == ref


def test_econml_propensity_vector_means_p_of_the_treated_arm():
    # issue 11: P(T=1|X) as an EconML/causalml user passes it was read as the probability
    # of the received arm: IPW effect 3.39 where the truth is 1.0
    rng = np.random.default_rng(7)
    n = 20_000
    x = rng.normal(size=n)
    p1 = np.clip(1 / (1 + np.exp(-1.5 * x)), 0.05, 0.95)
    a = (rng.uniform(size=n) < p1).astype(int)
    y = 2 * x + a * 1.0 + rng.normal(size=n)
    res = surrogate_ate(y, a, p1, control=0)[1]
    assert res["ate"] == pytest.approx(1.0, abs=4 * res["se"])
    assert res["se"] < 0.1
    # the vector is P(T = the non-control arm): relabelled arms, same design, same answer
    flipped = surrogate_ate(y, 1 - a, p1, control=1)[0]
    assert flipped["ate"] == pytest.approx(res["ate"], abs=1e-12)


def test_dataframe_propensity_is_matched_by_label_not_position():
    # issue 11: columns [1, 0] were read by position: IPW effect 5.83 where the truth is 1.0
    rng = np.random.default_rng(7)
    n = 20_000
    x = rng.normal(size=n)
    p1 = np.clip(1 / (1 + np.exp(-1.5 * x)), 0.05, 0.95)
    a = (rng.uniform(size=n) < p1).astype(int)
    y = 2 * x + a * 1.0 + rng.normal(size=n)
    shuffled = pd.DataFrame({1: p1, 0: 1 - p1})
    res = surrogate_ate(y, a, shuffled, control=0)[1]
    assert res["ate"] == pytest.approx(1.0, abs=4 * res["se"])
    assert res == surrogate_ate(y, a, np.column_stack([1 - p1, p1]), control=0)[1]


def test_control_is_required_and_never_guessed():
    x, p1, a, y = _binary_design()
    with pytest.raises(ValueError, match="control is required"):
        surrogate_ate(y, a, np.column_stack([1 - p1, p1]))


def test_continuous_dose_is_refused():
    # issue 11: a float dose with 41 values became 40 arms
    rng = np.random.default_rng(0)
    dose = np.round(rng.uniform(0, 4, 500), 1)
    with pytest.raises(ValueError, match="treatment looks continuous"):
        surrogate_ate(rng.normal(size=500), dose, 1 / 41, control=0.0)


@given(
    perm_seed=st.integers(0, 2**16),
    labels=st.sampled_from([(0, 1, 2), ("b", "a", "c"), (7, 3, 5), ("x", "y", "z")]),
)
@settings(max_examples=25, deadline=None)
def test_ipw_effects_do_not_depend_on_labels_row_order_or_column_order(perm_seed, labels):
    rng = np.random.default_rng(1)
    n = 300
    codes = rng.integers(0, 3, n)
    P = rng.dirichlet([3, 3, 3], size=n)
    y = rng.normal(size=n) + codes
    ref = surrogate_ate(y, codes, P, control=0)
    lab = np.asarray(labels, dtype=object)
    arms = np.array(labels)[codes]
    frame = pd.DataFrame(P, columns=list(labels))
    perm = np.random.default_rng(perm_seed).permutation(n)
    cols = list(np.random.default_rng(perm_seed).permutation(3))
    frame = frame.iloc[perm, cols].reset_index(drop=True)
    got = surrogate_ate(y[perm], arms[perm], frame, control=lab[0])
    for k in (1, 2):
        a, b = ref[k], got[lab[k]]
        assert a["ate"] == pytest.approx(b["ate"], abs=1e-10)
        assert a["se"] == pytest.approx(b["se"], abs=1e-10)


@pytest.mark.parametrize("use_x", [False, True])
def test_covariate_dependent_design_is_unbiased_within_its_ci(use_x):
    # treatment more likely where the effect is larger (the paper's risk-based design):
    # the naive difference in means is biased, IPW and AIPW are not
    rng = np.random.default_rng(4)
    n = 20_000
    x = rng.normal(size=n)
    p1 = np.clip(1 / (1 + np.exp(-1.5 * x)), 0.05, 0.95)
    a = (rng.uniform(size=n) < p1).astype(int)
    tau = 1 + x  # ATE 1
    y = 2 * x + a * tau + rng.normal(size=n)
    naive = y[a == 1].mean() - y[a == 0].mean()
    res = surrogate_ate(y, a, p1, X=x[:, None] if use_x else None, control=0, random_state=0)[1]
    assert abs(naive - 1) > 1.0
    assert abs(res["ate"] - 1) < 3.5 * res["se"]
    assert res["se"] < (0.05 if use_x else 0.1)


def test_aipw_is_more_precise_than_ipw():
    rng = np.random.default_rng(5)
    n = 5000
    X = rng.normal(size=(n, 2))
    a = rng.integers(0, 2, n)
    y = 3 * X[:, 0] + a + rng.normal(size=n)
    ipw = surrogate_ate(y, a, 0.5, control=0)[1]
    aipw = surrogate_ate(y, a, 0.5, X=X, control=0, random_state=0)[1]
    assert aipw["se"] < 0.5 * ipw["se"]


def test_bad_inputs_are_named():
    y, a = np.ones(4), np.array([0, 1, 0, 1])
    with pytest.raises(ValueError, match="positivity"):
        surrogate_ate(y, a, [0.5, 0.0, 0.5, 0.5], control=0)
    with pytest.raises(ValueError, match="treatment has 3 rows"):
        surrogate_ate(y, a[:3], 0.5, control=0)
    with pytest.raises(ValueError, match="control=7 is not one of the arms"):
        surrogate_ate(y, a, 0.5, control=7)
    with pytest.raises(ValueError, match="non-finite"):
        surrogate_ate(np.array([1, np.nan, 1, 1]), a, 0.5, control=0)
    with pytest.raises(ValueError, match="at least 2 are needed"):
        surrogate_ate(y, np.zeros(4, dtype=int), 0.5, control=0)
    with pytest.raises(ValueError, match="rows must sum to 1"):
        surrogate_ate(y, a, np.full((4, 2), 0.4), control=0)
    with pytest.raises(ValueError, match="cv must be an int >= 2 or a splitter"):
        surrogate_ate(y, a, 0.5, X=np.ones((4, 1)), control=0, cv=1)


# ------------------------------------------------------------------ index uncertainty
def _linear_history(rng, n, beta, sigma=2.0):
    """History (S, Y) with a linear index: Y = 1 + S @ beta + N(0, sigma^2)."""
    S = rng.normal(size=(n, len(beta)))
    return S, 1.0 + S @ beta + sigma * rng.normal(size=n)


def _experiment(rng, n, shift):
    """Experiment: arm 1 (p = 0.3) moves the surrogates by ``shift``."""
    a = (rng.uniform(size=n) < 0.3).astype(int)
    S = rng.normal(size=(n, len(shift))) + a[:, None] * np.asarray(shift)
    return S, a


def test_index_draws_shift_equals_aipw_recomputed_with_the_same_outcome_model():
    from skcrm.surrogate._core import arm_contrasts
    from skcrm.surrogate._effects import _index_effects
    from skcrm.utils import dr_scores

    rng = np.random.default_rng(10)
    n, k = 300, 3
    codes = rng.integers(0, k, n)
    p = rng.uniform(0.2, 0.6, n)
    mu = rng.normal(size=(n, k))
    y = rng.normal(size=n)
    draws = y[:, None] + rng.normal(scale=0.3, size=(n, 5))
    base, _ = arm_contrasts(dr_scores(mu, codes, y, p), 1)
    moved = _index_effects(y, draws, codes, p, k, "aipw")
    for b in range(5):
        eff_b, _ = arm_contrasts(dr_scores(mu, codes, draws[:, b], p), 1)
        np.testing.assert_allclose(eff_b - base, moved[:, b] - moved[1, b], atol=1e-12)


def test_index_uncertainty_matches_fresh_histories_and_the_ols_sandwich():
    # E is fixed; the index is OLS on a small history. se_index (bootstrap of the history)
    # must equal the spread of the IPW ATE across fresh histories, and the closed form
    # c' V c with V the OLS sandwich and c the weighted mean shift of the regressors.
    from skcrm.surrogate import SurrogateIndexTransformer

    rng = np.random.default_rng(11)
    beta, shift = np.array([2.0, -1.0]), [-1.0, 0.5]
    S_e, a = _experiment(rng, 3000, shift)
    S_h, y_h = _linear_history(rng, 200, beta)
    si = SurrogateIndexTransformer(LinearRegression(), n_bootstrap=1000, random_state=0)
    si.fit(S_h, y_h)
    p = 0.3  # P(arm 1)
    res = surrogate_ate(si.predict(S_e), a, p, control=0, index_draws=si.predict_bootstrap(S_e))[1]

    def ipw_ate(y_e):
        return y_e[a == 1].mean() - y_e[a == 0].mean()

    Z_e = np.column_stack([np.ones(len(a)), S_e])
    fresh = []
    for _ in range(2000):
        S, y = _linear_history(rng, 200, beta)
        Z = np.column_stack([np.ones(200), S])
        fresh.append(ipw_ate(Z_e @ np.linalg.lstsq(Z, y, rcond=None)[0]))
    Z_h = np.column_stack([np.ones(200), S_h])
    e = y_h - Z_h @ np.linalg.lstsq(Z_h, y_h, rcond=None)[0]
    bread = np.linalg.inv(Z_h.T @ Z_h)
    V = bread @ (Z_h.T * e**2) @ Z_h @ bread
    c = Z_e[a == 1].mean(axis=0) - Z_e[a == 0].mean(axis=0)
    assert res["se_index"] == pytest.approx(np.std(fresh, ddof=1), rel=0.12)
    assert res["se_index"] == pytest.approx(np.sqrt(c @ V @ c), rel=0.08)


def test_interval_with_index_draws_is_wider_and_combines_the_two_errors():
    from skcrm.surrogate import SurrogateIndexTransformer

    rng = np.random.default_rng(12)
    S_h, y_h = _linear_history(rng, 300, np.array([2.0, -1.0]))
    S_e, a = _experiment(rng, 4000, [-1.0, 0.5])
    si = SurrogateIndexTransformer(LinearRegression(), n_bootstrap=200, random_state=0)
    y_tilde = si.fit(S_h, y_h).predict(S_e)
    p = 0.3  # P(arm 1)
    x = rng.normal(size=(len(a), 1))  # a pre-treatment covariate for the AIPW outcome model
    old = surrogate_ate(y_tilde, a, p, X=x, control=0, random_state=0)[1]
    new = surrogate_ate(
        y_tilde, a, p, X=x, control=0, index_draws=si.predict_bootstrap(S_e), random_state=0
    )[1]
    assert new["ate"] == old["ate"] and new["se_experiment"] == old["se"]
    assert old["se_index"] == 0.0 and old["n_index_draws"] == 0
    assert new["n_index_draws"] == 200 and new["method"] == "aipw"
    assert new["se"] == pytest.approx(np.hypot(new["se_experiment"], new["se_index"]), rel=1e-12)
    # the history is ten times smaller than the experiment: the index error dominates
    assert new["se_index"] > new["se_experiment"]
    assert new["ci_high"] - new["ci_low"] > 1.4 * (old["ci_high"] - old["ci_low"])
    # truth: -2 - 0.5 = -2.5
    assert new["ci_low"] < -2.5 < new["ci_high"]


def test_index_draws_of_the_wrong_shape_are_refused():
    y, a = np.arange(6.0), np.array([0, 1] * 3)
    with pytest.raises(ValueError, match=r"index_draws must have shape \(n_samples, n_draws\)"):
        surrogate_ate(y, a, 0.5, control=0, index_draws=np.ones((6, 1)))
    with pytest.raises(ValueError, match="index_draws must have shape"):
        surrogate_ate(y, a, 0.5, control=0, index_draws=np.ones((5, 3)))
    with pytest.raises(ValueError, match="index_draws has non-finite"):
        surrogate_ate(y, a, 0.5, control=0, index_draws=np.full((6, 3), np.nan))
