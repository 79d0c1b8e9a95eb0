"""Command line: ``python -m skcrm demo [--out DIR] [--quick] [--only SECTION ...]``."""

from __future__ import annotations

import argparse
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
    args = parser.parse_args(argv)
    if args.command == "demo":
        from ._demo import run_demo

        report = run_demo(args.out, quick=args.quick, only=args.only)
        print(f"skcrm demo: report written to {report}")
        return 0
    return 2  # pragma: no cover - argparse enforces the sub-command


if __name__ == "__main__":
    sys.exit(main())
