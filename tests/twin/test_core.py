"""Exact checks of the model's pure functions (checks 1-3, and the KLs)."""

import numpy as np
import pytest
from scipy import integrate, stats
from scipy.special import expit, logit

from skcrm.twin._core import (
    CUT_SENTINEL,
    cutpoints_from_unconstrained_np,
    gauss_hermite,
    induced_dirichlet_logpdf_np,
    marginal_loglik_np,
    mlp_forward_np,
    ordinal_log_prob_np,
    ordinal_probs_np,
    posterior_node_weights_np,
)

CUT = np.array([[-1.0, 0.0, 1.0]])


def test_ordinal_probs_match_published_values_and_sum_to_one():
    p = ordinal_probs_np(np.array([0.5]), CUT)[0]
    np.testing.assert_allclose(p, [0.182426, 0.195115, 0.244919, 0.377541], atol=1e-6)
    assert p.sum() == pytest.approx(1.0, abs=1e-12)


def test_ordinal_probs_equal_direct_logistic_differences():
    rng = np.random.default_rng(0)
    cut = np.sort(rng.normal(size=(1, 6)), axis=1)
    eta = rng.normal(size=(50, 1)) * 3
    p = ordinal_probs_np(eta, cut)[:, 0]
    F = np.column_stack([np.zeros(50), expit(cut[0][None] - eta), np.ones(50)])
    np.testing.assert_allclose(p, np.diff(F, axis=1), atol=1e-12)
    np.testing.assert_allclose(p.sum(1), 1.0, atol=1e-12)


def test_log_prob_of_observed_category_agrees_with_probability_vector():
    rng = np.random.default_rng(1)
    eta = rng.normal(size=(200, 1)) * 4
    p = ordinal_probs_np(eta, CUT)[:, 0]
    for m in range(4):
        lp = ordinal_log_prob_np(eta, CUT, np.full((200, 1), m))[:, 0]
        np.testing.assert_allclose(np.exp(lp), p[:, m], rtol=1e-9, atol=1e-14)


def test_padded_categories_have_zero_probability():
    cut = np.array([[-1.0, 0.0, 1.0], [0.0, CUT_SENTINEL, CUT_SENTINEL]])
    p = ordinal_probs_np(np.array([[0.3, 0.3]]), cut)[0]
    np.testing.assert_allclose(p[1, 2:], 0.0, atol=1e-12)
    np.testing.assert_allclose(p.sum(1), 1.0, atol=1e-12)


def test_jax_log_prob_matches_numpy():
    import jax.numpy as jnp

    from skcrm.twin._core import ordinal_log_prob

    rng = np.random.default_rng(2)
    cut = np.array([[-1.0, 0.0, 1.0], [-0.5, 0.5, CUT_SENTINEL]])
    eta = rng.normal(size=(30, 2)) * 2
    y = np.column_stack([rng.integers(0, 4, 30), rng.integers(0, 3, 30)])
    expected = ordinal_log_prob_np(eta, cut, y)
    got = ordinal_log_prob(jnp.asarray(eta, jnp.float32), jnp.asarray(cut, jnp.float32), y)
    np.testing.assert_allclose(np.asarray(got), expected, atol=2e-5)


def _betancourt_full(c, kappa, anchor=0.0):
    """Induced Dirichlet with the full Jacobian and slogdet (Betancourt 2020)."""
    M = len(c) + 1
    s = expit(anchor - c)
    p = np.concatenate([[1 - s[0]], s[:-1] - s[1:], [s[-1]]])
    J = np.zeros((M, M))
    J[:, 0] = 1.0
    for k in range(1, M):
        rho = s[k - 1] * (1 - s[k - 1])
        J[k, k] = -rho
        J[k - 1, k] = rho
    return stats.dirichlet.logpdf(p, np.full(M, kappa)) + np.linalg.slogdet(J)[1]


@pytest.mark.parametrize("M", [3, 5, 11])
@pytest.mark.parametrize("kappa", [1.0, 2.5])
def test_induced_dirichlet_closed_form_matches_slogdet(M, kappa):
    rng = np.random.default_rng(M)
    for _ in range(5):
        c = np.sort(rng.normal(scale=1.5, size=M - 1))
        closed = induced_dirichlet_logpdf_np(c, kappa=kappa)
        assert closed == pytest.approx(_betancourt_full(c, kappa), abs=1e-4)


