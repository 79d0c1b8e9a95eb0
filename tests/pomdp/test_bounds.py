"""The bounded solver's parts: sawtooth upper bound, its pruning, the controller
evaluation of the lower bound, and the bracket at beliefs other than the start."""

from pathlib import Path

import numpy as np
import pytest

from skcrm.pomdp import _bounds, read_pomdp
from skcrm.pomdp._solver import simulate_policy

DATA = Path(__file__).parent / "data"


def _model(name):
    m, b0 = read_pomdp(DATA / f"{name}.POMDP")
    return m.transition, m.emission, m.reward, m.discount, b0


def test_sawtooth_matches_a_brute_force_formula_and_pruning_changes_nothing():
    rng = np.random.default_rng(0)
    K, A = 5, 3
    Qf = rng.uniform(5, 10, size=(K, A))
    ub = _bounds.UpperBound(Qf)
    pts = rng.dirichlet(np.full(K, 0.5), size=60)
    pts[:10, :2] = 0.0  # points off part of the simplex
    pts /= pts.sum(1, keepdims=True)
    vals = (pts @ Qf).max(1) - rng.uniform(0, 3, size=60)
    ub.add(pts, vals)
    B = rng.dirichlet(np.full(K, 0.7), size=200)
    B[:50, 3] = 0.0
    B /= B.sum(1, keepdims=True)
    # brute force: min(FIB, b.c + min_i (v_i - p_i.c) min_{s in supp p_i} b_s / p_is)
    c = Qf.max(1)
    P, v = ub.points, ub.values
    ratio = np.array([[np.min(b[p > 0] / p[p > 0]) for p in P] for b in B])
    saw = B @ c + np.min(ratio * np.minimum(v - P @ c, 0), 1)
    expected = np.minimum(saw, (B @ Qf).max(1))
    np.testing.assert_allclose(ub(B), expected, rtol=1e-12, atol=1e-12)
    n_before = ub.n
    ub.prune()
    assert ub.n < n_before  # the random points imply one another often
    np.testing.assert_allclose(ub(B), expected, rtol=1e-12, atol=1e-12)
    assert np.all(ub(pts) <= vals + 1e-9)  # every point's value is still implied


def test_controller_evaluation_gives_values_of_the_policy_it_describes():
    # cheese: one trial and one exact evaluation close the gap (the lower bound alone,
    # without evaluation, takes ~20 trials); the vectors must still be policy values,
    # so the simulated value of the greedy policy matches the lower bound at b0
    Q, P, R, g, b0 = _model("cheese.95")
    r = _bounds.solve_bounded(Q, P, R, g, b0, tol=1e-6)
    assert r["converged"] and r["n_trials"] <= 3
    G, acts = r["alpha_vectors"], r["alpha_actions"]

    def policy(B):
        return acts[(B @ G.T).argmax(1)]

    mean, se = simulate_policy(
        policy, Q, P, b0, Q, P, R, b0, g, n_customers=4000, horizon=300, random_state=0
    )
    assert abs(mean - r["lower"]) < 4 * se
    slow = _bounds.solve_bounded(Q, P, R, g, b0, tol=1e-6, evaluate=False)
    assert slow["n_trials"] > r["n_trials"]
    assert slow["lower"] <= r["upper"] and r["lower"] <= slow["upper"]


@pytest.mark.parametrize("name", ["tiger.95", "shuttle.95", "paint.95"])
def test_bracket_holds_at_every_stored_belief(name):
    # lower <= upper everywhere the solver has been, and the lower bound is the value
    # of a policy (checked against Monte Carlo on the true chain at b0)
    Q, P, R, g, b0 = _model(name)
    r = _bounds.solve_bounded(Q, P, R, g, b0, tol=1e-4)
    B = r["belief_points"]
    lo = (B @ r["alpha_vectors"].T).max(1)
    up = r["upper_bound"](B)
    assert np.all(lo <= up + 1e-9 * np.maximum(1, np.abs(up)))


def test_trials_respect_the_time_budget():
    Q, P, R, g, b0 = _model("network")
    r = _bounds.solve_bounded(Q, P, R, g, b0, tol=1e-9, max_time=0.3, polish=False)
    assert r["stopped_by"] == "max_time" and not r["converged"]
    assert r["lower"] < r["upper"]


def _expectimax_upper(Q, P, R, g, b, depth, Qf):
    """Depth-limited exact lookahead with the fast informed bound at the leaves.

    ``V*(b) <= max_a [b.R_a + g sum_y Pr(y|b,a) U(b'_ay)]`` for any upper bound U, so the
    tree value is an upper bound of V*(b) computed without the solver's sawtooth.
    """
    B = np.atleast_2d(b)  # (n, K) unnormalised beliefs (probability mass included)
    if depth == 0:
        return (B @ Qf).max(1)
    A, K, L = P.shape
    W = np.einsum("asz,azy->aysz", Q, P)  # (A, L, K, K')
    nxt = np.einsum("nk,aykz->nayz", B, W)  # unnormalised successors
    vals = _expectimax_upper(Q, P, R, g, nxt.reshape(-1, K), depth - 1, Qf)
    return (B @ R + g * vals.reshape(len(B), A, L).sum(2)).max(1)


@pytest.mark.slow
@pytest.mark.parametrize(("name", "depth"), [("4x3.95", 3), ("network", 5)])
def test_bounds_against_checks_independent_of_the_solver(name, depth):
    # upper: the solver's upper bound must not be below a Monte Carlo estimate of its own
    # policy's value (simulated on the true chain); lower: it must not exceed an exact
    # expectimax tree with fast-informed-bound leaves (no sawtooth involved), and the
    # simulated value of the policy must match it (it is that policy's value)
    Q, P, R, g, b0 = _model(name)
    r = _bounds.solve_bounded(Q, P, R, g, b0, tol=1e-3)
    assert r["converged"]
    Qf = _bounds.fast_informed_bound(Q, P, R, g)
    tree = float(_expectimax_upper(Q, P, R, g, b0, depth, Qf)[0])
    assert r["lower"] <= tree
    G, acts = r["alpha_vectors"], r["alpha_actions"]

    def policy(B):
        return acts[(B @ G.T).argmax(1)]

    mean, se = simulate_policy(
        policy, Q, P, b0, Q, P, R, b0, g, n_customers=20_000, horizon=400, random_state=1
    )
    assert mean <= r["upper"] + 4 * se
    assert abs(mean - r["lower"]) < 4 * se + 1e-3 * abs(r["lower"])
