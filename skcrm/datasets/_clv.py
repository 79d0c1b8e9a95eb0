"""Simulators with known ground truth for AttributeBGNBD (issue: make_attribute_bgnbd_data).

numpy, scipy and pandas only: importing skcrm.datasets must stay light.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["make_attribute_bgnbd_data"]


def _bernoulli_normal(rng, n, k):
    """attr ~ Bernoulli(0.3), cont ~ N(0, 1), iid per job (the spec's verification sampler)."""
    return {"attr": (rng.random(n) < 0.3).astype(float), "cont": rng.standard_normal(n)}


_SAMPLERS = {"bernoulli_normal": _bernoulli_normal}


def _term(name):
    """(from, to) of an engineered dynamic feature name, or None for a plain column."""
    if name.endswith(":drift"):
        return ("drift", name[: -len(":drift")])
    if "->" in name:
        f, c = name.split("->", 1)
        return (f, c)
    return None


def make_attribute_bgnbd_data(
    n_customers=5000,
    *,
    r=0.9,
    alpha=0.77,
    s=1.1,
    b=1.15,
    a=None,
    coef=None,
    attribute_sampler="bernoulli_normal",
    dynamic_cols=None,
    acquisition_end=26.0,
    calibration_end=52.0,
    observation_end=104.0,
    dropout_mixing="gamma",
    dropout_after_first=True,
    random_state=None,
):
    """Simulate transaction logs of the attribute BG/NBD (Braun, Schweidel & Stein 2015).

    Each customer is acquired at t_1 ~ U(0, acquisition_end), buys at rate
    lambda ~ Gamma(r, rate alpha) while active, and after job k (the first included unless
    ``dropout_after_first=False``) leaves with probability ``1 - exp(-theta q_k)``,
    ``ln q_k = coef' z_k``; theta ~ Gamma(s, rate b), or ``theta = -ln(1 - p)`` with
    p ~ Beta(a, b) for ``dropout_mixing="beta"``. Vectorised over customers; the loop runs
    over the job index only.

    Parameters
    ----------
    n_customers : int, default=5000
    r, alpha : float
        Shape and rate of the purchase-rate distribution.
    s, b : float
        Shape and rate of theta (gamma mixing); with beta mixing ``a`` and ``b`` are the
        beta parameters of p.
    a : float, optional
        Beta parameter (beta mixing only).
    coef : dict, optional
        Coefficients by design feature name: ``"first"``, attribute names, and evolving terms
        ``"c:drift"`` (drift of c's coefficient per job) and ``"f->c"`` (change of c's
        coefficient after each job with indicator f), Eqs. 8-9. Default
        ``{"first": -0.2, "attr": 0.5, "cont": -0.3}``.
    attribute_sampler : "bernoulli_normal" or callable
        ``sampler(rng, n_active, k) -> dict of arrays`` giving the attributes of job k.
    dynamic_cols : list of str, optional
        0/1 attribute columns whose coefficients evolve.
    acquisition_end, calibration_end, observation_end : float
        End of acquisition, of the calibration period and of the simulated log.
    dropout_mixing : {"gamma", "beta"}
    dropout_after_first : bool
    random_state : int, Generator or None

    Returns
    -------
    transactions : pandas.DataFrame
        ``customer_id``, ``t``, the attribute columns and ``period`` ("calibration" for
        t <= calibration_end, else "holdout"), sorted by customer and time.
    truth : dict
        ``params``, ``coef`` and ``customers``, a DataFrame with ``t1``, ``lam``, ``theta``,
        ``n_jobs``, ``churned`` (after the last simulated job), ``alive_at_calibration_end``,
        ``n_calibration`` and ``n_holdout`` (repeat transactions in each period).

    Examples
    --------
    >>> tx, truth = make_attribute_bgnbd_data(200, random_state=0)
    >>> list(tx.columns)
    ['customer_id', 't', 'attr', 'cont', 'period']
    >>> bool((tx.groupby("customer_id")["t"].min() <= 26).all())
    True
    """
    rng = np.random.default_rng(random_state)
    if coef is None:
        coef = {"first": -0.2, "attr": 0.5, "cont": -0.3}
    if dropout_mixing not in ("gamma", "beta"):
        raise ValueError(f"dropout_mixing must be 'gamma' or 'beta', got {dropout_mixing!r}")
    if dropout_mixing == "beta" and a is None:
        raise ValueError("beta mixing needs the beta parameter a")
    if not 0 < acquisition_end <= calibration_end <= observation_end:
        raise ValueError("need 0 < acquisition_end <= calibration_end <= observation_end")
    sampler = _SAMPLERS.get(attribute_sampler) if isinstance(attribute_sampler, str) else None
    if sampler is None and not callable(attribute_sampler):
        raise ValueError(f"unknown attribute_sampler {attribute_sampler!r}")
    sampler = sampler or attribute_sampler
    dyn = list(dynamic_cols or [])
    N = int(n_customers)
    lam = rng.gamma(r, 1.0 / alpha, N)
    if dropout_mixing == "gamma":
        theta = rng.gamma(s, 1.0 / b, N)
    else:
        theta = -np.log1p(-rng.beta(a, b, N))
    t1 = rng.uniform(0.0, acquisition_end, N)
    counts = {c: np.zeros(N) for c in dyn}
    active = np.arange(N)
    t = t1.copy()
    churned = np.zeros(N, dtype=bool)
    rows_id, rows_t, rows_z = [], [], []
    k = 1
    while active.size:
        z = sampler(rng, active.size, k)
        logq = np.zeros(active.size)
        for name, value in coef.items():
            term = _term(name)
            if name == "first":
                logq += value * (k == 1)
            elif term is None:
                logq += value * z[name]
            elif term[0] == "drift":
                logq += value * z[term[1]] * (k - 1)
            else:
                logq += value * z[term[1]] * counts[term[0]][active]
        q = np.exp(logq)
        if k == 1 and not dropout_after_first:
            q = np.zeros_like(q)
        rows_id.append(active)
        rows_t.append(t)
        rows_z.append(z)
        for c in dyn:
            counts[c][active] += z[c]
        leave = rng.random(active.size) < -np.expm1(-theta[active] * q)
        churned[active[leave]] = True
        t_next = t + rng.exponential(1.0, active.size) / lam[active]
        keep = ~leave & (t_next <= observation_end)
        active, t = active[keep], t_next[keep]
        k += 1
    ids = np.concatenate(rows_id)
    times = np.concatenate(rows_t)
    cols = list(rows_z[0])
    frame = pd.DataFrame({"customer_id": ids, "t": times})
    for c in cols:
        frame[c] = np.concatenate([z[c] for z in rows_z])
    frame["period"] = pd.Categorical.from_codes(
        (times > calibration_end).astype(np.int8), categories=["calibration", "holdout"]
    )
    frame = frame.sort_values(["customer_id", "t"], kind="mergesort").reset_index(drop=True)
    n_jobs = np.bincount(ids, minlength=N)
    cal = np.bincount(ids[times <= calibration_end], minlength=N)
    last_time = np.full(N, -np.inf)
    np.maximum.at(last_time, ids, times)
    alive_cal = ~(churned & (last_time <= calibration_end))
    customers = pd.DataFrame(
        {
            "t1": t1,
            "lam": lam,
            "theta": theta,
            "n_jobs": n_jobs,
            "churned": churned,
            "alive_at_calibration_end": alive_cal,
            "n_calibration": np.maximum(cal - 1, 0),
            "n_holdout": n_jobs - cal,
        },
        index=pd.RangeIndex(N, name="customer_id"),
    )
    params = {"r": r, "alpha": alpha}
    params.update({"s": s, "b": b} if dropout_mixing == "gamma" else {"a": a, "b": b})
    return frame, {"params": params, "coef": dict(coef), "customers": customers}
