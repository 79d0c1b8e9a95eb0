"""The registry of public estimators that ``tests/test_common.py`` runs every shared check on.

Each method contributes entries from its own file ``tests/<method>/common_entries.py``,
which defines ``ENTRIES: list[Entry]``. This module gathers them, so adding an estimator
never means editing a shared file.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

METHODS = ("clv", "surrogate", "policy", "pomdp", "twin", "allocation")

# sklearn checks that call ``fit(X, y)`` on sklearn's own random data. An estimator whose
# fit needs more than X and a plain 1-D y (the realised treatment, a packed target,
# experimental surrogates) stops in each of them with its own clear error; such an entry
# lists these with the reason, and tests the same behaviours on real inputs in its folder.
CHECKS_THAT_FIT_ON_RANDOM_DATA = (
    "check_dict_unchanged",
    "check_dont_overwrite_parameters",
    "check_dtype_object",
    "check_estimators_dtypes",
    "check_estimators_fit_returns_self",
    "check_estimators_nan_inf",
    "check_estimators_overwrite_params",
    "check_estimators_pickle",
    "check_estimators_pickle(readonly_memmap=True)",
    "check_f_contiguous_array_estimator",
    "check_fit2d_1feature",
    "check_fit2d_1sample",
    "check_fit2d_predict1d",
    "check_fit_check_is_fitted",
    "check_fit_idempotent",
    "check_fit_score_takes_y",
    "check_methods_sample_order_invariance",
    "check_methods_subset_invariance",
    "check_n_features_in",
    "check_n_features_in_after_fitting",
    "check_pipeline_consistency",
    "check_positive_only_tag_during_fit",
    "check_readonly_memmap_input",
)
SAMPLE_WEIGHT_CHECKS = (
    "check_all_zero_sample_weights_error",
    "check_sample_weight_equivalence_on_dense_data",
    "check_sample_weights_list",
    "check_sample_weights_not_an_array",
    "check_sample_weights_not_overwritten",
    "check_sample_weights_pandas_series",
    "check_sample_weights_shape",
)


@dataclass
class FitData:
    """Arguments of one ``fit`` call: ``est.fit(X, y, **fit_params)`` (``y`` omitted if None)."""

    X: Any
    y: Any = None
    fit_params: dict = field(default_factory=dict)

    def fit(self, estimator):
        if self.y is None:
            return estimator.fit(self.X, **self.fit_params)
        return estimator.fit(self.X, self.y, **self.fit_params)


@dataclass
class Entry:
    """One estimator configuration under test.

    Attributes
    ----------
    estimator : BaseEstimator
        An unfitted instance in a small, fast configuration, with ``random_state`` set
        where the estimator has one.
    data : callable returning FitData
        Small valid fit data (a simulator call with a fixed seed).
    output_method : str
        Method whose output must be reproducible and survive pickling, called as
        ``getattr(fitted, output_method)(data.X, **output_kwargs)``.
    output_kwargs : dict
        Extra arguments of that call.
    expected_failed_checks : dict
        ``{check_name: reason}`` for sklearn checks the estimator legitimately cannot pass;
        the reason is part of the registry and must say why.
    check_estimator : bool
        Whether to run ``parametrize_with_checks`` at all on this entry (set False only
        for a second configuration of an estimator whose main entry already runs them).
    id : str
        Test id; defaults to the class name.
    """

    estimator: Any
    data: Callable[[], FitData]
    output_method: str = "predict"
    output_kwargs: dict = field(default_factory=dict)
    expected_failed_checks: dict = field(default_factory=dict)
    check_estimator: bool = True
    id: str | None = None

    @property
    def name(self) -> str:
        return self.id or type(self.estimator).__name__


def collect_entries() -> list[Entry]:
    """All entries of every ``tests/<method>/common_entries.py`` that exists."""
    entries: list[Entry] = []
    here = Path(__file__).parent
    for method in METHODS:
        if (here / method / "common_entries.py").exists():
            module = importlib.import_module(f"tests.{method}.common_entries")
            entries.extend(module.ENTRIES)
    names = [e.name for e in entries]
    duplicated = {n for n in names if names.count(n) > 1}
    if duplicated:
        raise ValueError(f"registry entries need unique ids; repeated: {sorted(duplicated)}")
    return entries
