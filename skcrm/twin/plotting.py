"""Figures of the digital twin: driver curves (Figure 7), twin simplex (Figure 4),
baselines and loadings over periods (Figures 5-6)."""

from __future__ import annotations

import numpy as np

__all__ = ["plot_driver_effects", "plot_twin_simplex", "plot_baselines_and_loadings"]


def _axes(ax, **kwargs):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(**kwargs)
    return ax


def plot_driver_effects(curves, deltas, feature="feature", *, truth=None, ax=None, n_ice=30):
    """Partial dependence of affinity on a shifted item, with its spread across rows.

    Parameters
    ----------
    curves : ndarray of shape (n_samples, n_deltas)
        One row of :meth:`~skcrm.twin.DigitalTwinRegressor.driver_effects` for one feature.
    deltas : array-like of shape (n_deltas,)
        Shifts of the feature, one per column of ``curves``.
    feature : str
        Axis label.
    truth : ndarray of shape (n_deltas,), optional
        A reference curve (e.g. the generator's true PD), affinely aligned to the model's
        PD before plotting (z is identified only up to location and scale).
    ax : matplotlib Axes, optional
        Axes to draw on (a new figure by default).
    n_ice : int, default=30
        Individual (ICE) curves drawn in the background.

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> d = np.linspace(-2, 2, 5)
    >>> ax = plot_driver_effects(np.outer(np.ones(4), d), d, "speed")
    """
    ax = _axes(ax, figsize=(5, 3.5))
    curves = np.asarray(curves, dtype=float)
    curves = curves[~np.isnan(curves).any(1)]
    deltas = np.asarray(deltas, dtype=float)
    pd_curve = curves.mean(0)
    centred = (
        curves
        - curves[:, [int(np.argmin(np.abs(deltas)))]]
        + pd_curve[int(np.argmin(np.abs(deltas)))]
    )
    for row in centred[: int(n_ice)]:
        ax.plot(deltas, row, color="0.75", lw=0.6)
    lo, hi = np.quantile(centred, [0.1, 0.9], axis=0)
    ax.fill_between(deltas, lo, hi, color="C0", alpha=0.2, label="10-90% of respondents")
    ax.plot(deltas, pd_curve, color="C0", lw=2, label="model (mean)")
    if truth is not None:
        truth = np.asarray(truth, dtype=float)
        A = np.column_stack([truth, np.ones_like(truth)])
        coef, *_ = np.linalg.lstsq(A, pd_curve, rcond=None)
        ax.plot(deltas, A @ coef, "k--", lw=1.5, label="truth (aligned)")
    ax.set_xlabel(f"shift of {feature}")
    ax.set_ylabel("E[affinity z]")
    ax.legend(fontsize=8)
    return ax


def plot_twin_simplex(shares, firm, *, labels=None, ax=None):
    """Barycentric scatter of the softmax twin coordinates over three firms (Figure 4).

    Parameters
    ----------
    shares : ndarray of shape (n_samples, 3)
        :meth:`~skcrm.twin.DigitalTwinRegressor.twin_simplex`.
    firm : array-like of shape (n_samples,)
        Each respondent's own firm (colours).
    labels : list of str, optional
        Corner labels.
    ax : matplotlib Axes, optional
        Axes to draw on (a new figure by default).

    Returns
    -------
    ax : matplotlib Axes
    """
    shares = np.asarray(shares, dtype=float)
    if shares.shape[1] != 3:
        raise ValueError("the twin simplex is drawn for exactly three firms")
    ax = _axes(ax, figsize=(4.5, 4))
    corners = np.array([[0.0, 0.0], [1.0, 0.0], [0.5, np.sqrt(3) / 2]])
    xy = shares @ corners
    firm = np.asarray(firm)
    for i, k in enumerate(np.unique(firm)):
        sel = firm == k
        ax.scatter(
            xy[sel, 0],
            xy[sel, 1],
            s=4,
            alpha=0.4,
            color=f"C{i}",
            label=f"customers of {_firm_label(k)}",
        )
    ax.plot(*np.vstack([corners, corners[:1]]).T, "k-", lw=0.8)
    labels = labels or ["firm 0", "firm 1", "firm 2"]
    for (x, y), lab in zip(corners, labels, strict=True):
        ax.annotate(str(lab), (x, y), ha="center", va="bottom" if y > 0 else "top")
    ax.set_aspect("equal")
    ax.axis("off")
    ax.legend(fontsize=7, loc="upper right", markerscale=3)
    return ax


def _firm_label(k):
    """``firm 0`` for a numeric firm code, the name itself otherwise."""
    return f"firm {k}" if isinstance(k, (int, np.integer, float, np.floating)) else str(k)


def plot_baselines_and_loadings(estimator, *, target=0, level=0.95, axes=None, target_name=None):
    """Baselines alpha_jkt and loadings lambda_jkt over periods, with bands (Figures 5-6).

    Parameters
    ----------
    estimator : fitted DigitalTwinRegressor
        The fitted twin.
    target : int, default=0
        Index of the target (survey question) drawn.
    level : float, default=0.95
        Level of the posterior bands.
    axes : pair of matplotlib Axes, optional
        Axes for the baselines and the loadings (a new figure by default).
    target_name : str, optional
        Name of the target in the titles (``target <index>`` by default).

    Returns
    -------
    axes : pair of matplotlib Axes
    """
    import matplotlib.pyplot as plt

    if axes is None:
        # constrained layout keeps the legend below the panels inside the figure
        _, axes = plt.subplots(1, 2, figsize=(9, 3.8), layout="constrained")
    t = np.arange(estimator.n_periods_)
    a_lo, a_hi = estimator.alpha_interval(level)
    l_lo, l_hi = estimator.loadings_interval(level)
    for k, name in enumerate(estimator.firms_):
        c = f"C{k}"
        axes[0].plot(t, estimator.alpha_[target, k], color=c, label=_firm_label(name))
        axes[0].fill_between(t, a_lo[target, k], a_hi[target, k], color=c, alpha=0.2)
        axes[1].plot(t, estimator.loadings_[target, k], color=c, label=_firm_label(name))
        axes[1].fill_between(t, l_lo[target, k], l_hi[target, k], color=c, alpha=0.2)
    name = target_name or f"target {target}"
    axes[0].set_title(f"{name}: baseline alpha")
    axes[1].set_title(f"{name}: loading lambda")
    axes[0].set_ylabel("baseline alpha (answer scale)")
    axes[1].set_ylabel("loading lambda on affinity")
    for ax in axes:
        ax.set_xticks(t, [str(p) for p in estimator.periods_])
        ax.set_xlabel("period")
    # below the panels: the bands fill the whole plotting area
    axes[0].legend(
        fontsize=8, ncol=len(estimator.firms_), loc="upper left", bbox_to_anchor=(0.0, -0.2)
    )
    return axes
