"""Dask: per-partition scoring and map-reduce over customer partitions.

skcrm does not schedule work itself: a Dask DataFrame's partitions are the unit of work, a
fitted estimator is pickled into the task graph, and per-customer sums computed on each
partition are reduced on the client. Nothing here imports dask until a Dask object is passed,
so ``import skcrm`` stays light.
"""

from __future__ import annotations

import functools
import inspect
import os

import numpy as np
import pandas as pd

from ._messages import warn

__all__ = [
    "as_dask_frame",
    "dask_dispatch",
    "dask_map_method",
    "is_dask_frame",
    "partition_by_customer",
    "reduce_partitions",
]


def is_dask_frame(X) -> bool:
    """Whether ``X`` is a Dask DataFrame (checked without importing dask).

    Parameters
    ----------
    X : object
        Anything.

    Returns
    -------
    bool
        True for a ``dask.dataframe.DataFrame``.

    Examples
    --------
    >>> import pandas as pd
    >>> is_dask_frame(pd.DataFrame({"a": [1]}))
    False
    """
    module = type(X).__module__ or ""
    return module.startswith("dask") and hasattr(X, "map_partitions") and hasattr(X, "columns")


def as_dask_frame(X):
    """A Dask DataFrame from ``X``: itself, or a Parquet path read through Dask.

    Parameters
    ----------
    X : dask DataFrame, str or os.PathLike
        A Dask DataFrame, or the path of a Parquet file or folder.

    Returns
    -------
    dask.dataframe.DataFrame or None
        None when ``X`` is neither (an in-memory input).
    """
    if is_dask_frame(X):
        return X
    if isinstance(X, (str, os.PathLike)):
        path = os.fspath(X)
        if path.endswith(".parquet") or os.path.isdir(path):
            import dask.dataframe as dd

            # divisions from the Parquet statistics: a log written sorted by customer is
            # then known to be partitioned by customer, with no shuffle
            return dd.read_parquet(path, calculate_divisions=True)
        raise ValueError(
            f"X={path!r} is a path but not a Parquet file or folder; pass a DataFrame, a Dask "
            "DataFrame or a Parquet path"
        )
    return None


def partition_by_customer(ddf, customer_col):
    """Make every customer's rows lie in one partition (index = customer, sorted divisions).

    A frame already indexed by ``customer_col`` with known divisions is returned unchanged;
    otherwise it is shuffled with ``set_index`` after a warning that says how to avoid the
    shuffle next time.

    Parameters
    ----------
    ddf : dask.dataframe.DataFrame
        The long table.
    customer_col : str
        Column (or index name) of customer ids.

    Returns
    -------
    dask.dataframe.DataFrame
        Indexed by customer id, with known divisions; ``customer_col`` is a column too.
    """
    if ddf.index.name == customer_col and ddf.known_divisions:
        if customer_col not in ddf.columns:
            ddf = ddf.assign(**{customer_col: ddf.index})
        return ddf
    if customer_col not in ddf.columns and ddf.index.name == customer_col:
        ddf = ddf.reset_index()
    if customer_col not in ddf.columns:
        raise ValueError(
            f"X has no column or index {customer_col!r}; it has {list(ddf.columns)} "
            f"(index {ddf.index.name!r})"
        )
    warn(
        f"X is not partitioned by customer ({customer_col!r} is not its index with known "
        f"divisions); repartitioning with set_index({customer_col!r}), a full shuffle. Save "
        f"X.set_index({customer_col!r}) to Parquet once to avoid it"
    )
    return ddf.set_index(customer_col, drop=False)


def _partition_frame(part, customer_col):
    """A partition as the pandas path sees it: customer as a column, a plain index."""
    if customer_col is not None and part.index.name == customer_col:
        if customer_col in part.columns:
            part = part.reset_index(drop=True)
        else:
            part = part.reset_index()
    return part


def _as_pandas(result, index):
    if isinstance(result, (pd.Series, pd.DataFrame)):
        return result
    arr = np.asarray(result)
    if arr.ndim == 1:
        return pd.Series(arr, index=index)
    return pd.DataFrame(arr, index=index)


def _apply_method(part, estimator, method, customer_col, kwargs, empty=None):
    frame = _partition_frame(part, customer_col)
    if len(frame) == 0 and empty is not None:
        return empty
    result = getattr(estimator, method)(frame, **kwargs)
    return _as_pandas(result, frame.index if customer_col is None else part.index)


