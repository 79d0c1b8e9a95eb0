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


# ---------------------------------------------------------------- speed work (issue 12, item 5)
def _log_space_alive(n, R, A, r, alpha, d1, d2, mixing, after_first):
    """Eq. (5) per customer in 50-digit decimal arithmetic, from first principles:
    ``P = 1 / (1 + k E)``, ``E = exp((r + n) ln((alpha + A)/(alpha + R)))``, ``k = S(U)/S(V) - 1``
    with the beta (``B(a, b + B)/B(a, b)``, V = U + 1: ``a/(b + U)``) or gamma
    (``(b/(b + B))**s``) survival."""
    from decimal import Decimal, localcontext

    out = []
    with localcontext() as ctx:
        ctx.prec = 50
        r_, al, p1, p2 = (Decimal(float(v)) for v in (r, alpha, d1, d2))
        for x, rec, age in zip(np.atleast_1d(n), np.atleast_1d(R), np.atleast_1d(A), strict=True):
            x, rec, age = Decimal(float(x)), Decimal(float(rec)), Decimal(float(age))
            U = x if after_first else max(x - 1, Decimal(0))
            V = x + 1 if after_first else x
            if V == U:
                k = Decimal(0)
            elif mixing == "beta":
                k = p1 / (p2 + U)
            else:
                k = (((p2 + V) / (p2 + U)).ln() * p1).exp() - 1
            E = (((al + age) / (al + rec)).ln() * (r_ + x)).exp()
            out.append(float(1 / (1 + k * E)))
    return np.array(out)


@pytest.mark.parametrize("mixing,after_first", MODES)
def test_fused_alive_equals_log_space_formula_on_edge_cases(mixing, after_first):
    """x = 0, recency = T, T = 0, huge x (E near the overflow guard), one pass each way."""
    r, alpha, d1, d2 = 0.243, 4.41, 0.793, 2.43
    rows = [
        (0.0, 0.0, 0.0),  # T = 0
        (0.0, 0.0, 30.0),  # x = 0: P = 1 in BG/NBD mode
        (3.0, 30.0, 30.0),  # recency = T: E = 1
        (3.0, 0.0, 30.0),
        (1.0, 1e-9, 1e6),
        (150.0, 10.0, 39.0),  # huge x: ln E = 204
        (1e4, 199.0, 200.0),  # huge x, recency close to T
        (1e4, 200.0, 200.0),
        (2.5, 7.0, 39.0),  # fractional count above 1
    ]
    X = np.array(rows * 700)  # 6,300 customers: the estimator takes the fused pass
    n, R, A = X.T
    got = lik.classic_rfm_alive(n, R, A, r, alpha, d1, d2, mixing, after_first)
    assert got is not None
    ref = np.tile(_log_space_alive(*np.array(rows).T, r, alpha, d1, d2, mixing, after_first), 700)
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=0)
    if not after_first:
        assert np.all(got[n == 0] == 1.0)
    # the same through the estimator on a DataFrame with an integer count column, and on a
    # C-ordered array (strided columns)
    est = AttributeBGNBD(dropout_mixing=mixing, dropout_after_first=after_first)
    est.fit(load_cdnow("summary"))
    r, alpha, d1, d2 = est.params_.to_numpy()
    rows_int = [(round(x) if x != 2.5 else 2, rec, age) for x, rec, age in rows]
    ref = np.tile(_log_space_alive(*np.array(rows).T, r, alpha, d1, d2, mixing, after_first), 700)
    ref_int = np.tile(
        _log_space_alive(*np.array(rows_int).T, r, alpha, d1, d2, mixing, after_first), 700
    )
    frame = pd.DataFrame(np.array(rows_int * 700), columns=["frequency", "recency", "T"])
    frame["frequency"] = frame["frequency"].astype(np.int64)  # an integer count column
    np.testing.assert_allclose(est.probability_alive(frame).to_numpy(), ref_int, rtol=1e-12)
    np.testing.assert_allclose(est.probability_alive(np.ascontiguousarray(X)), ref, rtol=1e-12)


