"""Design columns of the attribute model: first-job indicator and evolving coefficients.

Evolving coefficients (Eqs. 8-9) unroll to a static log-linear model:
``beta_{c,k} = beta_{c,1} + (k-1) gamma_{c:drift} + sum_f gamma_{f->c} N^f_{k-1}`` where
``N^f_{k-1}`` counts the customer's *previous* jobs with indicator f. The engineered columns
are ``z_c (k-1)`` (named ``"c:drift"``) and ``z_c N^f_{k-1}`` (named ``"f->c"``). Pure numpy.
"""

from __future__ import annotations

import numpy as np

__all__ = ["dynamic_term_list", "dynamic_feature_names", "dynamic_features", "within_index"]


def dynamic_term_list(dynamic_cols, dynamic_terms):
    """Normalise ``dynamic_terms`` to a list of (from, to) pairs; from may be ``"drift"``.

    Examples
    --------
    >>> dynamic_term_list(["L", "H"], "full")
    [('drift', 'L'), ('L', 'L'), ('H', 'L'), ('drift', 'H'), ('L', 'H'), ('H', 'H')]
    >>> dynamic_term_list(["L"], [("L", "L")])
    [('L', 'L')]
    """
    cols = list(dynamic_cols or [])
    if not cols or dynamic_terms == "none":
        return []
    if dynamic_terms == "full":
        return [(f, c) for c in cols for f in ["drift", *cols]]
    terms = []
    for term in dynamic_terms:
        if not (isinstance(term, tuple | list) and len(term) == 2):
            raise ValueError(f"each dynamic term must be a (from, to) pair, got {term!r}")
        f, c = term
        if c not in cols or (f != "drift" and f not in cols):
            raise ValueError(
                f"dynamic term {term!r} must name columns of dynamic_cols={cols} "
                "(from may also be 'drift')"
            )
        terms.append((f, c))
    return terms


def dynamic_feature_names(terms):
    """Column names of the engineered features, ``"c:drift"`` and ``"f->c"``.

    Examples
    --------
    >>> dynamic_feature_names([("drift", "L"), ("L", "L")])
    ['L:drift', 'L->L']
    """
    return [f"{c}:drift" if f == "drift" else f"{f}->{c}" for f, c in terms]


def within_index(codes_sorted):
    """0-based job index k-1 of each row within its customer (rows sorted by customer).

    Examples
    --------
    >>> within_index(np.array([0, 0, 0, 1, 2, 2])).tolist()
    [0, 1, 2, 0, 0, 1]
    """
    codes_sorted = np.asarray(codes_sorted)
    n = codes_sorted.size
    start = np.ones(n, dtype=bool)
    start[1:] = codes_sorted[1:] != codes_sorted[:-1]
    first_pos = np.maximum.accumulate(np.where(start, np.arange(n), 0))
    return np.arange(n) - first_pos


def dynamic_features(codes_sorted, indicators, terms, cols):
    """Engineered columns for evolving coefficients (Eqs. 8-9 unrolled), one row per job.

    Parameters
    ----------
    codes_sorted : ndarray of int, shape (n_jobs,)
        Customer index of each job, jobs sorted by customer then time.
    indicators : ndarray of shape (n_jobs, len(cols))
        The 0/1 dynamic indicator columns.
    terms : list of (from, to)
        From :func:`dynamic_term_list`.
    cols : list of str
        Names of the indicator columns.

    Returns
    -------
    ndarray of shape (n_jobs, len(terms))

    Examples
    --------
    >>> z = np.array([[0.0], [1.0], [1.0], [1.0]])
    >>> dynamic_features(np.array([0, 0, 0, 1]), z, [("drift", "L"), ("L", "L")], ["L"]).tolist()
    [[0.0, 0.0], [1.0, 0.0], [2.0, 1.0], [0.0, 0.0]]
    """
    k0 = within_index(codes_sorted).astype(float)
    out = np.empty((len(codes_sorted), len(terms)))
    col_pos = {c: i for i, c in enumerate(cols)}
    prev = {}
    for f in {f for f, _ in terms if f != "drift"}:
        z = indicators[:, col_pos[f]]
        cs = np.cumsum(z)
        # previous-count within customer: cumulative sum minus the customer's offset and self
        offset = (cs - z)[k0 == 0]
        prev[f] = cs - z - np.repeat(offset, np.bincount(codes_sorted)[np.unique(codes_sorted)])
    for j, (f, c) in enumerate(terms):
        zc = indicators[:, col_pos[c]]
        out[:, j] = zc * (k0 if f == "drift" else prev[f])
    return out
