"""Spec 002 section 8 group A: the DR formulas against hand-computed values."""

import numpy as np
import pytest

from skcrm.policy import (
    dr_policy_value,
    dr_scores,
    ipw_policy_value,
    pack_policy_target,
    unpack_policy_target,
)
from skcrm.policy._core import bootstrap_ci
from skcrm.utils import normal_ci

# Hand-built 5-row, K = 3 example (one arm with propensity 0.1).
MU = np.array([[1, 2, 3], [0, 1, 0], [2, 2, 2], [5, 4, 3], [1, 0, 1]], dtype=float)
A = np.array([0, 2, 1, 1, 0])
Y = np.array([2.0, 1.0, 3.0, 6.0, 0.0])
P_OBS = np.array([0.5, 0.1, 0.25, 0.2, 0.5])
# Gamma by hand: only the realised arm's entry moves by (y - mu) / p.
GAMMA = np.array([[3, 2, 3], [0, 1, 10], [2, 6, 2], [5, 14, 3], [-1, 0, 1]], dtype=float)


def _full_propensity():
    P = np.full((5, 3), np.nan)
    P[np.arange(5), A] = P_OBS
    others = (1 - P_OBS) / 2
    for i in range(5):
        P[i, [j for j in range(3) if j != A[i]]] = others[i]
    return P


def test_dr_scores_equal_eq19_by_hand():
    np.testing.assert_allclose(dr_scores(MU, A, Y, P_OBS), GAMMA, rtol=0, atol=1e-12)


def test_dr_scores_accept_full_propensity_matrix():
    np.testing.assert_allclose(dr_scores(MU, A, Y, _full_propensity()), GAMMA, atol=1e-12)


def test_dr_scores_equal_policytree_form():
    rng = np.random.default_rng(0)
    n, K = 200, 4
    mu = rng.normal(size=(n, K))
    a = rng.integers(0, K, n)
    y = rng.normal(size=n)
    P = rng.dirichlet(np.ones(K), n) * 0.9 + 0.1 / K
    YY = np.repeat(y[:, None], K, axis=1)
    ipw = np.zeros((n, K))
    ipw[np.arange(n), a] = 1 / P[np.arange(n), a]
    np.testing.assert_allclose(dr_scores(mu, a, y, P), (YY - mu) * ipw + mu, atol=1e-12)


def test_dr_policy_value_deterministic_equals_mean_of_chosen_scores():
    value, se, psi = dr_policy_value(GAMMA, np.array([2, 2, 1, 0, 2]))
    np.testing.assert_allclose(psi, [3, 10, 6, 5, 1])
    assert value == pytest.approx(5.0, abs=1e-12)
    assert se == pytest.approx(np.std([3, 10, 6, 5, 1], ddof=1) / np.sqrt(5), abs=1e-12)


def test_dr_policy_value_stochastic_equals_eq17_18():
    pi = np.array(
        [[0.2, 0.3, 0.5], [1, 0, 0], [0.1, 0.1, 0.8], [0.5, 0.5, 0], [1 / 3, 1 / 3, 1 / 3]]
    )
    direct = np.sum(pi * MU, axis=1)  # eq. 18
    correction = pi[np.arange(5), A] / P_OBS * (Y - MU[np.arange(5), A])
    value, _, _ = dr_policy_value(GAMMA, pi)
    assert value == pytest.approx(np.mean(direct + correction), abs=1e-12)


def test_value_of_always_a_is_mean_of_column_a():
    for a in range(3):
        assert dr_policy_value(GAMMA, np.full(5, a))[0] == pytest.approx(GAMMA[:, a].mean())


def test_ipw_hajek_and_horvitz_thompson_by_hand():
    always_1 = (A == 1).astype(float)
    # weights 1/0.25 = 4 and 1/0.2 = 5 on outcomes 3 and 6
    assert ipw_policy_value(Y, A, P_OBS, always_1) == pytest.approx(42 / 9, abs=1e-12)
    assert ipw_policy_value(Y, A, P_OBS, always_1, normalize=False) == pytest.approx(
        42 / 5, abs=1e-12
    )


def test_binary_cost_sensitive_identity_eq21():
    rng = np.random.default_rng(1)
    G = rng.normal(size=(300, 2))
    pi = rng.integers(0, 2, 300)
    lhs = np.mean((G[:, 1] - G[:, 0]) * (2 * pi - 1))
    v = dr_policy_value(G, pi)[0]
    rhs = 2 * v - dr_policy_value(G, np.zeros(300))[0] - dr_policy_value(G, np.ones(300))[0]
    assert lhs == pytest.approx(rhs, abs=1e-10)


def test_normal_ci_is_estimate_plus_minus_1_96_se():
    lo, hi = normal_ci(1.0, 0.5, alpha=0.05)
    assert lo == pytest.approx(1.0 - 1.959964 * 0.5, abs=1e-6)
    assert hi == pytest.approx(1.0 + 1.959964 * 0.5, abs=1e-6)


def test_bootstrap_ci_matches_normal_ci_for_a_large_sample():
    psi = np.random.default_rng(2).normal(3.0, 2.0, 5000)
    lo, hi = bootstrap_ci(psi, n_boot=2000, rng=0)
    nlo, nhi = normal_ci(psi.mean(), psi.std(ddof=1) / np.sqrt(5000))
    assert lo == pytest.approx(nlo, abs=0.01) and hi == pytest.approx(nhi, abs=0.01)


def test_pack_unpack_round_trip_every_form():
    y, a, p = np.array([1.5, 2.0, 3.0]), np.array([0, 2, 1]), np.array([0.5, 0.2, 0.3])
    P = np.array([[0.5, 0.3, 0.2], [0.4, 0.4, 0.2], [0.3, 0.3, 0.4]])
    for prop, shape in ((None, (3, 2)), (p, (3, 3)), (P, (3, 5))):
        packed = pack_policy_target(y, a, prop)
        assert packed.shape == shape
        y2, a2, p2 = unpack_policy_target(packed)
        np.testing.assert_array_equal(y2, y)
        np.testing.assert_array_equal(a2, a)
        assert a2.dtype == np.int64
        if prop is None:
            assert p2 is None
        else:
            np.testing.assert_array_equal(p2, prop)


def test_pack_rejects_string_treatment_and_bad_lengths():
    with pytest.raises(TypeError, match="treatment must be numeric"):
        pack_policy_target([1.0, 2.0], ["a", "b"])
    with pytest.raises(ValueError, match="treatment must be 1-D"):
        pack_policy_target([1.0, 2.0], [0, 1, 1])
    with pytest.raises(ValueError, match="propensity must have shape"):
        pack_policy_target([1.0, 2.0], [0, 1], [0.5])
    with pytest.raises(ValueError, match="packed target must be 2-D"):
        unpack_policy_target([1.0, 2.0])
