"""Out-of-core fits of the transaction-log models on Dask: histories sharded by customer.

Each partition of a Dask DataFrame partitioned by customer becomes one :class:`Histories`
shard, built and persisted on the worker that holds the partition. Every evaluation of the
log-likelihood (Eq. 3) and its exact gradient is a map over the shards of per-customer sums
followed by a sum on the client, where scipy's optimiser runs; no worker holds more than its
own partitions, and the client holds only parameter-sized vectors.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..utils._dask import partition_by_customer, reduce_partitions
from ._data import prepare_long
from ._features import dynamic_term_list
from ._solver import Histories, _penalise, objective, total_log_likelihood

__all__ = ["ShardedHistories", "prepare_sharded"]


def _weighted_objective(H: Histories, theta, mixing):
    """Per-shard weighted sums of the objective and gradient (the shard's mean times its weight)."""
    f, g = objective(theta, H, mixing)
    w = float(H.weight.sum())
    return np.r_[f * w, g * w]


def _shard_log_likelihood(H: Histories, theta, mixing):
    return total_log_likelihood(theta, H, mixing)


class ShardedHistories:
    """:class:`Histories` split into per-partition shards held by Dask.

    Parameters
    ----------
    shards : list of dask.delayed.Delayed
        Persisted :class:`Histories`, one per non-empty partition.
    weight_sum : float
        Total customer weight.
    n_customers : int
        Number of customers.
    A_max : float
        Largest age T - t_1.
    n_coef : int
        Number of coefficients.
    """

    def __init__(self, shards, weight_sum, n_customers, A_max, n_coef):
        self.shards = shards
        self.weight_sum = float(weight_sum)
        self.n_customers = int(n_customers)
        self.A_max = float(A_max)
        self.n_coef = int(n_coef)

    def _map(self, fn, *args):
        import dask

        shards = list(dask.persist(*[dask.delayed(fn)(h, *args) for h in self.shards]))
        return ShardedHistories(shards, self.weight_sum, self.n_customers, self.A_max, self.n_coef)

    def compress(self) -> ShardedHistories:
        """Each shard grouped by history length (classic models)."""
        return self._map(Histories.compress)

    def scaled(self, c: float) -> ShardedHistories:
        """Time multiplied by ``c`` in every shard."""
        out = self._map(Histories.scaled, c)
        out.A_max = self.A_max * c
        return out

    def objective(self, theta, mixing, penalizer=0.0, penalty_mask=None):
        """Negative weighted mean log-likelihood and gradient, summed over shards."""
        total = reduce_partitions(self.shards, _weighted_objective, theta, mixing)
        f, g = total[0] / self.weight_sum, total[1:] / self.weight_sum
        return _penalise(f, g, theta, penalizer, penalty_mask)

    def total_log_likelihood(self, theta, mixing) -> float:
        """Weighted sum of Eq. (3) over all customers."""
        return float(reduce_partitions(self.shards, _shard_log_likelihood, theta, mixing))


def _prepare_partition(part, settings):
    from ..utils._dask import _partition_frame

    frame = _partition_frame(part, settings["customer_col"])
    if len(frame) == 0:
        return None
    prep = prepare_long(frame, **settings, fit=False)
    F = prep["H"].job_F
    return {
        "H": prep["H"],
        "x_sum": float(prep["x"].sum()),
        "names": list(prep["names"]),
        "F_min": F.min(axis=0, initial=np.inf),
        "F_max": F.max(axis=0, initial=-np.inf),
        "T": prep["T"],
        "origin": prep["origin"],
    }


def _summary(prep):
    if prep is None:
        return None
    H = prep["H"]
    return {
        **{k: prep[k] for k in ("x_sum", "names", "F_min", "F_max", "T", "origin")},
        "weight": float(H.weight.sum()),
        "m": int(H.n.size),
        "A_max": float(np.max(H.A, initial=0.0)),
    }


def _member(prep, key):
    return prep[key]


def _mean_q_parts(H: Histories, coef, after_first):
    """Sum and count of exp(z'coef) over the shard's repeat (non-first) transactions.

    The repeat transactions' design rows are the shard's job rows, less each customer's
    first job when the first transaction also carries a dropout opportunity.
    """
    q_F = H.job_F
    if after_first:
        c = H.job_customer
        q_F = q_F[np.r_[False, c[1:] == c[:-1]]] if c.size else q_F
    return np.array([float(np.exp(q_F @ coef).sum()), float(q_F.shape[0])])


def prepare_sharded(est, ddf, time_col):
    """Shard a Dask transaction log into per-partition :class:`Histories` for ``est``.

    Parameters
    ----------
    est : AttributeBGNBD
        The estimator (its settings).
    ddf : dask.dataframe.DataFrame
        The log; partitioned by customer (repartitioned with a warning if not).
    time_col : str
        The time column.

    Returns
    -------
    dict
        ``H`` (:class:`ShardedHistories`), ``T``, ``origin``, ``x_sum``, ``names`` and
        ``mean_q`` (a function of the coefficients giving the mean repeat multiplier).
    """
    import dask

    ddf = partition_by_customer(ddf, est.customer_col)
    times = ddf[time_col]
    is_dt = pd.api.types.is_datetime64_any_dtype(times.dtype) or times.dtype == object
    origin, end = est.origin, est.observation_end
    if (is_dt and origin is None) or end is None:
        lo, hi = dask.compute(times.min(), times.max())
        if is_dt and origin is None:
            origin = pd.Timestamp(lo)
        if end is None:
            end = pd.Timestamp(hi) if is_dt else float(hi)
    dyn = list(est.dynamic_cols or [])
    settings = {
        "customer_col": est.customer_col,
        "time_col": time_col,
        "attribute_cols": list(est.attribute_cols or []),
        "dynamic_cols": dyn,
        "terms": dynamic_term_list(dyn, est.dynamic_terms),
        "first_effect": est.first_transaction_effect,
        "after_first": est.dropout_after_first,
        "observation_end": end,
        "origin": origin,
        "time_unit": est.time_unit,
        "drop_after": est.drop_after_observation_end,
    }
    # each partition's preparation is persisted once, summarised, and then only its shard of
    # histories is kept (the repeat-transaction design the mean multiplier needs is read
    # from the shard's job rows): each worker holds one copy of its arrays
    preps = list(
        dask.persist(*[dask.delayed(_prepare_partition)(p, settings) for p in ddf.to_delayed()])
    )
    summaries = dask.compute(*[dask.delayed(_summary)(p) for p in preps])
    keep = [i for i, s in enumerate(summaries) if s is not None]
    if not keep:
        raise ValueError("X has no rows; at least one transaction is required")
    summaries = [summaries[i] for i in keep]
    names = summaries[0]["names"]
    F_min = np.min([s["F_min"] for s in summaries], axis=0)
    F_max = np.max([s["F_max"] for s in summaries], axis=0)
    const = [nm for nm, lo, hi in zip(names, F_min, F_max, strict=True) if not hi > lo]
    if const:
        raise ValueError(
            f"design column(s) {const} are constant across all transactions; a constant "
            "multiplier is absorbed by the dropout rate b and is not identified"
        )
    shards = list(dask.persist(*[dask.delayed(_member)(preps[i], "H") for i in keep]))
    del preps  # releases the dicts: the workers now hold each array under one key only
    H = ShardedHistories(
        shards,
        weight_sum=sum(s["weight"] for s in summaries),
        n_customers=sum(s["m"] for s in summaries),
        A_max=max(s["A_max"] for s in summaries),
        n_coef=len(names),
    )

    def mean_q(coef):
        parts = reduce_partitions(
            shards, _mean_q_parts, np.asarray(coef, dtype=float), bool(est.dropout_after_first)
        )
        return float(parts[0] / parts[1]) if parts[1] else 1.0

    return {
        "H": H,
        "T": summaries[0]["T"],
        "origin": summaries[0]["origin"],
        "x_sum": sum(s["x_sum"] for s in summaries),
        "names": names,
        "mean_q": mean_q,
    }
