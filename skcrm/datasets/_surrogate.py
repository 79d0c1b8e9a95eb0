"""Simulators with known ground truth for the surrogate index and DR policy.

make_surrogate_targeting (shared by the two estimators).

numpy, scipy and pandas only: importing skcrm.datasets must stay light.
"""

__all__: list[str] = []
