"""Whole models under ``jit`` for ``sigact report`` and the benchmarks: where the swap saves memory
that XLA cannot save, and what it costs against remat.

Each model is a loss whose gradient is compiled as written (the built-in rules), through
:func:`~sigact.jax.swap_sigmoid` and through :func:`~sigact.jax.swap`. Every model runs a
``lax.scan``, which stacks each step's residuals into buffers that live from the forward loop to the
backward loop; the built-in's extra y·(1 − y) for a sigmoid, and its extra (1 − y) beside y for a
tanh, are among them, and no fusion can remove them. Compiling, memory, timing and the bitwise check
are :func:`~sigact.jax.plan`'s engine (``sigact/jax/_plan.py``), on the plan's own candidates; remat
is :func:`~sigact.jax.remat_scans`, which reaches every framework's scan, hidden or not.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import sigact.jax as sj
from sigact.jax import _plan as engine

SWAPS = ("builtin", "swap_sigmoid", "swap")


@dataclass(frozen=True)
class Model:
    """A loss and its arguments: ``loss(*args)`` is a scalar to differentiate in its first argument."""

    name: str
    loss: Callable[..., jax.Array]
    args: tuple[Any, ...]


def cpu_policies() -> dict[str, Callable]:
    """Every ``jax.checkpoint_policies`` policy that runs on a CPU, by name. The factories get the
    name ``"hidden"`` (which :func:`scanned_mlp` gives its first product); the offloading ones move
    to ``pinned_host``, which a CPU has."""
    cp = jax.checkpoint_policies
    plain = ("everything_saveable", "nothing_saveable", "dots_saveable", "checkpoint_dots",
             "dots_with_no_batch_dims_saveable", "checkpoint_dots_with_no_batch_dims")
    return {**{name: getattr(cp, name) for name in plain},
            "save_only_these_names": cp.save_only_these_names("hidden"),
            "save_anything_except_these_names": cp.save_anything_except_these_names("hidden"),
            "save_any_names_but_these": cp.save_any_names_but_these("hidden"),
            "save_from_both_policies": cp.save_from_both_policies(cp.dots_with_no_batch_dims_saveable,
                                                                  cp.save_only_these_names("hidden")),
            "offload_dot_with_no_batch_dims": cp.offload_dot_with_no_batch_dims("device", "pinned_host"),
            "save_and_offload_only_these_names": cp.save_and_offload_only_these_names(
                names_which_can_be_saved=["hidden"], names_which_can_be_offloaded=[], offload_src="device",
                offload_dst="pinned_host")}


def flax_rnn(cell: str = "LSTMCell", batch: int = 32, steps: int = 512, inputs: int = 128,
             features: int = 256) -> Model:
    """Flax linen's own recurrent cell through ``nn.RNN`` (a ``lax.scan``), as a user would write it."""
    import flax.linen as nn

    model = nn.RNN(getattr(nn, cell)(features=features))
    x = jax.random.normal(jax.random.key(0), (batch, steps, inputs))
    variables = model.init(jax.random.key(1), x)

    def loss(variables, x):
        return jnp.mean(model.apply(variables, x) ** 2)

    return Model(f"Flax {cell}, nn.RNN, x {batch}x{steps}x{inputs}, {features} features", loss, (variables, x))


def nnx_rnn(cell: str = "LSTMCell", batch: int = 32, steps: int = 128, inputs: int = 128,
            features: int = 256) -> Model:
    """A Flax NNX cell through ``nnx.RNN``, differentiated as a function of its state."""
    from flax import nnx

    model = nnx.RNN(getattr(nnx, cell)(inputs, features, rngs=nnx.Rngs(0)))
    # The carry is made here: made inside the loss, it would advance an RNG counter under a trace.
    carry = model.cell.initialize_carry((batch, inputs), nnx.Rngs(1))
    graphdef, params, rest = nnx.split(model, nnx.Param, ...)  # type: ignore[misc]  # rest: RNG counters
    x = jax.random.normal(jax.random.key(0), (batch, steps, inputs))

    def loss(params, x):
        return jnp.mean(nnx.merge(graphdef, params, rest)(x, initial_carry=carry) ** 2)

    return Model(f"Flax NNX {cell}, nnx.RNN, x {batch}x{steps}x{inputs}, {features} features", loss, (params, x))


