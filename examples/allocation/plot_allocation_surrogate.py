"""
Robust campaign allocation on the paper-like surrogate
======================================================

Lo, Pachamanova & Gulpinar allocate 60,000 e-mails (men's or women's merchandise) to nine
customer clusters whose lifts are uncertain. This example solves the nominal LP, the
interval and worst-case-scenario models and the ellipsoidal SOCP on the shipped surrogate
scenarios, compares their out-of-sample value (the analogue of the paper's
Table 2) and draws the allocations and the price-of-robustness path.
"""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from skcrm.allocation import solve_allocation
from skcrm.allocation.plotting import plot_allocation, plot_robustness_path
from skcrm.datasets import load_allocation_surrogate
from skcrm.metrics import summary_statistics, worst_case_loss

# %%
# The shipped scenarios: 50 training and 200 test draws of the lift of each (cluster,
# campaign) cell, and the cluster sizes.
data = load_allocation_surrogate()
train, test, N = data.train, data.test, data.segment_sizes
flat = train.reshape(50, 18)
F = (flat - flat.mean(0)) / np.sqrt(49 * 50)  # covariance of the scenario mean ("mean" scale)

# %%
# Solve five models on the training scenarios and score each allocation on the 200 test
# scenarios: mean, minimum, 5th percentile, spread and the worst-case loss (WCL).
models = {
    "Nominal": {"method": "nominal"},
    "Interval": {"method": "interval"},
    "WorstScen": {"method": "worst_case"},
    "Ell20": {"method": "ellipsoidal", "theta": 20},
    "Ell150": {"method": "ellipsoidal", "theta": 150},
}
results = {
    name: solve_allocation(train.mean(0), N, scenarios=train, cov_factor=F, budget=60000, **kw)
    for name, kw in models.items()
}
table = {}
for name, res in results.items():
    values = test.reshape(200, 18) @ res.allocation.ravel()
    table[name] = pd.concat(
        [summary_statistics(values), pd.Series({"WCL (%)": worst_case_loss(values)})]
    )
print(pd.DataFrame(table).round(2))

# %%
# The allocations side by side on one colour scale: the robust models move e-mails away
# from the clusters whose lift is most uncertain.
fig, axes = plt.subplots(1, 3, figsize=(12, 4))
labels = [str(k) for k in range(1, 10)]
titles = {
    "Nominal": "Nominal",
    "Ell20": "Ellipsoidal, theta = 20",
    "Ell150": "Ellipsoidal, theta = 150",
}
vmax = max(results[n].allocation.max() for n in ["Nominal", "Ell20", "Ell150"])
for ax, name in zip(axes, ["Nominal", "Ell20", "Ell150"], strict=True):
    plot_allocation(results[name].allocation, ax=ax, segment_labels=labels, vmax=vmax,
                    campaign_labels=["men", "women"], title=titles[name])  # fmt: skip
fig.tight_layout()

# %%
# The price of robustness: expected value, robust objective and standard deviation of
# the value as the ellipsoid grows.
thetas = [0, 5, 20, 50, 100, 150, 200, 300]
rows = []
for theta in thetas:
    res = solve_allocation(train.mean(0), N, method="ellipsoidal", cov_factor=F, theta=theta,
                           budget=60000)  # fmt: skip
    rows.append({"theta": theta, "expected_profit": res.expected_value,
                 "robust_objective": res.objective,
                 "profit_sd": float(np.linalg.norm(F @ res.allocation.ravel()))})  # fmt: skip
plot_robustness_path(pd.DataFrame(rows).set_index("theta"), title="surrogate: price of robustness")
plt.show()
