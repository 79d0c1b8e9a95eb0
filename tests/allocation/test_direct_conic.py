"""The large SOCP/QP path (issue 14): Clarabel on a factored formulation built without
cvxpy gives the optimum of the unfactored form (cvxpy, the covariance's square root)."""

import tracemalloc

import numpy as np
import pytest

from skcrm.allocation import _models, solve_allocation

from .conftest import T1_N, T1_SCEN, random_instance

CASES = [
    {"method": "ellipsoidal", "theta": 0.5},
    {"method": "ellipsoidal", "theta": 2.0},
    {"method": "mean_variance", "risk_aversion": 1e-3},
    {"method": "mean_variance", "risk_aversion": 0.1},
]


def _with_bounds(inst, seed):
    rng = np.random.default_rng(seed)
    K, M = inst["value_hat"].shape
    out = dict(inst)
    if seed % 3 == 0:
        out["campaign_budgets"] = rng.uniform(0.2, 0.6, size=M) * inst["budget"]
    if seed % 3 == 1:
        out["max_cell"] = rng.uniform(0.3, 1.0, size=(K, M)) * inst["segment_sizes"][:, None]
    if seed % 4 == 2:
        out["min_cell"] = np.floor(0.02 * inst["segment_sizes"][:, None] * np.ones((1, M)))
    return out


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("kw", CASES, ids=lambda kw: f"{kw['method']}-{list(kw.values())[1]}")
def test_direct_factored_build_matches_the_unfactored_form(monkeypatch, seed, kw):
    inst = _with_bounds(random_instance(300 + seed), seed)
    S = inst["scenarios"].shape[0]
    D = inst["scenarios"].reshape(S, -1)
    D = D - D.mean(axis=0)
    cov = D.T @ D / (S - 1)  # the unfactored covariance (cvxpy uses its eigen-root)
    ref = solve_allocation(**inst, cov=cov, **kw)
    assert "formulation" not in ref.extras
    monkeypatch.setattr(_models, "needs_constant_build", lambda rows, cols: True)
    big = solve_allocation(**inst, **kw)
    assert big.extras["formulation"] == "direct factored (no cvxpy)"
    assert big.status == "optimal"
    scale = max(1.0, abs(ref.objective))
    assert big.objective == pytest.approx(ref.objective, rel=1e-6, abs=1e-6 * scale)
    np.testing.assert_allclose(big.allocation, ref.allocation, atol=2.0)  # spec 10 (SOCP)
    eta = big.allocation
    assert np.all(eta.sum(axis=1) <= inst["segment_sizes"] * (1 + 1e-9))
    assert (inst["action_costs"] * eta).sum() <= inst["budget"] * (1 + 1e-9)


@pytest.mark.parametrize(("theta", "expected"), [(0.05, [100.0, 0.0]), (0.2, [16.6667, 83.3333])])
def test_direct_build_on_the_hand_solved_toy(monkeypatch, theta, expected):
    monkeypatch.setattr(_models, "needs_constant_build", lambda rows, cols: True)
    res = solve_allocation(
        T1_SCEN.mean(0), T1_N, method="ellipsoidal", scenarios=T1_SCEN, budget=100, theta=theta
    )
    assert res.extras["formulation"] == "direct factored (no cvxpy)"
    np.testing.assert_allclose(res.allocation.ravel(), expected, atol=1e-3)


def test_large_problems_never_form_the_covariance():
    rng = np.random.default_rng(1)
    n, M, r = 4000, 3, 10
    value = rng.normal(0.03, 0.02, size=(n, M))
    F = rng.normal(size=(r, n * M)) * 0.01
    tracemalloc.start()
    res = solve_allocation(
        value, np.ones(n), method="ellipsoidal", cov_factor=F, budget=0.2 * n, theta=1.0
    )
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert res.extras["formulation"] == "direct factored (no cvxpy)"
    # the (n M)^2 covariance would be 1.15 GB; the factored arrays are O(n M r)
    assert peak < 0.25 * (n * M) ** 2 * 8
