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
    "plot_expected_transactions_matrix",
    "plot_history_alive",
    "plot_calibration_holdout_tracking",
    "history_alive",
    "calibration_holdout_tracking",
]


def _rfm_frame(model, arr):
    """An RFM array in the model's column names when it was fitted on a DataFrame."""
    if hasattr(model, "feature_names_in_") and getattr(model, "input_form_", "rfm") == "rfm":
        return pd.DataFrame(arr, columns=list(model.feature_names_in_))
    return arr


def holdout_tracking(model, X, times):
    """Expected cumulative transactions of all customers in (T, T + t] for each t in ``times``.

    Parameters
    ----------
    model : fitted AttributeBGNBD
        The model.
    X : pandas.DataFrame or array-like
        Transaction log or RFM summary of the calibration period.
    times : array-like of float
        Forecast lengths.

    Returns
    -------
    ndarray of shape (len(times),)
        Expected cumulative transactions.

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
        The model.
    X : pandas.DataFrame or array-like
        Calibration log or RFM summary.
    holdout_counts : array-like of shape (n_customers,)
        Holdout transactions per customer, aligned with the model's output order.
    t : float
        Holdout length.
    n_bins : int, default=15
        Number of bins.

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


def plot_tracking(weeks, actual, curves, calibration_end=None, *, ax=None, incremental=False):
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
        Axes to draw on.
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
    ax.set_ylabel(
        "repeat transactions per interval" if incremental else "cumulative repeat transactions"
    )
    ax.legend(frameon=False)
    return ax


def plot_frequency_histogram(model, summary, max_count=7, *, ax=None):
    """Customers by number of calibration repeat transactions, actual vs model (prior pmf).

    Each customer's count is X(T_i - t_1i) under the prior (new-customer) distribution of
    Eq. (4); the last bar collects ``max_count`` and more.

    Parameters
    ----------
    model : fitted AttributeBGNBD without attributes
        The model.
    summary : pandas.DataFrame
        RFM summary (``frequency``, ``T`` columns in the model's ``rfm_cols``).
    max_count : int, default=7
        Counts above are pooled.
    ax : matplotlib Axes, optional
        Axes to draw on.

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


def plot_conditional_expectation(predicted, holdout_counts, frequency, max_count=7, *, ax=None):
    """Mean holdout transactions by calibration frequency: actual against predicted.

    Parameters
    ----------
    predicted : array-like of shape (n_customers,)
        Predicted holdout transactions.
    holdout_counts : array-like of shape (n_customers,)
        Observed holdout transactions.
    frequency : array-like of shape (n_customers,)
        Calibration repeat transactions.
    max_count : int
        Frequencies above are pooled.
    ax : matplotlib Axes, optional
        Axes to draw on.

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


def plot_probability_alive_matrix(model, T, max_frequency=30, n_recency=40, *, ax=None):
    """P(alive) over (frequency, recency) for customers of age T (classic RFM models).

    Parameters
    ----------
    model : fitted AttributeBGNBD without attributes
        The model.
    T : float
        Customer age (time since the first purchase).
    max_frequency : int, default=30
        Largest number of repeat purchases shown.
    n_recency : int, default=40
        Recency grid points in [0, T].
    ax : matplotlib Axes, optional
        Axes to draw on.

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


def plot_expected_transactions_matrix(model, T, t=1.0, max_frequency=30, n_recency=40, *, ax=None):
    """Expected purchases in the next ``t`` over (frequency, recency), customers of age T.

    Works with any classic RFM model (``AttributeBGNBD`` without attributes, ``ParetoNBD``).

    Parameters
    ----------
    model : fitted AttributeBGNBD or ParetoNBD
        Model with ``conditional_expected_transactions(X, t)`` on an RFM array.
    T : float
        Customer age (time since the first purchase).
    t : float, default=1.0
        Forecast length.
    max_frequency : int, default=30
        Largest number of repeat purchases shown.
    n_recency : int, default=40
        Recency grid points in [0, T].
    ax : matplotlib Axes, optional
        Axes to draw on.

    Returns
    -------
    matplotlib Axes
        The image of E[X(t)].
    """
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(5, 4))[1]
    f, rec = np.meshgrid(np.arange(max_frequency + 1), np.linspace(0, T, n_recency))
    n, R = f.ravel().astype(float), np.where(f.ravel() > 0, rec.ravel(), 0.0)
    X = _rfm_frame(model, np.column_stack([n, R, np.full_like(n, float(T))]))
    ex = np.asarray(model.conditional_expected_transactions(X, t), dtype=float)
    img = ax.imshow(
        ex.reshape(f.shape),
        origin="lower",
        aspect="auto",
        extent=(0, max_frequency, 0, T),
        cmap="viridis",
    )
    plt.colorbar(img, ax=ax, label=f"expected purchases in the next {t:g} time units")
    ax.set_xlabel("repeat transactions")
    ax.set_ylabel("recency (time of last purchase since the first)")
    return ax


