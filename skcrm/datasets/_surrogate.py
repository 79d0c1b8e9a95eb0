"""Simulators with known ground truth for the surrogate index and DR policy.

make_surrogate_targeting (shared by the two estimators).

numpy, scipy and pandas only: importing skcrm.datasets must stay light.
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
from scipy.special import expit
from scipy.stats import norm

__all__ = ["make_surrogate_targeting"]


class Bunch(dict):
    """A dict whose keys are also attributes (like ``sklearn.utils.Bunch``, kept light)."""

    def __getattr__(self, key):
        try:
            return self[key]
        except KeyError as exc:
            raise AttributeError(key) from exc

    def __dir__(self):
        return list(self.keys())


# Arm costs c_a: K = 2 (control, discount); K = 4 (control, e-mail,
# small discount, big discount).
_COSTS = {2: np.array([0.0, 2.0]), 4: np.array([0.0, 0.0, 1.0, 3.0])}
_SURROGATE_NAMES = ("short_revenue", "engagement", "content", "irrelevant")
_SIGMA_S = np.array([1.0, 0.5, 1.0, 1.0])
_SIGMA_Y = 3.0

# Population reference values (Monte Carlo, 4e6 draws, +-0.005).
_REFERENCE = {
    2: {
        "value_none": 24.098,
        "value_always": (24.098, 24.817),
        "value_oracle": 26.346,
        "oracle_gain": 2.247,
        "oracle_shares": (0.607, 0.393),
        "ate": (0.0, 0.719),
        "value_short_term_policy": 24.098,
        "min_propensity": 0.05,
    },
    4: {
        "value_none": 24.098,
        "value_always": (24.098, 24.098, 24.737, 23.220),
        "value_oracle": 26.112,
        "oracle_gain": 2.014,
        "oracle_shares": (0.281, 0.340, 0.176, 0.202),
        "ate": (0.0, -0.000, 0.639, -0.879),
        "value_short_term_policy": 24.514,
        "min_propensity": 0.10,
    },
}


def _risk(X):
    """Churn risk r(x) = expit(-1.5 + 1.2 x1 - 0.6 x2)."""
    return expit(-1.5 + 1.2 * X[:, 0] - 0.6 * X[:, 1])


def _retention_effects(X, n_actions):
    """(n, K) retention effects e_a(x), e_0 = 0."""
    r = _risk(X)
    e = np.zeros((X.shape[0], n_actions))
    x3_pos = np.maximum(0.0, X[:, 2])
    if n_actions == 2:
        e[:, 1] = 0.6 * x3_pos + 0.4 * r
    else:
        e[:, 1] = 0.08 * np.tanh(2.0 * X[:, 1])
        e[:, 2] = 0.35 * x3_pos + 0.2 * r
        e[:, 3] = 0.55 * x3_pos + 0.6 * r
    return e


def _surrogate_means(X, n_actions):
    """(n, K, 4) means of the surrogates S1..S4 under every action."""
    r = _risk(X)[:, None]
    e = _retention_effects(X, n_actions)
    c = _COSTS[n_actions][None, :]
    m = np.empty((X.shape[0], n_actions, 4))
    m[..., 0] = 6.0 + 2.0 * (1.0 - r) - c + 0.5 * e
    m[..., 1] = (1.0 - r) + e
    m[..., 2] = 0.5 * X[:, 3][:, None] + 0.5 * e
    m[..., 3] = 0.0
    return m


def _index(X, S):
    """The true surrogate index h(S, X) = 2 S1 + (10 + 4 1{x6>0}) S2 + 2 S3 + 3 x5."""
    slope = 10.0 + 4.0 * (X[:, 5] > 0)
    return 2.0 * S[:, 0] + slope * S[:, 1] + 2.0 * S[:, 2] + 3.0 * X[:, 4]


def _mediated_mu(X, n_actions):
    """(n, K) mu_a(x) = E[Y(a) | X = x] without a direct effect (h is linear in S)."""
    m = _surrogate_means(X, n_actions)
    slope = (10.0 + 4.0 * (X[:, 5] > 0))[:, None]
    return 2.0 * m[..., 0] + slope * m[..., 1] + 2.0 * m[..., 2] + 3.0 * X[:, 4][:, None]


def _true_mu(X, n_actions, violation, direct=0.0):
    """(n, K) true mu_a(x) = mu_a + lambda (mu_a - mu_0) + delta 1{a != 0}."""
    mu = _mediated_mu(X, n_actions)
    out = mu + violation * (mu - mu[:, :1])
    out[:, 1:] += direct
    return out


def _design_propensity(X, n_actions, design):
    """(n, K) design propensities pi_D(a | x)."""
    n = X.shape[0]
    if design == "uniform":
        return np.full((n, n_actions), 1.0 / n_actions)
    p = norm.cdf((_risk(X) - 0.25) / 0.15)
    out = np.empty((n, n_actions))
    if n_actions == 2:
        out[:, 1] = np.clip(p, 0.05, 0.5)
        out[:, 0] = 1.0 - out[:, 1]
    else:
        treat = np.clip(p, 0.3, 0.75)
        out[:, 0] = 1.0 - treat
        out[:, 1:] = (treat / (n_actions - 1))[:, None]
    return out


def _draw_actions(rng, prob):
    """One categorical draw per row of the (n, K) probability matrix ``prob``."""
    u = rng.random(prob.shape[0])
    cdf = np.cumsum(prob, axis=1)
    cdf[:, -1] = 1.0
    return (u[:, None] > cdf).sum(axis=1).astype(np.int64)


def _simulate(rng, X, actions, n_actions, violation, shift, direct=0.0):
    """Surrogates (n, 4) and long-term outcome (n,) for the given actions."""
    n = X.shape[0]
    means = _surrogate_means(X, n_actions)[np.arange(n), actions]
    S = means + rng.standard_normal((n, 4)) * _SIGMA_S
    y = _index(X, S) + _SIGMA_Y * rng.standard_normal(n)
    if violation:
        mu = _mediated_mu(X, n_actions)
        y += violation * (mu[np.arange(n), actions] - mu[:, 0])
    if shift:
        y += shift * S[:, 1]
    if direct:
        y += direct * (actions != 0)
    return S, y


def make_surrogate_targeting(
    n_historical=20_000,
    n_experimental=10_000,
    n_actions=2,
    n_features=6,
    historical_treatment_prob=0.3,
    surrogacy_violation=0.0,
    comparability_shift=0.0,
    direct_effect=0.0,
    design="risk",
    random_state=None,
    as_frame=False,
):
    """Simulate a targeting experiment with surrogates, history and known truth.

    Mirrors the setting of Yang et al.: discounts cost short-term
    revenue and help retention for a heterogeneous subgroup; long-term revenue is driven by
    retention, so a policy learned on the short-term proxy under-treats.

    - Covariates X ~ N(0, I_p), churn risk r(x) = expit(-1.5 + 1.2 x1 - 0.6 x2).
    - Arm costs c = (0, 2) for K = 2 and (0, 0, 1, 3) for K = 4; retention effects
      e_1 = 0.6 max(0, x3) + 0.4 r (K = 2); e_1 = 0.08 tanh(2 x2), e_2 = 0.35 max(0, x3)
      + 0.2 r, e_3 = 0.55 max(0, x3) + 0.6 r (K = 4).
    - Surrogates S1 = 6 + 2(1 - r) - c_a + e_a / 2 + N(0, 1) (short-term revenue),
      S2 = (1 - r) + e_a + N(0, 0.5^2), S3 = x4 / 2 + e_a / 2 + N(0, 1), S4 = N(0, 1).
    - Long-term outcome Y = h(S, X) + N(0, 3^2) with
      h = 2 S1 + (10 + 4 1{x6 > 0}) S2 + 2 S3 + 3 x5.
    - Historical rows carry a latent, unrecorded action; experimental rows are assigned by
      the design propensities.

    Parameters
    ----------
    n_historical : int, default=20_000
        Rows of the historical data H (X, S, Y; no treatment recorded).
    n_experimental : int, default=10_000
        Rows of the experiment E (X, A, S, propensities).
    n_actions : {2, 4}, default=2
        Number of arms; arm 0 is control.
    n_features : int, default=6
        Covariates p >= 6; columns 7 and up are pure noise.
    historical_treatment_prob : float in [0, 1], default=0.3
        Probability that a historical unit received a (latent) non-control arm.
    surrogacy_violation : float, default=0.0
        lambda: adds a direct effect lambda * tau_A(X) to Y (Assumption 2 fails; the true
        CATE becomes (1 + lambda) tau, sign-flipping for lambda < -1).
    comparability_shift : float, default=0.0
        kappa: adds kappa * S2 to Y in H only (Assumption 3 fails).
    direct_effect : float, default=0.0
        delta: every non-control arm adds delta to Y directly, not through the surrogates
        (Assumption 2 fails; the true effects grow by delta). It applies wherever an arm is
        received: in the experiment and in the historical rows that received a latent arm
        (none when ``historical_treatment_prob=0``).
    design : {"risk", "uniform"}, default="risk"
        Experimental design: risk-based propensities (capped at 0.5 for K = 2) or 1/K.
    random_state : int, Generator or None
        Seed of the simulation.
    as_frame : bool, default=False
        Return X, S, X_hist, S_hist as DataFrames (columns ``x1..xp`` and
        ``short_revenue, engagement, content, irrelevant``).

    Returns
    -------
    Bunch
        ``X_hist, S_hist, y_hist`` (historical), ``X, S, treatment, propensity`` (n, K),
        ``y_long`` (true long-term Y of the experimental units), ``y_short`` (= S1),
        ``mu`` (n, K true mu_a(x)), ``tau`` (n, K true effects vs control),
        ``oracle_action``, ``costs``, ``index_fn(X, S)`` (true index),
        ``mu_fn(X)``, ``policy_value(policy, n_mc=200_000, random_state=0)`` (true value of a
        policy on a fresh covariate sample: a callable X -> actions or (n, K) probabilities,
        a fitted estimator with ``predict``, an int arm "always a", or ``"oracle"``),
        ``reference`` (population values, valid for the default
        violations of zero) and ``params``.

    Examples
    --------
    >>> from skcrm.datasets import make_surrogate_targeting
    >>> d = make_surrogate_targeting(2000, 1000, random_state=0)
    >>> d.X.shape, d.S.shape, d.propensity.shape
    ((1000, 6), (1000, 4), (1000, 2))
    >>> v_none = d.policy_value(0, n_mc=100_000)
    >>> v_oracle = d.policy_value("oracle", n_mc=100_000)
    >>> bool(v_oracle - v_none > 2.0)
    True
    """
    if n_actions not in _COSTS:
        raise ValueError(f"n_actions must be 2 or 4, got {n_actions!r}")
    for name, value, low in (
        ("n_historical", n_historical, 1),
        ("n_experimental", n_experimental, 1),
        ("n_features", n_features, 6),
    ):
        if not isinstance(value, numbers.Integral) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    if not 0.0 <= historical_treatment_prob <= 1.0:
        raise ValueError(
            f"historical_treatment_prob must be in [0, 1], got {historical_treatment_prob!r}"
        )
    if design not in ("risk", "uniform"):
        raise ValueError(f"design must be 'risk' or 'uniform', got {design!r}")
    K, p = int(n_actions), int(n_features)
    lam, kappa = float(surrogacy_violation), float(comparability_shift)
    delta = float(direct_effect)
    rng = np.random.default_rng(random_state)

    # Historical data: latent action (control with prob 1 - q, else uniform over arms).
    X_hist = rng.standard_normal((n_historical, p))
    treated = rng.random(n_historical) < historical_treatment_prob
    a_hist = np.where(treated, rng.integers(1, K, size=n_historical), 0)
    S_hist, y_hist = _simulate(rng, X_hist, a_hist, K, lam, kappa, delta)

    # Experiment: design propensities, observed action, surrogates and (hidden) long-term Y.
    X = rng.standard_normal((n_experimental, p))
    propensity = _design_propensity(X, K, design)
    treatment = _draw_actions(rng, propensity)
    S, y_long = _simulate(rng, X, treatment, K, lam, 0.0, delta)
    mu = _true_mu(X, K, lam, delta)

    x_names = [f"x{j + 1}" for j in range(p)]

    def _as_array(Xq):
        arr = np.asarray(Xq, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[1] != p:
            raise ValueError(f"X must have shape (n, {p}), got {arr.shape}")
        return arr

    def mu_fn(Xq):
        """True (n, K) expected long-term outcomes mu_a(x) of every arm."""
        return _true_mu(_as_array(Xq), K, lam, delta)

    def index_fn(Xq, Sq):
        """The true index h(S, X) (plus kappa * S2 as learned on H when kappa != 0)."""
        Xa, Sa = _as_array(Xq), np.asarray(Sq, dtype=np.float64)
        return _index(Xa, Sa) + kappa * Sa[:, 1]

    def _policy_matrix(policy, Xq):
        n = Xq.shape[0]
        if isinstance(policy, str):
            if policy != "oracle":
                raise ValueError(f"policy string must be 'oracle', got {policy!r}")
            actions = np.argmax(_true_mu(Xq, K, lam, delta), axis=1)
        elif isinstance(policy, numbers.Integral):
            if not 0 <= policy < K:
                raise ValueError(f"arm {policy} is not in 0..{K - 1}")
            actions = np.full(n, int(policy))
        else:
            Xin = pd.DataFrame(Xq, columns=x_names) if as_frame else Xq
            out = policy.predict(Xin) if hasattr(policy, "predict") else policy(Xin)
            out = np.asarray(out)
            if out.ndim == 2:
                if out.shape != (n, K):
                    raise ValueError(f"policy probabilities must have shape {(n, K)}")
                return out.astype(np.float64)
            actions = out.astype(np.int64)
            if actions.shape != (n,) or actions.min() < 0 or actions.max() >= K:
                raise ValueError(f"policy must return arms in 0..{K - 1}, one per row")
        prob = np.zeros((n, K))
        prob[np.arange(n), actions] = 1.0
        return prob

    def policy_value(policy, n_mc=200_000, random_state=0):
        """True value V(pi) = E_X[sum_a pi(a|X) mu_a(X)] on a fresh sample of n_mc rows.

        Use the same ``random_state`` for every policy compared (common random numbers).
        """
        Xmc = np.random.default_rng(random_state).standard_normal((n_mc, p))
        prob = _policy_matrix(policy, Xmc)
        return float(np.mean(np.sum(prob * _true_mu(Xmc, K, lam, delta), axis=1)))

    y_short = S[:, 0].copy()
    if as_frame:
        X_out = pd.DataFrame(X, columns=x_names)
        X_hist_out = pd.DataFrame(X_hist, columns=x_names)
        S_out = pd.DataFrame(S, columns=list(_SURROGATE_NAMES))
        S_hist_out = pd.DataFrame(S_hist, columns=list(_SURROGATE_NAMES))
    else:
        X_out, X_hist_out, S_out, S_hist_out = X, X_hist, S, S_hist

    return Bunch(
        X_hist=X_hist_out,
        S_hist=S_hist_out,
        y_hist=y_hist,
        X=X_out,
        S=S_out,
        treatment=treatment,
        propensity=propensity,
        y_long=y_long,
        y_short=y_short,
        mu=mu,
        tau=mu - mu[:, :1],
        oracle_action=np.argmax(mu, axis=1),
        costs=_COSTS[K].copy(),
        index_fn=index_fn,
        mu_fn=mu_fn,
        policy_value=policy_value,
        reference=dict(_REFERENCE[K]),
        feature_names=x_names,
        surrogate_names=list(_SURROGATE_NAMES),
        params={
            "n_actions": K,
            "n_features": p,
            "historical_treatment_prob": float(historical_treatment_prob),
            "surrogacy_violation": lam,
            "comparability_shift": kappa,
            "direct_effect": delta,
            "design": design,
        },
    )
