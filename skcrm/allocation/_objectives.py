"""Numpy evaluation of every model's own objective at a given allocation.

Pure functions, arrays in and arrays out (no cvxpy): they re-evaluate the optimum at the
polished allocation, drive the greedy integer repair and let tests compare
robust and nominal solutions under the same uncertainty set.

Stacking is row-major, segment first: ``vec(eta)[k * M + m] = eta[k, m]``.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "budgeted_penalty",
    "cvar",
    "dnorm_penalty",
    "max_regret",
    "model_score",
]


def cvar(values, alpha, weights=None):
    """Lower-tail conditional value-at-risk of outcomes (Rockafellar-Uryasev 2002).

    ``max_t t - (1/alpha) sum_s q_s (t - L_s)^+``, evaluated exactly at the
    breakpoints ``t in {L_s}``. ``values`` may be (S,) or (S, n) (one column per candidate).

    Examples
    --------
    >>> float(cvar([1.0, 2.0, 3.0, 4.0], 0.5))
    1.5
    """
    L = np.asarray(values, dtype=float)
    squeeze = L.ndim == 1
    if squeeze:
        L = L[:, None]
    S = L.shape[0]
    q = np.full(S, 1.0 / S) if weights is None else np.asarray(weights, dtype=float)
    order = np.argsort(L, axis=0, kind="stable")
    Ls = np.take_along_axis(L, order, axis=0)
    qs = q[order]
    cum_q = np.cumsum(qs, axis=0)
    cum_qL = np.cumsum(qs * Ls, axis=0)
    # at t = Ls[j]: sum_s q_s (t - L_s)^+ = t * cum_q[j] - cum_qL[j]
    obj = Ls - (Ls * cum_q - cum_qL) / alpha
    out = obj.max(axis=0)
    return out[0] if squeeze else out


def max_regret(values, scenario_optima):
    """``R_max = max_s (z^s - L_s)`` for outcomes (S,) or (S, n)."""
    L = np.asarray(values, dtype=float)
    z = np.asarray(scenario_optima, dtype=float)
    return (z.reshape((-1,) + (1,) * (L.ndim - 1)) - L).max(axis=0)


def budgeted_penalty(dev, gamma):
    """Bertsimas-Sim protection: sum of the floor(Gamma) largest deviations plus the
    fractional part times the next one. ``dev`` is (KM,) or (KM, n)."""
    d = np.asarray(dev, dtype=float)
    squeeze = d.ndim == 1
    if squeeze:
        d = d[:, None]
    n = d.shape[0]
    g = min(float(gamma), float(n))
    whole = int(np.floor(g))
    frac = g - whole
    top = -np.sort(-d, axis=0)
    pen = top[:whole].sum(axis=0)
    if whole < n and frac > 0:
        pen = pen + frac * top[whole]
    return pen[0] if squeeze else pen


def dnorm_penalty(w, d):
    """Dual of the D-norm: ``max(||w||_inf, ||w||_1 / d)``; w is (KM,) or (KM, n)."""
    a = np.abs(np.asarray(w, dtype=float))
    return np.maximum(a.max(axis=0), a.sum(axis=0) / d)


def model_score(method, X, data):
    """The model's own objective to MAXIMISE at allocations ``X`` (KM, n) (C-order columns).

    For ``max_regret`` this is ``-R_max``. ``data`` is the dict built by ``solve_allocation``.
    Returns (n,).
    """
    X = np.asarray(X, dtype=float)
    if method in ("nominal", "expected_value", "interval"):
        return data["linear"] @ X
    if method == "worst_case":
        return (data["scen"] @ X).min(axis=0)
    if method == "cvar":
        return cvar(data["scen"] @ X, data["alpha"], data["weights"])
    if method == "max_regret":
        return -max_regret(data["scen"] @ X, data["scenario_optima"])
    if method == "ellipsoidal":
        return data["linear"] @ X - data["theta"] * np.linalg.norm(data["factor"] @ X, axis=0)
    if method == "mean_variance":
        return data["linear"] @ X - data["risk_aversion"] * (
            np.linalg.norm(data["factor"] @ X, axis=0) ** 2
        )
    if method == "budgeted":
        dev = data["delta"][:, None] * X
        return data["linear"] @ X - budgeted_penalty(dev, data["gamma"])
    if method == "dnorm":
        return data["linear"] @ X - data["theta"] * dnorm_penalty(
            data["dnorm_w"] @ X, data["dnorm_d"]
        )
    raise ValueError(f"unknown method {method!r}")
