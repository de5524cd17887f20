"""Property tests for sigact.jax.sigmoid_jvp, the forward-mode variant, and sigact.jax.tanh: any shape, dtype,
weak type and extreme value gives the built-in's values, VJPs and JVPs bit for bit, eagerly and under jit.
(sigact.jax.sigmoid's own property tests are in test_jax_parity.py.)"""

import pytest

jax = pytest.importorskip("jax")
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st_  # noqa: E402

import sigact.jax as sj  # noqa: E402
from tests.helpers import assert_bitwise  # noqa: E402

DTYPES = ["float16", "bfloat16", "float32", "float64", "complex64", "complex128"]
EXTREMES = [0.0, -0.0, 1e-30, 1e-45, -1e4, 1e4, 8.3, 16.6, -88.7, 88.7, -745.2, 709.8,
            float("inf"), float("-inf"), float("nan")]


def value_and_vjp(fn, x, g):
    y, pullback = jax.vjp(fn, x)
    return y, pullback(g)[0]


def value_and_jvp(fn, x, t):
    return jax.jvp(fn, (x,), (t,))


# Module-level jitted functions: the compile cache is reused across examples of equal shape and dtype.
RULES = {
    (name, rule, jit): (jax.jit(lambda x, g, f=f, r=r: r(f, x, g)) if jit else (lambda x, g, f=f, r=r: r(f, x, g)))
    for name, f in (("sigmoid_jvp", sj.sigmoid_jvp), ("builtin sigmoid_jvp", jax.nn.sigmoid),
                    ("tanh", sj.tanh), ("builtin tanh", jnp.tanh))
    for rule, r in (("vjp", value_and_vjp), ("jvp", value_and_jvp))
    for jit in (False, True)
}
ACTIVATIONS = ["sigmoid_jvp", "tanh"]


def draw(rng, shape, dtype, scale):
    real = rng.standard_normal(shape) * scale
    if "complex" in dtype:
        real = real + 1j * rng.standard_normal(shape) * scale
    return real


@pytest.mark.slow  # about 20 s here: many shapes, each compiled once under jit
@settings(max_examples=250, deadline=None)
@given(
    shape=st_.lists(st_.integers(0, 5), min_size=0, max_size=3),
    dtype=st_.sampled_from(DTYPES),
    extremes=st_.lists(st_.sampled_from(EXTREMES), max_size=6),
    imaginary_extremes=st_.booleans(),
    rule=st_.sampled_from(["vjp", "jvp"]),
    jit=st_.booleans(),
    seed=st_.integers(0, 2**16),
    activation=st_.sampled_from(ACTIVATIONS),
)
def test_any_shape_dtype_and_extreme_value_matches_builtin(shape, dtype, extremes, imaginary_extremes, rule, jit,
                                                          seed, activation):
    rng = np.random.default_rng(seed)
    x = draw(rng, shape, dtype, 10).ravel()
    n = min(len(extremes), x.size)
    if imaginary_extremes and "complex" in dtype:
        x.imag[:n] = extremes[:n]
    else:
        x[:n] = extremes[:n]
    x = x.reshape(shape)
    g = draw(rng, shape, dtype, 1)  # random non-unit cotangents or tangents: rounding order shows
    with jax.enable_x64(True):
        x, g = jnp.asarray(x).astype(dtype), jnp.asarray(g).astype(dtype)
        ours = RULES[activation, rule, jit](x, g)
        ref = RULES["builtin " + activation, rule, jit](x, g)
    for a, b in zip(ours, ref, strict=True):
        assert_bitwise(a, b)


@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")  # JAX's own, for 1e308
@settings(max_examples=150, deadline=None)
@given(
    value=st_.one_of(st_.floats(allow_nan=True, allow_infinity=True), st_.sampled_from(EXTREMES),
                     st_.complex_numbers(max_magnitude=1e3)),
    rule=st_.sampled_from(["vjp", "jvp"]),
    jit=st_.booleans(),
    cotangent=st_.floats(-1e3, 1e3),
    activation=st_.sampled_from(ACTIVATIONS),
)
def test_python_scalars_stay_weakly_typed_like_builtin(value, rule, jit, cotangent, activation):
    # A Python scalar is weakly typed: the result must not promote a float16 array, as the built-in's does not.
    cotangent = type(value)(cotangent)  # a complex input takes a complex cotangent (or tangent)
    ours = RULES[activation, rule, jit](value, cotangent)
    ref = RULES["builtin " + activation, rule, jit](value, cotangent)
    for a, b in zip(ours, ref, strict=True):
        assert_bitwise(a, b)
        assert a.weak_type == b.weak_type
        assert (jnp.ones(2, jnp.float16) * a).dtype == (jnp.ones(2, jnp.float16) * b).dtype
