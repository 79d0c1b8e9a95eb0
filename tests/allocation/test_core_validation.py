"""Clear errors for bad, contradictory or infeasible inputs of solve_allocation."""

import numpy as np
import pytest

from skcrm.allocation import solve_allocation

from .conftest import T1_N, T1_SCEN

VH = T1_SCEN.mean(0)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"budget": -1}, "budget must be >= 0"),
        ({"action_costs": -1.0}, "action_costs must be >= 0"),
        ({"capacities": [-5]}, "capacities must be >= 0"),
        ({"campaign_budgets": [-5]}, "campaign_budgets must be >= 0"),
        ({"theta": -0.1, "method": "ellipsoidal"}, "theta must be >= 0"),
        ({"gamma": -1, "method": "budgeted"}, "gamma must be >= 0"),
        ({"tail_fraction": 0.0, "method": "cvar"}, "tail_fraction must be in"),
        ({"tail_fraction": 1.5, "method": "cvar"}, "tail_fraction must be in"),
        ({"method": "dnorm", "dnorm_d": 3}, "dnorm_d must be an integer in 1..2"),
        ({"method": "robust"}, "method must be one of"),
        ({"action_costs": np.ones((3, 1))}, "action_costs must be a scalar or have shape"),
        ({"method": "worst_case", "scenarios": None}, "needs scenarios"),
        ({"scenario_weights": [0.3, 0.3]}, "summing to 1"),
        ({"integer": "round"}, "integer must be"),
        ({"method": "dnorm", "dnorm_matrix": "cholesky"}, "dnorm_matrix must be one of"),
    ],
)
def test_bad_input_raises_value_error_naming_it(kw, match):
    args = {"scenarios": T1_SCEN, "budget": 100} | kw
    with pytest.raises(ValueError, match=match):
        solve_allocation(VH, T1_N, **args)


def test_wrong_segment_sizes_shape_is_rejected():
    with pytest.raises(ValueError, match=r"segment_sizes must have shape \(2,\)"):
        solve_allocation(VH, [1, 2, 3], budget=1)


def test_negative_segment_size_is_rejected():
    with pytest.raises(ValueError, match="segment_sizes must be >= 0"):
        solve_allocation(VH, [-1, 2], budget=1)


def test_contradictory_cell_bounds_are_rejected():
    with pytest.raises(ValueError, match=r"contradictory cell bounds: min_cell\[0, 0\]"):
        solve_allocation(VH, T1_N, budget=100, min_cell=[[20], [0]], max_cell=[[10], [50]])


def test_infeasible_minimum_cells_over_budget_are_rejected():
    with pytest.raises(ValueError, match="infeasible constraints: .*budget = 100"):
        solve_allocation(VH, T1_N, budget=100, min_cell=[[60], [60]])


def test_infeasible_minimum_cells_over_segment_size_are_rejected():
    with pytest.raises(ValueError, match=r"segment_sizes\[0\] = 100"):
        solve_allocation(np.ones((2, 2)), T1_N, budget=1000, min_cell=[[60, 60], [0, 0]])


def test_lower_bounds_above_nominal_are_contradictory_for_budgeted():
    with pytest.raises(ValueError, match=r"lower\[0, 0\] .* exceeds value_hat\[0, 0\]"):
        solve_allocation(VH, T1_N, method="budgeted", lower=VH + 0.01, budget=100)


def test_feasible_minimum_cells_are_respected():
    res = solve_allocation(VH, T1_N, budget=100, min_cell=[[0], [30]])
    np.testing.assert_allclose(res.allocation.ravel(), [70, 30], atol=1e-6)
    np.testing.assert_allclose(res.objective, 0.07 * 70 + 0.06 * 30)


def test_nan_values_are_rejected():
    with pytest.raises(ValueError, match="value_hat must be finite"):
        solve_allocation(np.array([[np.nan], [0.1]]), T1_N, budget=1)
