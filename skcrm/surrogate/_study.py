"""The paper's validation study (Sec. 5.3, Fig. 3) on the simulator with known truth.

Used by the demo section, the example script and the docs page. Everything is computed on
:func:`skcrm.datasets.make_surrogate_targeting` (binary action), where the realised
long-term outcome of the experimental units and the true value of any policy are known.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import cross_val_predict

from skcrm.utils import dr_scores, normal_ci

from ._core import athey_bias_bound
from ._effects import _cross_fitted_mu, surrogate_ate
from ._estimator import SurrogateIndexTransformer
from ._features import make_linear_index

__all__ = ["failure_table", "figure3_study", "monthly_surrogates"]

N_COV = 6
# columns of the simulator's surrogates
_REVENUE, _ENGAGEMENT, _CONTENT, _IRRELEVANT = range(4)


def monthly_surrogates(S, n_months=6, noise=(0.0, 0.7, 1.5, 0.0), random_state=None):
    """Surrogates accumulated over the first ``m`` months, ``m = 1 .. n_months``.

    The simulator's surrogates are read as the ``n_months``-month averages of monthly
    readings. If the monthly readings of a surrogate carry independent measurement noise
    of standard deviation ``s``, the ``m``-month average equals the full-window average
    plus noise of variance ``s^2 (1/m - 1/n_months)``: short windows measure engagement and
    content consumption with more error, the full window exactly. (An illustration of the
    paper's Fig. 3 windows; the paper's own first-month failure comes from the 8-week
    discount still running, which this simulator does not model.)

    Parameters
    ----------
    S : ndarray of shape (n, 4)
        Surrogates of :func:`~skcrm.datasets.make_surrogate_targeting`.
    n_months : int, default=6
    noise : sequence of 4 floats
        Monthly measurement-noise standard deviation of each surrogate (revenue is
        observed exactly from the first month).
    random_state : int, Generator or None

    Returns
    -------
    dict of int to ndarray of shape (n, 4)

    Examples
    --------
    >>> import numpy as np
    >>> S = np.zeros((3, 4))
    >>> months = monthly_surrogates(S, random_state=0)
    >>> sorted(months), bool(np.all(months[6] == S))
    ([1, 2, 3, 4, 5, 6], True)
    """
    S = np.asarray(S, dtype=np.float64)
    rng = np.random.default_rng(random_state)
    s = np.asarray(noise, dtype=np.float64)
    out = {}
    for m in range(1, n_months + 1):
        sd = s * np.sqrt(1.0 / m - 1.0 / n_months)
        out[m] = S + rng.standard_normal(S.shape) * sd
    return out


def _default_policy(random_state):
    from skcrm.policy import DRPolicyClassifier

    return DRPolicyClassifier(random_state=random_state)


def _gain(gamma, actions, alpha):
    """DR gain over treating no one, with ``1 - alpha`` normal CI, and its SE."""
    n = gamma.shape[0]
    psi = gamma[np.arange(n), actions] - gamma[:, 0]
    est, se = psi.mean(), psi.std(ddof=1) / np.sqrt(n)
    lo, hi = normal_ci(est, se, alpha)
    return est, se, lo, hi


def _paired(gamma, a1, a2, alpha):
    rows = np.arange(gamma.shape[0])
    psi = gamma[rows, a1] - gamma[rows, a2]
    est, se = psi.mean(), psi.std(ddof=1) / np.sqrt(len(psi))
    return est, se, *normal_ci(est, se, alpha)


def _fit_policy(policy, X, y, A, P):
    return clone(policy).fit(X, y, treatment=A, propensity=P)


def figure3_study(
    n_historical=20_000,
    n_experimental=10_000,
    *,
    months=(1, 2, 3, 4, 5, 6),
    index=None,
    policy=None,
    failure_modes=True,
    test_size=0.2,
    alpha=0.05,
    n_mc=200_000,
    random_state=0,
):
    """Reproduce the story of the paper's Fig. 3 on simulated data with known truth.

    Steps (paper Sec. 5.1 and 5.3): fit one surrogate index per window of ``m`` months of
    surrogates on the historical data; impute the long-term outcome of the experimental
    units; learn a DR policy on 80% of them (covariates only) with the imputed outcome; on
    the remaining 20% estimate every policy's gain over the status quo (treat no one) with
    DR scores built from the *realised* long-term outcome (the paper's validation with
    18-month revenue). Comparators: the policy learned on the realised long-term outcome
    itself, the policy learned on the short-term proxy (revenue), treat-all and the status
    quo. Because the data are simulated, the true gain of every policy is also reported.

    Parameters
    ----------
    n_historical, n_experimental : int
        Sizes of the historical and experimental samples.
    months : sequence of int
        Surrogate windows (1..6) for which an index is built.
    index : regressor, default=None
        Regressor of the indices (``None``: the default gradient-boosted one).
    policy : estimator, default=None
        Policy learner (``None``: ``DRPolicyClassifier(random_state=random_state)``).
    failure_modes : bool or dict, default=True
        Also run the surrogacy and comparability violations (linear index, no latent
        historical treatment, as recommended) with the bias bound of eq. 31; a dict
        ``{name: simulator keywords}`` chooses them (keywords of
        :func:`~skcrm.datasets.make_surrogate_targeting`).
    test_size : float, default=0.2
        Share of the experiment held out to evaluate the learned policies.
    alpha : float, default=0.05
        One minus the confidence level of the intervals (0.05 = 95%).
    n_mc : int, default=200_000
        Monte Carlo sample of the true policy values (common to all policies).
    random_state : int, default=0
        Seed of the simulator, the splits and the learners.

    Returns
    -------
    dict of str to DataFrame
        ``"months"`` (per window: SI-based ATE with CI, index R2, DR gain of the SI policy
        with CI, its true gain), ``"policies"`` (every policy's DR gain on the test units
        with CI, true gain, share treated), ``"si_vs_truth"`` (paired difference and
        agreement), ``"ate_truth"`` and, with ``failure_modes``, ``"failures"``.
    """
    from skcrm.datasets import make_surrogate_targeting

    rng = np.random.default_rng(random_state)
    policy = _default_policy(random_state) if policy is None else policy
    d = make_surrogate_targeting(n_historical, n_experimental, random_state=random_state)
    hist_m = monthly_surrogates(d.S_hist, random_state=rng.integers(2**31))
    exp_m = monthly_surrogates(d.S, random_state=rng.integers(2**31))
    months = list(months)

    # one index per window: columns [X, S(m1), S(m2), ...]; horizon m reads X and S(m)
    def stack(X, by_month):
        return np.hstack([X, *[by_month[m] for m in months]])

    horizons = {
        f"{m}m": list(range(N_COV + 4 * k, N_COV + 4 * k + 4)) for k, m in enumerate(months)
    }
    si = SurrogateIndexTransformer(
        index, covariate_cols=list(range(N_COV)), horizons=horizons, cv=3, random_state=0
    ).fit(stack(d.X_hist, hist_m), d.y_hist)
    y_tilde = si.transform(stack(d.X, exp_m))

    A, P, X = d.treatment, d.propensity, d.X
    perm = rng.permutation(len(A))
    n_test = int(round(test_size * len(A)))
    test, train = np.sort(perm[:n_test]), np.sort(perm[n_test:])

    # DR scores of the realised long-term outcome on the test units (cross-fitted there)
    mu_test = _cross_fitted_mu(X[test], A[test], d.y_long[test], 2, None, 3, random_state)
    p_obs = P[np.arange(len(A)), A]
    gamma = dr_scores(mu_test, A[test], d.y_long[test], p_obs[test])
    v_none = d.policy_value(0, n_mc=n_mc)
    v_oracle = d.policy_value("oracle", n_mc=n_mc)

    def learn(y):
        return _fit_policy(policy, X[train], y[train], A[train], P[train])

    def describe(name, actions_test, true_value):
        est, se, lo, hi = _gain(gamma, actions_test, alpha)
        return {
            "policy": name,
            "dr_gain": est,
            "dr_gain_se": se,
            "dr_gain_low": lo,
            "dr_gain_high": hi,
            "true_gain": true_value - v_none,
            "share_treated": float(np.mean(actions_test != 0)),
        }

    truth_pol = learn(d.y_long)
    proxy_pol = learn(d.y_short)
    a_truth = np.asarray(truth_pol.predict(X[test]))
    a_proxy = np.asarray(proxy_pol.predict(X[test]))

    # ATE on the realised long-term outcome (AIPW) and the analytic truth
    ate_y = surrogate_ate(d.y_long, A, P, X=X, control=0, alpha=alpha, random_state=random_state)[1]
    ate_truth = pd.DataFrame(
        {
            "ate": [float(d.tau[:, 1].mean()), ate_y["ate"]],
            "ci_low": [np.nan, ate_y["ci_low"]],
            "ci_high": [np.nan, ate_y["ci_high"]],
        },
        index=["analytic mean of tau(x) over the experiment", "AIPW on realised long-term Y"],
    )

    month_rows, si_policies, si_rows = [], {}, {}
    for k, m in enumerate(months):
        ate = surrogate_ate(
            y_tilde[:, k], A, P, X=X, control=0, alpha=alpha, random_state=random_state
        )[1]
        pol = learn(y_tilde[:, k])
        si_policies[m] = pol
        a_si = np.asarray(pol.predict(X[test]))
        row = describe(
            f"surrogate index, {m} month{'' if m == 1 else 's'}",
            a_si,
            d.policy_value(pol, n_mc=n_mc),
        )
        si_rows[m] = dict(row)
        row.update(
            months=m,
            ate_si=ate["ate"],
            ate_si_low=ate["ci_low"],
            ate_si_high=ate["ci_high"],
            index_oof_r2=si.oof_r2_[f"{m}m"],
            agreement_with_truth_policy=float(np.mean(a_si == a_truth)),
        )
        row["diff_vs_truth"], row["diff_se"], row["diff_low"], row["diff_high"] = _paired(
            gamma, a_si, a_truth, alpha
        )
        month_rows.append(row)
    by_month = pd.DataFrame(month_rows).set_index("months")

    n = n_test
    policies = pd.DataFrame(
        [
            describe("status quo (treat no one)", np.zeros(n, dtype=int), v_none),
            describe("treat everyone", np.ones(n, dtype=int), d.policy_value(1, n_mc=n_mc)),
            describe("short-term proxy (revenue)", a_proxy, d.policy_value(proxy_pol, n_mc=n_mc)),
            describe("true long-term outcome", a_truth, d.policy_value(truth_pol, n_mc=n_mc)),
            si_rows[months[-1]],
            describe("oracle (true best arm)", np.argmax(d.mu_fn(X[test]), axis=1), v_oracle),
        ]
    ).set_index("policy")

    last = si_policies[months[-1]]
    x_fresh = np.random.default_rng(random_state + 1).standard_normal((n_mc // 4, X.shape[1]))
    agree_fresh = float(np.mean(last.predict(x_fresh) == truth_pol.predict(x_fresh)))
    diff = by_month.iloc[-1]
    si_vs_truth = pd.Series(
        {
            "months": months[-1],
            "dr_difference": diff["diff_vs_truth"],
            "ci_low": diff["diff_low"],
            "ci_high": diff["diff_high"],
            "true_difference": policies.iloc[4]["true_gain"] - policies.iloc[3]["true_gain"],
            "agreement_test_units": diff["agreement_with_truth_policy"],
            "agreement_fresh_units": agree_fresh,
        }
    )
    out = {
        "months": by_month,
        "policies": policies,
        "si_vs_truth": si_vs_truth,
        "ate_truth": ate_truth,
        "reference": pd.Series({"value_none": v_none, "value_oracle": v_oracle}),
    }
    if failure_modes is not False:
        out["failures"] = failure_table(
            n_historical,
            n_experimental,
            policy=policy,
            modes=None if failure_modes is True else failure_modes,
            n_mc=n_mc,
            random_state=random_state,
        )
    return out


def failure_table(
    n_historical=20_000,
    n_experimental=10_000,
    *,
    policy=None,
    modes=None,
    n_mc=200_000,
    random_state=0,
):
    """SI-based ATE and policy under violated assumptions, with the bias bound (eq. 31).

    Each row simulates data with one violation and the correctly specified linear index,
    by default with no latent treatment in the history (``historical_treatment_prob=0``,
    a row's keywords may override it), so that the violation is the only source of bias:
    a sign-preserving surrogacy violation (``lambda = +0.5``), a sign-flipping one
    (``lambda = -1.5``, Assumption 4 fails), a direct effect ``delta = 5`` of the
    treatment on Y with a history that never received the treatment and with one that
    did (30%), and a comparability shift (``kappa = 4``).
    The bound of eq. 31 is computed as the documentation recommends: ``var(Y)`` and the
    out-of-fold ``R2_{Y|S,X}`` of the index on the historical data, ``var(A)`` and the
    out-of-fold ``R2_{A|S,X}`` (linear regression of A on S and X) in the experiment.
    It bounds the bias of surrogacy violations only, and only when the history's residual
    variance reflects the violation: a direct effect the history never saw is missed once
    it exceeds the bound (``bound_covers`` False). Under a comparability shift it does not
    apply (``bound_applies`` False).

    Parameters
    ----------
    n_historical, n_experimental : int
        Sizes of the historical and experimental samples.
    policy : estimator, default=None
        Policy learner (``None``: ``DRPolicyClassifier(random_state=random_state)``).
    modes : dict, default=None
        ``{name: simulator keywords}``; ``None`` runs the six rows above.
    n_mc : int, default=200_000
        Monte Carlo sample of the true policy values.
    random_state : int, default=0
        Seed of the simulations.

    Returns
    -------
    DataFrame
        One row per violation.
    """
    from skcrm.datasets import make_surrogate_targeting

    policy = _default_policy(random_state) if policy is None else policy
    if modes is None:
        modes = {
            "no violation": {},
            "surrogacy, sign-preserving (lambda=+0.5)": {"surrogacy_violation": 0.5},
            "surrogacy, sign-flipping (lambda=-1.5)": {"surrogacy_violation": -1.5},
            "direct effect 5, history never treated": {"direct_effect": 5.0},
            "direct effect 5, history 30% treated": {
                "direct_effect": 5.0,
                "historical_treatment_prob": 0.3,
            },
            "comparability shift (kappa=4)": {"comparability_shift": 4.0},
        }
    rows = []
    for name, knobs in modes.items():
        sim = {"historical_treatment_prob": 0.0, **knobs}
        d = make_surrogate_targeting(n_historical, n_experimental, random_state=random_state, **sim)
        Zh, Ze = np.hstack([d.X_hist, d.S_hist]), np.hstack([d.X, d.S])
        si = SurrogateIndexTransformer(
            make_linear_index([(7, 5)]), covariate_cols=list(range(N_COV)), cv=5, random_state=0
        ).fit(Zh, d.y_hist)
        y_tilde = si.predict(Ze)
        ate = surrogate_ate(y_tilde, d.treatment, d.propensity, X=d.X, control=0, random_state=0)[1]
        true_ate = float(d.tau[:, 1].mean())
        a = d.treatment.astype(float)
        a_hat = cross_val_predict(LinearRegression(), Ze, a, cv=5)
        r2_a = 1 - np.sum((a - a_hat) ** 2) / np.sum((a - a.mean()) ** 2)
        bound = athey_bias_bound(np.var(d.y_hist), np.var(a), si.oof_r2_, r2_a)
        applies = "comparability_shift" not in knobs
        pol = _fit_policy(policy, d.X, y_tilde, d.treatment, d.propensity)
        v_none, v_oracle = d.policy_value(0, n_mc=n_mc), d.policy_value("oracle", n_mc=n_mc)
        v_si = d.policy_value(pol, n_mc=n_mc)
        rows.append(
            {
                "violation": name,
                "true_ate": true_ate,
                "si_ate": ate["ate"],
                "si_ate_bias": ate["ate"] - true_ate,
                "bias_bound_eq31": bound,
                "bound_applies": applies,
                "bound_covers": bool(abs(ate["ate"] - true_ate) <= bound) if applies else None,
                "r2_y_given_s_x": si.oof_r2_,
                "r2_a_given_s_x": r2_a,
                "si_policy_true_gain": v_si - v_none,
                "oracle_gain": v_oracle - v_none,
                "regret_fraction": (v_oracle - v_si) / (v_oracle - v_none),
            }
        )
    return pd.DataFrame(rows).set_index("violation")
