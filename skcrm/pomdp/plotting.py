"""Figures for POMDPPolicy: belief paths, the policy over the belief simplex, the VOL curve."""

from __future__ import annotations

import numpy as np

__all__ = ["plot_belief_path", "plot_policy", "plot_vol_curve"]


def _ax(ax, figsize=(7, 3.5)):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def plot_belief_path(est, X, y=None, customer=None, *, state=None, ax=None):
    """One customer's filtered P(top state) over time, with its actions and outcomes.

    Parameters
    ----------
    est : fitted POMDPPolicy
        The model whose filter is drawn.
    X : DataFrame or array
        The customer-period panel (as for ``transform``).
    y : array-like, optional
        Outcome per row of X (default ``X[outcome_col]``).
    customer : id, optional
        Default: the first customer of X.
    state : int, optional
        State whose probability is drawn (default: the highest, K-1).
    ax : matplotlib Axes, optional
        Where to draw (a new figure by default).

    Returns
    -------
    matplotlib Axes
        The axes drawn on.
    """
    import pandas as pd

    ids = X[est.customer_col] if isinstance(X, pd.DataFrame) else X[:, 0]
    ids = np.asarray(ids)
    customer = ids[0] if customer is None else customer
    rows = np.flatnonzero(ids == customer)
    b = est.transform(X, y)[rows]
    table = X.iloc[rows] if isinstance(X, pd.DataFrame) else None
    t = np.asarray(table[est.time_col] if table is not None else X[rows, 1], dtype=float)
    acts = np.asarray(table[est.action_col] if table is not None else X[rows, 2])
    if y is None:
        y = X[est.outcome_col].to_numpy() if table is not None else X[:, 3]
    outcomes = np.asarray(y, dtype=float)[rows]
    order = np.argsort(t)
    t, b, acts, outcomes = t[order], b[order], acts[order], outcomes[order]
    k = est.n_states - 1 if state is None else int(state)
    ax = _ax(ax)
    ax.plot(t, b[:, k], "-o", ms=3, color="C0", label=f"P(state {k} | history)")
    buy = outcomes > 0
    ax.scatter(
        t[buy],
        np.full(buy.sum(), 1.04),
        marker="v",
        color="C3",
        s=18 + 12 * outcomes[buy],
        label="purchase (size = level)",
        clip_on=False,
    )
    codes = np.searchsorted(est.actions_, acts)
    ax2 = ax.twinx()
    ax2.step(t, codes, where="mid", color="C2", alpha=0.6, label="action")
    ax2.set_yticks(range(len(est.actions_)))
    ax2.set_yticklabels([str(a) for a in est.actions_])
    ax2.set_ylabel("action")
    ax.set_ylim(-0.02, 1.08)
    ax.set_xlabel(est.time_col)
    ax.set_ylabel(f"P(state {k})")
    ax.set_title(f"customer {customer}: belief path, actions and purchases")
    ax.legend(loc="upper left", fontsize=8)
    return ax


def plot_policy(est_or_solution, *, actions=None, n=401, ax=None):
    """The policy over the belief simplex: Q-values on P(high) (2 states), a triangle (3).

    Parameters
    ----------
    est_or_solution : fitted POMDPPolicy or POMDPSolution
        The model, or a solved :class:`~skcrm.pomdp.POMDPSolution`.
    actions : list of str, optional
        Action names for the legend (default: the fitted labels).
    n : int, default=401
        Beliefs evaluated along P(high) (two states).
    ax : matplotlib Axes, optional
        Where to draw (a new figure by default).

    Returns
    -------
    matplotlib Axes
        The axes drawn on.
    """
    sol = est_or_solution._solution() if hasattr(est_or_solution, "_solution") else est_or_solution
    if actions is None:
        actions = getattr(est_or_solution, "actions_", np.arange(sol.model.n_actions))
    K = sol.model.n_states
    ax = _ax(ax, (6, 4) if K == 3 else (7, 3.5))
    if K == 2:
        x = np.linspace(0, 1, n)
        B = np.column_stack([1 - x, x])
        q = sol.q_values(B)
        for j, a in enumerate(actions):
            ax.plot(x, q[:, j], label=f"Q(b, {a})")
        best = q.argmax(1)
        ax.plot(x, sol.value(B, policy="open_loop"), "k--", lw=1, label="open-loop value")
        for j in np.unique(best):
            ax.fill_between(x, q.min(), q.max(), where=best == j, alpha=0.08, color=f"C{j}")
        ax.set_xlabel("P(high state)")
        ax.set_ylabel("value")
        ax.set_title("POMDP policy: best action = highest Q-value (shaded)")
        ax.legend(fontsize=8)
        return ax
    if K != 3:
        raise ValueError("plot_policy draws 2- or 3-state policies")
    from ._solver import belief_grid

    B = belief_grid(3, 5000)
    best = sol.action(B)
    px = B[:, 1] + 0.5 * B[:, 2]
    py = np.sqrt(3) / 2 * B[:, 2]
    for j in np.unique(best):
        m = best == j
        ax.scatter(px[m], py[m], s=6, color=f"C{j}", label=f"{actions[j]}")
    ax.plot([0, 1, 0.5, 0], [0, 0, np.sqrt(3) / 2, 0], "k-", lw=0.8)
    for k, (cx, cy) in enumerate([(0, 0), (1, 0), (0.5, np.sqrt(3) / 2)]):
        ax.annotate(
            f"state {k}",
            (cx, cy),
            textcoords="offset points",
            xytext=(0, 6 if k == 2 else -12),
            ha="center",
            fontsize=8,
        )
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title("POMDP policy over the belief simplex (3 states)")
    ax.legend(title="action", fontsize=8, loc="upper right")
    return ax


def plot_vol_curve(curve, *, ax=None):
    """DCV under both policies and VOL over planning horizons (dissertation Figure 15).

    Parameters
    ----------
    curve : DataFrame
        The output of :meth:`skcrm.pomdp.POMDPPolicy.vol_curve`.
    ax : matplotlib Axes, optional
        Where to draw (a new figure by default).

    Returns
    -------
    matplotlib Axes
        The axes drawn on.
    """
    ax = _ax(ax)
    h = curve.index.to_numpy()
    vol = curve["vol"].to_numpy(dtype=float)
    # differences of two solver values below their numerical accuracy are zero, not a curve
    scale = float(np.max(np.abs(curve[["dcv_pomdp", "dcv_open_loop"]].to_numpy()), initial=1.0))
    vol = np.where(np.abs(vol) < 1e-9 * max(scale, 1.0), 0.0, vol)
    ax.plot(h, vol, "-o", color="C3", label="VOL = DCV_POMDP - DCV_open-loop")
    ax.axhline(0, color="k", lw=0.6)
    if not np.any(vol):
        ax.set_ylim(-1, 1)
        ax.text(
            0.5,
            0.75,
            "VOL is 0 at every horizon: planning that ignores purchases is already optimal",
            transform=ax.transAxes,
            ha="center",
            fontsize=8,
        )
    ax.set_xlabel("planning horizon (periods)")
    ax.set_ylabel("value of learning")
    ax.set_title("Value of learning over the planning horizon")
    ax.legend(fontsize=8)
    return ax
