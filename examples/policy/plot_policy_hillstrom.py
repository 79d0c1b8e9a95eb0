"""
Targeting e-mails on Hillstrom with a doubly-robust policy tree
===============================================================

Learn which of three e-mails (none, Mens, Womens) to send each customer of the Hillstrom
experiment to maximise two-week spend, with :class:`skcrm.policy.DRPolicyClassifier` and
an exact depth-2 :class:`skcrm.policy.PolicyTreeClassifier`; evaluate it on a 20%
hold-out with DR values and 95% intervals next to the fixed policies; then the budget curve
(multi-armed Qini): the best gain per customer when only a share of customers can be
e-mailed.
"""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from skcrm.datasets import load_hillstrom
from skcrm.policy import DRPolicyClassifier, PolicyTreeClassifier
from skcrm.policy.plotting import plot_budget_curve, plot_policy_tree, plot_policy_values

frame = load_hillstrom()
# pre-treatment covariates, categories one-hot encoded
X = frame[["recency", "history", "mens", "womens", "newbie"]].astype(float)
for col, levels in (("zip_code", ("Surburban", "Urban")), ("channel", ("Web", "Multichannel"))):
    for level in levels:
        X[f"{col}_{level.lower()}"] = (frame[col].astype(str) == level).astype(float)
y = frame["spend"].to_numpy(dtype=float)
a = frame["segment"].astype(str).to_numpy()
train, test = train_test_split(np.arange(len(frame)), test_size=0.2, random_state=0)

# each arm was assigned with probability 1/3: a scalar 1/3 is that uniform design
policy = DRPolicyClassifier(
    policy_model=PolicyTreeClassifier(max_depth=2, min_samples_leaf=500),
    control="No E-Mail",
    random_state=0,
).fit(X.iloc[train], y[train], treatment=a[train], propensity=1 / 3)

# %%
# The learned tree: the rule at each split, the action and its mean DR score per leaf.
plot_policy_tree(policy)
plt.tight_layout()

# %%
# Held-out DR values per customer ($ over two weeks) with 95% normal intervals.
held_out = (X.iloc[test], y[test])
results = {}
for name, fixed in [("learned policy", None), *[(f"always {arm}", arm) for arm in policy.actions_]]:
    res = policy.evaluate(*held_out, treatment=a[test], propensity=1 / 3, policy=fixed)
    value, ci = (
        (res["value"], res["ci"]) if fixed is None else (res["policy_value"], res["policy_ci"])
    )
    results[name] = {"value": value, "ci": ci}
print(pd.DataFrame(results).T.to_string())
plot_policy_values(results, title="Hillstrom: held-out DR value")
plt.tight_layout()

# %%
# Budget curve on the hold-out: one e-mail costs 1, so the budget is the share of customers
# e-mailed; customers and e-mails are ranked by the predicted gain over no e-mail and the
# gain is measured with held-out DR scores (95% pointwise band).
budgets = np.array([0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0])
curve = policy.budget_curve(*held_out, treatment=a[test], propensity=1 / 3, budgets=budgets)
print(curve.round(3).to_string())
ax = plot_budget_curve(curve)
ax.set_xlabel("share of customers e-mailed (budget, one e-mail = 1)")
plt.tight_layout()
plt.show()
