"""A primal-dual interior-point solver for the large factored SOCP / QP allocation models.

The ellipsoidal model ``max v'x - theta ||F x + g||`` and the mean-variance model
``max v'x - lambda ||F x + g||^2`` over the allocation polytope (per-segment rows, a few
dense coupling rows: budget, campaign budgets, capacities; cell bounds) have a Newton system
that is a block-diagonal matrix (a diagonal plus one rank-one term per segment) plus a
low-rank term (the coupling rows, the cone's Nesterov-Todd scaling through ``F``, or the
QP's ``F'F``). Each Newton step is solved exactly by the Woodbury identity in
O(n w^2) flops (n cells, w = rank + coupling rows + 2) with dense BLAS, plus iterative
refinement on the full reduced system; the (n, n) covariance is never formed.

The algorithm is the infeasible-start path-following method with Nesterov-Todd scaling and
Mehrotra's predictor-corrector of Vandenberghe's CVXOPT ``coneqp`` (no equality
constraints), for the cone ``R_+^l x Q^{r+1}``.

Reference: L. Vandenberghe, "The CVXOPT linear and quadratic cone program solvers" (2010).
"""

# ruff: noqa: B023  (the per-iteration closures are called only within their iteration)
from __future__ import annotations

import numpy as np
import scipy.linalg

__all__ = ["solve_lowrank", "LowRankIPMError"]


# the preconditioner's regularisation (grown by _REG_GROW when CG stalls) and the CG
# tolerance: min(_CG_TOL_MAX, max(1e-14, _CG_TOL_FACTOR * relative gap))
_REG = 1e-8
_REG_GROW = 100.0
_CG_TOL_MAX = 1e-6
_CG_TOL_FACTOR = 1e-3


class LowRankIPMError(RuntimeError):
    """The interior-point iterations did not reach the tolerances (the caller falls back)."""


# ----------------------------------------------------------------------------- the cone
def _jdot(u, v):
    return u[0] * v[0] - u[1:] @ v[1:]


def _soc_nt(s, z, sJs, zJz, sz):
    """Nesterov-Todd scaling of one second-order cone: (W, W^{-1}, lambda).

    ``sJs``, ``zJz`` and ``s'z`` are passed in (tracked through the steps): near the optimum
    both points approach the cone's boundary and recomputing them from s and z cancels
    catastrophically. lambda = W z from its closed form (no cancellation either).
    """
    if not (sJs > 0 and zJz > 0 and s[0] > 0 and z[0] > 0):
        raise LowRankIPMError("the cone iterate left the interior")
    a, b = np.sqrt(sJs), np.sqrt(zJz)
    sb = s / a
    zb = z / b
    gamma = np.sqrt((1.0 + sz / (a * b)) / 2.0)
    # wb = (sb + J zb) / (2 gamma), J = diag(1, -1, ..., -1)
    wb = np.r_[sb[0] + zb[0], sb[1:] - zb[1:]] / (2.0 * gamma)
    eta = np.sqrt(a / b)
    w0, w1 = wb[0], wb[1:]
    core = np.eye(s.size - 1) + np.outer(w1, w1) / (1.0 + w0)
    W = np.empty((s.size, s.size))
    W[0, 0] = w0
    W[0, 1:] = w1
    W[1:, 0] = w1
    W[1:, 1:] = core
    Winv = W.copy()
    Winv[0, 1:] = -w1
    Winv[1:, 0] = -w1
    W *= eta
    Winv /= eta
    lam = (
        np.sqrt(a * b)
        * np.r_[
            gamma,
            ((gamma + zb[0]) * sb[1:] + (gamma + sb[0]) * zb[1:]) / (sb[0] + zb[0] + 2 * gamma),
        ]
    )
    return W, Winv, lam


def _soc_sinv(lam, d):
    """Solve ``lam o x = d`` (Jordan product of the second-order cone) for x."""
    det = lam[0] ** 2 - lam[1:] @ lam[1:]
    x0 = (lam[0] * d[0] - lam[1:] @ d[1:]) / det
    return np.r_[x0, (d[1:] - x0 * lam[1:]) / lam[0]]


