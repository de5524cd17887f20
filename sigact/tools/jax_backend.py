"""JAX's side of the commands (:class:`sigact.tools.backend.Backend`): what ``sigact report`` and the
benchmarks measure (correctness, memory, speed) and the modes ``sigact verify`` runs, each the built-in and
sigact on one chunk of inputs.

Each verify mode names its built-in: ``jax.nn.sigmoid`` for the sigmoids, ``jnp.tanh`` for tanh (what users
call: both are ``jit(inline=True)`` functions, which eagerly run fused, unlike their ``lax`` primitives op by
op), and the unswapped function for the swap."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.test_util import check_grads

import sigact.jax as sj
from sigact._timing import perf_counter_timer, speed_rows
from sigact.tools.parity import COMPLEX_DTYPES, DTYPES, Mode, Outcome, cpu_mode_passes


def value_and_vjp(fn: Callable[[jax.Array], Any]) -> Callable[[jax.Array, jax.Array], tuple[Any, Any]]:
    """``(x, g) -> (fn(x), gᵀ·∂fn/∂x)``: the value and the vector-Jacobian product for cotangent ``g``.

    Example:
        >>> import jax.numpy as jnp, sigact.jax as sj
        >>> y, gx = value_and_vjp(sj.sigmoid)(jnp.zeros(2), jnp.ones(2))
        >>> y.tolist(), gx.tolist()   # σ(0) = 1/2, σ'(0) = 1/2 · 1/2
        ([0.5, 0.5], [0.25, 0.25])
    """

    def call(x: jax.Array, g: jax.Array) -> tuple[Any, Any]:
        y, pullback = jax.vjp(fn, x)
        return y, pullback(g)[0]

    return call


def naive_sigmoid(x: jax.Array) -> jax.Array:
    """The composite many models still write by hand; reverse mode keeps exp(−x) and more."""
    return 1 / (1 + jnp.exp(-x))


ACTIVATIONS: dict[str, Callable[[jax.Array], jax.Array]] = {
    "builtin": jax.nn.sigmoid,
    "sigact": sj.sigmoid,
    "naive": naive_sigmoid,
}


def correctness() -> list[tuple[str, bool]]:
    """Named checks, each True when it passed."""
    checks = []
    with jax.enable_x64(True):
        try:
            check_grads(sj.sigmoid, (jnp.linspace(-6.0, 6.0, 13, dtype=jnp.float64),), order=2, modes=("rev",))
            passed = True
        except AssertionError:
            passed = False
        checks.append(("check_grads float64, reverse mode, orders 1 and 2", passed))
        for dtype in ("float16", "bfloat16", "float32", "float64"):
            for jit in (False, True):
                how = "jit" if jit else "eager"
                name = "sigmoid, jit" if jit else "sigmoid"
                passed = cpu_mode_passes("jax", dtype, name, modes("cpu")[name][0])
                checks.append((f"bitwise parity with jax.nn.sigmoid, {dtype}, {how}", passed))
    checks.append(("jit forward+backward compiles to the built-in's optimized HLO", same_compiled_program()))
    return checks


def mlp_params(width: int = 256, depth: int = 8, seed: int = 0) -> list[jax.Array]:
    keys = jax.random.split(jax.random.key(seed), depth)
    return [jax.random.normal(k, (width, width)) / np.sqrt(width) for k in keys]


def mlp_loss(activation: Callable, params: list[jax.Array], x: jax.Array) -> jax.Array:
    for w in params:
        x = activation(x @ w)
    return jnp.mean(x**2)


def train_step(activation: Callable) -> Callable:
    """One SGD step of :func:`mlp_loss`, the unit the compiled-memory figure is measured on."""

    def step(params, x):
        grads = jax.grad(lambda p: mlp_loss(activation, p, x))(params)
        return [w - 0.1 * g for w, g in zip(params, grads, strict=True)]

    return step


def compiled_temp_bytes(fn: Callable, *args) -> int:
    """Temporary memory XLA allocates for ``jit(fn)(*args)``, from the compiled executable."""
    return temp_bytes(jax.jit(fn).lower(*args).compile())


def temp_bytes(compiled: jax.stages.Compiled) -> int:
    """Temporary memory XLA allocates for one call of a compiled executable."""
    return int(compiled.memory_analysis().temp_size_in_bytes)


def memory(quick: bool = False) -> dict[str, dict[str, int]]:
    """Residual bytes for one activation and an MLP step, and the MLP step's compiled temp bytes."""
    x = jnp.ones(2**20)
    one = {name: sj.audit(fn, x).total_bytes for name, fn in ACTIVATIONS.items()}
    params = mlp_params()
    batch = jax.random.normal(jax.random.key(1), (64 if quick else 256, 256))
    residuals, compiled = {}, {}
    for name, fn in ACTIVATIONS.items():
        residuals[name] = sj.audit(lambda p, b, fn=fn: mlp_loss(fn, p, b), params, batch).total_bytes
        compiled[name] = compiled_temp_bytes(train_step(fn), params, batch)
    return {"activation": one, "mlp": residuals, "mlp_compiled_temp": compiled}


def forward_backward(fn: Callable, n: int, dtype: str) -> Callable[[], object]:
    """One jitted call: y = fn(x) and the gradient of x for a fixed upstream gradient."""
    x = jax.random.normal(jax.random.key(0), (n,), dtype)
    g = jax.random.normal(jax.random.key(1), (n,), dtype)
    step = jax.jit(value_and_vjp(fn))
    return lambda: jax.block_until_ready(step(x, g))


EXECUTIONS = ("jit",)


def speed(
    sizes: list[int],
    *,
    execution: str = "jit",
    dtype: str = "float32",
    rounds: int = 5,
    seconds: float = 0.05,
    on_size: Callable[[int], None] = lambda n: None,
) -> list[dict]:
    """Median forward+backward seconds per call under jit, built-in, sigact and naive side by side."""
    if execution not in EXECUTIONS:
        raise ValueError(f"JAX is timed under jit only, got execution={execution!r}")

    def contenders_at(n: int) -> dict[str, Callable[[], object]]:
        return {name: forward_backward(fn, n, dtype) for name, fn in ACTIVATIONS.items()}

    return speed_rows(sizes, contenders_at, perf_counter_timer, rounds=rounds, seconds=seconds, on_size=on_size,
                      execution=execution, dtype=dtype)


def optimized_hlo(text: str) -> list[str]:
    # Compare what XLA will run, not where each op came from: keep the computations, drop the
    # source-location tables and each instruction's metadata.
    lines = [line.strip() for line in text.splitlines()]
    instructions = [line for line in lines if line.startswith(("%", "ROOT", "ENTRY", "}"))]
    return [re.sub(r",? (metadata|backend_config)=\{.*?\}(?=,|$)", "", line) for line in instructions]


def same_compiled_program(n: int = 2**16) -> bool:
    """The jitted forward+backward of sigact compiles to the built-in's optimized HLO."""
    x = jnp.ones(n)

    def compiled(fn):
        return optimized_hlo(jax.jit(value_and_vjp(fn)).lower(x, x).compile().as_text())

    return compiled(sj.sigmoid) == compiled(jax.nn.sigmoid)


def curves(xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """σ and σ′ at ``xs``, computed by sigact's forward and hand-written backward."""
    x = jnp.asarray(xs, jnp.float32)
    return np.asarray(sj.sigmoid(x)), np.asarray(jax.vmap(jax.grad(sj.sigmoid))(x))


# -- sigact verify's modes -------------------------------------------------------------------------

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
