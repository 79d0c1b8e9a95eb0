"""Every Python code block of README.md and docs/**/*.rst runs as printed.

The blocks of one page run in order in one fresh process (a page is a worked example that
builds on itself), from an empty working directory, with the Agg backend. A page that fails
names its failing block and line.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.rst"))]
PAGES = [p for p in PAGES if "_build" not in p.parts and "auto_examples" not in p.parts]

_FENCE = re.compile(r"^```python\n(.*?)^```", re.M | re.S)
_RST = re.compile(
    r"^\.\. code-block:: python\n((?:[ \t]*:\w[^\n]*\n)*)\n((?:(?:[ \t]+[^\n]*)?\n)+)", re.M
)


def code_blocks(path: Path) -> list[tuple[int, str]]:
    """(line number, source) of each Python block of a Markdown or reST page."""
    text = path.read_text()
    blocks = []
    if path.suffix == ".md":
        for m in _FENCE.finditer(text):
            blocks.append((text[: m.start()].count("\n") + 2, m.group(1)))
    else:
        for m in _RST.finditer(text):
            source = textwrap.dedent(m.group(2)).rstrip() + "\n"
            blocks.append((text[: m.start(2)].count("\n") + 1, source))
    return blocks


_PRINTS = re.compile(r"^```python\n(.*?)^```\n\nwhich prints\n\n```text\n(.*?)^```", re.M | re.S)


def test_readme_output_is_what_the_code_prints(tmp_path):
    """The README shows real output: its quick start prints exactly the text under it."""
    code, printed = _PRINTS.search((ROOT / "README.md").read_text()).groups()
    script = tmp_path / "quickstart.py"
    script.write_text(code)
    proc = subprocess.run(
        [sys.executable, "-W", "ignore", str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout == printed


def test_collector_finds_blocks_in_both_formats(tmp_path):
    md = tmp_path / "a.md"
    md.write_text("x\n```python\nprint(1)\n```\n```bash\nls\n```\n")
    rst = tmp_path / "a.rst"
    rst.write_text("t\n\n.. code-block:: python\n   :caption: c\n\n   a = 1\n\n   b = a\n\nend\n")
    assert code_blocks(md) == [(3, "print(1)\n")]
    assert code_blocks(rst) == [(6, "a = 1\n\nb = a\n")]


PAGES_WITH_CODE = [p for p in PAGES if code_blocks(p)]


@pytest.mark.parametrize(
    "page", PAGES_WITH_CODE, ids=[str(p.relative_to(ROOT)) for p in PAGES_WITH_CODE]
)
def test_page_code_runs_as_printed(page, tmp_path):
    parts = ["import matplotlib\nmatplotlib.use('Agg')\n"]
    for line, source in code_blocks(page):
        parts.append(f"# --- {page.name}:{line}\n__block_line__ = {line}\n{source}\n")
    script = tmp_path / "page.py"
    script.write_text("".join(parts))
    proc = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=600
    )
    where = page.relative_to(ROOT)
    assert proc.returncode == 0, f"{where}: a code block fails\n{proc.stderr[-3000:]}"
