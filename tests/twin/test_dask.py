"""Dask scoring of the twin (issue 16 item 2): a Dask DataFrame in, a Dask object out, and
its compute() equals the pandas path row for row, with X's index."""

import numpy as np
import pandas as pd
import pytest

dd = pytest.importorskip("dask.dataframe")
dask = pytest.importorskip("dask")


@pytest.fixture(scope="module")
def scored(small_fit, small_survey):
    # A non-default index (shuffled, not 0..n-1) so that index alignment is checked.
    X = small_survey.X_te.copy()
    X.index = pd.Index(10_000 + np.arange(len(X))[::-1], name="respondent")
    return small_fit, X, dd.from_pandas(X, npartitions=3, sort=False)


def _compute(obj):
    assert hasattr(obj, "dask"), f"expected a lazy Dask object, got {type(obj)}"
    with dask.config.set(scheduler="synchronous"):
        return obj.compute()


def test_predict_on_dask_equals_pandas(scored):
    est, X, ddf = scored
    got = _compute(est.predict(ddf))
    ref = est.predict(X)
    assert isinstance(got, pd.DataFrame)
    pd.testing.assert_index_equal(got.index, X.index)
    assert list(got.columns) == list(range(ref.shape[1]))
    np.testing.assert_allclose(got.to_numpy(), ref, rtol=1e-12)


@pytest.mark.parametrize("statistic", ["mean", "median"])
def test_counterfactual_predict_on_dask_equals_pandas(scored, statistic):
    est, X, ddf = scored
    firm = est.firms_[-1]
    got = _compute(est.counterfactual_predict(ddf, firm=firm, statistic=statistic))
    ref = est.counterfactual_predict(X, firm=firm, statistic=statistic)
    pd.testing.assert_index_equal(got.index, X.index)
    np.testing.assert_allclose(got.to_numpy(), ref, rtol=1e-12)
    # the counterfactual is not the factual answer (the test can fail)
    assert not np.allclose(ref, est.counterfactual_predict(X, statistic=statistic))


def test_transform_on_dask_equals_pandas(scored):
    est, X, ddf = scored
    got = _compute(est.transform(ddf))
    pd.testing.assert_index_equal(got.index, X.index)
    np.testing.assert_allclose(got.to_numpy(), est.transform(X), rtol=1e-12)


def test_recommend_actions_on_dask_equals_pandas(scored):
    est, X, ddf = scored
    levers = {"speed_sat": 1.0, "reliability_sat": 1.0, "change_likelihood": -1.0}
    got = _compute(est.recommend_actions(ddf, delta=levers))
    ref = est.recommend_actions(X, delta=levers)
    pd.testing.assert_index_equal(got.index, X.index)
    assert list(got.columns) == list(ref.columns)
    pd.testing.assert_series_equal(got["best_feature"], ref["best_feature"])
    np.testing.assert_allclose(
        got.drop(columns="best_feature").to_numpy(float),
        ref.drop(columns="best_feature").to_numpy(float),
        rtol=1e-12,
    )
