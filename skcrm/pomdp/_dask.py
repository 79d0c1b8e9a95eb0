"""Out-of-core fits of :class:`POMDPPolicy` on Dask: panels sharded by customer.

A first pass computes the few global encodings that the in-memory fit derives from the
whole panel (distinct action labels, distinct outcome values, the distinct dates when the
period length is inferred). Each partition of the Dask DataFrame, partitioned by customer,
is then encoded by the estimator's own ``_panel`` against those fixed encodings and kept
(persisted) on the worker that read it, with a few per-partition counts. Every EM E-step
is a map over the shards returning expected sufficient statistics (initial-state,
transition and emission counts, log-likelihood) summed on the client, where the M-step
runs; the parametric MLE map-reduces the negative log-likelihood and its gradient the
same way, with scipy's optimiser on the client. No worker holds more than its own
partitions and the client holds parameter-sized arrays.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
from sklearn.base import clone

from ..utils._dask import (
    _partition_frame,
    dask_dispatch,
    dask_map_method,
    is_dask_frame,
    partition_by_customer,
    reduce_partitions,
)
from ._em import _JAX_MIN_CELLS, PanelEStep

__all__ = ["ShardedPanel", "dask_scoring", "shard_panel"]


def _encode_partition(part, est, covariates):
    """One partition as a padded panel encoded against the estimator's fixed levels."""
    frame = _partition_frame(part, est.customer_col)
    if len(frame) == 0:
        return None
    panel = est._panel(frame, None, fitting=False)
    out = {"actions": panel.actions, "outcomes": panel.outcomes}
    out["Z"] = est._covariate_matrix(frame, panel) if covariates else None
    return out


def _summary(shard, n_actions, n_outcomes):
    if shard is None:
        return None
    acts, outs = shard["actions"], shard["outcomes"]
    obs = outs[(acts >= 0) & (outs >= 0)]
    later = acts[:, 1:]
    Z = shard["Z"]
    return {
        "n_customers": acts.shape[0],
        "n_periods": acts.shape[1],
        "n_rows": int((acts >= 0).sum()),
        "outcome_counts": np.bincount(obs, minlength=n_outcomes),
        "action_counts": np.bincount(acts[acts >= 0], minlength=n_actions),
        "later_action_counts": np.bincount(later[later >= 0], minlength=n_actions),
        "z_sum": None if Z is None else Z.sum(0),
        "z_patterns": None if Z is None or Z.shape[1] == 0 else np.unique(Z, axis=0),
    }


def _shard_estep(shard, pi, Q, P, idx):
    """The E-step of one shard: numpy, or the compiled JAX scan for a large shard (as the
    in-memory fit chooses for a large panel; shards of one shape compile once)."""
    acts, outs = shard["actions"], shard["outcomes"]
    use_jax = acts.size >= _JAX_MIN_CELLS
    return PanelEStep(acts, outs, P.shape[-1], use_jax=use_jax)(pi, Q, P, idx)


def _pad(shard, n_customers, n_periods):
    """Pad a shard to a common shape (one JAX compilation); padding adds log 1 = 0."""
    acts, outs, Z = shard["actions"], shard["outcomes"], shard["Z"]
    N, T = acts.shape
    a = np.full((n_customers, n_periods), -1, dtype=acts.dtype)
    o = np.full((n_customers, n_periods), -1, dtype=outs.dtype)
    a[:N, :T], o[:N, :T] = acts, outs
    z = np.zeros((n_customers, Z.shape[1]))
    z[:N] = Z
    return {"actions": a, "outcomes": o, "Z": z}


def _shard_value_and_grad(shard, theta, layout, F, fixed_initial):
    from ._parametric import negative_loglik_and_grad

    v, g = negative_loglik_and_grad(
        theta, layout, F, shard["Z"], shard["actions"], shard["outcomes"], fixed_initial
    )
    return (v, g)


