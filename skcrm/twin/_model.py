"""The negative ELBO of Eq. (11) and its training step, in JAX (built lazily, never pickled).

The variational family: mean-field Normal for ``alpha``, LogNormal for
``beta`` and ``phi``, Normal on the unconstrained cut points; ``z`` is integrated out by
Gauss-Hermite ("marginal") or drawn once from N(mu, nu) ("amortized", paper-literal).
Every KL term is in closed form except the induced-Dirichlet prior of the cut points,
which uses the same reparameterised draw as the likelihood.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import numpy as np

from ._core import (
    GAMMA_CLIP,
    LOG_SCALE_CLIP,
    amortized_loglik,
    cutpoints_from_unconstrained,
    induced_dirichlet_logpdf,
    kl_lognormal_gamma,
    kl_lognormal_halfnormal,
    kl_normal,
    make_mlp,
    marginal_loglik,
)


class ModelConfig(NamedTuple):
    """Static (hashable) configuration: a change recompiles, the same one reuses the cache."""

    n_targets: int
    n_cells: int
    n_firm_factors: int
    f_hidden: tuple
    n_offsets: int  # 0, or J: per-target offsets delta_j(x) from f (``target_offsets``)
    activation: str
    g_kind: str  # "mlp" | "linear" | "none"
    g_hidden: tuple
    local_inference: str
    firm_inference: str
    n_quadrature: int
    alpha_prior_scale: float
    beta_prior_scale: float
    cutpoint_concentration: float
    cutpoint_anchor: float
    learning_rate: float
    weight_decay: float


def _scale(raw):
    import jax.numpy as jnp

    return jnp.exp(jnp.clip(raw, -12.0, 4.0))


def firm_prior(params, kpi, cfg):
    """Gamma(shape, rate) of phi per cell from g(KPI) (or learned constants), (C, L) each."""
    import jax.numpy as jnp

    L = cfg.n_firm_factors
    if cfg.g_kind == "none":
        out = jnp.broadcast_to(params["g"]["const"], (cfg.n_cells, 2 * L))
    else:
        hidden = cfg.g_hidden if cfg.g_kind == "mlp" else ()
        out = make_mlp(hidden, 2 * L, "tanh").apply({"params": params["g"]}, kpi)
    out = jnp.exp(jnp.clip(out, *GAMMA_CLIP))
    return out[:, :L], out[:, L:]


def encoder_moments(params, x, cfg):
    """mu and sd = sqrt(nu) of z from the customer network f, Eqs. (6)-(7), and the
    per-target offsets delta(x) (n, J) of ``target_offsets`` (None without them)."""
    import jax.numpy as jnp

    out = make_mlp(cfg.f_hidden, 2 + cfg.n_offsets, cfg.activation).apply(
        {"params": params["f"]}, x
    )
    mu = out[:, 0]
    sd = jnp.exp(0.5 * jnp.clip(out[:, 1], *LOG_SCALE_CLIP))
    return mu, sd, (out[:, 2:] if cfg.n_offsets else None)


def global_noise_shapes(cfg, n_cut):
    """Shapes of the standard-normal draws that reparameterise the global latents."""
    J, C, L = cfg.n_targets, cfg.n_cells, cfg.n_firm_factors
    return {"alpha": (J, C), "beta": (J, L), "phi": (C, L), "cut": (J, n_cut)}


def draw_noise(rng, cfg, n_cut, n_rows, n_mc=None):
    """Standard-normal noise drawn on the host (numpy ``Generator``): the jitted functions
    take it as input, which keeps JAX's PRNG out of the compiled program (compile time)."""
    lead = () if n_mc is None else (n_mc,)
    out = {
        k: rng.standard_normal(lead + s, dtype=np.float32)
        for k, s in global_noise_shapes(cfg, n_cut).items()
    }
    out["z"] = rng.standard_normal(lead + (n_rows,), dtype=np.float32)
    out["gamma_seed"] = np.asarray(rng.integers(0, 2**31 - 1, size=lead + (2,)), np.uint32)
    return out


def sample_globals(params, noise, kpi, cut_mask, cfg):
    """One reparameterised draw of (alpha, lambda, c) and the KL of all global latents."""
    import jax
    import jax.numpy as jnp

    a_loc, a_sd = params["alpha_loc"], _scale(params["alpha_raw"])
    alpha = a_loc + a_sd * noise["alpha"]
    kl = jnp.sum(kl_normal(a_loc, a_sd, cfg.alpha_prior_scale))

    b_loc, b_sd = params["beta_loc"], _scale(params["beta_raw"])
    beta = jnp.exp(b_loc + b_sd * noise["beta"])
    kl += jnp.sum(kl_lognormal_halfnormal(b_loc, b_sd, cfg.beta_prior_scale))

    shape, rate = firm_prior(params, kpi, cfg)
    if cfg.firm_inference == "amortized":
        key = jax.random.wrap_key_data(noise["gamma_seed"], impl="threefry2x32")
        phi = jax.random.gamma(key, shape) / rate
    else:
        p_loc, p_sd = params["phi_loc"], _scale(params["phi_raw"])
        phi = jnp.exp(p_loc + p_sd * noise["phi"])
        kl += jnp.sum(kl_lognormal_gamma(p_loc, p_sd, shape, rate))
    lam = beta @ phi.T  # (J, C): lambda_jkt = sum_l beta_jl phi_ktl

    c_loc, c_sd = params["cut_loc"], _scale(params["cut_raw"])
    u = c_loc + c_sd * noise["cut"]
    cut, log_jac = cutpoints_from_unconstrained(u, cut_mask)
    neg_entropy = -jnp.sum(cut_mask * (0.5 * jnp.log(2 * jnp.pi * jnp.e) + jnp.log(c_sd)))
    log_prior = induced_dirichlet_logpdf(
        cut, cut_mask, cfg.cutpoint_concentration, cfg.cutpoint_anchor
    )
    kl += neg_entropy - jnp.sum(log_prior + log_jac)
    return alpha.reshape(alpha.shape[0], -1), lam, cut, kl


