"""The math core of the surrogate index against hand computations and exact identities."""

import numpy as np
import pytest

from skcrm.surrogate._core import (
    arm_contrasts,
    athey_bias_bound,
    hajek_arm_influence,
    outside_support_fraction,
    r2_score_1d,
    support_bounds,
)


def test_hajek_means_by_hand_and_horvitz_thompson():
    y = np.array([1.0, 3.0, 5.0, 2.0])
    arm = np.array([0, 1, 1, 0])
    p = np.array([0.5, 0.5, 0.25, 0.8])
    means, psi = hajek_arm_influence(y, arm, p, 2)
    assert means[0] == pytest.approx((1 / 0.5 + 2 / 0.8) / (1 / 0.5 + 1 / 0.8), abs=1e-12)
    assert means[1] == pytest.approx((3 / 0.5 + 5 / 0.25) / (1 / 0.5 + 1 / 0.25), abs=1e-12)
    np.testing.assert_allclose(psi.mean(axis=0), means, atol=1e-12)
    ht, _ = hajek_arm_influence(y, arm, p, 2, normalize=False)
    np.testing.assert_allclose(ht, [(1 / 0.5 + 2 / 0.8) / 4, (3 / 0.5 + 5 / 0.25) / 4], atol=1e-12)


def test_hajek_with_constant_propensity_is_difference_in_means():
    rng = np.random.default_rng(2)
    y, arm = rng.normal(size=200), rng.integers(0, 2, 200)
    _, psi = hajek_arm_influence(y, arm, np.full(200, 0.3), 2)
    effect, _ = arm_contrasts(psi)
    assert effect[1] == pytest.approx(y[arm == 1].mean() - y[arm == 0].mean(), abs=1e-12)


def test_hajek_standard_error_matches_jackknife():
    rng = np.random.default_rng(3)
    n = 400
    x = rng.normal(size=n)
    p1 = 1 / (1 + np.exp(-x))
    arm = (rng.uniform(size=n) < p1).astype(int)
    p = np.where(arm == 1, p1, 1 - p1)
    y = 2 + x + arm * (1 + x) + rng.normal(size=n)
    _, psi = hajek_arm_influence(y, arm, p, 2)
    _, se = arm_contrasts(psi)
    keep = ~np.eye(n, dtype=bool)
    loo = np.array([np.diff(hajek_arm_influence(y[k], arm[k], p[k], 2)[0])[0] for k in keep])
    jack_se = np.sqrt((n - 1) / n * np.sum((loo - loo.mean()) ** 2))
    assert se[1] == pytest.approx(jack_se, rel=0.03)


def test_arm_contrast_standard_error_is_sd_over_root_n():
    psi = np.array([[0.0, 1.0, 2.0], [0.0, 3.0, 2.0], [1.0, 2.0, 4.0]])
    effect, se = arm_contrasts(psi, control=0)
    d = psi[:, 1] - psi[:, 0]
    assert effect[1] == pytest.approx(d.mean())
    assert se[1] == pytest.approx(d.std(ddof=1) / np.sqrt(3))
    assert effect[0] == 0 and se[0] == 0


def _ols_fit(Z, v):
    Z1 = np.column_stack([np.ones(len(Z)), Z])
    return Z1 @ np.linalg.lstsq(Z1, v, rcond=None)[0]


def _bias_and_bound(S, A, Y):
    """Sample bias of the (OLS) surrogate-index ATE and eq. 31 with in-sample R2s."""
    y_hat, a_hat = _ols_fit(S, Y), _ols_fit(S, A)
    dm = lambda v: v[A == 1].mean() - v[A == 0].mean()  # noqa: E731
    bias = dm(Y) - dm(y_hat)
    bound = athey_bias_bound(
        Y.var(), A.var(), r2_score_1d(Y, y_hat), r2_score_1d(A.astype(float), a_hat)
    )
    return bias, bound


def test_bias_bound_eq31_holds_when_surrogacy_fails():
    rng = np.random.default_rng(4)
    for direct in (0.3, -1.0, 2.0):
        S = rng.normal(size=(2000, 3))
        A = (rng.uniform(size=2000) < 1 / (1 + np.exp(-S[:, 0]))).astype(float)
        Y = S @ np.array([1.0, -2.0, 0.5]) + direct * A + rng.normal(size=2000)
        bias, bound = _bias_and_bound(S, A, Y)
        assert abs(bias) > 0.05  # the violation matters
        assert abs(bias) <= bound


def test_bias_bound_eq31_is_attained_when_the_residual_is_the_treatment_residual():
    # Cauchy-Schwarz is tight iff Y - E[Y|S] is proportional to A - E[A|S]
    rng = np.random.default_rng(5)
    S = rng.normal(size=(3000, 2))
    A = (rng.uniform(size=3000) < 1 / (1 + np.exp(-S[:, 1]))).astype(float)
    r_a = A - _ols_fit(S, A)
    Y = 3 * S[:, 0] - S[:, 1] + 1.7 * r_a
    bias, bound = _bias_and_bound(S, A, Y)
    assert abs(bias) == pytest.approx(bound, rel=1e-10)


def test_bias_bound_eq32_is_vectorised_per_cell():
    out = athey_bias_bound([100.0, 4.0], [0.25, 0.16], [0.9, 0.0], [0.6, 0.75])
    np.testing.assert_allclose(out, [4.0, np.sqrt(4 / 0.16 * 0.25)], rtol=1e-12)


def test_bias_bound_rejects_bad_inputs():
    with pytest.raises(ValueError, match="var_a"):
        athey_bias_bound(1.0, 0.0, 0.5, 0.5)
    with pytest.raises(ValueError, match="r2_y_s"):
        athey_bias_bound(1.0, 0.25, 1.5, 0.5)


def test_negative_r2_counts_as_nothing_explained():
    assert athey_bias_bound(1.0, 0.25, -0.3, 0.0) == pytest.approx(2.0)


def test_support_bounds_and_outside_fraction():
    ref = np.column_stack([np.arange(1001.0), np.arange(1001.0) * 2])
    bounds = support_bounds(ref)
    np.testing.assert_allclose(bounds, [[5.0, 10.0], [995.0, 1990.0]])
    vals = np.array([[4.0, 10.0], [500.0, 2000.0], [996.0, np.nan], [6.0, 9.0]])
    np.testing.assert_allclose(outside_support_fraction(vals, bounds), [0.5, 0.5])


def test_r2_of_constant_outcome_follows_sklearn():
    assert r2_score_1d(np.ones(3), np.ones(3)) == 1.0
    assert r2_score_1d(np.ones(3), np.zeros(3)) == 0.0
