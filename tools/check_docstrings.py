"""numpydoc validation of skcrm's public API (run by ``make lint``).

Usage: ``python tools/check_docstrings.py [MODULE ...]`` (default: every public skcrm module).
Every public class, its public methods defined in skcrm, and every public function must have
a summary line and document each parameter with a description. Inherited scikit-learn methods
(``set_params``, ``set_*_request``...) are sklearn's docstrings and are not checked.
"""

from __future__ import annotations

import importlib
import inspect
import sys

from numpydoc.validate import validate

# GL08 no docstring · SS01 no summary · PR01 parameter not documented · PR02 documented
# parameter that does not exist · PR07 parameter without description · SS06 summary over
# one line is allowed (math summaries), so it is not listed.
CHECKS = ("GL08", "SS01", "PR01", "PR02", "PR07")

METHODS = ("allocation", "clv", "policy", "pomdp", "surrogate", "twin")
MODULES = (
    *(f"skcrm.{m}" for m in METHODS),
    *(f"skcrm.{m}.plotting" for m in METHODS),
    "skcrm.datasets",
    "skcrm.design",
    "skcrm.metrics",
    "skcrm.utils",
)


def _targets(module_name):
    module = importlib.import_module(module_name)
    for name in getattr(module, "__all__", []):
        obj = getattr(module, name)
        if not (inspect.isclass(obj) or inspect.isfunction(obj)):
            continue
        if not (getattr(obj, "__module__", "") or "").startswith("skcrm"):
            continue
        path = f"{obj.__module__}.{obj.__qualname__}"
        yield path, obj
        if inspect.isclass(obj):
            for attr, member in vars(obj).items():
                if attr.startswith("_") or not inspect.isfunction(member):
                    continue
                yield f"{path}.{attr}", member


def check(module_names) -> list[str]:
    """Return one line per failed check."""
    failures, seen = [], set()
    for module_name in module_names:
        for path, _ in _targets(module_name):
            if path in seen:
                continue
            seen.add(path)
            result = validate(path)
            for code, message in result["errors"]:
                if code in CHECKS:
                    failures.append(f"{path}: {code} {message}")
    return failures


def main(argv) -> int:
    failures = check(argv or MODULES)
    for line in failures:
        print(line)
    print(f"numpydoc: {len(failures)} problem(s) in {', '.join(argv or MODULES)}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
