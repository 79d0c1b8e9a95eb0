"""solve_allocation against the exact fixtures of spec 7.1 (T1), 7.2 and 7.3 (AC-02, 06, 11, 12)."""

import numpy as np
import pytest

from skcrm.allocation import solve_allocation
from skcrm.datasets import PAPER_LPG

from .conftest import T1_N, T1_SCEN

LP_RTOL, LP_ATOL = 1e-7, 1e-6
T1_WC = [50 / 3, 250 / 3]


def t1(**kw):
    return solve_allocation(T1_SCEN.mean(0), T1_N, scenarios=T1_SCEN, budget=100, **kw)


@pytest.mark.parametrize(
    ("kw", "eta", "objective"),
    [
        ({"method": "nominal"}, [100, 0], 7.0),
        ({"method": "expected_value"}, [100, 0], 7.0),
        ({"method": "interval"}, [0, 100], 5.0),
        ({"method": "worst_case"}, T1_WC, 37 / 6),
        ({"method": "cvar", "tail_fraction": 0.5}, T1_WC, 37 / 6),
        ({"method": "max_regret"}, [175 / 3, 125 / 3], 35 / 12),
        ({"method": "budgeted", "gamma": 0}, [100, 0], 7.0),
        ({"method": "budgeted", "gamma": 0.5}, T1_WC, 5.75),
        ({"method": "budgeted", "gamma": 1}, T1_WC, 16 / 3),
        ({"method": "budgeted", "gamma": 1.5}, [0, 100], 5.0),
        ({"method": "budgeted", "gamma": 2}, [0, 100], 5.0),
        (
            {"method": "dnorm", "dnorm_matrix": "inv_halfwidth", "theta": 1, "dnorm_d": 1},
            [0, 100],
            5.0,
        ),
        (
            {"method": "dnorm", "dnorm_matrix": "inv_halfwidth", "theta": 1, "dnorm_d": 2},
            T1_WC,
            16 / 3,
        ),
        ({"method": "worst_case", "integer": True}, [17, 83], 6.15),
        ({"method": "worst_case", "integer": "floor"}, [17, 83], 6.15),
        ({"method": "max_regret", "integer": True}, [58, 42], 2.94),
        ({"method": "nominal", "capacities": [50]}, [50, 0], 3.5),
    ],
)
def test_t1_linear_models_match_hand_solution(kw, eta, objective):
    res = t1(**kw)
    np.testing.assert_allclose(res.allocation.ravel(), eta, atol=1e-6 * 100)
    np.testing.assert_allclose(res.objective, objective, rtol=LP_RTOL, atol=LP_ATOL)


@pytest.mark.parametrize(
    ("theta", "eta", "objective"),
    [
        (0.05, [100, 0], 7 - 5 * np.sqrt(2) * 0.05),
        (0.1, [100, 0], 7 - 5 * np.sqrt(2) * 0.1),
        (0.12, T1_WC, 37 / 6),
        (1.0, T1_WC, 37 / 6),
        (10.0, T1_WC, 37 / 6),
    ],
)
def test_t1_ellipsoidal_matches_closed_form_on_both_sides_of_theta_star(theta, eta, objective):
    res = t1(method="ellipsoidal", theta=theta)
    np.testing.assert_allclose(res.allocation.ravel(), eta, atol=2.0)
    np.testing.assert_allclose(res.objective, objective, rtol=1e-5)


def test_t1_max_regret_reports_scenario_optima():
    np.testing.assert_allclose(t1(method="max_regret").extras["scenario_optima"], [12, 7])


def test_paper_nominal_allocation_is_reproduced_exactly():
    N = PAPER_LPG["TABLE1_CLUSTER_SIZES"]
    res = solve_allocation(PAPER_LPG["SURROGATE_MU"], N, method="nominal", budget=60000)
    expected = np.zeros((9, 2))
    for (k, arm), n in PAPER_LPG["NOMINAL_ALLOCATION"].items():
        expected[k - 1, 0 if arm == "men" else 1] = n
    np.testing.assert_allclose(res.allocation, expected, atol=1e-6 * N.max())
    np.testing.assert_allclose(res.objective, 5926.93, rtol=1e-9)
    np.testing.assert_allclose(res.budget_used, 60000, rtol=1e-12)


SURROGATE_OBJECTIVES = [
    ({"method": "nominal"}, 5852.3740),
    ({"method": "interval"}, 4659.6707),
    ({"method": "max_regret"}, 358.4972),
    ({"method": "worst_case"}, 5181.7548),
    ({"method": "cvar", "tail_fraction": 0.10}, 5280.5836),
    *[
        ({"method": "cvar", "tail_fraction": a}, v)
        for a, v in [
            (0.02, 5181.7548),
            (0.05, 5219.7145),
            (0.2, 5390.7448),
            (0.5, 5599.4135),
            (1.0, 5852.3740),
        ]
    ],
    *[
        ({"method": "budgeted", "gamma": g}, v)
        for g, v in [
            (0, 5852.3740),
            (1, 5343.9739),
            (2, 5024.1206),
            (4, 4721.7253),
            (9, 4659.6707),
            (18, 4659.6707),
        ]
    ],
]


