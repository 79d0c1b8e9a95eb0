"""Doubly-robust multi-action policy learning and evaluation.

DRPolicyClassifier, DR scores, policy trees.
"""

__all__: list[str] = []