def local_loglik(params, noise, glob, batch, cfg):
    """Per-row local term l_i of the ELBO at each row's own cell."""
    import jax
    import jax.numpy as jnp

    from ._core import gauss_hermite

    alpha, lam, cut, _ = glob
    x, cell, y, mask = batch["x"], batch["cell"], batch["y"], batch["mask"]
    mu, sd, off = encoder_moments(params, x, cfg)
    onehot = jax.nn.one_hot(cell, cfg.n_cells, dtype=mu.dtype)  # matmul, not gather
    a = onehot @ alpha.T
    if off is not None:
        a = a + off
    l = onehot @ lam.T
    if cfg.local_inference == "amortized":
        return amortized_loglik(mu, sd, a, l, cut, y, mask, noise["z"])
    nodes, weights = gauss_hermite(cfg.n_quadrature)
    return marginal_loglik(
        mu, sd, a, l, cut, y, mask, jnp.asarray(nodes, mu.dtype), jnp.log(jnp.asarray(weights))
    )


def loss_fn(params, noise, batch, kpi, cut_mask, n_batches, n_total, cfg):
    """Minibatch estimate of the full-data negative ELBO per individual:
    ``(-n_batches sum_B w_i l_i + KL + weight_decay ||theta_f||^2) / N``."""
    import jax
    import jax.numpy as jnp

    glob = sample_globals(params, noise, kpi, cut_mask, cfg)
    ll = local_loglik(params, noise, glob, batch, cfg)
    local = -n_batches * jnp.sum(batch["w"] * ll)
    penalty = cfg.weight_decay * sum(
        jnp.sum(leaf**2) for leaf in jax.tree_util.tree_leaves(params["f"])
    )
    return (local + glob[3] + penalty) / n_total


def make_optimizer(cfg):
    import optax

    return optax.adam(cfg.learning_rate)


_JITTED: dict = {}


def _compiled(name):
    """Module-level jitted functions, built once per process (static ``cfg``)."""
    if name not in _JITTED:
        import jax
        import optax

        if name == "step":

            def step(params, opt_state, noise, batch, kpi, cut_mask, n_batches, n_total, cfg):
                loss, grads = jax.value_and_grad(loss_fn)(
                    params, noise, batch, kpi, cut_mask, n_batches, n_total, cfg
                )
                updates, opt_state = make_optimizer(cfg).update(grads, opt_state, params)
                return optax.apply_updates(params, updates), opt_state, loss

            _JITTED[name] = jax.jit(step, static_argnames=("cfg",))
        elif name == "eval":

            def evaluate(params, noise, batch, kpi, cut_mask, cfg):
                def one(nz):
                    glob = sample_globals(params, nz, kpi, cut_mask, cfg)
                    return local_loglik(params, nz, glob, batch, cfg), glob[3]

                ll, kl = jax.lax.map(one, noise)
                return ll.mean(0), kl.mean()

            _JITTED[name] = jax.jit(evaluate, static_argnames=("cfg",))
    return _JITTED[name]


def train_step(*args, **kwargs):
    """One Adam step on a minibatch; returns (params, opt_state, loss)."""
    return _compiled("step")(*args, **kwargs)


def evaluate(*args, **kwargs):
    """Per-row local term averaged over the draws (leading axis of ``noise``) of the
    globals, and the mean KL."""
    return _compiled("eval")(*args, **kwargs)


def init_params(key, cfg, n_inputs, n_kpi, cut_init, beta_init=0.5):
    """Initial parameter pytree (flax params of f and g plus the variational parameters)."""
    import jax
    import jax.numpy as jnp

    J, C, L = cfg.n_targets, cfg.n_cells, cfg.n_firm_factors
    k_f, k_g = jax.random.split(key)
    f = make_mlp(cfg.f_hidden, 2 + cfg.n_offsets, cfg.activation).init(
        k_f, jnp.zeros((1, n_inputs))
    )["params"]
    if cfg.g_kind == "none":
        g = {"const": jnp.full((2 * L,), np.log(2.0), jnp.float32)}
    else:
        hidden = cfg.g_hidden if cfg.g_kind == "mlp" else ()
        g = make_mlp(hidden, 2 * L, "tanh").init(k_g, jnp.zeros((1, n_kpi)))["params"]
    f32 = partial(jnp.asarray, dtype=jnp.float32)
    return {
        "f": f,
        "g": g,
        "alpha_loc": jnp.zeros((J, C), jnp.float32),
        "alpha_raw": jnp.full((J, C), np.log(0.05), jnp.float32),
        "beta_loc": jnp.full((J, L), np.log(beta_init), jnp.float32),
        "beta_raw": jnp.full((J, L), np.log(0.05), jnp.float32),
        "phi_loc": jnp.zeros((C, L), jnp.float32),
        "phi_raw": jnp.full((C, L), np.log(0.05), jnp.float32),
        "cut_loc": f32(cut_init),
        "cut_raw": jnp.full(np.shape(cut_init), np.log(0.05), jnp.float32),
    }
