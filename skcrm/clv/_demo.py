"""Demo section: AttributeBGNBD on CDNOW (classic BG/NBD vs the attribute model)."""

from __future__ import annotations

import numpy as np
import pandas as pd

CAL_END, OBS_END = 272 / 7, 545 / 7  # 1997-09-30 and 1998-06-30, weeks since 1997-01-01


def cdnow_calibration():
    """CDNOW sample as distinct purchase days with centred log spend and log CDs attributes.

    Returns the calibration log, the holdout counts per customer, the holdout length and the
    full day-level log.
    """
    from skcrm.datasets import load_cdnow

    from ._data import calibration_holdout_split, transactions_from_log

    tx = transactions_from_log(
        load_cdnow("sample"), "customer_id", "date", ["number_of_cds", "dollar_value"]
    )
    cal, hold, length = calibration_holdout_split(tx, CAL_END, OBS_END)
    cal = cal.copy()
    spend = np.log(np.maximum(cal["dollar_value"], 1.0))
    cds = np.log(cal["number_of_cds"].astype(float))
    cal["log_spend"] = spend - spend.mean()
    cal["log_cds"] = cds - cds.mean()
    return cal, hold, length, tx


def run(report, quick=False):
    """Fit the classic and the attribute model on CDNOW and compare them on the holdout."""
    import matplotlib.pyplot as plt

    from skcrm.datasets import load_cdnow

    from . import AttributeBGNBD, annual_to_weekly, rfm_summary
    from .plotting import (
        holdout_tracking,
        plot_conditional_expectation,
        plot_frequency_histogram,
        plot_probability_alive_matrix,
        plot_tracking,
    )

    summary = load_cdnow("summary")
    bg = AttributeBGNBD(dropout_mixing="beta", dropout_after_first=False).fit(summary)
    published = pd.Series({"r": 0.2426, "alpha": 4.4137, "a": 0.7930, "b": 2.4262})
    table = pd.DataFrame(
        {"skcrm": bg.params_, "std_error": bg.standard_errors_, "FHL (2005a)": published}
    )
    report.text(
        "Classic BG/NBD (`dropout_mixing='beta', dropout_after_first=False`) on the 39-week "
        f"CDNOW calibration summary (2,357 customers): log-likelihood "
        f"{bg.log_likelihood_:.2f} (published -9582.43)."
    )
    report.table(table, caption="BG/NBD on CDNOW against Fader, Hardie & Lee (2005a)")

    cal, hold, length, tx = cdnow_calibration()
    plain = AttributeBGNBD(customer_col="customer_id").fit(cal)
    attr = AttributeBGNBD(
        customer_col="customer_id",
        attribute_cols=["log_spend", "log_cds"],
        future_attributes="mean_q",
    ).fit(cal)
    bg_log = AttributeBGNBD(
        customer_col="customer_id", dropout_mixing="beta", dropout_after_first=False
    ).fit(cal)
    lr = attr.lr_test(plain)
    report.text(
        "Attribute model (paper's gamma dropout, churn possible after every purchase) on the "
        "transaction log, one row per customer-day, with each purchase's centred log dollar "
        "value and log number of CDs as attributes of the churn multiplier q_k. "
        f"LR test against the same model without attributes: chi2 = {lr['statistic']:.1f} on "
        f"{lr['df']} df, p = {lr['p_value']:.1e}. Buying more CDs in a purchase lowers the "
        "chance of leaving after it; the dollar value adds nothing once CDs are known."
    )
    report.table(attr.summary(), caption="Attribute model on CDNOW (estimates like Table 2)")

    step = 3 if quick else 1  # 39 weeks in equal buckets
    horizons = np.arange(step, 40, step, dtype=float)
    horizons[-1] = length
    cum_actual = tx[(tx["t"] > CAL_END) & (tx["t"] <= OBS_END)]["t"].to_numpy()
    actual = np.array([np.sum(cum_actual <= CAL_END + h) for h in horizons])
    curves = {
        "BG/NBD": holdout_tracking(bg_log, cal, horizons),
        "no attributes": holdout_tracking(plain, cal, horizons),
        "attributes (mean q)": holdout_tracking(attr, cal, horizons),
    }
    pred = {name: y[-1] for name, y in curves.items()}
    frame = pd.DataFrame(
        {
            "log-likelihood": [bg_log.log_likelihood_, plain.log_likelihood_, attr.log_likelihood_],
            "parameters": [4, 4, 6],
            "holdout forecast": list(pred.values()),
            "actual": [hold.sum()] * 3,
        },
        index=list(curves),
    )
    mae = {}
    for name, model in zip(curves, (bg_log, plain, attr), strict=True):
        mae[name] = float(
            np.mean(np.abs(model.conditional_expected_transactions(cal, length) - hold))
        )
    frame["MAE per customer"] = pd.Series(mae)
    # future attributes simulated: each customer's own past baskets, resampled
    n_paths = 50 if quick else 200
    attr.set_params(future_attributes="bootstrap", n_future_sims=n_paths, random_state=0)
    mc = attr.conditional_expected_transactions(cal, length)
    attr.set_params(future_attributes="mean_q", n_future_sims=0)
    frame.loc[f"attributes (bootstrap, {n_paths} paths)"] = [
        attr.log_likelihood_,
        6,
        mc.sum(),
        hold.sum(),
        float(np.mean(np.abs(mc - hold))),
    ]
    report.table(frame, caption="Holdout weeks 40-78 (1,882 repeat transactions)", floatfmt=".6g")
    report.text(
        "Every CDNOW-calibrated model under-forecasts the holdout (a known property of this "
        "cohort); the attributes improve the likelihood much more than the aggregate forecast. "
        "Simulating future baskets (the customer's own past repeat baskets, resampled) instead "
        f"of the mean multiplier changes the holdout forecast by "
        f"{mc.sum() / pred['attributes (mean q)'] - 1:+.2%}."
    )
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    weeks = CAL_END + horizons
    plot_tracking(weeks, actual, curves, ax=axes[0])
    plot_tracking(weeks, actual, curves, ax=axes[1], incremental=True)
    axes[0].set_title("cumulative, holdout")
    unit = "week" if step == 1 else f"{step} weeks"
    axes[1].set_title(f"per {unit}, holdout")
    axes[1].set_ylabel(f"repeat transactions per {unit}")
    # below the panel: the weekly actuals fill the whole plotting area
    axes[1].legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=4)
    report.figure(fig, "clv_cdnow_tracking", "Holdout tracking of repeat transactions on CDNOW")

    fig, axes = plt.subplots(1, 3, figsize=(15, 3.8))
    plot_frequency_histogram(bg, summary, ax=axes[0])
    rfm = rfm_summary(cal, "customer_id", "t", observation_end=CAL_END)
    plot_conditional_expectation(
        bg_log.conditional_expected_transactions(cal, length).to_numpy(),
        hold.to_numpy(),
        rfm["frequency"].to_numpy(),
        ax=axes[1],
    )
    plot_probability_alive_matrix(bg, T=39.0, ax=axes[2])
    axes[0].set_title("customers by repeat purchases, weeks 1-39")
    axes[1].set_title("holdout purchases by calibration frequency")
    axes[2].set_title("P(alive) of a customer 39 weeks old")
    axes[2].set_ylabel("weeks from first to last purchase")
    report.figure(fig, "clv_cdnow_fit", "BG/NBD fit checks and P(alive) on CDNOW")

    weekly = annual_to_weekly(0.10)
    sub = cal if not quick else cal[cal["customer_id"].isin(cal["customer_id"].unique()[:300])]
    dert = attr.set_params(future_attributes="carry_last").dert(sub, discount_rate=weekly)
    one_cd = -np.log(cal["number_of_cds"].astype(float)).mean()  # log_cds of a single CD
    changes = {"log_cds": one_cd}
    inc = attr.incremental_dert(sub, changes, which="last", discount_rate=weekly)
    bound = attr.retention_investment_upper_bound(
        sub, changes, margin=10.0, which="next", discount_rate=weekly
    )
    report.text(
        f"DERT at 10 % a year (weekly rate {weekly:.5f}), future purchases like the last one: "
        f"mean {dert.mean():.2f} discounted transactions per customer. Had each customer's last "
        f"purchase been a single CD, DERT would change by {inc.mean():+.3f} on average "
        f"({(inc / dert).mean():+.1%}). For a purchase about to happen, a single CD instead of "
        "a copy of the customer's last basket is worth preventing, at a $10 margin per "
        f"transaction, up to ${bound.mean():.2f} per customer on average (max "
        f"${bound.max():.2f}): the paper's upper bound on the retention investment."
    )
