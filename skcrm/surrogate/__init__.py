"""Surrogate index (Athey et al.; Yang, Eckles, Dhillon & Aral).

:class:`SurrogateIndexTransformer` imputes a long-term outcome from short-term surrogates
learned on historical data; :func:`surrogate_ate` estimates treatment effects on the imputed
outcome; :func:`athey_bias_bound` bounds the bias when surrogacy fails (eqs. 31-32).
"""

from ._core import athey_bias_bound
from ._effects import surrogate_ate
from ._estimator import SurrogateIndexTransformer
from ._learner import SurrogatePolicyLearner, pack_surrogate_target, unpack_surrogate_target
from ._study import figure3_study

__all__ = [
    "SurrogateIndexTransformer",
    "SurrogatePolicyLearner",
    "athey_bias_bound",
    "figure3_study",
    "pack_surrogate_target",
    "surrogate_ate",
    "unpack_surrogate_target",
]
