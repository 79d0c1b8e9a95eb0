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


def test_expected_transactions_matrix_shows_the_model(fitted):
    from skcrm.clv.plotting import plot_expected_transactions_matrix

    model, _ = fitted
    ax = plot_expected_transactions_matrix(model, T=39.0, t=10.0, max_frequency=5, n_recency=4)
    img = np.asarray(ax.images[0].get_array())
    assert img.shape == (4, 6)
    # row = recency grid point (0, 13, 26, 39), column = frequency
    ref = model.conditional_expected_transactions(np.array([[3.0, 26.0, 39.0]]), 10.0)[0]
    assert img[2, 3] == pytest.approx(ref, rel=1e-12)
    plt.close("all")


def test_history_alive_path(fitted):
    from skcrm.clv.plotting import history_alive, plot_history_alive

    model, _ = fitted
    buys = [0.0, 5.0, 12.0]
    path = history_alive(model, buys, end=39.0, n_points=50)
    assert path.iloc[0] == 1.0  # no repeat purchase yet: alive in BG/NBD mode
    s = path.index.to_numpy()
    for a, b in ((5.0, 12.0), (12.0, 39.0)):  # no purchase in between: P(alive) falls
        seg = path[(s >= a) & (s < b)].to_numpy()
        assert np.all(np.diff(seg) <= 1e-15)
    assert path.loc[path.index[np.argmin(np.abs(s - 30.0))]] == pytest.approx(
        model.probability_alive(np.array([[2.0, 12.0, s[np.argmin(np.abs(s - 30.0))]]]))[0]
    )
    ax = plot_history_alive(model, buys, end=39.0)
    assert len(ax.lines) == 1 + len(buys)
    plt.close("all")


def test_calibration_holdout_tracking(fitted):
    from skcrm.clv import transactions_from_log
    from skcrm.clv.plotting import calibration_holdout_tracking, plot_calibration_holdout_tracking

    model, _ = fitted
    tx = transactions_from_log(load_cdnow("sample"), value_cols=[])
    track = calibration_holdout_tracking(model, tx, 272 / 7, 545 / 7, n_points=10)
    first = tx.groupby("customer_id")["t"].transform("min")
    assert track["actual"].iloc[-1] == int((tx["t"] > first).sum())
    t1 = tx.groupby("customer_id")["t"].min().to_numpy()
    w = track.index[-1]
    assert track["expected"].iloc[-1] == pytest.approx(
        model.expected_transactions(np.maximum(w - t1, 0.0)).sum(), rel=1e-10
    )
    # FHL (2005) Figure 2: the model tracks the 78 weeks within a few percent
    assert track["expected"].iloc[-1] == pytest.approx(track["actual"].iloc[-1], rel=0.05)
    ax = plot_calibration_holdout_tracking(model, tx, 272 / 7, 545 / 7, n_points=10)
    assert any(np.allclose(line.get_xdata(), 272 / 7) for line in ax.lines)
    plt.close("all")
