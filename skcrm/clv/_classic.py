"""Pareto/NBD, the Gamma-Gamma spend model and customer lifetime value in money.

- :class:`ParetoNBD`: Schmittlein, Morrison & Colombo (1987), with the log-likelihood of
  Fader, Hardie & Lee (2005, "A note on deriving the Pareto/NBD model and related
  expressions") evaluated in log space.
- :class:`GammaGammaSpend`: Fader, Hardie & Lee (2005, "RFM and CLV: using iso-value curves
  for customer base analysis"), the gamma-gamma model of average spend.
- :func:`customer_lifetime_value`: discounted expected margin of a transaction model and a
  spend model.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import pandas as pd
from scipy import optimize
from scipy.special import digamma, gammaln, hyp2f1
from sklearn.base import BaseEstimator, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted, validate_data

from ..utils._dask import dask_dispatch, dask_map_method, is_dask_frame
from ._uncertainty import interval_frame, normal_draws, with_theta
from ._warn import warn

__all__ = ["GammaGammaSpend", "ParetoNBD", "customer_lifetime_value"]


# ---------------------------------------------------------------------------- Pareto/NBD math
def _pnbd_log_A0(r, alpha, s, beta, x, R, T):
    """ln of (r+s+x) times the integral term A_0 of the Pareto/NBD likelihood (FHL 2005 note).

    ``A_0 = 2F1(r+s+x, t'; r+s+x+1; |a-b|/(max+R)) / (max+R)^(r+s+x) - (same at T)`` with
    (max, t') = (alpha, s+1) when alpha >= beta, else (beta, r+x); the difference is taken in
    log space (``ln(e^u - e^v) = u + ln(1 - e^(v-u))``). Zero (``-inf``) when R = T.
    """
    if alpha >= beta:
        big, small, t2 = alpha, beta, np.full_like(x, s + 1.0)
    else:
        big, small, t2 = beta, alpha, r + x
    rsx = r + s + x
    qR, qT = big + R, big + T
    with np.errstate(all="ignore"):
        u = np.log(hyp2f1(rsx, t2, rsx + 1.0, (big - small) / qR)) - rsx * np.log(qR)
        v = np.log(hyp2f1(rsx, t2, rsx + 1.0, (big - small) / qT)) - rsx * np.log(qT)
        d = np.minimum(v - u, 0.0)
        out = u + np.where(d < -0.693, np.log1p(-np.exp(d)), np.log(-np.expm1(d)))
    return np.where(R >= T, -np.inf, out)


def _pnbd_pieces(params, x, R, T):
    r, alpha, s, beta = params
    log_A0 = _pnbd_log_A0(r, alpha, s, beta, x, R, T)
    rsx = r + s + x
    alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    with np.errstate(divide="ignore"):
        dead = np.log(s) + log_A0 - np.log(rsx)
    return alive, np.logaddexp(alive, dead)


def pareto_nbd_log_likelihood(params, x, R, T):
    """Per-customer Pareto/NBD log-likelihood (FHL 2005 note, Eq. 22, in log space).

    Examples
    --------
    >>> ll = pareto_nbd_log_likelihood((0.55, 10.58, 0.61, 11.67), np.array([2.0]),
    ...                                np.array([30.43]), np.array([38.86]))
    >>> round(float(ll[0]), 4)
    -9.562
    """
    r, alpha, s, beta = params
    _, total = _pnbd_pieces(params, x, R, T)
    return gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta) + total


def _rfm_arrays(est, X, *, reset):
    cols = list(est.rfm_cols)
    frame = X[cols] if isinstance(X, pd.DataFrame) else X
    if isinstance(frame, pd.DataFrame):
        frame = frame.set_axis([str(c) for c in frame.columns], axis=1)
    arr = validate_data(est, frame, reset=reset, dtype=np.float64, ensure_min_samples=1)
    if arr.shape[1] != 3:
        raise ValueError(f"X must have the 3 columns {cols}, got {arr.shape[1]}")
    x, R, T = arr.T
    if np.any(x < 0) or np.any(R < 0) or np.any(T < R):
        raise ValueError(
            f"X must satisfy {cols[0]} >= 0 and 0 <= {cols[1]} <= {cols[2]} (lifetimes' RFM "
            "conventions: repeat purchases, last repeat purchase and age since the first)"
        )
    if np.any((x == 0) & (R > 0)):
        raise ValueError(f"rows with {cols[0]} = 0 must have {cols[1]} = 0")
    return x, R, T


def _index_of(X, n, name):
    index = X.index if isinstance(X, pd.DataFrame | pd.Series) else pd.RangeIndex(n)
    if index.name is None:
        index = index.rename(name)
    return index


def _central_grad(f, x, h=1e-6):
    return np.array([(f(x + h * e) - f(x - h * e)) / (2 * h) for e in np.eye(x.size)])


def _fit_log_params(nll, theta0, max_iter, tol, jac=None):
    """Minimise nll over log-parameters with L-BFGS-B. ``jac``: the analytic gradient, else
    central differences (accurate to ~1e-10, so the optimum does not depend on row order).
    Returns (result, Hessian of nll on the log scale)."""
    grad_fn = jac if jac is not None else (lambda th: _central_grad(nll, th))
    res = optimize.minimize(
        nll,
        theta0,
        jac=grad_fn,
        method="L-BFGS-B",
        bounds=[(-15.0, 15.0)] * len(theta0),
        options={"maxiter": max_iter, "gtol": tol, "ftol": 1e-15},
    )
    # L-BFGS-B may stop in the line search at the optimum (rounding): accept a small gradient
    res.success = bool(res.success or np.max(np.abs(grad_fn(res.x))) < 1e-6)
    return res, _num_hessian(nll, res.x)


def _num_hessian(f, x, h=1e-4):
    k = x.size
    H = np.empty((k, k))
    E = np.eye(k) * h
    for i in range(k):
        for j in range(i, k):
            H[i, j] = H[j, i] = (
                f(x + E[i] + E[j]) - f(x + E[i] - E[j]) - f(x - E[i] + E[j]) + f(x - E[i] - E[j])
            ) / (4 * h * h)
    return H


def _covariance(H_log, values, names, who):
    try:
        cov_log = np.linalg.inv(H_log)
        ok = np.all(np.isfinite(cov_log)) and np.all(np.diag(cov_log) > 0)
    except np.linalg.LinAlgError:
        ok = False
    if not ok:
        warn(
            f"{who}: the Hessian of the log-likelihood is singular or not positive definite; "
            "standard errors are NaN (try a small penalizer)",
            ConvergenceWarning,
        )
        cov_log = np.full_like(H_log, np.nan)
    cov = cov_log * np.outer(values, values)
    return cov_log, pd.DataFrame(cov, index=names, columns=names)


class _DrawsMixin:
    """Parameter draws from the asymptotic normal law of the MLE on the log scale."""

    def _set_params_from_theta(self, theta):
        self.params_ = pd.Series(np.exp(theta), index=list(self._names), name="estimate")
        self._theta_ = np.asarray(theta, dtype=float)

    def _draw_thetas(self, n_draws, rng):
        return normal_draws(self._theta_, self._cov_log_, n_draws, rng)


class ParetoNBD(_DrawsMixin, BaseEstimator):
    """Pareto/NBD customer base (Schmittlein, Morrison & Colombo 1987).

    Purchases arrive at rate lambda ~ Gamma(r, rate alpha) while a customer is alive; the
    lifetime is exponential with rate mu ~ Gamma(s, rate beta). Fitted by maximum likelihood on
    a per-customer RFM summary (lifetimes conventions) with the log-space likelihood of Fader,
    Hardie & Lee (2005 note).

    Parameters
    ----------
    rfm_cols : tuple of str, default=("frequency", "recency", "T")
        Columns of the summary: repeat purchases, time of the last repeat purchase since the
        first, and age (time from the first purchase to the observation end).
    horizon : float, default=52.0
        Forecast length used by :meth:`predict`, in the summary's time unit.
    penalizer : float, default=0.0
        L2 penalty on the log-parameters, per customer.
    initial_params : dict, optional
        Starting values ``{"r", "alpha", "s", "beta"}`` (default all 1).
    max_iter : int, default=1000
        Maximum L-BFGS-B iterations.
    tol : float, default=1e-8
        Gradient tolerance of L-BFGS-B.
    n_jobs : int, optional
        Accepted for a uniform API; the fit is a single vectorised likelihood (no loop).
    random_state : int, RandomState or None
        Unused (the fit is deterministic); accepted for a uniform API.
    verbose : int, default=0
        Report the optimiser's result.

    Attributes
    ----------
    params_ : pandas.Series
        r, alpha, s, beta.
    covariance_ : pandas.DataFrame
        Inverse Hessian of the log-likelihood on the natural scale (delta method).
    standard_errors_ : pandas.Series
        Square roots of the diagonal of ``covariance_``.
    log_likelihood_ : float
        Maximised log-likelihood.
    converged_ : bool
        Whether L-BFGS-B reported success.
    n_iter_ : int
        L-BFGS-B iterations.
    n_customers_ : int
        Customers in the fit (sum of sample weights).
    n_features_in_ : int
        3.
    feature_names_in_ : ndarray of str
        Column names of X, when X is a DataFrame.

    References
    ----------
    Schmittlein, D. C., Morrison, D. G., & Colombo, R. (1987). Counting your customers: who
    are they and what will they do next? Management Science, 33(1), 1-24.

    Fader, P. S., Hardie, B. G. S., & Lee, K. L. (2005). A note on deriving the Pareto/NBD
    model and related expressions. http://brucehardie.com/notes/009/

    Examples
    --------
    >>> from skcrm.clv import ParetoNBD
    >>> from skcrm.datasets import load_cdnow
    >>> pnbd = ParetoNBD().fit(load_cdnow("summary"))
    >>> pnbd.params_.round(2).to_dict()  # lifetimes: 0.553, 10.578, 0.606, 11.669
    {'r': 0.55, 'alpha': 10.58, 's': 0.61, 'beta': 11.67}
    """

    _parameter_constraints: dict = {
        "rfm_cols": [list, tuple],
        "horizon": [Interval(Real, 0, None, closed="neither")],
        "penalizer": [Interval(Real, 0, None, closed="left")],
        "initial_params": [dict, None],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="neither")],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }
    _names = ("r", "alpha", "s", "beta")

    def __init__(
        self,
        *,
        rfm_cols=("frequency", "recency", "T"),
        horizon=52.0,
        penalizer=0.0,
        initial_params=None,
        max_iter=1000,
        tol=1e-8,
        n_jobs=None,
        random_state=None,
        verbose=0,
    ):
        self.rfm_cols = rfm_cols
        self.horizon = horizon
        self.penalizer = penalizer
        self.initial_params = initial_params
        self.max_iter = max_iter
        self.tol = tol
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = False
        tags.input_tags.positive_only = True
        return tags

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None):
        """Fit by maximum likelihood.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_customers, 3)
            RFM summary (``rfm_cols``).
        y : None
            Ignored.
        sample_weight : array-like of shape (n_customers,), optional
            Counts of identical rows.

        Returns
        -------
        self : ParetoNBD
            The fitted model.
        """
        x, R, T = _rfm_arrays(self, X, reset=True)
        w = np.ones_like(x) if sample_weight is None else np.asarray(sample_weight, float)
        if w.shape != x.shape or np.any(w < 0):
            raise ValueError("sample_weight must be non-negative with one entry per customer")
        init = dict.fromkeys(self._names, 1.0) | dict(self.initial_params or {})
        bad = set(init) - set(self._names)
        if bad:
            raise ValueError(
                f"initial_params has unknown keys {sorted(bad)}; expected r, alpha, s, beta"
            )
        scale = 10.0 / max(float(T.max()), 1e-12)  # time rescaled to [0, 10]
        xs, Rs, Ts = x, R * scale, T * scale
        theta0 = np.log([init["r"], init["alpha"] * scale, init["s"], init["beta"] * scale])
        total = w.sum()

        def nll(theta):
            ll = pareto_nbd_log_likelihood(np.exp(theta), xs, Rs, Ts)
            if not np.all(np.isfinite(ll)):
                return 1e300
            return -(w @ ll) / total + self.penalizer * np.sum(theta**2)

        res, H = _fit_log_params(nll, theta0, self.max_iter, self.tol)
        theta = res.x.copy()
        theta[[1, 3]] -= np.log(scale)
        values = np.exp(theta)
        self._set_params_from_theta(theta)
        self.converged_ = bool(res.success)
        self.n_iter_ = int(res.nit)
        if not self.converged_:
            warn(
                f"ParetoNBD: L-BFGS-B did not converge ({res.message}); try a larger max_iter "
                "or other initial_params",
                ConvergenceWarning,
            )
        if self.verbose:
            print(f"[ParetoNBD] {res.message} after {res.nit} iterations")
        self.log_likelihood_ = float(w @ pareto_nbd_log_likelihood(values, x, R, T))
        self.n_customers_ = float(total)
        self._cov_log_, self.covariance_ = _covariance(
            H * total, values, list(self._names), "ParetoNBD"
        )
        self.standard_errors_ = pd.Series(
            np.sqrt(np.diag(self.covariance_)), index=list(self._names), name="std_error"
        )
        return self

    # -------------------------------------------------------------- predictions
    def _params(self, params=None):
        return tuple(self.params_.to_numpy() if params is None else params)

    @dask_dispatch()
    def probability_alive(self, X, t=0.0):
        """P(alive at T + t | history) (FHL 2005 note, Eq. 18; ``t`` > 0: still alive at T + t).

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_customers, 3)
            RFM summary.
        t : float or array-like, default=0.0
            Time after the observation end.

        Returns
        -------
        pandas.Series
            Indexed by the customers of X.
        """
        check_is_fitted(self)
        x, R, T = _rfm_arrays(self, X, reset=False)
        out = self._p_alive(self.params_.to_numpy(), x, R, T, t)
        return pd.Series(out, index=_index_of(X, x.size, "customer"), name="probability_alive")

    @staticmethod
    def _p_alive(params, x, R, T, t=0.0):
        r, alpha, s, beta = params
        alive, total = _pnbd_pieces(params, x, R, T)
        later = s * (np.log(beta + T) - np.log(beta + T + np.asarray(t, float)))
        return np.exp(alive - total + later)

    @staticmethod
    def _expected(params, x, R, T, t):
        r, alpha, s, beta = params
        t = np.asarray(t, dtype=float)
        L = np.log1p(t / (beta + T))
        sm1 = s - 1.0
        h = -np.expm1(-sm1 * L) / sm1 if abs(sm1) > 1e-10 else L
        return (r + x) * (beta + T) / (alpha + T) * h * ParetoNBD._p_alive(params, x, R, T)

    @dask_dispatch()
    def conditional_expected_transactions(self, X, t):
        """E[X(T, T + t] | history] (FHL 2005 note, Eq. 21), closed form at every horizon.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_customers, 3)
            RFM summary.
        t : float or array-like
            Forecast length.

        Returns
        -------
        pandas.Series
            Indexed by the customers of X.
        """
        check_is_fitted(self)
        x, R, T = _rfm_arrays(self, X, reset=False)
        out = self._expected(self.params_.to_numpy(), x, R, T, t)
        return pd.Series(out, index=_index_of(X, x.size, "customer"), name="expected_transactions")

    @dask_dispatch()
    def predict(self, X):
        """Expected transactions over ``horizon``.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_customers, 3)
            RFM summary.

        Returns
        -------
        pandas.Series
            Indexed by the customers of X.
        """
        return self.conditional_expected_transactions(X, self.horizon)

    def expected_transactions(self, t):
        """Prior E[X(t)] of a new customer: ``r beta/(alpha (s-1)) [1 - (beta/(beta+t))^(s-1)]``.

        Parameters
        ----------
        t : float or array-like
            Time since acquisition.

        Returns
        -------
        ndarray
            Expected purchases.
        """
        check_is_fitted(self)
        r, alpha, s, beta = self.params_.to_numpy()
        t = np.atleast_1d(np.asarray(t, dtype=float))
        L = np.log1p(t / beta)
        h = -np.expm1(-(s - 1.0) * L) / (s - 1.0) if abs(s - 1.0) > 1e-10 else L
        return r * beta / alpha * h

    @dask_dispatch()
    def predict_interval(
        self,
        X=None,
        *,
        quantity="expected_transactions",
        t=None,
        alpha=0.05,
        n_draws=500,
        random_state=None,
    ):
        """Point prediction, standard error and interval from parameter draws.

        Draws from the asymptotic normal law of the MLE (log-parameters); the interval is the
        draws' ``alpha/2`` and ``1 - alpha/2`` quantiles.

        Parameters
        ----------
        X : pandas.DataFrame or array-like, optional
            RFM summary (not used for ``"new_customer"``).
        quantity : {"expected_transactions", "probability_alive", "new_customer"}
            E[X(t)] given the history, P(alive at T + t), or a new customer's E[X(t)].
        t : float, optional
            Horizon (default ``horizon``; 0 for ``"probability_alive"``).
        alpha : float, default=0.05
            1 - confidence level.
        n_draws : int, default=500
            Parameter draws.
        random_state : int, RandomState or None
            Seed of the draws.

        Returns
        -------
        pandas.DataFrame
            Columns ``estimate``, ``std_error``, ``lower``, ``upper``, indexed by customer.
        """
        from sklearn.utils import check_random_state

        check_is_fitted(self)
        if not 0 < alpha < 1:
            raise ValueError(f"alpha must lie in (0, 1), got {alpha!r}")
        funcs = {
            "expected_transactions": lambda m: m.conditional_expected_transactions(
                X, self.horizon if t is None else t
            ),
            "probability_alive": lambda m: m.probability_alive(X, 0.0 if t is None else t),
            "new_customer": lambda m: m.expected_transactions(self.horizon if t is None else t),
        }
        if quantity not in funcs:
            raise ValueError(f"quantity must be one of {sorted(funcs)}, got {quantity!r}")
        seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
        thetas = self._draw_thetas(n_draws, np.random.default_rng(seed))
        func = funcs[quantity]
        draws = np.vstack([np.asarray(func(with_theta(self, th)), float) for th in thetas])
        return interval_frame(func(self), draws, alpha, quantity)

    def score(self, X, y=None, sample_weight=None):
        """Mean per-customer log-likelihood of X (higher is better).

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_customers, 3)
            RFM summary.
        y : None
            Ignored.
        sample_weight : array-like, optional
            Counts of identical rows.

        Returns
        -------
        float
            Weighted mean log-likelihood.
        """
        check_is_fitted(self)
        x, R, T = _rfm_arrays(self, X, reset=False)
        ll = pareto_nbd_log_likelihood(self.params_.to_numpy(), x, R, T)
        w = np.ones_like(ll) if sample_weight is None else np.asarray(sample_weight, float)
        return float(w @ ll / w.sum())


# ---------------------------------------------------------------------------- Gamma-Gamma
def gamma_gamma_log_likelihood(params, x, m):
    """Per-customer log-likelihood of the mean spend m of x transactions (FHL 2005, Eq. 3).

    Examples
    --------
    >>> ll = gamma_gamma_log_likelihood((6.25, 3.74, 15.44), np.array([2.0]), np.array([22.35]))
    >>> round(float(ll[0]), 4)
    -3.5513
    """
    p, q, v = params
    px = p * x
    return (
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(v)
        + (px - 1.0) * np.log(m)
        + px * np.log(x)
        - (px + q) * np.log(x * m + v)
    )


class GammaGammaSpend(_DrawsMixin, BaseEstimator):
    """Gamma-gamma model of the average spend per transaction (Fader, Hardie & Lee 2005).

    Each spend is Gamma(p, rate nu) with nu ~ Gamma(q, rate v) per customer, independent of
    the transaction process. Fitted by maximum likelihood on customers with at least one
    repeat transaction, from a per-customer table with the number of repeat transactions and
    their mean spend (lifetimes' ``frequency`` and ``monetary_value``).

    Parameters
    ----------
    frequency_col : str, default="frequency"
        Number of (repeat) transactions whose spends are averaged.
    monetary_value_col : str, default="monetary_value"
        Their mean spend (> 0).
    penalizer : float, default=0.0
        L2 penalty on the log-parameters, per customer.
    initial_params : dict, optional
        Starting values ``{"p", "q", "v"}`` (default 1, 1, 1).
    max_iter : int, default=1000
        Maximum L-BFGS-B iterations.
    tol : float, default=1e-8
        Gradient tolerance of L-BFGS-B.
    n_jobs : int, optional
        Accepted for a uniform API (the fit is one vectorised likelihood).
    random_state : int, RandomState or None
        Unused (deterministic fit); accepted for a uniform API.
    verbose : int, default=0
        Report the optimiser's result.

    Attributes
    ----------
    params_ : pandas.Series
        p, q, v.
    covariance_ : pandas.DataFrame
        Inverse Hessian on the natural scale (delta method).
    standard_errors_ : pandas.Series
        Square roots of the diagonal of ``covariance_``.
    log_likelihood_ : float
        Maximised log-likelihood.
    converged_ : bool
        Whether L-BFGS-B reported success.
    n_iter_ : int
        L-BFGS-B iterations.
    n_customers_ : int
        Customers used in the fit (frequency > 0).
    n_features_in_ : int
        2.
    feature_names_in_ : ndarray of str
        Column names of X, when X is a DataFrame.

    References
    ----------
    Fader, P. S., Hardie, B. G. S., & Lee, K. L. (2005). RFM and CLV: using iso-value curves
    for customer base analysis. Journal of Marketing Research, 42(4), 415-430.

    Examples
    --------
    >>> import pandas as pd
    >>> from skcrm.clv import GammaGammaSpend
    >>> X = pd.DataFrame({"frequency": [1, 2, 4, 3], "monetary_value": [10.0, 20.0, 15.0, 40.0]})
    >>> gg = GammaGammaSpend().fit(X)
    >>> bool(gg.conditional_expected_average_spend(X).gt(0).all())
    True
    """

    _parameter_constraints: dict = {
        "frequency_col": [str],
        "monetary_value_col": [str],
        "penalizer": [Interval(Real, 0, None, closed="left")],
        "initial_params": [dict, None],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="neither")],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }
    _names = ("p", "q", "v")

    def __init__(
        self,
        *,
        frequency_col="frequency",
        monetary_value_col="monetary_value",
        penalizer=0.0,
        initial_params=None,
        max_iter=1000,
        tol=1e-8,
        n_jobs=None,
        random_state=None,
        verbose=0,
    ):
        self.frequency_col = frequency_col
        self.monetary_value_col = monetary_value_col
        self.penalizer = penalizer
        self.initial_params = initial_params
        self.max_iter = max_iter
        self.tol = tol
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = False
        tags.input_tags.positive_only = True
        return tags

    def _arrays(self, X, *, reset):
        cols = [self.frequency_col, self.monetary_value_col]
        frame = X[cols] if isinstance(X, pd.DataFrame) else X
        if isinstance(frame, pd.DataFrame):
            frame = frame.set_axis([str(c) for c in frame.columns], axis=1)
        arr = validate_data(self, frame, reset=reset, dtype=np.float64)
        if arr.shape[1] != 2:
            raise ValueError(f"X must have the 2 columns {cols}, got {arr.shape[1]}")
        x, m = arr.T
        if np.any(x < 0) or np.any(m < 0):
            raise ValueError(f"{cols[0]} and {cols[1]} must be >= 0")
        return x, m

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None):
        """Fit by maximum likelihood on the customers with ``frequency > 0``.

        Rows with no repeat transaction carry no spend and are left out with a warning.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_customers, 2)
            ``frequency_col`` and ``monetary_value_col``.
        y : None
            Ignored.
        sample_weight : array-like of shape (n_customers,), optional
            Counts of identical rows.

        Returns
        -------
        self : GammaGammaSpend
            The fitted model.
        """
        x, m = self._arrays(X, reset=True)
        w = np.ones_like(x) if sample_weight is None else np.asarray(sample_weight, float)
        keep = x > 0
        if not keep.all():
            warn(
                f"GammaGammaSpend: left out {int((~keep).sum())} row(s) with "
                f"{self.frequency_col} = 0 (no repeat spend to model); pass only repeat "
                "customers to silence this"
            )
        free = keep & (m == 0)
        if free.any():
            warn(
                f"GammaGammaSpend: left out {int(free.sum())} row(s) with "
                f"{self.monetary_value_col} = 0 (the gamma spend model needs positive spends)"
            )
            keep &= ~free
        if keep.sum() < 2:
            raise ValueError(f"need at least 2 customers with {self.frequency_col} > 0")
        x, m, w = x[keep], m[keep], w[keep]
        init = {"p": 1.0, "q": 1.0, "v": 1.0} | dict(self.initial_params or {})
        bad = set(init) - set(self._names)
        if bad:
            raise ValueError(f"initial_params has unknown keys {sorted(bad)}; expected p, q, v")
        scale = 1.0 / np.average(m, weights=w)  # spend rescaled to mean 1
        ms = m * scale
        total = w.sum()
        theta0 = np.log([init["p"], init["q"], init["v"] * scale])

        def nll(theta):
            ll = gamma_gamma_log_likelihood(np.exp(theta), x, ms)
            if not np.all(np.isfinite(ll)):
                return 1e300
            return -(w @ ll) / total + self.penalizer * np.sum(theta**2)

        lx, lm = np.log(x), np.log(ms)

        def jac(theta):
            p, q, v = np.exp(theta)
            px = p * x
            lxmv = np.log(x * ms + v)
            psi = digamma(px + q)
            dp = x * (psi - digamma(px) + lm + lx - lxmv)
            dq = psi - digamma(q) + np.log(v) - lxmv
            dv = q / v - (px + q) / (x * ms + v)
            g = np.array([p * (w @ dp), q * (w @ dq), v * (w @ dv)])
            return -g / total + 2 * self.penalizer * theta

        res, H = _fit_log_params(nll, theta0, self.max_iter, self.tol, jac=jac)
        theta = res.x.copy()
        theta[2] -= np.log(scale)
        values = np.exp(theta)
        self._set_params_from_theta(theta)
        self.converged_ = bool(res.success)
        self.n_iter_ = int(res.nit)
        if not self.converged_:
            warn(
                f"GammaGammaSpend: L-BFGS-B did not converge ({res.message}); try a larger "
                "max_iter or other initial_params",
                ConvergenceWarning,
            )
        if self.verbose:
            print(f"[GammaGammaSpend] {res.message} after {res.nit} iterations")
        self.log_likelihood_ = float(w @ gamma_gamma_log_likelihood(values, x, m))
        self.n_customers_ = float(total)
        self._cov_log_, self.covariance_ = _covariance(
            H * total, values, list(self._names), "GammaGammaSpend"
        )
        self.standard_errors_ = pd.Series(
            np.sqrt(np.diag(self.covariance_)), index=list(self._names), name="std_error"
        )
        return self

    @staticmethod
    def _spend(params, x, m):
        p, q, v = params
        prior = p * v / (q - 1.0) if q > 1 else np.inf
        post = p * (v + x * m) / (p * x + q - 1.0)
        return np.where(x > 0, post, prior)

    @dask_dispatch()
    def conditional_expected_average_spend(self, X):
        """E[average spend | x, mean spend] (FHL 2005 RFM/CLV, Eq. 5).

        ``p (v + x m) / (p x + q - 1)``: a weighted mean of the population mean ``p v/(q-1)``
        and the customer's observed mean ``m``; customers with ``frequency = 0`` get the
        population mean.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_customers, 2)
            ``frequency_col`` and ``monetary_value_col``.

        Returns
        -------
        pandas.Series
            Indexed by the customers of X.
        """
        check_is_fitted(self)
        x, m = self._arrays(X, reset=False)
        out = self._spend(self.params_.to_numpy(), x, m)
        return pd.Series(out, index=_index_of(X, x.size, "customer"), name="expected_spend")

    @dask_dispatch()
    def predict(self, X):
        """Expected average spend per transaction (:meth:`conditional_expected_average_spend`).

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_customers, 2)
            ``frequency_col`` and ``monetary_value_col``.

        Returns
        -------
        pandas.Series
            Indexed by the customers of X.
        """
        return self.conditional_expected_average_spend(X)

    def score(self, X, y=None, sample_weight=None):
        """Mean log-likelihood of the customers of X with ``frequency > 0``.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_customers, 2)
            ``frequency_col`` and ``monetary_value_col``.
        y : None
            Ignored.
        sample_weight : array-like, optional
            Counts of identical rows.

        Returns
        -------
        float
            Weighted mean log-likelihood.
        """
        check_is_fitted(self)
        x, m = self._arrays(X, reset=False)
        w = np.ones_like(x) if sample_weight is None else np.asarray(sample_weight, float)
        keep = x > 0
        ll = gamma_gamma_log_likelihood(self.params_.to_numpy(), x[keep], m[keep])
        return float(w[keep] @ ll / w[keep].sum())


# ---------------------------------------------------------------------------- CLV in money
def customer_lifetime_value(
    transaction_model,
    spend_model,
    X,
    *,
    horizon=52.0,
    discount_rate=0.0,
    margin=1.0,
    period=1.0,
    spend_X=None,
    n_draws=0,
    alpha=0.05,
    random_state=None,
):
    """Discounted expected margin per customer: transactions x spend x margin.

    ``CLV = margin * E[spend] * sum_i (E[X(t_i)] - E[X(t_{i-1})]) / (1 + d)^i`` over periods
    ``t_i = i * period`` up to ``horizon`` (lifetimes' discrete sum), or, with
    ``horizon=np.inf``, ``margin * E[spend] * DERT`` (continuous discounting at
    ``-ln(1/(1+d))`` per time unit) for models with a ``dert`` method.

    Parameters
    ----------
    transaction_model : fitted AttributeBGNBD or ParetoNBD
        Supplies ``conditional_expected_transactions(X, t)``.
    spend_model : fitted GammaGammaSpend
        Supplies ``conditional_expected_average_spend``.
    X : pandas.DataFrame or dask.dataframe.DataFrame
        Per-customer table with the transaction model's RFM columns and the spend model's
        frequency and monetary value columns (or see ``spend_X``). A Dask frame is scored
        partition by partition (by customer for a transaction log) and a Dask object is
        returned; ``spend_X`` must then be None.
    horizon : float, default=52.0
        Length of the valuation window in model time units; ``np.inf`` for the whole
        residual lifetime (needs ``transaction_model.dert``).
    discount_rate : float, default=0.0
        Discount rate d per ``period`` (e.g. ``annual_to_weekly(0.1)`` with weekly periods).
    margin : float, default=1.0
        Profit margin applied to spend.
    period : float, default=1.0
        Length of one discounting period in model time units.
    spend_X : pandas.DataFrame, optional
        Separate input of the spend model (default: X).
    n_draws : int, default=0
        With ``n_draws > 0``, also an interval: CLV recomputed under that many parameter
        draws of both models (independent fits; the MLE's normal law, or the posterior draws
        of a ``method="nuts"`` transaction model).
    alpha : float, default=0.05
        1 - confidence level of the interval.
    random_state : int, RandomState or None
        Seed of the draws.

    Returns
    -------
    pandas.Series or pandas.DataFrame
        CLV in money, indexed by customer; with ``n_draws > 0`` a DataFrame with columns
        ``estimate``, ``std_error``, ``lower``, ``upper``.

    Examples
    --------
    >>> from skcrm.clv import (ParetoNBD, GammaGammaSpend, customer_lifetime_value,
    ...                        rfm_summary, transactions_from_log)
    >>> from skcrm.datasets import load_cdnow
    >>> tx = transactions_from_log(load_cdnow("sample"), value_cols=["dollar_value"])
    >>> cal = tx[tx["t"] <= 38.857]
    >>> X = rfm_summary(cal, observation_end=38.857, monetary_col="dollar_value")
    >>> pnbd = ParetoNBD().fit(X)
    >>> gg = GammaGammaSpend().fit(X[X["frequency"] > 0])
    >>> clv = customer_lifetime_value(pnbd, gg, X, horizon=52.0, discount_rate=0.002)
    >>> clv.round(2).head(3).tolist()
    [41.29, 4.26, 3.54]
    """
    if is_dask_frame(X):
        if spend_X is not None:
            raise ValueError(
                "with a Dask X, spend_X is not supported: put the spend model's columns in X "
                "(one table per customer) or merge them into the log before scoring"
            )
        kw = {"horizon": horizon, "discount_rate": discount_rate, "margin": margin}
        kw |= {"period": period, "n_draws": n_draws, "alpha": alpha}
        return _dask_clv(transaction_model, spend_model, X, kw | {"random_state": random_state})
    if n_draws:
        from sklearn.utils import check_random_state

        kw = {"horizon": horizon, "discount_rate": discount_rate, "margin": margin}
        kw |= {"period": period, "spend_X": spend_X}
        point = customer_lifetime_value(transaction_model, spend_model, X, **kw)
        rng = np.random.default_rng(check_random_state(random_state).randint(2**31 - 1))
        t_th = transaction_model._draw_thetas(n_draws, rng)
        s_th = spend_model._draw_thetas(len(t_th), rng)
        draws = [
            customer_lifetime_value(
                with_theta(transaction_model, a), with_theta(spend_model, b), X, **kw
            )
            for a, b in zip(t_th, s_th, strict=True)
        ]
        return interval_frame(point, np.vstack([np.asarray(d) for d in draws]), alpha, "clv")
    if not (np.isfinite(discount_rate) and discount_rate >= 0):
        raise ValueError(f"discount_rate must be >= 0, got {discount_rate!r}")
    if not period > 0:
        raise ValueError(f"period must be > 0, got {period!r}")
    spend = spend_model.conditional_expected_average_spend(X if spend_X is None else spend_X)
    if np.isinf(horizon):
        if not hasattr(transaction_model, "dert"):
            raise ValueError("horizon=inf needs a transaction model with a dert method")
        if discount_rate <= 0:
            raise ValueError("horizon=inf needs discount_rate > 0")
        rate = (1.0 + discount_rate) ** (1.0 / period) - 1.0
        out = transaction_model.dert(X, discount_rate=rate)
        tx = np.asarray(out, dtype=float)
    else:
        if not horizon > 0:
            raise ValueError(f"horizon must be > 0, got {horizon!r}")
        n = int(np.ceil(horizon / period - 1e-9))
        ts = np.minimum(np.arange(1, n + 1) * period, horizon)
        tx, prev = 0.0, 0.0
        for i, ti in enumerate(ts, start=1):
            out = transaction_model.conditional_expected_transactions(X, ti)
            cur = np.asarray(out, dtype=float)
            tx = tx + (cur - prev) / (1.0 + discount_rate) ** i
            prev = cur
    # align the spend to the transaction model's customers by id (a log's output is sorted
    # by customer id; a spend table may be in any order)
    index = out.index if isinstance(out, pd.Series) else _index_of(X, tx.size, "customer")
    if isinstance(out, pd.Series) and isinstance(spend, pd.Series) and spend_X is not None:
        missing = index.difference(spend.index)
        if len(missing):
            raise ValueError(
                f"spend_X lacks {len(missing)} customer(s) of X, e.g. {list(missing[:3])}"
            )
        spend = spend.reindex(index)
    spend = np.asarray(spend, dtype=float)
    if spend.shape != tx.shape:
        raise ValueError(
            f"the spend model gives {spend.size} customers, the transaction model {tx.size}; "
            "pass spend_X with one row per customer of X"
        )
    return pd.Series(margin * spend * tx, index=index, name="clv")


class _CLVScorer:
    """customer_lifetime_value of fixed models and settings, as a method Dask can map."""

    def __init__(self, transaction_model, spend_model, kw):
        self.transaction_model = transaction_model
        self.spend_model = spend_model
        self.kw = kw

    def value(self, X):
        return customer_lifetime_value(self.transaction_model, self.spend_model, X, **self.kw)


def _dask_clv(transaction_model, spend_model, X, kw):
    """CLV of a Dask frame, partition by partition (per customer for a transaction log)."""
    tcol = getattr(transaction_model, "_tcol", None)
    is_log = tcol is not None and tcol(X._meta) in X._meta.columns
    customer_col = transaction_model.customer_col if is_log else None
    return dask_map_method(
        _CLVScorer(transaction_model, spend_model, kw), "value", X, customer_col=customer_col
    )
