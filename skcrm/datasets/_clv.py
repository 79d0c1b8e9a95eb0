"""Simulators with known ground truth for AttributeBGNBD (issue: make_attribute_bgnbd_data).

numpy, scipy and pandas only: importing skcrm.datasets must stay light.
"""

from __future__ import annotations

import inspect

import numpy as np
import pandas as pd

__all__ = ["ServiceLevelSampler", "make_attribute_bgnbd_data", "make_service_quality_data"]

# Braun, Schweidel & Stein (2015), Table 1: jobs by requested rating (rows A, B, C, D) and
# delivered grade (columns A/B, C, D, E).
TABLE1 = np.array(
    [
        [773, 9, 0, 0],
        [8784, 614, 6, 1],
        [2050, 5714, 257, 16],
        [1668, 3270, 814, 83],
    ],
    dtype=float,
)
# Table 2, Model 2 (gamma dropout, churn after every job). LC is read as lower x requested C,
# as its name says: Table 2's description ("higher" x C) cannot be right, because a rating A
# or B request cannot be exceeded, so higher = higher x C + higher x D exactly and the
# design with beta_H1, beta_HD and a higher x C term would not be identified.
MODEL2 = {
    "params": {"r": 0.90, "alpha": 0.77, "s": 1.08, "b": 1.14},
    "coef": {
        "first": -0.22,
        "coh2": -1.16,
        "coh3": -1.01,
        "coh4": -0.81,
        "req_A": 0.89,
        "req_C": -0.27,
        "req_D": -0.36,
        "lower": 0.19,
        "higher": 0.01,
        "lower_D": 0.21,
        "higher_D": -0.18,
        "lower_C": -0.53,
        "lower->lower": 0.18,
    },
}


class ServiceLevelSampler:
    """Attributes of the paper's writing marketplace (Braun, Schweidel & Stein 2015, 3.2-3.4).

    Each customer draws probabilities of requesting rating A, B, C, D from a Dirichlet at
    acquisition (Dirichlet-multinomial MLEs .04, .26, .22, .12); each job draws its requested
    rating from them and its delivered grade from that rating's row of Table 1. Emits the
    requested-level dummies (B is the reference), ``lower``/``higher`` than requested, their
    interactions and cohort dummies from the acquisition week (boundaries 33, 66, 99).

    Parameters
    ----------
    dirichlet : tuple of float, default=(0.04, 0.26, 0.22, 0.12)
        Dirichlet parameters of the request probabilities of ratings A, B, C, D.
    grade_table : array-like of shape (4, 4), default=TABLE1
        Jobs by requested rating (rows) and delivered grade (columns).
    cohort_bounds : tuple of float, default=(33.0, 66.0, 99.0)
        Acquisition weeks that start cohorts 2, 3 and 4.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> sampler = ServiceLevelSampler()
    >>> sampler.setup(rng, np.array([1.0, 50.0, 120.0]))
    >>> sorted(sampler(rng, 3, 1, np.arange(3)))[:4]
    ['coh2', 'coh3', 'coh4', 'higher']
    """

    columns = (
        "req_A",
        "req_C",
        "req_D",
        "lower",
        "higher",
        "lower_D",
        "higher_D",
        "higher_C",
        "coh2",
        "coh3",
        "coh4",
    )

    def __init__(
        self,
        dirichlet=(0.04, 0.26, 0.22, 0.12),
        grade_table=TABLE1,
        cohort_bounds=(33.0, 66.0, 99.0),
    ):
        self.dirichlet = dirichlet
        self.grade_table = grade_table
        self.cohort_bounds = cohort_bounds

    def setup(self, rng, t1):
        """Draw each customer's request probabilities and cohort.

        Parameters
        ----------
        rng : numpy.random.Generator
            Random generator.
        t1 : ndarray of shape (n_customers,)
            Acquisition times (weeks).
        """
        a = np.asarray(self.dirichlet, dtype=float)
        g = rng.gamma(a, 1.0, size=(len(t1), a.size))
        g[g.sum(axis=1) == 0, 1] = 1.0  # all-zero draws (tiny shapes): request B
        self._cum = np.cumsum(g / g.sum(axis=1, keepdims=True), axis=1)
        self._cohort = np.digitize(t1, self.cohort_bounds)
        table = np.asarray(self.grade_table, dtype=float)
        self._grade_cum = np.cumsum(table / table.sum(axis=1, keepdims=True), axis=1)

    def __call__(self, rng, n, k, customers):
        req = (rng.random(n)[:, None] > self._cum[customers]).sum(axis=1).clip(0, 3)
        grade = (rng.random(n)[:, None] > self._grade_cum[req]).sum(axis=1).clip(0, 3)
        need = np.array([0, 0, 1, 2])[req]  # grade index delivered "as requested"
        lower, higher = (grade > need).astype(float), (grade < need).astype(float)
        cohort = self._cohort[customers]
        return {
            "req_A": (req == 0).astype(float),
            "req_C": (req == 2).astype(float),
            "req_D": (req == 3).astype(float),
            "lower": lower,
            "higher": higher,
            "lower_D": lower * (req == 3),
            "higher_D": higher * (req == 3),
            "lower_C": lower * (req == 2),
            "coh2": (cohort == 1).astype(float),
            "coh3": (cohort == 2).astype(float),
            "coh4": (cohort == 3).astype(float),
        }


