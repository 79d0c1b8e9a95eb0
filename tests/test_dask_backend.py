"""Every ``n_jobs`` loop gives identical results under joblib's Dask backend.

For each registered estimator with ``n_jobs``: fit with ``n_jobs=2`` under the default
(loky) backend and under ``joblib.parallel_config(backend="dask")`` on a
``distributed.LocalCluster``; the fitted outputs must be equal bit for bit, so users can scale
cross-fitting, bootstraps, restarts and per-pattern solves out to a cluster unchanged.
"""

from __future__ import annotations

import joblib
import pytest
from sklearn.base import clone

from tests._registry import collect_entries
from tests.test_common import assert_same_output

distributed = pytest.importorskip("distributed")

ENTRIES = [e for e in collect_entries() if "n_jobs" in e.estimator.get_params(deep=False)]
# Settings that make each estimator's fit run its parallel loop (restarts, bootstraps...).
LOOPS = {
    "POMDPPolicy-logit-covariates": {},  # one POMDP solve per covariate pattern
    "DRPolicyClassifier": {"n_bootstrap": 2},
}


@pytest.fixture(scope="module")
def dask_client():
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def _fit_output(entry, backend=None):
    data = entry.data()
    est = clone(entry.estimator).set_params(n_jobs=2, **LOOPS.get(entry.name, {}))
    if backend is None:
        fitted = data.fit(est)
    else:
        with joblib.parallel_config(backend=backend):
            fitted = data.fit(est)
    return getattr(fitted, entry.output_method)(data.X, **entry.output_kwargs)


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.name for e in ENTRIES])
def test_n_jobs_loops_are_identical_under_the_dask_backend(entry, dask_client):
    with distributed.get_task_stream(dask_client) as stream:
        on_dask = _fit_output(entry, "dask")
    if entry.name in LOOPS:
        assert stream.data, f"{entry.name}: no task reached the Dask cluster"
    assert_same_output(on_dask, _fit_output(entry))
