"""Policy scoring of a Dask DataFrame equals the pandas path, partition by partition."""

import numpy as np
import pandas as pd
import pytest

from skcrm.datasets import make_surrogate_targeting
from skcrm.policy import DRPolicyClassifier, PolicyTreeClassifier

dd = pytest.importorskip("dask.dataframe")
dask = pytest.importorskip("dask")


@pytest.fixture(scope="module")
def data():
    d = make_surrogate_targeting(10, 800, n_actions=4, random_state=3)
    X = pd.DataFrame(d.X, columns=d.feature_names[: d.X.shape[1]])
    X.index = pd.Index(np.arange(len(X)) * 7 + 100, name="customer_id")
    labels = np.array(["none", "email", "call", "mail"])
    return X, d.y_long, labels[d.treatment], d.propensity, d.mu


@pytest.fixture(scope="module")
def policy(data):
    X, y, t, p, _ = data
    prop = pd.DataFrame(p, columns=["none", "email", "call", "mail"])
    return DRPolicyClassifier(control="none", cv=2, random_state=0).fit(
        X, y, treatment=t, propensity=prop
    )


@pytest.fixture(autouse=True)
def synchronous():
    with dask.config.set(scheduler="synchronous"):
        yield


@pytest.mark.parametrize(
    "method", ["predict", "predict_proba", "decision_function", "predict_value"]
)
def test_dr_policy_scoring_on_dask_equals_pandas(data, policy, method):
    X = data[0]
    expected = getattr(policy, method)(X)
    got = getattr(policy, method)(dd.from_pandas(X, npartitions=3))
    assert type(got).__module__.startswith("dask")
    got = got.compute()
    pd.testing.assert_index_equal(got.index, X.index)
    np.testing.assert_array_equal(np.asarray(got).reshape(expected.shape), expected)
    if method == "predict":
        assert set(got.unique()) <= {"none", "email", "call", "mail"}


def test_a_treated_share_cap_is_refused_on_dask_instead_of_capped_per_partition(data):
    X, y, t, p, _ = data
    capped = DRPolicyClassifier(control="none", max_treated_fraction=0.3, cv=2, random_state=0).fit(
        X, y, treatment=t, propensity=pd.DataFrame(p, columns=["none", "email", "call", "mail"])
    )
    ddf = dd.from_pandas(X, npartitions=4)
    # what per-partition capping would have done: 30% of each partition, not the top 30%
    full = capped.predict(X)
    per_part = np.concatenate([capped.predict(X.iloc[s]) for s in np.array_split(range(len(X)), 4)])
    assert (full != per_part).any()
    with pytest.raises(ValueError, match="max_treated_fraction=0.3 ranks all rows together"):
        capped.predict(ddf)
    with pytest.raises(ValueError, match="max_treated_fraction"):
        capped.predict_proba(ddf)
    # the row-wise values still map
    np.testing.assert_array_equal(
        capped.decision_function(ddf).compute().to_numpy(), capped.decision_function(X)
    )


def test_policy_tree_scoring_on_dask_equals_pandas(data):
    X, *_, mu = data
    tree = PolicyTreeClassifier(max_depth=2).fit(X, mu)
    ddf = dd.from_pandas(X, npartitions=3)
    for method in ("predict", "predict_proba", "apply_actions"):
        expected = getattr(tree, method)(X)
        got = getattr(tree, method)(ddf).compute()
        pd.testing.assert_index_equal(got.index, X.index)
        np.testing.assert_array_equal(np.asarray(got).reshape(expected.shape), expected)
