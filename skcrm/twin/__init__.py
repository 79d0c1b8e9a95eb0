"""Deep generative survey twin (Levy 2024).

DigitalTwinRegressor and counterfactual queries, in JAX/flax.
"""

__all__: list[str] = []
