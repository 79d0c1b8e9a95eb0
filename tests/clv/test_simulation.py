"""Recovery of known parameters from make_attribute_bgnbd_data."""

import numpy as np
import pandas as pd
import pytest

from skcrm.clv import AttributeBGNBD, calibration_holdout_split
from skcrm.clv.plotting import p0_calibration_table
from skcrm.datasets import make_attribute_bgnbd_data, make_service_quality_data

TRUTH = {"r": 0.9, "alpha": 0.77, "s": 1.1, "b": 1.15, "first": -0.2, "attr": 0.5, "cont": -0.3}
# empirical SDs over 20 replications at N = 4,000 (20 replications), scaled to N = 5,000
SD = {
    "r": 0.045,
    "alpha": 0.049,
    "s": 0.086,
    "b": 0.194,
    "first": 0.069,
    "attr": 0.044,
    "cont": 0.021,
}


def _fit_s1(seed, n=5000, **kw):
    tx, truth = make_attribute_bgnbd_data(n, random_state=seed, observation_end=52.0)
    m = AttributeBGNBD(
        attribute_cols=["attr", "cont"], first_transaction_effect=True, observation_end=52.0, **kw
    )
    return m.fit(tx), truth


@pytest.fixture(scope="module")
def s1_fit():
    return _fit_s1(11)[0]


def test_scenario_s1_recovers_every_parameter(s1_fit):
    est = pd.concat([s1_fit.params_, s1_fit.coef_])
    for name, value in TRUTH.items():
        assert abs(est[name] - value) <= 4 * SD[name] * np.sqrt(4000 / 5000), name


def test_standard_errors_match_the_empirical_spread(s1_fit):
    se = s1_fit.standard_errors_
    for name in ("r", "alpha", "attr", "cont"):
        assert 0.6 < se[name] / (SD[name] * np.sqrt(4000 / 5000)) < 1.6, name


def test_evolving_coefficient_is_recovered():
    coef = {"first": -0.2, "attr": 0.3, "cont": -0.3, "attr->attr": 0.25}
    tx, _ = make_attribute_bgnbd_data(
        6000, coef=coef, dynamic_cols=["attr"], observation_end=52.0, random_state=5
    )
    m = AttributeBGNBD(
        attribute_cols=["attr", "cont"],
        dynamic_cols=["attr"],
        dynamic_terms=[("attr", "attr")],
        first_transaction_effect=True,
        observation_end=52.0,
    ).fit(tx)
    assert m.design_feature_names_ == ["first", "attr", "cont", "attr->attr"]
    for name, value in coef.items():
        assert abs(m.coef_[name] - value) <= 4 * m.standard_errors_[name], name


def test_bg_nbd_mode_recovers_beta_dropout():
    tx, _ = make_attribute_bgnbd_data(
        8000,
        r=0.5,
        alpha=2.0,
        a=0.8,
        b=2.5,
        coef={"attr": 0.0},
        dropout_mixing="beta",
        dropout_after_first=False,
        observation_end=52.0,
        random_state=2,
    )
    m = AttributeBGNBD(dropout_mixing="beta", dropout_after_first=False, observation_end=52.0)
    m.fit(tx)
    truth = {"r": 0.5, "alpha": 2.0, "a": 0.8, "b": 2.5}
    for name, value in truth.items():
        assert abs(m.params_[name] - value) <= 4 * m.standard_errors_[name], name
    # no repeat purchase means alive in BG/NBD mode
    single = tx.groupby("customer_id").size() == 1
    assert (m.probability_alive(tx)[single.to_numpy()] == 1.0).all()


def test_holdout_forecast_is_calibrated_and_paper_indexing_is_lower():
    # AC-S3 (scenario S2) on one seed with fitted parameters
    tx, _ = make_attribute_bgnbd_data(
        8000,
        r=2.0,
        alpha=4.0,
        s=2.0,
        b=4.0,
        calibration_end=52.0,
        observation_end=104.0,
        random_state=7,
    )
    cal, hold, length = calibration_holdout_split(tx, 52.0, 104.0)
    m = AttributeBGNBD(
        attribute_cols=["attr", "cont"], first_transaction_effect=True, observation_end=52.0
    ).fit(cal)
    p0 = m.probability_no_transactions(cal, length)
    assert abs(p0.mean() - (hold == 0).mean()) <= 0.01
    # AC-S4: 15-bin P0 calibration (Figure 2), binomial tolerance per bin of >= 100 customers
    table = p0_calibration_table(m, cal, hold.to_numpy(), length)
    big = table[table["customers"] >= 100]
    tol = 3 * np.sqrt(big["predicted"] * (1 - big["predicted"]) / big["customers"]) + 0.01
    assert len(big) >= 3 and ((big["observed"] - big["predicted"]).abs() <= tol).all()
    # future attributes are random: average the multiplier over the fit data's repeat jobs
    m.set_params(future_attributes="mean_q")
    pred = m.conditional_expected_transactions(cal, length)
    z = (hold.sum() - pred.sum()) / np.sqrt(np.sum((hold - pred) ** 2))
    assert abs(z) < 3
    paper = m.set_params(posterior_indexing="paper").conditional_expected_transactions(cal, length)
    assert paper.sum() < pred.sum()


