"""Issue 12 item 5: the fused classic-model kernels (P(alive), E[X(t)]) on large RFM summaries.

Above 4,096 customers, plug-in P(alive) and E[X(t)] of a classic model (no attributes) on an RFM
summary run through one vectorised pass (:func:`skcrm.clv._likelihood.classic_rfm_alive`) and,
for beta dropout, a Chebyshev table of the Gauss hypergeometric closed form
(:func:`skcrm.clv._likelihood._bgnbd_expected_alive_fast`). They must give the general path's
answers (the general path is checked against 1-D quadrature in test_exact_horizon.py), refuse
the same inputs with the same messages, and hand anything unusual back to the general path.
"""

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, special

from skcrm.clv import AttributeBGNBD
from skcrm.clv import _likelihood as lik
from skcrm.datasets import load_cdnow

MODES = [("beta", False), ("beta", True), ("gamma", False), ("gamma", True)]


@pytest.fixture(scope="module")
def summary():
    return load_cdnow("summary")


@pytest.fixture(scope="module")
def big(summary):
    """CDNOW summary repeated to 7,071 rows (the kernels' sizes), with the same index."""
    return pd.concat([summary] * 3)


def _general(est, X, t=None):
    prep, hist, (c0, c1, _) = est._state(X)
    if t is None:
        return lik.probability_alive(*hist, *est._args())
    return lik.conditional_expected_transactions(
        t, *hist, *est._args(), c0, c1, est.posterior_indexing
    )


@pytest.mark.parametrize("mixing,after_first", MODES)
def test_fused_equals_general_path(summary, big, mixing, after_first):
    est = AttributeBGNBD(dropout_mixing=mixing, dropout_after_first=after_first).fit(summary)
    n, R, A = big.to_numpy(dtype=float).T
    params = est.params_.to_numpy()
    assert lik.classic_rfm_alive(n, R, A, *params, mixing, after_first) is not None
    if mixing == "beta":
        V = n + 1.0 if after_first else n
        assert lik._bgnbd_expected_alive_fast(39.0, n, A, V, *params) is not None
    got = est.probability_alive(big)
    assert isinstance(got, pd.Series) and got.index.equals(big.index)
    np.testing.assert_allclose(got.to_numpy(), _general(est, big), rtol=1e-12)
    arr = big.to_numpy()
    np.testing.assert_allclose(est.probability_alive(arr), got.to_numpy(), rtol=1e-15)
    for t in (0.05, 1.0, 39.0, 52.0, 1e3, 1e6):
        got = est.conditional_expected_transactions(big, t)
        assert got.index.equals(big.index)
        np.testing.assert_allclose(got.to_numpy(), _general(est, big, t), rtol=1e-10)


def test_table_against_quadrature_long_horizon(summary):
    """x up to 1e4 and t = 1e6 through the table (many pieces, many counts) vs 1-D quad."""
    est = AttributeBGNBD(dropout_mixing="beta", dropout_after_first=False).fit(summary)
    r, alpha, a, b = est.params_.to_numpy()
    rng = np.random.default_rng(0)
    n = np.tile([0.0, 1.0, 2.0, 20.0, 1e4], 1000)
    A = rng.uniform(1.0, 200.0, n.size)
    R = np.where(n > 0, A * rng.uniform(0.0, 1.0, n.size), 0.0)
    X = np.column_stack([n, R, A])
    for t in (2.6e3, 1e6):
        assert lik._bgnbd_expected_alive_fast(t, n, A, n, r, alpha, a, b) is not None
        got = est.conditional_expected_transactions(X, t)
        pa = est.probability_alive(X)
        for i in range(0, n.size, 499):
            m, kap, bp = r + n[i], t / (alpha + A[i]), b + n[i]

            def f(p, m=m, kap=kap, bp=bp):
                dens = np.exp((a - 1) * np.log(p) + (bp - 1) * np.log1p(-p) - special.betaln(a, bp))
                return dens * -np.expm1(-m * np.log1p(kap * p)) / p

            pts = [min(0.5, (alpha + A[i]) / t), min(0.9, a / (a + bp))]
            ref, _ = integrate.quad(f, 0, 1, limit=1000, epsabs=0, epsrel=1e-12, points=pts)
            assert got[i] == pytest.approx(pa[i] * ref, rel=1e-6)