def _soc_prod(u, v):
    return np.r_[u @ v, u[0] * v[1:] + v[0] * u[1:]]


def _soc_step(u, d, c):
    """Largest alpha >= 0 with ``u + alpha d`` in the (closed) second-order cone
    (``c = u'Ju``, tracked)."""
    a = _jdot(d, d)
    b = _jdot(u, d)
    roots = []
    if abs(a) <= 1e-300:
        if b < 0:
            roots.append(-c / (2.0 * b))
    else:
        disc = b * b - a * c
        if disc >= 0:
            sq = np.sqrt(disc)
            q = -(b + np.copysign(sq, b))
            for rt in (q / a, c / q if q != 0 else np.inf):
                roots.append(rt)
    pos = [rt for rt in roots if rt > 0 and np.isfinite(rt)]
    alpha = min(pos) if pos else np.inf
    # a line through the negative cone: the first crossing of u0 + alpha d0 = 0
    if d[0] < 0:
        alpha = min(alpha, -u[0] / d[0])
    return alpha


def _lin_step(u, d):
    neg = d < 0
    if not neg.any():
        return np.inf
    return float(np.min(-u[neg] / d[neg]))


# ----------------------------------------------------------------------------- (M, M) blocks
def _block_cholesky(A):
    """Lower Cholesky factors of a stack of SPD (M, M) matrices (vectorised over the stack)."""
    K, M, _ = A.shape
    L = np.zeros_like(A)
    for j in range(M):
        piv = A[:, j, j] - np.einsum("ki,ki->k", L[:, j, :j], L[:, j, :j])
        if not np.all(piv > 0):
            raise np.linalg.LinAlgError("a block of the Newton matrix is not positive definite")
        L[:, j, j] = np.sqrt(piv)
        for i in range(j + 1, M):
            L[:, i, j] = (A[:, i, j] - np.einsum("ki,ki->k", L[:, i, :j], L[:, j, :j])) / L[:, j, j]
    return L


def _block_tri_inv(L):
    """Inverses of a stack of lower triangular (M, M) matrices."""
    K, M, _ = L.shape
    X = np.zeros_like(L)
    for i in range(M):
        X[:, i, i] = 1.0 / L[:, i, i]
        for j in range(i):
            X[:, i, j] = -np.einsum("kl,kl->k", L[:, i, j:i], X[:, j:i, j]) / L[:, i, i]
    return X


