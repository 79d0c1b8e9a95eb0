"""AttributeBGNBD on CDNOW in every mode (paper Section 3), its inference tools,
bad inputs, and sklearn composition."""

import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, GroupKFold, KFold, cross_validate

from skcrm.clv import (
    AttributeBGNBD,
    calibration_holdout_split,
    rfm_summary,
    transactions_from_log,
)
from skcrm.datasets import load_cdnow, make_attribute_bgnbd_data

CAL_END, OBS_END = 272 / 7, 545 / 7  # 1997-09-30 and 1998-06-30 in weeks from 1997-01-01


@pytest.fixture(scope="module")
def summary():
    return load_cdnow("summary")


@pytest.fixture(scope="module")
def cdnow_log():
    tx = transactions_from_log(
        load_cdnow("sample"), "customer_id", "date", ["number_of_cds", "dollar_value"]
    )
    cal, hold, length = calibration_holdout_split(tx, CAL_END, OBS_END)
    cal = cal.copy()
    spend = np.log(np.maximum(cal["dollar_value"], 1.0))
    cal["log_spend"] = spend - spend.mean()
    cds = np.log(cal["number_of_cds"])
    cal["log_cds"] = cds - cds.mean()
    return cal, hold, length


@pytest.fixture(scope="module")
def bgnbd(summary):
    return AttributeBGNBD(dropout_mixing="beta", dropout_after_first=False).fit(summary)


@pytest.fixture(scope="module")
def paper_mode(summary):
    return AttributeBGNBD().fit(summary)


@pytest.fixture(scope="module")
def attribute_fits(cdnow_log):
    cal, _, _ = cdnow_log
    plain = AttributeBGNBD(customer_col="customer_id").fit(cal)
    attr = AttributeBGNBD(customer_col="customer_id", attribute_cols=["log_spend", "log_cds"])
    return plain, attr.fit(cal)


# ---------------------------------------------------------------- CDNOW (AC-C1..C6)
def test_bgnbd_mode_reproduces_the_published_cdnow_fit(bgnbd):
    published = {"r": 0.2426, "alpha": 4.4137, "a": 0.7930, "b": 2.4262}  # FHL (2005a)
    for name, value in published.items():
        assert bgnbd.params_[name] == pytest.approx(value, rel=1e-3)
    assert bgnbd.log_likelihood_ == pytest.approx(-9582.43, abs=0.01)
    se = {"r": 0.01256, "alpha": 0.3782, "a": 0.1857, "b": 0.7053}
    for name, value in se.items():
        assert bgnbd.standard_errors_[name] == pytest.approx(value, rel=0.05)


def test_bgnbd_mode_predictions_match_fhl(bgnbd, summary):
    assert bgnbd.probability_alive(summary).iloc[0] == pytest.approx(0.726609, rel=1e-5)
    ey = bgnbd.conditional_expected_transactions(summary, 39.0)
    assert ey.iloc[0] == pytest.approx(1.225911, rel=1e-5)
    assert ey.sum() == pytest.approx(1653.42, abs=0.1)
    np.testing.assert_allclose(
        bgnbd.expected_transactions([39.0, 78.0]), [1.195016, 1.857972], rtol=1e-5
    )
    # classic convention: a customer without repeat purchases is alive for sure
    no_repeat = summary["frequency"].to_numpy() == 0
    assert np.all(bgnbd.probability_alive(summary)[no_repeat] == 1.0)


def test_long_format_bgnbd_matches_the_summary_fit(cdnow_log):
    cal, _, _ = cdnow_log
    m = AttributeBGNBD(customer_col="customer_id", dropout_mixing="beta", dropout_after_first=False)
    m.fit(cal)
    expected = {"r": 0.242595, "alpha": 4.413602, "a": 0.792922, "b": 2.425907}
    for name, value in expected.items():
        assert m.params_[name] == pytest.approx(value, rel=1e-3)
    assert m.log_likelihood_ == pytest.approx(-9582.4292, abs=0.01)
    assert m.n_customers_ == 2357 and m.n_transactions_ == 4814


def test_mbg_mode_on_cdnow(summary):
    m = AttributeBGNBD(dropout_mixing="beta", dropout_after_first=True).fit(summary)
    expected = {"r": 0.524838, "alpha": 6.182991, "a": 0.891356, "b": 1.614000}
    for name, value in expected.items():
        assert m.params_[name] == pytest.approx(value, rel=1e-3)
    assert m.log_likelihood_ == pytest.approx(-9582.1327, abs=0.01)