def test_fractional_count_under_gamma_mixing_takes_the_general_path(summary, big):
    """Counts in (0, 1): E uses A, not A * min(n, 1) (the fused pass once got 0.774 here
    for 0.714)."""
    est = AttributeBGNBD(dropout_mixing="gamma", dropout_after_first=False).fit(summary)
    X = big.to_numpy().copy()
    X[17] = (0.5, 0.0, 10.0)
    assert lik.classic_rfm_alive(*X.T, *est.params_.to_numpy(), "gamma", False) is None
    got = est.probability_alive(X)
    np.testing.assert_allclose(got, _general(est, X), rtol=1e-14)
    ref = _log_space_alive(0.5, 0.0, 10.0, *est.params_.to_numpy(), "gamma", False)
    assert got[17] == pytest.approx(ref[0], rel=1e-12)
    assert abs(got[17] - 0.774) > 0.03


def _bootstrap_reference(pool_q, V, s, b, counts, starts, J, n_paths, seed):
    """The accumulator's draws re-created index by index, summed with path_survival_head."""
    rng = np.random.default_rng(seed)
    single = counts == 1
    big = int(np.argmax(counts))
    shared = (counts == counts[big]) & (starts == starts[big]) & ~single
    rand = ~single & ~shared
    total, tails = 0.0, []
    for _ in range(n_paths):
        idx = np.empty((counts.size, J), dtype=np.int64)
        idx[single] = starts[single, None]
        if shared.any():
            G = min(lik._SHARED_GROUPS, int(shared.sum()))
            raw = rng.bit_generator.random_raw(-(-J * G // 2)).view(np.uint32)[: J * G]
            u = raw.reshape(J, G).astype(np.int64)
            group = np.arange(int(shared.sum())) % G  # customers dealt by position
            idx[shared] = ((u * counts[big] >> 32) + starts[big])[:, group].T
        mr = int(rand.sum())
        if mr:
            raw = rng.bit_generator.random_raw(-(-J * mr // 2)).view(np.uint32)[: J * mr]
            u = raw.reshape(J, mr).astype(np.int64)
            idx[rand] = ((u * counts[rand] >> 32) + starts[rand]).T
        assert np.all((idx >= starts[:, None]) & (idx < (starts + counts)[:, None]))
        ratio, b_end, q_mean = lik.path_survival_head(V, np.log(pool_q[idx]), s, b, "gamma")
        total = total + ratio
        tails.append((b_end, q_mean))
    return total / n_paths, tails


@pytest.mark.parametrize("groups", [4, 64])
def test_bootstrap_accumulator_equals_path_heads_of_its_draws(monkeypatch, groups):
    """Job-major draws, grouped shared paths for the largest pool, fixed single-job pools:
    the same ratios as path_survival_head on the indices those draws give."""
    monkeypatch.setattr(lik, "_SHARED_GROUPS", groups)
    rng = np.random.default_rng(5)
    m, J, s, b, size = 60, 9, 1.1, 1.15, 50
    V = rng.uniform(0.0, 8.0, m)
    pool_q = np.exp(rng.normal(size=size) * 0.5)
    counts = rng.integers(1, 6, m)
    starts = rng.integers(0, size - 6, m)
    counts[::4], starts[::4] = size, 0  # the population's pool
    counts[1::7] = 1
    for J_ in (J, 0):
        acc = lik.GammaPathAccumulator(V, pool_q, s, b)
        gen = np.random.default_rng(11)
        tails = [acc.add_bootstrap(gen, counts, starts, J_, keep_tail=p < 2) for p in range(5)]
        ref, ref_tails = _bootstrap_reference(pool_q, V, s, b, counts, starts, J_, 5, 11)
        np.testing.assert_allclose(acc.mean(), ref, rtol=1e-13)
        for (got_b, got_q), (b_end, q_mean) in zip(tails[:2], ref_tails[:2], strict=True):
            np.testing.assert_allclose(got_b, b_end, rtol=1e-13)
            np.testing.assert_allclose(got_q, q_mean, rtol=1e-13)
        assert tails[2] == (None, None)


def test_bootstrap_indices_are_uniform_within_each_pool():
    """Multiply-shift of 32-bit draws: each job of a 3-job pool about 1/3 of the time."""
    pool_q = np.array([1.0, 2.0, 4.0, 8.0])
    counts = np.array([3, 3, 4])  # customer 2 holds the shared (largest) pool
    starts = np.array([1, 0, 0])
    acc = lik.GammaPathAccumulator(np.zeros(3), pool_q, 1.0, 1.0)
    gen = np.random.default_rng(0)
    qbar = np.array([acc.add_bootstrap(gen, counts, starts, 1, True)[1] for _ in range(30000)])
    for c, jobs in ((0, [2.0, 4.0, 8.0]), (1, [1.0, 2.0, 4.0]), (2, [1.0, 2.0, 4.0, 8.0])):
        freq = np.array([(qbar[:, c] == q).mean() for q in jobs])
        np.testing.assert_allclose(freq, 1 / len(jobs), atol=0.012)


@pytest.mark.parametrize("weights", [False, True])
def test_classic_objective_equals_the_general_objective(summary, weights):
    """The grouped classic objective (unit weights skip the products) is Eq. (3)."""
    from skcrm.clv import _solver

    est = AttributeBGNBD(dropout_mixing="beta", dropout_after_first=False)
    H = est._prepare(summary, fit=True)["H"]
    if weights:
        H.weight = np.random.default_rng(0).integers(1, 4, H.n.size).astype(float)
    Hc = H.compress()
    assert Hc.unique is not None and Hc.unique[3] == (not weights)
    for mixing in ("beta", "gamma"):
        for theta in (np.log([0.24, 4.4, 0.79, 2.4]), np.log([2.0, 0.3, 5.0, 0.1])):
            f, g = _solver.objective(theta, Hc, mixing)
            H0 = _solver.Histories(
                H.n,
                H.R,
                H.A,
                H.weight,
                *_solver.cumulative_multipliers(H, [])[:2],
                H.job_customer[:0],
                np.zeros((0, 0)),
                H.job_last[:0],
            )
            f0, g0 = _solver.objective(theta, H0, mixing)
            assert f == pytest.approx(f0, rel=1e-12)
            np.testing.assert_allclose(g, g0, rtol=1e-9, atol=1e-12)


def test_fit_reuses_the_optimizers_value_and_gradient():
    """log_likelihood_ from the optimizer's last value equals Eq. (3) summed afresh, and the
    standard errors equal a Hessian built from a freshly computed gradient (> 200k
    customers: forward differences)."""
    from skcrm.clv import _solver, rfm_summary
    from skcrm.datasets import make_attribute_bgnbd_data

    tx, _ = make_attribute_bgnbd_data(
        210_000,
        r=0.243,
        alpha=4.41,
        a=0.793,
        b=2.43,
        coef={},
        dropout_mixing="beta",
        dropout_after_first=False,
        acquisition_end=12.0,
        calibration_end=39.0,
        observation_end=39.0,
        random_state=0,
    )
    X = rfm_summary(tx, observation_end=39.0).to_numpy()
    est = AttributeBGNBD(dropout_mixing="beta", dropout_after_first=False).fit(X)
    H = est._prepare(X, fit=False)["H"].compress()
    ll = _solver.total_log_likelihood(est._theta_, H, "beta")
    assert est.log_likelihood_ == pytest.approx(ll, rel=1e-12)
    Hm = _solver.hessian(est._theta_, H, "beta", central=False)
    se = np.sqrt(np.diag(np.linalg.inv(Hm))) * np.r_[est.params_.to_numpy()]
    np.testing.assert_allclose(est.standard_errors_.to_numpy(), se, rtol=1e-6)