def dask_map_method(estimator, method, ddf, *, customer_col=None, **kwargs):
    """Call ``estimator.<method>`` on every partition of a Dask DataFrame.

    The fitted estimator is pickled into the task graph (its fitted state is numpy). With
    ``customer_col`` the frame is first partitioned by customer, so per-customer answers
    use each customer's whole history; without it every row is scored on its own.

    Parameters
    ----------
    estimator : fitted estimator
        The model.
    method : str
        Name of the method (``"predict"``, ``"probability_alive"``...).
    ddf : dask.dataframe.DataFrame
        Rows to score.
    customer_col : str or None, default=None
        Customer id column, for per-customer methods.
    **kwargs : dict
        Passed to the method.

    Returns
    -------
    dask.dataframe.DataFrame or dask.dataframe.Series
        Lazily computed, one pandas result per partition.
    """
    if customer_col is not None:
        ddf = partition_by_customer(ddf, customer_col)
    sample = ddf.get_partition(0).head(200, compute=True)
    if len(sample) == 0:
        raise ValueError("the first partition of X is empty; repartition X")
    meta_part = _apply_method(sample, estimator, method, customer_col, kwargs)
    meta = meta_part.iloc[:0]
    out = ddf.map_partitions(
        _apply_method,
        estimator,
        method,
        customer_col,
        kwargs,
        empty=meta,
        meta=meta,
        align_dataframes=False,
    )
    return out.clear_divisions() if customer_col is not None else out


def reduce_partitions(parts, func, *args):
    """Sum ``func(part, *args)`` over partitions on the workers; return the total on the client.

    Parameters
    ----------
    parts : list of dask.delayed.Delayed
        Per-partition objects (e.g. persisted sufficient statistics).
    func : callable
        Returns a number, an array or a tuple of them for one partition.
    *args : tuple
        Extra arguments of ``func`` (parameters of the current iterate).

    Returns
    -------
    object
        The elementwise sum of the per-partition results (tuples summed member by member).
    """
    import dask

    results = dask.compute(*[dask.delayed(func)(p, *args) for p in parts])
    total = results[0]
    for r in results[1:]:
        if isinstance(total, tuple):
            total = tuple(a + b for a, b in zip(total, r, strict=True))
        else:
            total = total + r
    return total


def dask_dispatch(per_customer: bool | str = False, joint=None):
    """Decorate a scoring method so that a Dask DataFrame input returns a Dask object.

    The method then runs on every partition with the pickled fitted estimator; the pandas
    path is unchanged. ``per_customer`` names the customer column attribute (True means
    ``customer_col``) for methods whose answers use each customer's whole history.

    Parameters
    ----------
    per_customer : bool, str or callable, default=False
        False for row-wise methods; True or the name of the estimator attribute that holds
        the customer id column for per-customer methods; or ``f(estimator, meta)`` returning
        that column, or None when each row of ``meta`` (an empty frame with X's columns) is
        already one customer.
    joint : callable or None, default=None
        ``f(estimator)`` returning a reason (str) when, for this fitted estimator, the method
        ranks or couples all rows jointly (a cap on the treated share, a budget shared by all
        customers), so that scoring partition by partition would give a different, wrong
        answer; a Dask input then raises ``ValueError`` with that reason. None when the
        method is always row-wise (or customer-wise).

    Returns
    -------
    callable
        The decorator.
    """

    def decorator(method):
        signature = inspect.signature(method)

        @functools.wraps(method)
        def wrapper(self, *args, **kwargs):
            X = args[0] if args else kwargs.get("X")
            if not is_dask_frame(X):
                return method(self, *args, **kwargs)
            reason = joint(self) if joint is not None else None
            if reason:
                raise ValueError(
                    f"{type(self).__name__}.{method.__name__} cannot score a Dask DataFrame "
                    f"partition by partition: {reason}"
                )
            bound = signature.bind(self, *args, **kwargs)
            extra = {k: v for k, v in bound.arguments.items() if k not in ("self", "X")}
            for name, param in signature.parameters.items():
                if param.kind is param.VAR_KEYWORD and name in extra:
                    extra.update(extra.pop(name))
            if callable(per_customer):
                customer_col = per_customer(self, X._meta)
            else:
                attr = "customer_col" if per_customer is True else per_customer
                customer_col = getattr(self, attr) if attr else None
            return dask_map_method(self, method.__name__, X, customer_col=customer_col, **extra)

        return wrapper

    return decorator