def _shard_gradients(shard, thetas, layout, F, fixed_initial):
    from ._parametric import negative_loglik_and_grad

    return np.stack(
        [
            negative_loglik_and_grad(
                th, layout, F, shard["Z"], shard["actions"], shard["outcomes"], fixed_initial
            )[1]
            for th in thetas
        ]
    )


class ShardedPanel:
    """A customer-period panel split into per-partition shards held by Dask workers.

    It offers what :meth:`POMDPPolicy.fit` reads from an in-memory panel (row and
    observation counts, action counts) plus the map-reduced E-step and MLE objective.

    Parameters
    ----------
    shards : list of dask.delayed.Delayed
        Persisted encoded partitions (``actions``, ``outcomes`` (N_p, T_p) and the
        covariates ``Z``).
    summaries : list of dict
        Per-shard counts (see ``_summary``).
    """

    def __init__(self, shards, summaries):
        self.shards = shards
        self.n_customers = sum(s["n_customers"] for s in summaries)
        self.n_periods = max(s["n_periods"] for s in summaries)
        self.n_rows = sum(s["n_rows"] for s in summaries)
        self.n_cells = self.n_customers * self.n_periods
        self.outcome_counts = np.sum([s["outcome_counts"] for s in summaries], axis=0)
        self._action_counts = np.sum([s["action_counts"] for s in summaries], axis=0)
        self._later = np.sum([s["later_action_counts"] for s in summaries], axis=0)
        self._max_part = max(s["n_customers"] for s in summaries)
        sums = [s["z_sum"] for s in summaries]
        self.covariate_mean = (
            None if sums[0] is None else np.sum(sums, axis=0) / max(self.n_customers, 1)
        )
        pats = [s["z_patterns"] for s in summaries if s["z_patterns"] is not None]
        self.covariate_patterns = np.unique(np.concatenate(pats), axis=0) if pats else None

    def n_observed(self):
        """Number of customer-periods with an observed outcome."""
        return int(self.outcome_counts.sum())

    def action_counts(self, n_actions, later=False):
        """Rows per action; ``later=True`` counts only periods after a customer's first."""
        return self._later if later else self._action_counts

    def estep(self, pi, Q, P, idx):
        """Log-likelihood and expected counts of the restarts ``idx``, summed over shards."""
        return reduce_partitions(self.shards, _shard_estep, pi, Q, P, idx)

    def fit_mle(self, F, layout, fixed_initial, **options):
        """:func:`~skcrm.pomdp._parametric.minimize_mle` on the map-reduced likelihood."""
        import dask

        from ._parametric import minimize_mle

        padded = list(
            dask.persist(
                *[dask.delayed(_pad)(s, self._max_part, self.n_periods) for s in self.shards]
            )
        )

        def value_and_grad(theta):
            args = (np.asarray(theta, dtype=float), layout, F, fixed_initial)
            return reduce_partitions(padded, _shard_value_and_grad, *args)

        def gradients(thetas):
            args = (np.asarray(thetas, dtype=float), layout, F, fixed_initial)
            return reduce_partitions(padded, _shard_gradients, *args)

        return minimize_mle(
            value_and_grad, self.outcome_counts, layout, gradients=gradients, **options
        )


def _distinct(col):
    return col.drop_duplicates(split_out=1)


