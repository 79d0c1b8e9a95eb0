"""Surrogate index (Athey et al.; Yang, Eckles, Dhillon & Aral).

SurrogateIndexTransformer, surrogate ATE, bias bounds.
"""

__all__: list[str] = []