@pytest.mark.parametrize(("kw", "objective"), SURROGATE_OBJECTIVES)
def test_surrogate_lp_objectives_match_spec(surrogate, kw, objective):
    tr = surrogate.train
    res = solve_allocation(tr.mean(0), surrogate.segment_sizes, scenarios=tr, budget=60000, **kw)
    np.testing.assert_allclose(res.objective, objective, rtol=1e-6, atol=1e-4)


# theta (mean scale): expected value, robust objective, sd, budget used (spec 7.3 path)
ELL_PATH = [
    (0, 5852.3740, 5852.3740, 44.7118, 60000),
    (5, 5852.3740, 5628.8148, 44.7118, 60000),
    (20, 5802.0514, 4991.1491, 40.5451, 60000),
    (50, 5400.9844, 3939.8069, 29.2235, 60000),
    (100, 4564.9794, 2789.8561, 17.7512, 60000),
    (150, 4179.7886, 1991.0455, 14.5916, 60000),
    (200, 4011.4631, 1290.4999, 13.6048, 60000),
    (300, 2014.5997, 81.2747, 6.4444, 32171.7),
]


@pytest.mark.parametrize(("theta", "ev", "obj", "sd", "used"), ELL_PATH)
def test_surrogate_ellipsoidal_path_matches_spec(surrogate, theta, ev, obj, sd, used):
    tr = surrogate.train
    res = solve_allocation(
        tr.mean(0), surrogate.segment_sizes, method="ellipsoidal", scenarios=tr,
        cov=np.cov(tr.reshape(50, 18), rowvar=False) / 50, theta=theta, budget=60000,
    )  # fmt: skip
    F = (tr.reshape(50, 18) - tr.reshape(50, 18).mean(0)) / np.sqrt(49 * 50)
    np.testing.assert_allclose(res.objective, obj, rtol=1e-4)
    # flat optima: the expected value and sd move by up to ~2 customers' worth of value
    np.testing.assert_allclose(res.expected_value, ev, rtol=1e-4, atol=0.05)
    np.testing.assert_allclose(np.linalg.norm(F @ res.allocation.ravel()), sd, rtol=1e-3)
    np.testing.assert_allclose(res.budget_used, used, atol=2.0)


def test_surrogate_ell300_leaves_budget_unused_with_cluster5_at_its_limit(surrogate):
    tr = surrogate.train
    res = solve_allocation(
        tr.mean(0), surrogate.segment_sizes, method="ellipsoidal", scenarios=tr,
        cov_factor=(tr.reshape(50, 18) - tr.reshape(50, 18).mean(0)) / np.sqrt(49 * 50),
        theta=300, budget=60000,
    )  # fmt: skip
    assert res.budget_used < 60000 - 1000
    np.testing.assert_allclose(res.allocation[4].sum(), 8940, atol=1.0)
    assert (res.allocation >= 0.5).sum() >= 10


def test_surrogate_nominal_and_interval_allocations_match_spec(surrogate):
    tr, N = surrogate.train, surrogate.segment_sizes
    nom = solve_allocation(tr.mean(0), N, method="nominal", budget=60000)
    expected = np.zeros((9, 2))
    expected[[3, 5, 7], 0] = [12370, 29240, 4100]
    expected[2, 1] = 14290
    np.testing.assert_allclose(nom.allocation, expected, atol=1e-3)
    inter = solve_allocation(tr.mean(0), N, method="interval", scenarios=tr, budget=60000)
    expected = np.zeros((9, 2))
    expected[[3, 5, 6, 7], 0] = [12370, 29240, 14290, 4100]
    np.testing.assert_allclose(inter.allocation, expected, atol=1e-3)


def test_surrogate_max_regret_and_worst_case_allocations_match_spec(surrogate):
    tr, N = surrogate.train, surrogate.segment_sizes
    mr = solve_allocation(tr.mean(0), N, method="max_regret", scenarios=tr, budget=60000)
    np.testing.assert_allclose(mr.allocation[[3, 5, 7], 0], [11874.8, 29240, 4100], atol=0.1)
    np.testing.assert_allclose(mr.allocation[2, 1], 14785.2, atol=0.1)
    assert (mr.allocation.sum(axis=1) > 1e-3).sum() == 4  # 4 clusters, like the paper
    wc = solve_allocation(tr.mean(0), N, method="worst_case", scenarios=tr, budget=60000)
    np.testing.assert_allclose(
        wc.allocation[[3, 5, 6, 7], 0], [12370, 29240, 10700.2, 4100], atol=0.1
    )
    np.testing.assert_allclose(wc.allocation[2, 1], 3589.8, atol=0.1)
