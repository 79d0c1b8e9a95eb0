"""Out-of-sample risk summaries of realised campaign value (Lo, Pachamanova & Gulpinar).

``summary_statistics`` gives the rows of the paper's Table 2; ``worst_case_loss`` the
Table 3 measure as the paper defines it (spec 6.5, 8.6).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["summary_statistics", "worst_case_loss"]

_ROWS = [
    "Mean", "Min", "5th Per", "25th Per", "Median", "75th Per", "95th Per", "Max",
    "StDev", "IQR", "Range", "Coeff of Var",
]  # fmt: skip


def _values(values):
    v = np.asarray(values, dtype=float).reshape(-1)
    if v.size == 0:
        raise ValueError("values must not be empty")
    if not np.all(np.isfinite(v)):
        raise ValueError("values must be finite (no NaN or inf)")
    return v


def summary_statistics(values, ddof=1):
    """The rows of the paper's Table 2 for a sample of realised values.

    Mean, Min, 5th/25th/50th/75th/95th percentiles (``np.percentile``, linear), Max, StDev
    (``ddof``), IQR = P75 - P25, Range = Max - Min and the coefficient of variation in
    percent (100 StDev / Mean; NaN when the mean is 0).

    Parameters
    ----------
    values : array-like of shape (n,)
        Realised values (e.g. total lift of an allocation in each test scenario).
    ddof : int
        Delta degrees of freedom of the standard deviation (the paper: sample sd).

    Returns
    -------
    pandas.Series
        Indexed ``["Mean", "Min", "5th Per", "25th Per", "Median", "75th Per", "95th Per",
        "Max", "StDev", "IQR", "Range", "Coeff of Var"]``.

    References
    ----------
    Lo, Pachamanova & Gulpinar, Table 2.

    Examples
    --------
    >>> s = summary_statistics(np.arange(1, 201))
    >>> [round(float(s[k]), 6) for k in ("5th Per", "StDev", "Coeff of Var")]
    [10.95, 57.879185, 57.591228]
    """
    v = _values(values)
    mean = v.mean()
    sd = v.std(ddof=ddof) if v.size > ddof else np.nan
    q = np.percentile(v, [5, 25, 50, 75, 95])
    cv = 100.0 * sd / mean if mean != 0 else np.nan
    out = [mean, v.min(), *q[:3], q[3], q[4], v.max(), sd, q[3] - q[1], v.max() - v.min(), cv]
    return pd.Series(np.asarray(out, dtype=float), index=_ROWS, name="value")


def worst_case_loss(values):
    """Worst-case loss in percent: ``100 (mean - min) / mean`` (the paper's Table 3 definition).

    The paper likens it to a drawdown. Table 3 of the paper does not follow from its own
    Table 2 under this definition (spec 6.7); this is the stated definition.

    Parameters
    ----------
    values : array-like of shape (n,)

    Returns
    -------
    float
        NaN when the mean is 0.

    Examples
    --------
    >>> round(worst_case_loss(np.arange(1, 201)), 6)
    99.004975
    """
    v = _values(values)
    mean = v.mean()
    return float(100.0 * (mean - v.min()) / mean) if mean != 0 else float("nan")
