"""The packed policy target: outcome, treatment and propensities in one 2-D ``y``.

With metadata routing off, ``GridSearchCV``/``cross_validate`` slice ``y`` for both ``fit``
and ``score`` but pass extra keyword arguments to ``fit`` only. Packing the treatment and
the design propensities into ``y`` makes them reach the scorer too.

This is the one implementation of the packed layout in skcrm (policy, and any estimator
that wants its targets to survive ``GridSearchCV`` without metadata routing). The packed
propensity columns mean what ``skcrm.utils.check_propensity`` says: one column is a
per-row vector (two arms: P(T = the non-control arm | X), so ``control`` must be named at
fit), K columns are an (n, K) matrix in sorted-label order.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from skcrm.utils import check_propensity, check_treatment

__all__ = ["pack_policy_target", "unpack_policy_target"]


def pack_policy_target(outcome, treatment, propensity=None):
    """Pack outcome, treatment and propensities into one float ``y`` matrix.

    The one packed layout of skcrm: outcome column(s), then the treatment, then the
    propensities (``pack_surrogate_target`` packs the surrogates as the outcome columns).

    Parameters
    ----------
    outcome : array-like of shape (n,) or (n, q)
        The (imputed long-term) outcome, or q outcome columns (e.g. surrogates).
    treatment : array-like of shape (n,)
        Numeric action labels (e.g. 0 = control, 1, 2, ...). Encode string labels first.
    propensity : None, float, array-like of shape (n,) or (n, K), DataFrame or dict
        Design probabilities in a form of ``skcrm.utils.check_propensity``: a scalar or
        per-row vector (two arms: P(T = the non-control arm)), an (n, K) array with columns
        in sorted label order, or a DataFrame / dict keyed by arm label (stored as the
        (n, K) matrix in sorted label order).

    Returns
    -------
    ndarray of shape (n, q + 1), (n, q + 2) or (n, q + 1 + K)
        Columns ``[y, a]``, ``[y, a, p]`` or ``[y, a, p_0, ..., p_{K-1}]`` (sorted labels),
        with ``y`` the q outcome columns.

    Examples
    --------
    >>> pack_policy_target([1.0, 2.0], [0, 1], [0.5, 0.25])
    array([[1.  , 0.  , 0.5 ],
           [2.  , 1.  , 0.25]])
    """
    y = np.asarray(outcome, dtype=np.float64)
    if y.ndim == 1:
        y = y[:, None]
    if y.ndim != 2:
        raise ValueError(f"outcome must be 1-D or 2-D, got shape {y.shape}")
    a = np.asarray(treatment)
    if a.ndim != 1 or a.shape[0] != y.shape[0]:
        raise ValueError(
            f"treatment must be 1-D with one label per outcome ({y.shape[0]}), got shape {a.shape}"
        )
    if not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
        raise TypeError(
            "treatment must be numeric to be packed into y (got dtype "
            f"{a.dtype}); encode the labels as integers first"
        )
    cols = [y, a.astype(np.float64)[:, None]]
    if isinstance(propensity, (pd.DataFrame, Mapping)):
        arms = list(propensity.columns if isinstance(propensity, pd.DataFrame) else propensity)
        info = check_treatment(a, actions=arms, min_arms=1)
        propensity = check_propensity(propensity, info)[1]
    if propensity is not None:
        p = np.asarray(propensity, dtype=np.float64)
        if p.ndim == 0:
            p = np.full(y.shape[0], float(p))
        if p.ndim == 1:
            p = p[:, None]
        if p.ndim != 2 or p.shape[0] != y.shape[0]:
            raise ValueError(
                f"propensity must have shape (n,) or (n, K) with n = {y.shape[0]}, "
                f"got {np.shape(propensity)}"
            )
        cols.append(p)
    return np.hstack(cols)


def unpack_policy_target(y, n_outcomes=1):
    """Inverse of :func:`pack_policy_target`.

    Parameters
    ----------
    y : array-like of shape (n, q + 1), (n, q + 2) or (n, q + 1 + K)
        A packed target.
    n_outcomes : int, default=1
        Number q of outcome columns (the first ones).

    Returns
    -------
    outcome : ndarray of shape (n,) or (n, q)
        The outcome (1-D when ``n_outcomes=1``).
    treatment : ndarray of shape (n,)
        int64 when every label is a whole number, else float64.
    propensity : None, float or ndarray of shape (n,) or (n, K)
        A single packed column that is constant comes back as a scalar (so that 1/K
        keeps its meaning for K > 2 arms).

    Examples
    --------
    >>> y, a, p = unpack_policy_target([[1.0, 0.0, 0.5], [2.0, 1.0, 0.25]])
    >>> y.tolist(), a.tolist(), p.tolist()
    ([1.0, 2.0], [0, 1], [0.5, 0.25])
    """
    Y = np.asarray(y, dtype=np.float64)
    q = int(n_outcomes)
    if Y.ndim != 2 or q < 1 or Y.shape[1] < q + 1:
        raise ValueError(
            f"a packed target must be 2-D with columns [{q} outcome column(s), treatment, "
            f"propensity...], got shape {Y.shape}"
        )
    outcome = Y[:, 0].copy() if q == 1 else Y[:, :q].copy()
    a = Y[:, q]
    if np.all(np.isfinite(a)) and np.all(a == np.round(a)):
        a = a.astype(np.int64)
    else:
        a = a.copy()
    rest = Y[:, q + 1 :]
    if rest.shape[1] == 0:
        p = None
    elif rest.shape[1] == 1:
        p = rest[:, 0].copy()
        if p.size and np.all(p == p[0]):
            p = float(p[0])
    else:
        p = rest.copy()
    return outcome, a, p
