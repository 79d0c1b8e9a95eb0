"""Figures: the allocation (segments x campaigns) and the price-of-robustness path."""

from __future__ import annotations

import numpy as np

__all__ = ["plot_allocation", "plot_robustness_path"]


def plot_allocation(
    allocation, *, ax=None, segment_labels=None, campaign_labels=None, title=None, vmax=None
):
    """Heat map of an allocation: customers of each segment (rows) given each campaign.

    Parameters
    ----------
    allocation : RobustCampaignAllocator or array-like of shape (K, M)
        A fitted allocator (its ``allocation_``) or the allocation itself.
    ax : matplotlib Axes, optional
        Axes to draw on (a new figure by default).
    segment_labels : list of str, optional
        Row labels (the allocator's ``segments_`` by default).
    campaign_labels : list of str, optional
        Column labels (the allocator's ``campaigns_`` by default).
    title : str, optional
        Axes title.
    vmax : float, optional
        Top of the colour scale (the largest cell by default); pass the same value to
        panels that compare allocations so that one colour means one number of customers.

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> ax = plot_allocation([[10, 0], [0, 5]])
    >>> ax.get_ylabel()
    'segment'
    """
    import matplotlib.pyplot as plt

    if hasattr(allocation, "allocation_"):
        est = allocation
        eta = est.allocation_
        segment_labels = segment_labels or [str(s) for s in est.segments_]
        campaign_labels = campaign_labels or [str(t) for t in est.campaigns_]
    else:
        eta = np.asarray(allocation, dtype=float)
    K, M = eta.shape
    if ax is None:
        _, ax = plt.subplots(figsize=(1.6 + 1.2 * M, 0.8 + 0.35 * K))
    vmax = float(eta.max()) if vmax is None else float(vmax)
    im = ax.imshow(eta, aspect="auto", cmap="Blues", vmin=0.0, vmax=max(vmax, 1.0))
    for k in range(K):
        for m in range(M):
            if eta[k, m] >= 0.5:
                color = "white" if eta[k, m] > 0.6 * vmax else "black"
                ax.text(
                    m, k, f"{eta[k, m]:,.0f}", ha="center", va="center", fontsize=8, color=color
                )
    ax.set_xticks(range(M), campaign_labels or range(M))
    ax.set_yticks(range(K), segment_labels or range(K))
    ax.set(xlabel="campaign", ylabel="segment", title=title or "customers per segment and campaign")
    ax.figure.colorbar(im, ax=ax, label="customers")
    return ax


def plot_robustness_path(path, *, ax=None, title=None):
    """Price of robustness: expected and robust value (left axis) and sd (right axis).

    Parameters
    ----------
    path : pandas.DataFrame
        Output of ``RobustCampaignAllocator.robustness_path``.
    ax : matplotlib Axes, optional
        Axes to draw on (a new figure by default).
    title : str, optional
        Axes title.

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> path = pd.DataFrame({"expected_profit": [3.0, 2.5], "robust_objective": [3.0, 1.0],
    ...                      "profit_sd": [1.0, 0.5]}, index=pd.Index([0, 1], name="theta"))
    >>> plot_robustness_path(path).get_xlabel()
    'theta'
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    x = path.index.to_numpy()
    ax.plot(x, path["expected_profit"], "o-", label="expected value")
    ax.plot(x, path["robust_objective"], "s--", label="robust objective")
    ax.set(
        xlabel=path.index.name or "parameter", ylabel="value", title=title or "price of robustness"
    )
    ax2 = ax.twinx()
    ax2.plot(x, path["profit_sd"], "^:", color="tab:red", label="sd")
    ax2.set_ylabel("sd of value", color="tab:red")
    lines = ax.get_lines() + ax2.get_lines()
    ax.legend(lines, [line.get_label() for line in lines], loc="best", fontsize=8)
    return ax
