"""Depth-3 policy trees: fit time of the binned search on n x 20 features (no peer: EconML's
policy tree is compared in benchmarks/policy.py).

Usage: python benchmarks/policy_tree.py [--quick] [--n 64000]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import setup, write_results  # noqa: E402


def _args(parser):
    parser.add_argument("--n", type=int, default=64_000)


ARGS = setup(__doc__.splitlines()[0], extra_args=_args)

import numpy as np  # noqa: E402

from skcrm.policy import PolicyTreeClassifier  # noqa: E402


def main():
    n = 2_000 if ARGS.quick else ARGS.n
    rows = []
    for K in (2, 3):
        rng = np.random.default_rng(0)
        X = rng.normal(size=(n, 20))
        G = rng.normal(size=(n, K))
        G[:, 1] += X[:, 0]
        wall, cpu = time.perf_counter(), time.process_time()
        tree = PolicyTreeClassifier(max_depth=3, n_bins=16).fit(X, G)
        rows.append(
            {
                "rows x features": f"{n:,} x 20",
                "arms K": K,
                "wall (s)": round(time.perf_counter() - wall, 2),
                "CPU (s)": round(time.process_time() - cpu, 2),
                "objective": round(float(tree.tree_["objective"]), 3),
            }
        )
    write_results("policy_tree", ARGS, {"PolicyTreeClassifier(max_depth=3, n_bins=16)": rows})


if __name__ == "__main__":
    main()
