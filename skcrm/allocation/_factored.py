"""A factored interior-point method for the large ellipsoidal (SOCP) and mean-variance (QP)
allocation models; the covariance ``F.T @ F`` is never formed.

    ellipsoidal:    max v'x - theta ||F x||_2       mean_variance:  max v'x - lambda ||F x||^2
    s.t.  lb <= x <= ub,  sum_m x_km <= N_k,  G x <= h   (budget, campaign budgets, capacities)

The primal-dual interior-point method of Boyd & Vandenberghe (2004, algorithm 11.2) on the
constraints written as smooth convex ``f_i(z) <= 0``; the ellipsoid ``||F x|| <= s`` is the
quadratic-over-linear constraint ``||F x||^2 / s - s <= 0`` (with ``s > 0``). The Newton
matrix of a step is a block-diagonal part (the bounds and the segment rows: one M x M block
per segment, inverted by Sherman-Morrison) plus a low-rank part ``U C U'`` with
``U = [F' G' e_s]`` (rank r + a few), solved with the Woodbury identity. A step costs
O(n (r + p)^2) flops and O(n (r + p)) memory for n = K M variables: no (n, n) covariance and
no sparse factorisation whose fill grows with n r (what made the conic solver slow).
"""

from __future__ import annotations

import numpy as np

__all__ = ["FactoredProblemError", "solve_factored"]
_DEBUG = False


class FactoredProblemError(ValueError):
    """No strictly feasible interior point (the caller falls back to the cvxpy path)."""


