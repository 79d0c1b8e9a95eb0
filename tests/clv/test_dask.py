"""Out-of-core fits and scoring on Dask equal the in-memory results (issue: scale out)."""

import numpy as np
import pandas as pd
import pytest

from skcrm.clv import AttributeBGNBD
from skcrm.datasets import load_cdnow, make_attribute_bgnbd_data

dd = pytest.importorskip("dask.dataframe")
pytest.importorskip("distributed")

COEF = {"first": -0.2, "attr": 0.3, "cont": -0.3, "attr->attr": 0.25, "attr:drift": -0.05}


def _model(**kw):
    kw.setdefault("first_transaction_effect", True)
    return AttributeBGNBD(
        attribute_cols=["attr", "cont"],
        dynamic_cols=["attr"],
        dynamic_terms=[("attr", "attr"), ("drift", "attr")],
        observation_end=60.0,
        **kw,
    )


@pytest.fixture(scope="module")
def log():
    tx, _ = make_attribute_bgnbd_data(
        1500, coef=COEF, dynamic_cols=["attr"], observation_end=52.0, random_state=9
    )
    return tx


def _assert_same_fit(a, b, rtol=1e-6):
    np.testing.assert_allclose(b.params_, a.params_, rtol=rtol)
    np.testing.assert_allclose(b.coef_, a.coef_, rtol=rtol, atol=1e-8)
    np.testing.assert_allclose(b.standard_errors_, a.standard_errors_, rtol=1e-4)
    assert b.log_likelihood_ == pytest.approx(a.log_likelihood_, rel=1e-10)
    assert b.n_customers_ == a.n_customers_ and b.n_transactions_ == a.n_transactions_
    assert b.mean_repeat_q_ == pytest.approx(a.mean_repeat_q_, rel=1e-8)


def test_evolving_coefficients_fit_on_a_cluster_equals_the_in_memory_fit(log, cluster_client):
    ref = _model().fit(log)
    parts = dd.from_pandas(log.set_index("customer_id").sort_index(), npartitions=4)
    fitted = _model().fit(parts)
    _assert_same_fit(ref, fitted)
    assert fitted.converged_


def test_bgnbd_form_attribute_fit_on_a_cluster_equals_the_in_memory_fit(log, cluster_client):
    # no dropout at the first transaction: the shards' job rows are then exactly the repeat
    # transactions (with it, the default, each customer's first job is left out of the mean
    # repeat multiplier; both paths are compared with the in-memory fit)
    kw = {"dropout_after_first": False, "first_transaction_effect": False}
    ref = _model(**kw).fit(log)
    parts = dd.from_pandas(log.set_index("customer_id").sort_index(), npartitions=3)
    _assert_same_fit(ref, _model(**kw).fit(parts))


def test_unpartitioned_log_is_repartitioned_by_customer_with_a_warning(log, cluster_client):
    ref = _model().fit(log)
    shuffled = dd.from_pandas(log.sample(frac=1.0, random_state=0), npartitions=3, sort=False)
    with pytest.warns(UserWarning, match="not partitioned by customer"):
        fitted = _model().fit(shuffled)
    _assert_same_fit(ref, fitted)


def test_parquet_path_of_the_cdnow_log_equals_the_in_memory_bgnbd(tmp_path, cluster_client):
    cdnow = load_cdnow("sample")[["customer_id", "date"]]
    ref = AttributeBGNBD(observation_end="1997-09-30", drop_after_observation_end=True)
    with pytest.warns(UserWarning):
        ref.fit(cdnow)
    path = tmp_path / "cdnow.parquet"
    cdnow.set_index("customer_id").sort_index().to_parquet(path)
    fitted = AttributeBGNBD(observation_end="1997-09-30", drop_after_observation_end=True)
    fitted.fit(str(path))
    np.testing.assert_allclose(fitted.params_, ref.params_, rtol=1e-6)
    assert fitted.log_likelihood_ == pytest.approx(ref.log_likelihood_, rel=1e-10)


@pytest.fixture(scope="module")
def fitted(log):
    return _model().fit(log)


