"""Input validation shared by several estimators: tables, columns, event logs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["EventLog", "check_columns", "check_event_log", "check_event_times", "to_time_units"]

_UNIT_DAYS = {"D": 1.0, "W": 7.0}


def check_columns(X, columns, param: str = "X") -> None:
    """Raise a ``ValueError`` naming every column of ``columns`` missing from ``X``.

    Parameters
    ----------
    X : pandas.DataFrame
        The table to look in.
    columns : iterable of str
        Required column names.
    param : str
        Name of the argument, for the message.

    Examples
    --------
    >>> import pandas as pd
    >>> check_columns(pd.DataFrame({"a": [1]}), ["a"])
    >>> check_columns(pd.DataFrame({"a": [1]}), ["a", "b"])
    Traceback (most recent call last):
    ...
    ValueError: X is missing column(s) ['b']; it has ['a']
    """
    if not isinstance(X, pd.DataFrame):
        raise TypeError(f"{param} must be a pandas DataFrame, got {type(X).__name__}")
    missing = [c for c in columns if c not in X.columns]
    if missing:
        raise ValueError(f"{param} is missing column(s) {missing}; it has {list(X.columns)}")


def to_time_units(times, origin=None, unit: str = "W") -> np.ndarray:
    """Convert times to float numbers of ``unit`` since ``origin``.

    Datetimes (or date strings parsed by pandas) become elapsed days (``"D"``) or weeks
    (``"W"``) since ``origin`` (default: the earliest time). Numeric times are returned as
    float64 unchanged, minus ``origin`` if given.

    Parameters
    ----------
    times : array-like
        Datetimes, date strings or numbers.
    origin : datetime-like, number or None, default=None
        Time zero; None -> the earliest time (datetimes) or no shift (numbers).
    unit : {"D", "W"}, default="W"
        Unit of the result for datetimes.

    Returns
    -------
    ndarray of float64
        Elapsed time in ``unit``.

    Examples
    --------
    >>> import pandas as pd
    >>> to_time_units(pd.to_datetime(["1997-01-01", "1997-01-15"]), unit="W")
    array([0., 2.])
    """
    if unit not in _UNIT_DAYS:
        raise ValueError(f"unit must be one of {sorted(_UNIT_DAYS)}, got {unit!r}")
    values = pd.Series(np.asarray(times) if not isinstance(times, pd.Series) else times)
    if pd.api.types.is_datetime64_any_dtype(values) or values.dtype == object:
        stamps = pd.to_datetime(values)
        start = stamps.min() if origin is None else pd.Timestamp(origin)
        days = (stamps - start) / pd.Timedelta(days=1)
        return days.to_numpy(dtype=np.float64) / _UNIT_DAYS[unit]
    out = values.to_numpy(dtype=np.float64)
    return out if origin is None else out - float(origin)


@dataclass(frozen=True)
class EventLog:
    """A validated long table of events, grouped by customer.

    Parameters
    ----------
    customers : ndarray of shape (n_customers,)
        Unique customer ids, in order of first appearance.
    codes : ndarray of int64, shape (n_events,)
        Index into ``customers`` of each row, in the input's row order.
    times : ndarray of float64, shape (n_events,)
        Event times in the requested unit, in the input's row order.
    order : ndarray of int64, shape (n_events,)
        Row permutation that sorts events by (customer code, time).
    """

    customers: np.ndarray
    codes: np.ndarray
    times: np.ndarray
    order: np.ndarray

    @property
    def n_customers(self) -> int:
        return len(self.customers)

    def counts(self) -> np.ndarray:
        """Number of events of each customer."""
        return np.bincount(self.codes, minlength=self.n_customers)


def check_event_times(
    X,
    customer_col: str,
    time_col: str,
    *,
    unit: str = "W",
    origin=None,
    allow_negative: bool = False,
    param: str = "X",
) -> np.ndarray:
    """Validate the id and time columns of an event table; return times in ``unit``.

    The row-wise checks of :func:`check_event_log` without its grouping and sort, for
    callers that sort a large log once themselves. Raises a ``ValueError`` naming the
    column for no rows, a missing id or time, a non-finite time or a negative time (unless
    ``allow_negative``), and a ``TypeError`` for a time column that is neither numeric nor
    datetime.

    Parameters
    ----------
    X : pandas.DataFrame
        The event table.
    customer_col : str
        Column of customer ids.
    time_col : str
        Column of event times (numbers or datetimes).
    unit : {"D", "W"}, default="W"
        Unit of the returned times for datetime columns.
    origin : datetime-like, number or None, default=None
        Time zero (see :func:`to_time_units`).
    allow_negative : bool, default=False
        Accept times before ``origin``.
    param : str, default="X"
        Name of the argument, for messages.

    Returns
    -------
    ndarray of float64
        Event times in ``unit``, in row order.

    Examples
    --------
    >>> import pandas as pd
    >>> check_event_times(pd.DataFrame({"id": [1, 1], "t": [0.0, 7.0]}), "id", "t")
    array([0., 7.])
    """
    check_columns(X, [customer_col, time_col], param)
    if len(X) == 0:
        raise ValueError(f"{param} has no rows; at least one event is required")
    ids = X[customer_col]
    if ids.isna().any():
        rows = np.flatnonzero(ids.isna().to_numpy())[:5].tolist()
        raise ValueError(f"column {customer_col!r} has missing customer ids (rows {rows})")
    raw_times = X[time_col]
    if raw_times.isna().any():
        rows = np.flatnonzero(raw_times.isna().to_numpy())[:5].tolist()
        raise ValueError(f"column {time_col!r} has missing times (rows {rows})")
    try:
        times = to_time_units(raw_times, origin=origin, unit=unit)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"column {time_col!r} must hold numbers or datetimes, got {raw_times.dtype}"
        ) from exc
    if not np.all(np.isfinite(times)):
        raise ValueError(f"column {time_col!r} has non-finite times")
    if not allow_negative and np.any(times < 0):
        raise ValueError(f"column {time_col!r} has negative times (min {times.min():g})")
    return times


def check_event_log(
    X,
    customer_col: str,
    time_col: str,
    *,
    unit: str = "W",
    origin=None,
    allow_negative: bool = False,
    allow_duplicates: bool = False,
    require_sorted: bool = False,
    param: str = "X",
) -> EventLog:
    """Validate a long event table (one row per event) and group it by customer.

    Raises a ``ValueError`` naming the column for a missing customer id or time, a
    negative time, a duplicated (customer, time) pair unless ``allow_duplicates``, and
    rows out of time order within a customer when ``require_sorted``.

    Parameters
    ----------
    X : pandas.DataFrame
        The event table.
    customer_col : str
        Column of customer ids.
    time_col : str
        Column of event times (numbers or datetimes).
    unit : {"D", "W"}, default="W"
        Unit of the returned times for datetime columns.
    origin : datetime-like, number or None, default=None
        Time zero (see :func:`to_time_units`).
    allow_negative : bool, default=False
        Accept times before ``origin``.
    allow_duplicates : bool, default=False
        Accept two events of one customer at the same time.
    require_sorted : bool, default=False
        Require rows in time order within each customer.
    param : str, default="X"
        Name of the argument, for messages.

    Returns
    -------
    EventLog
        Customers, row codes, times and the sorting permutation.

    Examples
    --------
    >>> import pandas as pd
    >>> log = pd.DataFrame({"id": ["a", "b", "a"], "t": [0.0, 1.0, 2.5]})
    >>> ev = check_event_log(log, "id", "t")
    >>> ev.customers.tolist(), ev.codes.tolist(), ev.counts().tolist()
    (['a', 'b'], [0, 1, 0], [2, 1])
    """
    times = check_event_times(
        X,
        customer_col,
        time_col,
        unit=unit,
        origin=origin,
        allow_negative=allow_negative,
        param=param,
    )
    ids = X[customer_col]
    codes, customers = pd.factorize(ids, sort=False)
    codes = codes.astype(np.int64)
    order = np.lexsort((times, codes))
    sc, st = codes[order], times[order]
    same = sc[1:] == sc[:-1]
    if not allow_duplicates and np.any(same & (st[1:] == st[:-1])):
        dup = np.asarray(customers)[sc[1:][same & (st[1:] == st[:-1])][0]].item()
        raise ValueError(
            f"duplicate events: customer {dup!r} has two rows at the same {time_col!r}"
        )
    if require_sorted:
        # within each customer, input row order must already be time order
        stable = np.lexsort((np.arange(len(codes)), codes))
        t_in = times[stable]
        if np.any(same & (t_in[1:] < t_in[:-1])):
            raise ValueError(f"rows are not sorted by {time_col!r} within {customer_col!r}")
    return EventLog(np.asarray(customers), codes, times, order)
