"""The point-based solver and the baselines (spec §8 group A)."""

import itertools

import numpy as np
import pytest

from skcrm.datasets import make_pomdp_crm, pomdp_three_doors, pomdp_tiger
from skcrm.pomdp import POMDPModel, _solver
from skcrm.pomdp._core import belief_update, outcome_probability


@pytest.fixture(scope="module")
def crm3():
    truth = make_pomdp_crm(n_customers=1, n_periods=1, random_state=0)[2]
    model = truth.model()
    return truth, model, model.solve(201)


@pytest.fixture(scope="module")
def tiger95():
    return POMDPModel(*pomdp_tiger(), discount=0.95).solve(201)


@pytest.fixture(scope="module")
def tiger75():
    return POMDPModel(*pomdp_tiger(), discount=0.75).solve(201)


def _switch_points(solution, policy="pomdp", n=20_001):
    x = np.linspace(0, 1, n)
    acts = solution.action(np.column_stack([1 - x, x]), policy=policy)
    change = np.flatnonzero(np.diff(acts))
    return x[change], acts


def test_tiger_095_values(tiger95):
    v = tiger95.value([[0.5, 0.5], [0.25, 0.75], [1.0, 0.0]])
    np.testing.assert_allclose(v, [19.371368, 20.279749, 28.402800], atol=1e-3)


def test_tiger_075_values_match_r_pomdp(tiger75):
    v = tiger75.value([[0.5, 0.5], [1.0, 0.0], [0.25, 0.75]])
    np.testing.assert_allclose(v, [1.933439, 11.450079, 2.321061], atol=1e-4)


@pytest.mark.parametrize(("discount", "threshold"), [(0.95, 0.960346), (0.75, 0.947386)])
def test_tiger_policy_opens_the_other_door_only_when_sure(discount, threshold):
    sol = POMDPModel(*pomdp_tiger(), discount=discount).solve(201)
    x = np.linspace(0, 1, 20_001)  # x = P(tiger right)
    acts = sol.action(np.column_stack([1 - x, x]))
    open_left = x[acts == 1]  # opening the left door when the tiger is right
    open_right = x[acts == 2]
    assert open_left.min() == pytest.approx(threshold, abs=0.002)
    assert open_right.max() == pytest.approx(1 - threshold, abs=0.002)
    assert np.all(acts[(x > 1 - threshold + 0.002) & (x < threshold - 0.002)] == 0)


def _tree_value(Q, P, R, gamma, b, horizon):
    """Brute-force belief-tree search (exact finite-horizon value)."""
    if horizon == 0:
        return 0.0
    best = -np.inf
    for a in range(Q.shape[0]):
        value = b @ R[:, a]
        probs = outcome_probability(b, Q, P, a)
        for y, p in enumerate(probs):
            if p > 0:
                nb, _ = belief_update(b, Q, P, a, y)
                value += gamma * p * _tree_value(Q, P, R, gamma, nb, horizon - 1)
        best = max(best, value)
    return best


TIGER_UNDISCOUNTED = [-1, -2, 2.72, 2.42125, 3.60915, 5.618819, 6.24635]
TIGER_095 = [-1, -1.95, 2.3098, 1.795544, 2.763096, 4.428531, 4.584266]


def test_belief_tree_oracle_reproduces_tiger_finite_horizon_values():
    Q, P, R = pomdp_tiger()
    got = [_tree_value(Q, P, R, 1.0, np.array([0.5, 0.5]), h) for h in range(1, 6)]
    np.testing.assert_allclose(got, TIGER_UNDISCOUNTED[:5], atol=1e-5)


@pytest.mark.parametrize(("discount", "expected"), [(1.0, TIGER_UNDISCOUNTED), (0.95, TIGER_095)])
def test_tiger_finite_horizon_values(discount, expected):
    Q, P, R = pomdp_tiger()
    got = [
        POMDPModel(Q, P, R, discount, horizon=h).solve(201).value([0.5, 0.5]) for h in range(1, 8)
    ]
    np.testing.assert_allclose(got, expected, atol=1e-5)  # spec values carry 6 digits
    np.testing.assert_allclose(got[:3], expected[:3], atol=1e-6)


