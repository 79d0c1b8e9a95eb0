"""Per-partition scoring and map-reduce over a Dask DataFrame equal the pandas path."""

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression

from skcrm.utils._dask import (
    as_dask_frame,
    dask_dispatch,
    dask_map_method,
    is_dask_frame,
    partition_by_customer,
    reduce_partitions,
)

dd = pytest.importorskip("dask.dataframe")


class _PerCustomerMean:
    """A per-customer method: one row per customer, indexed by id (as skcrm's CLV outputs)."""

    def mean_value(self, X):
        return X.groupby("cid", sort=False)["v"].mean().rename("mean_value")


def _log(n_customers=40, seed=0):
    rng = np.random.default_rng(seed)
    counts = rng.integers(1, 6, size=n_customers)
    cid = np.repeat(np.arange(n_customers) * 7 + 3, counts)
    return pd.DataFrame({"cid": cid, "v": rng.normal(size=cid.size)}).sample(
        frac=1.0, random_state=1
    )


def test_detects_dask_frames_without_importing_dask_for_pandas():
    frame = _log()
    assert not is_dask_frame(frame)
    assert is_dask_frame(dd.from_pandas(frame, npartitions=2))
    assert as_dask_frame(frame) is None


def test_row_scoring_equals_pandas():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(101, 3)), columns=["a", "b", "c"])
    model = LinearRegression().fit(X, X @ [1.0, -2.0, 0.5])
    out = dask_map_method(model, "predict", dd.from_pandas(X, npartitions=4))
    got = out.compute()
    np.testing.assert_allclose(got.to_numpy(), model.predict(X))
    assert got.index.equals(X.index)


def test_per_customer_scoring_repartitions_with_a_warning_and_equals_pandas():
    log = _log()
    ddf = dd.from_pandas(log, npartitions=5, sort=False)
    with pytest.warns(UserWarning, match="not partitioned by customer"):
        out = dask_map_method(_PerCustomerMean(), "mean_value", ddf, customer_col="cid")
    got = out.compute().sort_index()
    want = _PerCustomerMean().mean_value(log).sort_index()
    pd.testing.assert_series_equal(got, want, check_names=False)


def test_partitioned_frame_is_used_as_is():
    log = _log()
    ddf = dd.from_pandas(log.set_index("cid").sort_index(), npartitions=3)
    same = partition_by_customer(ddf, "cid")
    assert "cid" in same.columns and same.npartitions == 3
    out = dask_map_method(_PerCustomerMean(), "mean_value", ddf, customer_col="cid")
    pd.testing.assert_series_equal(
        out.compute().sort_index(),
        _PerCustomerMean().mean_value(log).sort_index(),
        check_names=False,
    )


def test_parquet_path_is_read_through_dask(tmp_path):
    log = _log()
    path = tmp_path / "log.parquet"
    log.to_parquet(path)
    ddf = as_dask_frame(path)
    assert is_dask_frame(ddf) and len(ddf) == len(log)
    with pytest.raises(ValueError, match="not a Parquet"):
        as_dask_frame(str(tmp_path / "log.csv"))


def test_reduce_partitions_sums_tuples_on_a_local_cluster():
    distributed = pytest.importorskip("distributed")
    log = _log(200)
    ddf = dd.from_pandas(log, npartitions=4)

    def part_sums(part, scale):
        return (scale * part["v"].sum(), np.array([len(part), part["v"].pow(2).sum()]))

    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True) as cluster,
        distributed.Client(cluster),
    ):
        total, arr = reduce_partitions(ddf.to_delayed(), part_sums, 2.0)
    assert total == pytest.approx(2.0 * log["v"].sum(), rel=1e-12)
    np.testing.assert_allclose(arr, [len(log), (log["v"] ** 2).sum()], rtol=1e-12)


class _Scorer:
    customer_col = "cid"

    @dask_dispatch(per_customer=True)
    def total(self, X, scale=1.0):
        return (scale * X.groupby("cid", sort=False)["v"].sum()).rename("total")

    @dask_dispatch()
    def double(self, X):
        return 2 * X["v"].to_numpy()


def test_dask_dispatch_keeps_the_pandas_path_and_returns_dask_for_dask():
    log = _log()
    scorer = _Scorer()
    pandas_total = scorer.total(log, 3.0)
    got = scorer.total(dd.from_pandas(log.set_index("cid").sort_index(), npartitions=3), 3.0)
    assert type(got).__module__.startswith("dask")
    pd.testing.assert_series_equal(
        got.compute().sort_index(), pandas_total.sort_index(), check_names=False
    )
    rows = scorer.double(dd.from_pandas(log, npartitions=2)).compute()
    pd.testing.assert_series_equal(
        rows.sort_index(), (2 * log["v"]).sort_index(), check_names=False
    )


class _Ranker:
    def __init__(self, cap):
        self.cap = cap

    @dask_dispatch(joint=lambda self: "the cap ranks all rows" if self.cap else None)
    def rank(self, X):
        return X["v"].rank().to_numpy()


def test_joint_methods_refuse_dask_input_and_row_wise_ones_map():
    log = _log()
    ddf = dd.from_pandas(log, npartitions=2)
    with pytest.raises(ValueError, match=r"_Ranker.rank cannot score .* the cap ranks all rows"):
        _Ranker(cap=True).rank(ddf)
    np.testing.assert_array_equal(_Ranker(cap=True).rank(log), log["v"].rank().to_numpy())
    got = _Ranker(cap=False).rank(ddf).compute()
    assert len(got) == len(log)


class _Optional:
    @dask_dispatch()
    def value(self, X=None, scale=1.0):
        return scale if X is None else scale * X["v"].to_numpy()


def test_a_method_whose_X_is_optional_still_runs_without_X():
    est = _Optional()
    assert est.value() == 1.0 and est.value(scale=2.0) == 2.0
    log = _log()
    got = est.value(X=dd.from_pandas(log, npartitions=2), scale=3.0).compute()
    pd.testing.assert_series_equal(
        got.sort_index(), (3.0 * log["v"]).sort_index(), check_names=False
    )