def test_paper_mode_on_cdnow_and_its_indexing_erratum(paper_mode, summary):
    expected = {"r": 0.524330, "alpha": 6.179541, "s": 0.894493, "b": 1.577094}
    for name, value in expected.items():
        assert paper_mode.params_[name] == pytest.approx(value, rel=1e-3)
    assert paper_mode.log_likelihood_ == pytest.approx(-9582.1388, abs=0.01)
    assert paper_mode.probability_alive(summary).iloc[0] == pytest.approx(0.706083, rel=1e-5)
    # a customer without repeat purchases may have left right after the first one
    assert paper_mode.probability_alive(summary).iloc[2] == pytest.approx(0.390, abs=1e-3)
    exact = paper_mode.conditional_expected_transactions(summary, 39.0)
    printed = clone(paper_mode).set_params(posterior_indexing="paper").fit(summary)
    printed_e = printed.conditional_expected_transactions(summary, 39.0)
    assert exact.iloc[0] == pytest.approx(1.262231, rel=1e-5)
    assert printed_e.iloc[0] == pytest.approx(1.086717, rel=1e-5)
    assert exact.sum() == pytest.approx(1576.0, abs=0.5)
    assert printed_e.sum() == pytest.approx(1381.0, abs=0.5)


def test_cdnow_attributes_improve_the_likelihood(attribute_fits):
    plain, attr = attribute_fits
    assert plain.log_likelihood_ == pytest.approx(-9582.142, abs=0.01)
    assert attr.coef_["log_cds"] == pytest.approx(-0.520, abs=0.01)
    assert attr.standard_errors_["log_cds"] == pytest.approx(0.176, rel=0.05)
    assert attr.log_likelihood_ == pytest.approx(-9561.959, abs=0.05)
    lr = attr.lr_test(plain)
    assert lr["statistic"] == pytest.approx(40.4, abs=0.1)
    assert lr["df"] == 2 and lr["p_value"] < 1e-8


def test_mean_q_holdout_forecast_on_cdnow(attribute_fits, cdnow_log):
    cal, hold, length = cdnow_log
    _, attr = attribute_fits
    m = clone(attr).set_params(future_attributes="mean_q").fit(cal)
    assert m.mean_repeat_q_ == pytest.approx(1.031, abs=1e-3)
    assert m.conditional_expected_transactions(cal, length).sum() == pytest.approx(1537.7, abs=0.5)
    assert hold.sum() == 1882


def test_long_and_rfm_likelihoods_agree(paper_mode, cdnow_log):
    cal, _, _ = cdnow_log
    rfm = rfm_summary(cal, "customer_id", "t", observation_end=CAL_END)
    m = clone(paper_mode).set_params(customer_col="customer_id").fit(cal)
    np.testing.assert_allclose(m.log_likelihood(cal).to_numpy(), m.log_likelihood(rfm), rtol=1e-12)


# ---------------------------------------------------------------- inference tools
def test_summary_table_has_wald_statistics(attribute_fits):
    _, attr = attribute_fits
    table = attr.summary()
    assert list(table.index) == ["r", "alpha", "s", "b", "log_spend", "log_cds"]
    row = table.loc["log_cds"]
    assert row["z"] == pytest.approx(row["estimate"] / row["std_error"])
    assert row["p_value"] == pytest.approx(0.0031, abs=5e-4)
    assert table.loc["r", "ci_lower"] < attr.params_["r"] < table.loc["r", "ci_upper"]
    assert attr.aic_ == pytest.approx(2 * 6 + 2 * 9561.959, abs=0.1)


def test_lr_test_rejects_a_non_nested_order(attribute_fits):
    plain, attr = attribute_fits
    with pytest.raises(ValueError, match="fewer parameters"):
        plain.lr_test(attr)


def test_penalizer_shrinks_coefficients(cdnow_log, attribute_fits):
    cal, _, _ = cdnow_log
    _, attr = attribute_fits
    shrunk = clone(attr).set_params(penalizer=0.01).fit(cal)
    assert abs(shrunk.coef_["log_cds"]) < abs(attr.coef_["log_cds"])


