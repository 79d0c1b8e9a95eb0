"""
Nominal versus robust allocation on the Hillstrom e-mail experiment
===================================================================

Learn the lift of the Mens and Womens e-mails on visits with two logistic models on 70% of
the customers, segment the customers by k-means on their predicted lift vectors, build 50
bootstrap scenarios, and allocate e-mails to 20% of the customers. The held-out 30% gives the
realised value of each allocation (difference in means per segment and arm, bootstrapped).
"""

import matplotlib.pyplot as plt

from skcrm.allocation._demo import hillstrom_comparison
from skcrm.allocation.plotting import plot_allocation, plot_robustness_path

table, est, values = hillstrom_comparison(quick=False)
print(table.round(1))

est.resolve(method="ellipsoidal", theta=3.0)
plot_allocation(est, campaign_labels=["Mens", "Womens"], title="ellipsoidal, theta=3")
plot_robustness_path(est.robustness_path([0, 1, 2, 3, 4, 5, 6]))

fig, ax = plt.subplots(figsize=(6, 3.5))
for name in ("nominal", "ellipsoidal (theta=3)", "max regret"):
    ax.hist(values[name], bins=25, alpha=0.5, label=name)
ax.set(xlabel="held-out incremental visits", ylabel="bootstrap replicates")
ax.legend()
plt.show()
