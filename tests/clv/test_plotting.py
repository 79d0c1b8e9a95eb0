"""The figures draw what they claim (counts, curves, a P(alive) image in [0, 1])."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from skcrm.clv import AttributeBGNBD  # noqa: E402
from skcrm.clv.plotting import (  # noqa: E402
    plot_conditional_expectation,
    plot_frequency_histogram,
    plot_probability_alive_matrix,
    plot_tracking,
)
from skcrm.datasets import load_cdnow  # noqa: E402


@pytest.fixture(scope="module")
def fitted():
    s = load_cdnow("summary")
    return AttributeBGNBD(dropout_mixing="beta", dropout_after_first=False).fit(s), s


def test_frequency_histogram_bars_add_up_to_the_customers(fitted):
    model, s = fitted
    ax = plot_frequency_histogram(model, s)
    heights = [p.get_height() for p in ax.patches]
    assert sum(heights[:8]) == len(s)  # actual bars
    assert sum(heights[8:]) == pytest.approx(len(s), rel=1e-9)  # model bars
    plt.close("all")


def test_probability_alive_matrix_is_a_probability_image(fitted):
    model, _ = fitted
    ax = plot_probability_alive_matrix(model, T=39.0)
    img = ax.images[0].get_array()
    assert img.min() >= 0 and img.max() <= 1
    assert np.all(img[:, 0] == 1.0)  # no repeat purchase: alive in BG/NBD mode
    plt.close("all")


def test_tracking_and_conditional_expectation_draw_every_curve(fitted):
    ax = plot_tracking([1, 2, 3], [1, 3, 6], {"a": [1, 2, 4], "b": [2, 3, 5]}, calibration_end=2)
    assert len(ax.lines) == 4  # actual, two models, the calibration line
    ax = plot_conditional_expectation([0.1, 0.5, 1.0], [0, 1, 2], [0, 1, 2])
    assert len(ax.lines) == 2
    plt.close("all")
