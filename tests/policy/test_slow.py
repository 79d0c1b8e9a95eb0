"""Spec 002 section 8 group C, slow statistical checks (`make test-slow`), on y_long.

True values come from the simulator's policy_value oracle on one common covariate sample.
"""

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression
from sklearn.tree import DecisionTreeClassifier

from skcrm.datasets import make_surrogate_targeting
from skcrm.policy import DRPolicyClassifier, PolicyTreeClassifier
from skcrm.policy._core import bootstrap_ci
from skcrm.utils import normal_ci

pytestmark = pytest.mark.slow
N_MC = 200_000


def _learn(d, outcome, n_train, **params):
    params.setdefault("control", 0)  # evaluate's gain needs the control named
    return DRPolicyClassifier(**params).fit(
        d.X[:n_train],
        outcome[:n_train],
        treatment=d.treatment[:n_train],
        propensity=d.propensity[:n_train],
    )


def _regret(d, pol):
    vo, vn = d.policy_value("oracle", n_mc=N_MC), d.policy_value(0, n_mc=N_MC)
    return (vo - d.policy_value(pol, n_mc=N_MC)) / (vo - vn)


def test_c1_c2_k2_default_learner_ten_seeds():
    regrets = []
    for seed in range(10):
        d = make_surrogate_targeting(10, 10_000, n_actions=2, random_state=seed)
        pol = _learn(d, d.y_long, 8000, random_state=seed)
        proxy = _learn(d, d.y_short, 8000, random_state=seed)
        v = d.policy_value(pol, n_mc=N_MC)
        assert v - d.policy_value(0, n_mc=N_MC) >= 1.5
        assert v - d.policy_value(1, n_mc=N_MC) >= 1.0
        assert v - d.policy_value(proxy, n_mc=N_MC) >= 1.5
        regrets.append(_regret(d, pol))
    assert max(regrets) <= 0.15
    assert np.mean(regrets) <= 0.08


def test_c4_k4_ovo_depth3_trees_ten_seeds():
    tree = DecisionTreeClassifier(max_depth=3, min_samples_leaf=50, random_state=0)
    regrets = []
    for seed in range(10):
        d = make_surrogate_targeting(10, 10_000, n_actions=4, random_state=seed)
        kw = {"policy_model": tree, "reduction": "ovo", "random_state": seed}
        pol = _learn(d, d.y_long, 8000, **kw)
        proxy = _learn(d, d.y_short, 8000, **kw)
        v = d.policy_value(pol, n_mc=N_MC)
        assert v - max(d.policy_value(a, n_mc=N_MC) for a in range(4)) >= 0.5
        assert v - d.policy_value(proxy, n_mc=N_MC) >= 1.0
        regrets.append(_regret(d, pol))
    assert max(regrets) <= 0.40
    assert np.mean(regrets) <= 0.30


def test_c5_regret_shrinks_with_sample_size():
    mean_regret = {}
    for n in (2000, 16_000):
        regrets = []
        for seed in range(5):
            d = make_surrogate_targeting(10, n, n_actions=2, random_state=seed)
            regrets.append(_regret(d, _learn(d, d.y_long, n, random_state=seed)))
        mean_regret[n] = np.mean(regrets)
    assert mean_regret[16_000] < mean_regret[2000]


def test_c6_holdout_ci_covers_true_value_of_learned_policy():
    cover = {"normal": 0, "bootstrap": 0, "gain": 0}
    n_rep = 100
    for seed in range(n_rep):
        d = make_surrogate_targeting(10, 5000, n_actions=2, random_state=seed)
        pol = _learn(d, d.y_long, 4000, random_state=seed)
        res = pol.evaluate(
            d.X[4000:],
            d.y_long[4000:],
            treatment=d.treatment[4000:],
            propensity=d.propensity[4000:],
            n_boot=500,
            random_state=seed,
        )
        v_true = d.policy_value(pol, n_mc=N_MC)
        gain_true = v_true - d.policy_value(0, n_mc=N_MC)
        cover["normal"] += res["ci"][0] <= v_true <= res["ci"][1]
        cover["bootstrap"] += res["ci_bootstrap"][0] <= v_true <= res["ci_bootstrap"][1]
        cover["gain"] += res["gain_ci"][0] <= gain_true <= res["gain_ci"][1]
    for key, hits in cover.items():
        assert 0.90 <= hits / n_rep <= 0.99, (key, hits)


@pytest.mark.parametrize("n_actions", [2, 4])
def test_c7_fixed_policy_coverage(n_actions):
    big = make_surrogate_targeting(10, 10, n_actions=n_actions, random_state=0)
    last = n_actions - 1
    truth = {
        "oracle": big.policy_value("oracle", n_mc=1_000_000),
        "none": big.policy_value(0, n_mc=1_000_000),
        "last": big.policy_value(last, n_mc=1_000_000),
    }
    truth["oracle-none"] = truth["oracle"] - truth["none"]
    hits = {k: [0, 0] for k in truth}
    errors = {k: [] for k in truth}
    n_rep = 400
    for rep in range(n_rep):
        d = make_surrogate_targeting(10, 2000, n_actions=n_actions, random_state=1000 + rep)
        pol = DRPolicyClassifier(
            LinearRegression(),
            policy_model=PolicyTreeClassifier(max_depth=1),
            outcome_per_action=True,
            random_state=rep,
        ).fit(d.X, d.y_long, treatment=d.treatment, propensity=d.propensity)
        G = pol.dr_scores_
        psi = {
            "oracle": G[np.arange(2000), d.oracle_action],
            "none": G[:, 0],
            "last": G[:, last],
        }
        psi["oracle-none"] = psi["oracle"] - psi["none"]
        for key, values in psi.items():
            m, se = values.mean(), values.std(ddof=1) / np.sqrt(2000)
            lo, hi = normal_ci(m, se)
            blo, bhi = bootstrap_ci(values, n_boot=400, rng=rep)
            hits[key][0] += lo <= truth[key] <= hi
            hits[key][1] += blo <= truth[key] <= bhi
            errors[key].append(m - truth[key])
    for key in truth:
        for h in hits[key]:
            assert 0.91 <= h / n_rep <= 0.98, (key, hits[key])
        assert abs(np.mean(errors[key])) <= 0.05, key