def test_finite_horizon_solver_equals_belief_tree_on_crm3(crm3):
    truth, model, _ = crm3
    fin = POMDPModel(truth.Q, truth.P, truth.R, 0.95, horizon=4).solve(201)
    for b in ([0.9, 0.1], [0.37, 0.63]):
        ref = _tree_value(truth.Q, truth.P, truth.R, 0.95, np.array(b), 4)
        assert fin.value(b) == pytest.approx(ref, abs=1e-9)


def test_three_doors_value_matches_r_pomdp():
    sol = POMDPModel(*pomdp_three_doors(), discount=0.75).solve(1891)
    assert sol.value(np.ones(3) / 3) == pytest.approx(5.068327, abs=1e-3)


def test_tiger_open_loop_listens_forever_and_vol(tiger95):
    assert tiger95.value([0.5, 0.5], policy="open_loop") == pytest.approx(-20.0, abs=1e-3)
    vol = tiger95.value([0.5, 0.5]) - tiger95.value([0.5, 0.5], policy="open_loop")
    assert vol == pytest.approx(39.371368, abs=1e-3)


def test_crm3_values_of_all_policies(crm3):
    truth, _, sol = crm3
    b0 = truth.b0
    assert sol.value(b0) == pytest.approx(129.773298, abs=0.01)
    assert sol.value(b0, policy="open_loop") == pytest.approx(123.326456, abs=0.01)
    assert sol.value(b0) - sol.value(b0, policy="open_loop") == pytest.approx(6.446842, abs=0.02)
    assert sol.value(b0, policy="myopic") == pytest.approx(119.341925, abs=0.01)
    assert sol.value(b0, policy="mdp_bound") == pytest.approx(134.733535, abs=0.01)
    np.testing.assert_allclose(sol.mdp_values, [132.097482, 158.458006], atol=1e-4)
    np.testing.assert_allclose(sol.q_values(b0), [126.1156, 128.6313, 129.7733], atol=1e-3)


def test_crm3_policy_switch_points(crm3):
    _, _, sol = crm3
    switch, acts = _switch_points(sol)
    assert len(switch) == 1 and switch[0] == pytest.approx(0.513128, abs=0.005)
    assert acts[0] == 2 and acts[-1] == 1  # call when P(high) is low, else e-mail
    switch_ol, acts_ol = _switch_points(sol, "open_loop")
    assert switch_ol[0] == pytest.approx(0.608184, abs=0.005)
    assert acts_ol[0] == 2 and acts_ol[-1] == 1
    _, acts_my = _switch_points(sol, "myopic")
    assert np.all(acts_my == 1)


def _problems():
    truth = make_pomdp_crm(n_customers=1, n_periods=1, random_state=0)[2]
    fan = make_pomdp_crm(n_customers=1, n_periods=1, problem="fan2015_like", random_state=0)[2]
    fan.gamma = 0.95
    return {
        "tiger": POMDPModel(*pomdp_tiger(), discount=0.95),
        "crm3": truth.model(),
        "fan2015_like": fan.model(),
    }


@pytest.mark.parametrize("name", ["tiger", "crm3", "fan2015_like"])
def test_value_ordering_invariants_at_every_belief_point(name):
    model = _problems()[name]
    sol = model.solve(201)
    B = sol.belief_points[:201]
    v = sol.value(B)
    scale = np.abs(v).max()
    assert np.all(sol.value(B, policy="open_loop") <= v + 1e-9 * scale)
    assert np.all(v <= sol.value(B, policy="mdp_bound") + 1e-9 * scale)
    # the myopic value is itself evaluated on a 4,001-point grid: numerical slack 1e-6
    assert np.all(sol.value(B, policy="myopic") <= v + 1e-6 * scale)
    assert np.all(np.diff(v, 2) >= -1e-9 * scale)  # V* convex


def test_uninformative_emissions_give_zero_vol():
    truth = make_pomdp_crm(n_customers=1, n_periods=1, random_state=0)[2]
    P = truth.P.copy()
    P[:, 0] = P[:, 1]
    R = np.einsum("asz,azy,y->sa", truth.Q, P, truth.rev) - truth.cost
    sol = POMDPModel(truth.Q, P, R, 0.95).solve(201, vi_tol=1e-10)
    B = sol.belief_points
    np.testing.assert_allclose(sol.value(B), 250.0, atol=1e-6)
    np.testing.assert_allclose(sol.value(B, policy="open_loop"), 250.0, atol=1e-6)


