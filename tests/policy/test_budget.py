"""budget_curve: the exact LP path against scipy linprog, one LP per budget."""

import numpy as np
import pandas as pd
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


def test_budget_curve_hand_example_and_inputs():
    # two customers, one arm of cost 1: the better customer first, then the other
    curve = budget_curve(np.array([[2.0], [1.0]]), [1.0], [0.0, 0.25, 0.5, 1.0, 3.0])
    np.testing.assert_allclose(curve["value"], [0.0, 0.5, 1.0, 1.5, 1.5])
    np.testing.assert_allclose(curve["spend"], [0.0, 0.25, 0.5, 1.0, 1.0])
    np.testing.assert_allclose(curve["share_1"], [0.0, 0.25, 0.5, 1.0, 1.0])
    frame = pd.DataFrame({"mens": [1.0, -1.0], "womens": [0.5, 2.0]})
    named = budget_curve(frame, [1.0, 1.0], [10.0], control_name="none")
    assert list(named.columns) == [
        "value",
        "std_error",
        "spend",
        "share_none",
        "share_mens",
        "share_womens",
    ]
    assert named["value"].iloc[0] == pytest.approx(1.5)
    with pytest.raises(ValueError, match="strictly positive"):
        budget_curve(frame, [1.0, 0.0], [1.0])
    with pytest.raises(ValueError, match="budgets"):
        budget_curve(frame, [1.0, 1.0], [-1.0])


def test_scores_evaluate_the_allocation_chosen_by_gains():
    rng = np.random.default_rng(0)
    gains = rng.normal(size=(200, 2))
    scores = gains + rng.normal(size=(200, 2))
    budgets = [0.1, 0.5, 2.0]
    curve = budget_curve(gains, [1.0, 2.0], budgets, scores=scores)
    own = budget_curve(gains, [1.0, 2.0], budgets)
    # the same allocation (shares, spend), values from the scores
    np.testing.assert_allclose(curve["spend"], own["spend"])
    np.testing.assert_allclose(curve.filter(like="share"), own.filter(like="share"))
    assert not np.allclose(curve["value"], own["value"])


@pytest.fixture(scope="module")
def fitted():
    from sklearn.ensemble import HistGradientBoostingRegressor

    from skcrm.datasets import make_surrogate_targeting
    from skcrm.policy import DRPolicyClassifier

    d = make_surrogate_targeting(10, 3000, n_actions=4, random_state=0)
    pol = DRPolicyClassifier(
        HistGradientBoostingRegressor(max_iter=30, random_state=0), control=0, random_state=0
    ).fit(d.X[:2000], d.y_long[:2000], treatment=d.treatment[:2000], propensity=d.propensity[:2000])
    return d, pol


def test_estimator_budget_curve_uses_predicted_gains_and_dr_scores(fitted):
    d, pol = fitted
    budgets = np.linspace(0, 1.5, 7)
    costs = {1: 1.0, 2: 1.5, 3: 2.0}
    curve = pol.budget_curve(budgets=budgets, costs=costs)  # out of fold
    mu, G = pol.mu_hat_, pol.dr_scores_
    ref = budget_curve(mu[:, 1:] - mu[:, :1], [1.0, 1.5, 2.0], budgets, scores=G[:, 1:] - G[:, :1])
    np.testing.assert_allclose(curve.to_numpy(), ref.to_numpy(), atol=1e-12)
    held = pol.budget_curve(
        d.X[2000:],
        d.y_long[2000:],
        treatment=d.treatment[2000:],
        propensity=d.propensity[2000:],
        budgets=budgets,
        costs=[1.0, 1.5, 2.0],
    )
    gains = pol.predict_value(d.X[2000:])
    S = pol.dr_scores(
        d.X[2000:], d.y_long[2000:], treatment=d.treatment[2000:], propensity=d.propensity[2000:]
    )
    ref = budget_curve(gains, [1.0, 1.5, 2.0], budgets, scores=S[:, 1:] - S[:, :1])
    np.testing.assert_allclose(held.to_numpy(), ref.to_numpy(), atol=1e-12)
    with pytest.raises(ValueError, match="strictly positive"):
        pol.budget_curve(costs=[1.0, -1.0, 1.0])


def test_plots_return_axes(fitted):
    import matplotlib

    matplotlib.use("Agg")
    from skcrm.policy.plotting import plot_budget_curve, plot_toc, toc_curve

    d, pol = fitted
    ax = plot_budget_curve(pol.budget_curve())
    assert ax.get_xlabel().startswith("budget")
    ax = plot_toc(pol, arm=2, kind="qini")
    assert ax.get_title() == "Qini curve"
    rng = np.random.default_rng(0)
    s = rng.normal(size=50)
    toc = toc_curve(rng.normal(size=50), s, fractions=[0.5, 1.0])
    assert toc["toc"].iloc[-1] == pytest.approx(0.0, abs=1e-12)
    assert toc["qini"].iloc[-1] == pytest.approx(s.mean())


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), m=st.integers(1, 4), per_customer=st.booleans())
def test_budget_curve_invariant_to_row_and_arm_order(seed, m, per_customer):
    rng = np.random.default_rng(seed)
    n = 40
    G = rng.normal(0.3, 1.0, size=(n, m))
    C = rng.uniform(0.2, 2.0, size=(n, m) if per_customer else m)
    budgets = np.linspace(0, 1.5, 7)
    ref = budget_curve(G, C, budgets)
    rows = rng.permutation(n)
    arms = rng.permutation(m)
    Cp = C[rows][:, arms] if per_customer else C[arms]
    other = budget_curve(G[rows][:, arms], Cp, budgets)
    np.testing.assert_allclose(other["value"], ref["value"], atol=1e-10)
    np.testing.assert_allclose(other["spend"], ref["spend"], atol=1e-10)
    # duplicating every customer leaves the per-customer curve unchanged
    Cd = np.vstack([C, C]) if per_customer else C
    dup = budget_curve(np.vstack([G, G]), Cd, budgets)
    np.testing.assert_allclose(dup["value"], ref["value"], atol=1e-10)
