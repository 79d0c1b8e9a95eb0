"""Filtering and likelihood (spec §8 group B): exact references and brute force."""

import itertools

import numpy as np
import pytest

from skcrm.datasets import make_pomdp_crm
from skcrm.pomdp import learning_effect, learning_effect_argmax
from skcrm.pomdp._core import (
    belief_update,
    emission_likelihoods,
    forward_backward,
    forward_filter,
    log_likelihood,
    one_step_log_predictive,
    outcome_probability,
    predict_belief,
)


@pytest.fixture(scope="module")
def crm3():
    return make_pomdp_crm(n_customers=1, n_periods=1, random_state=0)[2]


@pytest.mark.parametrize(
    ("action", "outcome", "posterior", "prob"),
    [
        (2, 1, [0.223485, 0.776515], 0.2376),
        (2, 0, [0.863606, 0.136394], 0.6012),
        (1, 2, [0.217983, 0.782017], 0.07129),
        (0, 0, [0.943262, 0.056738], 0.88125),
    ],
)
def test_belief_update_matches_worked_crm3_examples(crm3, action, outcome, posterior, prob):
    b, p = belief_update(crm3.b0, crm3.Q, crm3.P, action, outcome)
    np.testing.assert_allclose(b, posterior, atol=1e-6)
    assert p == pytest.approx(prob, abs=1e-6)


def test_predicted_state_before_emission_is_b_times_q(crm3):
    np.testing.assert_allclose(predict_belief(crm3.b0, crm3.Q, 2), [0.59, 0.41], atol=1e-12)


def test_sequence_beliefs_and_log_likelihood_match_spec(crm3):
    actions, outcomes = np.array([[2, 2, 1]]), np.array([[0, 1, 2]])
    E = emission_likelihoods(crm3.P[None], actions, outcomes)
    alpha, log_c = forward_filter(crm3.b0[None], crm3.Q[None], E, actions)
    np.testing.assert_allclose(
        alpha[0, :, 0],
        [[0.863606, 0.136394], [0.208321, 0.791679], [0.029033, 0.970967]],
        atol=1e-6,
    )
    assert log_c.sum() == pytest.approx(-3.587832, abs=1e-6)


def test_missing_outcome_only_propagates_the_belief(crm3):
    b, p = belief_update(crm3.b0, crm3.Q, crm3.P, 2, np.nan)
    np.testing.assert_allclose(b, [0.59, 0.41], atol=1e-12)
    assert p == 1.0


def test_outcome_probabilities_sum_to_one(crm3):
    p = outcome_probability(np.array([[0.3, 0.7], [1.0, 0.0]]), crm3.Q, crm3.P, np.array([0, 2]))
    np.testing.assert_allclose(p.sum(1), 1.0, atol=1e-12)


def _table4():
    Q = np.array([[[0.9516, 0.0484], [0.8869, 0.1131]]])
    low = np.array([0.9531, 0.0346, 0.0084, 0.0033, 0.0005])
    high = np.array([0.0043, 0.2568, 0.4004, 0.2688, 0.0697])
    return Q, np.stack([low / low.sum(), high / high.sum()])[None]


def test_table4_stationary_state_incidence_and_posteriors():
    Q, P = _table4()
    stationary = 0.0484 / (0.0484 + 0.8869)
    pi = np.array([1 - stationary, stationary])
    np.testing.assert_allclose(pi @ Q[0], pi, atol=1e-12)
    assert stationary == pytest.approx(0.05175, abs=1e-4)
    incidence = 1 - (pi @ P[0])[0]
    assert incidence == pytest.approx(0.0960, abs=1e-4)
    post = [belief_update([1.0, 0.0], Q, P, 0, y)[0][1] for y in range(5)]
    np.testing.assert_allclose(post, [0.0002, 0.2740, 0.7080, 0.8056, 0.8764], atol=1e-4)


def test_proposition1_closed_form_equals_direct_belief_difference():
    rng = np.random.default_rng(0)
    phi, p1, p0 = rng.uniform(0.01, 0.99, (3, 200))
    direct = np.abs(phi * p1 / (phi * p1 + (1 - phi) * p0) - phi)
    np.testing.assert_allclose(learning_effect(phi, p1, p0), direct, atol=1e-12)


