"""JAX helpers: precision scoped to a call, keys derived from ``random_state``.

JAX is imported inside the functions, never at module import, so that
``import skcrm`` stays free of it.
"""

from __future__ import annotations

import contextlib

import numpy as np
from sklearn.utils import check_random_state

__all__ = ["jax_key", "x64", "to_numpy_tree"]


@contextlib.contextmanager
def x64(enabled: bool = True):
    """Run the enclosed JAX code in float64 (or float32) without touching global config.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> with x64():
    ...     jnp.ones(1).dtype
    dtype('float64')
    """
    import jax

    with jax.enable_x64(enabled):
        yield


def jax_key(random_state):
    """A JAX PRNG key derived from an sklearn-style ``random_state``.

    ``None`` draws from numpy's global state (as sklearn does), an int is a fixed seed,
    a ``RandomState``/``Generator`` is advanced by one draw.

    Examples
    --------
    >>> import jax
    >>> bool((jax.random.key_data(jax_key(0)) == jax.random.key_data(jax_key(0))).all())
    True
    """
    import jax

    if isinstance(random_state, np.random.Generator):
        seed = int(random_state.integers(0, 2**31 - 1))
    else:
        seed = int(check_random_state(random_state).randint(0, 2**31 - 1))
    return jax.random.key(seed)


def to_numpy_tree(tree):
    """Convert every array leaf of a pytree (e.g. flax parameters) to a numpy array."""
    import jax

    return jax.tree_util.tree_map(np.asarray, tree)
