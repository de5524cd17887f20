"""JAX's modes for ``sigact verify``: each runs the built-in and sigact on one chunk of inputs.

Each mode names its built-in: ``jax.nn.sigmoid`` for the sigmoids, ``jnp.tanh`` for tanh (what users call:
both are ``jit(inline=True)`` functions, which eagerly run fused, unlike their ``lax`` primitives op by op),
and the unswapped function for the swap."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

import sigact.jax as sj
from sigact._parity import COMPLEX_DTYPES, DTYPES, Mode, Outcome
from sigact.jax._vjp import value_and_vjp


def devices() -> dict[str, str | None]:
    """Each device, and None if it can be checked or why not."""
    try:
        jax.devices("gpu")
        gpu = None
    except RuntimeError as error:
        gpu = f"no JAX GPU backend ({str(error).splitlines()[0]})"  # whole: a cut one misleads
    return {"cpu": None, "gpu": gpu}


def accelerators() -> list[str]:
    """The GPUs this run could check, as JAX names them."""
    return [f"{d.device_kind} ({d.platform})" for d in jax.devices() if d.platform != "cpu"]


def array(patterns: np.ndarray, dtype: str, device: jax.Device) -> jax.Array:
    """The bit patterns as an array of ``dtype`` (complex: (n, 2) real and imaginary patterns)."""
    real = {"complex64": jnp.float32, "complex128": jnp.float64}.get(dtype, dtype)
    parts = jax.lax.bitcast_convert_type(jax.device_put(patterns, device), real)
    return jax.lax.complex(parts[:, 0], parts[:, 1]) if dtype in COMPLEX_DTYPES else parts


def _forward_mode(fn: Callable) -> Callable:
    return lambda x, t: jax.jvp(fn, (x,), (t,))


def _reused(fn: Callable) -> Callable:
    """``(x, g) -> (fn(x), gᵀ·∂(x·fn(x) + x)/∂x)``: the value alone, the gradient where x has other uses, so
    that a rule returning its cotangent terms summed (a ``custom_vjp``) shows in the order it adds them."""

    def call(x, g):
        return fn(x), jax.vjp(lambda v: v * fn(v) + v, x)[1](g)[0]

    return call


def _mode(device: str, make: Callable[[Callable], Callable], sigact_fn: Callable,
          builtin_fn: Callable = jax.nn.sigmoid) -> Mode:
    target = jax.devices(device)[0]
    builtin, ours = make(builtin_fn), make(sigact_fn)

    def mode(patterns: np.ndarray, gradients: np.ndarray, dtype: str) -> Outcome:
        with jax.enable_x64(True):  # float64 and complex128 stay themselves; the rest is unchanged
            x = array(patterns, dtype, target)
            g = jax.device_put(jnp.asarray(gradients).astype(dtype), target)
            (y_ref, g_ref), (y, gx) = builtin(x, g), ours(x, g)
            return Outcome(x, g, (y_ref, y), (g_ref, gx))

    return mode


def gated_tanh_and_carry(x: jax.Array) -> jax.Array:
    """σ(x)·tanh(x) + x: a sigmoid and a tanh of one input, and the input carried on, as an LSTM's cell state
    is. Three cotangents add into x's, so a rule that adds its own terms in another order shows (without the
    carried x, a tanh with its whole tangent checkpointed still matched on every 16-bit input)."""
    return jax.nn.sigmoid(x) * jnp.tanh(x) + x


def modes(device: str) -> dict[str, tuple[Mode, tuple[str, ...], int | None]]:
    """name -> (mode, dtypes, sample size or None for the dtype's default inputs)."""
    swap = sj.swap_sigmoid(jax.nn.sigmoid)
    jitted = lambda f: jax.jit(value_and_vjp(f))  # noqa: E731
    return {
        "sigmoid": (_mode(device, value_and_vjp, sj.sigmoid), DTYPES, None),
        "sigmoid, jit": (_mode(device, lambda f: jax.jit(value_and_vjp(f)), sj.sigmoid), DTYPES, None),
        "sigmoid_jvp, jvp": (_mode(device, _forward_mode, sj.sigmoid_jvp), DTYPES, None),
        "sigmoid_jvp, jit": (_mode(device, lambda f: jax.jit(value_and_vjp(f)), sj.sigmoid_jvp), DTYPES, None),
        "swap_sigmoid, jit": (_mode(device, lambda f: jax.jit(value_and_vjp(f)), swap), DTYPES, None),
        "tanh": (_mode(device, value_and_vjp, sj.tanh, jnp.tanh), DTYPES, None),
        "tanh, jit": (_mode(device, jitted, sj.tanh, jnp.tanh), DTYPES, None),
        "tanh, jvp": (_mode(device, _forward_mode, sj.tanh, jnp.tanh), DTYPES, None),
        "tanh, reused, jit": (_mode(device, lambda f: jax.jit(_reused(f)), sj.tanh, jnp.tanh), DTYPES, None),
        "swap, jit": (_mode(device, jitted, sj.swap(gated_tanh_and_carry), gated_tanh_and_carry), DTYPES, None),
    }
