"""Doubly-robust multi-action policy learning and evaluation.

DRPolicyClassifier, DR scores, policy trees.
"""

from skcrm.utils import dr_scores

from ._budget import budget_curve
from ._core import dr_policy_value, ipw_policy_value
from ._estimator import DRPolicyClassifier
from ._policy_tree import PolicyTreeClassifier
from ._target import pack_policy_target, unpack_policy_target

__all__ = [
    "DRPolicyClassifier",
    "PolicyTreeClassifier",
    "budget_curve",
    "dr_policy_value",
    "dr_scores",
    "ipw_policy_value",
    "pack_policy_target",
    "unpack_policy_target",
]
