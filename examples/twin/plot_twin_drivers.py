"""
Digital marketing twin: drivers of brand affinity
==================================================

Fit :class:`~skcrm.twin.DigitalTwinRegressor` on a simulated brand survey, move every
respondent to another firm (the "twin"), and draw the individual response curves of
affinity to network-speed satisfaction and to the likelihood of changing provider
(the paper's Figure 7), against the generator's truth.
"""

import matplotlib.pyplot as plt
import numpy as np

from skcrm.datasets import make_digital_twin_survey
from skcrm.twin import DigitalTwinRegressor
from skcrm.twin.plotting import plot_baselines_and_loadings, plot_driver_effects, plot_twin_simplex

# %%
# A simulated survey: respondents of three firms over four periods answer seven questions
# (likelihood to recommend, satisfaction, ...) with missing answers; ``truth`` holds the
# generator's affinity.
X, y, kpi, truth = make_digital_twin_survey(n_per_cell=300, n_periods=4, random_state=0)
est = DigitalTwinRegressor(firm_col="firm", time_col="period", kpi=kpi, random_state=0)
est.fit(X, y)
# %%
# The fitted twin: each respondent's expected answers as if a customer of each firm.
print(f"{est.n_iter_} epochs, final training -ELBO per respondent {est.loss_curve_[-1]:.3f}")

# The twin: expected likelihood-to-recommend of five respondents at each firm.
print(np.round(est.complete(X.iloc[:5], statistic="mean")[:, :, 0, 0], 2))

# %%
# Driver effects (the paper's Figure 7): shift one answer of every respondent and average
# the predicted affinity. The model's mean curve follows the generator's convex speed effect
# and saturating change-likelihood effect; grey lines are individual respondents.
deltas = np.round(np.arange(-2, 2.0001, 0.1), 10)
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
for ax, feature in zip(axes, ["speed_sat", "change_likelihood"], strict=True):
    ok = X[feature].notna().to_numpy()
    curves = est.driver_effects(X[ok], [feature], deltas)[:, 0]
    F = truth.F[ok]
    true_pd = [
        truth.true_affinity(F.assign(**{feature: F[feature] + d}), X["firm"][ok]).mean()
        for d in deltas
    ]
    plot_driver_effects(curves, deltas, feature, truth=np.array(true_pd), ax=ax)

# %%
# The twin simplex (Figure 4): where each respondent's affinity under the three firms puts
# them; then the per-period baselines and loadings of the first question (Figures 5-6).
fig, ax = plt.subplots(figsize=(4.5, 4))
plot_twin_simplex(est.twin_simplex(X), X["firm"], ax=ax)
plot_baselines_and_loadings(est, target=0, target_name="LTR")
plt.show()
