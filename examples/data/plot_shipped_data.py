"""
The shipped data sets
=====================

skcrm ships the CDNOW transaction log and the Hillstrom e-mail experiment. This example
loads both and draws the repeat-purchase distribution of the CDNOW calibration sample.
"""

import matplotlib.pyplot as plt

from skcrm.datasets import load_cdnow, load_hillstrom

# %%
# CDNOW: one row per customer of the 2,357-customer sample, with the recency, frequency and
# age (T) of the 39-week calibration period.
summary = load_cdnow(kind="summary")
print(summary.describe())

# %%
# Most customers buy again zero times in the calibration weeks: the shape a buy-till-you-die
# model must fit.
counts = summary["frequency"].clip(upper=7).value_counts().sort_index()
fig, ax = plt.subplots(figsize=(6, 3))
ax.bar(counts.index.astype(str).str.replace("7", "7+"), counts.to_numpy())
ax.set(xlabel="repeat transactions in weeks 1-39", ylabel="customers", title="CDNOW sample")

# %%
# Hillstrom: 64,000 customers randomised to no e-mail, the Mens or the Womens e-mail; the
# mean two-week spend per arm.
hillstrom = load_hillstrom()
print(hillstrom.groupby("segment", observed=True)["spend"].agg(["mean", "count"]))
plt.show()
