"""budget_curve: the exact LP path against scipy linprog, one LP per budget."""

import numpy as np
import pytest
from scipy.optimize import linprog

from skcrm.policy import budget_curve


def _lp_value(G, C, budget):
    """max (1/n) sum x g s.t. sum_k x_ik <= 1, (1/n) sum x c <= budget, x >= 0 (HiGHS)."""
    n, m = G.shape
    A_cust = np.kron(np.eye(n), np.ones((1, m)))
    A = np.vstack([A_cust, C.reshape(1, -1) / n])
    b = np.concatenate([np.ones(n), [budget]])
    res = linprog(
        -G.ravel() / n,
        A_ub=A,
        b_ub=b,
        bounds=(0, None),
        method="highs",
        options={"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10},
    )
    assert res.status == 0
    return -res.fun


@pytest.mark.parametrize("K", [2, 3, 4, 5])
@pytest.mark.parametrize("per_customer", [False, True])
def test_budget_curve_equals_linprog(K, per_customer):
    rng = np.random.default_rng(10 * K + per_customer)
    n, m = 60, K - 1
    G = rng.normal(0.5, 1.0, size=(n, m))
    C = rng.uniform(0.2, 2.0, size=(n, m) if per_customer else m)
    Cm = np.broadcast_to(C, (n, m))
    top = float(np.sum(np.max(np.where(G > 0, Cm, 0), axis=1)) / n)
    budgets = np.sort(np.concatenate([[0.0], rng.uniform(0, 1.2 * top, size=12)]))
    curve = budget_curve(G, C, budgets)
    ref = np.array([_lp_value(G, Cm, b) for b in budgets])
    np.testing.assert_allclose(curve["value"].to_numpy(), ref, rtol=0, atol=1e-8)
    # spend within budget, shares sum to one
    assert np.all(curve["spend"].to_numpy() <= budgets + 1e-12)
    shares = curve.filter(like="share_").to_numpy()
    np.testing.assert_allclose(shares.sum(axis=1), 1.0, atol=1e-12)
    assert np.all(shares >= -1e-12)
