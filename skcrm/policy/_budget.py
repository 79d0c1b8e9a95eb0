"""Multi-armed budget (Qini) curves: the optimal policy's value at every spend budget.

For each customer i and treated arm k the gain over control is g_ik and its cost c_ik > 0.
At an average budget B per customer the policy solves the linear programme

    max (1/n) sum_ik x_ik g_ik  s.t.  sum_k x_ik <= 1,  x_ik >= 0,  (1/n) sum_ik x_ik c_ik <= B,

(at most one arm per customer, fractional at the margin), as the multi-armed Qini curve of
Sverdrup, Wu, Athey & Wager (maq). It is solved along the whole path at once, not one LP per
budget: per customer, the upper-left convex hull of the points (0, 0), (c_ik, g_ik) gives a
chain of upgrades with decreasing incremental efficiency (gain per unit of cost); sorting every
customer's upgrades by efficiency and spending in that order traces the exact LP solution for
every budget (a fractional knapsack over the concave per-customer frontiers).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["budget_curve", "budget_path"]


def _as_matrix(a, name, n=None, k=None):
    arr = np.asarray(a, dtype=np.float64)
    if arr.ndim == 1 and n is None:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n customers, K - 1 treated arms), got {arr.shape}")
    if n is not None and arr.shape != (n, k):
        raise ValueError(f"{name} must have shape {(n, k)}, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} has NaN or infinite values")
    return arr


def _hull_chains(gains, costs):
    """Per customer, the convex-hull chain of arms from the origin.

    Returns ``chain`` (n, K - 1) int, the arm index (0-based among treated arms) of the r-th
    hull vertex after the origin (-1 when the chain is shorter), and ``length`` (n,).
    Gift wrapping, vectorised over customers: from the current vertex (c0, g0) the next one
    is the point with cost > c0 and gain > g0 of the largest slope (ties: the costlier one,
    so that collinear points are skipped and slopes strictly decrease along a chain).
    """
    n, m = gains.shape
    chain = np.full((n, m), -1, dtype=np.int64)
    length = np.zeros(n, dtype=np.int64)
    c0 = np.zeros(n)
    g0 = np.zeros(n)
    active = np.ones(n, dtype=bool)
    rows = np.arange(n)
    for r in range(m):
        dc = costs - c0[:, None]
        dg = gains - g0[:, None]
        ok = (dc > 0) & (dg > 0) & active[:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            slope = np.where(ok, dg / np.where(ok, dc, 1.0), -np.inf)
        best_slope = slope.max(axis=1)
        has = np.isfinite(best_slope)
        if not has.any():
            break
        # among the arms attaining the best slope, the costliest
        tie = ok & (slope == best_slope[:, None])
        pick = np.argmax(np.where(tie, costs, -np.inf), axis=1)
        chain[has, r] = pick[has]
        length[has] += 1
        c0 = np.where(has, costs[rows, pick], c0)
        g0 = np.where(has, gains[rows, pick], g0)
        active &= has
    return chain, length


def budget_path(gains, costs):
    """The exact LP solution path of the multi-armed budget problem.

    Parameters
    ----------
    gains : array-like of shape (n, K - 1)
        Gain over control of each treated arm for each customer (used to allocate).
    costs : array-like of shape (K - 1,) or (n, K - 1)
        Cost of each treated arm (per arm, or per customer and arm); all > 0.

    Returns
    -------
    dict
        ``customer``, ``from_arm``, ``to_arm`` (-1 = control), ``slope``, ``spend``
        (cumulative average spend after each upgrade) and ``value`` (cumulative average gain),
        one entry per upgrade in the order they are bought; ``n``.

    Examples
    --------
    >>> path = budget_path([[2.0], [1.0]], [1.0])
    >>> path["spend"].tolist(), path["value"].tolist()
    ([0.5, 1.0], [1.0, 1.5])
    """
    G = _as_matrix(gains, "gains")
    n, m = G.shape
    c = np.asarray(costs, dtype=np.float64)
    if c.ndim == 1:
        if c.shape != (m,):
            raise ValueError(f"costs must have shape ({m},) or {(n, m)}, got {c.shape}")
        C = np.broadcast_to(c, (n, m)).copy()
    else:
        C = _as_matrix(c, "costs", n, m)
    if not np.all(np.isfinite(C)) or np.any(C <= 0):
        raise ValueError("costs must be finite and strictly positive")
    chain, length = _hull_chains(G, C)
    # upgrades r = 0..length-1 of every customer: from vertex r-1 (or origin) to vertex r
    cust, pos = np.nonzero(chain >= 0)
    to_arm = chain[cust, pos]
    from_arm = np.where(pos > 0, chain[cust, np.maximum(pos - 1, 0)], -1)
    c_to, g_to = C[cust, to_arm], G[cust, to_arm]
    c_from = np.where(from_arm >= 0, C[cust, np.maximum(from_arm, 0)], 0.0)
    g_from = np.where(from_arm >= 0, G[cust, np.maximum(from_arm, 0)], 0.0)
    dc, dg = c_to - c_from, g_to - g_from
    slope = dg / dc
    # decreasing efficiency; within a customer slopes strictly decrease, so the chain order
    # is kept; ties across customers by customer then position (deterministic)
    order = np.lexsort((pos, cust, -slope))
    return {
        "customer": cust[order],
        "position": pos[order],
        "from_arm": from_arm[order],
        "to_arm": to_arm[order],
        "slope": slope[order],
        "spend": np.cumsum(dc[order]) / n,
        "value": np.cumsum(dg[order]) / n,
        "n": n,
        "n_arms": m,
        "chain": chain,
        "length": length,
    }


def _allocation(path, budget):
    """Per-customer state at ``budget``: (vertex arm (n,), next arm (n,), fraction t (n,))."""
    n = path["n"]
    spend = path["spend"]
    j = int(np.searchsorted(spend, budget, side="right"))  # upgrades fully bought
    done_cust = path["customer"][:j]
    count = np.bincount(done_cust, minlength=n)
    chain = path["chain"]
    rows = np.arange(n)
    arm = np.where(count > 0, chain[rows, np.maximum(count - 1, 0)], -1)
    nxt = np.full(n, -1)
    frac = np.zeros(n)
    if j < spend.shape[0]:
        prev = spend[j - 1] if j > 0 else 0.0
        t = (budget - prev) / (spend[j] - prev)
        if t > 0:
            i = path["customer"][j]
            nxt[i] = path["to_arm"][j]
            frac[i] = t
    return arm, nxt, frac


def budget_curve(gains, costs, budgets, *, scores=None, arm_names=None, control_name="control"):
    """Value of the optimal multi-arm policy at every budget (the multi-armed Qini curve).

    Solves the LP relaxation "at most one arm per customer, average spend at most B" for
    every budget B along one exact solution path (see ``budget_path``): per customer the
    convex hull of (cost, gain) points, then a global merge of all upgrades by decreasing
    gain per unit of cost, as the maq package does. Budgets beyond the spend of treating
    every customer with a positive gain leave the value flat.

    Parameters
    ----------
    gains : array-like or DataFrame of shape (n, K - 1)
        Gain over control of each treated arm, per customer: e.g. DR score differences
        Gamma_k - Gamma_control, or predicted effects. They decide the allocation. A DataFrame's
        columns name the arms.
    costs : array-like of shape (K - 1,) or (n, K - 1)
        Cost of each treated arm (per arm, or per customer and arm), strictly positive, in
        the units of ``budgets``.
    budgets : array-like of shape (m,)
        Average spend per customer (>= 0).
    scores : array-like of shape (n, K - 1), optional
        Unbiased per-customer gains (DR score differences) on which to *evaluate* the policy
        chosen with ``gains``; default ``gains`` itself (the LP optimum). Use predicted effects
        as ``gains`` and held-out DR scores here for an honest curve.
    arm_names : list of str, optional
        Names of the treated arms (default: the DataFrame columns of ``gains`` or 1..K-1).
    control_name : str, default="control"
        Name of the no-action arm in the share columns.

    Returns
    -------
    DataFrame indexed by ``budget``
        ``value`` (mean gain per customer over treating no one), ``std_error``
        (sd over customers of each customer's contribution sum_k x_ik s_ik divided by sqrt(n),
        with the allocation held fixed), ``spend`` (average spend actually used) and
        ``share_<arm>`` (share of customers given each arm, control included; fractional
        at the margin).

    Examples
    --------
    >>> import numpy as np
    >>> curve = budget_curve(np.array([[2.0], [1.0]]), [1.0], [0.0, 0.5, 1.0, 2.0])
    >>> curve["value"].tolist()
    [0.0, 1.0, 1.5, 1.5]
    """
    names = None
    if isinstance(gains, pd.DataFrame):
        names = [str(c) for c in gains.columns]
    G = _as_matrix(gains, "gains")
    n, m = G.shape
    if arm_names is not None:
        names = [str(a) for a in arm_names]
        if len(names) != m:
            raise ValueError(f"arm_names must have {m} entries, got {len(names)}")
    if names is None:
        names = [str(k) for k in range(1, m + 1)]
    S = G if scores is None else _as_matrix(scores, "scores", n, m)
    B = np.atleast_1d(np.asarray(budgets, dtype=np.float64))
    if B.ndim != 1 or not np.all(np.isfinite(B)) or np.any(B < 0):
        raise ValueError("budgets must be a 1-D array of finite values >= 0")
    path = budget_path(G, costs)
    c = np.asarray(costs, dtype=np.float64)
    C = np.broadcast_to(c, (n, m)) if c.ndim == 1 else c
    rows = np.arange(n)
    out = np.empty((B.shape[0], 3 + m + 1))
    S_ext = np.hstack([S, np.zeros((n, 1))])  # column -1 = control (gain 0, cost 0)
    C_ext = np.hstack([C, np.zeros((n, 1))])
    for b, budget in enumerate(B):
        arm, nxt, frac = _allocation(path, budget)
        psi = S_ext[rows, arm] + frac * (S_ext[rows, nxt] - S_ext[rows, arm])
        spend = C_ext[rows, arm] + frac * (C_ext[rows, nxt] - C_ext[rows, arm])
        share = np.zeros(m + 1)
        np.add.at(share, arm, 1.0 - frac)
        np.add.at(share, nxt, frac)
        out[b, 0] = psi.mean()
        out[b, 1] = psi.std(ddof=1) / np.sqrt(n) if n > 1 else np.nan
        out[b, 2] = spend.mean()
        out[b, 3:] = np.concatenate([[share[-1]], share[:-1]]) / n
    cols = ["value", "std_error", "spend", f"share_{control_name}"] + [f"share_{a}" for a in names]
    return pd.DataFrame(out, index=pd.Index(B, name="budget"), columns=cols)
