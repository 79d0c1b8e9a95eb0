"""Demo section: RobustCampaignAllocator on the Hillstrom e-mail experiment.

Learn lifts (visit) of the Mens and Womens e-mails against no e-mail on 70% of the
customers, allocate a budget of 20% of them with nominal and robust models, and compare the
distribution of the realised value on the held-out 30% (bootstrap of the held-out rows).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

MODELS = {
    "nominal": {"method": "nominal"},
    "interval": {"method": "interval"},
    "budgeted": {"method": "budgeted"},
    "ellipsoidal (theta=1.645)": {"method": "ellipsoidal", "theta": 1.645},
    "ellipsoidal (theta=3)": {"method": "ellipsoidal", "theta": 3.0},
    "mean-variance (risk_aversion=1)": {"method": "mean_variance", "risk_aversion": 1.0},
    "worst-case scenario": {"method": "worst_case"},
    "CVaR (tail_fraction=0.1)": {"method": "cvar", "tail_fraction": 0.1},
    "max regret": {"method": "max_regret"},
}


def hillstrom_features(frame):
    """Standardised features: recency, log1p(history), mens, womens, newbie, zip, channel."""
    X = pd.concat(
        [
            frame[["recency", "mens", "womens", "newbie"]].astype(float),
            np.log1p(frame["history"]).rename("log_history"),
            pd.get_dummies(frame[["zip_code", "channel"]], drop_first=True, dtype=float),
        ],
        axis=1,
    )
    return (X - X.mean()) / X.std()


def hillstrom_comparison(quick=False, random_state=0, n_boot=200, n_scenarios=50):
    """Fit on 70%, allocate 20% of the customers, score each model on the held-out 30%.

    The Hillstrom comparison of the documentation: the allocator learns the e-mails' lifts
    on visits against no e-mail on a stratified 70% of the customers, each allocation model
    (nominal, interval, budgeted, ellipsoidal, mean-variance, worst-case, CVaR, max regret)
    allocates a budget of 20% of the customers, and each allocation is valued on the
    held-out 30% (plug-in and bootstrap of the held-out rows).

    Parameters
    ----------
    quick : bool, default=False
        Fewer segments and bootstrap draws (for smoke tests).
    random_state : int, default=0
        Seed of the split, the uplift scenarios and the bootstrap.
    n_boot : int, default=200
        Bootstrap draws of the held-out rows.
    n_scenarios : int, default=50
        Lift scenarios of the allocator.

    Returns
    -------
    table : pandas.DataFrame
        Per model: held-out plug-in value, bootstrap mean, 5th percentile, sd, WCL (%),
        in-sample expected value and number of cells used.
    est : RobustCampaignAllocator
        The fitted allocator (left at the last model).
    values : dict
        Bootstrap held-out values per model.
    """
    from sklearn.model_selection import train_test_split

    from ..datasets import load_hillstrom
    from ..metrics import worst_case_loss
    from ._estimator import RobustCampaignAllocator

    hill = load_hillstrom()
    X = hillstrom_features(hill).to_numpy()
    arms = list(hill["segment"].cat.categories)
    Y = np.column_stack([hill["visit"].to_numpy(), hill["segment"].cat.codes.to_numpy()])
    Xtr, Xte, Ytr, Yte = train_test_split(
        X, Y, train_size=0.7, stratify=Y[:, 1], random_state=random_state
    )
    est = RobustCampaignAllocator(
        method="nominal",
        uplift_model="two_model",
        segmentation="kmeans_lift",
        n_segments=6 if quick else 10,
        uncertainty="bootstrap",
        n_scenarios=10 if quick else n_scenarios,
        budget=0.2 * Xtr.shape[0],
        control=arms.index("No E-Mail"),
        random_state=random_state,
    ).fit(Xtr, Ytr)
    rows, values = {}, {}
    for name, params in MODELS.items():
        est.resolve(**params)
        plug_in, boot = est.held_out_values(Xte, Yte, n_boot=50 if quick else n_boot)
        values[name] = boot
        rows[name] = {
            "held-out value": plug_in,
            "bootstrap mean": boot.mean(),
            "5th percentile": np.percentile(boot, 5),
            "sd": boot.std(ddof=1),
            "WCL (%)": worst_case_loss(boot),
            "in-sample expected": est.expected_profit_,
            "cells used": int((est.allocation_ >= 0.5).sum()),
        }
    return pd.DataFrame(rows).T, est, values


def hillstrom_splits(n_splits=10, quick=False, n_boot=200, n_scenarios=50):
    """Every model on ``n_splits`` 70/30 splits of Hillstrom (seeds 0 .. n_splits - 1).

    Per split and model: the held-out plug-in value (incremental visits) and the 5th
    percentile of its bootstrap over the held-out rows, each also as the difference from the
    nominal allocation of the same split.

    Parameters
    ----------
    n_splits : int
        Number of random 70/30 splits.
    quick : bool
        Fewer segments, scenarios and bootstrap replicates (a smoke run).
    n_boot : int
        Bootstrap replicates of the held-out rows.
    n_scenarios : int
        Bootstrap lift scenarios of each fit.

    Returns
    -------
    summary : pandas.DataFrame
        Per model over the splits: mean and sd of the held-out value, mean, sd, minimum and
        maximum of its gain on nominal, mean and sd of the 5th-percentile gain, and the
        number of splits where the model beats nominal on each.
    per_split : pandas.DataFrame
        One row per split and model.
    """
    import warnings

    rows = []
    for seed in range(n_splits):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # allocates-nothing notes
            table, _, _ = hillstrom_comparison(
                quick=quick, random_state=seed, n_boot=n_boot, n_scenarios=n_scenarios
            )
        base = table.loc["nominal"]
        for name, row in table.iterrows():
            rows.append(
                {
                    "split": seed,
                    "model": name,
                    "held-out value": row["held-out value"],
                    "5th percentile": row["5th percentile"],
                    "gain": row["held-out value"] - base["held-out value"],
                    "gain 5th pct": row["5th percentile"] - base["5th percentile"],
                    "cells used": row["cells used"],
                }
            )
    per_split = pd.DataFrame(rows)
    g = per_split.groupby("model", sort=False)
    summary = pd.DataFrame(
        {
            "held-out mean": g["held-out value"].mean(),
            "held-out sd": g["held-out value"].std(ddof=1),
            "gain mean": g["gain"].mean(),
            "gain sd": g["gain"].std(ddof=1),
            "gain min": g["gain"].min(),
            "gain max": g["gain"].max(),
            "gain 5th pct mean": g["gain 5th pct"].mean(),
            "gain 5th pct sd": g["gain 5th pct"].std(ddof=1),
            "splits better (mean)": g["gain"].apply(lambda v: int((v > 1e-9).sum())),
            "splits better (5th pct)": g["gain 5th pct"].apply(lambda v: int((v > 1e-9).sum())),
            "cells used": g["cells used"].mean(),
        }
    )
    return summary, per_split


def run(report, quick: bool = False) -> None:
    import matplotlib.pyplot as plt

    from .plotting import plot_allocation, plot_robustness_path

    table, est, values = hillstrom_comparison(quick=quick)
    report.text(
        f"Hillstrom: two-model logistic lifts of the Mens/Womens e-mails on visits, learned on "
        f"70% of the customers; {est.n_segments_} k-means segments of the lift vectors; "
        f"{est.lift_scenarios_.shape[0]} bootstrap scenarios; a budget of "
        f"{est.budget:,.0f} e-mails (20% of the training customers). Realised value = "
        "incremental visits, measured on the held-out 30% by difference in means per segment "
        "and arm, bootstrapped over the held-out rows."
    )
    report.table(table, caption="Held-out realised value by model", floatfmt=".1f")
    est.resolve(method="nominal")
    nominal = est.allocation_.copy()
    est.resolve(method="ellipsoidal", theta=3.0)
    vmax = max(nominal.max(), est.allocation_.max())  # one colour scale for both panels
    fig, axes = plt.subplots(1, 2, figsize=(9, 0.8 + 0.35 * est.n_segments_))
    labels = ["Mens", "Womens"]  # campaigns_: the codes 1, 2 of "Mens E-Mail", "Womens E-Mail"
    segments = [f"segment {s}" for s in est.segments_]
    plot_allocation(
        nominal,
        ax=axes[0],
        segment_labels=segments,
        campaign_labels=labels,
        vmax=vmax,
        title="Nominal: customers e-mailed",
    )
    plot_allocation(
        est,
        ax=axes[1],
        segment_labels=segments,
        campaign_labels=labels,
        vmax=vmax,
        title="Robust (ellipsoidal, theta = 3): customers e-mailed",
    )
    fig.tight_layout()
    report.figure(fig, "allocation_hillstrom", "Customers per segment and e-mail")
    path = est.robustness_path(np.linspace(0, 6, 7 if quick else 13))
    ax = plot_robustness_path(path, title="Hillstrom: price of robustness (ellipsoidal)")
    report.figure(ax.figure, "allocation_robustness_path", "Expected value, robust value, sd")
    fig, ax = plt.subplots(figsize=(6, 3.5))
    shown = ("nominal", "interval", "ellipsoidal (theta=3)")
    bins = np.histogram_bin_edges(np.concatenate([values[n] for n in shown]), bins=20)
    for i, (name, style) in enumerate(zip(shown, ("-", "--", ":"), strict=True)):
        same = [o for o in shown[:i] if np.array_equal(values[o], values[name])]
        label = name + (f" (same as {same[0]})" if same else "")
        # outlines, not filled bars: no model hides another and colours match the legend
        ax.hist(
            values[name],
            bins=bins,
            histtype="step",
            lw=2,
            ls=style,
            color=f"C{i}",
            label=f"{label}: mean {values[name].mean():,.0f}",
        )
        ax.axvline(values[name].mean(), color=f"C{i}", lw=1, ls=style)
    ax.set(
        xlabel="held-out incremental visits (30% of customers)",
        ylabel="bootstrap replicates",
        title="Held-out value of three allocations",
    )
    ax.margins(y=0.35)
    ax.legend(fontsize=8, loc="upper left")
    report.figure(fig, "allocation_holdout_values", "Held-out realised value distribution")
