"""Issue 12 item 3: parameter uncertainty in P(alive), E[X(t)], DERT, CLV; MAP; NUTS averaging."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from skcrm.clv import AttributeBGNBD, ParetoNBD, rfm_summary
from skcrm.clv._solver import total_log_likelihood
from skcrm.clv._uncertainty import with_theta
from skcrm.datasets import load_cdnow, make_attribute_bgnbd_data


@pytest.fixture(scope="module")
def summary():
    return load_cdnow("summary")


@pytest.fixture(scope="module")
def bgnbd(summary):
    return AttributeBGNBD(dropout_mixing="beta", dropout_after_first=False).fit(summary)


def _delta_se(model, func):
    """Delta-method standard errors: numerical gradient of func in theta, covariance of theta."""
    theta = model._theta_
    base = np.asarray(func(model), dtype=float)
    J = np.empty((base.size, theta.size))
    for i in range(theta.size):
        h = 1e-6 * max(1.0, abs(theta[i]))
        tp, tm = theta.copy(), theta.copy()
        tp[i] += h
        tm[i] -= h
        up = np.asarray(func(with_theta(model, tp)), dtype=float)
        dn = np.asarray(func(with_theta(model, tm)), dtype=float)
        J[:, i] = (up - dn) / (2 * h)
    return np.sqrt(np.einsum("ij,jk,ik->i", J, model._cov_log_, J))


@pytest.mark.parametrize(
    ("quantity", "kw", "func"),
    [
        (
            "expected_transactions",
            {"t": 39.0},
            lambda m, X: m.conditional_expected_transactions(X, 39.0),
        ),
        ("probability_alive", {}, lambda m, X: m.probability_alive(X)),
        ("dert", {"discount_rate": 0.01}, lambda m, X: m.dert(X, discount_rate=0.01)),
    ],
)
def test_intervals_match_the_delta_method(bgnbd, summary, quantity, kw, func):
    X = summary.iloc[:4]
    ci = bgnbd.predict_interval(X, quantity=quantity, n_draws=500, random_state=0, **kw)
    point = func(bgnbd, X)
    assert ci.index.equals(X.index)
    np.testing.assert_allclose(ci["estimate"], point, rtol=1e-12)
    se = _delta_se(bgnbd, lambda m: func(m, X))
    alive_one = se < 1e-12  # P(alive) = 1 exactly without repeat purchases (BG/NBD)
    # 500 draws: Monte Carlo error of an SD ~3%
    np.testing.assert_allclose(ci["std_error"][~alive_one], se[~alive_one], rtol=0.12)
    assert np.all(ci["lower"] <= ci["estimate"] + 1e-12)
    assert np.all(ci["estimate"] <= ci["upper"] + 1e-12)
    assert ci.attrs["level"] == 0.95


def test_pareto_nbd_interval_matches_delta_method(summary):
    m = ParetoNBD().fit(summary)
    X = summary.iloc[:4]
    ci = m.predict_interval(X, t=39.0, n_draws=500, random_state=0)
    se = _delta_se(m, lambda mm: mm.conditional_expected_transactions(X, 39.0))
    # draws see the curvature that the linearisation ignores (x = 0: 15% here)
    np.testing.assert_allclose(ci["std_error"], se, rtol=0.2)


def test_map_is_the_posterior_mode(summary):
    m = AttributeBGNBD(dropout_mixing="beta", dropout_after_first=False, method="map").fit(summary)
    scale = 10.0 / summary["T"].max()
    from skcrm.clv._data import prepare_rfm

    H = prepare_rfm(summary.to_numpy(), ("frequency", "recency", "T"), False, False)["H"]

    def log_post(theta):
        ts = theta.copy()
        ts[1] += np.log(scale)  # priors live on the rescaled time axis
        return total_log_likelihood(theta, H, "beta") - np.sum(ts**2) / (2 * 1.5**2)

    theta = m._theta_
    grad = [(log_post(theta + h) - log_post(theta - h)) / 2e-6 for h in np.eye(theta.size) * 1e-6]
    assert np.max(np.abs(grad)) < 1e-2
    mle = AttributeBGNBD(dropout_mixing="beta", dropout_after_first=False).fit(summary)
    assert not np.allclose(m.params_, mle.params_, rtol=1e-4)  # the prior moves it a little
    np.testing.assert_allclose(m.params_, mle.params_, rtol=0.05)


def test_nuts_predictions_average_over_draws(bgnbd, summary):
    """A stand-in posterior (no sampler run): predictions are the mean over the draws."""
    rng = np.random.default_rng(0)
    draws = rng.multivariate_normal(bgnbd._theta_, bgnbd._cov_log_, size=40)
    model = with_theta(bgnbd, bgnbd._theta_)
    model._plugin = False
    model.method = "nuts"
    model.n_posterior_samples = 40
    model.posterior_samples_ = {
        name: (np.exp(draws[:, i]) if i < 4 else draws[:, i])
        for i, name in enumerate(bgnbd.params_.index)
    }
    X = summary.iloc[:5]
    got = model.conditional_expected_transactions(X, 39.0)
    ref = np.mean(
        [
            bgnbd.__class__.conditional_expected_transactions(with_theta(bgnbd, th), X, 39.0)
            for th in draws
        ],
        axis=0,
    )
    np.testing.assert_allclose(got, ref, rtol=1e-12)
    plug = bgnbd.conditional_expected_transactions(X, 39.0)
    assert not np.allclose(got, plug, rtol=1e-6)  # Jensen: the average is not the plug-in
    pa = model.probability_alive(X)
    assert isinstance(pa, pd.Series) and pa.index.equals(X.index)


@pytest.mark.slow
def test_new_customer_interval_coverage():
    """95% intervals for a new customer's E[X(t)] cover the truth in >= 90% of 100 refits."""
    truth = {"r": 0.243, "alpha": 4.41, "a": 0.793, "b": 2.43}
    ref_model = AttributeBGNBD(dropout_mixing="beta", dropout_after_first=False)
    covered = []
    for seed in range(100):
        tx, _ = make_attribute_bgnbd_data(
            1500,
            **truth,
            coef={},
            dropout_mixing="beta",
            dropout_after_first=False,
            acquisition_end=12.0,
            calibration_end=39.0,
            observation_end=39.0,
            random_state=seed,
        )
        rfm = rfm_summary(tx, observation_end=39.0)
        m = clone(ref_model).fit(rfm)
        if seed == 0:
            true_model = with_theta(m, np.log(list(truth.values())))
            true_value = true_model.expected_transactions(39.0)[0]
        ci = m.predict_interval(quantity="new_customer", t=39.0, n_draws=400, random_state=seed)
        covered.append(ci["lower"].iloc[0] <= true_value <= ci["upper"].iloc[0])
    rate = float(np.mean(covered))
    print(f"coverage of 95% intervals for E[X(39)] of a new customer: {rate:.2f}")
    assert rate >= 0.90
