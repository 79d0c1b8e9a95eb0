"""The large SOCP/QP paths (issue 14) give the optimum of the unfactored form (cvxpy, the
covariance's square root): the factored interior point (Woodbury Newton steps, the default)
and Clarabel on a factored formulation built without cvxpy (its fallback)."""

import tracemalloc
import warnings

import numpy as np
import pytest

from skcrm.allocation import _core, _models, solve_allocation

from .conftest import T1_N, T1_SCEN, random_instance

IPM = "factored interior point (Woodbury, no cvxpy)"
CLARABEL = "direct factored (no cvxpy)"
PATHS = [pytest.param(True, id="ipm"), pytest.param(False, id="clarabel")]

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


@pytest.mark.parametrize("ipm", PATHS)
@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("kw", CASES, ids=lambda kw: f"{kw['method']}-{list(kw.values())[1]}")
def test_direct_factored_build_matches_the_unfactored_form(monkeypatch, seed, kw, ipm):
    inst = _with_bounds(random_instance(300 + seed), seed)
    S = inst["scenarios"].shape[0]
    D = inst["scenarios"].reshape(S, -1)
    D = D - D.mean(axis=0)
    cov = D.T @ D / (S - 1)  # the unfactored covariance (cvxpy uses its eigen-root)
    ref = solve_allocation(**inst, cov=cov, **kw)
    assert "formulation" not in ref.extras
    monkeypatch.setattr(_models, "needs_constant_build", lambda rows, cols: True)
    monkeypatch.setattr(_core, "_LOWRANK_IPM", ipm)
    big = solve_allocation(**inst, **kw)
    # the interior point falls back to Clarabel when it cannot certify its optimum
    assert big.extras["formulation"] in ((IPM, CLARABEL) if ipm else (CLARABEL,))
    assert big.status == "optimal"
    scale = max(1.0, abs(ref.objective))
    assert big.objective == pytest.approx(ref.objective, rel=1e-6, abs=1e-6 * scale)
    np.testing.assert_allclose(big.allocation, ref.allocation, atol=2.0)  # spec 10 (SOCP)
    eta = big.allocation
    assert np.all(eta.sum(axis=1) <= inst["segment_sizes"] * (1 + 1e-9))
    assert (inst["action_costs"] * eta).sum() <= inst["budget"] * (1 + 1e-9)


@pytest.mark.parametrize("ipm", PATHS)
@pytest.mark.parametrize(("theta", "expected"), [(0.05, [100.0, 0.0]), (0.2, [16.6667, 83.3333])])
def test_direct_build_on_the_hand_solved_toy(monkeypatch, theta, expected, ipm):
    monkeypatch.setattr(_models, "needs_constant_build", lambda rows, cols: True)
    monkeypatch.setattr(_core, "_LOWRANK_IPM", ipm)
    res = solve_allocation(
        T1_SCEN.mean(0), T1_N, method="ellipsoidal", scenarios=T1_SCEN, budget=100, theta=theta
    )
    assert res.extras["formulation"] == (IPM if ipm else CLARABEL)
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
    assert res.extras["formulation"] == IPM
    # the (n M)^2 covariance would be 1.15 GB; the factored arrays are O(n M r)
    assert peak < 0.25 * (n * M) ** 2 * 8


def _customer_instance(seed, n=150, M=3, r=6):
    """Customer-level instance as in the benchmark (every customer its own segment)."""
    rng = np.random.default_rng(seed)
    value = rng.normal(0.03, 0.02, size=(n, M))
    F = rng.normal(size=(r, n * M)) * 0.01 / np.sqrt(r)
    return value, F, 0.2 * n


