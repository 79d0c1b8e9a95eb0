"""Checks every registered public estimator must pass (see ``tests/_registry.py``).

- scikit-learn's own estimator checks, with each legitimately failing check listed in
  the estimator's registry entry together with the reason;
- ``get_params``/``set_params``/``clone`` round-trip;
- two fits with the same ``random_state`` give identical results;
- a pickle round-trip into a fresh Python process predicts identically;
- the fitted state holds numpy arrays and plain Python, no live JAX/flax/cvxpy objects.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import parametrize_with_checks

from tests._registry import collect_entries

ENTRIES = collect_entries()
IDS = [e.name for e in ENTRIES]
_FAILS_BY_ESTIMATOR = {id(e.estimator): e.expected_failed_checks for e in ENTRIES}
_FORBIDDEN_MODULES = ("jax", "jaxlib", "flax", "optax", "cvxpy", "numpyro", "xgboost")


def _expected_failed_checks(estimator):
    return _FAILS_BY_ESTIMATOR.get(id(estimator), {})


@parametrize_with_checks(
    [e.estimator for e in ENTRIES if e.check_estimator],
    expected_failed_checks=_expected_failed_checks,
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_registered_failures_give_reasons():
    for entry in ENTRIES:
        for check, reason in entry.expected_failed_checks.items():
            assert isinstance(reason, str) and len(reason.split()) >= 3, (
                f"{entry.name}: expected failure of {check} needs a real reason, got {reason!r}"
            )


def assert_same_output(a, b):
    """Exact equality of estimator outputs (arrays, pandas objects, tuples, dicts)."""
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    elif isinstance(a, pd.Series):
        pd.testing.assert_series_equal(a, b, check_exact=True)
    elif isinstance(a, dict):
        assert a.keys() == b.keys()
        for key in a:
            assert_same_output(a[key], b[key])
    elif isinstance(a, tuple | list):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            assert_same_output(x, y)
    else:
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def _output(entry, fitted, data):
    return getattr(fitted, entry.output_method)(data.X, **entry.output_kwargs)


def _params_equal(p, q) -> bool:
    if isinstance(p, BaseEstimator):
        return type(p) is type(q) and _all_params_equal(p, q)
    return joblib.hash(p) == joblib.hash(q)


def _all_params_equal(a, b) -> bool:
    pa, pb = a.get_params(deep=False), b.get_params(deep=False)
    return pa.keys() == pb.keys() and all(_params_equal(pa[k], pb[k]) for k in pa)


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_clone_and_params_round_trip(entry):
    est = entry.estimator
    twin = clone(est)
    assert type(twin) is type(est)
    assert _all_params_equal(est, twin)
    twin.set_params(**est.get_params(deep=False))
    assert _all_params_equal(est, twin)
    assert repr(twin) == repr(est)


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_unfitted_estimator_raises_not_fitted(entry):
    data = entry.data()
    with pytest.raises(NotFittedError):
        _output(entry, clone(entry.estimator), data)


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_same_random_state_same_result(entry):
    data = entry.data()
    first = _output(entry, data.fit(clone(entry.estimator)), data)
    second = _output(entry, data.fit(clone(entry.estimator)), data)
    assert_same_output(first, second)


def _forbidden_objects(value, path, seen):
    if id(value) in seen:
        return []
    seen.add(id(value))
    module = type(value).__module__.split(".")[0]
    if module in _FORBIDDEN_MODULES:
        return [f"{path}: {type(value).__module__}.{type(value).__name__}"]
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _forbidden_objects(item, f"{path}[{key!r}]", seen)
    elif isinstance(value, list | tuple | set):
        for i, item in enumerate(value):
            found += _forbidden_objects(item, f"{path}[{i}]", seen)
    elif isinstance(value, BaseEstimator):
        for key, item in vars(value).items():
            found += _forbidden_objects(item, f"{path}.{key}", seen)
    return found


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_fitted_state_is_numpy_and_plain_python(entry):
    fitted = entry.data().fit(clone(entry.estimator))
    found = _forbidden_objects(fitted, type(fitted).__name__, set())
    assert not found, f"live framework objects in fitted state: {found}"


_CHILD = textwrap.dedent(
    """
    import sys, joblib
    est, X, method, kwargs = joblib.load(sys.argv[1])
    joblib.dump(getattr(est, method)(X, **kwargs), sys.argv[2])
    """
)


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_pickle_round_trip_in_fresh_process(entry, tmp_path: Path):
    data = entry.data()
    fitted = data.fit(clone(entry.estimator))
    expected = _output(entry, fitted, data)
    bundle, result = tmp_path / "model.joblib", tmp_path / "out.joblib"
    joblib.dump((fitted, data.X, entry.output_method, entry.output_kwargs), bundle)
    root = Path(__file__).resolve().parents[1]
    subprocess.run(
        [sys.executable, "-c", _CHILD, str(bundle), str(result)],
        check=True,
        cwd=root,
        timeout=300,
    )
    assert_same_output(expected, joblib.load(result))