def test_induced_dirichlet_example_value():
    assert induced_dirichlet_logpdf_np(np.array([-1.0, 0.5, 2.0])) == pytest.approx(
        -2.150480, abs=1e-6
    )


def test_jax_induced_dirichlet_matches_numpy_with_padding():
    import jax.numpy as jnp

    from skcrm.twin._core import induced_dirichlet_logpdf

    c = np.array([[-1.0, 0.5, 2.0, 0.0], [-0.3, 0.4, 0.0, 0.0]])
    mask = np.array([[1, 1, 1, 0], [1, 1, 0, 0]], dtype=np.float32)
    got = np.asarray(induced_dirichlet_logpdf(jnp.asarray(c, jnp.float32), mask, 2.5, 0.0))
    expected = [
        induced_dirichlet_logpdf_np(c[0, :3], kappa=2.5),
        induced_dirichlet_logpdf_np(c[1, :2], kappa=2.5),
    ]
    np.testing.assert_allclose(got, expected, atol=1e-4)


def test_dirichlet_draw_maps_to_cutpoints_that_recover_it():
    rng = np.random.default_rng(3)
    p = rng.dirichlet(np.ones(6))
    a = 0.0
    tail = np.cumsum(p[::-1])[::-1]  # sum_{m' >= m}
    c = a - logit(tail[1:])
    np.testing.assert_allclose(ordinal_probs_np(np.array([a]), c[None])[0], p, atol=1e-12)


def test_cutpoint_transform_is_increasing_and_masked():
    u = np.array([[0.3, -1.0, 2.0], [-0.5, 0.0, 0.0]])
    mask = np.array([[1, 1, 1], [1, 1, 0]], dtype=bool)
    c = cutpoints_from_unconstrained_np(u, mask)
    np.testing.assert_allclose(c[0], [0.3, 0.3 + np.exp(-1.0), 0.3 + np.exp(-1.0) + np.exp(2.0)])
    assert c[1, 2] == CUT_SENTINEL and c[1, 1] == pytest.approx(0.5)


def _quad_log_marginal(mu, sd, y, lam, alpha):
    def integrand(z):
        eta = alpha + z * lam
        lp = ordinal_log_prob_np(eta[None], np.repeat(CUT, 3, 0), y[None])[0].sum()
        return np.exp(lp) * stats.norm.pdf(z, mu, sd)

    return np.log(integrate.quad(integrand, mu - 12 * sd, mu + 12 * sd, limit=200)[0])


@pytest.mark.parametrize(("sd", "tol"), [(0.3, 1e-4), (1.0, 1e-4), (2.0, 1e-2)])
def test_gauss_hermite_marginal_matches_quad(sd, tol):
    y = np.array([2, 3, 0])
    lam, alpha = np.array([1.0, 1.5, 0.7]), np.array([0.0, 0.2, -0.3])
    nodes, w = gauss_hermite(16)
    for mu in (-0.5, 0.4):
        gh = marginal_loglik_np(
            np.array([mu]),
            np.array([sd]),
            alpha[None],
            lam[None],
            np.repeat(CUT, 3, 0),
            y[None],
            np.ones((1, 3)),
            nodes,
            w,
        )[0]
        assert gh == pytest.approx(_quad_log_marginal(mu, sd, y, lam, alpha), abs=tol)


def test_thirty_two_nodes_reach_3e4_at_sd_two():
    y = np.array([2, 3, 0])
    lam, alpha = np.array([1.0, 1.5, 0.7]), np.array([0.0, 0.2, -0.3])
    nodes, w = gauss_hermite(32)
    gh = marginal_loglik_np(
        np.array([0.4]),
        np.array([2.0]),
        alpha[None],
        lam[None],
        np.repeat(CUT, 3, 0),
        y[None],
        np.ones((1, 3)),
        nodes,
        w,
    )[0]
    assert gh == pytest.approx(_quad_log_marginal(0.4, 2.0, y, lam, alpha), abs=1e-3)


