"""
CDNOW: classic BG/NBD against the attribute model
=================================================

Fit the BG/NBD of Fader, Hardie & Lee (2005) and the attribute model of Braun, Schweidel &
Stein (2015) -- churn after each purchase depends on the number of CDs and the dollar value
of that purchase -- on the CDNOW calibration period, and track both on the 39-week holdout.
"""

import matplotlib.pyplot as plt
import numpy as np

from skcrm.clv import AttributeBGNBD, calibration_holdout_split, transactions_from_log
from skcrm.clv.plotting import holdout_tracking, plot_tracking
from skcrm.datasets import load_cdnow

# %%
# Weeks 1-39 calibrate, weeks 40-78 are the holdout. Each purchase's log dollar value and
# log number of CDs, centred, are the attributes of the churn multiplier.
cal_end, obs_end = 272 / 7, 545 / 7
tx = transactions_from_log(
    load_cdnow("sample"), "customer_id", "date", ["number_of_cds", "dollar_value"]
)
cal, holdout, length = calibration_holdout_split(tx, cal_end, obs_end)
cal = cal.copy()
spend = np.log(np.maximum(cal["dollar_value"], 1.0))
cal["log_spend"] = spend - spend.mean()
cal["log_cds"] = np.log(cal["number_of_cds"]) - np.log(cal["number_of_cds"]).mean()

# %%
# Three fits: the classic BG/NBD, the attribute model without attributes, and with them.
# The likelihood-ratio test asks whether the attributes matter.
bg = AttributeBGNBD(customer_col="customer_id", dropout_mixing="beta", dropout_after_first=False)
bg.fit(cal)
plain = AttributeBGNBD(customer_col="customer_id").fit(cal)
attr = AttributeBGNBD(
    customer_col="customer_id",
    attribute_cols=["log_spend", "log_cds"],
    future_attributes="mean_q",
).fit(cal)
print(attr.summary().round(4))
print("LR test against no attributes:", attr.lr_test(plain))

# %%
# Holdout tracking: cumulative repeat transactions in weeks 40-78.
horizons = np.arange(1.0, 40.0)
horizons[-1] = length
times = tx["t"].to_numpy()
actual = [np.sum((times > cal_end) & (times <= cal_end + h)) for h in horizons]
curves = {
    "BG/NBD": holdout_tracking(bg, cal, horizons),
    "attributes": holdout_tracking(attr, cal, horizons),
}
fig, ax = plt.subplots(figsize=(6, 3.5))
plot_tracking(cal_end + horizons, actual, curves, ax=ax)
ax.set_title("CDNOW holdout")
plt.show()
