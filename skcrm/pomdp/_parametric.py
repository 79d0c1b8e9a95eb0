"""Parametric IO-HMM: logit transitions and ordered-logit emissions with covariates.

The dissertation's model (Fan 2015 §2.2.1-2.2.4) in the library's form
("Model families"):

* transition (multinomial logit relative to staying, §2.2.3): for ``j' != j``
  ``eta[i, a, j, j'] = g0[j, j'] + f(a) . gA[j, j'] + z_i . gZ[j, j']`` and
  ``Q[i, a, j, :] = softmax([eta[i, a, j, j'] for j' != j] and 0 for j' = j)``;
* emission (ordered logit, §2.2.2): latent utility
  ``x[i, a, j] = beta_j + f(a) . bA[j] + z_i . bZ`` with monotone intercepts
  ``beta_j = beta_{j-1} + exp(delta_j)`` and scale ``sigma_j = exp(s_j)`` (``s_0 = 0``:
  the scale of state 0 is the unit); cut points ``mu_0 = 0`` and
  ``mu_l = sum_{k<=l} exp(nu_k) * exp(tau . z_i)``; ``Pr(Y <= l) = Lambda((mu_l - x) / sigma_j)``;
* initial state: a shared multinomial logit with state 0 as base (or fixed).

All functions take a flat parameter vector ``theta`` and a static :class:`Layout`; they are
written with ``jax.numpy`` so that ``jax.grad`` differentiates the forward-algorithm
log-likelihood (§2.2.4), a ``lax.scan`` over periods vectorised over customers. Callers
scope float64 with :func:`skcrm.utils._jax.x64`. :func:`fit_mle` maximises it with
L-BFGS-B (scipy) on the JAX value and gradient, with restarts and inverse-Hessian
standard errors; it returns numpy arrays only. JAX is imported inside the functions.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

__all__ = [
    "Layout",
    "unpack",
    "transition_probs",
    "emission_probs",
    "initial_probs",
    "model_arrays",
    "forward_loglik",
    "fit_mle",
    "minimize_mle",
    "negative_loglik_and_grad",
    "default_action_features",
    "forward_filter_customers",
    "initial_theta",
]


@dataclass(frozen=True)
class Layout:
    """Sizes of the parametric model; ``d_a`` action features, ``d_z`` covariates.

    ``fixed_scale`` fixes every ``sigma_j = 1`` (needed when ``n_outcomes < 3``: with one
    cut point the scale is not identified). ``estimate_initial=False`` takes the initial
    distribution from the caller.
    """

    n_states: int
    n_outcomes: int
    d_a: int
    d_z: int
    fixed_scale: bool = False
    estimate_initial: bool = True

    @property
    def blocks(self):
        """Ordered (name, shape) of the parameter blocks in ``theta``."""
        K, L, da, dz = self.n_states, self.n_outcomes, self.d_a, self.d_z
        out = [
            ("g0", (K, K - 1)),
            ("gA", (K, K - 1, da)),
            ("gZ", (K, K - 1, dz)),
            ("beta0", (1,)),
            ("delta", (K - 1,)),
            ("bA", (K, da)),
            ("bZ", (dz,)),
            ("s", (0 if self.fixed_scale else K - 1,)),
            ("nu", (max(L - 2, 0),)),
            ("tau", (dz,)),
            ("rho", (K - 1 if self.estimate_initial else 0,)),
        ]
        return out

    @property
    def size(self):
        return int(sum(int(np.prod(s)) for _, s in self.blocks))

    def names(self):
        """A readable name for every entry of ``theta`` (for ``standard_errors_`` tables)."""
        names = []
        for name, shape in self.blocks:
            for idx in np.ndindex(*shape):
                names.append(name + "".join(f"[{i}]" for i in idx))
        return names


def unpack(theta, layout):
    """Split the flat vector into a dict of blocks (works for numpy and JAX arrays)."""
    out, k = {}, 0
    for name, shape in layout.blocks:
        n = int(np.prod(shape))
        out[name] = theta[k : k + n].reshape(shape)
        k += n
    return out


def _xp(theta):
    if isinstance(theta, np.ndarray):
        return np
    import jax.numpy as jnp

    return jnp


def transition_probs(theta, layout, F, Z):
    """``Q[i, a, j, j']`` by the multinomial logit relative to staying (eq. §2.2.3).

    F : (A, d_a) action features; Z : (N, d_z) customer covariates. Returns (N, A, K, K).
    """
    xp = _xp(theta)
    p = unpack(theta, layout)
    K = layout.n_states
    N, A = Z.shape[0], F.shape[0]
    if K == 1:
        return xp.ones((N, A, 1, 1))
    eta = (
        p["g0"][None, None]
        + xp.einsum("ad,jkd->ajk", F, p["gA"])[None]
        + xp.einsum("nd,jkd->njk", Z, p["gZ"])[:, None]
    )  # (N, A, K, K-1): column m of row j is the move to state m (m < j) or m + 1
    rows = []
    for j in range(K):
        e = eta[:, :, j]
        full = xp.concatenate([e[..., :j], xp.zeros(e.shape[:-1] + (1,)), e[..., j:]], axis=-1)
        full = full - full.max(-1, keepdims=True)
        w = xp.exp(full)
        rows.append(w / w.sum(-1, keepdims=True))
    return xp.stack(rows, axis=2)


def _sigmoid(xp, x):
    return 0.5 * (xp.tanh(0.5 * x) + 1.0)


def emission_probs(theta, layout, F, Z):
    """``P[i, a, j, l]`` by the ordered logit with monotone state intercepts (§2.2.2).

    ``Pr(Y <= l) = Lambda((mu_l(z_i) - x[i, a, j]) / sigma_j)`` for ``l < L - 1``.
    Returns (N, A, K, L).
    """
    xp = _xp(theta)
    p = unpack(theta, layout)
    K = layout.n_states
    beta = p["beta0"][0] + xp.concatenate([xp.zeros(1), xp.cumsum(xp.exp(p["delta"]))])
    x = (
        beta[None, None, :]
        + xp.einsum("ad,jd->aj", F, p["bA"])[None]
        + (Z @ p["bZ"])[:, None, None]
    )  # (N, A, K)
    sigma = xp.exp(xp.concatenate([xp.zeros(1), p["s"]])) if not layout.fixed_scale else None
    if sigma is None:
        sigma = xp.ones(K)
    cuts = xp.concatenate([xp.zeros(1), xp.cumsum(xp.exp(p["nu"]))])  # (L-1,)
    mu = cuts[None, :] * xp.exp(Z @ p["tau"])[:, None]  # (N, L-1)
    cdf = _sigmoid(xp, (mu[:, None, None, :] - x[..., None]) / sigma[None, None, :, None])
    N, A = x.shape[0], x.shape[1]
    zeros = xp.zeros((N, A, K, 1))
    ones = xp.ones((N, A, K, 1))
    full = xp.concatenate([zeros, cdf, ones], axis=-1)
    return full[..., 1:] - full[..., :-1]


def initial_probs(theta, layout, fixed=None):
    """Initial state distribution: softmax with state 0 as base (§2.2.1), or ``fixed``."""
    xp = _xp(theta)
    if not layout.estimate_initial:
        return xp.asarray(fixed)
    rho = unpack(theta, layout)["rho"]
    full = xp.concatenate([xp.zeros(1), rho])
    w = xp.exp(full - full.max())
    return w / w.sum()


def model_arrays(theta, layout, F, Z, fixed_initial=None):
    """(pi (K,), Q (N, A, K, K), P (N, A, K, L)) at ``theta`` as numpy arrays."""
    theta = np.asarray(theta, dtype=float)
    F = np.asarray(F, dtype=float)
    Z = np.asarray(Z, dtype=float)
    return (
        np.asarray(initial_probs(theta, layout, fixed_initial), dtype=float),
        transition_probs(theta, layout, F, Z),
        emission_probs(theta, layout, F, Z),
    )


def forward_loglik(theta, layout, F, Z, actions, outcomes, fixed_initial=None):
    """Forward-algorithm log-likelihood of a padded panel (eq. §2.2.4), in JAX.

    Parameters
    ----------
    theta : (n_params,) ; F : (A, d_a) ; Z : (N, d_z)
    actions, outcomes : int (N, T); -1 for padding (action) or a missing outcome.

    Returns
    -------
    Scalar ``sum_i log Pr(y_i | a_i, z_i)``. Differentiable in ``theta``.
    """
    import jax
    import jax.numpy as jnp

    K, L = layout.n_states, layout.n_outcomes
    Q = transition_probs(theta, layout, F, Z)  # (N, A, K, K)
    P = emission_probs(theta, layout, F, Z)  # (N, A, K, L)
    pi = initial_probs(theta, layout, fixed_initial)
    N = Q.shape[0]
    A = Q.shape[1]
    Q = jnp.concatenate([Q, jnp.broadcast_to(jnp.eye(K), (N, 1, K, K))], axis=1)
    P = jnp.concatenate([P, jnp.ones((N, A, K, 1))], axis=3)
    P = jnp.concatenate([P, jnp.ones((N, 1, K, L + 1))], axis=1)
    a_idx = jnp.where(actions < 0, A, actions).T  # (T, N)
    y_idx = jnp.where(outcomes < 0, L, outcomes).T
    rows = jnp.arange(N)

    def step(carry, inp):
        alpha, ll = carry
        a, y = inp
        pred = jnp.einsum("nk,nkj->nj", alpha, Q[rows, a])
        joint = pred * P[rows, a, :, y]
        c = joint.sum(-1)
        return (joint / c[:, None], ll + jnp.log(c).sum()), None

    start = jnp.broadcast_to(pi, (N, K))
    (_, ll), _ = jax.lax.scan(step, (start, jnp.zeros(())), (a_idx, y_idx))
    return ll


def default_action_features(n_actions):
    """Dummies of the actions 1..A-1 (action 0 is the base): the saturated logit."""
    return np.eye(n_actions)[:, 1:]


@functools.lru_cache(maxsize=16)
def _compiled(layout, has_fixed):
    import jax

    def f(theta, F, Z, actions, outcomes, fixed):
        return -forward_loglik(theta, layout, F, Z, actions, outcomes, fixed if has_fixed else None)

    return jax.jit(jax.value_and_grad(f))


def initial_theta(layout, rng, outcome_freq=None):
    """A random start: sticky transitions, spread-out states, cut points at the data mix."""
    p = {name: np.zeros(shape) for name, shape in layout.blocks}
    K, L = layout.n_states, layout.n_outcomes
    p["g0"] = rng.uniform(-3.5, -1.5, size=p["g0"].shape)
    p["delta"] = np.log(rng.uniform(0.5, 3.0, size=K - 1))
    if L > 2:
        p["nu"] = np.log(rng.uniform(0.3, 1.5, size=L - 2))
    if outcome_freq is not None and outcome_freq[0] > 0:
        # latent location that gives the overall Pr(Y = 0) for a middle state
        q = np.clip(outcome_freq[0], 1e-3, 1 - 1e-3)
        p["beta0"] = np.array([-np.log(q / (1 - q)) - 0.5 * np.exp(p["delta"]).sum()])
    p["beta0"] = p["beta0"] + rng.normal(0, 0.5)
    p["gA"] = rng.normal(0, 0.1, size=p["gA"].shape)
    p["bA"] = rng.normal(0, 0.1, size=p["bA"].shape)
    return np.concatenate([p[name].ravel() for name, _ in layout.blocks])


def _hessian_fd(grad, theta, h=1e-5, gradients=None):
    """Hessian by central differences of the exact (autodiff) gradient, symmetrised.

    Cheaper than compiling ``jax.hessian`` of the scan; the error is O(h^2) relative.
    ``gradients(thetas)`` (m, p) -> (m, p), when given, evaluates all the shifted points
    in one call (one map-reduce on Dask instead of 2p).
    """
    n = len(theta)
    steps = h * np.eye(n)
    if gradients is not None:
        G = np.asarray(gradients(np.concatenate([theta + steps, theta - steps])), dtype=float)
        H = ((G[:n] - G[n:]) / (2 * h)).T
    else:
        H = np.empty((n, n))
        for j in range(n):
            H[:, j] = (grad(theta + steps[j]) - grad(theta - steps[j])) / (2 * h)
    return 0.5 * (H + H.T)


def _newton_polish(value_and_grad, theta, value, n_obs, max_steps=4, gradients=None):
    """Newton steps on the exact gradient with the finite-difference Hessian.

    L-BFGS-B stops where the objective changes by less than ``ftol``, which leaves the
    parameters about ``sqrt(ftol)`` from the optimum, at a point that depends on rounding
    along the path. Newton steps converge quadratically from there to the optimum itself,
    so fits that differ only by rounding (customer order, a sum over partitions) agree to
    many digits. A step is taken only where the Hessian is positive definite and the
    objective does not increase; returns the point, its mean objective and its Hessian
    (of the summed objective).
    """

    from scipy.linalg import cho_factor, cho_solve

    def grad(th):
        return np.asarray(value_and_grad(th)[1], dtype=float)

    H = _hessian_fd(grad, theta, gradients=gradients)
    for _ in range(max_steps):
        try:
            step = cho_solve(cho_factor(H), grad(theta))
        except np.linalg.LinAlgError:
            break
        if not np.all(np.isfinite(step)):
            break
        new = theta - step
        v_new = float(value_and_grad(new)[0]) / n_obs
        if not np.isfinite(v_new) or v_new > value + 1e-12 * max(1.0, abs(value)):
            break
        theta, value = new, v_new
        H = _hessian_fd(grad, theta, gradients=gradients)
        if np.max(np.abs(step)) <= 1e-10 * max(1.0, float(np.max(np.abs(theta)))):
            break
    return theta, value, H


def fit_mle(
    actions,
    outcomes,
    F,
    Z,
    layout,
    *,
    n_init=5,
    max_iter=500,
    tol=1e-6,
    rng=None,
    fixed_initial=None,
    standard_errors=True,
    verbose=0,
):
    """Maximum likelihood by L-BFGS-B on the JAX value and gradient, with restarts.

    Returns a dict of numpy arrays / floats: ``theta``, ``loglik``, ``se`` (inverse-Hessian
    standard errors, NaN where the Hessian is singular), ``n_iter``, ``converged``,
    ``all_logliks`` (one per restart).
    """
    import jax.numpy as jnp

    from skcrm.utils._jax import x64

    obs = np.asarray(outcomes)[np.asarray(outcomes) >= 0]
    has_fixed = fixed_initial is not None
    with x64():
        vg = _compiled(layout, has_fixed)
        args = (
            jnp.asarray(F, dtype=jnp.float64),
            jnp.asarray(Z, dtype=jnp.float64),
            jnp.asarray(actions, dtype=jnp.int32),
            jnp.asarray(outcomes, dtype=jnp.int32),
            jnp.asarray(fixed_initial if has_fixed else np.zeros(layout.n_states)),
        )

        def value_and_grad(th):
            v, g = vg(jnp.asarray(th), *args)
            return float(v), np.asarray(g, dtype=float)

        return minimize_mle(
            value_and_grad,
            np.bincount(obs, minlength=layout.n_outcomes),
            layout,
            n_init=n_init,
            max_iter=max_iter,
            tol=tol,
            rng=rng,
            standard_errors=standard_errors,
            verbose=verbose,
        )


def negative_loglik_and_grad(theta, layout, F, Z, actions, outcomes, fixed_initial=None):
    """``-log L`` and its gradient on one panel (numpy out; JAX inside, float64).

    A sum over customers: the values of disjoint panels (partitions) add up.
    """
    import jax.numpy as jnp

    from skcrm.utils._jax import x64

    has_fixed = fixed_initial is not None
    with x64():
        v, g = _compiled(layout, has_fixed)(
            jnp.asarray(theta, dtype=jnp.float64),
            jnp.asarray(F, dtype=jnp.float64),
            jnp.asarray(Z, dtype=jnp.float64),
            jnp.asarray(actions, dtype=jnp.int32),
            jnp.asarray(outcomes, dtype=jnp.int32),
            jnp.asarray(fixed_initial if has_fixed else np.zeros(layout.n_states)),
        )
        return float(v), np.asarray(g, dtype=float)


def minimize_mle(
    value_and_grad,
    outcome_counts,
    layout,
    *,
    n_init=5,
    max_iter=500,
    tol=1e-6,
    rng=None,
    standard_errors=True,
    verbose=0,
    gradients=None,
):
    """L-BFGS-B with restarts on ``value_and_grad(theta) -> (-log L, gradient)``.

    ``outcome_counts`` (L,) counts the observed outcome levels (they centre the starts and
    scale the objective). The callable may be a map-reduce over partitions: only it
    touches the data; ``gradients(thetas)`` (m, p) -> (m, p), optional, evaluates many
    gradients at once for the Hessian. The L-BFGS-B optimum is polished by Newton steps
    (see ``_newton_polish``) before the inverse-Hessian standard errors. Returns the
    dict of :func:`fit_mle`.
    """
    from scipy.optimize import minimize

    from skcrm.utils import progress

    rng = np.random.default_rng(rng)
    counts = np.asarray(outcome_counts, dtype=float)
    freq = counts / max(counts.sum(), 1)
    best, results = None, []
    n_obs = max(int(counts.sum()), 1)

    def fun(th):
        v, g = value_and_grad(th)
        v, g = float(v) / n_obs, np.asarray(g, dtype=float) / n_obs
        if not np.isfinite(v):
            return 1e10, np.zeros_like(th)
        return v, g

    for _ in progress(range(int(n_init)), verbose, desc="MLE restarts"):
        th0 = initial_theta(layout, rng, freq)
        res = minimize(
            fun,
            th0,
            jac=True,
            method="L-BFGS-B",
            options={"maxiter": int(max_iter), "ftol": tol * 1e-3, "gtol": 1e-6},
        )
        results.append(res)
        if best is None or res.fun < best.fun:
            best = res
    theta, value = np.asarray(best.x, dtype=float), float(best.fun)
    H = None
    if standard_errors:
        theta, value, H = _newton_polish(value_and_grad, theta, value, n_obs, gradients=gradients)
    se = np.full(layout.size, np.nan)
    if H is not None:
        try:
            cov = np.linalg.inv(H)
            d = np.diag(cov)
            se = np.where(d > 0, np.sqrt(np.abs(d)), np.nan)
        except np.linalg.LinAlgError:
            pass
    return {
        "theta": theta,
        "loglik": -value * n_obs,
        "se": se,
        "n_iter": int(best.nit),
        "converged": bool(best.success),
        "all_logliks": np.array([-r.fun * n_obs for r in results]),
    }


def forward_filter_customers(startprob, transition, emission, actions, outcomes):
    """Filtered beliefs with customer-specific matrices (numpy; dissertation §2.4.3).

    Parameters
    ----------
    startprob : (K,) ; transition : (N, A, K, K) ; emission : (N, A, K, L)
    actions, outcomes : int (N, T), -1 for padding / a missing outcome.

    Returns
    -------
    alpha : (T, N, K) filtered beliefs (held at the last value over padding);
    log_c : (T, N) one-step log predictive of each observed cell (0 elsewhere).
    """
    N, T = actions.shape
    K = len(startprob)
    alpha = np.empty((T, N, K))
    log_c = np.zeros((T, N))
    b = np.broadcast_to(np.asarray(startprob, dtype=float), (N, K)).copy()
    rows = np.arange(N)
    for t in range(T):
        a, y = actions[:, t], outcomes[:, t]
        valid = a >= 0
        ai = np.where(valid, a, 0)
        pred = np.einsum("nk,nkj->nj", b, transition[rows, ai])
        e = np.where((y >= 0)[:, None], emission[rows, ai, :, np.maximum(y, 0)], 1.0)
        joint = pred * e
        c = np.maximum(joint.sum(1), 1e-300)
        b = np.where(valid[:, None], joint / c[:, None], b)
        log_c[t] = np.where(valid, np.log(c), 0.0)
        alpha[t] = b
    return alpha, log_c
