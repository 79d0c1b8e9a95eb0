"""Exact math of the attribute BG/NBD core (Eqs. 3-7 of Braun, Schweidel & Stein 2015).

References are independent of the closed forms: 2-D numerical integration of the
individual-level expressions over lambda ~ Gamma(r, alpha) and theta ~ Gamma(s, b), the
published BG/NBD and MBG/NBD closed forms, and central finite differences.
"""

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats
from scipy.special import betaln, gammaln, hyp2f1, roots_genlaguerre
from scipy.special import gamma as gamma_fn

from skcrm.clv import _likelihood as lik
from skcrm.clv._data import prepare_long
from skcrm.clv._features import dynamic_term_list
from skcrm.clv._solver import Histories, cumulative_multipliers, objective

# Reference history for Eqs. 3-7 (gamma mixing, churn after the first job).
R_, AL, S_, B_ = 0.9, 0.77, 1.1, 1.15
Q = np.array([0.7, 1.3, 0.5, 0.9])
N_REP, U_, V_ = 3, Q[:3].sum(), Q.sum()
REC, AGE, TSTAR, QF = 20.0, 40.0, 30.0, 0.8
HIST = (N_REP, REC, AGE, U_, V_, R_, AL, S_, B_)


def _posterior_integral(f):
    """int int f(lam, theta) prior(lam) prior(theta): adaptive quad in lambda, 80-node
    generalised Gauss-Laguerre in theta (the theta integrands are smooth exponentials)."""
    x, w = roots_genlaguerre(80, S_ - 1)
    th, wth = x / B_, w / gamma_fn(S_)
    g_l = stats.gamma(R_, scale=1 / AL).pdf

    def inner(lam):
        return np.sum(wth * f(lam, th)) * g_l(lam)

    return integrate.quad(inner, 0, np.inf, epsabs=0, epsrel=1e-12, limit=400)[0]


def _individual_likelihood(lam, th):
    """Eq. (2): lam^n exp(-lam R - theta U) {1 - e^{-theta q_x} (1 - e^{-lam (A - R)})}."""
    return (
        lam**N_REP
        * np.exp(-lam * REC - th * U_)
        * (1 - np.exp(-th * Q[-1]) * (1 - np.exp(-lam * (AGE - REC))))
    )


def _alive_numerator(lam, th):
    """Eq. (2) times the individual P(alive) of Eq. (19)."""
    return lam**N_REP * np.exp(-lam * REC - th * U_) * np.exp(-th * Q[-1] - lam * (AGE - REC))


@pytest.fixture(scope="module")
def marginal():
    return _posterior_integral(_individual_likelihood)


def test_eq3_equals_eq11_and_quadrature(marginal):
    L3 = np.exp(lik.log_likelihood(*HIST))
    # Eq. (11), the equivalent form written from T
    L11 = (
        np.exp(gammaln(R_ + N_REP) - gammaln(R_))
        * AL**R_
        / (AL + AGE) ** (R_ + N_REP)
        * (B_ / (B_ + V_)) ** S_
        * (1 - ((AL + AGE) / (AL + REC)) ** (R_ + N_REP) * (1 - ((B_ + V_) / (B_ + U_)) ** S_))
    )
    assert pytest.approx(2.1766106137e-06, rel=1e-9) == L3
    assert pytest.approx(L11, rel=1e-12) == L3
    assert pytest.approx(marginal, rel=1e-8) == L3


def test_probability_alive_eq5_equals_quadrature(marginal):
    pa = lik.probability_alive(*HIST)
    assert pa == pytest.approx(0.20800862, rel=1e-7)
    assert pa == pytest.approx(_posterior_integral(_alive_numerator) / marginal, rel=1e-7)


def test_conditional_expectation_corrected_equals_quadrature(marginal):
    # individual level: sum_k P(Poisson(lam t) >= k) e^{-theta q (k-1)} in closed form
    def expect(lam, th):
        c = -np.expm1(-th * QF)
        return -np.expm1(-lam * TSTAR * c) / c

    ref = _posterior_integral(lambda lam, th: _alive_numerator(lam, th) * expect(lam, th))
    exact = lik.conditional_expected_transactions(TSTAR, *HIST, future_log_q=np.log(QF))
    assert exact[0] == pytest.approx(ref / marginal, rel=1e-7)
    assert exact[0] == pytest.approx(0.46927623, rel=1e-7)


