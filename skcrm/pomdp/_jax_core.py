"""JAX E-step (scaled forward-backward with expected counts) for large panels.

The same computation as :func:`skcrm.pomdp._core.forward_backward`, written as two
``lax.scan`` passes over periods (vectorised over customers, ``vmap`` over restarts) and
compiled once per panel shape; float64 is scoped to the call (``skcrm.utils._jax.x64``).
Used by :func:`skcrm.pomdp._em.fit_em` for panels above a size threshold, where it is
several times faster than numpy; JAX is imported only here.
"""

from __future__ import annotations

import functools

import numpy as np

__all__ = ["forward_backward_jax", "prepare_panel"]


@functools.lru_cache(maxsize=8)
def _compiled(A, K, L):
    import jax
    import jax.numpy as jnp

    def estep(pi, Q, P, actions, outcomes):
        # actions, outcomes: (T, N) with -1 padding / missing; Q (A, K, K), P (A, K, L)
        Q_ext = jnp.concatenate([Q, jnp.eye(K)[None]], axis=0)  # pad action = identity
        P_ext = jnp.concatenate([P, jnp.ones((A, K, 1))], axis=2)  # missing outcome = 1
        P_ext = jnp.concatenate([P_ext, jnp.ones((1, K, L + 1))], axis=0)
        a_idx = jnp.where(actions < 0, A, actions)
        y_idx = jnp.where(outcomes < 0, L, outcomes)
        E = P_ext[a_idx, :, y_idx]  # (T, N, K)
        N = actions.shape[1]
        start = jnp.broadcast_to(pi, (N, K))

        def fwd(prev, inp):
            a, e = inp
            pred = jnp.einsum("nk,nkj->nj", prev, Q_ext[a])
            joint = pred * e
            c = jnp.maximum(joint.sum(-1), 1e-300)
            alpha = joint / c[:, None]
            return alpha, (alpha, c)

        _, (alpha, c) = jax.lax.scan(fwd, start, (a_idx, E))
        alpha_prev = jnp.concatenate([start[None], alpha[:-1]], axis=0)

        def bwd(carry, inp):
            beta, tc, ec = carry
            a, y, e, ct, al, alp = inp
            gamma = al * beta
            w = e * beta / ct[:, None]
            Qa = Q_ext[a]
            xi = alp[:, :, None] * Qa * w[:, None, :]
            tc = tc.at[a].add(xi)
            ec = ec.at[a, :, y].add(gamma)
            beta_prev = jnp.einsum("nkj,nj->nk", Qa, w)
            return (beta_prev, tc, ec), None

        init = (jnp.ones((N, K)), jnp.zeros((A + 1, K, K)), jnp.zeros((A + 1, K, L + 1)))
        (beta0, tc, ec), _ = jax.lax.scan(
            bwd, init, (a_idx, y_idx, E, c, alpha, alpha_prev), reverse=True
        )
        post0 = start * beta0
        post0 = post0 / post0.sum(-1, keepdims=True)
        return jnp.log(c).sum(), post0.sum(0), tc[:A], ec[:A, :, :L]

    return jax.jit(jax.vmap(estep, in_axes=(0, 0, 0, None, None)))


def prepare_panel(actions, outcomes):
    """Time-major int32 device copies of the panel, made once per fit."""
    import jax.numpy as jnp

    return (
        jnp.asarray(np.ascontiguousarray(actions.T), dtype=jnp.int32),
        jnp.asarray(np.ascontiguousarray(outcomes.T), dtype=jnp.int32),
    )


def forward_backward_jax(startprob, transition, emission, actions, outcomes, prepared=None):
    """Batched E-step; same outputs as :func:`skcrm.pomdp._core.forward_backward`.

    Parameters
    ----------
    startprob : (R, K), transition : (R, A, K, K), emission : (R, A, K, L)
    actions, outcomes : int arrays (N, T), -1 for padding / missing

    Returns
    -------
    loglik (R,), start_counts (R, K), trans_counts (R, A, K, K), emit_counts (R, A, K, L)
    as numpy arrays.
    """
    import jax.numpy as jnp

    from skcrm.utils._jax import x64

    R, A, K, L = emission.shape
    with x64():
        fn = _compiled(A, K, L)
        acts_t, outs_t = prepared if prepared is not None else prepare_panel(actions, outcomes)
        out = fn(
            jnp.asarray(startprob, dtype=jnp.float64),
            jnp.asarray(transition, dtype=jnp.float64),
            jnp.asarray(emission, dtype=jnp.float64),
            acts_t,
            outs_t,
        )
        return tuple(np.asarray(x, dtype=np.float64) for x in out)
