"""``solve_allocation``: every allocation model of Lo, Pachamanova & Gulpinar.

The functional core: arrays in, an :class:`AllocationResult` out. It validates the inputs,
derives what a model needs (lower bounds, covariance factor, D-norm matrix), solves the
cached DPP problem of ``_models`` (imported lazily, so ``import skcrm.allocation`` does not
import cvxpy), polishes the solution onto the feasible set, applies the integer mode
(floor + greedy repair, or a MILP) and re-evaluates the model's own objective in numpy.
"""

from __future__ import annotations

import sys
import warnings
from dataclasses import dataclass, field

import numpy as np

from ..utils import quiet_stdout, warn
from ._objectives import cvar, max_regret, model_score

__all__ = [
    "METHODS",
    "AllocationError",
    "AllocationResult",
    "solve_allocation",
    "covariance_factor",
]

METHODS = (
    "nominal",
    "expected_value",
    "max_regret",
    "interval",
    "ellipsoidal",
    "budgeted",
    "dnorm",
    "worst_case",
    "cvar",
    "mean_variance",
)
_SCENARIO_METHODS = ("expected_value", "max_regret", "worst_case", "cvar")
_CONIC = ("ellipsoidal", "mean_variance")
_DNORM_MATRICES = ("identity", "inv_sqrt_cov", "inv_halfwidth")


class AllocationError(RuntimeError):
    """The solver did not return an optimal allocation (the status is in the message)."""


@dataclass(frozen=True)
class AllocationResult:
    """Solution of one allocation model.

    Parameters
    ----------
    allocation : ndarray of shape (K, M)
        See Attributes.
    objective : float
        See Attributes.
    expected_value : float
        See Attributes.
    status : str
        See Attributes.
    solver : str
        See Attributes.
    budget_used : float
        See Attributes.
    method : str
        See Attributes.
    extras : dict
        See Attributes.

    Attributes
    ----------
    allocation : ndarray of shape (K, M)
        Customers of segment k given campaign m (integral in the integer modes).
    objective : float
        The model's own optimum at ``allocation`` (``max_regret``: the minimised maximum
        regret R_max; ``cvar``: the CVaR; ``ellipsoidal``: mean - theta * sd; ...).
    expected_value : float
        ``value_hat . allocation`` (the nominal expected value).
    status, solver : str
        cvxpy status and the solver used.
    budget_used : float
        ``sum(costs * allocation)``.
    method : str
    extras : dict
        ``scenario_optima`` (max_regret), ``var_threshold`` (cvar), ``p``/``q`` (budgeted),
        ``gamma`` (budgeted: the Gamma used), ``solve_time`` (seconds inside the solver).
    """

    allocation: np.ndarray
    objective: float
    expected_value: float
    status: str
    solver: str
    budget_used: float
    method: str
    extras: dict = field(default_factory=dict)


# ----------------------------------------------------------------------------- validation
def _as_float(value, name):
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be numeric, got {type(value).__name__}") from exc
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return arr


def _nonneg(arr, name):
    if np.any(arr < 0):
        raise ValueError(f"{name} must be >= 0, got a minimum of {arr.min():g}")
    return arr


def _shaped(value, name, shapes, K, M):
    """Broadcast a scalar, (M,) or (K, M) input; ``shapes`` lists what is accepted."""
    arr = _as_float(value, name)
    if arr.ndim == 0:
        return np.full((K, M) if "KM" in shapes else (M,), float(arr))
    if "KM" in shapes and arr.shape == (K, M):
        return arr.copy()
    if "M" in shapes and arr.shape == (M,):
        return np.broadcast_to(arr, (K, M)).copy() if "KM" in shapes else arr.copy()
    want = " or ".join({"KM": f"({K}, {M})", "M": f"({M},)"}[s] for s in shapes)
    raise ValueError(f"{name} must be a scalar or have shape {want}, got shape {arr.shape}")


def covariance_factor(cov=None, cov_factor=None, scenarios=None, cov_scale=1.0):
    """A factor ``F`` with ``F.T @ F = cov``, shape (r, KM).

    From ``cov_factor`` as given, from ``cov`` by a clipped eigendecomposition, or from the
    centred scenarios ``D / sqrt(S - 1)`` (exact when the covariance is singular).
    ``cov_scale`` multiplies the covariance (``1 / S`` is the paper-like "mean" scale).

    Parameters
    ----------
    cov : array-like of shape (KM, KM), optional
        Covariance of ``vec(value)`` (C order).
    cov_factor : array-like of shape (r, KM), optional
        A factor, returned as given (times ``sqrt(cov_scale)``).
    scenarios : array-like of shape (S, K, M), optional
        Value scenarios.
    cov_scale : float, default=1.0
        Multiplier of the covariance.

    Returns
    -------
    ndarray of shape (r, KM)
        The factor F.

    Examples
    --------
    >>> import numpy as np
    >>> scen = np.array([[[0.12], [0.05]], [[0.02], [0.07]]])
    >>> F = covariance_factor(scenarios=scen)
    >>> np.round(F.T @ F, 6)
    array([[ 0.005 , -0.001 ],
           [-0.001 ,  0.0002]])
    """
    if cov_factor is not None:
        F = _as_float(cov_factor, "cov_factor")
        if F.ndim != 2:
            raise ValueError(f"cov_factor must be 2-D (r, K*M), got shape {F.shape}")
        return F * np.sqrt(cov_scale)
    if cov is not None:
        C = _as_float(cov, "cov")
        if C.ndim != 2 or C.shape[0] != C.shape[1]:
            raise ValueError(f"cov must be square (K*M, K*M), got shape {C.shape}")
        if not np.allclose(C, C.T, rtol=1e-8, atol=1e-12):
            raise ValueError("cov must be symmetric")
        w, V = np.linalg.eigh(C)
        if w.min() < -1e-8 * max(1.0, abs(w).max()):
            raise ValueError(
                f"cov must be positive semi-definite (smallest eigenvalue {w.min():g})"
            )
        keep = w > 1e-14 * max(1.0, abs(w).max())
        if not keep.any():
            keep = np.zeros_like(w, dtype=bool)
            keep[-1] = True
        return (np.sqrt(np.clip(w[keep], 0, None))[:, None] * V[:, keep].T) * np.sqrt(cov_scale)
    if scenarios is not None:
        S = scenarios.shape[0]
        if S < 2:
            raise ValueError("at least 2 scenarios are needed to estimate a covariance")
        D = scenarios.reshape(S, -1)
        D = D - D.mean(axis=0)
        return D * np.sqrt(cov_scale / (S - 1))
    raise ValueError("this method needs cov, cov_factor or scenarios")


