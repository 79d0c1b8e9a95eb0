"""Twin figures read without help: names in titles, firms in legends, nothing clipped."""

import types

import matplotlib
import numpy as np

matplotlib.use("Agg")


def _stub(firms=(0, 1, 2), n_periods=4):
    k = len(firms)
    shape = (1, k, n_periods)
    return types.SimpleNamespace(
        n_periods_=n_periods,
        firms_=np.array(firms),
        periods_=np.arange(n_periods),
        alpha_=np.zeros(shape),
        loadings_=np.ones(shape),
        alpha_interval=lambda level: (np.full(shape, -1.0), np.ones(shape)),
        loadings_interval=lambda level: (np.zeros(shape), np.full(shape, 2.0)),
    )


def test_baselines_and_loadings_titles_and_legend():
    from skcrm.twin.plotting import plot_baselines_and_loadings

    axes = plot_baselines_and_loadings(_stub(), target_name="LTR")
    assert axes[0].get_title() == "LTR: baseline alpha"  # was "baseline alpha (target 0)"
    assert axes[1].get_title() == "LTR: loading lambda"
    labels = [t.get_text() for t in axes[0].get_legend().get_texts()]
    assert labels == ["firm 0", "firm 1", "firm 2"]
    # the legend sits below the panels and inside the figure
    fig = axes[0].figure
    fig.canvas.draw()
    box = axes[0].get_legend().get_window_extent()
    assert box.y0 >= 0 and box.y1 <= axes[0].get_window_extent().y0


def test_default_title_names_the_target_index():
    from skcrm.twin.plotting import plot_baselines_and_loadings

    axes = plot_baselines_and_loadings(_stub(firms=("A", "B")), target=0)
    assert axes[0].get_title() == "target 0: baseline alpha"
    assert [t.get_text() for t in axes[1].figure.axes[0].get_legend().get_texts()] == ["A", "B"]


def test_simplex_legend_names_firms():
    from skcrm.twin.plotting import plot_twin_simplex

    shares = np.full((6, 3), 1 / 3)
    ax = plot_twin_simplex(shares, np.array([0, 1, 2, 0, 1, 2]))
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["customers of firm 0", "customers of firm 1", "customers of firm 2"]