def test_paper_indexing_counts_one_churn_draw_too_many():
    kw = {"future_log_q": np.log(QF)}
    paper = lik.conditional_expected_transactions(TSTAR, *HIST, indexing="paper", **kw)
    exact = lik.conditional_expected_transactions(TSTAR, *HIST, **kw)
    assert paper[0] == pytest.approx(0.40349740, rel=1e-7)
    assert paper[0] < exact[0]


def test_prior_expectation_eq4_equals_integral_over_lambda():
    # AC-M4 with B_k = 0.8 k; reference: integrate the lambda-conditional series numerically.
    B = QF * np.arange(1, 20001)
    k = np.arange(1, 3001)
    Sk = (B_ / (B_ + QF * k)) ** S_
    for t in (10.0, 52.0):

        def f(lam, t=t):
            return np.sum(Sk * stats.poisson.sf(k - 1, lam * t)) * stats.gamma.pdf(
                lam, R_, scale=1 / AL
            )

        ref = integrate.quad(f, 0, np.inf, limit=400, epsrel=1e-11)[0]
        assert lik.expected_transactions(t, B, R_, AL, S_, B_)[0] == pytest.approx(ref, rel=1e-8)
    # t = 10 agrees with the earlier reference; at t = 52 that reference was 3.4506028976, while the
    # integral (and the series) give 3.4508551301: an erratum of that value, not of the paper.
    assert lik.expected_transactions(10.0, B, R_, AL, S_, B_)[0] == pytest.approx(
        1.9522169296, rel=1e-9
    )


def test_dert_grid_equals_series_and_spec_values():
    kw = {"future_log_q": np.log(QF)}
    for delta, ref in ((0.99, 0.91631770), (1.1 ** (-1 / 52), 2.03587341)):
        rho = -np.log(delta)
        grid = lik.dert_grid(rho, *HIST, **kw)[0]
        series = lik.dert_continuous(rho, *HIST, **kw)[0]
        assert grid == pytest.approx(ref, rel=1e-7)
        assert series == pytest.approx(grid, rel=1e-7)


def test_discrete_dert_is_continuous_times_discount_ratio():
    # AC-M5: the paper's end-of-week sum sum_t delta^t (E[X(t)] - E[X(t-1)]), summed exactly
    delta = 0.99
    t = np.arange(0, 4001, dtype=float)
    E = lik.conditional_expected_transactions(t, *HIST, future_log_q=np.log(QF))
    discrete = np.sum(delta ** t[1:] * np.diff(E))
    assert discrete == pytest.approx(0.91171186, rel=1e-6)
    cont = lik.dert_grid(-np.log(delta), *HIST, future_log_q=np.log(QF))[0]
    assert discrete == pytest.approx(cont * (1 - delta) / -np.log(delta), rel=3e-5)


def test_dert_equals_quadrature_of_individual_value(marginal):
    # a large rate keeps the theta integrand smooth enough for the Gauss-Laguerre reference;
    # small rates are covered by the series and the exact discrete sum above
    rho = 0.3

    def value(lam, th):
        return lam / (rho + lam * -np.expm1(-th * QF))

    ref = _posterior_integral(lambda lam, th: _alive_numerator(lam, th) * value(lam, th))
    assert lik.dert_grid(rho, *HIST, future_log_q=np.log(QF))[0] == pytest.approx(
        ref / marginal, rel=1e-6
    )


def _golden_log():
    return pd.DataFrame(
        {
            "id": ["A"] * 4 + ["B"] + ["C"] * 3,
            "t": [0, 2, 5, 11, 3, 1, 1.5, 19],
            "L": [0, 1, 1, 0, 1, 0, 0, 1],
            "H": [0, 0, 0, 1, 0, 1, 0, 0],
        }
    ).astype({"t": float, "L": float, "H": float})