def test_duplicate_weights_equal_repeated_rows(summary):
    key = ["frequency", "recency", "T"]
    rounded = summary.round(0)
    compressed = rounded.groupby(key).size().rename("w").reset_index()
    full = AttributeBGNBD(dropout_mixing="beta", dropout_after_first=False).fit(rounded)
    weighted = clone(full).fit(compressed[key], sample_weight=compressed["w"].to_numpy())
    assert len(compressed) < len(rounded) / 3
    assert weighted.log_likelihood_ == pytest.approx(full.log_likelihood_, rel=1e-10)
    np.testing.assert_allclose(weighted.params_, full.params_, rtol=1e-5)


def test_not_converging_warns_with_advice(summary):
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        AttributeBGNBD(max_iter=1).fit(summary)


# ---------------------------------------------------------------- predictions and values
@pytest.fixture(scope="module")
def sim_fit():
    tx, truth = make_attribute_bgnbd_data(1500, random_state=3)
    cal, hold, length = calibration_holdout_split(tx, 52.0, 104.0)
    m = AttributeBGNBD(
        attribute_cols=["attr", "cont"], first_transaction_effect=True, observation_end=52.0
    ).fit(cal)
    return m, cal, hold, length


def test_outputs_are_series_indexed_by_sorted_customer(sim_fit):
    m, cal, _, _ = sim_fit
    pa = m.probability_alive(cal)
    assert isinstance(pa, pd.Series) and pa.index.is_monotonic_increasing
    assert pa.index.name == "customer_id" and len(pa) == cal["customer_id"].nunique()
    assert ((pa > 0) & (pa < 1)).all()


def test_posterior_pmf_from_the_estimator_sums_to_one(sim_fit):
    m, cal, _, _ = sim_fit
    pmf = m.probability_of_n_transactions(cal.iloc[:40], 26.0, np.arange(300))
    np.testing.assert_allclose(pmf.sum(axis=1), 1.0, atol=1e-9)
    p0 = m.probability_no_transactions(cal.iloc[:40], 26.0)
    np.testing.assert_allclose(p0, pmf[0])


def test_new_customer_expectation_grows_and_pmf_sums_to_one(sim_fit):
    m, _, _, _ = sim_fit
    e = m.expected_transactions([1.0, 10.0, 52.0], attributes={"attr": 1.0})
    assert np.all(np.diff(e) > 0)
    pmf = m.probability_of_n_transactions_new(10.0, np.arange(2000))
    assert pmf.sum() == pytest.approx(1.0, abs=1e-9)
    assert pmf @ np.arange(2000) == pytest.approx(m.expected_transactions(10.0)[0], rel=1e-7)


def test_a_churn_raising_last_attribute_lowers_dert(sim_fit):
    m, cal, _, _ = sim_fit
    # attr raises churn (coef > 0): setting it on the last job lowers DERT for everybody
    inc = m.incremental_dert(cal, {"attr": 1.0}, discount_rate=0.01)
    assert (inc <= 1e-12).all() and (inc < 0).mean() > 0.5
    bound = m.retention_investment_upper_bound(
        cal, {"attr": 1.0}, margin=20.0, which="last", discount_rate=0.01
    )
    np.testing.assert_allclose(bound, np.maximum(0, -20.0 * inc))
    disc = m.dert(cal.iloc[:50], discount_factor=0.99, discounting="discrete")
    cont = m.dert(cal.iloc[:50], discount_factor=0.99)
    np.testing.assert_allclose(disc, cont * 0.01 / -np.log(0.99))


def test_holdout_zero_share_is_calibrated(sim_fit):
    m, cal, hold, length = sim_fit
    p0 = m.probability_no_transactions(cal, length)
    assert p0.mean() == pytest.approx((hold == 0).mean(), abs=0.015)


# ---------------------------------------------------------------- sklearn composition
def test_grid_search_with_group_kfold_on_the_log(sim_fit):
    m, cal, _, _ = sim_fit
    search = GridSearchCV(
        clone(m), {"penalizer": [0.0, 0.05]}, cv=GroupKFold(n_splits=3), error_score="raise"
    )
    search.fit(cal, groups=cal["customer_id"])
    assert search.best_params_ == {"penalizer": 0.0}
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


def test_score_uses_the_fitted_observation_end(sim_fit):
    m, cal, _, _ = sim_fit
    ids = cal["customer_id"].unique()[:200]
    part = cal[cal["customer_id"].isin(ids)]
    assert m.score(part) == pytest.approx(m.log_likelihood(part).mean(), rel=1e-12)
    assert m.observation_end_ == 52.0


