"""Deep generative survey twin (Levy 2024).

DigitalTwinRegressor and counterfactual queries, in JAX/flax.
"""

from ._estimator import DigitalTwinRegressor

__all__ = ["DigitalTwinRegressor"]