def test_perfectly_informative_emissions_reveal_the_state_after_one_period():
    # Spec A11 says V*(b) = b.V_MDP; with transit-then-emit the first action is still
    # chosen under uncertainty, so V*(b) = max_a [b.R_a + gamma b Q_a V_MDP], which
    # equals b.V_MDP only at the vertices (checked here; the gap is 0.74 at b = 0.5).
    truth = make_pomdp_crm(n_customers=1, n_periods=1, random_state=0)[2]
    P = np.stack([np.eye(2)] * 3)
    sol = POMDPModel(truth.Q, P, truth.R, 0.95).solve(201, vi_tol=1e-10)
    B = sol.belief_points
    one_blind_step = B @ truth.R + 0.95 * np.einsum("bk,akj,j->ba", B, truth.Q, sol.mdp_values)
    np.testing.assert_allclose(sol.value(B), one_blind_step.max(1), atol=1e-6)
    np.testing.assert_allclose(sol.value(B[[0, -1]]), B[[0, -1]] @ sol.mdp_values, atol=1e-6)


@pytest.mark.parametrize("n_points", [3, 11, 21])
@pytest.mark.parametrize("open_loop", [False, True])
def test_perseus_retention_makes_values_monotone_and_convergent(n_points, open_loop):
    truth = make_pomdp_crm(n_customers=1, n_periods=1, random_state=0)[2]
    P = np.ones((3, 2, 1)) if open_loop else truth.P
    B = _solver.belief_grid(2, n_points)
    history = []
    _, _, n_iter, residual = _solver.pbvi(
        truth.Q,
        P,
        truth.R,
        0.95,
        B,
        tol=1e-9,
        max_iter=5000,
        callback=lambda it, v: history.append(v.copy()),
    )
    assert residual < 1e-9 and n_iter < 5000
    assert np.all(np.diff(np.array(history), axis=0) >= 0)


def test_interpolation_upper_bound_brackets_pbvi(crm3):
    truth, model, sol = crm3
    x, upper = _solver.grid_upper_bound(truth.Q, truth.P, truth.R, 0.95, 201)
    lower = sol.value(np.column_stack([1 - x, x]))
    assert np.all(upper >= lower - 1e-9)
    # with a fine upper grid the bracket around the 201-point PBVI value closes
    x, fine = _solver.grid_upper_bound(truth.Q, truth.P, truth.R, 0.95, 20_001)
    lower = sol.value(np.column_stack([1 - x, x]))
    assert np.max(fine - lower) <= 1e-4


def test_matched_horizon_vol_is_never_negative_and_truncated_vol_can_be(crm3):
    truth, _, sol = crm3
    b0 = truth.b0
    for h in (1, 2, 3, 6, 12, 24, 60, 120):
        fin = POMDPModel(truth.Q, truth.P, truth.R, 0.95, horizon=h).solve(201)
        assert fin.value(b0) - fin.value(b0, policy="open_loop") >= -1e-9
    fin6 = POMDPModel(truth.Q, truth.P, truth.R, 0.95, horizon=6).solve(201)
    assert fin6.value(b0) == pytest.approx(24.3122, abs=1e-3)
    assert fin6.value(b0, policy="open_loop") == pytest.approx(23.9039, abs=1e-3)
    pomdp6 = sol.evaluate(lambda b: sol.action(b), b0, horizon=6)
    assert pomdp6 == pytest.approx(22.7297, abs=0.01)


def test_truncated_open_loop_policy_beats_truncated_pomdp_policy_at_six_periods(crm3):
    truth, model, sol = crm3
    pomdp6 = sol.evaluate(lambda b: sol.action(b), truth.b0, horizon=6)
    # the open-loop plan follows its own deterministic belief path
    b, total = truth.b0.copy(), 0.0
    for t in range(6):
        a = int(sol.action(b, policy="open_loop"))
        total += 0.95**t * b @ truth.R[:, a]
        b = b @ truth.Q[a]
    assert total == pytest.approx(22.9904, abs=0.01)
    assert pomdp6 - total == pytest.approx(-0.2607, abs=0.01)


