"""The end-to-end demonstration behind ``python -m skcrm demo``.

The tour is a list of sections. Each section is a module exposing
``run(report, quick=False)``; it writes text, tables and figures to ``report``. A section
whose module is not present is skipped with a note, so every estimator adds its own
section in its own folder (``skcrm/<method>/_demo.py``) without touching this file.
"""

from __future__ import annotations

import importlib
import importlib.util
import time
from pathlib import Path

import numpy as np

# (key, title, module) in the order of the tour.
SECTIONS = (
    ("data", "The shipped data sets", "skcrm.datasets._demo"),
    ("clv", "AttributeBGNBD on CDNOW", "skcrm.clv._demo"),
    ("surrogate", "Surrogate index: targeting for long-term outcomes", "skcrm.surrogate._demo"),
    ("policy", "DRPolicyClassifier on the Hillstrom e-mail experiment", "skcrm.policy._demo"),
    ("pomdp", "POMDPPolicy: hidden relationship states", "skcrm.pomdp._demo"),
    ("twin", "DigitalTwinRegressor: the survey twin", "skcrm.twin._demo"),
    ("allocation", "RobustCampaignAllocator on Hillstrom", "skcrm.allocation._demo"),
)


class DemoReport:
    """Collects the demo's text, tables and figures into a folder.

    Parameters
    ----------
    out_dir : str or Path
        Folder that receives ``report.md`` and the figures (created if missing).
    """

    def __init__(self, out_dir):
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self._lines: list[str] = ["# skcrm demo", ""]
        self.figures: list[Path] = []

    def section(self, title: str) -> None:
        """Start a section of the report (printed as it happens)."""
        print(f"\n== {title}", flush=True)
        self._lines += [f"## {title}", ""]

    def text(self, text: str) -> None:
        """Add a paragraph."""
        print(text, flush=True)
        self._lines += [text, ""]

    def table(self, frame, caption: str | None = None, floatfmt: str = ".4g") -> None:
        """Add a pandas DataFrame (or Series) as a Markdown table."""
        import pandas as pd

        if isinstance(frame, pd.Series):
            frame = frame.to_frame()
        body = _markdown_table(frame, floatfmt)
        if caption:
            self.text(f"**{caption}**")
        print(body, flush=True)
        self._lines += [body, ""]

    def figure(self, fig, name: str, caption: str | None = None) -> Path:
        """Save a matplotlib figure as ``<name>.png`` and reference it in the report."""
        import matplotlib.pyplot as plt

        path = self.out_dir / f"{name}.png"
        fig.savefig(path, dpi=110, bbox_inches="tight")
        plt.close(fig)
        self.figures.append(path)
        self._lines += [f"![{caption or name}]({path.name})", ""]
        if caption:
            self._lines += [f"*{caption}*", ""]
        print(f"[figure] {path}", flush=True)
        return path

    def write(self) -> Path:
        """Write ``report.md`` and return its path."""
        path = self.out_dir / "report.md"
        path.write_text("\n".join(self._lines))
        return path


def _format_number(v, floatfmt: str = ".4g") -> str:
    """A table cell at reading precision: no "-2.2e-16", no "nan", no "2.3e+04".

    >>> [_format_number(v) for v in (-2.220446e-16, float("nan"), 22990.4, 0.5171, 3)]
    ['0', '–', '22,990', '0.5171', '3']
    """
    import numbers

    import numpy as np

    if isinstance(v, bool | np.bool_) or not isinstance(v, numbers.Real):
        return str(v)
    v = float(v)
    if np.isnan(v):
        return "–"
    if abs(v) < 1e-9:  # floating-point noise around zero
        return "0"
    text = format(v, floatfmt)
    if "e+" in text or (abs(v) >= 1e4 and "." not in floatfmt.rstrip("g")):
        return f"{v:,.0f}"
    return text


def _markdown_table(frame, floatfmt: str) -> str:
    def fmt(v):
        if isinstance(v, float | np.floating):
            return _format_number(v, floatfmt)
        return str(v)

    index_name = frame.index.name or ""
    header = [str(index_name), *map(str, frame.columns)]
    rows = [
        [fmt(i), *(fmt(v) for v in row)]
        for i, row in zip(frame.index, frame.itertuples(index=False), strict=True)
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def run_demo(out_dir="skcrm-demo", quick: bool = False, only=None) -> Path:
    """Run every available section of the tour and write the report.

    Parameters
    ----------
    out_dir : str or Path
        Folder for ``report.md`` and the figures.
    quick : bool
        Smaller fits with the same sections (used by the smoke test).
    only : list of str, optional
        Keys of the sections to run (see ``SECTIONS``); all by default.

    Returns
    -------
    Path
        The written ``report.md``.
    """
    import matplotlib

    matplotlib.use("Agg")
    keys = [key for key, _, _ in SECTIONS]
    if only:
        unknown = sorted(set(only) - set(keys))
        if unknown:
            raise ValueError(f"unknown demo section(s) {unknown}; expected some of {keys}")
    import pandas as pd

    report = DemoReport(out_dir)
    timings = {}
    for key, title, module in SECTIONS:
        if only and key not in only:
            continue
        if importlib.util.find_spec(module) is None:
            report.section(title)
            report.text("(not yet part of skcrm: this section is skipped)")
            continue
        report.section(title)
        start = time.perf_counter()
        importlib.import_module(module).run(report, quick=quick)
        seconds = time.perf_counter() - start
        timings[key] = seconds
        report.text(f"_section '{key}' ran in {seconds:.1f} s_")
    if timings:
        report.section("Time per section")
        report.table(
            pd.Series(timings, name="seconds").rename_axis("section").round(1),
            floatfmt=".1f",
        )
    path = report.write()
    return path.resolve()