def _bernoulli_normal(rng, n, k):
    """attr ~ Bernoulli(0.3), cont ~ N(0, 1), iid per job (the tests' sampler)."""
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
        Number of customers.
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
    attribute_sampler : "bernoulli_normal", ServiceLevelSampler or callable
        ``sampler(rng, n_active, k[, customers]) -> dict of arrays`` giving the attributes of
        job k of the active customers (an optional ``setup(rng, t1)`` is called first).
    dynamic_cols : list of str, optional
        0/1 attribute columns whose coefficients evolve.
    acquisition_end, calibration_end, observation_end : float
        End of acquisition, of the calibration period and of the simulated log.
    dropout_mixing : {"gamma", "beta"}
    dropout_after_first : bool
        Churn possible right after the first purchase (False: BG/NBD timing).
    random_state : int, Generator or None
        Seed.

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
    takes_customers = isinstance(sampler, ServiceLevelSampler) or (
        len(inspect.signature(sampler).parameters) >= 4
    )
    dyn = list(dynamic_cols or [])
    N = int(n_customers)
    lam = rng.gamma(r, 1.0 / alpha, N)
    if dropout_mixing == "gamma":
        theta = rng.gamma(s, 1.0 / b, N)
    else:
        theta = -np.log1p(-rng.beta(a, b, N))
    t1 = rng.uniform(0.0, acquisition_end, N)
    if hasattr(sampler, "setup"):
        sampler.setup(rng, t1)
    counts = {c: np.zeros(N) for c in dyn}
    active = np.arange(N)
    t = t1.copy()
    churned = np.zeros(N, dtype=bool)
    rows_id, rows_t, rows_z = [], [], []
    k = 1
    while active.size:
        z = (
            sampler(rng, active.size, k, active)
            if takes_customers
            else sampler(rng, active.size, k)
        )
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


def make_service_quality_data(
    n_customers=3048,
    *,
    coef=None,
    params=None,
    sampler=None,
    acquisition_end=130.0,
    calibration_end=130.0,
    observation_end=163.0,
    random_state=None,
):
    """The paper's setting: Table 2 Model 2 and the service-level attributes (a preset).

    Wraps :func:`make_attribute_bgnbd_data` with :class:`ServiceLevelSampler`, the Model 2
    estimates (``MODEL2``; ``coef``/``params`` override them) and ``lower`` as the evolving
    column (``"lower->lower"`` = gamma_LL). The holdout of about 33 weeks is an assumption:
    the paper does not give it.

    Parameters
    ----------
    n_customers : int, default=3048
        Number of customers (the paper's 3,048).
    coef : dict, optional
        Coefficients overriding Model 2's.
    params : dict, optional
        ``r``, ``alpha``, ``s``, ``b`` overriding Model 2's.
    sampler : callable, optional
        Attribute sampler (default :class:`ServiceLevelSampler`).
    acquisition_end, calibration_end, observation_end : float
        Weeks: last acquisition, end of calibration, end of the holdout.
    random_state : int, Generator or None
        Seed.

    Returns
    -------
    transactions : pandas.DataFrame
        The simulated log (see :func:`make_attribute_bgnbd_data`).
    truth : dict
        The parameters used.

    Examples
    --------
    >>> tx, truth = make_service_quality_data(200, random_state=0)
    >>> {"lower", "higher", "req_D", "coh4"} <= set(tx.columns)
    True
    """
    full_coef = {**MODEL2["coef"], **(coef or {})}
    full_params = {**MODEL2["params"], **(params or {})}
    return make_attribute_bgnbd_data(
        n_customers,
        **full_params,
        coef=full_coef,
        attribute_sampler=sampler or ServiceLevelSampler(),
        dynamic_cols=["lower", "higher"],
        acquisition_end=acquisition_end,
        calibration_end=calibration_end,
        observation_end=observation_end,
        random_state=random_state,
    )
