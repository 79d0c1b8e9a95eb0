"""Maximum likelihood for the attribute BG/NBD: objective, exact gradient, Hessian.

The data are per-customer arrays plus a flat array of the jobs whose multiplier carries
coefficients (no padding to the longest history). Cumulative multipliers are segment sums
(``np.bincount``) and the coefficient gradient is one ``F.T @ omega`` (Eq. 3). Pure numpy.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import digamma, gammaln

from ._likelihood import log_likelihood, log_likelihood_grad, log_survival, log_survival_grad

__all__ = ["Histories", "cumulative_multipliers", "objective", "fit_mle", "hessian"]


@dataclass
class Histories:
    """Sufficient statistics of the customers' histories.

    Attributes
    ----------
    n, R, A : ndarray (n_customers,)
        Repeat transactions, recency t_x - t_1 and age T - t_1.
    weight : ndarray (n_customers,)
        Customer weights (counts of identical rows).
    U0, V0 : ndarray (n_customers,)
        Parts of B_{x-1}, B_x from jobs whose multiplier is fixed at 1.
    job_customer : ndarray of int (n_jobs,)
        Customer of each coefficient-carrying job.
    job_F : ndarray (n_jobs, n_coef)
        Design row z_k of each such job.
    job_last : ndarray of bool (n_jobs,)
        Whether the job is the customer's last (it enters B_x but not B_{x-1}).
    """

    n: np.ndarray
    R: np.ndarray
    A: np.ndarray
    weight: np.ndarray
    U0: np.ndarray
    V0: np.ndarray
    job_customer: np.ndarray
    job_F: np.ndarray
    job_last: np.ndarray
    starts: np.ndarray | None = None
    unique: tuple | None = None

    def __sizeof__(self) -> int:
        """Bytes held, arrays included (what Dask's memory accounting of a shard reads)."""
        arrays = [getattr(self, f.name) for f in dataclasses.fields(self)]
        arrays += list(self.unique or ())
        return object.__sizeof__(self) + sum(a.nbytes for a in arrays if isinstance(a, np.ndarray))

    def subset(self, idx) -> Histories:
        """The histories of the customers ``idx`` (sorted), jobs included."""
        m = self.n.size
        keep = np.zeros(m, dtype=bool)
        keep[idx] = True
        code = np.cumsum(keep) - 1
        jobs = keep[self.job_customer]
        return Histories(
            self.n[keep],
            self.R[keep],
            self.A[keep],
            self.weight[keep],
            self.U0[keep],
            self.V0[keep],
            code[self.job_customer[jobs]],
            self.job_F[jobs],
            self.job_last[jobs],
        )

    def compress(self) -> Histories:
        """Group customers by history length when no job carries a coefficient (classic models).

        U and V are then fixed functions of n: customers are sorted by n, and the special
        functions of n, U and V are evaluated once per distinct n (:func:`_classic_objective`).
        """
        if self.n_coef or self.unique is not None:
            return self
        U, V, _ = cumulative_multipliers(self, np.empty(0))
        order = np.argsort(self.n, kind="stable")
        n = self.n[order]
        starts = np.flatnonzero(np.r_[True, n[1:] != n[:-1]])
        keys = n[starts]
        if not (
            np.array_equal(U[order], np.repeat(U[order][starts], np.diff(np.r_[starts, n.size])))
            and np.array_equal(
                V[order], np.repeat(V[order][starts], np.diff(np.r_[starts, n.size]))
            )
        ):
            return self
        return Histories(
            n,
            self.R[order],
            self.A[order],
            self.weight[order],
            U[order],
            V[order],
            self.job_customer[:0],
            self.job_F[:0],
            self.job_last[:0],
            starts,
            (keys, U[order][starts], V[order][starts], bool(np.all(self.weight == 1.0))),
        )

    @property
    def n_coef(self) -> int:
        return self.job_F.shape[1]

    def scaled(self, c: float) -> Histories:
        """The same histories with time multiplied by c (alpha scales by c, theta does not)."""
        return Histories(
            self.n,
            self.R * c,
            self.A * c,
            self.weight,
            self.U0,
            self.V0,
            self.job_customer,
            self.job_F,
            self.job_last,
            self.starts,
            self.unique,
        )


def is_sharded(H) -> bool:
    """Whether ``H`` is split over Dask partitions (:mod:`skcrm.clv._dask`)."""
    return hasattr(H, "shards")


def total_weight(H) -> float:
    """Total customer weight of in-memory or sharded histories."""
    return float(H.weight_sum if is_sharded(H) else H.weight.sum())


def cumulative_multipliers(H: Histories, coef):
    """U = B_{x-1}, V = B_x per customer and q_k per job, with q_k = exp(coef' z_k) (Eq. 2).

    Examples
    --------
    >>> H = Histories(np.array([1.0]), np.array([1.0]), np.array([2.0]), np.ones(1),
    ...               np.zeros(1), np.zeros(1), np.array([0, 0]),
    ...               np.array([[0.0], [1.0]]), np.array([False, True]))
    >>> U, V, q = cumulative_multipliers(H, np.array([np.log(2.0)]))
    >>> float(U[0]), float(V[0])
    (1.0, 3.0)
    """
    m = H.n.size
    if H.job_F.shape[0] == 0:
        return H.U0, H.V0, np.empty(0)
    q = np.exp(np.clip(H.job_F @ coef, -700.0, 700.0))
    U = H.U0 + np.bincount(H.job_customer, weights=q * ~H.job_last, minlength=m)
    V = H.V0 + np.bincount(H.job_customer, weights=q, minlength=m)
    return U, V, q


def unpack(theta):
    """(r, alpha, d1, d2, coef) from the optimisation vector (logs of the positive ones)."""
    r, alpha, d1, d2 = np.exp(theta[:4])
    return r, alpha, d1, d2, theta[4:]


def objective(theta, H: Histories, mixing: str, penalizer: float = 0.0, penalty_mask=None):
    """Negative weighted mean log-likelihood (Eq. 3) plus L2 penalty, and its exact gradient.

    The gradient is with respect to ``theta = (ln r, ln alpha, ln d1, ln d2, coef)``.
    Histories sharded over Dask partitions (:class:`skcrm.clv._dask.ShardedHistories`)
    sum the same per-customer terms on their workers.
    """
    if is_sharded(H):
        return H.objective(theta, mixing, penalizer, penalty_mask)
    if H.unique is not None:
        f, g = _classic_objective(theta, H, mixing)
        return _penalise(f, g, theta, penalizer, penalty_mask)
    r, alpha, d1, d2, coef = unpack(theta)
    U, V, q = cumulative_multipliers(H, coef)
    ll, dr, da, dd1, dd2, dU, dV = log_likelihood_grad(
        H.n, H.R, H.A, U, V, r, alpha, d1, d2, mixing, multiplier_grad=theta.size > 4
    )
    w = H.weight
    total = w.sum()
    grad = np.empty_like(theta)
    grad[0] = r * (w @ dr)
    grad[1] = alpha * (w @ da)
    grad[2] = d1 * (w @ dd1)
    grad[3] = d2 * (w @ dd2)
    if theta.size > 4:
        c = H.job_customer
        omega = (dU[c] * ~H.job_last + dV[c]) * w[c] * q
        grad[4:] = H.job_F.T @ omega
    return _penalise(-(w @ ll) / total, -grad / total, theta, penalizer, penalty_mask)


def total_log_likelihood(theta, H: Histories, mixing):
    """Weighted sum of Eq. (3) over customers (the classic path for compressed histories)."""
    if is_sharded(H):
        return H.total_log_likelihood(theta, mixing)
    if H.unique is not None:
        return float(-_classic_objective(theta, H, mixing)[0] * H.weight.sum())
    r, alpha, d1, d2, coef = unpack(theta)
    U, V, _ = cumulative_multipliers(H, coef)
    return float(H.weight @ log_likelihood(H.n, H.R, H.A, U, V, r, alpha, d1, d2, mixing))


def _penalise(f, g, theta, penalizer, penalty_mask):
    if penalizer > 0:
        mask = np.ones_like(theta) if penalty_mask is None else penalty_mask
        f = f + penalizer * np.sum(mask * theta**2)
        g = g + 2 * penalizer * mask * theta
    if not np.isfinite(f):
        f = np.inf
    return f, g


def _classic_objective(theta, H: Histories, mixing):
    """:func:`objective` without coefficients, for histories grouped by n (``compress``).

    Terms of n, U and V are evaluated per distinct n and enter through segment sums
    (``np.add.reduceat``); only rho and r + n are expanded to customers. Same Eq. (3) and
    gradient as :func:`log_likelihood_grad` (Eq. 3). Unit weights (no compressed duplicates)
    skip the weight products, and ``alpha + R``, ``alpha + A`` are formed once.
    """
    r, alpha, d1, d2 = np.exp(theta[:4])
    n_u, U_u, V_u, unit = H.unique
    counts = np.diff(np.r_[H.starts, H.n.size])
    wt = H.weight
    W_u = counts.astype(float) if unit else np.add.reduceat(wt, H.starts)
    total = W_u.sum()

    def seg(x):
        return np.add.reduceat(x, H.starts)

    def wseg(x):  # segment sums of weight * x (unit weights: of x; the same values)
        return seg(x) if unit else seg(wt * x)

    rn_u = r + n_u
    lg_u = gammaln(rn_u) - gammaln(r)
    dg_u = digamma(rn_u) - digamma(r)
    lSU = log_survival(U_u, d1, d2, mixing)
    lrho_u = np.minimum(log_survival(V_u, d1, d2, mixing) - lSU, 0.0)
    gU1, gU2, _ = log_survival_grad(U_u, d1, d2, mixing)
    gV1, gV2, _ = log_survival_grad(V_u, d1, d2, mixing)
    rn = np.repeat(rn_u, counts)
    rho = np.repeat(np.exp(lrho_u), counts)
    omr = np.repeat(-np.expm1(lrho_u), counts)
    aR = alpha + H.R
    iA = alpha + H.A
    lnaR = np.log(aR)
    dl = np.log(iA)
    np.subtract(lnaR, dl, out=dl)
    lw = rn * dl
    w = np.exp(lw)
    rw = np.multiply(rho, w, out=w)
    D = omr + rw
    if D.min() > 1e-290:  # (False for NaN)
        lD = np.log(D)
        k_w = rw / D
        k_rho = np.subtract(rw, rho, out=rho)
        k_rho /= D
    else:
        with np.errstate(divide="ignore"):
            lD = np.log(D)
        tiny = ~(D > 1e-290)
        k_w = rw / np.where(tiny, 1.0, D)
        k_rho = (rw - rho) / np.where(tiny, 1.0, D)
        # both terms of D vanish: log-space forms of Eq. (3)
        lr = np.repeat(lrho_u, counts)[tiny]
        l1 = np.log(np.repeat(np.where(lrho_u < 0, -np.expm1(lrho_u), 0.0), counts)[tiny])
        lD[tiny] = np.logaddexp(l1, lr + lw[tiny])
        k_w[tiny] = np.exp(lr + lw[tiny] - lD[tiny])
        k_rho[tiny] = -np.exp(lr + np.log(-np.expm1(lw[tiny])) - lD[tiny])
    iR = np.divide(1.0, aR, out=aR)
    np.divide(1.0, iA, out=iA)
    iRA = np.subtract(iR, iA, out=iA)
    rn_lnaR = rn_u @ wseg(lnaR)
    rn_iR = rn_u @ wseg(iR)
    rn_kw_iRA = rn_u @ wseg(np.multiply(k_w, iRA, out=iRA))
    wk = k_rho if unit else wt * k_rho
    ll = W_u @ (lg_u + lSU) + r * np.log(alpha) * total - rn_lnaR + wt @ lD
    seg_wk = seg(wk)
    grad = np.array(
        [
            r * (W_u @ dg_u + np.log(alpha) * total - wt @ lnaR + wt @ (k_w * dl)),
            alpha * (r / alpha * total - rn_iR + rn_kw_iRA),
            d1 * (W_u @ gU1 + (gV1 - gU1) @ seg_wk),
            d2 * (W_u @ gU2 + (gV2 - gU2) @ seg_wk),
        ]
    )
    return -ll / total, -grad / total


def fit_mle(
    theta0,
    H: Histories,
    mixing,
    penalizer=0.0,
    max_iter=1000,
    tol=1e-8,
    bounds=None,
    hess_inv0=None,
    callback=None,
    penalty_mask=None,
):
    """Minimise :func:`objective` with the exact gradient: scipy's L-BFGS-B, or BFGS started
    from the inverse Hessian ``hess_inv0`` (of a subsample fit) when one is given.
    ``penalty_mask`` weights the L2 penalty per parameter (MAP with Gaussian priors)."""
    if hess_inv0 is not None:
        return minimize(
            objective,
            theta0,
            args=(H, mixing, penalizer, penalty_mask),
            jac=True,
            method="BFGS",
            callback=callback,
            options={"maxiter": max_iter, "gtol": tol, "hess_inv0": hess_inv0},
        )
    return minimize(
        objective,
        theta0,
        args=(H, mixing, penalizer, penalty_mask),
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        callback=callback,
        options={"maxiter": max_iter, "gtol": tol, "ftol": 1e-15, "maxcor": 20},
    )


def hessian(
    theta,
    H: Histories,
    mixing,
    penalizer=0.0,
    eps=1e-5,
    central=True,
    penalty_mask=None,
    g0=None,
):
    """Hessian of the negative total log-likelihood by differences of the exact gradient.

    Central differences by default; ``central=False`` (forward differences, half the
    gradient evaluations, error O(eps)) is used for very large data sets, with ``g0`` the
    gradient of :func:`objective` at ``theta`` when the caller has it (the optimizer's).
    """
    p = theta.size
    total = total_weight(H)
    out = np.empty((p, p))
    if not central and g0 is None:
        g0 = objective(theta, H, mixing, penalizer, penalty_mask)[1]
    for i in range(p):
        h = eps * max(1.0, abs(theta[i]))
        tp, tm = theta.copy(), theta.copy()
        tp[i] += h
        tm[i] -= h
        gp = objective(tp, H, mixing, penalizer, penalty_mask)[1]
        if central:
            gm = objective(tm, H, mixing, penalizer, penalty_mask)[1]
            out[:, i] = (gp - gm) * total / (2 * h)
        else:
            out[:, i] = (gp - g0) * total / h
    return 0.5 * (out + out.T)
