"""sigact.jax.sigmoid against jax.nn.sigmoid: values and gradients bit for bit, eagerly and under
jit, and the same treatment of bad input."""

import pytest

jax = pytest.importorskip("jax")
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jax.test_util import check_grads  # noqa: E402

import sigact.jax as sj  # noqa: E402
from sigact.tools.jax_backend import value_and_vjp  # noqa: E402
from tests.helpers import assert_bitwise  # noqa: E402

DTYPES = ["float16", "bfloat16", "float32", "float64", "complex64", "complex128"]
MODES = {"eager": lambda f: f, "jit": jax.jit}


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("dtype", DTYPES)
def test_values_and_gradients_are_bitwise_equal_to_builtin(dtype, mode):
    with jax.enable_x64(True):
        keys = jax.random.split(jax.random.key(0), 4)
        draw = lambda key, scale: jax.random.normal(key, (4099,), jnp.float32) * scale  # noqa: E731
        x, g = (draw(keys[0], 6), draw(keys[1], 1))
        if dtype.startswith("complex"):  # truly complex: a conjugated backward must show
            x, g = x + 1j * draw(keys[2], 6), g + 1j * draw(keys[3], 1)
        x, g = x.astype(dtype), g.astype(dtype)
        ours = MODES[mode](value_and_vjp(sj.sigmoid))(x, g)
        ref = MODES[mode](value_and_vjp(jax.nn.sigmoid))(x, g)
        for a, b in zip(ours, ref, strict=True):
            assert_bitwise(a, b)
        # The same numbers from the input as residual would pass the lines above: check what is kept.
        assert [(e.origin, e.note) for e in sj.audit(sj.sigmoid, x).entries] == [("output", "output of logistic")]


def test_check_grads_to_second_order_in_reverse_mode_float64():
    with jax.enable_x64(True):
        x = jnp.linspace(-5.0, 5.0, 11, dtype=jnp.float64)
        check_grads(sj.sigmoid, (x,), order=2, modes=("rev",))
        check_grads(lambda x: jnp.sum(sj.sigmoid(x) * x), (x,), order=2, modes=("rev",))


@pytest.mark.parametrize("mode", list(MODES))
def test_nan_and_infinities_propagate_like_builtin(mode):
    x = jnp.array([jnp.nan, jnp.inf, -jnp.inf, 0.0, -0.0, 1e4, -1e4])
    g = jnp.array([1.0, jnp.nan, jnp.inf, -jnp.inf, 1.0, 1.0, 1.0])
    ours = MODES[mode](value_and_vjp(sj.sigmoid))(x, g)
    ref = MODES[mode](value_and_vjp(jax.nn.sigmoid))(x, g)
    for a, b in zip(ours, ref, strict=True):
        assert_bitwise(a, b)
    assert jnp.isnan(ours[0][0]) and jnp.isnan(ours[1][0])


# Arrays are made in the tests, not at import: make mutate's fork server collects this module and must not start XLA.
@pytest.mark.parametrize("make_bad", [lambda: jnp.array([1, 2]), lambda: jnp.array([True]), lambda: 3, lambda: True],
                         ids=["int32 array", "bool array", "3", "True"])
def test_integer_and_bool_inputs_raise_type_error_like_builtin(make_bad):
    bad = make_bad()
    with pytest.raises(TypeError, match="does not accept dtype") as builtin:
        jax.nn.sigmoid(bad)
    with pytest.raises(TypeError) as ours:
        sj.sigmoid(bad)
    assert str(ours.value) == str(builtin.value)


@pytest.mark.parametrize("make_value", [lambda: 0.5, lambda: -3.0, lambda: np.float32(2.0), lambda: jnp.float16(1.0)],
                         ids=["0.5", "-3.0", "np.float32(2.0)", "jnp.float16(1.0)"])
def test_python_scalars_and_weak_types_behave_like_builtin(make_value):
    value = make_value()
    ours, ref = sj.sigmoid(value), jax.nn.sigmoid(value)
    assert_bitwise(ours, ref)
    assert ours.weak_type == ref.weak_type
    # A weak scalar result must not promote a float16 array, exactly like the built-in's.
    assert (jnp.ones(2, jnp.float16) * ours).dtype == (jnp.ones(2, jnp.float16) * ref).dtype
    assert jax.grad(sj.sigmoid)(value).weak_type == jax.grad(jax.nn.sigmoid)(value).weak_type


@pytest.mark.parametrize("transform", [jax.jacfwd, lambda f: lambda x: jax.jvp(f, (x,), (x,))],
                         ids=["jacfwd", "jvp"])
def test_forward_mode_raises_type_error_and_builtin_supports_it(transform):
    x = jnp.ones(3)
    transform(sj.sigmoid_jvp)(x)  # the forward-mode variant the docs point to
    with pytest.raises(TypeError, match="can't apply forward-mode autodiff"):
        transform(sj.sigmoid)(x)
