"""
CDNOW: Pareto/NBD, Gamma-Gamma spend and customer lifetime value with intervals
===============================================================================

The lifetimes workflow in skcrm: summarise the CDNOW sample log, split calibration and
holdout, fit the BG/NBD and the Pareto/NBD, the Gamma-Gamma spend model on the repeat
customers, and value every customer in dollars with an interval that carries the parameter
uncertainty. Three figures: the frequency/recency matrix of expected purchases, one customer's
P(alive) path, and tracking over calibration and holdout in one plot.
"""

import matplotlib.pyplot as plt

from skcrm.clv import (
    AttributeBGNBD,
    GammaGammaSpend,
    ParetoNBD,
    annual_to_weekly,
    calibration_holdout_split,
    customer_lifetime_value,
    rfm_summary,
    transactions_from_log,
)
from skcrm.clv.plotting import (
    plot_calibration_holdout_tracking,
    plot_expected_transactions_matrix,
    plot_history_alive,
)
from skcrm.datasets import load_cdnow

cal_end, obs_end = 272 / 7, 545 / 7  # weeks from 1997-01-01
tx = transactions_from_log(load_cdnow("sample"), value_cols=["dollar_value"])
cal, holdout, length = calibration_holdout_split(tx, cal_end, obs_end)
summary = rfm_summary(cal, observation_end=cal_end, monetary_col="dollar_value")

bg = AttributeBGNBD(dropout_mixing="beta", dropout_after_first=False).fit(summary)
pnbd = ParetoNBD().fit(summary)
spend = GammaGammaSpend().fit(summary[summary["frequency"] > 0])
print("BG/NBD:", bg.params_.round(3).to_dict())
print("Pareto/NBD:", pnbd.params_.round(3).to_dict())
print("Gamma-Gamma:", spend.params_.round(2).to_dict())

# %%
# Holdout forecasts of both transaction models against the 39-week holdout
for name, model in (("BG/NBD", bg), ("Pareto/NBD", pnbd)):
    total = model.conditional_expected_transactions(summary, length).sum()
    print(f"{name}: {total:.0f} expected vs {holdout.sum()} actual holdout transactions")

# %%
# Customer lifetime value over the next year (10% a year, weekly), with 95% intervals
clv = customer_lifetime_value(
    pnbd,
    spend,
    summary,
    horizon=52.0,
    discount_rate=annual_to_weekly(0.10),
    margin=0.3,
    n_draws=200,
    random_state=0,
)
print(clv.sort_values("estimate", ascending=False).head().round(2))

# %%
# The three figures: expected purchases over (frequency, recency), one customer's
# P(alive) between purchases, and the calibration/holdout tracking (time in weeks).
fig, axes = plt.subplots(1, 3, figsize=(15, 4))
plot_expected_transactions_matrix(bg, T=cal_end, t=length, ax=axes[0])
axes[0].set_title("expected holdout purchases (BG/NBD)")
customer = tx[tx["customer_id"] == summary.index[0]]["t"]
plot_history_alive(bg, customer[customer <= obs_end], end=obs_end, ax=axes[1])
axes[1].set_title(f"P(alive) of customer {summary.index[0]}")
plot_calibration_holdout_tracking(bg, tx, cal_end, obs_end, n_points=78, ax=axes[2])
axes[2].set_title("cumulative repeat transactions")
# the model's time unit is the week here
axes[0].set_ylabel("weeks from first to last purchase")
axes[0].images[-1].colorbar.set_label(f"expected purchases in the next {length:.0f} weeks")
axes[1].set_xlabel("week")
axes[2].set_xlabel("week")
fig.tight_layout()
