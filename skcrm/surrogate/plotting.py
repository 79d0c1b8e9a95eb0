"""Figures of the surrogate-index validation (the paper's Fig. 3) and its failure modes."""

from __future__ import annotations

import numpy as np

__all__ = ["plot_failure_modes", "plot_figure3"]

_Z75, _Z95 = 1.1503494, 1.9599640


def _interval(ax, x, est, se, color, label=None, marker="o"):
    """Point with 75% (solid, thick) and 95% (dashed, thin) normal intervals, as in Fig. 3."""
    est, se = np.asarray(est, float), np.asarray(se, float)
    ax.vlines(x, est - _Z95 * se, est + _Z95 * se, colors=color, linestyles="--", lw=1)
    ax.vlines(x, est - _Z75 * se, est + _Z75 * se, colors=color, lw=3)
    ax.plot(x, est, marker, color=color, label=label)


def plot_figure3(results, axes=None):
    """Four panels in the layout of the paper's Fig. 3, from ``figure3_study`` output.

    (a) ATE from the surrogate index built with 1..6 months of surrogates vs the ATE on the
    realised long-term outcome; (b) DR gain over the status quo of the policy learned on each
    index; (c) the comparators: status quo, treat all, short-term proxy, the policy learned
    on the true long-term outcome, the 6-month index policy; (d) difference between each
    index policy and the true-outcome policy. Intervals: 75% (solid) and 95% (dashed).

    Parameters
    ----------
    results : dict
        Output of ``skcrm.surrogate._study.figure3_study``.
    axes : array of 4 matplotlib Axes, optional
        The four panels (a new 2 x 2 figure by default).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    if axes is None:
        fig, axes = plt.subplots(2, 2, figsize=(10, 7))
    axes = np.asarray(axes).ravel()
    fig = axes[0].figure
    m = results["months"]
    x = np.asarray(m.index, dtype=float)
    truth = results["ate_truth"]

    ax = axes[0]
    se_ate = (m["ate_si_high"] - m["ate_si_low"]) / (2 * _Z95)
    _interval(ax, x, m["ate_si"], se_ate, "C0", "surrogate index")
    aipw = truth.iloc[1]
    se_y = (aipw["ci_high"] - aipw["ci_low"]) / (2 * _Z95)
    ax.axhspan(aipw["ate"] - _Z95 * se_y, aipw["ate"] + _Z95 * se_y, color="C1", alpha=0.15)
    ax.axhline(aipw["ate"], color="C1", label="realised long-term outcome (AIPW)")
    ax.axhline(truth.iloc[0]["ate"], color="k", ls=":", label="true ATE")
    ax.set(
        title="(a) ATE: index vs truth",
        xlabel="months of surrogates",
        ylabel="ATE (long-term outcome per customer)",
    )
    ax.legend(fontsize=7)

    ax = axes[1]
    _interval(ax, x, m["dr_gain"], m["dr_gain_se"], "C0", "DR gain (realised Y)")
    ax.plot(x, m["true_gain"], "kx", label="true gain")
    ax.axhline(0, color="grey", lw=1)
    ax.set(
        title="(b) index policies vs status quo",
        xlabel="months of surrogates",
        ylabel="gain per customer",
    )
    ax.legend(fontsize=7, loc="lower center")

    ax = axes[2]
    pol = results["policies"]
    pos = np.arange(len(pol))
    _interval(ax, pos, pol["dr_gain"], pol["dr_gain_se"], "C2", "DR gain (realised Y)")
    ax.plot(pos, pol["true_gain"], "kx", label="true gain")
    ax.axhline(0, color="grey", lw=1)
    ax.set_xticks(pos, [str(p) for p in pol.index], rotation=30, ha="right", fontsize=7)
    ax.set(title="(c) comparators", ylabel="gain per customer over status quo")
    ax.legend(fontsize=7)

    ax = axes[3]
    _interval(ax, x, m["diff_vs_truth"], m["diff_se"], "C3")
    ax.axhline(0, color="grey", lw=1)
    for xi, yi, agree in zip(
        x, m["diff_vs_truth"], m["agreement_with_truth_policy"], strict=True
    ):  # next to each point, clear of its interval
        ax.annotate(
            f"{agree:.0%} agree",
            (xi, yi),
            xytext=(6, 0),
            textcoords="offset points",
            fontsize=7,
            ha="left",
            va="center",
        )
    ax.set(
        title="(d) index policy minus truth policy (agreement)",
        xlabel="months of surrogates",
        ylabel="value difference per customer",
    )
    fig.tight_layout()
    return fig


def plot_failure_modes(table, ax=None):
    """Bias of the index-based ATE next to the eq. 31 bound, and the policy's true gain.

    Parameters
    ----------
    table : DataFrame
        Output of ``skcrm.surrogate._study.failure_table``.
    ax : pair of matplotlib Axes, optional
        Axes for the bias panel and the gain panel (a new figure by default).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    if ax is None:
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    else:
        axes = np.asarray(ax).ravel()
        fig = axes[0].figure
    pos = np.arange(len(table))
    labels = [str(i) for i in table.index]
    axes[0].bar(pos - 0.2, table["si_ate_bias"].abs(), 0.4, label="|bias| of SI ATE")
    applies = table["bound_applies"].to_numpy(bool) if "bound_applies" in table else True
    bound = np.where(applies, table["bias_bound_eq31"], 0.0)
    axes[0].bar(pos + 0.2, bound, 0.4, label="bound (eq. 31; surrogacy only)", alpha=0.6)
    axes[0].set_xticks(pos, labels, rotation=25, ha="right", fontsize=7)
    axes[0].set(
        title="ATE bias and the Athey et al. bound", ylabel="long-term outcome per customer"
    )
    axes[0].margins(y=0.3)
    axes[0].legend(fontsize=7, ncol=2, loc="upper center")
    axes[1].bar(pos - 0.2, table["si_policy_true_gain"], 0.4, label="SI policy")
    axes[1].bar(pos + 0.2, table["oracle_gain"], 0.4, label="oracle", alpha=0.6)
    axes[1].axhline(0, color="grey", lw=1)
    axes[1].set_xticks(pos, labels, rotation=25, ha="right", fontsize=7)
    axes[1].set(title="true gain over the status quo", ylabel="gain per customer")
    axes[1].margins(y=0.3)
    axes[1].legend(fontsize=7, ncol=2, loc="upper center")
    fig.tight_layout()
    return fig