def _reference(value, F, budget, kw):
    """The unfactored form in cvxpy (explicit covariance) solved by Clarabel to 1e-12."""
    tight = {f"tol_{k}": 1e-12 for k in ("gap_abs", "gap_rel", "feas")}
    with warnings.catch_warnings():  # 1e-12 is below what Clarabel calls accurate
        warnings.filterwarnings("ignore", message="solver CLARABEL returned 'optimal_inacc")
        return solve_allocation(
            value, np.ones(value.shape[0]), cov=F.T @ F, budget=budget, solver="CLARABEL",
            solver_options=tight, **kw,
        )  # fmt: skip


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize(
    "kw",
    [
        {"method": "ellipsoidal", "theta": 1.0},  # the benchmark's model
        {"method": "ellipsoidal", "theta": 0.1},
        {"method": "mean_variance", "risk_aversion": 10.0},
    ],
    ids=["ell-1", "ell-0.1", "mv-10"],
)
def test_factored_interior_point_equals_the_unfactored_form_to_1e_7(monkeypatch, seed, kw):
    value, F, budget = _customer_instance(seed)
    ref = _reference(value, F, budget, kw)
    assert "formulation" not in ref.extras
    monkeypatch.setattr(_models, "needs_constant_build", lambda rows, cols: True)
    res = solve_allocation(value, np.ones(value.shape[0]), cov_factor=F, budget=budget, **kw)
    # the interior point itself (not the Clarabel fallback) certifies every instance; the
    # near-LP theta=0.1, seed 1 fell back before the exact segment duals of the bound
    assert res.extras["formulation"] == IPM
    # the certificate: the optimum lies within duality_gap of the returned objective
    if res.extras["formulation"] == IPM:
        gap = res.extras["duality_gap"]
        assert 0 <= gap <= 1e-8 * max(1.0, abs(res.objective))
    assert res.objective == pytest.approx(ref.objective, rel=1e-8)
    # mean-variance agrees to 1e-7; the ellipsoidal optimum is flat (||F x|| curves in r of
    # the n M directions only, the objective moves by < 1e-10 along it): there allocations
    # within 1e-8 of the optimal value differ by up to 4e-4 customers (Clarabel, the
    # previous path, by up to 6e-5 on these seeds)
    atol = 1e-7 if kw["method"] == "mean_variance" else 1e-3
    np.testing.assert_allclose(res.allocation, ref.allocation, rtol=0, atol=atol)
    assert res.budget_used <= budget * (1 + 1e-12)


def test_interior_point_failure_falls_back_to_clarabel(monkeypatch):
    from skcrm.allocation import _lowrank_ipm

    def fail(*args, **kwargs):
        raise _lowrank_ipm.LowRankIPMError("forced")

    value, F, budget = _customer_instance(0)
    monkeypatch.setattr(_models, "needs_constant_build", lambda rows, cols: True)
    monkeypatch.setattr(_lowrank_ipm, "solve_lowrank", fail)
    res = solve_allocation(
        value, np.ones(value.shape[0]), method="ellipsoidal", cov_factor=F, budget=budget,
        theta=1.0,
    )  # fmt: skip
    assert res.extras["formulation"] == CLARABEL
    assert res.status == "optimal"


def test_block_cholesky_inverse_equals_lu_inverse():
    from skcrm.allocation._lowrank_ipm import _block_cholesky, _block_tri_inv

    rng = np.random.default_rng(3)
    # SPD blocks as in the Newton matrix: diagonal (1e-9 .. 1e9) plus a rank-one segment term
    d = 10.0 ** rng.uniform(-9, 9, size=(500, 3))
    av = rng.uniform(0.1, 1.0, size=(500, 3))
    e = 10.0 ** rng.uniform(-6, 6, size=500)
    blocks = e[:, None, None] * av[:, :, None] * av[:, None, :]
    blocks[:, np.arange(3), np.arange(3)] += d
    Linv = _block_tri_inv(_block_cholesky(blocks))
    inv = np.einsum("kji,kjl->kil", Linv, Linv)
    # backward check: B B^{-1} = I to rounding relative to the block's scale
    eye = np.matmul(blocks, inv)
    scale = np.abs(blocks).max(axis=(1, 2)) * np.abs(inv).max(axis=(1, 2))
    assert np.all(np.abs(eye - np.eye(3)).max(axis=(1, 2)) <= 1e-12 * scale)
    with pytest.raises(np.linalg.LinAlgError):
        _block_cholesky(-blocks[:2])


@pytest.mark.xfail(
    strict=True,
    reason="open: on the benchmark's --quick instance (2,000 customers, rank 50) CG stalls in "
    "the last iterations (kkt error 1e-2 at a certified gap of 2.7e-7) and the interior point "
    "hands the problem to Clarabel; the optimum is not at the cone's tip",
)
def test_interior_point_solves_the_quick_benchmark_instance():
    n, M, r = 2000, 3, 50
    rng = np.random.default_rng(0)
    value = rng.normal(0.03, 0.02, size=(n, M))
    F = rng.normal(size=(r, n * M)) * 0.01 / np.sqrt(r)
    res = solve_allocation(
        value, np.ones(n), method="ellipsoidal", cov_factor=F, budget=0.2 * n, theta=1.0
    )
    assert res.extras["formulation"] == IPM
