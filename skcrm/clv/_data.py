"""Input conversion: transaction logs and RFM summaries to flat arrays, and log helpers."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..utils import check_columns, check_event_times, to_time_units
from ._features import dynamic_feature_names, dynamic_features
from ._solver import Histories
from ._warn import warn

__all__ = [
    "transactions_from_log",
    "rfm_summary",
    "calibration_holdout_split",
]


# calendar units without a fixed length: their mean length in days (Gregorian year / 12)
_CALENDAR_DAYS = {
    "M": 30.436875,
    "MS": 30.436875,
    "ME": 30.436875,
    "Q": 91.310625,
    "QS": 91.310625,
    "QE": 91.310625,
    "Y": 365.2425,
    "YS": 365.2425,
    "YE": 365.2425,
    "A": 365.2425,
}


def unit_days(unit):
    """Length of one model time unit in days: any pandas Timedelta unit ("h", "D", "W",
    "min", ...) or a calendar unit ("M", "Q", "Y": their mean Gregorian length).

    Examples
    --------
    >>> unit_days("W"), unit_days("h"), unit_days("M")
    (7.0, 0.041666666666666664, 30.436875)
    """
    if not isinstance(unit, str):
        raise TypeError(f"time_unit must be a string such as 'W', 'D', 'h' or 'M', got {unit!r}")
    if unit in _CALENDAR_DAYS:
        return _CALENDAR_DAYS[unit]
    try:
        days = pd.Timedelta(1, unit=unit) / pd.Timedelta(days=1)
    except (ValueError, TypeError) as err:
        raise ValueError(
            f"time_unit={unit!r} is not a pandas time unit; use e.g. 'W', 'D', 'h', 'min' or "
            "'M' (mean month)"
        ) from err
    return float(days)


def _time_value(value, origin, unit):
    """A scalar observation end / split time in model units (numbers pass through)."""
    if value is None:
        return None
    if isinstance(value, int | float | np.integer | np.floating):
        return float(value)
    stamp = pd.Series([pd.Timestamp(value)])
    return float(to_time_units(stamp, origin=origin, unit="D")[0]) / unit_days(unit)


def transactions_from_log(
    log,
    customer_col="customer_id",
    time_col="date",
    value_cols=None,
    aggregate="sum",
    time_unit="W",
    origin=None,
    out_time_col="t",
):
    """Merge same-day transactions and convert calendar dates to model time.

    CDNOW-style logs have several rows per customer and day; the BG/NBD counts distinct
    purchase days (Fader, Hardie & Lee 2005). Each (customer, day) becomes one row whose
    ``value_cols`` are summed (``aggregate="sum"``) or taken from the day's last row
    (``"last"``).

    Parameters
    ----------
    log : pandas.DataFrame
        One row per raw transaction.
    customer_col, time_col : str
        Customer id and datetime columns.
    value_cols : list of str, optional
        Numeric columns to aggregate per customer-day.
    aggregate : {"sum", "last"}
        How to merge ``value_cols`` within a day.
    time_unit : str
        Any pandas time unit ("W", "D", "h", ...) or "M"/"Q"/"Y" (mean calendar lengths).
        Unit of the output time column.
    origin : date-like, optional
        Time zero (default: the earliest date).
    out_time_col : str
        Name of the output time column.

    Returns
    -------
    pandas.DataFrame
        Columns ``customer_col``, ``out_time_col`` (float, model units), ``value_cols`` and
        ``n_rows`` (raw rows merged), sorted by customer and time.

    Examples
    --------
    >>> log = pd.DataFrame({"id": [1, 1, 1], "date": pd.to_datetime(
    ...     ["1997-01-01", "1997-01-01", "1997-01-15"]), "cds": [1, 2, 1]})
    >>> transactions_from_log(log, "id", "date", ["cds"]).to_dict("list")
    {'id': [1, 1], 't': [0.0, 2.0], 'cds': [3, 1], 'n_rows': [2, 1]}
    """
    if aggregate not in ("sum", "last"):
        raise ValueError(f"aggregate must be 'sum' or 'last', got {aggregate!r}")
    value_cols = list(value_cols or [])
    check_columns(log, [customer_col, time_col, *value_cols], "log")
    day = pd.to_datetime(log[time_col]).dt.normalize()
    frame = log[[customer_col, *value_cols]].copy()
    frame["_day"] = day
    grouped = frame.groupby([customer_col, "_day"], sort=True)
    out = grouped[value_cols].agg(aggregate) if value_cols else grouped.size().to_frame("_n")
    out["n_rows"] = grouped.size()
    out = out.drop(columns=["_n"], errors="ignore").reset_index()
    start = pd.Timestamp(origin) if origin is not None else out["_day"].min()
    out[out_time_col] = to_time_units(out["_day"], origin=start, unit="D") / unit_days(time_unit)
    return out[[customer_col, out_time_col, *value_cols, "n_rows"]]


def rfm_summary(
    transactions,
    customer_col="customer_id",
    time_col="t",
    observation_end=None,
    monetary_col=None,
):
    """Per-customer (frequency, recency, T) in lifetimes conventions from a long table.

    frequency = repeat transactions, recency = t_x - t_1, T = observation_end - t_1. With
    ``monetary_col``, also ``monetary_value``: the mean of that column over the repeat
    transactions (the first excluded, 0 without a repeat), the input of
    :class:`GammaGammaSpend` (lifetimes' convention). Merge same-day rows first
    (:func:`transactions_from_log`).

    Parameters
    ----------
    transactions : pandas.DataFrame
        Long table, one row per transaction (numeric times).
    customer_col, time_col : str
        Customer id and time columns.
    observation_end : float, optional
        End of the observation period (default: the last transaction).
    monetary_col : str, optional
        Spend column; adds ``monetary_value``.

    Returns
    -------
    pandas.DataFrame
        ``frequency``, ``recency``, ``T`` (and ``monetary_value``), indexed by customer.

    Examples
    --------
    >>> tx = pd.DataFrame({"id": [1, 1, 2], "t": [0.0, 3.0, 1.0], "v": [5.0, 7.0, 2.0]})
    >>> rfm_summary(tx, "id", "t", observation_end=5.0, monetary_col="v").to_dict("list")
    {'frequency': [1, 0], 'recency': [3.0, 0.0], 'T': [5.0, 4.0], 'monetary_value': [7.0, 0.0]}
    """
    cols = [customer_col, time_col] + ([monetary_col] if monetary_col else [])
    check_columns(transactions, cols, "transactions")
    t = transactions.groupby(customer_col, sort=True)[time_col]
    end = t.max().max() if observation_end is None else float(observation_end)
    first, last = t.min(), t.max()
    out = pd.DataFrame(
        {
            "frequency": (t.count() - 1).astype(np.int64),
            "recency": (last - first).astype(float),
            "T": (end - first).astype(float),
        }
    )
    if monetary_col:
        ordered = transactions.sort_values([customer_col, time_col], kind="mergesort")
        repeat = ordered[ordered.groupby(customer_col).cumcount() > 0]
        mean = repeat.groupby(customer_col)[monetary_col].mean()
        out["monetary_value"] = mean.reindex(out.index, fill_value=0.0).astype(float)
    return out


def calibration_holdout_split(
    transactions,
    calibration_end,
    observation_end,
    customer_col="customer_id",
    time_col="t",
    time_unit="W",
):
    """Split a long table into the calibration rows and holdout counts per customer.

    Customers are those with a first transaction at or before ``calibration_end``. The split
    points are numbers (numeric time column) or dates (datetime column; strings parse).

    Parameters
    ----------
    transactions : pandas.DataFrame
        Long table, one row per transaction.
    calibration_end, observation_end : float or date-like
        End of calibration and of the holdout.
    customer_col, time_col : str
        Customer id and time columns.
    time_unit : str, default="W"
        Unit of ``holdout_length`` for dates (any pandas unit, or "M"/"Q"/"Y").

    Returns
    -------
    calibration : pandas.DataFrame
        Rows with time <= calibration_end of those customers.
    holdout_counts : pandas.Series
        Transactions in (calibration_end, observation_end] per customer (sorted index).
    holdout_length : float
        observation_end - calibration_end (in ``time_unit`` for dates).

    Examples
    --------
    >>> tx = pd.DataFrame({"id": [1, 1, 2, 3], "t": [0.0, 3.0, 1.0, 4.0]})
    >>> cal, hold, length = calibration_holdout_split(tx, 2.0, 5.0, "id", "t")
    >>> cal["id"].tolist(), hold.to_dict(), length
    ([1, 2], {1: 1, 2: 0}, 3.0)
    >>> log = tx.assign(t=pd.Timestamp("2024-01-01") + pd.to_timedelta(tx["t"] * 7, "D"))
    >>> cal, hold, length = calibration_holdout_split(log, "2024-01-15", "2024-02-05", "id", "t")
    >>> hold.to_dict(), length
    ({1: 1, 2: 0}, 3.0)
    """
    check_columns(transactions, [customer_col, time_col], "transactions")
    col = transactions[time_col]
    if pd.api.types.is_datetime64_any_dtype(col) or col.dtype == object:
        t = pd.to_datetime(col)
        cal_end, obs_end = pd.Timestamp(calibration_end), pd.Timestamp(observation_end)
        length = (obs_end - cal_end) / pd.Timedelta(days=unit_days(time_unit))
        first = t.groupby(transactions[customer_col]).transform("min")
    else:
        t = col.to_numpy(dtype=float)
        cal_end, obs_end = float(calibration_end), float(observation_end)
        length = obs_end - cal_end
        first = transactions.groupby(customer_col)[time_col].transform("min").to_numpy(float)
    if obs_end < cal_end:
        raise ValueError(
            f"observation_end ({observation_end}) must not precede calibration_end "
            f"({calibration_end})"
        )
    keep = np.asarray(first <= cal_end)
    t_cal, t_late = np.asarray(t <= cal_end), np.asarray((t > cal_end) & (t <= obs_end))
    cal = transactions[keep & t_cal]
    hold_rows = transactions[keep & t_late]
    ids = np.sort(cal[customer_col].unique())
    counts = hold_rows.groupby(customer_col).size().reindex(ids, fill_value=0)
    counts.index.name = customer_col
    return cal, counts.astype(np.int64), float(length)


def _event_times(X, customer_col, time_col, unit, origin):
    """Validated event times in model units (``check_event_times``: the checks of
    ``check_event_log`` without its sort, which ``prepare_long`` does once in the order it
    needs)."""
    col = X[time_col]
    if pd.api.types.is_datetime64_any_dtype(col) or col.dtype == object:
        return check_event_times(X, customer_col, time_col, unit="D", origin=origin) / unit_days(
            unit
        )
    return check_event_times(X, customer_col, time_col, unit="W", origin=origin)


def prepare_long(
    X,
    *,
    customer_col,
    time_col,
    attribute_cols,
    dynamic_cols,
    terms,
    first_effect,
    after_first,
    observation_end,
    origin,
    time_unit,
    drop_after,
    fit,
):
    """Validate a long transaction log and build :class:`Histories` and future-path inputs."""
    attribute_cols = list(attribute_cols or [])
    check_columns(X, [customer_col, time_col, *attribute_cols])
    is_dt = pd.api.types.is_datetime64_any_dtype(X[time_col]) or X[time_col].dtype == object
    if is_dt and origin is None and len(X):
        origin = pd.to_datetime(X[time_col]).min()
    raw = _event_times(X, customer_col, time_col, time_unit, origin if is_dt else None)
    times = raw if is_dt or origin is None else raw - float(origin)
    if not is_dt and origin is not None and np.any(times < 0):
        raise ValueError(f"column {time_col!r} has times before origin={origin}")
    attrs = np.empty((len(X), 0))
    if attribute_cols:
        frame = X[attribute_cols]
        bad = [c for c in attribute_cols if not pd.api.types.is_numeric_dtype(frame[c])]
        if bad:
            raise TypeError(
                f"attribute column(s) {bad} must be numeric (encode categories as 0/1 dummies "
                "with a dropped reference level)"
            )
        attrs = frame.to_numpy(dtype=float)
        finite = np.isfinite(attrs).all(axis=0)
        bad = [c for c, ok in zip(attribute_cols, finite, strict=True) if not ok]
        if bad:
            raise ValueError(f"attribute column(s) {bad} contain NaN or infinite values")
    T = _time_value(observation_end, origin, time_unit)
    if T is None:
        T = float(times.max())
    late = times > T
    if late.any():
        if not drop_after:
            raise ValueError(
                f"{int(late.sum())} transaction(s) in {time_col!r} fall after observation_end "
                f"({T:g}); pass drop_after_observation_end=True to drop them, or split the log "
                "with calibration_holdout_split"
            )
        warn(f"dropped {int(late.sum())} transaction(s) after observation_end ({T:g})")
    keep = ~late
    if not keep.any():
        raise ValueError(f"observation_end ({T:g}) is before every transaction")
    ids = X[customer_col].to_numpy()[keep]
    times, attrs = times[keep], attrs[keep]
    try:
        codes, customers = pd.factorize(ids, sort=True)
    except TypeError:
        codes, customers = pd.factorize(ids, sort=False)
    codes = codes.astype(np.int64)
    step_c, step_t = np.diff(codes), np.diff(times)
    if not np.all((step_c > 0) | ((step_c == 0) & (step_t >= 0))):
        order = np.lexsort((times, codes))  # stable: tied times keep the input order
        codes, times, attrs = codes[order], times[order], attrs[order]
    dup = np.concatenate([[False], (np.diff(codes) == 0) & (np.diff(times) == 0)])
    if dup.any():
        who = pd.unique(customers[codes[dup]])
        shown = ", ".join(str(c) for c in who[:5]) + (", ..." if len(who) > 5 else "")
        warn(
            f"merged {int(dup.sum())} transaction row(s) that repeat a customer's earlier row "
            f"at the same {time_col!r} into one transaction each ({len(who)} customer(s): "
            f"{shown}; the first row's attributes are kept); aggregate same-time rows "
            "yourself to choose their attributes"
        )
        codes, times, attrs = codes[~dup], times[~dup], attrs[~dup]
    m = len(customers)
    counts = np.bincount(codes, minlength=m)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    ends = starts + counts - 1
    t1, tx = times[starts], times[ends]
    if dynamic_cols:
        pos = [attribute_cols.index(c) for c in dynamic_cols]
        ind = attrs[:, pos]
        if not np.isin(ind, (0.0, 1.0)).all():
            raise ValueError(f"dynamic_cols {list(dynamic_cols)} must hold 0/1 indicators")
        dyn = dynamic_features(codes, ind, terms, list(dynamic_cols))
        dyn_counts = np.stack(
            [np.bincount(codes, weights=ind[:, j], minlength=m) for j in range(len(pos))], 1
        )
    else:
        dyn = np.empty((codes.size, 0))
        dyn_counts = np.empty((m, 0))
    is_first = np.zeros(codes.size, dtype=bool)
    is_first[starts] = True
    is_last = np.zeros(codes.size, dtype=bool)
    is_last[ends] = True
    cols = [attrs, dyn]
    names = [*attribute_cols, *dynamic_feature_names(terms)]
    if first_effect:
        cols.insert(0, is_first[:, None].astype(float))
        names.insert(0, "first")
    F = np.hstack(cols)
    F_jobs = F if after_first else F[~is_first]
    if fit and F.shape[1]:
        spread = F_jobs.max(axis=0, initial=-np.inf) - F_jobs.min(axis=0, initial=np.inf)
        const = [nm for nm, sd in zip(names, spread, strict=True) if not sd > 0]
        if const:
            raise ValueError(
                f"design column(s) {const} are constant across all transactions; a constant "
                "multiplier is absorbed by the dropout rate b and is not identified"
            )
    H = Histories(
        n=(counts - 1).astype(float),
        R=tx - t1,
        A=T - t1,
        weight=np.ones(m),
        U0=np.zeros(m),
        V0=np.zeros(m),
        job_customer=codes if after_first else codes[~is_first],
        job_F=F_jobs,
        job_last=is_last if after_first else is_last[~is_first],
    )
    return {
        "customers": np.asarray(customers),
        "H": H,
        "T": T,
        "origin": origin,
        "last_attrs": attrs[ends],
        "dyn_counts": dyn_counts,
        "x": counts.astype(float),
        "names": names,
        "t1": t1,
        "q_nonfirst_F": F[~is_first],
        "nonfirst_attrs": attrs[~is_first],
        "nonfirst_codes": codes[~is_first],
    }


def prepare_rfm(X, rfm_cols, first_effect, after_first, sample_weight=None):
    """Validate an RFM summary (lifetimes conventions) and build :class:`Histories`."""
    index = None
    if isinstance(X, pd.DataFrame):
        check_columns(X, list(rfm_cols))
        index = X.index
        arr = X[list(rfm_cols)].to_numpy(dtype=float)
    else:
        arr = np.asarray(X, dtype=float)
        if arr.ndim != 2 or arr.shape[1] != 3:
            raise ValueError(
                f"an RFM summary must have 3 columns {tuple(rfm_cols)}, got shape {arr.shape}"
            )
    if arr.shape[0] == 0:
        raise ValueError("X has no rows; at least one customer is required")
    if not np.isfinite(arr).all():
        raise ValueError(f"RFM columns {tuple(rfm_cols)} contain NaN or infinite values")
    n, R, A = arr.T
    if np.any(n < 0):
        raise ValueError(f"column {rfm_cols[0]!r} (repeat transactions) must be >= 0")
    if np.any(R < 0) or np.any(R > A):
        raise ValueError(
            f"column {rfm_cols[1]!r} (recency) must satisfy 0 <= recency <= {rfm_cols[2]!r}"
        )
    if np.any((n == 0) & (R > 0)):
        raise ValueError(f"customers with {rfm_cols[0]!r} = 0 must have {rfm_cols[1]!r} = 0")
    m = n.size
    w = np.ones(m) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    if w.shape != (m,) or np.any(w < 0) or not np.isfinite(w).all():
        raise ValueError(f"sample_weight must be {m} non-negative finite numbers")
    if first_effect or not after_first:
        # jobs 2..x have q = 1; the first job carries the coefficient (or q_1 = 0)
        U0, V0 = np.maximum(n - 1, 0), n
    if first_effect:
        jc = np.arange(m)
        F = np.ones((m, 1))
        last = n == 0
    else:
        if after_first:
            U0, V0 = n, n + 1
        jc, F, last = np.empty(0, dtype=np.int64), np.empty((m, 0))[:0], np.empty(0, dtype=bool)
    H = Histories(n, R, A, w, U0.astype(float), V0.astype(float), jc, F, last)
    return {"H": H, "index": index, "x": n + 1}
