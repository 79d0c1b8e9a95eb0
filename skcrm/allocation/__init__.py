"""Campaign allocation under response-rate uncertainty (Lo, Pachamanova & Gulpinar).

``RobustCampaignAllocator`` (the sklearn estimator) and ``solve_allocation`` (the
optimisation core: nominal, expected-value, min-max regret, interval, ellipsoidal,
Bertsimas-Sim, D-norm, worst-case, CVaR and mean-variance models). cvxpy is imported only
when a model is solved.
"""

from ._core import METHODS, AllocationError, AllocationResult, covariance_factor, solve_allocation
from ._demo import hillstrom_comparison
from ._estimator import RobustCampaignAllocator

__all__ = [
    "METHODS",
    "AllocationError",
    "AllocationResult",
    "RobustCampaignAllocator",
    "covariance_factor",
    "hillstrom_comparison",
    "solve_allocation",
]
