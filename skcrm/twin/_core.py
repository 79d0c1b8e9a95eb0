"""Pure functions of the digital-twin model (Levy 2024), in JAX and numpy.

Arrays in, arrays out. JAX functions (``jnp``) are used inside the training objective;
their ``*_np`` twins (float64 numpy) serve prediction, so that a fitted model predicts
without compiling anything. Equation numbers are the paper's.

Padding convention: cut points of all targets live in one ``(J, M_max - 1)`` array; the
cut points past a target's last category are the sentinel ``CUT_SENTINEL`` (their
categories get probability 0), which lets every function vectorise over targets.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, gammaln, log_expit

CUT_SENTINEL = 1e4
LOG_SCALE_CLIP = (-10.0, 6.0)
GAMMA_CLIP = (-8.0, 8.0)

__all__ = [
    "CUT_SENTINEL",
    "gauss_hermite",
    "cutpoints_from_unconstrained_np",
    "ordinal_probs_np",
    "ordinal_log_prob_np",
    "induced_dirichlet_logpdf_np",
    "marginal_loglik_np",
    "posterior_node_weights_np",
    "kl_normal",
    "mlp_forward_np",
]


# --------------------------------------------------------------------------- numpy side
def gauss_hermite(n_quadrature):
    """Probabilists' Gauss-Hermite nodes and weights normalised to sum to one.

    ``sum_q w_q g(node_q)`` approximates ``E[g(e)]`` for ``e ~ N(0, 1)``.

    Examples
    --------
    >>> nodes, w = gauss_hermite(16)
    >>> round(float((w * nodes**2).sum()), 10)
    1.0
    """
    nodes, weights = np.polynomial.hermite_e.hermegauss(int(n_quadrature))
    return nodes, weights / weights.sum()


def cutpoints_from_unconstrained_np(u, mask):
    """Ordered cut points ``c_1 = u_1``, ``c_m = c_{m-1} + exp(u_m)``.

    ``u`` and ``mask`` have shape (J, M_max - 1); padded entries become ``CUT_SENTINEL``.
    """
    u = np.asarray(u, dtype=float)
    steps = np.concatenate([u[:, :1], np.exp(np.clip(u[:, 1:], -20, 20))], axis=1)
    c = np.cumsum(steps, axis=1)
    return np.where(mask, c, CUT_SENTINEL)


def _extended(cut):
    """(J, M_max + 1) cut points with -/+ sentinels at both ends."""
    cut = np.asarray(cut, dtype=float)
    lo = np.full(cut.shape[:-1] + (1,), -CUT_SENTINEL)
    hi = np.full(cut.shape[:-1] + (1,), CUT_SENTINEL)
    return np.concatenate([lo, cut, hi], axis=-1)


def ordinal_probs_np(eta, cut):
    """Ordered-logit category probabilities, Eq. (10).

    Parameters
    ----------
    eta : ndarray (..., J)
        Linear predictors ``alpha_jkt + z * lambda_jkt``.
    cut : ndarray (J, M_max - 1)
        Increasing cut points per target (padded with ``CUT_SENTINEL``).

    Returns
    -------
    ndarray (..., J, M_max)
        ``P(y_j = m) = Pi(c_m - eta) - Pi(c_{m-1} - eta)`` with ``Pi`` the logistic CDF.

    Examples
    --------
    >>> ordinal_probs_np(np.array([0.5]), np.array([[-1.0, 0.0, 1.0]])).round(6)
    array([[0.182426, 0.195115, 0.244919, 0.377541]])
    """
    ext = _extended(cut)
    cdf = expit(ext - np.asarray(eta)[..., None])
    return np.diff(cdf, axis=-1)


def _log_interval_prob(lo, hi):
    """log(sigma(hi) - sigma(lo)) for lo < hi, stably:
    sigma(b) - sigma(a) = sigma(b) sigma(-a) (1 - exp(a - b))."""
    return log_expit(hi) + log_expit(-lo) + np.log(-np.expm1(np.minimum(lo - hi, -1e-12)))


def ordinal_log_prob_np(eta, cut, y):
    """log P(y_j | eta_j) of the observed categories ``y`` (int codes, same shape as eta)."""
    ext = _extended(cut)
    y = np.asarray(y, dtype=int)
    J = ext.shape[0]
    idx = np.broadcast_to(np.arange(J), y.shape)
    lo = ext[idx, y] - eta
    hi = ext[idx, y + 1] - eta
    return _log_interval_prob(lo, hi)


def induced_dirichlet_logpdf_np(c, kappa=1.0, anchor=0.0):
    """Betancourt's induced-Dirichlet log density of one ordered cut-point vector ``c``.

    Closed form: ``log Dir(p(c) | kappa) + log M + sum_m log rho_m`` with
    ``rho_m = sigma(a - c_m)(1 - sigma(a - c_m))``.

    Examples
    --------
    >>> round(float(induced_dirichlet_logpdf_np(np.array([-1.0, 0.5, 2.0]))), 6)
    -2.15048
    """
    c = np.asarray(c, dtype=float)
    M = c.shape[-1] + 1
    kappa = np.broadcast_to(np.asarray(kappa, dtype=float), c.shape[:-1] + (M,))
    s = expit(anchor - c)
    ones = np.ones(c.shape[:-1] + (1,))
    zeros = np.zeros(c.shape[:-1] + (1,))
    cum = np.concatenate([ones, s, zeros], axis=-1)
    p = cum[..., :-1] - cum[..., 1:]
    log_dir = gammaln(kappa.sum(-1)) - gammaln(kappa).sum(-1) + ((kappa - 1) * np.log(p)).sum(-1)
    log_rho = (log_expit(anchor - c) + log_expit(c - anchor)).sum(-1)
    return log_dir + np.log(M) + log_rho


def kl_normal(loc, scale, prior_scale=1.0):
    """KL(N(loc, scale^2) || N(0, prior_scale^2)), elementwise (works on numpy and jax)."""
    log = np.log if isinstance(scale, np.ndarray | float | int) else _jax()[1].log
    return np.log(prior_scale) - log(scale) + (scale**2 + loc**2) / (2 * prior_scale**2) - 0.5


def marginal_loglik_np(mu, sd, alpha, lam, cut, y, mask, nodes, weights):
    """Local term of the "marginal" ELBO: log int prod_j p(y_ij | z) N(z; mu, sd^2) dz.

    ``mu``, ``sd`` (n,); ``alpha``, ``lam`` (n, J) at each row's cell; ``y``, ``mask`` (n, J).
    """
    zq = mu[:, None] + sd[:, None] * nodes[None, :]
    eta = alpha[:, None, :] + zq[:, :, None] * lam[:, None, :]
    lp = ordinal_log_prob_np(eta, cut, np.broadcast_to(y[:, None, :], eta.shape))
    lq = (lp * mask[:, None, :]).sum(-1) + np.log(weights)[None, :]
    m = lq.max(1, keepdims=True)
    return (m + np.log(np.exp(lq - m).sum(1, keepdims=True)))[:, 0]


def posterior_node_weights_np(mu, sd, alpha, lam, cut, y, mask, nodes, weights):
    """Posterior weights of the quadrature nodes given observed answers: p(z_q | x, y_obs)."""
    zq = mu[:, None] + sd[:, None] * nodes[None, :]
    eta = alpha[:, None, :] + zq[:, :, None] * lam[:, None, :]
    lp = ordinal_log_prob_np(eta, cut, np.broadcast_to(y[:, None, :], eta.shape))
    lq = (lp * mask[:, None, :]).sum(-1) + np.log(weights)[None, :]
    lq = lq - lq.max(1, keepdims=True)
    w = np.exp(lq)
    return w / w.sum(1, keepdims=True)


def _activation_np(name):
    if name == "tanh":
        return np.tanh
    if name == "relu":
        return lambda a: np.maximum(a, 0.0)
    from scipy.special import erf

    return lambda a: 0.5 * a * (1 + erf(a / np.sqrt(2)))  # exact gelu


def mlp_forward_np(params, x, n_hidden, activation="tanh"):
    """Numpy forward pass of the flax ``MLP`` (Eqs. 1-5 then the linear head).

    ``params`` is the flax parameter dict ``{"Dense_0": {"kernel", "bias"}, ...}``.
    """
    act = _activation_np(activation)
    h = np.asarray(x, dtype=float)
    for i in range(n_hidden):
        layer = params[f"Dense_{i}"]
        h = act(h @ np.asarray(layer["kernel"], float) + np.asarray(layer["bias"], float))
    last = params[f"Dense_{n_hidden}"]
    return h @ np.asarray(last["kernel"], float) + np.asarray(last["bias"], float)


# ----------------------------------------------------------------------------- JAX side
def _jax():
    import jax
    import jax.numpy as jnp

    return jax, jnp


_MLP_CLASS = []


def make_mlp(features, n_out, activation="tanh"):
    """A flax ``linen`` MLP: hidden ``features`` with ``activation`` (Eqs. 1-5), then a
    linear head (Eqs. 6-7). ``features=()`` gives one Dense layer (the linear encoders)."""
    if not _MLP_CLASS:
        import flax.linen as nn
        import jax

        acts = {
            "tanh": jax.numpy.tanh,
            "relu": jax.nn.relu,
            "gelu": lambda a: jax.nn.gelu(a, approximate=False),
        }

        class MLP(nn.Module):
            hidden: tuple
            out: int
            activation: str = "tanh"

            @nn.compact
            def __call__(self, x):
                for width in self.hidden:
                    x = acts[self.activation](nn.Dense(width)(x))
                return nn.Dense(self.out)(x)

        _MLP_CLASS.append(MLP)
    return _MLP_CLASS[0](
        hidden=tuple(int(f) for f in features), out=int(n_out), activation=activation
    )


def cutpoints_from_unconstrained(u, mask):
    """JAX version of :func:`cutpoints_from_unconstrained_np`; also returns the
    log-Jacobian ``sum_{m >= 2} u_m`` of the map (masked)."""
    _, jnp = _jax()
    steps = jnp.concatenate([u[:, :1], jnp.exp(jnp.clip(u[:, 1:], -20.0, 20.0))], axis=1)
    c = jnp.cumsum(steps, axis=1)
    log_jac = jnp.sum(jnp.where(mask[:, 1:], u[:, 1:], 0.0), axis=1)
    return jnp.where(mask, c, CUT_SENTINEL), log_jac


def induced_dirichlet_logpdf(c, mask, kappa=1.0, anchor=0.0):
    """JAX induced-Dirichlet log density of padded cut points (J, M_max - 1) -> (J,).

    Padded entries are excluded; ``M_j = 1 + sum(mask_j)``.
    """
    jax, jnp = _jax()
    from jax.scipy.special import gammaln as jgammaln

    M = 1.0 + jnp.sum(mask, axis=1)
    cs = jnp.where(mask, c, 0.0)
    s = jnp.where(mask, jax.nn.sigmoid(anchor - cs), 0.0)
    ones = jnp.ones((c.shape[0], 1))
    zeros = jnp.zeros((c.shape[0], 1))
    cum = jnp.concatenate([ones, s, zeros], axis=1)
    p = cum[:, :-1] - cum[:, 1:]
    valid = jnp.concatenate([ones > 0, mask], axis=1)
    log_p = jnp.log(jnp.where(valid, jnp.clip(p, 1e-30, None), 1.0))
    log_dir = (
        jgammaln(kappa * M)
        - M * jgammaln(jnp.asarray(kappa, dtype=c.dtype))
        + (kappa - 1.0) * jnp.sum(jnp.where(valid, log_p, 0.0), axis=1)
    )
    log_rho = jnp.sum(
        jnp.where(mask, jax.nn.log_sigmoid(anchor - cs) + jax.nn.log_sigmoid(cs - anchor), 0.0),
        axis=1,
    )
    return log_dir + jnp.log(M) + log_rho


def ordinal_log_prob(eta, cut, y):
    """JAX log P(y | eta) of Eq. (10); ``eta``, ``y`` (..., J) with ``cut`` (J, M_max - 1)."""
    jax, jnp = _jax()
    J = cut.shape[0]
    lo_s = jnp.full((J, 1), -CUT_SENTINEL, dtype=cut.dtype)
    hi_s = jnp.full((J, 1), CUT_SENTINEL, dtype=cut.dtype)
    ext = jnp.concatenate([lo_s, cut, hi_s], axis=1)
    idx = jnp.broadcast_to(jnp.arange(J), y.shape)
    lo = ext[idx, y] - eta
    hi = ext[idx, y + 1] - eta
    gap = jnp.minimum(lo - hi, -1e-6)
    return jax.nn.log_sigmoid(hi) + jax.nn.log_sigmoid(-lo) + jnp.log(-jnp.expm1(gap))


def marginal_loglik(mu, sd, alpha, lam, cut, y, mask, nodes, log_weights):
    """JAX "marginal" local term, eq. (11) with z integrated out by Gauss-Hermite."""
    jax, jnp = _jax()
    zq = mu[:, None] + sd[:, None] * nodes[None, :]
    eta = alpha[:, None, :] + zq[:, :, None] * lam[:, None, :]
    yb = jnp.broadcast_to(y[:, None, :], eta.shape)
    lp = ordinal_log_prob(eta, cut, yb)
    lq = jnp.sum(lp * mask[:, None, :], axis=-1) + log_weights[None, :]
    return jax.scipy.special.logsumexp(lq, axis=1)


def amortized_loglik(mu, sd, alpha, lam, cut, y, mask, eps):
    """JAX paper-literal local term: one reparameterised draw z = mu + sd * eps."""
    _, jnp = _jax()
    z = mu + sd * eps
    eta = alpha + z[:, None] * lam
    return jnp.sum(ordinal_log_prob(eta, cut, y) * mask, axis=-1)


def lognormal_entropy(loc, scale):
    """Entropy of LogNormal(loc, scale): loc + 1/2 + log(scale sqrt(2 pi))."""
    _, jnp = _jax()
    return loc + 0.5 + jnp.log(scale) + 0.5 * jnp.log(2 * jnp.pi)


def kl_lognormal_halfnormal(loc, scale, prior_scale=1.0):
    """KL(LogNormal(loc, scale) || HalfNormal(prior_scale)) in closed form.

    ``E[log p(b)] = log 2 - log(prior_scale sqrt(2 pi)) - E[b^2] / (2 prior_scale^2)``
    with ``E[b^2] = exp(2 loc + 2 scale^2)``.
    """
    _, jnp = _jax()
    e_b2 = jnp.exp(2 * loc + 2 * scale**2)
    e_logp = (
        jnp.log(2.0)
        - jnp.log(prior_scale)
        - 0.5 * jnp.log(2 * jnp.pi)
        - e_b2 / (2 * prior_scale**2)
    )
    return -lognormal_entropy(loc, scale) - e_logp


def kl_lognormal_gamma(loc, scale, shape, rate):
    """KL(LogNormal(loc, scale) || Gamma(shape, rate)) in closed form.

    ``E[log p] = shape log rate - lgamma(shape) + (shape - 1) loc - rate exp(loc + scale^2/2)``.
    """
    _, jnp = _jax()
    from jax.scipy.special import gammaln as jgammaln

    e_logp = (
        shape * jnp.log(rate)
        - jgammaln(shape)
        + (shape - 1) * loc
        - rate * jnp.exp(loc + 0.5 * scale**2)
    )
    return -lognormal_entropy(loc, scale) - e_logp
