"""The JAX measurements behind ``sigact report`` and the benchmarks: correctness, memory, speed."""

from __future__ import annotations

import re
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax.test_util import check_grads

import sigact.jax as sj
from sigact._parity import cpu_mode_passes
from sigact._timing import perf_counter_timer, speed_rows
from sigact.jax._vjp import value_and_vjp


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
                passed = cpu_mode_passes("jax", dtype, "sigmoid, jit" if jit else "sigmoid")
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


def _program(text: str) -> list[str]:
    # Compare what XLA will run, not where each op came from: keep the computations, drop the
    # source-location tables and each instruction's metadata.
    lines = [line.strip() for line in text.splitlines()]
    instructions = [line for line in lines if line.startswith(("%", "ROOT", "ENTRY", "}"))]
    return [re.sub(r",? (metadata|backend_config)=\{.*?\}(?=,|$)", "", line) for line in instructions]


def same_compiled_program(n: int = 2**16) -> bool:
    """The jitted forward+backward of sigact compiles to the built-in's optimized HLO."""
    x = jnp.ones(n)

    def compiled(fn):
        return _program(jax.jit(value_and_vjp(fn)).lower(x, x).compile().as_text())

    return compiled(sj.sigmoid) == compiled(jax.nn.sigmoid)


def curves(xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """σ and σ′ at ``xs``, computed by sigact's forward and hand-written backward."""
    x = jnp.asarray(xs, jnp.float32)
    return np.asarray(sj.sigmoid(x)), np.asarray(jax.vmap(jax.grad(sj.sigmoid))(x))