def test_golden_long_format_with_evolving_coefficients():
    # AC-M6: beta_first -0.22, beta_L1 0.19, beta_H1 0.01, gamma_L -0.01, gamma_LL 0.18
    terms = dynamic_term_list(["L"], [("drift", "L"), ("L", "L")])
    prep = prepare_long(
        _golden_log(),
        customer_col="id",
        time_col="t",
        attribute_cols=["L", "H"],
        dynamic_cols=["L"],
        terms=terms,
        first_effect=True,
        after_first=True,
        observation_end=20.0,
        origin=None,
        time_unit="W",
        drop_after=False,
        fit=True,
    )
    assert prep["names"] == ["first", "L", "H", "L:drift", "L->L"]
    coef = np.array([-0.22, 0.19, 0.01, -0.01, 0.18])
    H = prep["H"]
    U, V, q = cumulative_multipliers(H, coef)
    np.testing.assert_allclose(q[:4], [0.802519, 1.197217, 1.419068, 1.010050], rtol=1e-6)
    np.testing.assert_allclose(U, [3.418804, 0.0, 1.810584], rtol=1e-6)
    np.testing.assert_allclose(V, [4.428854, 0.970446, 2.995889], rtol=1e-6)
    hist = (H.n, H.R, H.A, U, V, 0.9, 0.77, 1.1, 1.15)
    ll = lik.log_likelihood(*hist)
    np.testing.assert_allclose(ll, [-11.02286020, -0.65372118, -9.34394144], rtol=1e-8)
    assert ll.sum() == pytest.approx(-21.02052282, rel=1e-9)
    np.testing.assert_allclose(
        lik.probability_alive(*hist), [0.30758767, 0.05817391, 0.65739865], atol=5e-9
    )
    np.testing.assert_allclose(
        lik.conditional_expected_transactions(10.0, *hist),
        [0.48733939, 0.02514036, 0.80594095],
        atol=5e-9,
    )
    p0 = lik.conditional_pmf([0], 10.0, *hist)[:, 0]
    np.testing.assert_allclose(p0, [0.75882853, 0.98075109, 0.54318223], atol=5e-9)


# ---------------------------------------------------------------- nesting (AC-M7, AC-M8)
BG = (0.242593, 4.413532, 0.792886, 2.425754)
MBG = (0.524838, 6.182991, 0.891356, 1.614000)


@pytest.fixture(scope="module")
def cdnow():
    from skcrm.datasets import load_cdnow

    s = load_cdnow("summary")
    return s["frequency"].to_numpy(float), s["recency"].to_numpy(), s["T"].to_numpy()


def _bg_nbd_closed(x, tx, T, t, r, al, a, b):
    """FHL (2005a): P(alive) and E[Y(t) | x, t_x, T]."""
    odds = np.where(x > 0, a / (b + np.maximum(x, 1) - 1) * ((al + T) / (al + tx)) ** (r + x), 0)
    pa = 1 / (1 + odds)
    z = t / (al + T + t)
    ey = (
        (a + b + x - 1)
        / (a - 1)
        * (1 - ((al + T) / (al + T + t)) ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1, z))
    )
    return pa, ey * pa


def test_beta_mixing_without_first_dropout_is_bg_nbd(cdnow):
    x, tx, T = cdnow
    U, V = np.maximum(x - 1, 0), x
    args = (x, tx, T, U, V, *BG, "beta")
    pa_ref, ey_ref = _bg_nbd_closed(x, tx, T, 39.0, *BG)
    pa = lik.probability_alive(*args)
    ey = lik.conditional_expected_transactions(39.0, *args)
    np.testing.assert_allclose(pa, pa_ref, rtol=1e-8)
    np.testing.assert_allclose(ey, ey_ref, rtol=1e-8)
    assert pa[0] == pytest.approx(0.7266092, rel=1e-6)
    assert ey[0] == pytest.approx(1.2259107, rel=1e-6)
    # FH note 004 log-likelihood
    r, al, a, b = BG
    A1 = gammaln(r + x) - gammaln(r) + r * np.log(al)
    A2 = betaln(a, b + x) - betaln(a, b)
    A3 = -(r + x) * np.log(al + T)
    A4 = np.log(a) - np.log(b + np.maximum(x, 1) - 1) - (r + x) * np.log(al + tx)
    ll_ref = A1 + A2 + np.logaddexp(A3, np.where(x > 0, A4, -np.inf))
    np.testing.assert_allclose(lik.log_likelihood(*args), ll_ref, rtol=1e-10)