def history_alive(model, purchase_times, end, n_points=200):
    """P(alive) of one customer along calendar time, given the purchases made so far.

    Parameters
    ----------
    model : fitted AttributeBGNBD (classic) or ParetoNBD
        Model with ``probability_alive`` on an RFM array.
    purchase_times : array-like of float
        The customer's purchase times (model units; same-time purchases count once).
    end : float
        Last time of the path.
    n_points : int, default=200
        Grid points between the first purchase and ``end``.

    Returns
    -------
    pandas.Series
        P(alive) indexed by time.

    Examples
    --------
    >>> from skcrm.clv import AttributeBGNBD
    >>> from skcrm.datasets import load_cdnow
    >>> m = AttributeBGNBD(dropout_mixing="beta", dropout_after_first=False)
    >>> m = m.fit(load_cdnow("summary").to_numpy())
    >>> path = history_alive(m, [0.0, 5.0, 12.0], end=39.0)
    >>> bool(path.iloc[0] == 1.0), bool(path.iloc[-1] < path.max())
    (True, True)
    """
    times = np.unique(np.asarray(purchase_times, dtype=float))
    if times.size == 0:
        raise ValueError("purchase_times is empty")
    if end < times[-1]:
        raise ValueError(f"end ({end}) precedes the last purchase ({times[-1]})")
    t1 = times[0]
    grid = np.union1d(np.linspace(t1, end, n_points), times)
    k = np.searchsorted(times, grid, side="right")  # purchases made by each grid time
    x = (k - 1).astype(float)
    R = times[k - 1] - t1
    X = _rfm_frame(model, np.column_stack([x, R, grid - t1]))
    pa = np.asarray(model.probability_alive(X), dtype=float)
    return pd.Series(pa, index=pd.Index(grid, name="time"), name="probability_alive")


def plot_history_alive(model, purchase_times, end, n_points=200, *, ax=None):
    """P(alive) path of one customer (:func:`history_alive`), purchases as vertical lines.

    Parameters
    ----------
    model : fitted AttributeBGNBD (classic) or ParetoNBD
        Model with ``probability_alive`` on an RFM array.
    purchase_times : array-like of float
        The customer's purchase times (model units).
    end : float
        Last time of the path.
    n_points : int, default=200
        Grid points.
    ax : matplotlib Axes, optional
        Axes to draw on.

    Returns
    -------
    matplotlib Axes
        The path.
    """
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(6, 3))[1]
    path = history_alive(model, purchase_times, end, n_points)
    ax.plot(path.index, path.to_numpy(), "-", label="P(alive)")
    for i, tp in enumerate(np.unique(np.asarray(purchase_times, dtype=float))):
        ax.axvline(tp, color="grey", lw=0.8, ls="--", label="purchase" if i == 0 else None)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("time (model units)")
    ax.set_ylabel("P(alive)")
    ax.legend(frameon=False)
    return ax


def calibration_holdout_tracking(
    model,
    transactions,
    calibration_end,
    observation_end,
    *,
    customer_col="customer_id",
    time_col="t",
    n_points=40,
):
    """Actual and expected cumulative repeat transactions over calibration and holdout.

    Customers are those acquired by ``calibration_end``; the expectation is the model's
    new-customer E[X(w - t_1)] summed over them (FHL 2005, Figure 2), so the same curve
    continues through the holdout.

    Parameters
    ----------
    model : fitted AttributeBGNBD or ParetoNBD
        Model with ``expected_transactions(t)``.
    transactions : pandas.DataFrame
        Long log with numeric times (one row per purchase day).
    calibration_end, observation_end : float
        End of calibration and of the holdout.
    customer_col, time_col : str
        Columns of ``transactions``.
    n_points : int, default=40
        Time points.

    Returns
    -------
    pandas.DataFrame
        ``actual`` and ``expected`` indexed by time.
    """
    t = transactions[time_col].to_numpy(dtype=float)
    first = transactions.groupby(customer_col)[time_col].transform("min").to_numpy(float)
    keep = first <= calibration_end
    t, first = t[keep], first[keep]
    repeat = np.sort(t[t > first])
    t1 = transactions[keep].groupby(customer_col)[time_col].min().to_numpy(float)
    grid = np.linspace(t1.min(), observation_end, n_points)
    actual = np.searchsorted(repeat, grid, side="right").astype(float)
    vals, counts = np.unique(t1, return_counts=True)
    age = np.maximum(grid[:, None] - vals[None, :], 0.0)
    ex = np.asarray(model.expected_transactions(age.ravel()), dtype=float).reshape(age.shape)
    expected = ex @ counts
    return pd.DataFrame({"actual": actual, "expected": expected}, index=pd.Index(grid, name="time"))


def plot_calibration_holdout_tracking(
    model,
    transactions,
    calibration_end,
    observation_end,
    *,
    customer_col="customer_id",
    time_col="t",
    n_points=40,
    incremental=False,
    ax=None,
):
    """Tracking plot of :func:`calibration_holdout_tracking`, a line at the calibration end.

    Parameters
    ----------
    model : fitted AttributeBGNBD or ParetoNBD
        Model with ``expected_transactions(t)``.
    transactions : pandas.DataFrame
        Long log with numeric times.
    calibration_end, observation_end : float
        End of calibration and of the holdout.
    customer_col, time_col : str
        Columns of ``transactions``.
    n_points : int, default=40
        Time points.
    incremental : bool, default=False
        Per-interval instead of cumulative transactions.
    ax : matplotlib Axes, optional
        Axes to draw on.

    Returns
    -------
    matplotlib Axes
        Actual and expected curves with the calibration/holdout boundary.
    """
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(6, 3.5))[1]
    track = calibration_holdout_tracking(
        model,
        transactions,
        calibration_end,
        observation_end,
        customer_col=customer_col,
        time_col=time_col,
        n_points=n_points,
    )
    y = track.diff().fillna(track.iloc[[0]]) if incremental else track
    ax.plot(track.index, y["actual"], "k-", lw=2, label="actual")
    ax.plot(track.index, y["expected"], "--", label="model")
    ax.axvline(calibration_end, color="grey", lw=1, ls=":", label="end of calibration")
    top = ax.get_ylim()[1]
    ax.text(calibration_end, top, " holdout", ha="left", va="top", color="grey")
    ax.text(calibration_end, top, "calibration ", ha="right", va="top", color="grey")
    ax.set_xlabel("time (model units)")
    ax.set_ylabel(("per-interval" if incremental else "cumulative") + " repeat transactions")
    ax.legend(frameon=False, loc="lower right")
    return ax
