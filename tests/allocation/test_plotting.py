"""Allocation heat maps compared side by side share one colour scale."""

import matplotlib
import numpy as np

matplotlib.use("Agg")


def test_shared_colour_scale():
    import matplotlib.pyplot as plt

    from skcrm.allocation.plotting import plot_allocation

    a, b = np.array([[4598.0, 0.0], [4362.0, 0.0]]), np.array([[3012.0, 1586.0], [4362.0, 0.0]])
    vmax = max(a.max(), b.max())
    _, axes = plt.subplots(1, 2)
    plot_allocation(a, ax=axes[0], vmax=vmax)
    plot_allocation(b, ax=axes[1], vmax=vmax)
    assert axes[0].images[0].get_clim() == axes[1].images[0].get_clim() == (0.0, 4598.0)
    # without vmax each panel scales to its own largest cell, from 0
    ax = plot_allocation(b)
    assert ax.images[0].get_clim() == (0.0, 4362.0)
