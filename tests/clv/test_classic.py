"""Issue 12 item 2: ParetoNBD, GammaGammaSpend, customer_lifetime_value."""

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, special

from skcrm.clv import (
    AttributeBGNBD,
    GammaGammaSpend,
    ParetoNBD,
    customer_lifetime_value,
    rfm_summary,
    transactions_from_log,
)
from skcrm.clv._classic import gamma_gamma_log_likelihood, pareto_nbd_log_likelihood
from skcrm.datasets import load_cdnow

CAL_END = (pd.Timestamp("1997-09-30") - pd.Timestamp("1997-01-01")).days / 7


@pytest.fixture(scope="module")
def summary():
    return load_cdnow("summary")


@pytest.fixture(scope="module")
def pnbd(summary):
    return ParetoNBD().fit(summary)


@pytest.fixture(scope="module")
def spend_table():
    """The sample log's calibration period with mean spend of repeat purchase days."""
    tx = transactions_from_log(load_cdnow("sample"), "customer_id", "date", ["dollar_value"])
    cal = tx[tx["t"] <= CAL_END]
    return rfm_summary(
        cal, "customer_id", "t", observation_end=CAL_END, monetary_col="dollar_value"
    )


def test_pareto_nbd_cdnow_lifetimes_values(pnbd):
    """lifetimes' test values on the CDNOW summary (2 decimals)."""
    got = pnbd.params_.round(2).to_dict()
    assert got == {"r": 0.55, "alpha": 10.58, "s": 0.61, "beta": 11.67}
    assert pnbd.params_.to_numpy() == pytest.approx([0.553, 10.578, 0.606, 11.669], abs=2e-3)
    assert pnbd.converged_
    assert np.all(pnbd.standard_errors_ > 0)


def _pnbd_lik_quad(params, x, R, T):
    """Pareto/NBD log-likelihood by integrating over the unobserved death time (FHL 2005
    note), in log space (scaled by the integrand's largest value, at the death time R)."""
    r, alpha, s, beta = params
    log_c = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    log_alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)

    def log_dead(tau):
        return np.log(s) - (r + x) * np.log(alpha + tau) - (s + 1) * np.log(beta + tau)

    M = max(log_alive, log_dead(R))
    dead, _ = integrate.quad(
        lambda tau: np.exp(log_dead(tau) - M), R, T, epsabs=0, epsrel=1e-12, limit=500
    )
    return log_c + M + np.log(np.exp(log_alive - M) + dead)


@pytest.mark.parametrize(
    "params", [(0.55, 10.58, 0.61, 11.67), (0.55, 12.0, 0.61, 3.0), (2.0, 3.0, 1.0, 3.0)]
)
@pytest.mark.parametrize(
    ("x", "R", "T"),
    [
        (0, 0.0, 30.0),
        (2, 30.43, 38.86),
        (20, 10.0, 39.0),
        (5, 39.0, 39.0),
        (500, 30.0, 39.0),
        (1e4, 190.0, 200.0),
        (1e4, 199.9, 200.0),
    ],
)
def test_pareto_nbd_likelihood_equals_quadrature(params, x, R, T):
    got = pareto_nbd_log_likelihood(params, np.array([float(x)]), np.array([R]), np.array([T]))[0]
    assert got == pytest.approx(_pnbd_lik_quad(params, x, R, T), rel=1e-9, abs=1e-9)


def test_pareto_nbd_predictions(pnbd, summary):
    r, alpha, s, beta = pnbd.params_.to_numpy()
    x, R, T = 2.0, 30.43, 38.86
    X = pd.DataFrame({"frequency": [x], "recency": [R], "T": [T]}, index=pd.Index([7], name="id"))
    # P(alive) = alive term / whole likelihood (the dead term integrates the death time)
    lik = np.exp(_pnbd_lik_quad((r, alpha, s, beta), x, R, T))
    c = np.exp(special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha) + s * np.log(beta))
    alive = c * (alpha + T) ** -(r + x) * (beta + T) ** -s
    pa = pnbd.probability_alive(X)
    assert pa.index.tolist() == [7] and pa.iloc[0] == pytest.approx(alive / lik, rel=1e-9)
    # E[X(t) | alive] = E[lambda] E[(1 - e^{-mu t}) / mu], quad over ln mu, mu ~ Gamma(s, beta+T)
    B = beta + T

    def inner(t):
        def f(u):
            mu = np.exp(u)
            dens = np.exp(s * u - mu * B + s * np.log(B) - special.gammaln(s))
            return dens * -np.expm1(-mu * t) / mu

        lo, hi = np.log(1e-40 / B), np.log(80.0 / B)
        return integrate.quad(f, lo, hi, epsabs=0, epsrel=1e-11, limit=1000, points=[-np.log(t)])[0]

    for t in (39.0, 1e6):
        ref = pa.iloc[0] * (r + x) / (alpha + T) * inner(t)
        got = pnbd.conditional_expected_transactions(X, t).iloc[0]
        assert got == pytest.approx(ref, rel=1e-6)
    # P(alive at T + t) = P(alive at T) * ((beta + T) / (beta + T + t))^s
    assert pnbd.probability_alive(X, t=10.0).iloc[0] == pytest.approx(
        pa.iloc[0] * ((beta + T) / (beta + T + 10.0)) ** s, rel=1e-12
    )
    assert pnbd.predict(summary).index.equals(summary.index)


def test_pareto_nbd_prior_expected(pnbd):
    r, alpha, s, beta = pnbd.params_.to_numpy()
    t = np.array([39.0, 78.0])
    ref = r * beta / (alpha * (s - 1)) * (1 - (beta / (beta + t)) ** (s - 1))
    assert pnbd.expected_transactions(t) == pytest.approx(ref, rel=1e-12)