@pytest.mark.parametrize(
    ("method", "kwargs"),
    [
        ("probability_alive", {}),
        ("conditional_expected_transactions", {"t": 10.0}),
        ("predict", {}),
        ("probability_no_transactions", {"t": 10.0}),
        ("probability_of_n_transactions", {"t": 10.0, "n": 2}),
        ("residual_value", {"margin": 2.0, "discount_rate": 0.01}),
        ("dert", {"discount_rate": 0.01}),
        ("log_likelihood", {}),
        ("incremental_dert", {"changes": {"attr": 1.0}, "discount_rate": 0.01}),
        ("retention_investment_upper_bound", {"changes": {"attr": 0.0}, "discount_rate": 0.01}),
        ("predict_interval", {"n_draws": 20, "random_state": 0}),
    ],
)
def test_scoring_a_dask_log_equals_pandas(log, fitted, method, kwargs):
    want = getattr(fitted, method)(log, **kwargs)
    ddf = dd.from_pandas(log.set_index("customer_id").sort_index(), npartitions=3)
    got = getattr(fitted, method)(ddf, **kwargs)
    assert type(got).__module__.startswith("dask")
    got = got.compute().sort_index()
    if isinstance(want, pd.DataFrame):  # predict_interval: the same parameter draws
        pd.testing.assert_frame_equal(got, want.sort_index(), rtol=1e-12)
    else:
        pd.testing.assert_series_equal(got, want.sort_index(), check_names=False, rtol=1e-12)


def test_scoring_a_dask_rfm_table_is_row_wise_and_equals_pandas():
    summary = load_cdnow("summary")
    model = AttributeBGNBD(dropout_mixing="beta", dropout_after_first=False).fit(summary)
    got = model.probability_alive(dd.from_pandas(summary, npartitions=3)).compute()
    pd.testing.assert_series_equal(
        got.sort_index(), model.probability_alive(summary).sort_index(), check_names=False
    )


def test_a_shard_reports_its_arrays_to_dask_memory_accounting(log):
    from dask.sizeof import sizeof

    from skcrm.clv._data import prepare_long

    prep = prepare_long(
        log,
        customer_col="customer_id",
        time_col="t",
        attribute_cols=["attr", "cont"],
        dynamic_cols=[],
        terms=[],
        first_effect=True,
        after_first=True,
        observation_end=1e9,
        origin=None,
        time_unit=None,
        drop_after=False,
        fit=True,
    )
    H = prep["H"]
    arrays = H.n.nbytes * 6 + H.job_customer.nbytes + H.job_F.nbytes + H.job_last.nbytes
    # without __sizeof__ Dask saw ~100 bytes per shard and spilled or paused the workers
    assert arrays <= sizeof(H) < arrays + 4096


def _cdnow_rfm():
    from skcrm.clv import rfm_summary, transactions_from_log

    tx = transactions_from_log(load_cdnow("sample"), value_cols=["dollar_value"])
    cal = tx[tx["t"] <= 38.857]
    return rfm_summary(cal, observation_end=38.857, monetary_col="dollar_value")


def test_pareto_nbd_gamma_gamma_and_clv_of_a_dask_table_equal_pandas():
    import dask

    from skcrm.clv import GammaGammaSpend, ParetoNBD, customer_lifetime_value

    X = _cdnow_rfm()
    pnbd = ParetoNBD().fit(X)
    gg = GammaGammaSpend().fit(X[X["frequency"] > 0])
    bg = AttributeBGNBD(dropout_mixing="beta", dropout_after_first=False).fit(X)
    ddf = dd.from_pandas(X, npartitions=3)
    cases = [
        (pnbd.probability_alive, {"t": 4.0}),
        (pnbd.conditional_expected_transactions, {"t": 52.0}),
        (pnbd.predict, {}),
        (pnbd.predict_interval, {"n_draws": 20, "random_state": 0}),
        (gg.conditional_expected_average_spend, {}),
        (gg.predict, {}),
    ]
    with dask.config.set(scheduler="synchronous"):
        for method, kw in cases:
            want = method(X, **kw)
            got = method(ddf, **kw)
            assert type(got).__module__.startswith("dask")
            got = got.compute()
            if isinstance(want, pd.DataFrame):
                pd.testing.assert_frame_equal(got, want, rtol=1e-12)
            else:
                pd.testing.assert_series_equal(got, want, check_names=False, rtol=1e-12)
        for model in (pnbd, bg):
            kw = {"horizon": 52.0, "discount_rate": 0.002}
            want = customer_lifetime_value(model, gg, X, **kw)
            got = customer_lifetime_value(model, gg, ddf, **kw).compute()
            pd.testing.assert_series_equal(got, want, check_names=False, rtol=1e-12)
        kw = {"horizon": 8.0, "n_draws": 5, "random_state": 0}
        want = customer_lifetime_value(pnbd, gg, X, **kw)
        got = customer_lifetime_value(pnbd, gg, ddf, **kw).compute()
        # the same seed in every partition: the same parameter draws, the same intervals
        pd.testing.assert_frame_equal(got, want, rtol=1e-12)
        with pytest.raises(ValueError, match="with a Dask X, spend_X is not supported"):
            customer_lifetime_value(pnbd, gg, ddf, spend_X=X)
