"""Shared fixtures of the allocation tests: the spec's T1 toy and the paper surrogate."""

import numpy as np
import pytest

from skcrm.datasets import load_allocation_surrogate

# Fixture T1: K=2, M=1, N=(100, 100), c=1, B=100, two equiprobable scenarios.
T1_SCEN = np.array([[[0.12], [0.05]], [[0.02], [0.07]]])
T1_N = np.array([100.0, 100.0])


@pytest.fixture(scope="session")
def surrogate():
    return load_allocation_surrogate()


def random_instance(seed):
    """An AC-07 instance: K in [2, 12], M in [1, 4], S in [5, 60], N_k in [10, 5000]."""
    rng = np.random.default_rng(seed)
    K, M, S = rng.integers(2, 13), rng.integers(1, 5), rng.integers(5, 61)
    N = rng.integers(10, 5001, size=K).astype(float)
    c = rng.uniform(0.5, 3, size=(K, M))
    B = rng.uniform(0.1, 0.8) * float((c * N[:, None]).sum())
    C = None if rng.random() < 0.5 else rng.uniform(0.2, 1.0, size=M) * N.sum()
    mean = rng.uniform(-0.02, 0.15, size=K * M)
    A = rng.normal(size=(K * M, K * M)) * 0.02
    cov = A @ A.T / (K * M) + np.eye(K * M) * 1e-4
    scen = rng.multivariate_normal(mean, cov, size=S).reshape(S, K, M)
    return {
        "value_hat": scen.mean(0),
        "segment_sizes": N,
        "scenarios": scen,
        "action_costs": c,
        "budget": B,
        "capacities": C,
    }
