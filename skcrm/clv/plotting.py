"""Figures of the attribute BG/NBD: tracking, count histogram, conditional expectations, P(alive).

matplotlib is imported inside each function.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import _likelihood as lik

__all__ = [
    "p0_calibration_table",
    "holdout_tracking",
    "plot_tracking",
    "plot_frequency_histogram",
    "plot_conditional_expectation",
    "plot_probability_alive_matrix",
]


def holdout_tracking(model, X, times):
    """Expected cumulative transactions of all customers in (T, T + t] for each t in ``times``.

    Parameters
    ----------
    model : fitted AttributeBGNBD
    X : transaction log or RFM summary of the calibration period
    times : array-like of float
        Forecast lengths.

    Returns
    -------
    ndarray of shape (len(times),)

    Examples
    --------
    >>> from skcrm.clv import AttributeBGNBD
    >>> from skcrm.datasets import load_cdnow
    >>> s = load_cdnow("summary")
    >>> m = AttributeBGNBD(dropout_mixing="beta", dropout_after_first=False).fit(s)
    >>> holdout_tracking(m, s, [39.0]).round(1)
    array([1653.4])
    """
    return np.array([np.sum(model.conditional_expected_transactions(X, t)) for t in times])


def p0_calibration_table(model, X, holdout_counts, t, n_bins=15):
    """Calibration of P(no transaction in the holdout) in bins (the paper's Figure 2).

    Customers fall in bin i when (i-1)/n_bins < P0 <= i/n_bins.

    Parameters
    ----------
    model : fitted AttributeBGNBD
    X : calibration log or RFM summary
    holdout_counts : array-like of shape (n_customers,)
        Holdout transactions per customer, aligned with the model's output order.
    t : float
        Holdout length.
    n_bins : int

    Returns
    -------
    pandas.DataFrame
        Per non-empty bin: ``customers``, ``predicted`` (mean P0) and ``observed`` (share
        with no holdout transaction).

    Examples
    --------
    >>> import numpy as np
    >>> from skcrm.clv import AttributeBGNBD
    >>> from skcrm.datasets import load_cdnow
    >>> s = load_cdnow("summary")
    >>> m = AttributeBGNBD(dropout_mixing="beta", dropout_after_first=False).fit(s)
    >>> table = p0_calibration_table(m, s, np.zeros(len(s)), 39.0)
    >>> int(table["customers"].sum())
    2357
    """
    p0 = np.asarray(model.probability_no_transactions(X, t), dtype=float)
    zero = np.asarray(holdout_counts) == 0
    bins = np.clip(np.ceil(p0 * n_bins).astype(int), 1, n_bins)
    frame = pd.DataFrame({"bin": bins, "predicted": p0, "observed": zero.astype(float)})
    out = frame.groupby("bin").agg(
        customers=("predicted", "size"),
        predicted=("predicted", "mean"),
        observed=("observed", "mean"),
    )
    return out


def plot_tracking(weeks, actual, curves, calibration_end=None, ax=None, incremental=False):
    """Cumulative (or per-period incremental, from 0) repeat transactions: actual vs models.

    Parameters
    ----------
    weeks : array-like
        Calendar week of each point.
    actual : array-like
        Observed cumulative transactions at ``weeks``.
    curves : dict of str to array-like
        Model name to expected cumulative transactions at ``weeks``.
    calibration_end : float, optional
        Draws a vertical line at the end of calibration.
    ax : matplotlib Axes, optional
    incremental : bool
        Plot week-to-week differences instead of cumulative totals.

    Returns
    -------
    matplotlib Axes
    """
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(6, 3.5))[1]

    def prep(y):
        y = np.asarray(y, dtype=float)
        return np.diff(y, prepend=0.0) if incremental else y

    ax.plot(weeks, prep(actual), "k-", lw=2, label="actual")
    for name, y in curves.items():
        ax.plot(weeks, prep(y), "--", label=name)
    if calibration_end is not None:
        ax.axvline(calibration_end, color="grey", lw=1, ls=":")
    ax.set_xlabel("week")
    ax.set_ylabel(("weekly" if incremental else "cumulative") + " repeat transactions")
    ax.legend(frameon=False)
    return ax


def plot_frequency_histogram(model, summary, max_count=7, ax=None):
    """Customers by number of calibration repeat transactions, actual vs model (prior pmf).

    Each customer's count is X(T_i - t_1i) under the prior (new-customer) distribution of
    Eq. (4); the last bar collects ``max_count`` and more.

    Parameters
    ----------
    model : fitted AttributeBGNBD without attributes
    summary : pandas.DataFrame
        RFM summary (``frequency``, ``T`` columns in the model's ``rfm_cols``).
    max_count : int
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
    """
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(6, 3.5))[1]
    fcol, _, tcol = model.rfm_cols
    counts = np.minimum(summary[fcol].to_numpy(dtype=int), max_count)
    actual = np.bincount(counts, minlength=max_count + 1)
    T_vals, n_T = np.unique(summary[tcol].to_numpy(dtype=float), return_counts=True)
    expected = np.zeros(max_count + 1)
    for T, n in zip(T_vals, n_T, strict=True):
        pmf = model.probability_of_n_transactions_new(T, np.arange(max_count))
        expected[:max_count] += n * pmf
        expected[max_count] += n * (1 - pmf.sum())
    x = np.arange(max_count + 1)
    ax.bar(x - 0.2, actual, 0.4, label="actual")
    ax.bar(x + 0.2, expected, 0.4, label="model")
    ax.set_xticks(x, [*map(str, x[:-1]), f"{max_count}+"])
    ax.set_xlabel("repeat transactions in calibration")
    ax.set_ylabel("customers")
    ax.legend(frameon=False)
    return ax


def plot_conditional_expectation(predicted, holdout_counts, frequency, max_count=7, ax=None):
    """Mean holdout transactions by calibration frequency: actual against predicted.

    Parameters
    ----------
    predicted, holdout_counts, frequency : array-like of shape (n_customers,)
    max_count : int
        Frequencies above are pooled.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
    """
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(6, 3.5))[1]
    f = np.minimum(np.asarray(frequency, dtype=int), max_count)
    frame = pd.DataFrame(
        {"f": f, "actual": np.asarray(holdout_counts), "model": np.asarray(predicted)}
    )
    means = frame.groupby("f")[["actual", "model"]].mean()
    ax.plot(means.index, means["actual"], "ko-", label="actual")
    ax.plot(means.index, means["model"], "s--", label="model")
    ax.set_xlabel("repeat transactions in calibration")
    ax.set_ylabel("mean holdout transactions")
    ax.legend(frameon=False)
    return ax


def plot_probability_alive_matrix(model, T, max_frequency=30, n_recency=40, ax=None):
    """P(alive) over (frequency, recency) for customers of age T (classic RFM models).

    Parameters
    ----------
    model : fitted AttributeBGNBD without attributes
    T : float
        Customer age (time since the first purchase).
    max_frequency : int
    n_recency : int
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
    """
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(5, 4))[1]
    f, rec = np.meshgrid(np.arange(max_frequency + 1), np.linspace(0, T, n_recency))
    n, R = f.ravel().astype(float), np.where(f.ravel() > 0, rec.ravel(), 0.0)
    q1 = 1.0 if model.dropout_after_first else 0.0
    U = np.where(n > 0, q1 + n - 1, 0.0)
    V = q1 + n
    pa = lik.probability_alive(n, R, np.full_like(n, T), U, V, *model._args())
    img = ax.imshow(
        pa.reshape(f.shape),
        origin="lower",
        aspect="auto",
        extent=(0, max_frequency, 0, T),
        vmin=0,
        vmax=1,
        cmap="viridis",
    )
    plt.colorbar(img, ax=ax, label="P(alive)")
    ax.set_xlabel("repeat transactions")
    ax.set_ylabel("recency (time of last purchase since the first)")
    return ax