def test_sample_weight_is_routed_through_cross_validate(summary):
    key = ["frequency", "recency", "T"]
    compressed = summary.round(0).groupby(key).size().rename("w").reset_index()
    w = compressed["w"].to_numpy()
    with sklearn.config_context(enable_metadata_routing=True):
        est = AttributeBGNBD(dropout_mixing="beta", dropout_after_first=False)
        est = est.set_fit_request(sample_weight=True).set_score_request(sample_weight=True)
        cv = KFold(2, shuffle=True, random_state=0)
        out = cross_validate(est, compressed[key], cv=cv, params={"sample_weight": w})
    assert np.all(np.isfinite(out["test_score"]))


# ---------------------------------------------------------------- bad inputs
def _log():
    return pd.DataFrame(
        {"customer_id": [1, 1, 2], "t": [0.0, 2.0, 1.0], "x": [0.5, 1.5, -1.0], "d": [0, 1, 1.0]}
    )


@pytest.mark.parametrize(
    ("change", "params", "error", "match"),
    [
        (lambda X: X.assign(t=[0.0, -2.0, 1.0]), {}, ValueError, "negative times"),
        (lambda X: X, {"observation_end": 1.5}, ValueError, "after observation_end"),
        (lambda X: X.assign(x=[0.5, np.nan, 1.0]), {}, ValueError, "NaN"),
        (lambda X: X.assign(x=1.0), {}, ValueError, "constant"),
        (lambda X: X.assign(customer_id=[1, None, 2]), {}, ValueError, "missing customer"),
        (lambda X: X.assign(x=["a", "b", "c"]), {}, TypeError, "numeric"),
        (lambda X: X.drop(columns="t"), {}, ValueError, "missing column"),
        (lambda X: X.iloc[:0], {}, ValueError, "no rows"),
        (lambda X: X, {"observation_end": -1.0}, ValueError, "after observation_end"),
        (lambda X: X.assign(d=[0, 2.0, 1]), {"dynamic_cols": ["d"]}, ValueError, "0/1"),
        (lambda X: X, {"dynamic_cols": ["zz"]}, ValueError, "attribute_cols"),
        (
            lambda X: X,
            {"first_transaction_effect": True, "dropout_after_first": False},
            ValueError,
            "dropout_after_first",
        ),
        (lambda X: X, {"initial_params": {"r": -1.0}}, ValueError, "must be > 0"),
    ],
)
def test_bad_logs_raise_clear_errors(change, params, error, match):
    kw = {"attribute_cols": ["x", "d"], **params}
    if "dynamic_cols" in params:
        kw["attribute_cols"] = ["x", "d"]
    with pytest.raises(error, match=match):
        AttributeBGNBD(**kw).fit(change(_log()))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # 2 customers
def test_late_rows_can_be_dropped_with_a_warning():
    with pytest.warns(UserWarning, match="dropped 1 transaction"):
        m = AttributeBGNBD(
            observation_end=1.5, drop_after_observation_end=True, attribute_cols=["x"]
        ).fit(_log().assign(x=[0.5, 1.5, -1.0]))
    assert m.n_transactions_ == 2


@pytest.mark.parametrize(
    ("rfm", "match"),
    [
        ([[1, 5.0, 3.0]], "recency"),
        ([[-1, 0.0, 3.0]], "frequency"),
        ([[2, 0.5, np.nan]], "NaN|infinity"),
        ([[0, 1.0, 3.0]], "recency"),
    ],
)
def test_bad_rfm_summaries_raise(rfm, match):
    with pytest.raises(ValueError, match=match):
        AttributeBGNBD().fit(np.array(rfm, dtype=float))


def test_attributes_with_an_rfm_summary_are_rejected(summary):
    with pytest.raises(ValueError, match="RFM summary has no attributes"):
        AttributeBGNBD(attribute_cols=["x"]).fit(summary)


def test_sample_weight_with_a_log_is_rejected():
    with pytest.raises(ValueError, match="sample_weight"):
        AttributeBGNBD().fit(_log(), sample_weight=np.ones(2))