@pytest.mark.parametrize(
    ("p1", "p0", "phi_star", "maximum"), [(0.9, 0.1, 0.25, 0.5), (0.2568, 0.0346, 0.2685, 0.462990)]
)
def test_corrected_proposition3_argmax_and_maximum(p1, p0, phi_star, maximum):
    arg, top = learning_effect_argmax(p1, p0)
    assert arg == pytest.approx(phi_star, abs=1e-4)
    assert top == pytest.approx(maximum, abs=1e-6)
    grid = np.linspace(1e-6, 1 - 1e-6, 200_001)
    effect = learning_effect(grid, p1, p0)
    assert grid[effect.argmax()] == pytest.approx(arg, abs=1e-5)
    assert effect.max() == pytest.approx(top, abs=1e-9)


def test_dissertation_proposition3_points_to_the_wrong_side():
    # printed: phi/(1-phi) = sqrt(P1/P0) -> 0.75 for (0.9, 0.1); the effect there is smaller
    printed = 0.75
    assert learning_effect(printed, 0.9, 0.1) < learning_effect(0.25, 0.9, 0.1) - 0.1


def _random_model(rng, A=2, K=2, L=3):
    Q = rng.dirichlet(np.ones(K), size=(A, K))
    P = rng.dirichlet(np.ones(L), size=(A, K))
    pi = rng.dirichlet(np.ones(K))
    return pi, Q, P


def _brute_force_loglik(pi, Q, P, acts, ys):
    total = 0.0
    K = len(pi)
    for path in itertools.product(range(K), repeat=len(acts) + 1):
        p = pi[path[0]]
        for t, (a, y) in enumerate(zip(acts, ys, strict=True)):
            p *= Q[a, path[t], path[t + 1]]
            if y >= 0:
                p *= P[a, path[t + 1], y]
        total += p
    return np.log(total)


@pytest.mark.parametrize("K", [2, 3])
def test_forward_log_likelihood_equals_brute_force_path_sum(K):
    rng = np.random.default_rng(K)
    pi, Q, P = _random_model(rng, A=2, K=K, L=3)
    lengths = [1, 3, 6, 5]
    T = max(lengths)
    acts = np.full((len(lengths), T), -1)
    ys = np.full((len(lengths), T), -1)
    for n, length in enumerate(lengths):
        acts[n, :length] = rng.integers(0, 2, length)
        ys[n, :length] = rng.integers(0, 3, length)
    ys[3, 2] = -1  # a missing outcome
    ll = log_likelihood(pi, Q, P, acts, ys)
    for n, length in enumerate(lengths):
        ref = _brute_force_loglik(pi, Q, P, acts[n, :length], ys[n, :length])
        assert ll[n] == pytest.approx(ref, abs=1e-9)


def test_expected_counts_equal_brute_force_posteriors():
    rng = np.random.default_rng(7)
    pi, Q, P = _random_model(rng, A=2, K=2, L=2)
    acts = np.array([[0, 1, 1, 0]])
    ys = np.array([[1, 0, -1, 1]])
    E = emission_likelihoods(P[None], acts, ys)
    ll, sc, tc, ec = forward_backward(pi[None], Q[None], E, acts, ys, 2)
    # brute force: enumerate paths, weight by joint probability
    trans = np.zeros((2, 2, 2))
    emit = np.zeros((2, 2, 2))
    start = np.zeros(2)
    total = 0.0
    for path in itertools.product(range(2), repeat=5):
        p = pi[path[0]]
        for t in range(4):
            a, y = acts[0, t], ys[0, t]
            p *= Q[a, path[t], path[t + 1]] * (P[a, path[t + 1], y] if y >= 0 else 1)
        total += p
        start[path[0]] += p
        for t in range(4):
            a, y = acts[0, t], ys[0, t]
            trans[a, path[t], path[t + 1]] += p
            if y >= 0:
                emit[a, path[t + 1], y] += p
    assert ll[0] == pytest.approx(np.log(total), abs=1e-12)
    np.testing.assert_allclose(sc[0], start / total, atol=1e-12)
    np.testing.assert_allclose(tc[0], trans / total, atol=1e-12)
    np.testing.assert_allclose(ec[0], emit / total, atol=1e-12)


def test_one_step_predictive_sums_to_log_likelihood(crm3):
    acts = np.array([[2, 2, 1], [0, 1, -1]])
    ys = np.array([[0, 1, 2], [1, -1, -1]])
    pred = one_step_log_predictive(crm3.b0, crm3.Q, crm3.P, acts, ys)
    np.testing.assert_allclose(
        np.nansum(pred, 1), log_likelihood(crm3.b0, crm3.Q, crm3.P, acts, ys), atol=1e-12
    )
    assert np.isnan(pred[1, 1]) and np.isnan(pred[1, 2])