@pytest.mark.parametrize(
    "row,message",
    [
        ((np.nan, 0.0, 10.0), "NaN"),
        ((1.0, np.inf, 10.0), "infinity"),
        ((-1.0, 0.0, 10.0), "must be >= 0"),
        ((2.0, 11.0, 10.0), "recency"),
        ((2.0, -1.0, 10.0), "recency"),
        ((0.0, 3.0, 10.0), "= 0 must have"),
    ],
)
def test_fused_refuses_the_same_inputs(summary, big, row, message):
    est = AttributeBGNBD(dropout_mixing="beta", dropout_after_first=False).fit(summary)
    X = big.to_numpy().copy()
    X[4000] = row
    with pytest.raises(ValueError, match=message):
        est.probability_alive(X)
    with pytest.raises(ValueError, match=message):
        est.conditional_expected_transactions(X, 39.0)


def test_fractional_count_takes_the_general_path(summary, big):
    est = AttributeBGNBD(dropout_mixing="beta", dropout_after_first=False).fit(summary)
    X = big.to_numpy().copy()
    X[17] = (0.5, 3.0, 30.0)
    got = est.probability_alive(X)
    np.testing.assert_allclose(got, _general(est, X), rtol=1e-14)
    assert lik.classic_rfm_alive(*X.T, *est.params_.to_numpy(), "beta", False) is None


def test_feature_names_still_checked(summary, big):
    est = AttributeBGNBD(dropout_mixing="beta", dropout_after_first=False).fit(summary)
    with pytest.warns(UserWarning, match="feature names"):
        est.probability_alive(big[["frequency", "recency", "T"]].to_numpy())
    with pytest.raises(ValueError):
        est.probability_alive(big.to_numpy()[:, :2])


def test_path_accumulator_equals_summed_heads():
    """The in-place bootstrap accumulator (gamma mixing) equals path_survival_head, summed."""
    rng = np.random.default_rng(3)
    m, J, s, b = 50, 17, 1.1, 1.15
    V = rng.integers(0, 8, m).astype(float)
    pool_lq = rng.normal(size=40) * 0.5
    acc = lik.GammaPathAccumulator(V, np.exp(pool_lq), s, b)
    total = 0.0
    for p in range(4):
        idx = rng.integers(0, pool_lq.size, (m, J))
        ratio, b_end, q_mean = lik.path_survival_head(V, pool_lq[idx], s, b, "gamma")
        got_b, got_q = acc.add(idx, keep_tail=p < 2)
        if p < 2:
            np.testing.assert_allclose(got_b, b_end, rtol=1e-14)
            np.testing.assert_allclose(got_q, q_mean, rtol=1e-14)
        else:
            assert got_b is None
        total = total + ratio
    np.testing.assert_allclose(acc.mean(), total / 4, rtol=1e-13)


@pytest.mark.parametrize("K", [1, 2, 7, 64, 1000])
def test_blocked_power_series_equals_direct_sum(K):
    rng = np.random.default_rng(K)
    y = rng.uniform(0.5, 0.999, (3, 5))
    w = rng.uniform(0.0, 1.0, (3, K))
    k = np.arange(1, K + 1)
    direct = np.einsum("ck,cnk->cn", w, y[:, :, None] ** k[None, None, :])
    np.testing.assert_allclose(lik._power_series(y, w), direct, rtol=1e-12)


def test_nullable_columns_keep_the_general_message(summary, big):
    est = AttributeBGNBD(dropout_mixing="beta", dropout_after_first=False).fit(summary)
    X = big.reset_index(drop=True).astype({"frequency": "Int64"})
    X.loc[4000, "frequency"] = pd.NA
    with pytest.raises(ValueError, match="NaN"):
        est.probability_alive(X)
