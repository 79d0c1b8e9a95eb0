"""Every benchmark script runs with --quick, so the benchmarks never rot.

Peers (lifetimes, econml, hmmlearn) are installed only by `make bench`; in the test
environment a script reports them as missing and still runs skcrm's side.
"""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted(p for p in (ROOT / "benchmarks").glob("*.py") if not p.name.startswith("_"))
SCRIPTS = [p for p in SCRIPTS if p.name != "run_all.py"]


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_benchmark_script_runs_quick(script, tmp_path):
    proc = subprocess.run(
        [sys.executable, str(script), "--quick", "--results-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    written = list(tmp_path.glob("*.md"))
    assert written, "a benchmark must write its Markdown table"
    assert "|" in written[0].read_text()