def test_beta_mixing_with_first_dropout_is_mbg_nbd(cdnow):
    x, tx, T = cdnow
    r, al, a, b = MBG
    args = (x, tx, T, x, x + 1, *MBG, "beta")
    pa_ref = 1 / (1 + a / (b + x) * ((al + T) / (al + tx)) ** (r + x))
    z = 39.0 / (al + T + 39.0)
    ey_ref = (
        (a + b + x)
        / (a - 1)
        * (1 - ((al + T) / (al + T + 39.0)) ** (r + x) * hyp2f1(r + x, b + x + 1, a + b + x, z))
        * pa_ref
    )
    np.testing.assert_allclose(lik.probability_alive(*args), pa_ref, rtol=1e-8)
    ey = lik.conditional_expected_transactions(39.0, *args)
    np.testing.assert_allclose(ey, ey_ref, rtol=1e-8)


def test_beta_prior_series_equals_mbg_closed_form():
    r, al, a, b = 0.5248, 6.183, 0.8914, 1.614
    B = np.arange(1, 40001, dtype=float)
    for t, ref in ((10.0, 0.43321215), (39.0, 1.18216616), (78.0, 1.80344812)):
        closed = b / (a - 1) * (1 - (al / (al + t)) ** r * hyp2f1(r, b + 1, a + b, t / (al + t)))
        series = lik.expected_transactions(t, B, r, al, a, b, "beta")[0]
        assert series == pytest.approx(closed, rel=1e-7)
        assert series == pytest.approx(ref, rel=1e-7)


def test_zero_coefficients_equal_the_q_equals_one_model():
    rng = np.random.default_rng(0)
    m, jobs = 50, rng.integers(1, 8, 50)
    cust = np.repeat(np.arange(m), jobs)
    last = np.r_[cust[1:] != cust[:-1], True]
    H = Histories(
        n=(jobs - 1).astype(float),
        R=rng.uniform(0, 5, m),
        A=rng.uniform(5, 10, m),
        weight=np.ones(m),
        U0=np.zeros(m),
        V0=np.zeros(m),
        job_customer=cust,
        job_F=rng.normal(size=(cust.size, 3)),
        job_last=last,
    )
    U, V, _ = cumulative_multipliers(H, np.zeros(3))
    np.testing.assert_array_equal(U, jobs - 1.0)
    np.testing.assert_array_equal(V, jobs.astype(float))
    ll_attr = lik.log_likelihood(H.n, H.R, H.A, U, V, *BG)
    ll_plain = lik.log_likelihood(H.n, H.R, H.A, H.n, H.n + 1, *BG)
    np.testing.assert_array_equal(ll_attr, ll_plain)


# ---------------------------------------------------------------- properties (AC-M9..M11)
def _random_histories(seed, m=40):
    rng = np.random.default_rng(seed)
    n = rng.integers(0, 15, m).astype(float)
    A = rng.uniform(1, 60, m)
    R = np.where(n > 0, rng.uniform(0, 1, m) * A, 0.0)
    q = np.exp(rng.normal(0, 0.7, (m, 2)))
    U = n * q[:, 0]
    return n, R, A, U, U + q[:, 1]


@pytest.mark.parametrize("mixing", ["gamma", "beta"])
def test_probability_alive_in_unit_interval_and_below_one_after_first(mixing):
    n, R, A, U, V = _random_histories(1)
    pa = lik.probability_alive(n, R, A, U, V, 0.7, 3.0, 0.9, 2.0, mixing)
    assert np.all((pa >= 0) & (pa <= 1))
    # no repeat purchase: below 1 when churn can follow the first job, 1 in BG/NBD mode
    new = lik.probability_alive(0, 0.0, 10.0, 0.0, 1.0, 0.7, 3.0, 0.9, 2.0, mixing)
    bg = lik.probability_alive(0, 0.0, 10.0, 0.0, 0.0, 0.7, 3.0, 0.9, 2.0, mixing)
    assert new < 1 and bg == 1.0


