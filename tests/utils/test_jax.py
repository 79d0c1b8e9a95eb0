import numpy as np
import pytest

jax = pytest.importorskip("jax")

from skcrm.utils._jax import jax_key, to_numpy_tree, x64  # noqa: E402


def test_x64_is_scoped_to_the_block():
    import jax.numpy as jnp

    with x64():
        assert jnp.ones(1).dtype == jnp.float64
    assert jnp.ones(1).dtype == jnp.float32


def test_jax_key_follows_random_state():
    same = jax.random.key_data(jax_key(3)), jax.random.key_data(jax_key(3))
    other = jax.random.key_data(jax_key(4))
    np.testing.assert_array_equal(*same)
    assert not np.array_equal(same[0], other)
    gen_a, gen_b = np.random.default_rng(0), np.random.default_rng(0)
    np.testing.assert_array_equal(
        jax.random.key_data(jax_key(gen_a)), jax.random.key_data(jax_key(gen_b))
    )


def test_to_numpy_tree_converts_leaves():
    import jax.numpy as jnp

    tree = to_numpy_tree({"w": jnp.ones(2), "b": [jnp.zeros(1)]})
    assert type(tree["w"]) is np.ndarray and type(tree["b"][0]) is np.ndarray