def equinox_rnn(cell: str = "LSTMCell", batch: int = 32, steps: int = 512, inputs: int = 128,
                features: int = 256) -> Model:
    """An Equinox cell stepped by ``lax.scan`` over time and ``vmap`` over the batch, the way
    Equinox's docs write an RNN."""
    import equinox as eqx

    module = getattr(eqx.nn, cell)(inputs, features, key=jax.random.key(1))
    params, static = eqx.partition(module, eqx.is_array)
    x = jax.random.normal(jax.random.key(0), (steps, batch, inputs))
    lstm = cell == "LSTMCell"

    def loss(params, x):
        step_cell = jax.vmap(eqx.combine(params, static))

        def step(carry, x_t):
            carry = step_cell(x_t, carry)
            return carry, carry[0] if lstm else carry

        h = jnp.zeros((batch, features))
        return jnp.mean(jax.lax.scan(step, (h, h) if lstm else h, x)[1] ** 2)

    return Model(f"Equinox {cell}, lax.scan, x {batch}x{steps}x{inputs}, {features} features", loss, (params, x))


def _keras():
    # Keras picks its backend once, at its first import.
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras

    if keras.backend.backend() != "jax":
        raise ImportError(f"Keras runs on {keras.backend.backend()!r}; set KERAS_BACKEND=jax before importing it")
    return keras


def keras_rnn(layer: str = "LSTM", batch: int = 32, steps: int = 512, inputs: int = 128,
              features: int = 256) -> Model:
    """A Keras 3 recurrent layer on the JAX backend through ``stateless_call`` (its ``lax.scan`` is
    inside Keras, which offers no remat knob: :func:`~sigact.jax.remat_scans` reaches it)."""
    keras = _keras()
    rnn = getattr(keras.layers, layer)(features, return_sequences=True)
    rnn.build((batch, steps, inputs))
    trainable = [v.value for v in rnn.trainable_variables]
    fixed = [v.value for v in rnn.non_trainable_variables]
    x = jax.random.normal(jax.random.key(0), (batch, steps, inputs))

    def loss(trainable, x):
        return jnp.mean(rnn.stateless_call(trainable, fixed, x)[0] ** 2)

    return Model(f"Keras {layer}, stateless_call, x {batch}x{steps}x{inputs}, {features} features", loss,
                 (trainable, x))


def haiku_rnn(core: str = "LSTM", batch: int = 32, steps: int = 128, inputs: int = 128,
              features: int = 256) -> Model:
    """A Haiku recurrent core through ``hk.dynamic_unroll`` (a ``lax.scan``)."""
    import haiku as hk

    def forward(x):
        rnn = getattr(hk, core)(features)
        return hk.dynamic_unroll(rnn, x, rnn.initial_state(batch), time_major=False)[0]

    transformed = hk.without_apply_rng(hk.transform(forward))
    x = jax.random.normal(jax.random.key(0), (batch, steps, inputs))
    params = transformed.init(jax.random.key(1), x)

    def loss(params, x):
        return jnp.mean(transformed.apply(params, x) ** 2)

    return Model(f"Haiku {core}, hk.dynamic_unroll, x {batch}x{steps}x{inputs}, {features} features", loss,
                 (params, x))


def scanned_mlp(activation: str = "silu", layers: int = 16, batch: int = 2048, width: int = 256,
                hidden: int = 1024) -> Model:
    """A stack of residual layers run by ``lax.scan``, as scanned transformer stacks are: each
    ``h + act(h @ W1) @ W2`` with ``act`` ``jax.nn.silu`` or ``jax.nn.sigmoid`` (a sigmoid-gated MLP),
    or ``h + (silu(h @ W1) * (h @ W3)) @ W2`` for ``"swiglu"``. ``h @ W1`` is named ``"hidden"`` for
    the name-based policies of :func:`cpu_policies` (under :func:`~sigact.jax.remat_scans`)."""
    from jax.ad_checkpoint import checkpoint_name

    k1, k2, k3, k4 = jax.random.split(jax.random.key(2), 4)
    w1 = jax.random.normal(k1, (layers, width, hidden)) / np.sqrt(width)
    w2 = jax.random.normal(k2, (layers, hidden, width)) / np.sqrt(hidden)
    w3 = jax.random.normal(k3, (layers, width, hidden)) / np.sqrt(width)
    x = jax.random.normal(k4, (batch, width))
    weights = (w1, w2, w3) if activation == "swiglu" else (w1, w2)

    def loss(weights, x):
        def layer(h, w):
            pre = checkpoint_name(h @ w[0], "hidden")
            if activation == "swiglu":
                inner = jax.nn.silu(pre) * (h @ w[2])
            else:
                inner = {"silu": jax.nn.silu, "sigmoid": jax.nn.sigmoid}[activation](pre)
            return h + inner @ w[1], None

        return jnp.mean(jax.lax.scan(layer, x, weights)[0] ** 2)

    title = {"silu": "SiLU", "sigmoid": "sigmoid-gated", "swiglu": "SwiGLU"}[activation]
    return Model(f"scanned {title} MLP, {layers} layers, batch {batch}, {width}->{hidden}->{width}", loss,
                 (weights, x))


