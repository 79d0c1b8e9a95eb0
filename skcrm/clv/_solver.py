"""Maximum likelihood for the attribute BG/NBD: objective, exact gradient, Hessian.

The data are per-customer arrays plus a flat array of the jobs whose multiplier carries
coefficients (no padding to the longest history). Cumulative multipliers are segment sums
(``np.bincount``) and the coefficient gradient is one ``F.T @ omega`` (spec 2.5). Pure numpy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from ._likelihood import log_likelihood_grad

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
        )


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
    """
    r, alpha, d1, d2, coef = unpack(theta)
    U, V, q = cumulative_multipliers(H, coef)
    ll, dr, da, dd1, dd2, dU, dV = log_likelihood_grad(
        H.n, H.R, H.A, U, V, r, alpha, d1, d2, mixing
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
    f = -(w @ ll) / total
    g = -grad / total
    if penalizer > 0:
        mask = np.ones_like(theta) if penalty_mask is None else penalty_mask
        f = f + penalizer * np.sum(mask * theta**2)
        g = g + 2 * penalizer * mask * theta
    if not np.isfinite(f):
        f = np.inf
    return f, g


def fit_mle(theta0, H: Histories, mixing, penalizer=0.0, max_iter=1000, gtol=1e-8, bounds=None):
    """Minimise :func:`objective` with scipy's L-BFGS-B using the exact gradient."""
    return minimize(
        objective,
        theta0,
        args=(H, mixing, penalizer),
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": max_iter, "gtol": gtol, "ftol": 1e-15, "maxcor": 20},
    )


def hessian(theta, H: Histories, mixing, penalizer=0.0, eps=1e-5):
    """Hessian of the negative total log-likelihood by central differences of the exact gradient."""
    p = theta.size
    total = H.weight.sum()
    out = np.empty((p, p))
    for i in range(p):
        h = eps * max(1.0, abs(theta[i]))
        tp, tm = theta.copy(), theta.copy()
        tp[i] += h
        tm[i] -= h
        gp = objective(tp, H, mixing, penalizer)[1]
        gm = objective(tm, H, mixing, penalizer)[1]
        out[:, i] = (gp - gm) * total / (2 * h)
    return 0.5 * (out + out.T)
