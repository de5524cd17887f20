"""Models under ``jit`` for ``sigact report``: where the swap saves memory that XLA cannot save.

Each model is a loss whose gradient is compiled twice, as written (the built-in sigmoid) and through
:func:`~sigact.jax.swap_sigmoid`. All three run a ``lax.scan``, which stacks each step's residuals
into buffers that live from the forward loop to the backward loop; the built-in's extra y·(1 − y)
is one of them, and no fusion can remove it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import sigact.jax as sj
from sigact._parity import mismatches
from sigact._timing import interleaved_medians, perf_counter_timer
from sigact.jax._measure import temp_bytes


@dataclass(frozen=True)
class Model:
    """A loss and its arguments: ``loss(*args)`` is a scalar to differentiate in its first argument."""

    name: str
    loss: Callable[..., jax.Array]
    args: tuple[Any, ...]


def flax_rnn(cell: str = "LSTMCell", batch: int = 64, steps: int = 512, inputs: int = 128,
             features: int = 256) -> Model:
    """Flax's own recurrent cell through ``nn.RNN`` (a ``lax.scan``), as a user would write it."""
    import flax.linen as nn

    model = nn.RNN(getattr(nn, cell)(features=features))
    x = jax.random.normal(jax.random.key(0), (batch, steps, inputs))
    variables = model.init(jax.random.key(1), x)

    def loss(variables, x):
        return jnp.mean(model.apply(variables, x) ** 2)

    return Model(f"Flax {cell}, nn.RNN, x {batch}x{steps}x{inputs}, {features} features", loss, (variables, x))


def scanned_mlp(activation: str = "silu", layers: int = 16, batch: int = 2048, width: int = 256,
                hidden: int = 1024, remat: str | None = None) -> Model:
    """A stack of residual layers ``h + act(h @ W1) @ W2`` run by ``lax.scan``, as scanned transformer
    stacks are; ``act`` is ``jax.nn.silu`` or ``jax.nn.sigmoid`` (a sigmoid-gated MLP). ``remat``
    names a ``jax.checkpoint_policies`` policy to wrap each layer in (``"dots_saveable"``, say)."""
    act = {"silu": jax.nn.silu, "sigmoid": jax.nn.sigmoid}[activation]
    k1, k2, k3 = jax.random.split(jax.random.key(2), 3)
    w1 = jax.random.normal(k1, (layers, width, hidden)) / np.sqrt(width)
    w2 = jax.random.normal(k2, (layers, hidden, width)) / np.sqrt(hidden)
    x = jax.random.normal(k3, (batch, width))

    def loss(weights, x):
        def layer(h, w):
            return h + act(h @ w[0]) @ w[1], None

        if remat is not None:
            layer = jax.checkpoint(layer, policy=getattr(jax.checkpoint_policies, remat))
        return jnp.mean(jax.lax.scan(layer, x, weights)[0] ** 2)

    name = f"scanned {'SiLU' if activation == 'silu' else 'sigmoid-gated'} MLP, {layers} layers, " \
           f"batch {batch}, {width}->{hidden}->{width}" + (f", remat {remat}" if remat else "")
    return Model(name, loss, ((w1, w2), x))


def report_models(quick: bool) -> list[Callable[[], Model]]:
    """The report's three models; ``--quick`` sizes compile and run in a few seconds."""
    if quick:
        return [lambda: flax_rnn(batch=8, steps=32, inputs=16, features=32),
                lambda: scanned_mlp("silu", layers=4, batch=128, width=32, hidden=128),
                lambda: scanned_mlp("sigmoid", layers=4, batch=128, width=32, hidden=128)]
    return [flax_rnn, lambda: scanned_mlp("silu"), lambda: scanned_mlp("sigmoid")]


def compiled_gradients(model: Model) -> dict[str, jax.stages.Compiled]:
    """The compiled gradient of the model's loss, as written ("builtin") and swapped ("sigact")."""
    losses = {"builtin": model.loss, "sigact": sj.swap_sigmoid(model.loss)}
    return {name: jax.jit(jax.grad(loss)).lower(*model.args).compile() for name, loss in losses.items()}


def measure(model: Model, *, rounds: int = 3, seconds: float = 0.0) -> dict[str, Any]:
    """XLA temp bytes and median step seconds of the jitted gradient, built-in against swapped, and
    whether the two gradients are bitwise equal."""
    compiled = compiled_gradients(model)
    grads = [jax.tree.leaves(fn(*model.args)) for fn in compiled.values()]
    bitwise = all(a.dtype == b.dtype and mismatches(b, a).size == 0 for a, b in zip(*grads, strict=True))
    steps = {name: (lambda fn=fn: jax.block_until_ready(fn(*model.args))) for name, fn in compiled.items()}
    medians = interleaved_medians(steps, perf_counter_timer, rounds=rounds, seconds=seconds)
    return {"name": model.name, "builtin_temp_bytes": temp_bytes(compiled["builtin"]),
            "sigact_temp_bytes": temp_bytes(compiled["sigact"]), "builtin_s": medians["builtin"],
            "sigact_s": medians["sigact"], "gradients_bitwise_equal": bitwise}


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
