"""make_surrogate_targeting reproduces the population values of spec 002, section 6.2."""

import numpy as np
import pytest

from skcrm.datasets import make_surrogate_targeting

N_MC = 400_000  # MC standard error of a policy value is about 0.005 at this size
TOL = 0.03


@pytest.fixture(scope="module")
def k2():
    return make_surrogate_targeting(2000, 2000, n_actions=2, random_state=0)


@pytest.fixture(scope="module")
def k4():
    return make_surrogate_targeting(2000, 2000, n_actions=4, random_state=0)


def test_k2_population_values_match_reference(k2):
    ref = k2.reference
    assert k2.policy_value(0, n_mc=N_MC) == pytest.approx(ref["value_none"], abs=TOL)
    assert k2.policy_value(1, n_mc=N_MC) == pytest.approx(24.817, abs=TOL)
    assert k2.policy_value("oracle", n_mc=N_MC) == pytest.approx(26.346, abs=TOL)


def test_k4_population_values_match_reference(k4):
    values = [k4.policy_value(a, n_mc=N_MC) for a in range(4)]
    np.testing.assert_allclose(values, [24.098, 24.098, 24.737, 23.220], atol=TOL)
    assert k4.policy_value("oracle", n_mc=N_MC) == pytest.approx(26.112, abs=TOL)


def test_oracle_action_shares_match_reference():
    d = make_surrogate_targeting(10, 100_000, n_actions=4, random_state=1)
    shares = np.bincount(d.oracle_action, minlength=4) / 100_000
    np.testing.assert_allclose(shares, [0.281, 0.340, 0.176, 0.202], atol=0.01)


def test_short_term_proxy_policy_value_k4(k4):
    # the S1-optimal policy sends the e-mail iff x2 > 0 (CATE on S1 = -c_a + e_a / 2)
    value = k4.policy_value(lambda X: np.where(X[:, 1] > 0, 1, 0), n_mc=N_MC)
    assert value == pytest.approx(24.514, abs=TOL)


def test_design_propensities_respect_caps(k2, k4):
    np.testing.assert_allclose(k2.propensity.sum(axis=1), 1.0)
    assert k2.propensity[:, 1].min() >= 0.05 - 1e-12
    assert k2.propensity[:, 1].max() <= 0.5 + 1e-12
    assert k4.propensity.min() >= 0.10 - 1e-12


def test_realised_actions_follow_design_propensities():
    d = make_surrogate_targeting(10, 50_000, n_actions=4, random_state=2)
    onehot = np.eye(4)[d.treatment]
    # mean of 1{A = a} - p_a(X) is zero; SE about 0.002
    np.testing.assert_allclose((onehot - d.propensity).mean(axis=0), 0.0, atol=0.01)


def test_long_term_outcome_is_unbiased_for_true_mu():
    d = make_surrogate_targeting(10, 50_000, n_actions=2, random_state=3)
    resid = d.y_long - d.mu[np.arange(50_000), d.treatment]
    assert abs(resid.mean()) < 0.08  # SD of the residual is about 6; SE 0.027


def test_true_index_explains_history(k2):
    d = make_surrogate_targeting(20_000, 10, random_state=4)
    h = d.index_fn(d.X_hist, d.S_hist)
    r2 = 1 - np.var(d.y_hist - h) / np.var(d.y_hist)
    assert 0.87 <= r2 <= 0.90


def test_surrogacy_violation_values():
    d = make_surrogate_targeting(10, 10, surrogacy_violation=0.5, random_state=0)
    assert d.policy_value(1, n_mc=N_MC) == pytest.approx(25.177, abs=TOL)
    assert d.policy_value("oracle", n_mc=N_MC) == pytest.approx(27.471, abs=TOL)


def test_sign_flipping_violation_makes_mediated_policy_worse_than_none():
    d = make_surrogate_targeting(10, 10, surrogacy_violation=-1.5, random_state=0)
    base = make_surrogate_targeting(10, 10, random_state=0)
    si_policy = lambda X: np.argmax(base.mu_fn(X), axis=1)  # noqa: E731
    assert d.policy_value("oracle", n_mc=N_MC) == pytest.approx(24.864, abs=TOL)
    assert d.policy_value(si_policy, n_mc=N_MC) == pytest.approx(22.975, abs=TOL)


def test_comparability_shift_adds_kappa_s2_in_history_only():
    a = make_surrogate_targeting(5000, 100, comparability_shift=4.0, random_state=5)
    b = make_surrogate_targeting(5000, 100, comparability_shift=0.0, random_state=5)
    np.testing.assert_allclose(a.y_hist - b.y_hist, 4.0 * b.S_hist[:, 1])
    np.testing.assert_allclose(a.y_long, b.y_long)


def test_same_seed_same_data_and_frame_output():
    a = make_surrogate_targeting(100, 100, random_state=7)
    b = make_surrogate_targeting(100, 100, random_state=7, as_frame=True)
    np.testing.assert_array_equal(a.X, b.X.to_numpy())
    assert list(b.X.columns) == [f"x{j}" for j in range(1, 7)]
    assert list(b.S.columns)[0] == "short_revenue"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_actions": 3}, "n_actions"),
        ({"n_features": 4}, "n_features"),
        ({"historical_treatment_prob": 1.5}, "historical_treatment_prob"),
        ({"design": "bandit"}, "design"),
    ],
)
def test_bad_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_surrogate_targeting(10, 10, **kwargs)
