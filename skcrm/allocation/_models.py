"""cvxpy builders of every allocation model of the paper, written once with DPP parameters.

Each builder returns a :class:`BuiltProblem` whose data (values, scenarios, factors, theta,
Gamma, alpha, budgets, sizes, costs, bounds) are ``cp.Parameter`` objects, so a grid over
theta, a new budget or new scenarios re-solves the compiled problem without rebuilding it.
Products of two data items (theta * F) are folded into one parameter to keep DPP.

The decision vector is ``x = vec(eta)`` in C order (index ``k * M + m``).
cvxpy is imported here only; this module is imported lazily by ``_core``.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

import cvxpy as cp
import numpy as np
import scipy.sparse as sp

# model family of each public method (nominal, expected_value and interval share the LP)
FAMILY = {
    "nominal": "linear",
    "expected_value": "linear",
    "interval": "linear",
    "worst_case": "worst_case",
    "cvar": "cvar",
    "max_regret": "max_regret",
    "ellipsoidal": "ellipsoidal",
    "mean_variance": "mean_variance",
    "budgeted": "budgeted",
    "dnorm": "dnorm",
}


@dataclass
class BuiltProblem:
    """A compiled-once cvxpy problem and its parameters (never stored on estimators)."""

    problem: cp.Problem
    x: cp.Variable
    params: dict
    aux: dict = field(default_factory=dict)
    # solver options of the last solve: cvxpy's cached Clarabel solver keeps its settings,
    # so a change of options must start a fresh solver (see _core._run)
    last_options: str | None = None

    def set(self, **values):
        """Assign parameter values; names that are not parameters of this build (its
        constants, or the other mode's names) are skipped."""
        for name, value in values.items():
            if name in self.params:
                self.params[name].value = value


@dataclass(frozen=True)
class Structure:
    """Everything that changes the problem's shape (the cache key)."""

    family: str
    K: int
    M: int
    S: int = 0
    rank: int = 0
    has_budget: bool = True
    has_campaign_budgets: bool = False
    has_capacities: bool = False
    has_max_cell: bool = False
    has_min_cell: bool = False
    integer: bool = False
    # "" = every datum is a Parameter; otherwise a digest of the data baked in as constants
    data_key: str = ""


_FACTOR_BLOCK = 3000  # columns per block of the covariance factor in constant-data builds

# Data that stay Parameters in the constant-data build (scalars: cheap for DPP at any size).
SCALAR_PARAMS = ("budget", "theta", "risk_aversion", "gamma", "inv_alpha")


def needs_constant_build(n_rows: int, n_cols: int) -> bool:
    """True when a fully parametrised problem is too large for cvxpy's DPP tensors.

    cvxpy stores the map from parameters to the constraint matrix as a sparse tensor whose
    index arrays grow with rows x columns of that matrix; past ~1e6 cells the fully
    parametrised build needs gigabytes, so the arrays become constants and only the scalar
    data (theta, Gamma, 1/alpha, lambda, the budget) stay parameters.
    """
    return n_rows * n_cols > 1e6


def data_digest(values: dict) -> str:
    """Digest of the non-scalar data, the cache key of a constant-data build."""
    import hashlib

    h = hashlib.blake2b(digest_size=16)
    for name in sorted(values):
        if name in SCALAR_PARAMS:
            continue
        arr = np.ascontiguousarray(values[name], dtype=float)
        h.update(name.encode())
        h.update(str(arr.shape).encode())
        h.update(arr.tobytes())
    return h.hexdigest()


def _feasible_set(st: Structure, P):
    """Variables, parameters and constraints of the library feasible set."""
    K, M = st.K, st.M
    KM = K * M
    if st.integer:
        x = cp.Variable(KM, integer=True, name="eta")
        cons = [x >= 0]
    else:
        x = cp.Variable(KM, nonneg=True, name="eta")
        cons = []
    rows = np.repeat(np.arange(K), M)
    cols = np.arange(KM)
    A_seg = sp.csr_matrix((np.ones(KM), (rows, cols)), shape=(K, KM))
    A_camp = sp.csr_matrix((np.ones(KM), (np.tile(np.arange(M), K), cols)), shape=(M, KM))
    cons.append(A_seg @ x <= P("sizes", K))
    if st.has_budget or st.has_campaign_budgets:
        costs = P("costs", KM)
    if st.has_budget:
        cons.append(costs @ x <= P("budget", ()))
    if st.has_campaign_budgets:
        cons.append(A_camp @ cp.multiply(costs, x) <= P("campaign_budgets", M))
    if st.has_capacities:
        cons.append(A_camp @ x <= P("capacities", M))
    if st.has_max_cell:
        cons.append(x <= P("max_cell", KM))
    if st.has_min_cell:
        cons.append(x >= P("min_cell", KM))
    return x, cons


def build(st: Structure, values: dict | None = None) -> BuiltProblem:
    """Build the DPP problem of one model family (Appendix A).

    With ``values`` (a constant-data build, ``st.data_key`` set) the arrays are constants
    and only the scalar data of ``SCALAR_PARAMS`` are parameters.
    """
    KM = st.K * st.M
    const = values is not None
    params: dict = {}
    _NONNEG = {"sizes", "costs", "budget", "campaign_budgets", "capacities", "max_cell",
               "min_cell", "tail_weights", "delta", "gamma", "theta", "risk_aversion",
               "inv_alpha"}  # fmt: skip

    def P(name, shape):
        if const and name not in SCALAR_PARAMS:
            return np.asarray(values[name], dtype=float)
        params[name] = cp.Parameter(shape, name=name, nonneg=name in _NONNEG)
        return params[name]

    x, cons = _feasible_set(st, P)
    aux = {}
    fam = st.family
    if fam == "linear":  # CMCP-N (4.1), SCMCP-EV (4.2), RCMCP-IN (4.5)
        obj = cp.Maximize(P("linear", KM) @ x)
    elif fam == "worst_case":  # max_eta min_s phi^s' eta (4.8)
        v = cp.Variable(name="v")
        cons.append(v <= P("scen", (st.S, KM)) @ x)
        obj = cp.Maximize(v)
    elif fam == "cvar":  # Rockafellar-Uryasev (4.8): t - (1/alpha) sum_s q_s u_s
        t = cp.Variable(name="t")
        u = cp.Variable(st.S, nonneg=True, name="u")
        cons.append(u >= t - P("scen", (st.S, KM)) @ x)
        if const:
            obj = cp.Maximize(t - P("inv_alpha", ()) * (np.asarray(values["weights"]) @ u))
        else:
            obj = cp.Maximize(t - P("tail_weights", st.S) @ u)
        aux["t"] = t
    elif fam == "max_regret":  # SCMCP-MR epigraph (4.3)
        v = cp.Variable(name="v")
        cons.append(v >= P("scenario_optima", st.S) - P("scen", (st.S, KM)) @ x)
        obj = cp.Minimize(v)
    elif fam in ("ellipsoidal", "mean_variance"):
        # RCMCP-EL corrected (4.7): max phi'eta - theta ||F eta||_2;
        # Ryals variance penalty (4.8): max phi'eta - lambda ||F eta||_2^2
        y = cp.Variable(st.rank, name="y")
        scalar = "theta" if fam == "ellipsoidal" else "risk_aversion"
        if const:
            F = P("factor", (st.rank, KM))
            # y = sum_b F_b x_b over column blocks: the same y, but a sparser KKT system
            # (dense factor rows made Clarabel ~2x slower at 30,000+ columns)
            edges = np.unique(np.r_[np.arange(0, KM, _FACTOR_BLOCK), KM])
            parts = []
            for lo, hi in zip(edges[:-1], edges[1:], strict=True):
                y_b = cp.Variable(st.rank)
                cons.append(y_b == F[:, lo:hi] @ x[lo:hi])
                parts.append(y_b)
            cons.append(y == cp.sum(parts) if len(parts) > 1 else y == parts[0])
            weight = P(scalar, ())
        else:
            cons.append(y == P("scaled_factor", (st.rank, KM)) @ x)
            weight = 1.0
        pen = cp.norm(y, 2) if fam == "ellipsoidal" else cp.sum_squares(y)
        obj = cp.Maximize(P("linear", KM) @ x - weight * pen)
    elif fam == "budgeted":  # Bertsimas-Sim LP dual (4.6 b)
        p = cp.Variable(nonneg=True, name="p")
        q = cp.Variable(KM, nonneg=True, name="q")
        cons.append(p + q >= cp.multiply(P("delta", KM), x))
        obj = cp.Maximize(P("linear", KM) @ x - P("gamma", ()) * p - cp.sum(q))
        aux.update(p=p, q=q)
    elif fam == "dnorm":  # literal D-norm set (4.6 a): dual norm max(||w||inf, ||w||1 / d)
        if const:
            W = P("dnorm_w_raw", (KM, KM))
            pen = P("theta", ()) * cp.maximum(
                cp.norm(W @ x, "inf"), cp.norm(W @ x, 1) / float(values["dnorm_d"])
            )
        else:
            pen = cp.maximum(
                cp.norm(P("dnorm_w", (KM, KM)) @ x, "inf"),
                cp.norm(P("dnorm_w_over_d", (KM, KM)) @ x, 1),
            )
        obj = cp.Maximize(P("linear", KM) @ x - pen)
    else:  # pragma: no cover - guarded by the caller
        raise ValueError(f"unknown model family {fam!r}")
    return BuiltProblem(cp.Problem(obj, cons), x, params, aux)


_CACHE: OrderedDict = OrderedDict()
_CACHE_SIZE = 8


def get_problem(st: Structure, reuse: bool = True, values: dict | None = None) -> BuiltProblem:
    """The compiled problem for ``st``: from a small LRU cache (DPP re-solve) or fresh.

    ``values`` are needed (and baked in) for a constant-data build (``st.data_key``).
    """
    vals = values if st.data_key else None
    if not reuse:
        return build(st, vals)
    if st in _CACHE:
        _CACHE.move_to_end(st)
        return _CACHE[st]
    built = build(st, vals)
    _CACHE[st] = built
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return built


def clear_cache() -> None:
    """Drop every cached compiled problem (frees memory after very large solves)."""
    _CACHE.clear()