# ----------------------------------------------------------------------------- solver
def solve_lowrank(
    c,
    factor,
    offset,
    seg_coef,
    seg_rhs,
    coupling,
    coupling_rhs,
    *,
    K,
    M,
    theta=None,
    risk_aversion=None,
    tol=1e-10,
    acceptable=1e-8,
    reg=None,
    max_iter=100,
    verbose=False,
):
    """Minimise ``c'x + theta ||F x + g||`` (or ``+ lambda ||F x + g||^2``) over
    ``0 <= x <= 1``, per-segment rows ``sum_m a_km x_km <= b_k`` and dense rows ``C x <= h``.

    The rows must have a strictly feasible point (``b > 0``, ``h > 0``, ``a, C >= 0``).

    Returns
    -------
    x : ndarray of shape (n,)
    info : dict
        ``certified_gap``: the objective at x minus a Lagrangian lower bound (weak duality,
        the box minimum of the Lagrangian at the best duals seen), so the true optimum is
        within it; ``certified_relative_gap`` (over ``max(1, |objective|)``, at most ``tol``,
        or ``acceptable`` when the Newton systems lose accuracy first); ``iterations``,
        ``gap`` (s'z of the last iterate), ``relative_gap``, ``primal_residual``,
        ``dual_residual``, ``cg_solves``, ``cg_iterations``.

    Raises
    ------
    LowRankIPMError
        No certificate within ``acceptable`` (the caller falls back to Clarabel).
    """
    n = K * M
    F = factor
    r = F.shape[0]
    ell = theta is not None
    p = coupling.shape[0]
    a = seg_coef
    # the low-rank columns U, (N, w), N = n (+1 for t)
    Nv = n + (1 if ell else 0)
    if ell:
        w = p + 1 + r
        U = np.zeros((Nv, w))
        U[:n, :p] = coupling.T
        U[n, p] = -1.0  # cone row 0: -t
        U[:n, p + 1 :] = -F.T  # cone rows 1..r: -F x
        cvec = np.r_[c, theta]
        hcone = np.r_[0.0, offset]
    else:
        w = p + r
        U = np.empty((Nv, w))
        U[:, :p] = coupling.T
        U[:, p:] = F.T
        cvec = c + 2.0 * risk_aversion * (F.T @ offset)
    ncone = r + 1 if ell else 0
    seg_idx = np.repeat(np.arange(K), M)

    def G_T(z1, z2, z3, z4, z5):
        """G' z (length Nv)."""
        out = np.zeros(Nv)
        out[:n] = z2 - z1 + a * z3[seg_idx]
        if ell:
            out += U @ np.r_[z4, z5]
        elif p:
            out += U[:, :p] @ z4
        return out

    def G_x(xv, ux=None):
        """G x as the five blocks (``ux`` = U'xv when known)."""
        xs = xv[:n]
        g3 = (a * xs).reshape(K, M).sum(axis=1)
        if ell:
            prod = U.T @ xv if ux is None else ux
            return -xs, xs, g3, prod[:p], prod[p:]
        if not p:
            return -xs, xs, g3, np.zeros(0), np.zeros(0)
        return -xs, xs, g3, (U[:, :p].T @ xv) if ux is None else ux[:p], np.zeros(0)

    h = (np.zeros(n), np.ones(n), seg_rhs, coupling_rhs, hcone if ell else np.zeros(0))

    def Px(xv):
        if ell:
            return np.zeros(Nv)
        Fx = U[:, p:].T @ xv
        return U[:, p:] @ (2.0 * risk_aversion * Fx)

    # ---- a strictly feasible start for the linear rows
    beta = 0.5
    seg_load = (a.reshape(K, M)).sum(axis=1)
    ok = seg_load > 0
    if ok.any():
        beta = min(beta, 0.5 * float(np.min(seg_rhs[ok] / seg_load[ok])))
    if p:
        load = coupling.sum(axis=1)
        ok = load > 0
        if ok.any():
            beta = min(beta, 0.5 * float(np.min(coupling_rhs[ok] / load[ok])))
    x = np.zeros(Nv)
    x[:n] = beta
    gx = G_x(x)
    s = [hh - gg for hh, gg in zip(h, gx, strict=True)]
    if ell:  # s5 = (t, F x + g): t strictly above the norm
        x[n] = np.linalg.norm(s[4][1:]) + 1.0
        s[4] = h[4] - G_x(x)[4]
    z = [np.ones(n), np.ones(n), np.ones(K), np.ones(p), np.zeros(ncone)]
    if ell:
        z[4][0] = 1.0
    m_deg = 2 * n + K + p + (1 if ell else 0)
    cone_q = (_jdot(s[4], s[4]), _jdot(z[4], z[4]), float(s[4] @ z[4])) if ell else None

    hnorm = max(1.0, float(np.sqrt(sum(float(hh @ hh) for hh in h))))
    cnorm = max(1.0, float(np.linalg.norm(cvec)))

    core = np.zeros((w, w))
    reg = [_REG if reg is None else reg]
    cg_count = [0]
    cg_iters = [0]
    kkt_res = [0.0]
    best = None
    best_primal, best_lower = np.inf, -np.inf

    def primal_value(xs):
        y = F @ xs + offset
        if ell:
            return float(c @ xs) + theta * float(np.linalg.norm(y))
        return float(c @ xs) + risk_aversion * float(y @ y)

    def lower_bound(xs, zz):
        """min over the box of the Lagrangian (weak duality): a valid lower bound.

        The cone (or quadratic) dual and the coupling duals come from the iterate; the
        segment duals are then the exact maximisers of the dual function (one concave
        piecewise-linear function of one variable per segment, maximal at 0 or at one of its
        M breakpoints), which tightens the bound where the iterate's duals are inexact."""
        z4 = np.maximum(zz[3], 0.0)
        if ell:
            u = -zz[4][1:]
            nu = np.linalg.norm(u)
            if nu > theta:
                u = u * (theta / nu)
            const = float(u @ offset)
        else:
            y0 = F @ xs + offset
            u = 2.0 * risk_aversion * y0
            const = float(u @ offset) - risk_aversion * float(y0 @ y0)
        coef = c + F.T @ u
        if p:
            coef = coef + coupling.T @ z4
        cK = coef.reshape(K, M)
        aK = a.reshape(K, M)
        # candidates: y = 0 and the breakpoints -c/a of the cells with c < 0 < a
        with np.errstate(divide="ignore", invalid="ignore"):
            brk = np.where((aK > 0) & (cK < 0), -cK / aK, 0.0)
        cand = np.concatenate([np.maximum(zz[2], 0.0)[:, None], np.zeros((K, 1)), brk], axis=1)
        vals = -cand * seg_rhs[:, None] + np.minimum(
            cK[:, None, :] + aK[:, None, :] * cand[:, :, None], 0.0
        ).sum(axis=2)
        return const - float(z4 @ coupling_rhs) + float(vals.max(axis=1).sum())

    info = {}
    for it in range(max_iter + 1):
        # residuals
        gx = G_x(x)
        rx = Px(x) + cvec + G_T(*z)
        rz = [sv + gg - hh for sv, gg, hh in zip(s, gx, h, strict=True)]
        gap = float(sum(s[i] @ z[i] for i in range(5)))
        xPx = float(x @ Px(x))
        pcost = 0.5 * xPx + float(cvec @ x)
        pres = float(np.sqrt(sum(float(rr @ rr) for rr in rz))) / hnorm
        dres = float(np.linalg.norm(rx)) / cnorm
        relgap = gap / max(1.0, abs(pcost))
        info = {
            "iterations": it,
            "gap": gap,
            "relative_gap": relgap,
            "primal_residual": pres,
            "dual_residual": dres,
            "primal_objective": pcost,
            "dual_objective": pcost - gap,
        }
        if verbose:
            print(
                f"{it:3d} pcost {pcost: .10e} gap {gap:.2e} pres {pres:.2e} dres {dres:.2e} "
                f"kkt {kkt_res[0]:.1e} cg {cg_iters[0]} cert {best_primal - best_lower:.2e}"
            )
        # a certificate that does not need the dual residual to vanish: the objective of
        # the (clipped, primal-feasible) iterate and a Lagrangian lower bound from its duals
        if np.isfinite(pcost) and pres <= 1e-9:
            xc = np.clip(x[:n], 0.0, 1.0)
            val = primal_value(xc)
            if val < best_primal:
                best_primal, best = val, xc
        if all(np.all(np.isfinite(zv)) for zv in z):
            best_lower = max(best_lower, lower_bound(x[:n], z))
        cert = (best_primal - best_lower) / max(1.0, abs(best_primal))
        info["certified_gap"] = best_primal - best_lower
        info["certified_relative_gap"] = cert
        if cert <= tol:
            break
        if it == max_iter or kkt_res[0] > 1e-5 or not np.isfinite(pcost):
            # the Newton systems lost their accuracy (or no convergence): the best iterate
            # if its certificate meets Clarabel's own tolerance
            if cert <= acceptable:
                break
            raise LowRankIPMError(f"no convergence after {it} iterations: {info}")
        kkt_res[0] = 0.0

        try:
            # scalings
            lam_lin = [np.sqrt(s[i] * z[i]) for i in range(4)]
            dlin = [z[i] / s[i] for i in range(4)]  # W^{-2} of the nonnegative rows
            if ell:
                W5, W5i, lam5 = _soc_nt(
                    s[4], z[4], _jdot(s[4], s[4]), _jdot(z[4], z[4]), float(s[4] @ z[4])
                )
                W5i2 = W5i @ W5i
            # reduced matrix P + G'H^{-1}G = B + U S U' with B = diag(d) + one rank-one term per
            # segment (+ omega at t, taken out again by a column e_t of weight -omega) and
            # S = blockdiag(z/s of the coupling rows, W^{-2} of the cone). Woodbury in the form of
            # the augmented system, (B + U S U')^{-1} = B^{-1} - B^{-1}U (S^{-1} + U'B^{-1}U)^{-1}
            # U'B^{-1}, with S^{-1} = blockdiag(s/z, W^2) known without inversion: stable for the
            # huge weights of active rows and of the cone near its boundary.
            d = dlin[0] + dlin[1]
            e = dlin[2]
            core[:] = 0.0
            core[:p, :p] = np.diag(dlin[3])
            wx = w + (1 if ell else 0)
            sinv = np.zeros((wx, wx))
            sinv[:p, :p] = np.diag(s[3] / z[3])
            if ell:
                W52 = W5 @ W5
                omega = 1.0 / float(W52[0, 0])
                core[p:, p:] = W5i2
                sinv[p:w, p:w] = W52
                sinv[w, w] = -1.0 / omega
            else:
                omega = 0.0
                core[p:, p:] = 2.0 * risk_aversion * np.eye(r)
                sinv[p:, p:] = np.eye(r) / (2.0 * risk_aversion)

            # the (M, M) blocks of B, solved by LU with pivoting (backward stable; the
            # Sherman-Morrison form cancels catastrophically once a segment row is active)
            aK = a.reshape(K, M)
            blocks0 = e[:, None, None] * (aK[:, :, None] * aK[:, None, :])
            blocks0[:, np.arange(M), np.arange(M)] += d.reshape(K, M)
            pre = {}

            def setup(delta):
                """The Woodbury preconditioner of B + delta I + U S U'. The regularisation
                bounds B^{-1} (cells strictly inside their bounds have d -> 0 near the optimum,
                which ruins the Woodbury form in floating point); CG on the exact system
                removes it. delta grows only when CG stalls (the last iterations).

                The SPD (M, M) blocks are inverted through a vectorised Cholesky factorization
                (backward stable without pivoting, and faster than a batched LU)."""
                blocks = blocks0.copy()
                blocks[:, np.arange(M), np.arange(M)] += delta
                Linv = _block_tri_inv(_block_cholesky(blocks))
                pre["inv"] = np.einsum("kji,kjl->kil", Linv, Linv)  # B^{-1} = Linv' Linv
                BU = np.empty_like(U)
                BU[:n] = np.matmul(pre["inv"], U[:n].reshape(K, M, w)).reshape(n, w)
                if ell:
                    BU[n] = U[n] / omega
                UtBU = U.T @ BU
                pre["BU"] = BU
                pre["UtBU"] = UtBU
                cap = sinv.copy()
                cap[:w, :w] += UtBU
                if ell:  # the column e_t: B^{-1} e_t = e_t / omega
                    cap[:w, w] += U[n] / omega
                    cap[w, :w] += U[n] / omega
                    cap[w, w] += 1.0 / omega
                pre["lu"] = scipy.linalg.lu_factor(cap)

            def Binv(xv):
                """B^{-1} xv for a vector (the (M, M) block inverses, broadcast)."""
                y = np.empty_like(xv)
                xb = xv[:n].reshape(K, M)
                inv = pre["inv"]
                yb = y[:n].reshape(K, M)
                yb[:] = inv[:, :, 0] * xb[:, 0:1]
                for j in range(1, M):
                    yb += inv[:, :, j] * xb[:, j : j + 1]
                if ell:
                    y[n] = xv[n] / omega
                return y

            setup(reg[0])

            def Bmul(xv):
                """B xv (the block-diagonal part, 0 at t)."""
                out = d * xv[:n]
                out += a * np.repeat(e * (a * xv[:n]).reshape(K, M).sum(axis=1), M)
                return np.r_[out, 0.0] if ell else out

            def Mv(xv, parts=False, ux=None):
                """The reduced matrix times xv (with the norms of its terms when ``parts``;
                ``ux`` = U'xv when known)."""
                out = np.empty_like(xv)
                out[:n] = d * xv[:n]
                seg_part = a * np.repeat(e * (a * xv[:n]).reshape(K, M).sum(axis=1), M)
                if ell:
                    out[n] = 0.0
                low = U @ (core @ (U.T @ xv if ux is None else ux))
                if parts:
                    size = np.linalg.norm(out) + np.linalg.norm(seg_part) + np.linalg.norm(low)
                out[:n] += seg_part
                out += low
                return (out, size) if parts else out

            def prec(res):
                """(zz, M zz, U'zz) with zz = (B + delta I + U S U')^{-1} res (Woodbury). U'zz
                is computed directly (from the capacitance it cancels catastrophically)."""
                y = Binv(res)
                uy = U.T @ y
                rhs_c = np.r_[uy, y[n]] if ell else uy
                cc = scipy.linalg.lu_solve(pre["lu"], rhs_c)
                zz = y - pre["BU"] @ cc[:w]
                if ell:
                    zz[n] -= cc[w] / omega
                utz = U.T @ zz
                mz = Bmul(zz)
                mz += U @ (core @ utz)
                return zz, mz, utz

            # inexact Newton steps while far from the optimum: the primal residual stays exact
            # (ds comes from the primal equation) and the certificate does not depend on the
            # steps, so the CG tolerance follows the relative gap down to 1e-14
            cg_tol = float(min(_CG_TOL_MAX, max(1e-14, _CG_TOL_FACTOR * relgap)))

            def cg(rhs, sol, msol, usol, limit):
                """Preconditioned conjugate gradients from ``sol`` (``msol`` = M sol, ``usol``
                = U'sol); the products of the search direction with M and U' are carried by
                linearity (four passes over the (n, w) arrays per iteration, all in the
                preconditioner): (sol, U'sol, converged)."""
                rnorm0 = np.linalg.norm(rhs)
                res = rhs - msol
                if np.linalg.norm(res) <= cg_tol * rnorm0:
                    return sol, usol, True
                zz, mz, uz = prec(res)
                pdir, Mp, up = zz, mz, uz
                rz = res @ zz
                for k in range(limit + 1):
                    if np.linalg.norm(res) <= cg_tol * rnorm0:
                        cg_iters[0] += k
                        return sol, usol, True
                    if k == limit:
                        break
                    pMp = pdir @ Mp
                    if not pMp > 0:
                        break
                    step = rz / pMp
                    sol = sol + step * pdir
                    usol = usol + step * up
                    res = res - step * Mp
                    zz, mz, uz = prec(res)
                    rz_new = res @ zz
                    beta_ = rz_new / rz
                    pdir = zz + beta_ * pdir
                    Mp = mz + beta_ * Mp
                    up = uz + beta_ * up
                    rz = rz_new
                cg_iters[0] += k
                return sol, usol, False

            def Msolve(rhs):
                """The reduced system by CG preconditioned with the Woodbury inverse:
                (sol, U'sol)."""
                if np.linalg.norm(rhs) == 0:
                    return np.zeros_like(rhs), np.zeros(w)
                cg_count[0] += 1
                sol, msol, usol = prec(rhs)
                sol, usol, ok = cg(rhs, sol, msol, usol, 20)
                while not ok and reg[0] < 1e-1:
                    reg[0] *= _REG_GROW
                    setup(reg[0])
                    usol = U.T @ sol
                    sol, usol, ok = cg(rhs, sol, Mv(sol, ux=usol), usol, 60)
                if not ok:
                    usol = U.T @ sol
                    sol, usol, ok = cg(rhs, sol, Mv(sol, ux=usol), usol, 200)
                return sol, usol

            Wmul = [np.sqrt(s[i] / z[i]) for i in range(4)]  # W of the linear rows

            def kkt(dx_rhs, dz_rhs, ds_rhs):
                """Solve P dx + G'dz = dx_rhs, G dx + ds = dz_rhs,
                lam o (W dz + W^{-1} ds) = ds_rhs.

                Returns dx, dz (list), ds (list)."""
                # v = lam \ ds_rhs (Jordan); Wv = W'(v)
                v = [ds_rhs[i] / lam_lin[i] for i in range(4)]
                Wv = [Wmul[i] * v[i] for i in range(4)]
                if ell:
                    v5 = _soc_sinv(lam5, ds_rhs[4])
                    Wv.append(W5 @ v5)
                    v.append(v5)
                else:
                    Wv.append(np.zeros(0))
                    v.append(np.zeros(0))
                # H^{-1}(-dz_rhs + W'v), H = W'W
                q = [dlin[i] * (Wv[i] - dz_rhs[i]) for i in range(4)]
                q.append(W5i2 @ (Wv[4] - dz_rhs[4]) if ell else np.zeros(0))
                rhs = dx_rhs - G_T(*q)
                dx, udx = Msolve(rhs)
                # backward error of the reduced solve (relative to the sizes of its terms)
                Mdx, scale_ = Mv(dx, parts=True, ux=udx)
                scale_ += np.linalg.norm(rhs)
                kkt_res[0] = max(kkt_res[0], np.linalg.norm(rhs - Mdx) / max(1e-300, scale_))
                gdx = G_x(dx, ux=udx)
                dz = [dlin[i] * gdx[i] + q[i] for i in range(4)]
                dz.append(W5i2 @ gdx[4] + q[4] if ell else np.zeros(0))
                # ds = W'(v - W dz)
                # ds from the primal equation G dx + ds = dz_rhs (exact primal consistency; the
                # cone's W^2 W^{-2} is not the identity in floating point near the optimum)
                ds = [dz_rhs[i] - gdx[i] for i in range(5)]
                return dx, dz, ds

            lam_sq = [lam_lin[i] ** 2 for i in range(4)]
            lam_sq.append(_soc_prod(lam5, lam5) if ell else np.zeros(0))
            mu = gap / m_deg

            def max_step(ds, dz):
                alpha = np.inf
                for i in range(4):
                    alpha = min(alpha, _lin_step(s[i], ds[i]), _lin_step(z[i], dz[i]))
                if ell:
                    alpha = min(
                        alpha,
                        _soc_step(s[4], ds[4], _jdot(s[4], s[4])),
                        _soc_step(z[4], dz[4], _jdot(z[4], z[4])),
                    )
                return alpha

            # predictor
            dx_a, dz_a, ds_a = kkt(-rx, [-rr for rr in rz], [-ls for ls in lam_sq])
            alpha_a = min(1.0, max_step(ds_a, dz_a))
            sigma = (1.0 - alpha_a) ** 3
            # corrector: (W^{-1} ds_a) o (W dz_a)
            corr = []
            for i in range(4):
                corr.append((ds_a[i] / Wmul[i]) * (Wmul[i] * dz_a[i]))
            if ell:
                corr.append(_soc_prod(W5i @ ds_a[4], W5 @ dz_a[4]))
            else:
                corr.append(np.zeros(0))
            e_vec = [np.ones(n), np.ones(n), np.ones(K), np.ones(p)]
            e_vec.append(np.r_[1.0, np.zeros(r)] if ell else np.zeros(0))
            ds_rhs = [-lam_sq[i] - corr[i] + sigma * mu * e_vec[i] for i in range(5)]
            dx, dz, ds = kkt(-rx, [-rr for rr in rz], ds_rhs)
            alpha = min(1.0, 0.99 * max_step(ds, dz))
            x = x + alpha * dx
            if ell:
                sJs, zJz, sz = cone_q
                cone_q = (
                    sJs + alpha * (2.0 * _jdot(s[4], ds[4]) + alpha * _jdot(ds[4], ds[4])),
                    zJz + alpha * (2.0 * _jdot(z[4], dz[4]) + alpha * _jdot(dz[4], dz[4])),
                    sz + alpha * (s[4] @ dz[4] + ds[4] @ z[4] + alpha * (ds[4] @ dz[4])),
                )
            s = [s[i] + alpha * ds[i] for i in range(5)]
            z = [z[i] + alpha * dz[i] for i in range(5)]
        except (LowRankIPMError, np.linalg.LinAlgError, FloatingPointError, ValueError):
            # a Newton step failed (a cone iterate at the boundary, a block that lost
            # definiteness in floating point): the best iterate if its certificate meets
            # the acceptable tolerance
            if cert <= acceptable:
                break
            raise
    info["cg_solves"] = cg_count[0]
    info["cg_iterations"] = cg_iters[0]
    return best, info
