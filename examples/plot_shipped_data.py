"""
The shipped data sets
=====================

skcrm ships the CDNOW transaction log and the Hillstrom e-mail experiment. This example
loads both and draws the repeat-purchase distribution of the CDNOW calibration sample.
"""

import matplotlib.pyplot as plt

from skcrm.datasets import load_cdnow, load_hillstrom

summary = load_cdnow(kind="summary")
print(summary.describe())

counts = summary["frequency"].clip(upper=7).value_counts().sort_index()
fig, ax = plt.subplots(figsize=(6, 3))
ax.bar(counts.index.astype(str).str.replace("7", "7+"), counts.to_numpy())
ax.set(xlabel="repeat transactions in weeks 1-39", ylabel="customers", title="CDNOW sample")

hillstrom = load_hillstrom()
print(hillstrom.groupby("segment", observed=True)["spend"].agg(["mean", "count"]))
plt.show()
