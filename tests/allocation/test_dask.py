"""Dask scoring (issue 16): the row-wise methods map over partitions and equal the pandas
path; the joint assignment (predict, allocate) refuses Dask input with a clear error."""

import numpy as np
import pandas as pd
import pytest

from skcrm.allocation import RobustCampaignAllocator
from skcrm.datasets import make_campaign_data

dd = pytest.importorskip("dask.dataframe")
dask = pytest.importorskip("dask")

P = [[0.10, 0.30, 0.15], [0.20, 0.20, 0.30], [0.05, 0.10, 0.35]]


@pytest.fixture(scope="module")
def fitted():
    d = make_campaign_data(900, P, random_state=1)
    X = pd.DataFrame(d.X, columns=[f"x{j}" for j in range(d.X.shape[1])])
    X.index = pd.RangeIndex(5000, 5000 + len(X), name="customer")
    est = RobustCampaignAllocator(
        control=0, n_segments=3, n_scenarios=10, budget=300.0, random_state=0
    ).fit(X, np.column_stack([d.y, d.treatment]))
    return est, X


@pytest.mark.parametrize("method", ["predict_lift", "predict_segment"])
def test_row_wise_scores_on_dask_equal_the_pandas_path(fitted, method):
    est, X = fitted
    ref = getattr(est, method)(X)
    parts = dd.from_pandas(X, npartitions=4)
    out = getattr(est, method)(parts)
    assert type(out).__module__.startswith("dask")
    with dask.config.set(scheduler="synchronous"):
        got = out.compute()
    pd.testing.assert_index_equal(got.index, X.index)
    if ref.ndim == 2:
        assert list(got.columns) == list(range(ref.shape[1]))
    # same numbers up to BLAS blocking of a smaller matrix product
    np.testing.assert_allclose(np.asarray(got), ref, rtol=1e-12, atol=1e-15)
    assert np.unique(ref).size > 1  # a non-trivial score (not one constant)


@pytest.mark.parametrize("method", ["predict", "allocate"])
def test_joint_assignment_refuses_dask_input_and_says_what_to_do(fitted, method):
    est, X = fitted
    parts = dd.from_pandas(X, npartitions=3)
    with pytest.raises(
        ValueError, match=f"{method} cannot score a Dask.*jointly over all rows.*predict_lift"
    ):
        getattr(est, method)(parts)


def test_the_recommended_workaround_equals_predict_in_memory(fitted):
    est, X = fitted
    parts = dd.from_pandas(X, npartitions=3)
    with dask.config.set(scheduler="synchronous"):
        lifts = est.predict_lift(parts).compute()
    # the scores came from the partitions; the joint assignment runs in memory
    np.testing.assert_allclose(lifts.to_numpy(), est.predict_lift(X), rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(est.predict(parts.compute()), est.predict(X))