def test_blackwell_more_accurate_listening_is_worth_more():
    values = [
        POMDPModel(*pomdp_tiger(p), discount=0.95).solve(201).value([0.5, 0.5])
        for p in (0.5, 0.6, 0.7, 0.85, 0.95)
    ]
    np.testing.assert_allclose(
        values, [-20, -17.810566, -7.689403, 19.371368, 43.151066], atol=2e-3
    )


def test_exact_policy_evaluation_agrees_with_monte_carlo(crm3):
    truth, _, sol = crm3
    exact = sol.evaluate(lambda b: sol.action(b), truth.b0, horizon=40)
    mean, se = _solver.simulate_policy(
        lambda b: sol.action(b),
        truth.Q,
        truth.P,
        truth.b0,
        truth.Q,
        truth.P,
        truth.R,
        truth.b0,
        0.95,
        n_customers=20_000,
        horizon=40,
        random_state=0,
    )
    assert abs(mean - exact) < 4 * se


def test_simplex_lattice_has_the_requested_size_and_vertices():
    B = _solver.belief_grid(4, 2000)
    assert len(B) == 1771  # resolution 20: C(23, 3)
    np.testing.assert_allclose(B.sum(1), 1.0)
    for k in range(4):
        assert any(np.allclose(b, np.eye(4)[k]) for b in B)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"discount": 1.0}, "discount"),
        ({"discount": 1.5, "horizon": 3}, "discount"),
        ({"discount": 0.9, "horizon": 0}, "horizon"),
    ],
)
def test_model_rejects_bad_discount_and_horizon(kwargs, match):
    with pytest.raises(ValueError, match=match):
        POMDPModel(*pomdp_tiger(), **kwargs)


def test_model_rejects_non_stochastic_arrays_and_bad_shapes():
    Q, P, R = pomdp_tiger()
    with pytest.raises(ValueError, match="transition rows must sum to 1"):
        POMDPModel(Q * 0.9, P, R, 0.9)
    with pytest.raises(ValueError, match="reward must have shape"):
        POMDPModel(Q, P, R.T, 0.9)
    with pytest.raises(ValueError, match="emission must have shape"):
        POMDPModel(Q, P[:2], R, 0.9)


def test_solution_accepts_one_belief_or_many_and_checks_them(tiger95):
    assert np.ndim(tiger95.value([0.5, 0.5])) == 0
    assert tiger95.value(np.full((4, 2), 0.5)).shape == (4,)
    assert tiger95.action(np.full((4, 2), 0.5)).shape == (4,)
    with pytest.raises(ValueError, match="probability vector"):
        tiger95.value([0.7, 0.7])
    with pytest.raises(ValueError, match="2 entries"):
        tiger95.value([1.0, 0.0, 0.0])


def test_brute_force_open_loop_plans_equal_open_loop_value(crm3):
    truth, _, sol = crm3
    gamma, H = 0.95, 8
    fin = POMDPModel(truth.Q, truth.P, truth.R, gamma, horizon=H).solve(201)
    best = -np.inf
    for plan in itertools.product(range(3), repeat=H):
        b, total = truth.b0.copy(), 0.0
        for t, a in enumerate(plan):
            total += gamma**t * b @ truth.R[:, a]
            b = b @ truth.Q[a]
        best = max(best, total)
    assert fin.value(truth.b0, policy="open_loop") == pytest.approx(best, abs=1e-9)


def test_perseus_matches_pbvi_on_tiger_and_crm3(crm3):
    tiger = POMDPModel(*pomdp_tiger(), discount=0.95).solve(201, method="perseus")
    assert tiger.value([0.5, 0.5]) == pytest.approx(19.371368, abs=1e-3)
    truth, model, sol = crm3
    fast = model.solve(201, method="perseus")
    B = sol.belief_points
    assert np.all(fast.value(B) <= sol.value(B) + 1e-3)
    assert fast.value(truth.b0) == pytest.approx(129.773298, abs=0.01)