def remat(model: Model, policy: str | Callable) -> Model:
    """The model with every scan body under ``jax.checkpoint`` with ``policy`` (a name, or one of
    :func:`cpu_policies`), by :func:`~sigact.jax.remat_scans`."""
    name = policy if isinstance(policy, str) else getattr(policy, "__name__", "a policy")
    return Model(f"{model.name}, remat {name}", sj.remat_scans(model.loss, policy), model.args)


def tradeoff_models(quick: bool = False) -> list[Callable[[], Model]]:
    """The five models of the memory/time trade-off, at sequence length 512. ``quick``: two of them, tiny (a
    smoke run: tests/test_jax_plan.py runs the plan's engine on each framework's model)."""
    if quick:
        rnn = {"batch": 4, "steps": 16, "inputs": 8, "features": 16}
        mlp = {"layers": 2, "batch": 32, "width": 16, "hidden": 64}
        return [lambda: flax_rnn("LSTMCell", **rnn), lambda: scanned_mlp("swiglu", **mlp)]
    rnn = {"batch": 16, "steps": 512, "inputs": 128, "features": 256}
    mlp = {"layers": 8, "batch": 512, "width": 512, "hidden": 1536}
    return [lambda: flax_rnn("LSTMCell", **rnn), lambda: flax_rnn("GRUCell", **rnn),
            lambda: equinox_rnn("LSTMCell", **rnn), lambda: keras_rnn("LSTM", **rnn),
            lambda: scanned_mlp("swiglu", **mlp)]


def report_models(quick: bool) -> list[Callable[[], Model]]:
    """The report's models; ``--quick`` keeps two small ones (compiling three gradients of a Flax
    model takes seconds whatever its size): an LSTM, which has a tanh, and a sigmoid-gated stack."""
    if quick:
        return [lambda: flax_rnn(batch=8, steps=32, inputs=16, features=32),
                lambda: scanned_mlp("sigmoid", layers=4, batch=128, width=32, hidden=128)]
    return [lambda: flax_rnn(batch=64, steps=512),
            lambda: flax_rnn("GRUCell", batch=64, steps=512),
            lambda: scanned_mlp("silu"), lambda: scanned_mlp("sigmoid")]


def compiled_gradients(model: Model, swaps: tuple[str, ...] = SWAPS) -> dict[str, jax.stages.Compiled]:
    """The compiled gradient of the model's loss, as written ("builtin") and through each swap: the
    plan's candidates of those names, compiled by its engine."""
    functions = engine.candidates(model.loss, ())
    return {name: engine.compile_step(functions[name], model.args) for name in swaps}


def temp_bytes_by_swap(compiled: dict[str, jax.stages.Compiled]) -> dict[str, int | None]:
    """``{"<swap>_temp_bytes": XLA temp bytes}`` of each compiled gradient, as the rows name them
    (None where the backend does not measure them)."""
    return {f"{k}_temp_bytes": engine.memory(fn)[0] for k, fn in compiled.items()}


def bitwise_equal(compiled: dict[str, jax.stages.Compiled], args: tuple[Any, ...]) -> bool:
    """Every compiled gradient's leaves equal the first one's, bit for bit."""
    grads = [fn(*args) for fn in compiled.values()]
    return all(engine.bitwise(g, grads[0]) for g in grads[1:])


def measure(model: Model, *, rounds: int = 3, seconds: float = 0.0) -> dict[str, Any]:
    """XLA temp bytes and median step seconds of the jitted gradient, built-in against each swap, and
    whether the gradients are bitwise equal: the plan's engine on the built-in and the two swaps."""
    functions = engine.candidates(model.loss, ())
    rows = engine.measure({k: functions[k] for k in SWAPS}, model.args, rounds=rounds, seconds=seconds)
    return {"name": model.name, **{f"{r.name}_temp_bytes": r.temp_bytes for r in rows},
            **{f"{r.name}_s": r.step_seconds for r in rows}, "gradients_bitwise_equal": all(r.bitwise for r in rows)}


def models(quick: bool = False, on_model: Callable[[int], None] = lambda i: None) -> tuple[list[dict], list[str]]:
    """:func:`measure` for each of the report's models, and why any model was left out (its library
    is not installed)."""
    rows, skipped = [], []
    for i, build in enumerate(report_models(quick)):
        on_model(i)
        try:
            model = build()
        except ImportError as error:
            skipped.append(f"a model needs a library that is not installed ({error})")
            continue
        rows.append(measure(model, rounds=3 if quick else 5))
    return rows, skipped
