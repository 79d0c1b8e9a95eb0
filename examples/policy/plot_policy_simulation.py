"""
Regret of learned policies on a simulator with known truth
==========================================================

:func:`skcrm.datasets.make_surrogate_targeting` knows the expected outcome of every action
for every customer, so the true value of any policy is computable. Here four-action
policies are learned by :class:`skcrm.policy.DRPolicyClassifier` with exact policy trees of
depth 1-3 and with the paper's one-vs-one reduction of depth-3 classification trees, and
their regret fraction (V(oracle) - V(policy)) / (V(oracle) - V(treat no one)) is shown.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.tree import DecisionTreeClassifier

from skcrm.datasets import make_surrogate_targeting
from skcrm.policy import DRPolicyClassifier, PolicyTreeClassifier

# %%
# Four policy learners: exact policy trees of depth 1 to 3, and a one-vs-one reduction to
# classification trees.
learners = {
    "exact tree, depth 1": {"policy_model": PolicyTreeClassifier(max_depth=1)},
    "exact tree, depth 2": {"policy_model": PolicyTreeClassifier(max_depth=2)},
    "exact tree, depth 3": {"policy_model": PolicyTreeClassifier(max_depth=3)},
    "one-vs-one CART, depth 3": {
        "policy_model": DecisionTreeClassifier(max_depth=3, min_samples_leaf=50),
        "reduction": "ovo",
    },
}
# %%
# Each learner is fitted on three simulated experiments; the simulator gives the true value
# of every learned policy, hence its regret fraction (0: as good as the oracle, 1: no better
# than treating no one).
regret = {name: [] for name in learners}
for seed in range(3):
    d = make_surrogate_targeting(10, 6000, n_actions=4, random_state=seed)
    v_oracle, v_none = d.policy_value("oracle"), d.policy_value(0)
    for name, params in learners.items():
        pol = DRPolicyClassifier(random_state=seed, **params).fit(
            d.X, d.y_long, treatment=d.treatment, propensity=d.propensity
        )
        regret[name].append((v_oracle - d.policy_value(pol)) / (v_oracle - v_none))

# %%
# The mean regret fraction per learner (bars) and each seed (dots).
fig, ax = plt.subplots(figsize=(6, 3))
names = list(regret)
ax.barh(names, [np.mean(regret[n]) for n in names], color="C0")
for i, n in enumerate(names):
    ax.plot(regret[n], [i] * len(regret[n]), "k.", ms=6)
ax.set_xlabel("regret fraction (3 seeds; dots = seeds)")
ax.set_title("K = 4 arms, 6,000 experimental customers")
plt.tight_layout()
plt.show()
