"""Issue 12 item 4: the lifetimes workflow without friction."""

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, special

from skcrm.clv import AttributeBGNBD, calibration_holdout_split
from skcrm.datasets import load_cdnow, make_attribute_bgnbd_data


@pytest.fixture(scope="module")
def summary():
    return load_cdnow("summary")


@pytest.fixture(scope="module")
def bgnbd(summary):
    return AttributeBGNBD(dropout_mixing="beta", dropout_after_first=False).fit(summary)


def test_readme_line_runs_on_the_master_log():
    with pytest.warns(UserWarning, match="merged 2068 transaction row"):
        m = AttributeBGNBD().fit(load_cdnow("master"))
    assert m.n_customers_ == 23570 and m.converged_
    assert m.probability_alive(load_cdnow("master").iloc[:50]).index.name == "customer_id"


def test_duplicates_merged_do_not_move_the_coefficient():
    tx, _ = make_attribute_bgnbd_data(400, random_state=3)
    kw = {"attribute_cols": ["attr", "cont"], "observation_end": 52.0}
    cal = tx[tx["t"] <= 52.0]
    base = AttributeBGNBD(**kw).fit(cal)
    dup = pd.concat([cal, cal.sample(50, random_state=0)], ignore_index=True)
    with pytest.warns(UserWarning, match="merged 50 transaction row"):
        again = AttributeBGNBD(**kw).fit(dup)
    np.testing.assert_allclose(again.coef_, base.coef_, rtol=1e-8, atol=1e-10)


def test_dates_and_hours_everywhere():
    tx, _ = make_attribute_bgnbd_data(300, random_state=1)
    start = pd.Timestamp("2024-01-01")
    log = tx.assign(date=start + pd.to_timedelta(tx["t"] * 7 * 24, unit="h")).drop(columns="t")
    cal, hold, length = calibration_holdout_split(
        log, "2024-12-30", "2025-12-29", time_col="date", time_unit="W"
    )
    assert length == pytest.approx(52.0)
    num_cal, num_hold, _ = calibration_holdout_split(tx, 52.0, 104.0)
    assert hold.to_dict() == num_hold.to_dict()
    weeks = AttributeBGNBD(observation_end="2024-12-30", origin=start).fit(cal)
    hours = AttributeBGNBD(observation_end="2024-12-30", origin=start, time_unit="h").fit(cal)
    assert weeks.observation_end_ == pytest.approx(52.0)
    assert hours.observation_end_ == pytest.approx(52.0 * 168)
    # the same model in other units: rate parameters scale, predictions agree
    assert hours.params_["alpha"] == pytest.approx(weeks.params_["alpha"] * 168, rel=1e-4)
    e_w = weeks.conditional_expected_transactions(cal, 10.0)
    e_h = hours.conditional_expected_transactions(cal, 10.0 * 168)
    np.testing.assert_allclose(e_h, e_w, rtol=1e-4)
    months = AttributeBGNBD(observation_end="2024-12-30", origin=start, time_unit="M").fit(cal)
    assert months.observation_end_ == pytest.approx(364 / 30.436875)
    with pytest.raises(ValueError, match="not a pandas time unit"):
        AttributeBGNBD(time_unit="fortnight").fit(cal)


def test_rfm_dataframe_outputs_are_indexed_by_customer(bgnbd, summary):
    for out in (
        bgnbd.probability_alive(summary),
        bgnbd.predict(summary),
        bgnbd.dert(summary, discount_rate=0.01),
    ):
        assert isinstance(out, pd.Series) and out.index.equals(summary.index)


def test_probability_alive_at_a_future_time(bgnbd):
    r, alpha, a, b = bgnbd.params_.to_numpy()
    x, tx, T, t = 2.0, 30.43, 38.86, 26.0
    X = np.array([[x, tx, T]])
    pa = bgnbd.probability_alive(X)[0]
    m, kap, bp = r + x, t / (alpha + T), b + x

    def f(p):
        dens = np.exp((a - 1) * np.log(p) + (bp - 1) * np.log1p(-p) - special.betaln(a, bp))
        return dens * (1 + kap * p) ** -m

    ref = pa * integrate.quad(f, 0, 1, epsabs=0, epsrel=1e-12, limit=500)[0]
    assert bgnbd.probability_alive(X, t=t)[0] == pytest.approx(ref, rel=1e-8)
    assert bgnbd.probability_alive(X, t=0.0)[0] == pa


def test_dert_finite_horizon(bgnbd, summary):
    X = summary.iloc[:3]
    rho = np.log(1.01)
    H = 52.0
    got = bgnbd.dert(X, discount_rate=0.01, horizon=H)
    # by parts: int_0^H e^{-rho s} dE[X(s)] = e^{-rho H} E[X(H)] + rho int_0^H e^{-rho s} E[X(s)]
    for i in range(3):
        row = X.iloc[[i]]

        def ex(s, row=row):
            return bgnbd.conditional_expected_transactions(row, s).iloc[0]

        inner = integrate.quad(lambda s, ex=ex: np.exp(-rho * s) * ex(s), 0, H, epsrel=1e-10)[0]
        ref = np.exp(-rho * H) * ex(H) + rho * inner
        assert got.iloc[i] == pytest.approx(ref, rel=1e-6)
    full = bgnbd.dert(X, discount_rate=0.01)
    assert np.all(got < full)
    np.testing.assert_allclose(bgnbd.dert(X, discount_rate=0.01, horizon=1e6), full, rtol=1e-9)
