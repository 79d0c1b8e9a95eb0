"""The registry and the shared checks themselves behave as documented."""

import numpy as np
import pandas as pd
import pytest

from tests._registry import METHODS, Entry, FitData, collect_entries
from tests.test_common import _forbidden_objects, assert_same_output


def test_registry_entries_are_unique_and_well_formed():
    entries = collect_entries()
    for entry in entries:
        assert isinstance(entry, Entry)
        assert callable(entry.data)
        assert hasattr(entry.estimator, entry.output_method), entry.name
    assert len({e.name for e in entries}) == len(entries)
    assert set(METHODS) == {"clv", "surrogate", "policy", "pomdp", "twin", "allocation"}


def test_fitdata_passes_y_only_when_given():
    calls = []

    class Recorder:
        def fit(self, *args, **kwargs):
            calls.append((args, kwargs))
            return self

    FitData(X=1).fit(Recorder())
    FitData(X=1, y=2, fit_params={"treatment": 3}).fit(Recorder())
    assert calls == [((1,), {}), ((1, 2), {"treatment": 3})]


def test_assert_same_output_detects_differences():
    frame = pd.DataFrame({"a": [1.0, 2.0]})
    assert_same_output({"x": (frame, np.arange(3))}, {"x": (frame.copy(), np.arange(3))})
    with pytest.raises(AssertionError):
        assert_same_output(frame, frame + 1e-12)
    with pytest.raises(AssertionError):
        assert_same_output(np.zeros(2), np.ones(2))


def test_forbidden_objects_found_in_nested_state():
    class FakeJaxArray:
        pass

    FakeJaxArray.__module__ = "jaxlib.xla_extension"
    assert _forbidden_objects({"w": [FakeJaxArray()]}, "est", set()) == [
        "est['w'][0]: jaxlib.xla_extension.FakeJaxArray"
    ]
    assert _forbidden_objects({"w": [np.zeros(2), 1.0, "s"]}, "est", set()) == []


def _ridge_entry():
    from sklearn.linear_model import Ridge

    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + rng.normal(scale=0.1, size=30)
    return Entry(Ridge(alpha=0.5), lambda: FitData(X, y))


def test_shared_checks_pass_on_a_conforming_estimator(tmp_path):
    import tests.test_common as common

    entry = _ridge_entry()
    common.test_clone_and_params_round_trip(entry)
    common.test_unfitted_estimator_raises_not_fitted(entry)
    common.test_same_random_state_same_result(entry)
    common.test_fitted_state_is_numpy_and_plain_python(entry)
    common.test_pickle_round_trip_in_fresh_process(entry, tmp_path)


def test_shared_checks_catch_a_nondeterministic_estimator():
    from sklearn.base import BaseEstimator, RegressorMixin

    import tests.test_common as common

    class Noisy(RegressorMixin, BaseEstimator):
        def fit(self, X, y):
            self.coef_ = np.random.default_rng().normal()  # ignores any random_state
            return self

        def predict(self, X):
            return np.full(len(X), self.coef_)

    entry = Entry(Noisy(), _ridge_entry().data)
    with pytest.raises(AssertionError):
        common.test_same_random_state_same_result(entry)
