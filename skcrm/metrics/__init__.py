"""Metrics shared across methods (policy values, allocation risk summaries).

Light on purpose: numpy and pandas only (no cvxpy, no JAX at import).
"""

from ._allocation import make_allocation_scorer, summary_statistics, worst_case_loss

__all__ = ["make_allocation_scorer", "summary_statistics", "worst_case_loss"]
