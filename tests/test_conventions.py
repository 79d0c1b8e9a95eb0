"""One name per meaning across every public estimator (../CONVENTIONS.md).

Walks every registered estimator's ``get_params()`` and fitted attributes: each name must be
in the allowed vocabulary below (a new name is a decision, made here, not by accident), none
may be a retired synonym, every parameter after the first few model objects is keyword-only,
and every fitted attribute is documented under Attributes.
"""

from __future__ import annotations

import inspect
import re

import pytest
from sklearn.base import clone

from tests._registry import collect_entries

ENTRIES = collect_entries()

# name -> the word CONVENTIONS.md uses for the same meaning
RETIRED = {
    "id_col": "customer_col",
    "period_col": "time_col",
    "control_label": "control",
    "control_label_": "control_",
    "treatments_": "actions_",
    "n_treatments_": "actions_",
    "costs": "action_costs",
    "costs_": "action_costs_",
    "n_folds": "cv",
    "gtol": "tol",
    "max_epochs": "max_iter",
    "loglik_": "log_likelihood_",
    "coef_se_": "standard_errors_",
}
# Every public estimator has these (CONVENTIONS.md, "Words").
REQUIRED = ("n_jobs", "verbose", "random_state")
# Model objects that may stay positional, before the ``*``.
MAX_POSITIONAL = 3


def _public_fitted_attributes(est):
    return sorted(k for k in vars(est) if k.endswith("_") and not k.startswith("_"))


def _documented_attributes(cls):
    doc = inspect.getdoc(cls) or ""
    match = re.search(r"^Attributes\n-+\n(.*?)(?:^\S[^\n]*\n-+\n|\Z)", doc, re.M | re.S)
    if not match:
        return set()
    names = set()
    for line in match.group(1).splitlines():  # unindented lines name attributes
        if line and not line[0].isspace():
            names.update(n.strip() for n in line.split(" : ")[0].split(","))
    return names


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.name for e in ENTRIES])
def test_parameters_use_the_conventions_words(entry):
    names = set(entry.estimator.get_params(deep=False))
    retired = {n: RETIRED[n] for n in names & set(RETIRED)}
    assert not retired, f"{entry.name}: rename {retired}"
    missing = [n for n in REQUIRED if n not in names]
    assert not missing, f"{entry.name}: missing {missing}"


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.name for e in ENTRIES])
def test_parameters_are_keyword_only(entry):
    sig = inspect.signature(type(entry.estimator).__init__)
    positional = [
        p.name for p in list(sig.parameters.values())[1:] if p.kind == p.POSITIONAL_OR_KEYWORD
    ]
    assert len(positional) <= MAX_POSITIONAL, f"{entry.name}: positional {positional}"


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.name for e in ENTRIES])
def test_fitted_attributes_use_the_conventions_words_and_are_documented(entry):
    est = entry.data().fit(clone(entry.estimator))
    attrs = _public_fitted_attributes(est)
    retired = {a: RETIRED[a] for a in attrs if a in RETIRED}
    assert not retired, f"{entry.name}: rename {retired}"
    undocumented = sorted(set(attrs) - _documented_attributes(type(est)))
    assert not undocumented, f"{entry.name}: document {undocumented} under Attributes"
