"""
Contact policy with hidden relationship states
==============================================

Fit :class:`skcrm.pomdp.POMDPPolicy` to a simulated CRM panel (a two-state relationship:
no contact / e-mail / sales call, purchases none / small / large), look at the policy over
beliefs, one customer's belief path, and the value of learning over planning horizons.
"""

# %%
# Simulate and fit
# ----------------
# 500 customers observed for 60 periods under a random contact policy; the model learns the
# hidden state's transitions under each action and the purchase levels each state emits,
# then solves the POMDP from the fitted start belief. Costs and purchase values are given
# per action and per outcome level (here the labels are 0, 1, 2).

import matplotlib.pyplot as plt

from skcrm.datasets import make_pomdp_crm
from skcrm.pomdp import POMDPPolicy
from skcrm.pomdp.plotting import plot_belief_path, plot_policy, plot_vol_curve

X, y, truth = make_pomdp_crm(n_customers=500, n_periods=60, random_state=1)
est = POMDPPolicy(
    action_costs=[0, 2, 10], outcome_values=[0, 10, 40], n_init=3, random_state=0
).fit(X, y)
print("fitted transitions\n", est.transmat_.round(3))
print("DCV at start", round(est.value_at_start_, 2), "VOL", round(est.vol_at_start_, 2))
print(
    "value on the true process",
    round(truth.evaluate_estimator(est), 2),
    "true optimum",
    round(truth.optimal_value(truth.b0), 2),
)
print(est.strategic_segments(X, y)["quadrant"].value_counts())

# %%
# The policy, one customer's beliefs, and the value of learning
# -------------------------------------------------------------
# Top: the recommended action over the belief that the relationship is in the high state.
# Middle: how one customer's belief moves with contacts and purchases. Bottom: the value of
# learning (the POMDP's planning value minus that of an open-loop plan that ignores
# purchases) over planning horizons: it can be negative at short horizons, where the
# stationary policy invests in contacts whose payoff lies beyond the horizon.

fig, axes = plt.subplots(3, 1, figsize=(8, 10))
plot_policy(est, ax=axes[0])
plot_belief_path(est, X, y, customer=3, ax=axes[1])
plot_vol_curve(est.vol_curve(horizons=(3, 6, 12, 24, 48, 96)), ax=axes[2])
fig.tight_layout()
plt.show()
