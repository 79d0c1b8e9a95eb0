"""Demo section: the shipped real data sets."""

from __future__ import annotations

import pandas as pd

from ._loaders import load_cdnow, load_hillstrom


def run(report, quick: bool = False) -> None:
    master = load_cdnow("master")
    summary = load_cdnow("summary")
    report.text(
        f"CDNOW master log: {len(master):,} transactions of "
        f"{master['customer_id'].nunique():,} customers, "
        f"{master['date'].min():%Y-%m-%d} to {master['date'].max():%Y-%m-%d}. "
        f"Calibration summary (39 weeks, sample of {len(summary):,} customers): "
        f"{(summary['frequency'] == 0).mean():.1%} made no repeat purchase."
    )
    report.table(
        summary.describe().T[["mean", "std", "min", "50%", "max"]],
        caption="CDNOW calibration summary (weeks)",
    )
    weekly = (
        master.assign(week=(master["date"] - master["date"].min()).dt.days // 7)
        .groupby("week")
        .size()
    )
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3))
    ax.plot(weekly.index, weekly.to_numpy(), lw=1.2)
    ax.axvline(39, color="grey", ls="--", lw=1)
    ax.text(39.5, weekly.max() * 0.9, "end of calibration", fontsize=8)
    ax.set(xlabel="week since 1997-01-01", ylabel="transactions", title="CDNOW weekly transactions")
    report.figure(fig, "data_cdnow_weekly", "Weekly transactions of the CDNOW cohort")

    hill = load_hillstrom()
    by_arm = hill.groupby("segment", observed=True)[["visit", "conversion", "spend"]].mean()
    by_arm["customers"] = hill["segment"].value_counts()
    report.text(f"Hillstrom e-mail experiment: {len(hill):,} customers randomised to three arms.")
    report.table(by_arm, caption="Hillstrom outcomes by arm (two-week means)")
    lift = by_arm["spend"] - by_arm.loc["No E-Mail", "spend"]
    report.table(pd.DataFrame({"spend lift vs no e-mail": lift}), caption="Average lift by arm")
