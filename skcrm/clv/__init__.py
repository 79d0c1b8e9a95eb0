"""Customer-base valuation.

AttributeBGNBD (Braun, Schweidel & Stein 2015), ParetoNBD, GammaGammaSpend and
customer_lifetime_value, transaction-log summaries, tracking plots.
"""

from ._classic import GammaGammaSpend, ParetoNBD, customer_lifetime_value
from ._data import calibration_holdout_split, rfm_summary, transactions_from_log
from ._estimator import AttributeBGNBD, annual_to_weekly

__all__ = [
    "AttributeBGNBD",
    "GammaGammaSpend",
    "ParetoNBD",
    "annual_to_weekly",
    "calibration_holdout_split",
    "customer_lifetime_value",
    "rfm_summary",
    "transactions_from_log",
]
