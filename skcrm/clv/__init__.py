"""Customer-base valuation.

AttributeBGNBD (Braun, Schweidel & Stein 2015), transaction-log summaries, tracking plots.
"""

from ._data import calibration_holdout_split, rfm_summary, transactions_from_log
from ._estimator import AttributeBGNBD, annual_to_weekly

__all__ = [
    "AttributeBGNBD",
    "annual_to_weekly",
    "calibration_holdout_split",
    "rfm_summary",
    "transactions_from_log",
]
