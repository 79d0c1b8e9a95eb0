"""Metrics shared across methods (policy values, allocation risk summaries).

Light on purpose: numpy and pandas only (no cvxpy, no JAX at import).
"""

from ._allocation import summary_statistics, worst_case_loss

__all__ = ["summary_statistics", "worst_case_loss"]