def test_conditional_expectation_increases_with_t_and_dert_with_delta():
    n, R, A, U, V = _random_histories(2, m=10)
    args = (n, R, A, U, V, 0.7, 3.0, 0.9, 2.0)
    E = np.stack([lik.conditional_expected_transactions(t, *args) for t in (1, 5, 20, 80)])
    assert np.all(np.diff(E, axis=0) > 0)
    D = np.stack([lik.dert_grid(rho, *args) for rho in (0.1, 0.01, 0.001)])
    assert np.all(np.diff(D, axis=0) > 0)
    paper = lik.conditional_expected_transactions(20.0, *args, indexing="paper")
    assert np.all(paper < E[2])


def test_posterior_and_prior_pmfs_sum_to_one_with_the_right_mean():
    n, R, A, U, V = _random_histories(3, m=10)
    args = (n, R, A, U, V, 0.7, 3.0, 0.9, 2.0)
    counts = np.arange(400)
    pmf = lik.conditional_pmf(counts, 20.0, *args)
    np.testing.assert_allclose(pmf.sum(axis=1), 1.0, atol=1e-10)
    np.testing.assert_allclose(
        pmf @ counts, lik.conditional_expected_transactions(20.0, *args), rtol=1e-8
    )
    B = np.arange(1, 2001, dtype=float)
    prior = lik.prior_pmf(np.arange(1500), 20.0, B, 0.7, 3.0, 0.9, 2.0)
    assert prior.sum() == pytest.approx(1.0, abs=1e-10)
    assert prior @ np.arange(1500) == pytest.approx(
        lik.expected_transactions(20.0, B, 0.7, 3.0, 0.9, 2.0)[0], rel=1e-8
    )


@pytest.mark.parametrize("mixing", ["gamma", "beta"])
def test_no_overflow_for_extreme_histories(mixing):
    # AC-M10: frequency and age up to 1e4, B up to 1e6, q in [1e-8, 1e8]
    n = np.array([1e4, 1e4, 0.0, 5e3, 1e4])
    A = np.array([1e4, 1e4, 1e4, 1e4, 1.0])
    R = np.array([1e4, 1.0, 0.0, 9e3, 0.5])
    U = np.array([1e6, 1e4 * 1e-8, 0.0, 1e6, 1e4])
    V = U + np.array([1e8, 1e-8, 1e-8, 1.0, 1e8])
    args = (n, R, A, U, V, 0.24, 4.4, 0.79, 2.4, mixing)
    outputs = [
        *lik.log_likelihood_grad(*args),
        lik.probability_alive(*args),
        lik.conditional_expected_transactions(39.0, *args),
        lik.dert_grid(0.002, *args),
    ]
    for out in outputs:
        assert np.all(np.isfinite(out))


