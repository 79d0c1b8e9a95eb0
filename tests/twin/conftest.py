"""Fits shared by the twin tests (session scope: each configuration is fit once)."""

import warnings

import pytest
from sklearn.exceptions import ConvergenceWarning

from tests.twin._acceptance import QUICK, Survey, fit_model


@pytest.fixture(scope="session")
def quick_survey():
    return Survey(QUICK["n_per_cell"])


@pytest.fixture(scope="session")
def small_survey():
    """360 respondents: enough to exercise every query quickly."""
    return Survey(30)


@pytest.fixture(scope="session")
def small_fit(small_survey):
    """Same network configuration as the acceptance fits (the compiled step is reused)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fit_model(small_survey, 4, model=4, early_stopping=False)
