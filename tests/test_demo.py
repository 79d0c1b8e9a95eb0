"""`python -m skcrm demo` runs end to end (quick sizes) and writes its report."""

import subprocess
import sys

import pytest


def test_demo_quick_writes_report_and_figures(tmp_path):
    out = tmp_path / "demo"
    proc = subprocess.run(
        [sys.executable, "-m", "skcrm", "demo", "--quick", "--out", str(out)],
        check=True,
        capture_output=True,
        text=True,
        timeout=900,
    )
    report = out / "report.md"
    assert f"report written to {report.resolve()}" in proc.stdout
    text = report.read_text()
    assert "CDNOW master log: 69,659 transactions of 23,570 customers" in text
    assert "Hillstrom e-mail experiment: 64,000 customers" in text
    assert (out / "data_cdnow_weekly.png").stat().st_size > 1000
    assert "## Time per section" in text  # each section's time, also in report.md
    assert "| nan" not in text and "e-16" not in text


def test_demo_rejects_unknown_section(tmp_path):
    from skcrm._demo import run_demo

    with pytest.raises(ValueError, match="unknown demo section"):
        run_demo(tmp_path, only=["nope"])


def test_demo_pins_threads_without_overriding_the_user(monkeypatch):
    from skcrm.__main__ import _pin_threads

    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    _pin_threads(1)
    import os

    assert os.environ["OMP_NUM_THREADS"] == "3"
    assert os.environ["OPENBLAS_NUM_THREADS"] == "1"
    with pytest.raises(ValueError, match="--threads must be at least 1"):
        _pin_threads(0)