def test_gamma_gamma_946_repeat_customers(spend_table):
    rep = spend_table[spend_table["frequency"] > 0]
    assert len(rep) == 946
    gg = GammaGammaSpend().fit(rep)
    assert gg.params_.round(2).to_dict() == {"p": 6.25, "q": 3.74, "v": 15.44}
    assert gg.converged_
    p, q, v = gg.params_.to_numpy()
    spend = gg.conditional_expected_average_spend(rep)
    x, m = rep["frequency"].to_numpy(), rep["monetary_value"].to_numpy()
    assert spend.index.equals(rep.index)
    assert spend.to_numpy() == pytest.approx(p * (v + x * m) / (p * x + q - 1), rel=1e-12)


def test_gamma_gamma_zero_frequency_left_out_with_warning(spend_table):
    with pytest.warns(UserWarning, match="left out 1411 row"):
        gg = GammaGammaSpend().fit(spend_table)
    assert gg.n_customers_ == 946
    spend = gg.conditional_expected_average_spend(spend_table)
    p, q, v = gg.params_.to_numpy()
    zero = spend_table["frequency"].to_numpy() == 0
    assert spend[zero].to_numpy() == pytest.approx(p * v / (q - 1))


def test_gamma_gamma_likelihood_is_a_density():
    """The mean of x Gamma(p, nu) spends, nu ~ Gamma(q, v): the density integrates to 1."""
    params, x = (6.0, 4.0, 15.0), 3.0
    total, _ = integrate.quad(
        lambda m: np.exp(gamma_gamma_log_likelihood(params, np.array([x]), np.array([m]))[0]),
        0,
        np.inf,
        limit=500,
    )
    assert total == pytest.approx(1.0, abs=1e-8)


def test_customer_lifetime_value(pnbd, summary, spend_table):
    gg = GammaGammaSpend().fit(spend_table[spend_table["frequency"] > 0])
    X = summary.join(spend_table[["monetary_value"]])
    clv = customer_lifetime_value(pnbd, gg, X, horizon=12.0, discount_rate=0.01, margin=0.3)
    spend = gg.conditional_expected_average_spend(X).to_numpy()
    e = [pnbd.conditional_expected_transactions(X, t).to_numpy() for t in range(13)]
    ref = 0.3 * spend * sum((e[i] - e[i - 1]) / 1.01**i for i in range(1, 13))
    assert clv.index.equals(summary.index)
    assert clv.to_numpy() == pytest.approx(ref, rel=1e-12)
    # no discounting: margin x spend x E[X(horizon)]
    flat = customer_lifetime_value(pnbd, gg, X, horizon=12.0)
    assert flat.to_numpy() == pytest.approx(spend * e[12], rel=1e-10)
    # infinite horizon: DERT x spend for a model with dert
    bg = AttributeBGNBD(dropout_mixing="beta", dropout_after_first=False).fit(summary)
    inf = customer_lifetime_value(bg, gg, X, horizon=np.inf, discount_rate=0.002)
    assert inf.to_numpy() == pytest.approx(spend * bg.dert(X, discount_rate=0.002), rel=1e-12)
    with pytest.raises(ValueError, match="discount_rate > 0"):
        customer_lifetime_value(bg, gg, X, horizon=np.inf)


def test_clv_aligns_spend_by_customer_id(spend_table):
    """A log-fitted model sorts customers by id; a shuffled spend table is matched by id."""
    tx = transactions_from_log(load_cdnow("sample"), "customer_id", "date", ["dollar_value"])
    cal = tx[tx["t"] <= CAL_END]
    bg = AttributeBGNBD(dropout_mixing="beta", dropout_after_first=False, observation_end=CAL_END)
    bg.fit(cal[["customer_id", "t"]])
    gg = GammaGammaSpend().fit(spend_table[spend_table["frequency"] > 0])
    shuffled = spend_table.sample(frac=1.0, random_state=0)
    a = customer_lifetime_value(bg, gg, cal[["customer_id", "t"]], spend_X=shuffled)
    b = customer_lifetime_value(bg, gg, cal[["customer_id", "t"]], spend_X=spend_table)
    pd.testing.assert_series_equal(a, b)
    spend = gg.conditional_expected_average_spend(spend_table)
    e = bg.conditional_expected_transactions(cal[["customer_id", "t"]], 52.0)
    np.testing.assert_allclose(a.loc[e.index], spend.loc[e.index] * e, rtol=1e-10)
    with pytest.raises(ValueError, match="lacks 1 customer"):
        customer_lifetime_value(bg, gg, cal[["customer_id", "t"]], spend_X=shuffled.iloc[1:])


@pytest.mark.parametrize("make", [ParetoNBD, GammaGammaSpend])
def test_weights_and_row_order_invariance(make, summary, spend_table):
    """Duplicated rows = weight 2; permuted rows give the same fit and permuted outputs."""
    X = summary if make is ParetoNBD else spend_table[spend_table["frequency"] > 0]
    X = X.iloc[:600]
    if make is GammaGammaSpend:
        X = X[["frequency", "monetary_value"]]
    doubled = make().fit(pd.concat([X, X]))
    weighted = make().fit(X, sample_weight=np.full(len(X), 2.0))
    np.testing.assert_allclose(doubled.params_, weighted.params_, rtol=1e-5)
    perm = X.sample(frac=1.0, random_state=1)
    a, b = make().fit(X), make().fit(perm)
    np.testing.assert_allclose(a.params_, b.params_, rtol=1e-6)
    pd.testing.assert_series_equal(a.predict(perm), a.predict(X).loc[perm.index])
