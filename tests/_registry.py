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
