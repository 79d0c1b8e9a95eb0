"""Spec 002 section 8 group C (fast variants): policy learning on the simulator, true values
from its policy_value oracle with common random numbers. Run on the true long-term outcome
y_long (the surrogate index is a separate estimator)."""

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingRegressor

from skcrm.datasets import make_surrogate_targeting
from skcrm.policy import DRPolicyClassifier

N_MC = 200_000
SEEDS = (0, 1, 2)


def _fast_mu():
    return HistGradientBoostingRegressor(max_iter=30, random_state=0)


def _learn(d, outcome, n_train, **params):
    params.setdefault("random_state", 0)
    params.setdefault("control", 0)
    return DRPolicyClassifier(**params).fit(
        d.X[:n_train],
        outcome[:n_train],
        treatment=d.treatment[:n_train],
        propensity=d.propensity[:n_train],
    )


@pytest.fixture(scope="module")
def runs():
    """K = 2, n_exp = 4,000, 80% to learn: true values of learned and baseline policies."""
    out = []
    for seed in SEEDS:
        d = make_surrogate_targeting(10, 4000, n_actions=2, random_state=seed)
        pol = _learn(d, d.y_long, 3200, random_state=seed)
        proxy = _learn(d, d.y_short, 3200, random_state=seed)
        v = {
            name: d.policy_value(p, n_mc=N_MC)
            for name, p in (
                ("learned", pol),
                ("proxy", proxy),
                ("none", 0),
                ("all", 1),
                ("oracle", "oracle"),
            )
        }
        out.append((d, pol, v))
    return out


def _regret(v):
    return (v["oracle"] - v["learned"]) / (v["oracle"] - v["none"])


def test_c1_regret_fraction_fast_variant(runs):
    regrets = np.array([_regret(v) for _, _, v in runs])
    assert regrets.max() <= 0.25
    assert regrets.mean() <= 0.15


def test_c2_learned_policy_beats_baselines(runs):
    for _, _, v in runs:
        assert v["learned"] - v["none"] >= 1.5
        assert v["learned"] - v["all"] >= 1.0
        assert v["learned"] - v["proxy"] >= 1.5  # the short-term proxy under-treats


def test_c9_bootstrap_thompson_sampling_shares():
    d = make_surrogate_targeting(10, 4000, n_actions=2, random_state=0)
    det = _learn(d, d.y_long, 4000, outcome_model=_fast_mu())
    bts = _learn(d, d.y_long, 4000, outcome_model=_fast_mu(), n_bootstrap=50, bts_floor=0.05)
    P = bts.predict_proba(d.X)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, atol=1e-12)
    assert P.min() >= 0.05 - 1e-12
    assert np.mean(bts.actions_[np.argmax(P, axis=1)] == det.predict(d.X)) >= 0.80
    # some rows are uncertain: the bootstrap policies disagree on them
    assert np.any((P[:, 1] > 0.1) & (P[:, 1] < 0.9))


def test_action_costs_are_net_of_value(runs):
    d = runs[0][0]
    costly = _learn(d, d.y_long, 4000, outcome_model=_fast_mu(), action_costs=[0.0, 1e4])
    assert np.all(costly.predict(d.X) == 0)  # no DR gain comes near 1e4
    # score is net of cost: the same policy scored without costs differs by its mean cost
    plain = _learn(d, d.y_long, 4000, outcome_model=_fast_mu())
    priced = _learn(d, d.y_long, 4000, outcome_model=_fast_mu(), action_costs={1: 1.0})
    same = np.array_equal(plain.predict(d.X), priced.predict(d.X))
    kw = {"treatment": d.treatment, "propensity": d.propensity}
    if same:
        share = np.mean(plain.predict(d.X) == 1)
        assert priced.score(d.X, d.y_long, **kw) == pytest.approx(
            plain.score(d.X, d.y_long, **kw) - share, abs=1e-9
        )
    assert np.mean(priced.predict(d.X) == 1) <= np.mean(plain.predict(d.X) == 1)


def test_max_treated_fraction_caps_and_ranks_by_gain(runs):
    d = runs[0][0]
    free = _learn(d, d.y_long, 4000, outcome_model=_fast_mu())
    capped = _learn(d, d.y_long, 4000, outcome_model=_fast_mu(), max_treated_fraction=0.1)
    a_free, a_cap = free.predict(d.X), capped.predict(d.X)
    assert np.mean(a_free == 1) > 0.2
    assert np.mean(a_cap == 1) <= 0.1 + 1e-12
    gain = capped.predict_value(d.X)[:, 0]
    # the treated are the free policy's treated units with the largest estimated gains
    assert np.all(a_free[a_cap == 1] == 1)
    assert gain[a_cap == 1].min() >= gain[(a_free == 1) & (a_cap == 0)].max()


def test_evaluate_reports_value_se_cis_gain_and_agreement(runs):
    d, pol, _ = runs[0]
    X, y, a, P = d.X[3200:], d.y_long[3200:], d.treatment[3200:], d.propensity[3200:]
    res = pol.evaluate(X, y, treatment=a, propensity=P, policy=0, n_boot=500, random_state=0)
    assert res["value"] == pytest.approx(pol.score(X, y, treatment=a, propensity=P))
    lo, hi = res["ci"]
    assert lo < res["value"] < hi
    assert (hi - lo) == pytest.approx(2 * 1.959964 * res["se"], rel=1e-6)
    blo, bhi = res["ci_bootstrap"]
    assert abs(blo - lo) < 0.25 * (hi - lo) and abs(bhi - hi) < 0.25 * (hi - lo)
    assert res["gain"] == pytest.approx(res["value"] - res["baseline_value"], abs=1e-10)
    assert res["difference"] == pytest.approx(res["gain"], abs=1e-10)  # vs always control
    assert res["agreement"] == pytest.approx(res["action_shares"][0])
    assert sum(res["action_shares"].values()) == pytest.approx(1.0)


def test_score_baseline_control_is_gain(runs):
    d, pol, _ = runs[0]
    X, y, a, P = d.X[3200:], d.y_long[3200:], d.treatment[3200:], d.propensity[3200:]
    kw = {"treatment": a, "propensity": P}
    res = pol.evaluate(X, y, **kw, n_boot=10)
    pol_gain = DRPolicyClassifier(**{**pol.get_params(), "score_baseline": "control"})
    pol_gain.__dict__.update({k: v for k, v in pol.__dict__.items() if k.endswith("_")})
    pol_gain._policy_state = pol._policy_state
    assert pol_gain.score(X, y, **kw) == pytest.approx(res["gain"], abs=1e-10)
