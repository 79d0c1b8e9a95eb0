"""Surrogate index (Athey et al.; Yang, Eckles, Dhillon & Aral).

:class:`SurrogateIndexTransformer` imputes a long-term outcome from short-term surrogates
learned on historical data; :func:`surrogate_ate` estimates treatment effects on the imputed
outcome; :func:`athey_bias_bound` bounds the bias when surrogacy fails (eqs. 31-32).
"""

from ._core import athey_bias_bound
from ._effects import surrogate_ate
from ._estimator import SurrogateIndexTransformer

__all__ = ["SurrogateIndexTransformer", "athey_bias_bound", "surrogate_ate"]