@pytest.mark.slow
def test_nuts_posterior_agrees_with_the_mle(bgnbd, summary):
    # with 2,357 customers and 4 parameters the posterior is close to normal around the MLE
    bayes = clone(bgnbd).set_params(method="nuts", num_warmup=300, num_samples=500, random_state=0)
    bayes.fit(summary)
    assert set(bayes.posterior_samples_) == {"r", "alpha", "a", "b"}
    assert bayes.posterior_samples_["r"].shape == (500,)
    for name in ("r", "alpha", "a", "b"):
        se = bgnbd.standard_errors_[name]
        assert abs(bayes.params_[name] - bgnbd.params_[name]) < se
        assert 0.7 < bayes.standard_errors_[name] / se < 1.3


def test_verbose_reports_each_iteration(summary, capsys):
    AttributeBGNBD(dropout_mixing="beta", dropout_after_first=False, verbose=1).fit(summary)
    out = capsys.readouterr().out
    assert "[AttributeBGNBD] iteration 1:" in out and "CONVERGENCE" in out


@pytest.mark.parametrize("mixing", ["beta", "gamma"])
def test_extreme_histories_stay_finite_end_to_end(summary, mixing):
    # frequency and age up to 1e4: the overflow that breaks lifetimes' BetaGeoFitter
    extreme = pd.DataFrame(
        {
            "frequency": [10_000, 10_000, 0, 5_000],
            "recency": [9_999.0, 1.0, 0.0, 10_000.0],
            "T": [10_000.0, 10_000.0, 10_000.0, 10_000.0],
        }
    )
    X = pd.concat([summary, extreme], ignore_index=True)
    m = AttributeBGNBD(dropout_mixing=mixing, dropout_after_first=False).fit(X)
    assert np.isfinite(m.log_likelihood_) and m.standard_errors_.notna().all()
    pa = m.probability_alive(extreme)
    assert np.all((pa >= 0) & (pa <= 1))
    assert np.all(np.isfinite(m.predict(extreme)))
    assert np.all(np.isfinite(m.dert(extreme, discount_rate=0.01)))


def test_an_imminent_churn_raising_transaction_lowers_dert(sim_fit):
    m, cal, _, _ = sim_fit
    part = cal[cal["customer_id"] < 200]
    inc = m.incremental_dert(part, {"attr": 1.0}, which="next", discount_rate=0.01)
    # customers whose last job already had attr = 1: the imminent copy is unchanged
    last_attr = part.groupby("customer_id")["attr"].last()
    assert np.all(np.abs(inc[last_attr == 1]) < 1e-12)
    assert np.all(inc[last_attr == 0] < 0)
    bound = m.retention_investment_upper_bound(part, {"attr": 1.0}, discount_rate=0.01)
    np.testing.assert_allclose(bound, -inc)


def test_future_multipliers_continue_the_evolving_coefficients(dynamic_model):
    # the carried-forward future path ln q_j = c0 + c1 (j - 1) equals the engineered features
    # of jobs appended to the log (Eqs. 8-9 along the future path)
    m, tx = dynamic_model
    prep = m._prepare(tx, fit=False)
    c0, c1 = m._future_log_q(prep)
    last = tx.groupby("customer_id").tail(1)
    future = pd.concat([last.assign(t=55.0), last.assign(t=58.0)])
    extended = pd.concat([tx, future]).sort_values(["customer_id", "t"], kind="mergesort")
    ext = m._prepare(extended, fit=False)["H"]
    q = np.exp(ext.job_F @ m.coef_.to_numpy())
    ends = np.flatnonzero(np.r_[ext.job_customer[1:] != ext.job_customer[:-1], True])
    np.testing.assert_allclose(np.log(q[ends - 1]), c0, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.log(q[ends]), c0 + c1, rtol=1e-12, atol=1e-12)
    assert np.any(c1 != 0)


def test_future_attribute_overrides(sim_fit):
    m, cal, _, _ = sim_fit
    part = cal[cal["customer_id"] < 300]
    ref = clone(m).set_params(future_attributes="reference").fit(cal).predict(part)
    zero = clone(m).set_params(future_attributes={"attr": 0.0, "cont": 0.0}).fit(cal)
    pd.testing.assert_series_equal(zero.predict(part), ref)
    churny = clone(m).set_params(future_attributes={"attr": 1.0, "cont": 0.0}).fit(cal)
    assert np.all(churny.predict(part) < ref)  # attr raises churn after every future job
    with pytest.raises(ValueError, match="not in attribute_cols"):
        clone(m).set_params(future_attributes={"zz": 1.0}).fit(cal).predict(part)