def shard_panel(est, ddf, y):
    """Set the global encodings of ``est`` and shard a Dask panel for the out-of-core fit.

    Parameters
    ----------
    est : POMDPPolicy
        The estimator being fitted; ``actions_``, ``outcome_levels_`` and the feature
        names are set on it as the in-memory fit sets them.
    ddf : dask.dataframe.DataFrame
        The panel; partitioned by customer (repartitioned with a warning if not).
    y : None
        Outcomes must be the column ``outcome_col`` of a Dask X.

    Returns
    -------
    ShardedPanel
    """
    import dask

    if y is not None:
        raise ValueError(
            "y cannot be given with a Dask X (its rows could not be matched to the "
            f"partitions); put the outcomes in the column outcome_col={est.outcome_col!r} of X"
        )
    meta = _partition_frame(ddf._meta, est.customer_col)
    est._check_columns(meta, reset=True)
    if est.outcome_col is None or est.outcome_col not in meta.columns:
        raise ValueError(
            "outcomes are needed: a Dask X must hold the outcome column "
            f"outcome_col={est.outcome_col!r}; it has {list(meta.columns)}"
        )
    cols = list(est.covariate_cols or [])
    missing = [c for c in cols if c not in meta.columns]
    if missing:
        raise ValueError(f"X is missing covariate column(s) {missing} (covariate_cols)")
    ddf = partition_by_customer(ddf, est.customer_col)
    # global pass: the distinct values behind the in-memory fit's encodings, in one compute
    time_dtype = meta[est.time_col].dtype
    dates = pd.api.types.is_datetime64_any_dtype(time_dtype) and est.time_freq is None
    todo = [_distinct(ddf[est.action_col]), _distinct(ddf[est.outcome_col])]
    if dates:
        todo.append(_distinct(ddf[est.time_col]))
    found = dask.compute(*todo)
    est._encode_actions(np.asarray(found[0]), fitting=True)
    outcomes = found[1]
    if isinstance(meta[est.outcome_col].dtype, pd.CategoricalDtype) and not isinstance(
        outcomes.dtype, pd.CategoricalDtype
    ):
        outcomes = outcomes.astype(meta[est.outcome_col].dtype)
    est._encode_outcomes(outcomes.reset_index(drop=True), fitting=True)
    part_est = clone(est)
    if dates:
        part_est.set_params(time_freq=est._date_freq(found[2]))
    part_est.actions_ = est.actions_
    part_est.outcome_levels_ = est.outcome_levels_
    # per-partition encoding with the global levels fixed, kept on the workers
    covariates = est._is_parametric()
    shards = [dask.delayed(_encode_partition)(p, part_est, covariates) for p in ddf.to_delayed()]
    shards = list(dask.persist(*shards))
    A, L = len(est.actions_), len(est.outcome_levels_)
    summaries = dask.compute(*[dask.delayed(_summary)(s, A, L) for s in shards])
    keep = [i for i, s in enumerate(summaries) if s is not None]
    if not keep:
        raise ValueError("X has no rows")
    return ShardedPanel([shards[i] for i in keep], [summaries[i] for i in keep])


def dask_scoring(method):
    """:func:`~skcrm.utils._dask.dask_dispatch` per customer, refusing a separate ``y``."""
    dispatched = dask_dispatch(per_customer=True)(method)

    @functools.wraps(method)
    def wrapper(self, X=None, y=None, *args, **kwargs):
        if is_dask_frame(X) and y is not None:
            raise ValueError(
                "y cannot be given with a Dask X; put the outcomes in the column "
                f"outcome_col={self.outcome_col!r} of X"
            )
        return dispatched(self, X, y, *args, **kwargs)

    return wrapper


def dask_strategic_segments(est, ddf, dcv_threshold, vol_threshold):
    """Strategic segments of a Dask panel; 'median' thresholds are medians over all customers.

    The per-customer DCV and VOL are computed partition by partition; a ``"median"``
    threshold needs them all (two floats per customer on the client), then every
    partition is segmented with the same numeric thresholds.
    """
    rec = est.recommend(ddf)
    if "median" in (dcv_threshold, vol_threshold):
        import dask

        dcv, vol = dask.compute(rec["dcv"], rec["vol"])
        if dcv_threshold == "median":
            dcv_threshold = float(np.median(dcv.to_numpy()))
        if vol_threshold == "median":
            vol_threshold = float(np.median(vol.to_numpy()))
    return dask_map_method(
        est,
        "strategic_segments",
        ddf,
        customer_col=est.customer_col,
        dcv_threshold=dcv_threshold,
        vol_threshold=vol_threshold,
    )