@pytest.mark.parametrize("mixing", ["gamma", "beta"])
def test_analytic_gradient_matches_finite_differences(mixing):
    rng = np.random.default_rng(4)
    m, jobs = 30, rng.integers(1, 6, 30)
    cust = np.repeat(np.arange(m), jobs)
    H = Histories(
        n=(jobs - 1).astype(float),
        R=rng.uniform(0, 4, m) * (jobs > 1),
        A=rng.uniform(4, 9, m),
        weight=rng.integers(1, 4, m).astype(float),
        U0=np.zeros(m),
        V0=np.zeros(m),
        job_customer=cust,
        job_F=rng.normal(size=(cust.size, 2)),
        job_last=np.r_[cust[1:] != cust[:-1], True],
    )
    theta = np.array([np.log(0.8), np.log(2.0), np.log(1.3), np.log(1.7), 0.3, -0.4])
    _, g = objective(theta, H, mixing)
    fd = np.empty_like(theta)
    for i in range(theta.size):
        e = np.zeros_like(theta)
        e[i] = 1e-6
        fd[i] = (objective(theta + e, H, mixing)[0] - objective(theta - e, H, mixing)[0]) / 2e-6
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("mixing", ["gamma", "beta"])
def test_grouped_classic_objective_equals_the_per_customer_one(mixing):
    # Histories.compress groups customers by n: same value and gradient (Eq. 3)
    rng = np.random.default_rng(6)
    m = 300
    n = rng.integers(0, 6, m).astype(float)
    A = rng.uniform(1, 30, m)
    H = Histories(
        n=n,
        R=rng.uniform(0, 1, m) * A * (n > 0),
        A=A,
        weight=rng.integers(1, 5, m).astype(float),
        U0=np.maximum(n - 1, 0),
        V0=n,
        job_customer=np.empty(0, dtype=np.int64),
        job_F=np.empty((0, 0)),
        job_last=np.empty(0, dtype=bool),
    )
    Hc = H.compress()
    assert Hc.unique is not None and Hc.unique[0].size == np.unique(n).size
    theta = np.log([0.4, 3.0, 0.8, 2.2])
    f, g = objective(theta, H, mixing)
    fc, gc = objective(theta, Hc, mixing)
    assert fc == pytest.approx(f, rel=1e-13)
    np.testing.assert_allclose(gc, g, rtol=1e-11)


# ---------------------------------------------------------------- paper's Figures 4-5 (AC-S6/7)
# Table 2 Model 2: r .90, alpha .77, s 1.08, b 1.14, beta_first -0.22, beta_L1 0.19; a customer
# who requested B (no interaction terms), t_1 = 1, T = 130, future jobs as requested (q = 1).
M2 = (0.90, 0.77, 1.08, 1.14)
Q_FIRST, Q_MISS = np.exp(-0.22), np.exp(0.19)
WEEKLY = np.log(1.1) / 52


def _miss_vs_met(x, tx, rho=WEEKLY, age=129.0):
    """Incremental DERT of a missed (vs met) service level on the last job."""
    x, tx = np.asarray(x, dtype=float), np.broadcast_to(np.asarray(tx, dtype=float), np.shape(x))
    U = np.where(x >= 2, Q_FIRST + (x - 2), 0.0)
    met = np.where(x >= 2, 1.0, Q_FIRST)
    hist = (x - 1, tx - 1, np.full_like(x, age), U)
    base = lik.dert_grid(rho, *hist, U + met, *M2)
    miss = lik.dert_grid(rho, *hist, U + met * Q_MISS, *M2)
    return miss - base, (miss - base) / base


def test_incremental_dert_shapes_of_figures_4_and_5():
    xs = np.array([2, 5, 10, 25, 50])
    for tx in (85.0, 100.0):
        delta, _ = _miss_vs_met(xs, tx)
        assert np.all(delta < 0)
        assert 0 < np.argmax(np.abs(delta)) < xs.size - 1  # rises, then falls toward 0
    np.testing.assert_allclose(
        np.abs(_miss_vs_met(xs[:4], 100.0)[0]), [0.103, 0.271, 0.556, 0.173], atol=1.5e-3
    )
    delta, pct = _miss_vs_met(xs, 130.0)
    assert np.all(np.diff(np.abs(delta)) > 0) and np.all(np.diff(np.abs(pct)) < 0)
    np.testing.assert_allclose(100 * pct, [-4.5, -2.1, -1.1, -0.45, -0.2], atol=0.06)
    delta, _ = _miss_vs_met(np.full(6, 25.0), np.array([60, 80, 100, 110, 120, 130.0]))
    assert 0 < np.argmax(np.abs(delta)) < 5  # interior maximum in recency


def test_new_customer_loses_one_to_ten_percent_of_dert_after_a_miss():
    for rho in (0.002, 0.02, 0.2):
        _, pct = _miss_vs_met(np.array([1.0]), np.array([1.0]), rho, age=0.0)  # t_1 = T
        assert -0.10 < pct[0] < -0.01
