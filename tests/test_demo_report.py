"""The demo's report prints numbers a reader can take in: no float noise, nan or 2.3e+04."""

import numpy as np
import pandas as pd
import pytest

from skcrm._demo import DemoReport, _format_number


@pytest.mark.parametrize(
    ("value", "floatfmt", "expected"),
    [
        (-2.220446049250313e-16, ".4g", "0"),  # the cell
        (3.637978807091713e-12, ".4g", "0"),
        (float("nan"), ".4g", "–"),
        (np.float64("nan"), ".3f", "–"),
        (22990.37, ".4g", "22,990"),
        (0.5171234, ".4g", "0.5171"),
        (1653.41, ".6g", "1653.41"),
        (0.0123, ".3f", "0.012"),
        (3, ".4g", "3"),
        ("adaptive", ".4g", "adaptive"),
    ],
)
def test_format_number(value, floatfmt, expected):
    assert _format_number(value, floatfmt) == expected


def test_table_has_no_nan_or_noise(tmp_path, capsys):
    report = DemoReport(tmp_path)
    frame = pd.DataFrame(
        {"estimate": [0.5171, -2.22045e-16], "z": [np.nan, -2.959], "DCV": [22990.4, 20580.0]},
        index=pd.Index(["r", "log_cds"], name="param"),
    )
    report.table(frame)
    text = report.write().read_text()
    assert "| r | 0.5171 | – | 22,990 |" in text
    assert "| log_cds | 0 | -2.959 | 20,580 |" in text
    assert "nan" not in text and "e-1" not in text and "e+0" not in text
