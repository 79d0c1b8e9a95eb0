"""Filtering and likelihood of the action-dependent hidden Markov model (pure numpy).

Timing is *transit-then-emit* (dissertation §2.2.4): the period-t action
``a_t`` drives the transition ``S_{t-1} -> S_t ~ Q[a_t][S_{t-1}, .]`` and the emission
``Y_t ~ P[a_t][S_t, .]``. Arrays are ``transition[a, s, s']``, ``emission[a, s', y]``.

Panels are padded to a rectangle ``(n_customers, n_periods)``: an action of ``-1`` marks
padding after a customer's last period (identity transition, no emission) and an outcome
of ``-1`` marks a missing outcome (the belief is only propagated). Every function is
vectorised over customers; only periods are looped over.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "belief_update",
    "predict_belief",
    "outcome_probability",
    "extend_parameters",
    "emission_likelihoods",
    "forward_filter",
    "forward_backward",
    "log_likelihood",
    "one_step_log_predictive",
]

_TINY = 1e-300


def predict_belief(belief, transition, action):
    """Open-loop ("HMM") belief propagation ``b' = b Q_a`` (dissertation §2.4.2).

    Parameters
    ----------
    belief : array of shape (..., K)
    transition : array of shape (A, K, K)
    action : int or int array broadcastable to ``belief.shape[:-1]``

    Returns
    -------
    array of shape (..., K)

    Examples
    --------
    >>> Q = np.array([[[0.9, 0.1], [0.2, 0.8]]])
    >>> predict_belief(np.array([1.0, 0.0]), Q, 0)
    array([0.9, 0.1])
    """
    belief = np.asarray(belief, dtype=float)
    Qa = np.asarray(transition, dtype=float)[np.asarray(action)]
    return np.einsum("...k,...kj->...j", belief, Qa)


def outcome_probability(belief, transition, emission, action):
    """``Pr(y | b, a) = sum_s' (b Q_a)(s') P_a(s', y)`` for every outcome y.

    Returns an array of shape (..., L).

    Examples
    --------
    >>> Q = np.array([[[1.0, 0.0], [0.0, 1.0]]])
    >>> P = np.array([[[0.8, 0.2], [0.3, 0.7]]])
    >>> outcome_probability(np.array([0.5, 0.5]), Q, P, 0)
    array([0.55, 0.45])
    """
    phi = predict_belief(belief, transition, action)
    Pa = np.asarray(emission, dtype=float)[np.asarray(action)]
    return np.einsum("...k,...ky->...y", phi, Pa)


def belief_update(belief, transition, emission, action, outcome):
    """One Bayes step of the POMDP belief (dissertation §2.4.3, corrected).

    ``b'(s') = P_a(s', y) (b Q_a)(s') / sum_s'' P_a(s'', y) (b Q_a)(s'')``. The
    dissertation's general-K denominator wrongly sums over outcomes too.
    An ``outcome`` of -1 (or NaN) means "not observed": the belief is only propagated.

    Parameters
    ----------
    belief : array of shape (..., K)
        Belief over the pre-action state ``S_{t-1}``.
    transition, emission : arrays (A, K, K) and (A, K, L)
    action, outcome : int or int arrays broadcastable to ``belief.shape[:-1]``

    Returns
    -------
    new_belief : array of shape (..., K)
        Belief over ``S_t`` after seeing ``outcome``.
    probability : array of shape (...)
        ``Pr(outcome | belief, action)`` (1 for an unobserved outcome).

    Examples
    --------
    CRM3: a sales call followed by a small purchase.

    >>> from skcrm.datasets import make_pomdp_crm
    >>> m = make_pomdp_crm(n_customers=1, n_periods=1, random_state=0)[2]
    >>> b, p = belief_update(np.array([0.9, 0.1]), m.Q, m.P, 2, 1)
    >>> np.round(b, 6), round(float(p), 4)
    (array([0.223485, 0.776515]), 0.2376)
    """
    belief = np.asarray(belief, dtype=float)
    emission = np.asarray(emission, dtype=float)
    action = np.asarray(action)
    outcome = np.asarray(outcome, dtype=float)
    missing = ~np.isfinite(outcome) | (outcome < 0)
    y = np.where(missing, 0, outcome).astype(np.int64)
    phi = predict_belief(belief, transition, action)
    like = emission[action, :, y]
    like = np.where(missing[..., None], 1.0, like)
    joint = phi * like
    prob = joint.sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        new = joint / prob[..., None]
    return new, prob


def extend_parameters(transition, emission):
    """Append the padding action (identity, no emission) and the missing outcome column.

    Returns ``(Q_ext, P_ext)`` of shapes (..., A+1, K, K) and (..., A+1, K, L+1); index
    ``-1`` of the action axis is padding and index ``-1`` of the outcome axis is missing,
    so the panel codes -1 index them directly.
    """
    Q = np.asarray(transition, dtype=float)
    P = np.asarray(emission, dtype=float)
    K = Q.shape[-1]
    batch = Q.shape[:-3]
    eye = np.broadcast_to(np.eye(K), (*batch, 1, K, K))
    Q_ext = np.concatenate([Q, eye], axis=-3)
    P_ext = np.concatenate([P, np.ones((*P.shape[:-1], 1))], axis=-1)
    P_ext = np.concatenate([P_ext, np.ones((*batch, 1, K, P_ext.shape[-1]))], axis=-3)
    return Q_ext, P_ext


def emission_likelihoods(emission, actions, outcomes):
    """``E[r, t, n, k] = P_r[a_nt][k, y_nt]`` (1 where padded or unobserved), time-major.

    Parameters
    ----------
    emission : array (R, A, K, L) (a batch of R parameter sets) or (A, K, L)
    actions, outcomes : int arrays (N, T), -1 for padding / missing

    Returns
    -------
    array (R, T, N, K) (or (T, N, K) without a batch axis)
    """
    P = np.asarray(emission, dtype=float)
    squeeze = P.ndim == 3
    if squeeze:
        P = P[None]
    R, A, K, L = P.shape
    P_ext = np.ones((R, A + 1, K, L + 1))
    P_ext[:, :A, :, :L] = P
    # (A+1, L+1, R, K) so that fancy indexing by (a, y) gives (T, N, R, K)
    Pp = P_ext.transpose(1, 3, 0, 2)
    E = Pp[actions.T, outcomes.T]
    E = np.ascontiguousarray(np.moveaxis(E, 2, 0))
    return E[0] if squeeze else E


def _stack_actions(Q_ext):
    """(R, A1, K, K) -> (R, K, A1*K) with ``out[r, i, a*K + j] = Q[r, a, i, j]``."""
    R, A1, K, _ = Q_ext.shape
    return np.ascontiguousarray(Q_ext.transpose(0, 2, 1, 3).reshape(R, K, A1 * K))


def _take_action(stacked, actions_t, K):
    """Pick ``stacked[r, n, a_n*K:(a_n+1)*K]`` for every r, n: (R, N, A1*K) -> (R, N, K)."""
    R, N, W = stacked.shape
    A1 = W // K
    idx = (np.arange(N) * W + (actions_t % A1) * K)[:, None] + np.arange(K)
    return stacked.reshape(R, N * W)[:, idx]


def forward_filter(startprob, transition, E, actions):
    """Scaled forward recursion: filtered beliefs and normalisers (likelihood).

    ``alpha_t = (alpha_{t-1} Q_{a_t}) * P_{a_t}[:, y_t] / c_t`` with ``alpha_0 = pi``;
    ``log L = sum_t log c_t``.

    Parameters
    ----------
    startprob : array (R, K) or (R, N, K)
        Distribution of ``S_0`` (before the first period).
    transition : array (R, A, K, K)
    E : array (R, T, N, K) from :func:`emission_likelihoods`
    actions : int array (N, T), -1 for padding

    Returns
    -------
    alpha : array (R, T, N, K)
        ``P(S_t | y_1..y_t, a_1..a_t)``.
    log_c : array (R, T, N)
    """
    Q_ext, _ = extend_parameters(transition, np.ones(np.shape(transition)[:-1] + (1,)))
    R, T, N, K = E.shape
    Qs = _stack_actions(Q_ext)
    alpha = np.empty((R, T, N, K))
    log_c = np.empty((R, T, N))
    prev = np.broadcast_to(np.asarray(startprob, dtype=float).reshape(R, -1, K), (R, N, K))
    for t in range(T):
        pred = _take_action(np.matmul(prev, Qs), actions[:, t], K)
        joint = pred * E[:, t]
        c = joint.sum(-1)
        c = np.maximum(c, _TINY)
        prev = joint / c[..., None]
        alpha[:, t] = prev
        log_c[:, t] = np.log(c)
    return alpha, log_c


def log_likelihood(startprob, transition, emission, actions, outcomes):
    """Per-customer log-likelihood ``log sum_paths pi Q P`` by the forward algorithm.

    Parameters
    ----------
    startprob : (K,), transition : (A, K, K), emission : (A, K, L)
    actions, outcomes : int arrays (N, T); -1 pads / marks a missing outcome

    Returns
    -------
    array (N,)

    Examples
    --------
    >>> Q = np.array([[[0.9, 0.1], [0.2, 0.8]]])
    >>> P = np.array([[[0.7, 0.3], [0.1, 0.9]]])
    >>> float(np.exp(log_likelihood([1.0, 0.0], Q, P, np.array([[0]]), np.array([[1]]))[0]))
    0.36
    """
    E = emission_likelihoods(np.asarray(emission)[None], actions, outcomes)
    _, log_c = forward_filter(
        np.asarray(startprob, float)[None], np.asarray(transition)[None], E, actions
    )
    return log_c[0].sum(0)


def one_step_log_predictive(startprob, transition, emission, actions, outcomes):
    """``log Pr(y_t | y_<t, a_<=t)`` per cell (N, T); NaN where padded or unobserved."""
    E = emission_likelihoods(np.asarray(emission)[None], actions, outcomes)
    _, log_c = forward_filter(
        np.asarray(startprob, float)[None], np.asarray(transition)[None], E, actions
    )
    out = log_c[0].T.copy()
    out[(actions < 0) | (outcomes < 0)] = np.nan
    return out


def forward_backward(startprob, transition, E, actions, outcomes, n_outcomes):
    """Baum-Welch E-step for a batch of R parameter sets ("em").

    Returns
    -------
    loglik : array (R,)
        Total log-likelihood of each parameter set.
    start_counts : array (R, K)
        Posterior of ``S_0`` summed over customers.
    trans_counts : array (R, A, K, K)
        Expected transitions ``sum_{n,t: a_nt=a} P(S_{t-1}=i, S_t=j | data)``.
    emit_counts : array (R, A, K, L)
        Expected emissions ``sum_{n,t: a_nt=a, y_nt=y} P(S_t=k | data)``.
    """
    R, T, N, K = E.shape
    A = transition.shape[-3]
    L = n_outcomes
    Q_ext, _ = extend_parameters(transition, np.ones(transition.shape[:-1] + (1,)))
    startprob = np.asarray(startprob, dtype=float).reshape(R, -1, K)
    alpha, log_c = forward_filter(startprob, transition, E, actions)
    # backward: beta_{t-1} = Q_{a_t} (E_t * beta_t) / c_t
    QsT = _stack_actions(np.swapaxes(Q_ext, -1, -2))
    c = np.exp(log_c)
    beta = np.ones((R, N, K))
    gamma = np.empty((R, T, N, K))
    trans_acc = np.zeros((R, A + 1, K * K))
    for t in range(T - 1, -1, -1):
        a_t = actions[:, t]
        gamma[:, t] = alpha[:, t] * beta
        w = E[:, t] * beta / c[:, t][..., None]
        prev = alpha[:, t - 1] if t > 0 else np.broadcast_to(startprob, (R, N, K))
        outer = (prev[..., :, None] * w[..., None, :]).reshape(R, N, K * K)
        onehot = np.zeros((A + 1, N))
        onehot[a_t, np.arange(N)] = 1.0
        trans_acc += np.matmul(onehot, outer)
        beta = _take_action(np.matmul(w, QsT), a_t, K)
    start_post = startprob * beta
    start_post = start_post / start_post.sum(-1, keepdims=True)
    start_counts = np.broadcast_to(start_post, (R, N, K)).sum(1)
    trans_counts = trans_acc[:, :A].reshape(R, A, K, K) * transition
    # emissions: bincount over (action, outcome) cells that are observed
    obs = (actions >= 0) & (outcomes >= 0)
    cell = (actions * L + outcomes).T[obs.T]  # time-major, matches gamma's layout
    g = gamma[:, obs.T]  # (R, n_obs, K)
    emit_counts = np.empty((R, A * L, K))
    for r in range(R):
        for k in range(K):
            emit_counts[r, :, k] = np.bincount(cell, weights=g[r, :, k], minlength=A * L)
    emit_counts = emit_counts.reshape(R, A, L, K).transpose(0, 1, 3, 2)
    return log_c.sum((1, 2)), start_counts, trans_counts, emit_counts
