"""Run every benchmark script in turn (`make bench`); extra arguments go to each script."""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    scripts = sorted(
        p for p in HERE.glob("*.py") if p.name not in {"run_all.py"} and not p.name.startswith("_")
    )
    failed = []
    for script in scripts:
        print(f"\n######## {script.name}", flush=True)
        if subprocess.run([sys.executable, str(script), *sys.argv[1:]]).returncode != 0:
            failed.append(script.name)
    if failed:
        print(f"failed: {failed}")
        return 1
    print(f"all {len(scripts)} benchmarks done; tables in {HERE / 'results'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