def test_jax_marginal_loglik_matches_numpy():
    import jax.numpy as jnp

    from skcrm.twin._core import marginal_loglik

    rng = np.random.default_rng(4)
    n = 20
    mu, sd = rng.normal(size=n), np.exp(rng.normal(size=n) * 0.3)
    alpha, lam = rng.normal(size=(n, 3)), np.exp(rng.normal(size=(n, 3)))
    y, mask = rng.integers(0, 4, (n, 3)), (rng.random((n, 3)) > 0.3).astype(float)
    cut = np.repeat(CUT, 3, 0)
    nodes, w = gauss_hermite(16)
    expected = marginal_loglik_np(mu, sd, alpha, lam, cut, y, mask, nodes, w)
    f32 = lambda a: jnp.asarray(a, jnp.float32)  # noqa: E731
    got = marginal_loglik(
        f32(mu),
        f32(sd),
        f32(alpha),
        f32(lam),
        f32(cut),
        y,
        f32(mask),
        f32(nodes),
        jnp.log(f32(w)),
    )
    np.testing.assert_allclose(np.asarray(got), expected, atol=1e-4)


def test_posterior_node_weights_are_bayes_rule_on_the_grid():
    nodes, w = gauss_hermite(16)
    y = np.array([[3, 3, 3]])
    post = posterior_node_weights_np(
        np.zeros(1),
        np.ones(1),
        np.zeros((1, 3)),
        np.ones((1, 3)),
        np.repeat(CUT, 3, 0),
        y,
        np.ones((1, 3)),
        nodes,
        w,
    )[0]
    lik = np.exp(
        ordinal_log_prob_np(
            nodes[:, None] * np.ones(3), np.repeat(CUT, 3, 0), np.full((16, 3), 3)
        ).sum(1)
    )
    np.testing.assert_allclose(post, w * lik / (w * lik).sum(), rtol=1e-10)
    assert (post * nodes).sum() > 0.5  # top answers pull z up


def test_kl_lognormal_gamma_closed_form_matches_monte_carlo():
    import jax.numpy as jnp

    from skcrm.twin._core import kl_lognormal_gamma

    loc, scale, shape, rate = 0.2, 0.4, 2.5, 1.7
    rng = np.random.default_rng(5)
    x = np.exp(loc + scale * rng.normal(size=400_000))
    mc = np.mean(
        stats.lognorm.logpdf(x, scale, scale=np.exp(loc))
        - stats.gamma.logpdf(x, shape, scale=1 / rate)
    )
    closed = float(kl_lognormal_gamma(jnp.float32(loc), jnp.float32(scale), shape, rate))
    assert closed == pytest.approx(mc, abs=5e-3)


def test_kl_lognormal_halfnormal_closed_form_matches_monte_carlo():
    import jax.numpy as jnp

    from skcrm.twin._core import kl_lognormal_halfnormal

    loc, scale = -0.3, 0.5
    rng = np.random.default_rng(6)
    x = np.exp(loc + scale * rng.normal(size=400_000))
    mc = np.mean(stats.lognorm.logpdf(x, scale, scale=np.exp(loc)) - stats.halfnorm.logpdf(x))
    closed = float(kl_lognormal_halfnormal(jnp.float32(loc), jnp.float32(scale)))
    assert closed == pytest.approx(mc, abs=5e-3)


def test_kl_normal_closed_form_matches_monte_carlo():
    from skcrm.twin._core import kl_normal

    rng = np.random.default_rng(7)
    x = 0.4 + 0.3 * rng.normal(size=400_000)
    mc = np.mean(stats.norm.logpdf(x, 0.4, 0.3) - stats.norm.logpdf(x, 0, 2.0))
    assert kl_normal(np.array(0.4), np.array(0.3), 2.0) == pytest.approx(mc, abs=5e-3)


def test_numpy_mlp_forward_matches_flax():
    import jax
    import jax.numpy as jnp

    from skcrm.twin._core import make_mlp

    for act in ("tanh", "relu", "gelu"):
        module = make_mlp((5, 4), 2, act)
        params = module.init(jax.random.key(0), jnp.zeros((1, 3)))["params"]
        x = np.random.default_rng(8).normal(size=(10, 3)).astype(np.float32)
        expected = np.asarray(module.apply({"params": params}, x))
        got = mlp_forward_np(jax.tree_util.tree_map(np.asarray, params), x, 2, act)
        np.testing.assert_allclose(got, expected, atol=1e-5)
