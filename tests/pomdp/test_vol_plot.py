"""The value-of-learning plot does not draw solver round-off as a curve."""

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from skcrm.pomdp.plotting import plot_vol_curve  # noqa: E402


def _curve(vol):
    dcv = np.array([50.0, 90.0, 120.0])
    return pd.DataFrame(
        {"dcv_pomdp": dcv, "dcv_open_loop": dcv - vol, "vol": vol},
        index=pd.Index([6, 12, 24], name="horizon"),
    )


def test_round_off_vol_is_drawn_as_zero_with_a_note():
    ax = plot_vol_curve(_curve(np.array([3e-11, -2e-11, 1e-11])))
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), 0.0)
    assert ax.get_ylim() == (-1.0, 1.0)
    assert any("VOL is 0" in t.get_text() for t in ax.texts)


def test_real_vol_is_drawn_as_is():
    vol = np.array([2.5, -0.7, 3.9])
    ax = plot_vol_curve(_curve(vol))
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), vol)
    assert not ax.texts
