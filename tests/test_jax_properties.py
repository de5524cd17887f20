"""Property tests for sigact.jax's activations: any shape, dtype, weak type and extreme value gives the
built-in's values and derivatives bit for bit, eagerly and under jit. ``sigmoid`` (a custom_vjp) is
checked in reverse mode; ``sigmoid_jvp`` and ``tanh`` (custom_jvps) in reverse and forward mode, each against
what users call (``jax.nn.sigmoid``, ``jnp.tanh``)."""

import pytest

jax = pytest.importorskip("jax")
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st_  # noqa: E402

import sigact.jax as sj  # noqa: E402
from sigact.tools.jax_backend import value_and_vjp  # noqa: E402
from tests.helpers import EXTREMES, assert_bitwise  # noqa: E402

DTYPES = ["float16", "bfloat16", "float32", "float64", "complex64", "complex128"]
FUNCTIONS = {"sigmoid": sj.sigmoid, "sigmoid_jvp": sj.sigmoid_jvp, "tanh": sj.tanh,
             "builtin sigmoid": jax.nn.sigmoid, "builtin tanh": jnp.tanh}
BUILTIN = {"sigmoid": "builtin sigmoid", "sigmoid_jvp": "builtin sigmoid", "tanh": "builtin tanh"}
RULES = {"vjp": value_and_vjp, "jvp": lambda fn: lambda x, t: jax.jvp(fn, (x,), (t,))}
# (function, rule) pairs each property runs on: a custom_vjp has no forward mode.
CASES = [("sigmoid", "vjp"), ("sigmoid_jvp", "vjp"), ("sigmoid_jvp", "jvp"), ("tanh", "vjp"), ("tanh", "jvp")]

# Built once: the jit cache is then reused across examples of equal shape and dtype.
CALLS = {(name, rule, jit): (jax.jit if jit else lambda f: f)(RULES[rule](fn))
         for name, fn in FUNCTIONS.items() for rule in RULES for jit in (False, True)}


def draw(rng, shape, dtype, scale):
    real = rng.standard_normal(shape) * scale
    if "complex" in dtype:
        real = real + 1j * rng.standard_normal(shape) * scale
    return real


# Hypothesis's default 100 examples a case, 500 in all: nearly every one a shape and dtype not seen
# before, so compiled afresh under jit (200 a case made these five the suite's most expensive minute).
@pytest.mark.slow
@pytest.mark.parametrize("name, rule", CASES)
@settings(max_examples=100, deadline=None)
@given(
    shape=st_.lists(st_.integers(0, 5), min_size=0, max_size=3),
    dtype=st_.sampled_from(DTYPES),
    extremes=st_.lists(st_.sampled_from(EXTREMES), max_size=6),
    imaginary=st_.lists(st_.sampled_from(EXTREMES), max_size=6),
    jit=st_.booleans(),
    seed=st_.integers(0, 2**16),
)
def test_any_shape_dtype_and_extreme_value_matches_builtin(name, rule, shape, dtype, extremes, imaginary, jit,
                                                          seed):
    rng = np.random.default_rng(seed)
    x = draw(rng, shape, dtype, 10).ravel()
    x[: len(extremes)] = extremes[: x.size]
    if "complex" in dtype:
        x.imag[: len(imaginary)] = imaginary[: x.size]
    x = x.reshape(shape)
    g = draw(rng, shape, dtype, 1)  # random non-unit cotangents or tangents: rounding order shows
    with jax.enable_x64(True):
        x, g = jnp.asarray(x).astype(dtype), jnp.asarray(g).astype(dtype)
        ours, ref = CALLS[name, rule, jit](x, g), CALLS[BUILTIN[name], rule, jit](x, g)
    for a, b in zip(ours, ref, strict=True):
        assert_bitwise(a, b)


@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")  # JAX's own, for 1e308
@pytest.mark.parametrize("name, rule", CASES)
@settings(max_examples=100, deadline=None)
@given(
    value=st_.one_of(st_.floats(allow_nan=True, allow_infinity=True), st_.sampled_from(EXTREMES),
                     st_.complex_numbers(max_magnitude=1e3)),
    jit=st_.booleans(),
    cotangent=st_.floats(-1e3, 1e3),
)
def test_python_scalars_stay_weakly_typed_like_builtin(name, rule, value, jit, cotangent):
    # A Python scalar is weakly typed: the result must not promote a float16 array, as the built-in's does not.
    cotangent = type(value)(cotangent)  # a complex input takes a complex cotangent (or tangent)
    ours, ref = CALLS[name, rule, jit](value, cotangent), CALLS[BUILTIN[name], rule, jit](value, cotangent)
    for a, b in zip(ours, ref, strict=True):
        assert_bitwise(a, b)
        assert a.weak_type == b.weak_type
        assert (jnp.ones(2, jnp.float16) * a).dtype == (jnp.ones(2, jnp.float16) * b).dtype
