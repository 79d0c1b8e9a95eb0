"""POMDPPolicy with the logit / ordered-logit models (spec §2.4): wiring and consistency."""

import numpy as np
import pandas as pd
import pytest

from skcrm.datasets import make_pomdp_parametric
from skcrm.pomdp import POMDPModel, POMDPPolicy
from skcrm.pomdp._core import log_likelihood

N, T = 120, 30


def _kw(**extra):
    kw = {
        "transition_model": "logit",
        "emission_model": "ordered_logit",
        "n_init": 1,
        "n_belief_points": 21,
        "outcome_values": [0.0, 1.0, 3.0, 8.0],
        "action_costs": {0: 0.0, 5: 0.4, 15: 1.2},
        "discount": 0.9,
        "random_state": 0,
    }
    kw.update(extra)
    return kw


@pytest.fixture(scope="module")
def panel():
    X, y, truth = make_pomdp_parametric(N, T, random_state=2)
    return X, y, truth


@pytest.fixture(scope="module")
def with_covariates(panel):
    X, y, truth = panel
    est = POMDPPolicy(**_kw(action_features=truth.action_features, covariate_cols=["size"])).fit(
        X, y
    )
    return est


@pytest.fixture(scope="module")
def without_covariates(panel):
    X, y, _ = panel
    return POMDPPolicy(**_kw()).fit(X, y)


def test_no_covariates_gives_one_model_whose_numpy_loglik_equals_the_mle(panel, without_covariates):
    X, y, _ = panel
    est = without_covariates
    assert est.transmat_.shape == (3, 2, 2) and est.emissionprob_.shape == (3, 2, 4)
    assert not hasattr(est, "covariate_patterns_") or est.covariate_patterns_ is None
    acts = np.searchsorted(est.actions_, X["action"].to_numpy()).reshape(N, T)
    ll = log_likelihood(est.startprob_, est.transmat_, est.emissionprob_, acts, y.reshape(N, T))
    assert ll.sum() == pytest.approx(est.log_likelihood_, rel=1e-9)
    # dummies for actions 1, 2 in both logits: 2 (g0) + 4 (gA) + beta0, delta + 4 (bA) + s
    # + 2 (nu) + rho = 16 parameters
    assert est.n_params_ == 16
    assert est.bic_ == pytest.approx(16 * np.log(N * T) - 2 * est.log_likelihood_)


def test_state_zero_is_the_low_state(without_covariates):
    est = without_covariates
    assert np.all(np.diff(est.emission_intercepts_) > 0)
    ev = est.emissionprob_ @ est.outcome_values_
    assert np.all(ev[:, 0] < ev[:, 1])


def test_score_is_the_mle_loglik_per_observed_row(panel, with_covariates):
    X, y, _ = panel
    est = with_covariates
    assert est.score(X, y) == pytest.approx(est.log_likelihood_ / (N * T), rel=1e-9)
    b = est.transform(X, y)
    np.testing.assert_allclose(b.sum(1), 1.0, atol=1e-12)


def test_recommend_solves_each_customers_own_pomdp(panel, with_covariates):
    X, y, truth = panel
    est = with_covariates
    rec = est.recommend(X, y)
    assert len(est.covariate_patterns_) == N
    for cid in (0, 7):
        z = X.loc[X["customer_id"] == cid, "size"].iloc[0]
        pi, Q, P = est._customer_arrays(np.array([[z]]))
        R = np.einsum("asz,azy,y->sa", Q[0], P[0], est.outcome_values_) - est.action_costs_
        sol = POMDPModel(Q[0], P[0], R, 0.9).solve(21, belief_points=pi)
        b = rec.loc[cid, ["belief_state0", "belief_state1"]].to_numpy(dtype=float)
        assert rec.loc[cid, "dcv"] == pytest.approx(float(sol.value(b[None])[0]), rel=1e-6)
        vol = sol.value(b[None])[0] - sol.value(b[None], policy="open_loop")[0]
        assert rec.loc[cid, "vol"] == pytest.approx(float(vol), abs=1e-6)
    # customers differ: the covariate moves the value
    assert rec["dcv"].std() > 0.05
    dcv = est.dynamic_customer_value(X, y)
    np.testing.assert_allclose(dcv.to_numpy(), rec["dcv"].to_numpy())
    np.testing.assert_allclose(est.value_of_learning(X, y).to_numpy(), rec["vol"].to_numpy())


def test_predict_is_the_argmax_of_the_customers_q_values(panel, with_covariates):
    X, y, _ = panel
    est = with_covariates
    q = est.decision_function(X, y)
    assert q.shape == (N * T, 3)
    np.testing.assert_array_equal(est.predict(X, y), est.actions_[q.argmax(1)])
    proba = est.predict_outcome_proba(X, y, action=5)
    np.testing.assert_allclose(proba.sum(1), 1.0, atol=1e-12)


def test_unseen_covariate_values_are_solved_on_demand(panel, with_covariates):
    X, y, _ = panel
    est = with_covariates
    Xn = X[X["customer_id"] < 3].assign(size=lambda d: d["size"] + 0.123)
    rec = est.recommend(Xn, y[: len(Xn)])
    assert len(rec) == 3 and np.all(np.isfinite(rec["dcv"]))


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"transition_model": "logit"}, "go together"),
        (
            {"transition_model": "logit", "emission_model": "ordered_logit", "estimator": "em"},
            "mle",
        ),
        ({"estimator": "mle"}, "tabular models use"),
        ({"covariate_cols": ["size"]}, "need transition_model"),
    ],
)
def test_inconsistent_model_options_are_rejected(panel, params, match):
    X, y, _ = panel
    with pytest.raises(ValueError, match=match):
        POMDPPolicy(**params).fit(X, y)


def test_time_varying_covariate_is_rejected(panel):
    X, y, truth = panel
    Xb = X.assign(size=np.arange(len(X), dtype=float))
    with pytest.raises(ValueError, match="'size' must be constant within a customer"):
        POMDPPolicy(**_kw(covariate_cols=["size"])).fit(Xb, y)


def test_missing_action_feature_is_rejected(panel):
    X, y, _ = panel
    with pytest.raises(ValueError, match=r"no feature vector for action\(s\) \[15\]"):
        POMDPPolicy(**_kw(action_features={0: [0.0], 5: [0.5]})).fit(X, y)


def test_per_customer_horizon_curves_are_refused_with_covariates(panel, with_covariates):
    X, y, _ = panel
    with pytest.raises(ValueError, match="own POMDP"):
        with_covariates.vol_curve(X, y)
    assert isinstance(with_covariates.vol_curve(horizons=(12,)), pd.DataFrame)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # short EM
def test_refit_as_tabular_drops_the_parametric_state(panel):
    X, y, _ = panel
    keep = (X["customer_id"] < 40).to_numpy()
    X, y = X[keep], y[keep]
    est = POMDPPolicy(**_kw(covariate_cols=["size"]))
    est.fit(X, y)
    est.set_params(transition_model="tabular", emission_model="tabular", covariate_cols=None)
    est.set_params(n_init=1, max_iter=30).fit(X, y)
    assert not hasattr(est, "covariate_patterns_") and not hasattr(est, "coef_")
    assert est.recommend(X, y)["dcv"].nunique() > 1