def _default_gamma(KM, alpha):
    """Bertsimas-Sim probability bound 1: min(KM, sqrt(-2 KM ln(alpha))), alpha = 1 - level."""
    return float(min(KM, np.sqrt(-2.0 * KM * np.log(alpha))))


# ----------------------------------------------------------------------------- numpy helpers
class _Constraints:
    """The packing constraints of the feasible set (plus optional cell lower bounds), in numpy."""

    def __init__(self, N, costs, budget, campaign_budgets, capacities, max_cell, min_cell):
        self.N, self.costs, self.budget = N, costs, budget
        self.campaign_budgets, self.capacities = campaign_budgets, capacities
        K, M = costs.shape
        ub = np.broadcast_to(N[:, None], (K, M)).astype(float)
        if max_cell is not None:
            ub = np.minimum(ub, max_cell)
        self.ub = ub
        self.lb = np.zeros((K, M)) if min_cell is None else min_cell

    def rows(self, eta):
        """(lhs, rhs) pairs of the coupling rows: budget, campaign budgets, capacities."""
        out = []
        if self.budget is not None:
            out.append((np.atleast_1d((self.costs * eta).sum()), np.atleast_1d(self.budget)))
        if self.campaign_budgets is not None:
            out.append(((self.costs * eta).sum(axis=0), self.campaign_budgets))
        if self.capacities is not None:
            out.append((eta.sum(axis=0), self.capacities))
        return out

    def check_min_cell(self):
        """``eta = min_cell`` is feasible iff the lower bounds are consistent (all else packs)."""
        lb = self.lb
        bad = np.argwhere(lb > self.ub + 1e-12)
        if bad.size:
            k, m = bad[0]
            raise ValueError(
                f"contradictory cell bounds: min_cell[{k}, {m}] = {lb[k, m]:g} exceeds the cell's "
                f"upper bound min(segment_sizes[{k}], max_cell[{k}, {m}]) = {self.ub[k, m]:g}"
            )
        seg = lb.sum(axis=1)
        bad = np.flatnonzero(seg > self.N + 1e-12)
        if bad.size:
            k = bad[0]
            raise ValueError(
                f"infeasible constraints: min_cell of segment {k} sums to {seg[k]:g} > "
                f"segment_sizes[{k}] = {self.N[k]:g}"
            )
        names = []
        if self.budget is not None:
            names.append("budget")
        if self.campaign_budgets is not None:
            names.append("campaign_budgets")
        if self.capacities is not None:
            names.append("capacities")
        for name, (lhs, rhs) in zip(names, self.rows(lb), strict=True):
            bad = np.flatnonzero(lhs > rhs + 1e-12)
            if bad.size:
                i = bad[0]
                raise ValueError(
                    f"infeasible constraints: the cell lower bounds min_cell need {lhs[i]:g} of "
                    f"{name}{'' if name == 'budget' else f'[{i}]'} = {rhs[i]:g}"
                )

    def polish(self, eta):
        """Project a solver solution onto the feasible set exactly.

        ``eta <- lb + s (eta - lb)`` with the largest s <= 1 that satisfies every packing row,
        first per segment row, then for the coupling rows.
        """
        eta = np.clip(eta, self.lb, np.maximum(self.ub, self.lb))
        d = eta - self.lb
        room = np.maximum(self.N - self.lb.sum(axis=1), 0.0)
        dsum = d.sum(axis=1)
        s_seg = np.where(dsum > room, room / np.where(dsum > 0, dsum, 1.0), 1.0)
        d = d * np.minimum(s_seg, 1.0)[:, None]
        s = 1.0
        for (lhs_d, _), (lhs_l, rhs) in zip(self.rows(d), self.rows(self.lb), strict=True):
            free = np.maximum(rhs - lhs_l, 0.0)
            over = lhs_d > free
            if over.any():
                s = min(s, float(np.min(free[over] / lhs_d[over])))
        return self.lb + s * d

    def room_for_one(self, eta):
        """Mask (K, M) of cells where adding one customer keeps every constraint exactly."""
        ok = eta + 1 <= self.ub
        ok &= (eta.sum(axis=1) + 1 <= self.N)[:, None]
        if self.budget is not None:
            ok &= (self.costs * eta).sum() + self.costs <= self.budget
        if self.campaign_budgets is not None:
            ok &= (self.costs * eta).sum(axis=0)[None, :] + self.costs <= self.campaign_budgets
        if self.capacities is not None:
            ok &= (eta.sum(axis=0) + 1 <= self.capacities)[None, :]
        return ok


