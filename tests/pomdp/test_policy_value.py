"""Policy values by simulation on a true latent chain (spec §8 group D)."""

import pytest

from skcrm.datasets import make_pomdp_crm
from skcrm.pomdp import POMDPPolicy, _solver


@pytest.fixture(scope="module")
def truth():
    return make_pomdp_crm(n_customers=1, n_periods=1, random_state=0)[2]


@pytest.mark.slow
def test_monte_carlo_of_the_optimal_policy_matches_the_exact_value(truth):
    sol = truth.solution()
    mean, se = _solver.simulate_policy(
        sol.action,
        truth.Q,
        truth.P,
        truth.b0,
        truth.Q,
        truth.P,
        truth.R,
        truth.b0,
        0.95,
        n_customers=200_000,
        horizon=400,
        random_state=2,
    )
    assert abs(mean - 129.7733) < 4 * se


@pytest.mark.slow
def test_fitted_policy_beats_myopic_and_open_loop_on_the_true_process(truth):
    X, y, _ = make_pomdp_crm(n_customers=1000, n_periods=60, random_state=1)
    est = POMDPPolicy(action_costs=[0, 2, 10], outcome_values=[0, 10, 40], random_state=0).fit(X, y)
    mean, se = truth.evaluate_estimator(est, method="simulate", n_customers=200_000, random_state=3)
    myopic = truth.myopic_value(truth.b0)
    open_loop = truth.open_loop_value(truth.b0)
    assert mean - 4 * se >= 1.07 * myopic
    assert mean - 4 * se >= 1.04 * open_loop
    assert truth.evaluate_estimator(est) == pytest.approx(mean, abs=4 * se)