def test_simulator_is_reproducible_and_respects_its_periods():
    a, ta = make_attribute_bgnbd_data(300, random_state=4)
    b, _ = make_attribute_bgnbd_data(300, random_state=4)
    pd.testing.assert_frame_equal(a, b)
    assert (a["t"] <= 104.0).all()
    assert ((a["period"] == "holdout") == (a["t"] > 52.0)).all()
    counts = a.groupby("customer_id").size()
    assert (counts.to_numpy() == ta["customers"]["n_jobs"].to_numpy()[counts.index]).all()


@pytest.mark.slow
def test_wald_intervals_cover_the_truth():
    # AC-S2: 50 replications at N = 5,000, each 95 % interval covers in >= 43/50 runs
    hits = dict.fromkeys(TRUTH, 0)
    for seed in range(50):
        m, _ = _fit_s1(1000 + seed)
        table = m.summary()
        for name, value in TRUTH.items():
            hits[name] += table.loc[name, "ci_lower"] <= value <= table.loc[name, "ci_upper"]
    assert all(h >= 43 for h in hits.values()), hits


def test_service_level_sampler_reproduces_table_1():
    tx, _ = make_service_quality_data(3000, random_state=0)
    req_b = (tx["req_A"] == 0) & (tx["req_C"] == 0) & (tx["req_D"] == 0)
    for mask, share in ((req_b, 621 / 9405), (tx["req_D"] == 1, 4938 / 5835)):
        col = "lower" if share < 0.5 else "higher"
        n = int(mask.sum())
        assert abs(tx.loc[mask, col].mean() - share) < 4 * np.sqrt(share * (1 - share) / n)
    # Table 2 describes LC as "higher" x C, but a rating A or B request cannot be exceeded:
    # higher = higher x C + higher x D exactly, so that design is not identified
    np.testing.assert_array_equal(tx["higher"], tx["higher"] * tx["req_C"] + tx["higher_D"])


def test_missing_the_requested_level_costs_more_than_exceeding_it():
    # AC-S5 with amplified effects (beta_L1 = 0.5, beta_H1 = 0) at N = 30,000
    tx, _ = make_service_quality_data(30000, coef={"lower": 0.5, "higher": 0.0}, random_state=0)
    cal, _, _ = calibration_holdout_split(tx, 130.0, 163.0)
    base = ["coh2", "coh3", "coh4", "req_A", "req_C", "req_D"]
    kw = {"first_transaction_effect": True, "observation_end": 130.0}
    m1 = AttributeBGNBD(attribute_cols=base, **kw).fit(cal)
    m2 = AttributeBGNBD(
        attribute_cols=[*base, "lower", "higher", "lower_D", "higher_D", "lower_C"],
        dynamic_cols=["lower"],
        dynamic_terms=[("lower", "lower")],
        **kw,
    ).fit(cal)
    cov = m2.covariance_
    diff = m2.coef_["lower"] - m2.coef_["higher"]
    se = np.sqrt(
        cov.loc["lower", "lower"] + cov.loc["higher", "higher"] - 2 * cov.loc["lower", "higher"]
    )
    assert diff / se > 2.33
    assert m2.lr_test(m1)["p_value"] < 0.01
    last = cal.groupby("customer_id").tail(1)
    met_b = last[(last[["req_A", "req_C", "req_D", "lower", "higher"]] == 0).all(axis=1)]
    part = cal[cal["customer_id"].isin(met_b["customer_id"].iloc[:500])]
    inc = m2.incremental_dert(part, {"lower": 1.0}, discount_rate=0.002)
    assert (inc < 0).all()


@pytest.mark.slow
def test_holdout_totals_are_unbiased_over_seeds():
    # AC-S3: mean of predicted/actual holdout totals over 5 seeds in [0.93, 1.07]
    ratios, paper = [], []
    for seed in range(5):
        tx, _ = make_attribute_bgnbd_data(
            8000, r=2.0, alpha=4.0, s=2.0, b=4.0, observation_end=104.0, random_state=50 + seed
        )
        cal, hold, length = calibration_holdout_split(tx, 52.0, 104.0)
        m = AttributeBGNBD(
            attribute_cols=["attr", "cont"],
            first_transaction_effect=True,
            observation_end=52.0,
            future_attributes="mean_q",
        ).fit(cal)
        ratios.append(m.conditional_expected_transactions(cal, length).sum() / hold.sum())
        m.set_params(posterior_indexing="paper")
        paper.append(m.conditional_expected_transactions(cal, length).sum() / hold.sum())
    assert 0.93 <= np.mean(ratios) <= 1.07, ratios
    assert np.all(np.array(paper) < np.array(ratios))
