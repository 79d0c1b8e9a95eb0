"""Fits shared by the twin tests (session scope: each configuration is fit once)."""

import warnings

import pytest
from sklearn.exceptions import ConvergenceWarning

from tests.twin._acceptance import QUICK, STANDARD, Survey, fit_model


@pytest.fixture(scope="session")
def quick_survey():
    return Survey(QUICK["n_per_cell"])


@pytest.fixture(scope="session")
def quick_full(quick_survey):
    return fit_model(quick_survey, QUICK["max_epochs"], model=4)


@pytest.fixture(scope="session")
def quick_linear(quick_survey):
    return fit_model(quick_survey, QUICK["max_epochs"], model=1)


@pytest.fixture(scope="session")
def small_survey():
    """360 respondents: enough to exercise every query quickly."""
    return Survey(30)


@pytest.fixture(scope="session")
def small_fit(small_survey):
    """Same network configuration as the quick model (the compiled step is reused)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fit_model(small_survey, 4, model=4, early_stopping=False)


@pytest.fixture(scope="session")
def standard_survey():
    return Survey(STANDARD["n_per_cell"])


@pytest.fixture(scope="session")
def standard_models(standard_survey):
    return {m: fit_model(standard_survey, STANDARD["max_epochs"], model=m) for m in (1, 2, 3, 4)}
