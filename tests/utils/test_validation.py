import numpy as np
import pandas as pd
import pytest

from skcrm.utils import check_columns, check_event_log, progress, to_time_units


def test_event_log_groups_and_orders_by_customer_then_time():
    log = pd.DataFrame({"id": ["b", "a", "b", "a"], "t": [3.0, 2.0, 1.0, 0.5]})
    ev = check_event_log(log, "id", "t")
    assert ev.customers.tolist() == ["b", "a"]
    assert ev.codes.tolist() == [0, 1, 0, 1]
    assert ev.order.tolist() == [2, 0, 3, 1]
    assert ev.counts().tolist() == [2, 2]


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pd.DataFrame({"id": [1, None], "t": [0.0, 1.0]}), "'id' has missing customer ids"),
        (pd.DataFrame({"id": [1, 2], "t": [0.0, np.nan]}), "'t' has missing times"),
        (pd.DataFrame({"id": [1, 2], "t": [0.0, -1.0]}), "'t' has negative times"),
        (pd.DataFrame({"id": [1, 1], "t": [2.0, 2.0]}), "duplicate events: customer 1"),
        (pd.DataFrame({"id": [1], "time": [2.0]}), r"missing column\(s\) \['t'\]"),
        (pd.DataFrame({"id": [], "t": []}), "has no rows"),
    ],
)
def test_event_log_rejects_bad_input_naming_the_column(frame, message):
    with pytest.raises(ValueError, match=message):
        check_event_log(frame, "id", "t")


def test_event_log_sorted_requirement():
    log = pd.DataFrame({"id": [1, 1, 2], "t": [2.0, 1.0, 0.0]})
    check_event_log(log, "id", "t")  # unsorted rows are fine unless required
    with pytest.raises(ValueError, match="not sorted by 't' within 'id'"):
        check_event_log(log, "id", "t", require_sorted=True)


def test_event_log_rejects_non_time_column():
    with pytest.raises(TypeError, match="'t' must hold numbers or datetimes"):
        check_event_log(pd.DataFrame({"id": [1], "t": ["soon"]}), "id", "t")


def test_time_units_from_dates_and_numbers():
    dates = pd.Series(pd.to_datetime(["1997-01-01", "1997-01-08", "1997-01-04"]))
    np.testing.assert_allclose(to_time_units(dates, unit="W"), [0.0, 1.0, 3 / 7])
    np.testing.assert_allclose(to_time_units(dates, origin="1996-12-31", unit="D"), [1, 8, 4])
    np.testing.assert_allclose(to_time_units([1.0, 2.5], origin=1.0), [0.0, 1.5])
    with pytest.raises(ValueError, match="unit must be one of"):
        to_time_units([1.0], unit="M")


def test_check_columns_requires_a_dataframe():
    with pytest.raises(TypeError, match="X must be a pandas DataFrame, got ndarray"):
        check_columns(np.zeros((2, 2)), ["a"])


def test_progress_is_transparent():
    assert list(progress(iter([1, 2]), verbose=0)) == [1, 2]
    assert list(progress([1, 2], verbose=1, desc="x")) == [1, 2]
