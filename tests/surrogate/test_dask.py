"""Surrogate scoring of a Dask DataFrame equals the pandas path, partition by partition."""

import numpy as np
import pandas as pd
import pytest
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LinearRegression

from skcrm.datasets import make_surrogate_targeting
from skcrm.policy import DRPolicyClassifier
from skcrm.surrogate import SurrogateIndexTransformer, SurrogatePolicyLearner

dd = pytest.importorskip("dask.dataframe")
dask = pytest.importorskip("dask")


@pytest.fixture(autouse=True)
def synchronous():
    with dask.config.set(scheduler="synchronous"):
        yield


@pytest.fixture(scope="module")
def study():
    d = make_surrogate_targeting(600, 900, random_state=4)
    cols = [f"x{j}" for j in range(d.X_hist.shape[1])] + [f"s{j}" for j in range(d.S_hist.shape[1])]
    hist = pd.DataFrame(np.hstack([d.X_hist, d.S_hist]), columns=cols)
    exp = pd.DataFrame(np.hstack([d.X, d.S]), columns=cols)
    exp.index = pd.Index(np.arange(len(exp)) + 5000, name="customer_id")
    return d, cols, hist, exp


def test_surrogate_index_scoring_on_dask_equals_pandas(study):
    d, cols, hist, exp = study
    covs = [c for c in cols if c.startswith("x")]
    index = SurrogateIndexTransformer(
        covariate_cols=covs,
        horizons={"m1": ["s0"], "all": [c for c in cols if c.startswith("s")]},
        n_bootstrap=3,
        random_state=0,
    ).fit(hist, d.y_hist)
    ddf = dd.from_pandas(exp, npartitions=3)
    for method, kw in [
        ("transform", {}),
        ("predict", {"horizon": "all"}),
        ("predict_bootstrap", {"horizon": "m1"}),
    ]:
        expected = getattr(index, method)(exp, **kw)
        got = getattr(index, method)(ddf, **kw)
        assert type(got).__module__.startswith("dask")
        got = got.compute()
        pd.testing.assert_index_equal(got.index, exp.index)
        np.testing.assert_allclose(
            np.asarray(got).reshape(expected.shape), expected, rtol=0, atol=0
        )


def test_surrogate_policy_learner_on_dask_equals_pandas_and_refuses_a_cap(study):
    d, cols, hist, exp = study
    index = SurrogateIndexTransformer(LinearRegression(), covariate_cols=list(range(6)))
    index.fit(hist.to_numpy(), d.y_hist)
    X = exp.iloc[:, :6]
    S = exp.to_numpy()[:, 6:]
    learner = SurrogatePolicyLearner(FrozenEstimator(index), random_state=0).fit(
        X, surrogates=S, treatment=d.treatment, propensity=d.propensity
    )
    Xd = dd.from_pandas(X, npartitions=3)
    got = learner.predict(Xd).compute()
    pd.testing.assert_index_equal(got.index, X.index)
    np.testing.assert_array_equal(got.to_numpy(), learner.predict(X))
    capped = SurrogatePolicyLearner(
        FrozenEstimator(index),
        DRPolicyClassifier(control=0, max_treated_fraction=0.2, cv=2),
        random_state=0,
    ).fit(X, surrogates=S, treatment=d.treatment, propensity=d.propensity)
    with pytest.raises(ValueError, match="max_treated_fraction=0.2 ranks all rows together"):
        capped.predict(Xd)
