"""Out-of-sample risk summaries of realised campaign value (Lo, Pachamanova & Gulpinar).

``summary_statistics`` gives the rows of the paper's Table 2; ``worst_case_loss`` the
Table 3 measure as the paper defines it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["make_allocation_scorer", "summary_statistics", "worst_case_loss"]

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
    Table 2 under this definition; this is the stated definition.

    Parameters
    ----------
    values : array-like of shape (n,)
        Realised values (e.g. of one allocation over scenarios).

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


def make_allocation_scorer(
    metric="mean", *, tail_fraction=0.05, n_scenarios=200, random_state=None
):
    """A ``scorer(estimator, X, y)`` of held-out realised allocation value.

    For ``GridSearchCV(scoring=...)`` with a fitted ``RobustCampaignAllocator``: the plug-in
    held-out value (``"mean"``) or, over ``n_scenarios`` bootstrap replicates of the
    held-out rows stratified by segment x arm, its ``tail_fraction`` quantile (``"quantile"``), the
    mean of its lowest ``tail_fraction`` (``"cvar"``), its minimum (``"min"``) or minus its
    worst-case loss (``"neg_wcl"``). Higher is better. ``y`` is ``[outcome, treatment]``.

    Parameters
    ----------
    metric : {"mean", "quantile", "cvar", "min", "neg_wcl"}
        What to compute from the held-out values.
    tail_fraction : float
        Lower tail of ``"quantile"`` and ``"cvar"``, in (0, 1].
    n_scenarios : int
        Bootstrap replicates of the held-out rows.
    random_state : int or None
        Seeds the bootstrap (overrides the estimator's ``random_state``).

    Returns
    -------
    callable

    Examples
    --------
    >>> scorer = make_allocation_scorer("quantile", tail_fraction=0.1)
    >>> callable(scorer)
    True
    """
    if metric not in ("mean", "quantile", "cvar", "min", "neg_wcl"):
        raise ValueError(f"metric must be mean, quantile, cvar, min or neg_wcl, got {metric!r}")
    if not 0 < tail_fraction <= 1:
        raise ValueError(f"tail_fraction must be in (0, 1], got {tail_fraction!r}")

    def scorer(estimator, X, y, **kwargs):
        from sklearn.base import clone

        est = estimator
        if random_state is not None:  # a shallow twin with the scorer's seed
            est = clone(estimator).set_params(random_state=random_state)
            est.__dict__.update({k: v for k, v in vars(estimator).items() if k.endswith("_")})
        treatment = kwargs.get("treatment")
        if metric == "mean":
            return float(est.held_out_values(X, y, treatment)[0])
        _, values = est.held_out_values(X, y, treatment, n_boot=n_scenarios)
        if metric == "quantile":
            return float(np.percentile(values, 100 * tail_fraction))
        if metric == "cvar":
            k = max(1, int(np.ceil(tail_fraction * values.size)))
            return float(np.sort(values)[:k].mean())
        if metric == "min":
            return float(values.min())
        wcl = worst_case_loss(values)
        return -wcl if np.isfinite(wcl) else float("-inf")

    return scorer