def _candidate_scores(method, x, idx, data):
    """Model score of ``x + e_j`` for every cell j in ``idx`` without forming the vectors
    where the objective allows it (linear, scenario and factor models)."""
    if method in ("nominal", "expected_value", "interval"):
        return data["linear"] @ x + data["linear"][idx]
    if method in ("worst_case", "cvar", "max_regret"):
        scen = data["scen"]
        L = (scen @ x)[:, None] + scen[:, idx]
        if method == "worst_case":
            return L.min(axis=0)
        if method == "cvar":
            return cvar(L, data["alpha"], data["weights"])
        return -max_regret(L, data["scenario_optima"])
    if method in ("ellipsoidal", "mean_variance"):
        F = data["factor"]
        y = F @ x
        sq = y @ y + 2.0 * (y @ F[:, idx]) + np.einsum("ij,ij->j", F[:, idx], F[:, idx])
        sq = np.maximum(sq, 0.0)
        lin = data["linear"] @ x + data["linear"][idx]
        if method == "ellipsoidal":
            return lin - data["theta"] * np.sqrt(sq)
        return lin - data["risk_aversion"] * sq
    # budgeted / dnorm: evaluate full candidate vectors, in chunks bounded in memory
    out = np.empty(idx.size)
    chunk = max(1, int(2e7 // max(1, x.size)))
    for start in range(0, idx.size, chunk):
        part = idx[start : start + chunk]
        X = np.repeat(x[:, None], part.size, axis=1)
        X[part, np.arange(part.size)] += 1.0
        out[start : start + part.size] = model_score(method, X, data)
    return out


def _repair(method, eta, cons, data, max_steps):
    """Greedy +1 repair after flooring: add the unit that most improves the
    model's own objective while keeping feasibility; stop when nothing improves."""
    eta = eta.copy()
    current = float(model_score(method, eta.reshape(-1, 1), data)[0])
    for _ in range(max_steps):
        cand = np.flatnonzero(cons.room_for_one(eta).ravel())
        if cand.size == 0:
            break
        scores = _candidate_scores(method, eta.ravel(), cand, data)
        j = int(np.argmax(scores))
        gain = float(scores[j]) - current
        if gain <= 1e-12 * max(1.0, abs(current)):
            break
        eta.flat[cand[j]] += 1.0
        current += gain
    return eta


# ----------------------------------------------------------------------------- solving
_DIRECT_BLOCK = 300  # columns per block of the factor rows in the direct conic build


def _solve_conic_direct(method, data, cons, K, M, verbose=False):
    """Ellipsoidal / mean-variance on Clarabel without cvxpy: (x, status, extras).

    ``min -v'x + theta t`` s.t. ``(t, y)`` in the second-order cone (or
    ``min -v'x + lambda y'y``), ``y = sum_b y_b``, ``y_b = F_b x_b`` over column blocks
    of the factor (short rows: a sparser KKT system than one dense row per factor row), and
    the packing rows of the feasible set. The (KM, KM) covariance is never formed.
    """
    import time

    import clarabel
    import scipy.sparse as sp

    F = data["factor"]
    r, n = F.shape
    ell = method == "ellipsoidal"
    edges = np.unique(np.r_[np.arange(0, n, _DIRECT_BLOCK), n])
    nb = edges.size - 1
    ny = nb * r
    nz = n + ny + r + (1 if ell else 0)
    iy = n + ny  # first index of y
    q = np.zeros(nz)
    q[:n] = -data["linear"]
    if ell:
        q[-1] = data["theta"]
        P = sp.csc_matrix((nz, nz))
    else:
        lam = data["risk_aversion"]
        idx = np.arange(iy, iy + r)
        P = sp.csc_matrix((np.full(r, 2.0 * lam), (idx, idx)), shape=(nz, nz))
    # zero cone: F_b x_b - y_b = 0, sum_b y_b - y = 0; the factor's entries are laid out
    # column by column (CSC order) in int32 index arrays, without COO intermediates
    blk = (np.searchsorted(edges, np.arange(n), side="right") - 1).astype(np.int32)
    f_rows = (blk[:, None] * r + np.arange(r, dtype=np.int32)[None, :]).ravel()
    f_indptr = np.arange(0, n * r + 1, r, dtype=np.int64)
    A_F = sp.csc_matrix((F.T.ravel(), f_rows, f_indptr), shape=(ny + r, n))
    del f_rows, blk
    A_aux = sp.csr_matrix(
        (
            np.r_[-np.ones(ny), np.ones(ny), -np.ones(r)],
            (
                np.r_[np.arange(ny), ny + np.tile(np.arange(r), nb), ny + np.arange(r)],
                np.r_[np.arange(ny), np.arange(ny), ny + np.arange(r)],
            ),
        ),
        shape=(ny + r, nz - n),
    )
    A_zero = sp.hstack([A_F, A_aux], format="csc")
    del A_F, A_aux
    # nonnegative cone: packing rows, then cell bounds
    c = cons.costs.ravel()
    camp = np.tile(np.arange(M), K)
    lin_rows, rhs = [], []
    seg = sp.csr_matrix((np.ones(n), (np.repeat(np.arange(K), M), np.arange(n))), shape=(K, nz))
    lin_rows.append(seg)
    rhs.append(cons.N)
    if cons.budget is not None:
        lin_rows.append(sp.csr_matrix((c, (np.zeros(n, int), np.arange(n))), shape=(1, nz)))
        rhs.append(np.atleast_1d(cons.budget))
    if cons.campaign_budgets is not None:
        lin_rows.append(sp.csr_matrix((c, (camp, np.arange(n))), shape=(M, nz)))
        rhs.append(cons.campaign_budgets)
    if cons.capacities is not None:
        lin_rows.append(sp.csr_matrix((np.ones(n), (camp, np.arange(n))), shape=(M, nz)))
        rhs.append(cons.capacities)
    eye = sp.csr_matrix((np.ones(n), (np.arange(n), np.arange(n))), shape=(n, nz))
    lin_rows += [eye, -eye]
    rhs += [np.maximum(cons.ub, cons.lb).ravel(), -cons.lb.ravel()]
    blocks = [A_zero, *lin_rows]
    b = [np.zeros(ny + r), *rhs]
    n_lin = sum(m.shape[0] for m in lin_rows)
    cones = [clarabel.ZeroConeT(ny + r), clarabel.NonnegativeConeT(n_lin)]
    if ell:  # (t, y) in the second-order cone: s = -(t, y)
        soc_cols = np.r_[nz - 1, iy + np.arange(r)]
        blocks.append(
            sp.csr_matrix((-np.ones(r + 1), (np.arange(r + 1), soc_cols)), shape=(r + 1, nz))
        )
        b.append(np.zeros(r + 1))
        cones.append(clarabel.SecondOrderConeT(r + 1))
    A = sp.vstack(blocks, format="csc")
    del blocks, A_zero, lin_rows, seg, eye
    b = np.concatenate(b)
    start = time.perf_counter()
    for refine in (False, True):
        settings = clarabel.DefaultSettings()
        settings.verbose = bool(verbose)
        # without iterative refinement each iteration is about twice as fast on the factor
        # rows; a failure retries with Clarabel's defaults
        settings.iterative_refinement_enable = refine
        solver = clarabel.DefaultSolver(P, q, A, b, cones, settings)
        solution = solver.solve()
        del solver
        status = str(solution.status)
        if status == "Solved":
            break
    if status not in ("Solved", "AlmostSolved"):
        raise AllocationError(
            f"solver CLARABEL returned status {status!r} on method {method!r}; no allocation "
            "is returned. Check the inputs for extreme magnitudes."
        )
    if status == "AlmostSolved":
        warn(
            f"solver CLARABEL returned 'optimal_inaccurate' on method {method!r}; the "
            "allocation is approximate. Try solver_options."
        )
    extras = {
        "solve_time": time.perf_counter() - start,
        "iterations": int(solution.iterations),
        "formulation": "direct factored (no cvxpy)",
        "iterative_refinement": refine,
    }
    x = np.asarray(solution.x, dtype=float)[:n]
    return x, ("optimal" if status == "Solved" else "optimal_inaccurate"), extras


_LOWRANK_IPM = True  # large SOCP/QP: the factored interior point first (tests switch it off)


def _solve_conic_lowrank(method, data, cons, K, M, verbose=False):
    """Ellipsoidal / mean-variance by the factored interior point of ``_lowrank_ipm``:
    (x, status, extras), or None when the problem is outside its scope (a zero radius).

    Presolve: cells fixed at their lower bound (no room in the cell, its segment or a
    coupling row it costs in) leave the problem; the free cells are scaled to ``[0, 1]``,
    the rows to unit coefficients and the objective to unit size. The (KM, KM) covariance
    is never formed.
    """
    import time

    from ._lowrank_ipm import LowRankIPMError, solve_lowrank

    F = data["factor"]
    ell = method == "ellipsoidal"
    weight = data["theta"] if ell else data["risk_aversion"]
    if not weight > 0:
        return None
    n = K * M
    lb = cons.lb.ravel().astype(float)
    ub = np.maximum(cons.ub, cons.lb).ravel()
    span = ub - lb
    fixed = span <= 1e-12 * np.maximum(1.0, np.abs(ub))
    seg = np.repeat(np.arange(K), M)
    seg_room = cons.N - cons.lb.sum(axis=1)
    seg_fixed = seg_room <= 1e-12 * np.maximum(1.0, cons.N)
    fixed |= seg_fixed[seg]
    costs = cons.costs.ravel()
    camp = np.tile(np.arange(M), K)
    rows = []
    if cons.budget is not None:
        rows.append((costs, float(cons.budget)))
    if cons.campaign_budgets is not None:
        rows += [(costs * (camp == m), float(cons.campaign_budgets[m])) for m in range(M)]
    if cons.capacities is not None:
        rows += [((camp == m).astype(float), float(cons.capacities[m])) for m in range(M)]
    rooms = []
    for coef, rhs in rows:
        room = rhs - float(coef @ lb)
        if room <= 1e-12 * max(1.0, abs(rhs)):
            fixed |= coef > 0
        rooms.append(room)
    free = ~fixed
    start = time.perf_counter()
    extras = {"formulation": "factored interior point (Woodbury, no cvxpy)"}
    if not free.any():
        extras.update(solve_time=time.perf_counter() - start, iterations=0, duality_gap=0.0)
        return lb.copy(), "optimal", extras
    colscale = np.where(free, span, 0.0)
    # segment rows (coefficients scaled to a maximum of 1 per row)
    a = colscale.copy()
    a_max = a.reshape(K, M).max(axis=1)
    b = np.where(seg_fixed, 1.0, seg_room)
    a_max = np.where(a_max > 0, a_max, 1.0)
    a /= a_max[seg]
    b = b / a_max
    # coupling rows: redundant ones (cannot bind inside the box) are dropped
    C_rows, h_rows = [], []
    for (coef, _), room in zip(rows, rooms, strict=True):
        cs = coef * colscale
        tot = cs.sum()
        if tot <= room * (1 - 1e-9) or tot <= 0:
            continue
        mx = cs.max()
        C_rows.append(cs / mx)
        h_rows.append(room / mx)
    C = np.array(C_rows).reshape(len(C_rows), n)
    h = np.array(h_rows, dtype=float)
    Fs = F * colscale[None, :]
    g = F @ lb if np.any(lb) else np.zeros(F.shape[0])
    fs = float(np.sqrt(np.max(np.einsum("ij,ij->j", Fs, Fs))))
    fs = fs if fs > 0 else 1.0
    Fs /= fs
    g = g / fs
    c = -(data["linear"] * colscale)
    w_eff = weight * (fs if ell else fs * fs)
    sigma = max(float(np.max(np.abs(c))), w_eff, 1e-300)
    kw = {"theta": w_eff / sigma} if ell else {"risk_aversion": w_eff / sigma}
    try:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            xi, info = solve_lowrank(c / sigma, Fs, g, a, b, C, h, K=K, M=M, verbose=verbose, **kw)
    except (LowRankIPMError, np.linalg.LinAlgError, FloatingPointError, ValueError):
        return None
    del Fs
    x = lb + colscale * np.clip(xi, 0.0, 1.0)
    extras.update(
        solve_time=time.perf_counter() - start,
        iterations=info["iterations"],
        duality_gap=info["certified_gap"] * sigma,
        relative_gap=info["certified_relative_gap"],
        primal_residual=info["primal_residual"],
        dual_residual=info["dual_residual"],
        cg_iterations=info["cg_iterations"],
    )
    return x, "optimal", extras


def _default_solver(family, integer):
    if family in ("ellipsoidal", "mean_variance"):
        return "CLARABEL"
    return "HIGHS"


def _run(built, solver, solver_options, method, verbose=False):
    import cvxpy as cp

    opts = dict(solver_options or {})
    key = repr((solver, sorted(opts.items())))
    if built.last_options is not None and built.last_options != key:
        opts.setdefault("warm_start", False)  # do not inherit the cached solver's settings
    built.last_options = key
    if built.x.attributes.get("integer"):
        # a MIP start from the previous (other-data) solve made HiGHS stop at a worse
        # incumbent; integer problems always start cold
        opts.setdefault("warm_start", False)
    try:
        # HiGHS prints a third-party-notices banner at C level even when not verbose; cvxpy's
        # own "may be inaccurate" warning is replaced by the one below (with advice)
        with quiet_stdout(verbose), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Solution may be inaccurate")
            built.problem.solve(solver=solver, verbose=bool(verbose), **opts)
    except cp.error.SolverError as exc:
        raise AllocationError(
            f"solver {solver} failed on method {method!r}: {exc}. Try another solver "
            "(solver='CLARABEL', 'HIGHS' or 'SCS'), rescale values to order 1, or pass "
            "solver_options."
        ) from exc
    status = built.problem.status
    if status == "optimal_inaccurate":
        warn(
            f"solver {solver} returned 'optimal_inaccurate' on method {method!r}; the "
            "allocation is approximate. Try another solver or tighter solver_options.",
        )
    elif status != "optimal":
        raise AllocationError(
            f"solver {solver} returned status {status!r} on method {method!r}; no allocation "
            "is returned. Try another solver (solver='CLARABEL' or 'HIGHS'), check the "
            "inputs for extreme magnitudes, or pass solver_options."
        )
    if built.x.value is None:
        raise AllocationError(f"solver {solver} returned no solution on method {method!r}")
    return built.x.value


def solve_allocation(
    value_hat,
    segment_sizes,
    *,
    method="nominal",
    scenarios=None,
    scenario_weights=None,
    lower=None,
    cov=None,
    cov_factor=None,
    theta=1.645,
    gamma=None,
    tail_fraction=0.05,
    risk_aversion=1.0,
    dnorm_d=1,
    dnorm_matrix="identity",
    alpha=0.05,
    action_costs=1.0,
    budget=None,
    campaign_budgets=None,
    capacities=None,
    max_cell=None,
    min_cell=None,
    integer=False,
    solver=None,
    solver_options=None,
    reuse_problem=True,
    verbose=False,
):
    """Solve one campaign-allocation model of Lo, Pachamanova & Gulpinar.

    Maximise (or, for ``max_regret``, minimise the maximum regret of) the value of an
    allocation ``eta`` (K segments x M campaigns) over the feasible set

    ``sum_m eta_km <= N_k``, ``sum_km c_km eta_km <= B``, ``sum_k c_km eta_km <= B_m``,
    ``sum_k eta_km <= C_m``, ``min_cell <= eta <= max_cell``, ``eta >= 0``.

    Parameters
    ----------
    value_hat : array-like of shape (K, M)
        Nominal value per customer (the lift phi-hat by default).
    segment_sizes : array-like of shape (K,)
        N_k >= 0.
    method : str
        ``"nominal"`` (CMCP-N), ``"expected_value"`` (SCMCP-EV), ``"max_regret"``
        (SCMCP-MR), ``"interval"`` (RCMCP-IN), ``"ellipsoidal"`` (RCMCP-EL, SOCP),
        ``"budgeted"`` (Bertsimas-Sim), ``"dnorm"``, ``"worst_case"``, ``"cvar"`` or
        ``"mean_variance"``.
    scenarios : array-like of shape (S, K, M), optional
        Value scenarios (required by expected_value, max_regret, worst_case, cvar; used for
        lower bounds and the covariance when those are not given).
    scenario_weights : array-like of shape (S,), optional
        Probabilities q_s (default uniform).
    lower : array-like of shape (K, M), optional
        Lower bounds for interval, budgeted and dnorm ``"inv_halfwidth"`` (default: the
        per-entry scenario minimum, as in the paper's experiment).
    cov, cov_factor : array-like, optional
        Covariance of ``vec(value)`` (C order, (KM, KM)) or a factor F (r, KM) with
        ``F.T @ F = cov`` (preferred; default: centred scenarios / sqrt(S - 1)).
    theta : float
        Ellipsoid (and D-norm) radius, >= 0.
    gamma : float, optional
        Bertsimas-Sim budget Gamma >= 0 (default ``min(KM, sqrt(-2 KM ln(1 - conf)))``).
    tail_fraction : float
        CVaR tail: the probability mass of the worst scenarios averaged, in (0, 1]
        (called alpha in the paper; renamed because ``alpha`` is a CI level in skcrm).
    risk_aversion : float
        lambda of mean_variance, >= 0.
    dnorm_d : int
        D-norm order, 1..KM.
    dnorm_matrix : {"identity", "inv_sqrt_cov", "inv_halfwidth"} or array (KM, KM)
        The matrix A of the D-norm set.
    alpha : float
        One minus the confidence level of the default Gamma (0.05 = 95%).
    action_costs : float or array-like of shape (M,) or (K, M)
        Cost c_km >= 0 of one campaign for one customer.
    budget : float, optional
        Global budget B >= 0 (None: no global budget).
    campaign_budgets, capacities : array-like of shape (M,), optional
        B_m and C_m.
    max_cell, min_cell : float or array-like of shape (K, M), optional
        Cell bounds.
    integer : {False, "floor", True}
        Continuous (the paper), floor + greedy repair, or an exact MILP (HiGHS; SOCP/QP
        models fall back to floor + repair with a ``UserWarning``).
    solver : str, optional
        cvxpy solver (default HiGHS for LP/MILP, Clarabel for SOCP/QP).
    solver_options : dict, optional
        Passed to ``Problem.solve``.
    reuse_problem : bool
        Re-solve a cached DPP problem of the same structure (default) or build afresh.
    verbose : bool
        Show the solver's log (and banners); by default nothing reaches stdout.

    Returns
    -------
    AllocationResult

    Raises
    ------
    ValueError
        Bad shapes, negative budgets/costs/sizes, contradictory or infeasible bounds.
    AllocationError
        The solver did not report an optimal solution.

    References
    ----------
    Lo, V.S.Y., Pachamanova, D. & Gulpinar, N. Uncertainty representation and risk
    management for direct segmented marketing.

    Examples
    --------
    >>> import numpy as np
    >>> scen = np.array([[[0.12], [0.05]], [[0.02], [0.07]]])
    >>> res = solve_allocation(scen.mean(0), [100, 100], method="worst_case",
    ...                        scenarios=scen, budget=100)
    >>> np.round(res.allocation.ravel(), 4), round(res.objective, 6)
    (array([16.6667, 83.3333]), 6.166667)
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {list(METHODS)}, got {method!r}")
    v = _as_float(value_hat, "value_hat")
    if v.ndim != 2:
        raise ValueError(f"value_hat must have shape (K, M), got shape {v.shape}")
    K, M = v.shape
    KM = K * M
    N = _nonneg(_as_float(segment_sizes, "segment_sizes").reshape(-1), "segment_sizes")
    if N.shape != (K,):
        raise ValueError(f"segment_sizes must have shape ({K},), got {N.shape}")
    c = _nonneg(_shaped(action_costs, "action_costs", ("M", "KM"), K, M), "action_costs")
    B = None if budget is None else float(_nonneg(_as_float(budget, "budget"), "budget"))
    Bm = None
    if campaign_budgets is not None:
        Bm = _nonneg(
            _shaped(campaign_budgets, "campaign_budgets", ("M",), K, M), "campaign_budgets"
        )
    C = None
    if capacities is not None:
        C = _nonneg(_shaped(capacities, "capacities", ("M",), K, M), "capacities")
    ub = (
        None
        if max_cell is None
        else _nonneg(_shaped(max_cell, "max_cell", ("KM",), K, M), "max_cell")
    )
    lb = (
        None
        if min_cell is None
        else _nonneg(_shaped(min_cell, "min_cell", ("KM",), K, M), "min_cell")
    )
    if integer not in (False, True, "floor"):
        raise ValueError(f"integer must be False, 'floor' or True, got {integer!r}")
    if integer and lb is not None and np.any(lb != np.floor(lb)):
        raise ValueError("min_cell must be integral when integer is 'floor' or True")
    if not (np.isfinite(theta) and theta >= 0):
        raise ValueError(f"theta must be >= 0, got {theta!r}")
    if not (0 < tail_fraction <= 1):
        raise ValueError(f"tail_fraction must be in (0, 1], got {tail_fraction!r}")
    if not (0 < alpha < 1):
        raise ValueError(f"alpha must be in (0, 1) (0.05 = 95%), got {alpha!r}")
    if risk_aversion < 0:
        raise ValueError(f"risk_aversion must be >= 0, got {risk_aversion!r}")
    if gamma is not None and not gamma >= 0:
        raise ValueError(f"gamma must be >= 0, got {gamma!r}")
    if method == "dnorm" and (int(dnorm_d) != dnorm_d or not 1 <= dnorm_d <= KM):
        raise ValueError(f"dnorm_d must be an integer in 1..{KM} (K*M), got {dnorm_d!r}")

    scen = None
    if scenarios is not None:
        scen = _as_float(scenarios, "scenarios")
        if scen.ndim != 3 or scen.shape[1:] != (K, M):
            raise ValueError(f"scenarios must have shape (S, {K}, {M}), got {scen.shape}")
    if method in _SCENARIO_METHODS and scen is None:
        raise ValueError(f"method {method!r} needs scenarios of shape (S, {K}, {M})")
    q = None
    if scen is not None:
        S = scen.shape[0]
        if scenario_weights is None:
            q = np.full(S, 1.0 / S)
        else:
            q = _nonneg(
                _as_float(scenario_weights, "scenario_weights").reshape(-1), "scenario_weights"
            )
            if q.shape != (S,) or abs(q.sum() - 1.0) > 1e-8:
                raise ValueError(f"scenario_weights must be {S} probabilities summing to 1")

    cons = _Constraints(N, c, B, Bm, C, ub, lb)
    if lb is not None:
        cons.check_min_cell()

    data = {"linear": v.ravel()}
    needs_lower = method in ("interval", "budgeted") or (
        method == "dnorm" and isinstance(dnorm_matrix, str) and dnorm_matrix == "inv_halfwidth"
    )
    if needs_lower:
        if lower is None:
            if scen is None:
                raise ValueError(f"method {method!r} needs lower (K, M) or scenarios")
            lo = scen.min(axis=0)
        else:
            lo = _as_float(lower, "lower")
            if lo.shape != (K, M):
                raise ValueError(f"lower must have shape ({K}, {M}), got {lo.shape}")
        bad = np.argwhere(lo > v + 1e-12 * np.maximum(1.0, np.abs(v)))
        if bad.size and method != "interval":
            k, m = bad[0]
            raise ValueError(
                f"contradictory bounds: lower[{k}, {m}] = {lo[k, m]:g} exceeds "
                f"value_hat[{k}, {m}] = {v[k, m]:g}"
            )
        data["delta"] = np.maximum(v - lo, 0.0).ravel()
        if method == "interval":
            data["linear"] = lo.ravel()
    if method == "expected_value":
        data["linear"] = q @ scen.reshape(scen.shape[0], KM)
    if scen is not None:
        data["scen"] = scen.reshape(scen.shape[0], KM)
        data["weights"] = q
    data["alpha"] = float(tail_fraction)
    if method in _CONIC or (
        method == "dnorm" and isinstance(dnorm_matrix, str) and dnorm_matrix == "inv_sqrt_cov"
    ):
        F = covariance_factor(cov, cov_factor, scen)
        if F.shape[1] != KM:
            raise ValueError(f"the covariance factor must have {KM} columns, got {F.shape[1]}")
        data["factor"] = F
    data["theta"] = float(theta)
    data["risk_aversion"] = float(risk_aversion)
    if method == "budgeted":
        data["gamma"] = _default_gamma(KM, alpha) if gamma is None else float(gamma)
    if method == "dnorm":
        if isinstance(dnorm_matrix, str):
            if dnorm_matrix not in _DNORM_MATRICES:
                raise ValueError(
                    f"dnorm_matrix must be one of {list(_DNORM_MATRICES)} or an array, "
                    f"got {dnorm_matrix!r}"
                )
            if dnorm_matrix == "identity":
                W = np.eye(KM)
            elif dnorm_matrix == "inv_halfwidth":
                W = np.diag(data["delta"])
            else:  # A^{-T} = Sigma^{1/2}, the symmetric root (eigenvalues clipped at 0)
                w, V = np.linalg.eigh(data["factor"].T @ data["factor"])
                W = (V * np.sqrt(np.clip(w, 0, None))) @ V.T
        else:
            A = _as_float(dnorm_matrix, "dnorm_matrix")
            if A.shape != (KM, KM):
                raise ValueError(f"dnorm_matrix must have shape ({KM}, {KM}), got {A.shape}")
            W = np.linalg.inv(A).T
        data["dnorm_w"] = W
        data["dnorm_d"] = int(dnorm_d)

    # cvxpy (``_models``) is imported only when a cvxpy problem is built: the factored
    # interior point of large ellipsoidal / mean-variance problems does without it (the
    # import alone is ~2.5 s of CPU of a cold solve)
    if method in ("ellipsoidal", "mean_variance"):
        family = method
    else:
        from ._models import FAMILY

        family = FAMILY[method]
    loaded = sys.modules.get(__name__.rsplit(".", 1)[0] + "._models")
    if loaded is not None:
        needs_constant_build = loaded.needs_constant_build
    else:  # the rule of _models.needs_constant_build (not imported yet, so not patched)

        def needs_constant_build(n_rows, n_cols):
            return n_rows * n_cols > 1e6

    conic = family in ("ellipsoidal", "mean_variance")
    milp = integer is True and not conic
    if integer is True and conic:
        warn(
            f"integer=True is not available for the {method!r} model (no open-source "
            "mixed-integer SOCP solver); returning the floor + repair solution instead.",
        )
    solver_name = solver or _default_solver(family, milp)
    if milp and solver_name == "HIGHS" and solver_options is None:
        solver_options = {"mip_rel_gap": 1e-9}  # HiGHS's default 1e-4 gap is too loose here

    S_n = 0 if scen is None else scen.shape[0]
    rank = data["factor"].shape[0] if "factor" in data else 0
    extra = KM if family in ("budgeted", "dnorm") else 0
    constant = needs_constant_build(K + 2 * M + 2 + rank + S_n + extra, KM + rank + S_n + extra + 2)

    fast_options = None
    if constant and conic and solver_name == "CLARABEL" and solver_options is None:
        # large SOCP/QP: Clarabel's iterative refinement doubles the time per iteration on
        # the dense covariance-factor rows; without it the optimum agreed to 1e-10
        # (relative) on the benchmark's 30,000-customer problem. Small problems keep the
        # defaults (without refinement Clarabel failed on some), and a failure retries them.
        fast_options = {"iterative_refinement_enable": False}

    def structure(fam, values):
        from ._models import Structure, data_digest

        return Structure(
            family=fam,
            K=K,
            M=M,
            S=0 if fam in ("linear", "ellipsoidal", "mean_variance") else S_n,
            rank=rank if fam in ("ellipsoidal", "mean_variance") else 0,
            has_budget=B is not None,
            has_campaign_budgets=Bm is not None,
            has_capacities=C is not None,
            has_max_cell=ub is not None,
            has_min_cell=lb is not None,
            integer=milp,
            data_key=data_digest(values) if constant else "",
        )

    def feasible_values():
        vals = {"sizes": N}
        if B is not None or Bm is not None:
            vals["costs"] = c.ravel()
        if B is not None:
            vals["budget"] = B
        if Bm is not None:
            vals["campaign_budgets"] = Bm
        if C is not None:
            vals["capacities"] = C
        if ub is not None:
            vals["max_cell"] = ub.ravel()
        if lb is not None:
            vals["min_cell"] = lb.ravel()
        return vals

    def solve_built(fam, vals):
        from ._models import get_problem

        built = get_problem(structure(fam, vals), reuse_problem, vals)
        built.set(**vals)
        if fast_options is not None:
            try:
                return built, _run(built, solver_name, fast_options, method, verbose)
            except AllocationError:
                pass  # retry with the solver's default settings
        return built, _run(built, solver_name, solver_options, method, verbose)

    extras = {}
    if method == "max_regret":  # z^s: S nominal problems on the same feasible set (4.3)
        z = np.empty(S_n)
        for s in range(S_n):
            lin, x_s = solve_built("linear", feasible_values() | {"linear": data["scen"][s]})
            x_s = cons.polish(np.asarray(x_s).reshape(K, M))
            if milp:
                x_s = np.rint(x_s)
            z[s] = max(float(data["scen"][s] @ x_s.ravel()), float(lin.problem.value))
        data["scenario_optima"] = z
        extras["scenario_optima"] = z

    vals = feasible_values()
    if family in ("linear", "budgeted", "dnorm", "ellipsoidal", "mean_variance"):
        vals["linear"] = data["linear"]
    if family in ("worst_case", "cvar", "max_regret"):
        vals["scen"] = data["scen"]
    if family == "cvar":
        if constant:
            vals.update(weights=q, inv_alpha=1.0 / tail_fraction)
        else:
            vals["tail_weights"] = q / tail_fraction
    if family == "max_regret":
        vals["scenario_optima"] = data["scenario_optima"]
    if family in ("ellipsoidal", "mean_variance"):
        scalar = "theta" if family == "ellipsoidal" else "risk_aversion"
        if constant:
            vals.update(factor=data["factor"], **{scalar: data[scalar]})
        else:
            weight = data["theta"] if family == "ellipsoidal" else np.sqrt(data["risk_aversion"])
            vals["scaled_factor"] = weight * data["factor"]
    if family == "budgeted":
        vals["delta"] = data["delta"]
        vals["gamma"] = data["gamma"]
    if family == "dnorm":
        if constant:
            vals.update(dnorm_w_raw=data["dnorm_w"], theta=data["theta"], dnorm_d=data["dnorm_d"])
        else:
            vals["dnorm_w"] = data["theta"] * data["dnorm_w"]
            vals["dnorm_w_over_d"] = data["theta"] * data["dnorm_w"] / data["dnorm_d"]
    direct = None
    if conic and constant and solver_name == "CLARABEL" and solver_options is None:
        # large SOCP/QP: Clarabel on a factored formulation built directly (sparse arrays,
        # no cvxpy compilation, the covariance never formed)
        if _LOWRANK_IPM:
            direct = _solve_conic_lowrank(method, data, cons, K, M, verbose)
        if direct is None:
            direct = _solve_conic_direct(method, data, cons, K, M, verbose)
    if direct is not None:
        x, status_out, direct_extras = direct
        extras.update(direct_extras)
        built = None
    else:
        built, x = solve_built(family, vals)
        status_out = str(built.problem.status)
    eta = cons.polish(np.asarray(x, dtype=float).reshape(K, M))

    if milp:
        rounded = np.rint(eta)
        feasible = (
            np.all(rounded >= cons.lb)
            and np.all(rounded <= cons.ub)
            and np.all(rounded.sum(axis=1) <= N)
            and all(np.all(lhs <= rhs) for lhs, rhs in cons.rows(rounded))
        )
        eta = _repair(method, rounded if feasible else np.floor(eta), cons, data, KM)
    elif integer:
        eta = _repair(method, np.floor(eta), cons, data, KM)

    stats = None if built is None else built.problem.solver_stats
    if stats is not None and stats.solve_time is not None:
        extras["solve_time"] = float(stats.solve_time)
    if family == "cvar" and "t" in built.aux and built.aux["t"].value is not None:
        extras["var_threshold"] = float(built.aux["t"].value)
    if family == "budgeted":
        extras["gamma"] = data["gamma"]
        if built.aux["p"].value is not None:
            extras["p"] = float(built.aux["p"].value)
            extras["q"] = np.asarray(built.aux["q"].value, dtype=float).reshape(K, M)

    score = float(model_score(method, eta.reshape(-1, 1), data)[0])
    objective = -score if method == "max_regret" else score
    return AllocationResult(
        allocation=eta,
        objective=objective,
        expected_value=float(v.ravel() @ eta.ravel()),
        status=status_out,
        solver=solver_name,
        budget_used=float((c * eta).sum()),
        method=method,
        extras=extras,
    )
