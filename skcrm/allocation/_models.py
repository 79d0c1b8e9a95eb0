"""cvxpy builders of every allocation model of spec section 4, written once with DPP parameters.

Each builder returns a :class:`BuiltProblem` whose data (values, scenarios, factors, theta,
Gamma, alpha, budgets, sizes, costs, bounds) are ``cp.Parameter`` objects, so a grid over
theta, a new budget or new scenarios re-solves the compiled problem without rebuilding it.
Products of two data items (theta * F) are folded into one parameter to keep DPP.

The decision vector is ``x = vec(eta)`` in C order (index ``k * M + m``, spec 1).
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

    def set(self, **values):
        for name, value in values.items():
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


def _feasible_set(st: Structure):
    """Variables, parameters and constraints of the library feasible set (spec 3)."""
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
    params = {"sizes": cp.Parameter(K, nonneg=True, name="sizes")}
    cons.append(A_seg @ x <= params["sizes"])
    if st.has_budget or st.has_campaign_budgets:
        params["costs"] = cp.Parameter(KM, nonneg=True, name="costs")
    if st.has_budget:
        params["budget"] = cp.Parameter(nonneg=True, name="budget")
        cons.append(params["costs"] @ x <= params["budget"])
    if st.has_campaign_budgets:
        params["campaign_budgets"] = cp.Parameter(M, nonneg=True, name="campaign_budgets")
        cons.append(A_camp @ cp.multiply(params["costs"], x) <= params["campaign_budgets"])
    if st.has_capacities:
        params["capacities"] = cp.Parameter(M, nonneg=True, name="capacities")
        cons.append(A_camp @ x <= params["capacities"])
    if st.has_max_cell:
        params["max_cell"] = cp.Parameter(KM, nonneg=True, name="max_cell")
        cons.append(x <= params["max_cell"])
    if st.has_min_cell:
        params["min_cell"] = cp.Parameter(KM, nonneg=True, name="min_cell")
        cons.append(x >= params["min_cell"])
    return x, cons, params


def build(st: Structure) -> BuiltProblem:
    """Build the DPP problem of one model family (spec 4.1-4.8, Appendix A)."""
    KM = st.K * st.M
    x, cons, params = _feasible_set(st)
    aux = {}
    fam = st.family
    if fam == "linear":  # CMCP-N (4.1), SCMCP-EV (4.2), RCMCP-IN (4.5)
        params["linear"] = cp.Parameter(KM, name="linear")
        obj = cp.Maximize(params["linear"] @ x)
    elif fam == "worst_case":  # max_eta min_s phi^s' eta (4.8)
        params["scen"] = cp.Parameter((st.S, KM), name="scen")
        v = cp.Variable(name="v")
        cons.append(v <= params["scen"] @ x)
        obj = cp.Maximize(v)
    elif fam == "cvar":  # Rockafellar-Uryasev (4.8)
        params["scen"] = cp.Parameter((st.S, KM), name="scen")
        params["tail_weights"] = cp.Parameter(st.S, nonneg=True, name="tail_weights")
        t = cp.Variable(name="t")
        u = cp.Variable(st.S, nonneg=True, name="u")
        cons.append(u >= t - params["scen"] @ x)
        obj = cp.Maximize(t - params["tail_weights"] @ u)
        aux["t"] = t
    elif fam == "max_regret":  # SCMCP-MR epigraph (4.3)
        params["scen"] = cp.Parameter((st.S, KM), name="scen")
        params["scenario_optima"] = cp.Parameter(st.S, name="scenario_optima")
        v = cp.Variable(name="v")
        cons.append(v >= params["scenario_optima"] - params["scen"] @ x)
        obj = cp.Minimize(v)
    elif fam == "ellipsoidal":  # RCMCP-EL corrected (4.7): max phi'eta - theta ||F eta||
        params["linear"] = cp.Parameter(KM, name="linear")
        params["scaled_factor"] = cp.Parameter((st.rank, KM), name="theta_F")
        y = cp.Variable(st.rank, name="y")
        cons.append(y == params["scaled_factor"] @ x)
        obj = cp.Maximize(params["linear"] @ x - cp.norm(y, 2))
    elif fam == "mean_variance":  # Ryals variance penalty (4.8): max phi'eta - lambda ||F eta||^2
        params["linear"] = cp.Parameter(KM, name="linear")
        params["scaled_factor"] = cp.Parameter((st.rank, KM), name="sqrt_lambda_F")
        y = cp.Variable(st.rank, name="y")
        cons.append(y == params["scaled_factor"] @ x)
        obj = cp.Maximize(params["linear"] @ x - cp.sum_squares(y))
    elif fam == "budgeted":  # Bertsimas-Sim LP dual (4.6 b)
        params["linear"] = cp.Parameter(KM, name="linear")
        params["delta"] = cp.Parameter(KM, nonneg=True, name="delta")
        params["gamma"] = cp.Parameter(nonneg=True, name="gamma")
        p = cp.Variable(nonneg=True, name="p")
        q = cp.Variable(KM, nonneg=True, name="q")
        cons.append(p + q >= cp.multiply(params["delta"], x))
        obj = cp.Maximize(params["linear"] @ x - params["gamma"] * p - cp.sum(q))
        aux.update(p=p, q=q)
    elif fam == "dnorm":  # literal D-norm set (4.6 a): dual norm max(||w||inf, ||w||1 / d)
        params["linear"] = cp.Parameter(KM, name="linear")
        params["dnorm_w"] = cp.Parameter((KM, KM), name="theta_AinvT")
        params["dnorm_w_over_d"] = cp.Parameter((KM, KM), name="theta_AinvT_over_d")
        pen = cp.maximum(
            cp.norm(params["dnorm_w"] @ x, "inf"), cp.norm(params["dnorm_w_over_d"] @ x, 1)
        )
        obj = cp.Maximize(params["linear"] @ x - pen)
    else:  # pragma: no cover - guarded by the caller
        raise ValueError(f"unknown model family {fam!r}")
    return BuiltProblem(cp.Problem(obj, cons), x, params, aux)


_CACHE: OrderedDict = OrderedDict()
_CACHE_SIZE = 8


def get_problem(st: Structure, reuse: bool = True) -> BuiltProblem:
    """The compiled problem for ``st``: from a small LRU cache (DPP re-solve) or fresh."""
    if not reuse:
        return build(st)
    if st in _CACHE:
        _CACHE.move_to_end(st)
        return _CACHE[st]
    built = build(st)
    _CACHE[st] = built
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return built


def clear_cache() -> None:
    """Drop every cached compiled problem (frees memory after very large solves)."""
    _CACHE.clear()
