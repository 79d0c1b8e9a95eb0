"""surrogate_ate: AIPW and IPW effects per arm with confidence intervals."""

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression

from skcrm.surrogate import surrogate_ate


def test_ipw_with_constant_propensity_is_the_difference_in_means():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 2, 500)
    y = rng.normal(size=500) + a
    res = surrogate_ate(y, a, 0.5)
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
    res = surrogate_ate(y, a, 1 / 3, X=X, outcome_model=LinearRegression(), random_state=0)
    assert set(res) == {"email", "gift"}
    assert res["email"]["ate"] == pytest.approx(0.7, abs=1e-10)
    assert res["gift"]["ate"] == pytest.approx(-0.3, abs=1e-10)
    assert res["gift"]["se"] == pytest.approx(0.0, abs=1e-10)


def test_control_can_be_any_arm():
    rng = np.random.default_rng(2)
    a = rng.integers(0, 3, 600)
    y = rng.normal(size=600) + np.array([0.0, 1.0, 3.0])[a]
    base = surrogate_ate(y, a, 1 / 3)
    swapped = surrogate_ate(y, a, 1 / 3, control=2)
    assert swapped[1]["ate"] == pytest.approx(base[1]["ate"] - base[2]["ate"], abs=1e-12)
    assert swapped[0]["ate"] == pytest.approx(-base[2]["ate"], abs=1e-12)


def test_propensity_matrix_and_observed_vector_agree():
    rng = np.random.default_rng(3)
    n = 400
    x = rng.normal(size=n)
    p1 = np.clip(1 / (1 + np.exp(-x)), 0.05, 0.95)
    a = (rng.uniform(size=n) < p1).astype(int)
    y = x + a * (1 + x) + rng.normal(size=n)
    P = np.column_stack([1 - p1, p1])
    obs = np.where(a == 1, p1, 1 - p1)
    r1 = surrogate_ate(y, a, P, X=x[:, None], random_state=0)
    r2 = surrogate_ate(y, a, obs, X=x[:, None], random_state=0)
    assert r1[1] == r2[1]


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
    res = surrogate_ate(
        y, a, np.where(a == 1, p1, 1 - p1), X=x[:, None] if use_x else None, random_state=0
    )[1]
    assert abs(naive - 1) > 1.0
    assert abs(res["ate"] - 1) < 3.5 * res["se"]
    assert res["se"] < (0.05 if use_x else 0.1)


def test_aipw_is_more_precise_than_ipw():
    rng = np.random.default_rng(5)
    n = 5000
    X = rng.normal(size=(n, 2))
    a = rng.integers(0, 2, n)
    y = 3 * X[:, 0] + a + rng.normal(size=n)
    ipw = surrogate_ate(y, a, 0.5)[1]
    aipw = surrogate_ate(y, a, 0.5, X=X, random_state=0)[1]
    assert aipw["se"] < 0.5 * ipw["se"]


def test_bad_inputs_are_named():
    y, a = np.ones(4), np.array([0, 1, 0, 1])
    with pytest.raises(ValueError, match="positivity"):
        surrogate_ate(y, a, [0.5, 0.0, 0.5, 0.5])
    with pytest.raises(ValueError, match="treatment must have shape"):
        surrogate_ate(y, a[:3], 0.5)
    with pytest.raises(ValueError, match="control 7"):
        surrogate_ate(y, a, 0.5, control=7)
    with pytest.raises(ValueError, match="non-finite"):
        surrogate_ate(np.array([1, np.nan, 1, 1]), a, 0.5)
    with pytest.raises(ValueError, match="at least two arms"):
        surrogate_ate(y, np.zeros(4), 0.5)
    with pytest.raises(ValueError, match="rows must sum to 1"):
        surrogate_ate(y, a, np.full((4, 2), 0.4))
