"""Optional Bayesian fit of the attribute BG/NBD with numpyro NUTS (our extension).

The latent lambda_i and theta_i are integrated out in closed form (Eq. 3), so the posterior
is over the 4 + p population parameters only. JAX and numpyro are imported inside the
functions; float64 is scoped to the call with :func:`skcrm.utils._jax.x64`.
"""

from __future__ import annotations

import numpy as np

__all__ = ["nuts_posterior"]


def _jax_log_likelihood(theta, data, mixing):
    """Weighted sum of Eq. (3) in jax.numpy (same stable form as the numpy core)."""
    import jax
    import jax.numpy as jnp
    from jax.scipy.special import betaln, gammaln

    r, alpha, d1, d2 = jnp.exp(theta[:4])
    coef = theta[4:]
    n, R, A, w = data["n"], data["R"], data["A"], data["weight"]
    U, V = data["U0"], data["V0"]
    if data["F"].shape[0]:
        q = jnp.exp(data["F"] @ coef)
        m = n.shape[0]
        U = U + jax.ops.segment_sum(q * (1.0 - data["last"]), data["cust"], num_segments=m)
        V = V + jax.ops.segment_sum(q, data["cust"], num_segments=m)

    def log_s(B):
        if mixing == "gamma":
            return -d1 * jnp.log1p(B / d2)
        return betaln(d1, d2 + B) - betaln(d1, d2)

    lSU = log_s(U)
    lrho = jnp.minimum(log_s(V) - lSU, 0.0)
    lw = (r + n) * (jnp.log(alpha + R) - jnp.log(alpha + A))
    l1mrho = jnp.log(-jnp.expm1(jnp.minimum(lrho, -1e-300)))
    l1mrho = jnp.where(lrho < 0, l1mrho, -jnp.inf)
    lD = jnp.logaddexp(l1mrho, lrho + lw)
    ll = gammaln(r + n) - gammaln(r) + r * jnp.log(alpha) - (r + n) * jnp.log(alpha + R)
    return jnp.sum(w * (ll + lSU + lD))


def nuts_posterior(
    theta_init,
    H,
    mixing,
    *,
    num_warmup=500,
    num_samples=1000,
    num_chains=1,
    prior_scale_log=1.5,
    prior_scale_coef=1.0,
    random_state=None,
    verbose=0,
):
    """Posterior draws of (ln r, ln alpha, ln d1, ln d2, coef) by NUTS.

    Priors (weakly informative, on the rescaled time axis): Normal(0, 1.5) on the
    log-parameters and Normal(0, 1) on the coefficients. Returns a numpy array of shape
    (num_chains * num_samples, 4 + p).
    """
    import jax.numpy as jnp
    import numpyro
    import numpyro.distributions as dist
    from numpyro.infer import MCMC, NUTS, init_to_value

    from ..utils._jax import jax_key, x64

    with x64():
        data = {
            "n": jnp.asarray(H.n),
            "R": jnp.asarray(H.R),
            "A": jnp.asarray(H.A),
            "weight": jnp.asarray(H.weight),
            "U0": jnp.asarray(H.U0),
            "V0": jnp.asarray(H.V0),
            "F": jnp.asarray(H.job_F),
            "cust": jnp.asarray(H.job_customer),
            "last": jnp.asarray(H.job_last.astype(float)),
        }
        p = theta_init.size - 4

        def model():
            logs = numpyro.sample("logs", dist.Normal(0.0, prior_scale_log).expand([4]).to_event(1))
            if p:
                coef = numpyro.sample(
                    "coef", dist.Normal(0.0, prior_scale_coef).expand([p]).to_event(1)
                )
                theta = jnp.concatenate([logs, coef])
            else:
                theta = logs
            numpyro.factor("loglik", _jax_log_likelihood(theta, data, mixing))

        init = {"logs": jnp.asarray(theta_init[:4])}
        if p:
            init["coef"] = jnp.asarray(theta_init[4:])
        mcmc = MCMC(
            NUTS(model, init_strategy=init_to_value(values=init)),
            num_warmup=num_warmup,
            num_samples=num_samples,
            num_chains=num_chains,
            chain_method="sequential",
            progress_bar=bool(verbose),
        )
        mcmc.run(jax_key(random_state))
        draws = mcmc.get_samples()
        out = np.array(draws["logs"], dtype=float)
        if p:
            out = np.concatenate([out, np.asarray(draws["coef"], dtype=float)], axis=1)
    return out
