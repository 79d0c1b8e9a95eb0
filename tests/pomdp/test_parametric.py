"""Parametric logit / ordered-logit IO-HMM (spec §2.1, §2.4): exact checks of the math core."""

import itertools

import numpy as np
import pytest

from skcrm.pomdp._parametric import (
    Layout,
    emission_probs,
    forward_loglik,
    initial_probs,
    model_arrays,
    transition_probs,
    unpack,
)
from skcrm.utils._jax import x64

LAYOUT = Layout(n_states=3, n_outcomes=4, d_a=2, d_z=2)


def _theta(layout, seed=0):
    return np.random.default_rng(seed).normal(0, 0.7, size=layout.size)


def _inputs(seed=0, N=4):
    rng = np.random.default_rng(seed)
    F = np.array([[0.0, 0.0], [1.0, 0.5], [2.0, 4.0]])
    Z = rng.normal(size=(N, 2))
    return F, Z


def _sig(x):
    return 1 / (1 + np.exp(-x))


def test_transition_rows_are_distributions():
    F, Z = _inputs()
    Q = transition_probs(_theta(LAYOUT), LAYOUT, F, Z)
    assert Q.shape == (4, 3, 3, 3)
    np.testing.assert_allclose(Q.sum(-1), 1.0, atol=1e-12)
    assert Q.min() > 0


def test_transition_matches_logit_relative_to_staying():
    F, Z = _inputs()
    th = _theta(LAYOUT)
    p = unpack(th, LAYOUT)
    Q = transition_probs(th, LAYOUT, F, Z)
    i, a, j = 2, 1, 1
    # moves from state 1: column 0 -> state 0, column 1 -> state 2
    eta = p["g0"][j] + p["gA"][j] @ F[a] + p["gZ"][j] @ Z[i]
    denom = 1 + np.exp(eta).sum()
    expected = np.array([np.exp(eta[0]), 1.0, np.exp(eta[1])]) / denom
    np.testing.assert_allclose(Q[i, a, j], expected, rtol=1e-12)


def test_emission_matches_ordered_logit_with_monotone_intercepts_and_scaled_cuts():
    F, Z = _inputs()
    th = _theta(LAYOUT, 1)
    p = unpack(th, LAYOUT)
    P = emission_probs(th, LAYOUT, F, Z)
    np.testing.assert_allclose(P.sum(-1), 1.0, atol=1e-12)
    assert P.min() > 0
    i, a, j = 3, 2, 2
    beta = p["beta0"][0] + np.exp(p["delta"][0]) + np.exp(p["delta"][1])
    x = beta + F[a] @ p["bA"][j] + Z[i] @ p["bZ"]
    sigma = np.exp(p["s"][j - 1])
    scale = np.exp(p["tau"] @ Z[i])
    mu = np.array([0.0, np.exp(p["nu"][0]), np.exp(p["nu"][0]) + np.exp(p["nu"][1])]) * scale
    cdf = np.r_[0.0, _sig((mu - x) / sigma), 1.0]
    np.testing.assert_allclose(P[i, a, j], np.diff(cdf), rtol=1e-10)


def test_higher_state_has_stochastically_higher_outcomes():
    # beta_j = beta_{j-1} + exp(delta_j) with a common scale: Pr(Y <= l) falls with j
    lay = Layout(n_states=3, n_outcomes=4, d_a=2, d_z=2, fixed_scale=True)
    F, Z = _inputs()
    th = _theta(lay, 2)
    p = unpack(th, lay)
    p["bA"][:] = 0.0
    th = np.concatenate([p[n].ravel() for n, _ in lay.blocks])
    cdf = emission_probs(th, lay, F, Z).cumsum(-1)[..., :-1]
    assert np.all(np.diff(cdf, axis=2) < 0)


def test_initial_probs_use_state0_as_base():
    th = _theta(LAYOUT, 3)
    rho = unpack(th, LAYOUT)["rho"]
    pi = initial_probs(th, LAYOUT)
    np.testing.assert_allclose(pi, np.r_[1.0, np.exp(rho)] / (1 + np.exp(rho).sum()))


def _brute_force_loglik(pi, Q, P, actions, outcomes):
    total = 0.0
    K = len(pi)
    for i in range(actions.shape[0]):
        T = int((actions[i] >= 0).sum())
        lik = 0.0
        for path in itertools.product(range(K), repeat=T + 1):
            pr = pi[path[0]]
            for t in range(T):
                a, y = actions[i, t], outcomes[i, t]
                pr *= Q[i, a, path[t], path[t + 1]]
                if y >= 0:
                    pr *= P[i, a, path[t + 1], y]
            lik += pr
        total += np.log(lik)
    return total


