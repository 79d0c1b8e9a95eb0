"""Command line: ``python -m skcrm demo [--out DIR] [--quick] [--only SECTION ...]``."""

from __future__ import annotations

import argparse
import os
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m skcrm", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="end-to-end tour of every estimator on the shipped data")
    demo.add_argument("--out", default="skcrm-demo", help="folder for the report and figures")
    demo.add_argument(
        "--quick", action="store_true", help="smaller fits (for smoke tests), same sections"
    )
    demo.add_argument(
        "--only", nargs="+", metavar="SECTION", help="run only these sections (by key)"
    )
    demo.add_argument(
        "--threads",
        type=int,
        default=1,
        help="BLAS/OpenMP/XLA threads per process (default 1; variables already set in the "
        "environment win)",
    )
    args = parser.parse_args(argv)
    if args.command == "demo":
        _pin_threads(args.threads)
        from ._demo import run_demo

        report = run_demo(args.out, quick=args.quick, only=args.only)
        print(f"skcrm demo: report written to {report}")
        return 0
    return 2  # pragma: no cover - argparse enforces the sub-command


def _pin_threads(n: int) -> None:
    """Set thread counts before numpy, xgboost or JAX load.

    OpenMP libraries that spin-wait make oversubscribed fits collapse on small or busy
    machines (the surrogate section took 385 s with default threads next to other jobs
    on 2 cores, 25 s with one), so the demo runs with ``n`` threads unless told otherwise.
    """
    if n < 1:
        raise ValueError(f"--threads must be at least 1, got {n}")
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, str(n))
    if n == 1:
        os.environ.setdefault(
            "XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
        )


if __name__ == "__main__":
    sys.exit(main())
