"""Fixtures shared by the clv tests."""

import pytest

from skcrm.clv import AttributeBGNBD
from skcrm.datasets import make_attribute_bgnbd_data


@pytest.fixture(scope="module")
def dynamic_model():
    """A fitted model with evolving coefficients (Eqs. 8-9) and its transaction log."""
    coef = {"first": -0.2, "attr": 0.3, "cont": -0.3, "attr->attr": 0.25, "attr:drift": -0.05}
    tx, _ = make_attribute_bgnbd_data(
        800, coef=coef, dynamic_cols=["attr"], observation_end=52.0, random_state=9
    )
    m = AttributeBGNBD(
        attribute_cols=["attr", "cont"],
        dynamic_cols=["attr"],
        dynamic_terms=[("attr", "attr"), ("drift", "attr")],
        first_transaction_effect=True,
        observation_end=60.0,
    ).fit(tx)
    return m, tx