def test_forward_loglik_equals_sum_over_hidden_paths():
    F, Z = _inputs(N=3)
    th = _theta(LAYOUT, 4)
    actions = np.array([[0, 2, 1, 1], [2, 2, 0, -1], [1, 0, -1, -1]])
    outcomes = np.array([[3, 0, -1, 2], [1, 0, 3, -1], [0, 2, -1, -1]])  # -1: missing/pad
    pi, Q, P = model_arrays(th, LAYOUT, F, Z)
    expected = _brute_force_loglik(pi, Q, P, actions, outcomes)
    import jax.numpy as jnp

    with x64():
        got = float(forward_loglik(jnp.asarray(th), LAYOUT, F, Z, actions, outcomes))
    assert got == pytest.approx(expected, rel=1e-12)


def test_forward_loglik_gradient_equals_finite_differences():
    import jax
    import jax.numpy as jnp

    F, Z = _inputs(N=3)
    th = _theta(LAYOUT, 5)
    actions = np.array([[0, 2, 1, 1], [2, 2, 0, 1], [1, 0, 2, -1]])
    outcomes = np.array([[3, 0, 1, 2], [1, 0, 3, -1], [0, 2, 1, -1]])
    with x64():
        f = jax.jit(lambda t: forward_loglik(t, LAYOUT, F, Z, actions, outcomes))
        g = np.asarray(jax.jit(jax.grad(f))(jnp.asarray(th)))
        h = 1e-6
        eye = np.eye(len(th))
        fd = np.array(
            [
                (float(f(jnp.asarray(th + h * e))) - float(f(jnp.asarray(th - h * e)))) / (2 * h)
                for e in eye
            ]
        )
    assert np.all(np.abs(g) > 0)  # every parameter enters the likelihood
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-7)


def _mle_on_simulated(N, T, seed, n_init):
    from skcrm.datasets import make_pomdp_parametric
    from skcrm.pomdp._parametric import fit_mle

    X, y, truth = make_pomdp_parametric(N, T, random_state=seed)
    F = np.array([truth.action_features[a] for a in truth.actions.tolist()])
    acts = np.searchsorted(truth.actions, X["action"].to_numpy()).reshape(N, T)
    Z = X.groupby("customer_id")["size"].first().to_numpy()[:, None]
    res = fit_mle(acts, y.reshape(N, T), F, Z, truth.layout(), n_init=n_init, rng=0)
    return res, truth


@pytest.fixture(scope="module")
def mle300():
    return _mle_on_simulated(300, 40, seed=0, n_init=1)


def test_mle_recovers_parametric_truth_within_standard_errors(mle300):
    res, truth = mle300
    z = (res["theta"] - truth.theta) / res["se"]
    assert res["converged"]
    assert np.all(np.isfinite(res["se"]))
    assert np.max(np.abs(z)) < 3.5  # 16 parameters: |z| < 3.5 fails with prob. ~0.7%
    # the standard errors are small enough that the check means something (the initial
    # state logit rests on 300 first periods only: se ~0.4)
    assert np.max(res["se"][:-1]) < 0.25
    assert res["se"][-1] < 0.5
    # ... and every estimate is close in absolute terms
    assert np.max(np.abs(res["theta"] - truth.theta)) < 0.6


def test_mle_loglik_not_below_the_truth(mle300):
    import jax.numpy as jnp

    from skcrm.datasets import make_pomdp_parametric

    res, truth = mle300
    X, y, _ = make_pomdp_parametric(300, 40, random_state=0)
    F = np.array([truth.action_features[a] for a in truth.actions.tolist()])
    acts = np.searchsorted(truth.actions, X["action"].to_numpy()).reshape(300, 40)
    Z = X.groupby("customer_id")["size"].first().to_numpy()[:, None]
    with x64():
        ll_true = float(
            forward_loglik(jnp.asarray(truth.theta), truth.layout(), F, Z, acts, y.reshape(300, 40))
        )
    assert res["loglik"] >= ll_true - 1e-6
    assert res["loglik"] - ll_true < 20  # chi2_16 / 2: the MLE gain over the truth is small


@pytest.mark.slow
def test_mle_recovers_parametric_truth_at_scale():
    res, truth = _mle_on_simulated(3000, 60, seed=1, n_init=2)
    err = np.abs(res["theta"] - truth.theta)
    assert np.max(err / res["se"]) < 4.0
    assert np.max(err[:-1]) < 0.15  # all but the initial-state logit
    assert err[-1] < 0.3


def test_standard_errors_match_the_autodiff_hessian():
    import jax
    import jax.numpy as jnp

    from skcrm.pomdp._parametric import _hessian_fd

    F, Z = _inputs(N=3)
    th = _theta(LAYOUT, 6)
    actions = np.array([[0, 2, 1, 1], [2, 2, 0, 1], [1, 0, 2, -1]])
    outcomes = np.array([[3, 0, 1, 2], [1, 0, 3, -1], [0, 2, 1, -1]])
    with x64():
        f = jax.jit(lambda t: forward_loglik(t, LAYOUT, F, Z, actions, outcomes))
        exact = np.asarray(jax.hessian(f)(jnp.asarray(th)))
        g = jax.jit(jax.grad(f))
        fd = _hessian_fd(lambda t: np.asarray(g(jnp.asarray(t))), th)
    np.testing.assert_allclose(fd, exact, rtol=1e-5, atol=1e-6)