def solve_factored(
    value,
    F,
    K,
    M,
    *,
    sizes,
    lb,
    ub,
    G,
    h,
    theta=None,
    risk_aversion=None,
    tol=1e-9,
    max_iter=200,
):
    """Maximise ``value @ x - theta ||F x||`` (or ``- risk_aversion ||F x||^2``) on the set.

    Parameters
    ----------
    value : ndarray of shape (n,)
        Linear objective, ``n = K * M`` (C order, segment first).
    F : ndarray of shape (r, n)
        Covariance factor.
    K : int
        Number of segments.
    M : int
        Number of campaigns.
    sizes : ndarray of shape (K,)
        Segment sizes N_k (rows ``sum_m x_km <= N_k``).
    lb : ndarray of shape (n,)
        Cell lower bounds.
    ub : ndarray of shape (n,)
        Cell upper bounds.
    G : ndarray of shape (p, n)
        Other packing rows (budget, campaign budgets, capacities).
    h : ndarray of shape (p,)
        Their right-hand sides.
    theta : float, optional
        Ellipsoid radius (the ellipsoidal model).
    risk_aversion : float, optional
        lambda (the mean-variance model).
    tol : float, default=1e-9
        Relative tolerance of the duality gap and of the dual residual.
    max_iter : int, default=200
        Most primal-dual iterations.

    Returns
    -------
    x : ndarray of shape (n,)
        The optimal allocation (strictly interior; polish it onto the faces).
    info : dict
        ``iterations``, ``gap`` and ``status`` ("optimal" or "inaccurate").

    Raises
    ------
    FactoredProblemError
        No strictly feasible point (a zero budget or segment size, ``lb >= ub``).
    """
    v = np.asarray(value, dtype=float)
    n = v.size
    F = np.ascontiguousarray(F, dtype=float)
    r = F.shape[0]
    ell = theta is not None
    lam_mv = 0.0 if ell else float(risk_aversion)
    G = np.asarray(G, dtype=float).reshape(-1, n)
    h = np.asarray(h, dtype=float).reshape(-1)
    p = G.shape[0]
    N = np.asarray(sizes, dtype=float)
    width = ub - lb

    # ---- a strictly feasible start: lb + beta (ub - lb) with beta small enough for every row
    if np.any(width <= 0):
        raise FactoredProblemError("a cell has lb >= ub")
    room_seg = N - lb.reshape(K, M).sum(axis=1)
    seg_w = width.reshape(K, M).sum(axis=1)
    room_g = h - G @ lb
    row_w = G @ width
    if np.any(room_seg <= 0) or np.any(room_g <= 0):
        raise FactoredProblemError("a packing row has no room above the lower bounds")
    beta = 0.5
    with np.errstate(divide="ignore", invalid="ignore"):
        beta = min(beta, 0.5 * float(np.min(np.where(seg_w > 0, room_seg / seg_w, np.inf))))
        if p:
            beta = min(beta, 0.5 * float(np.min(np.where(row_w > 0, room_g / row_w, np.inf))))
    x = lb + beta * width
    y = F @ x
    s = 2.0 * float(np.linalg.norm(y)) + 1e-8 * (1.0 + float(np.abs(F).sum())) if ell else 0.0

    def constraints(x_, y_, s_):
        """Values f_i < 0 of every constraint block."""
        f = {
            "lo": lb - x_,
            "up": x_ - ub,
            "seg": x_.reshape(K, M).sum(axis=1) - N,
            "g": G @ x_ - h,
        }
        if ell:
            f["s0"] = np.array([-s_])
        return f

    def soc_ok(y_, s_):
        return (not ell) or (s_ > 0 and s_ * s_ - y_ @ y_ > 0)

    f = constraints(x, y, s)
    names = list(f)
    m = sum(f[k].size for k in names)
    # initial duals: lambda_i = 1 / (-f_i) scaled to the objective's magnitude
    scale = max(float(np.abs(v).max()), 1e-300)
    lam = {k: scale * float(np.mean(width)) / np.maximum(-f[k], 1e-300) for k in names}
    mu = 10.0
    status = "inaccurate"

    def grad_f0(y_):
        gx = -v.copy()
        if not ell and lam_mv:
            gx += F.T @ (2.0 * lam_mv * y_)
        return gx, (theta if ell else 0.0)

    def soc_grad(y_, s_):
        # the barrier -log(s^2 - ||y||^2) of the cone ||y|| <= s: d/dy, d/ds
        g_ = s_ * s_ - y_ @ y_
        return 2.0 * y_ / g_, -2.0 * s_ / g_

    def dual_residual(x_, y_, s_, lam_, t_):
        gx, gs = grad_f0(y_)
        gx = gx - lam_["lo"] + lam_["up"] + np.repeat(lam_["seg"], M)
        if p:
            gx = gx + G.T @ lam_["g"]
        if ell:  # the cone by its barrier (weight 1/t), the bounds by their duals
            gy, gss = soc_grad(y_, s_)
            gx = gx + F.T @ (gy / t_)
            gs = gs - lam_["s0"][0] + gss / t_
        return gx, gs

    def residual_norm(x_, y_, s_, lam_, f_, t_):
        gx, gs = dual_residual(x_, y_, s_, lam_, t_)
        cent = np.concatenate([-lam_[k] * f_[k] - 1.0 / t_ for k in names])
        return float(np.sqrt(gx @ gx + gs * gs + cent @ cent))

    for it in range(1, max_iter + 1):
        eta = float(sum(-(f[k] @ lam[k]) for k in names))
        t = mu * m / eta
        if ell:
            eta += 2.0 / t  # the cone's barrier parameter
        gx, gs = dual_residual(x, y, s, lam, t)
        obj = v @ x - (theta * s if ell else lam_mv * (y @ y))
        scale_obj = max(1.0, abs(obj))
        if eta <= tol * scale_obj and np.sqrt(gx @ gx + gs * gs) <= 1e-7 * (
            1.0 + float(np.abs(v).max()) * np.sqrt(n)
        ):
            status = "optimal"
            break
        # ---- Newton matrix: H0 (block diagonal) + U C U'
        w_lo, w_up = lam["lo"] / -f["lo"], lam["up"] / -f["up"]
        d = w_lo + w_up
        sig = lam["seg"] / -f["seg"]
        dinv = (1.0 / d).reshape(K, M)
        coef = sig / (1.0 + sig * dinv.sum(axis=1))
        # right-hand side: -grad f0 - (1/t) sum grad f_i / (-f_i)
        rx = -grad_f0(y)[0] - (1.0 / t) * (
            -1.0 / -f["lo"] + 1.0 / -f["up"] + np.repeat(1.0 / -f["seg"], M)
        )
        if p:
            rx = rx - (1.0 / t) * (G.T @ (1.0 / -f["g"]))
        blocks_U = [F.T]
        if ell:
            gy, gss = soc_grad(y, s)
            gcone = s * s - y @ y
            # (y, s) block: (1/t) Hess of -log(s^2 - ||y||^2)
            Cys = np.zeros((r + 1, r + 1))
            Cys[:r, :r] = (2.0 / gcone) * np.eye(r)
            Cys[r, r] = -2.0 / gcone
            dg = np.r_[-2.0 * y, 2.0 * s]
            Cys = (Cys + np.outer(dg, dg) / gcone**2) / t
            rx = rx - (1.0 / t) * (F.T @ gy)
            rs = -theta - (1.0 / t) * (-1.0 / s + gss)
            d_s = lam["s0"][0] / s
            C_blocks = [Cys]
        else:
            C_blocks = [2.0 * lam_mv * np.eye(r)]
        if p:
            blocks_U.append(G.T)
            C_blocks.append(np.diag(lam["g"] / -f["g"]))
        q = sum(c.shape[0] for c in C_blocks)
        C = np.zeros((q, q))
        o = 0
        for c in C_blocks:
            C[o : o + c.shape[0], o : o + c.shape[0]] = c
            o += c.shape[0]
        # U has rows x (n) and, for ellipsoidal, s; columns F' | e_s | G'
        Ux = np.hstack(
            [F.T, np.zeros((n, 1)), G.T] if ell else [F.T, G.T] if p else [F.T]
        )
        Us = None
        if ell:
            Us = np.zeros(q)
            Us[r] = 1.0

        def h0_solve(Bx, Bs=None, dinv=dinv, coef=coef, d_s=(d_s if ell else None)):
            B3 = Bx.reshape(K, M, -1)
            DB = dinv[:, :, None] * B3
            out = DB - dinv[:, :, None] * (coef[:, None] * DB.sum(axis=1))[:, None, :]
            return out.reshape(Bx.shape), (None if Bs is None else Bs / d_s)

        Wx, Ws = h0_solve(Ux, Us[None, :] if ell else None)
        UtW = Ux.T @ Wx + (np.outer(Us, Ws[0]) if ell else 0.0)
        S_mat = np.eye(q) + C @ UtW

        def h_solve(bx, bs):
            hx, hs = h0_solve(bx[:, None], None if bs is None else np.array([[bs]]))
            hx = hx[:, 0]
            utb = Wx.T @ bx + (Ws[0] * bs if ell else 0.0)
            corr = np.linalg.solve(S_mat, C @ utb)
            dx_ = hx - Wx @ corr
            ds_ = (hs[0, 0] - Ws[0] @ corr) if ell else 0.0
            return dx_, ds_

        def h_mul(zx, zs):
            # the Newton matrix times (zx, zs), exactly (no inverse): the refinement's residual
            hx = d * zx + np.repeat(sig * zx.reshape(K, M).sum(axis=1), M)
            uz = Ux.T @ zx + (Us * zs if ell else 0.0)
            cu = C @ uz
            hx = hx + Ux @ cu
            hs = (d_s * zs + Us @ cu) if ell else 0.0
            return hx, hs

        # preconditioned conjugate gradients on the exact Newton matrix, preconditioned by
        # its Woodbury inverse (exact in exact arithmetic; rounding grows as H0 degenerates)
        bnorm = np.sqrt(rx @ rx + (rs * rs if ell else 0.0))
        dx, ds = np.zeros(n), 0.0
        ex, es = rx.copy(), (rs if ell else 0.0)
        zx, zs = h_solve(ex, es if ell else None)
        px, ps = zx.copy(), zs
        rz = ex @ zx + es * zs
        err = bnorm
        for _ in range(30):
            qx, qs = h_mul(px, ps)
            pq = px @ qx + ps * qs
            if pq <= 0:
                break
            step_cg = rz / pq
            dx, ds = dx + step_cg * px, ds + step_cg * ps
            ex, es = ex - step_cg * qx, es - step_cg * qs
            err = np.sqrt(ex @ ex + es * es)
            if err <= 1e-12 * bnorm:
                break
            zx, zs = h_solve(ex, es if ell else None)
            rz_new = ex @ zx + es * zs
            px, ps = zx + (rz_new / rz) * px, zs + (rz_new / rz) * ps
            rz = rz_new
        if _DEBUG:
            print("linsolve rel res", err / bnorm)
        dy = F @ dx
        # dual steps
        dlam = {
            "lo": (lam["lo"] * f["lo"] + 1.0 / t + lam["lo"] * (-dx)) / -f["lo"],
            "up": (lam["up"] * f["up"] + 1.0 / t + lam["up"] * dx) / -f["up"],
            "seg": (
                lam["seg"] * f["seg"] + 1.0 / t + lam["seg"] * dx.reshape(K, M).sum(axis=1)
            )
            / -f["seg"],
            "g": (lam["g"] * f["g"] + 1.0 / t + lam["g"] * (G @ dx)) / -f["g"],
        }
        if ell:
            dlam["s0"] = (lam["s0"] * f["s0"] + 1.0 / t + lam["s0"] * (-ds)) / -f["s0"]
        smax = 1.0
        for k in names:
            neg = dlam[k] < 0
            if neg.any():
                smax = min(smax, float(np.min(-lam[k][neg] / dlam[k][neg])))
        # largest primal step: linear rows exactly, the cone by the root of a quadratic
        pmax = 1.0
        lin_dir = {
            "lo": -dx, "up": dx, "seg": dx.reshape(K, M).sum(axis=1), "g": G @ dx,
        }  # fmt: skip
        if ell:
            lin_dir["s0"] = np.array([-ds])
        for k in names:
            pos = lin_dir[k] > 0
            if pos.any():
                pmax = min(pmax, float(np.min(-f[k][pos] / lin_dir[k][pos])))
        if ell:  # (s + a ds)^2 - ||y + a dy||^2 > 0
            qa = ds * ds - dy @ dy
            qb = 2.0 * (s * ds - y @ dy)
            qc = s * s - y @ y
            roots = np.roots([qa, qb, qc]) if abs(qa) > 1e-300 else np.array([-qc / qb])
            roots = np.real(roots[np.abs(np.imag(roots)) <= 1e-12 * np.abs(roots)])
            roots = roots[roots > 0]
            if roots.size:
                pmax = min(pmax, float(roots.min()))
        step = 0.99 * min(smax, pmax)
        r0 = residual_norm(x, y, s, lam, f, t)
        while True:
            xn, yn, sn = x + step * dx, y + step * dy, s + step * ds
            fn = constraints(xn, yn, sn)
            if all(np.all(fn[k] < 0) for k in names) and soc_ok(yn, sn):
                lamn = {k: lam[k] + step * dlam[k] for k in names}
                if not ell or residual_norm(xn, yn, sn, lamn, fn, t) <= (1 - 0.01 * step) * r0:
                    break
            step *= 0.5
            if step < 1e-14:
                break
        if _DEBUG:
            print(it, f"eta={eta:.3e} t={t:.3e} smax={smax:.3e} step={step:.3e} r0={r0:.3e}")
        if step < 1e-14:  # rounding limits the Newton direction: stop at this iterate
            if eta <= 1e-6 * scale_obj:
                status = "optimal"
            break
        x, y, s, f, lam = xn, yn, sn, fn, lamn
    return x, {"iterations": it, "gap": eta, "status": status}
