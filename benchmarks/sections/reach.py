"""The ``reach`` section of ``benchmarks/run.py``.

``sigact.jax.swap`` on every framework's recurrent cells (Flax linen and NNX, Equinox, Keras 3, Haiku) at
batch 32, length 128, 256 features: temp memory against the built-in's.
"""

from __future__ import annotations

from sections.common import log, table
from sigact._saved import human_bytes
from sigact.tools import jax_models


def measure(quick: bool, timing: dict) -> dict:
    size = {"batch": 4, "steps": 8, "inputs": 8, "features": 8} if quick else \
        {"batch": 32, "steps": 128, "inputs": 256, "features": 256}
    cells = {jax_models.flax_rnn: ("LSTMCell", "OptimizedLSTMCell", "GRUCell", "MGUCell"),
             jax_models.nnx_rnn: ("LSTMCell", "OptimizedLSTMCell", "GRUCell"),
             jax_models.equinox_rnn: ("LSTMCell", "GRUCell"), jax_models.keras_rnn: ("LSTM", "GRU"),
             jax_models.haiku_rnn: ("LSTM", "GRU")}
    builds = [(build, cell) for build, names in cells.items() for cell in names]
    # --quick: Flax's LSTM alone. tests/test_jax_models.py reaches every cell of every framework through the
    # same three functions (compiled_gradients, bitwise_equal, temp_bytes_by_swap).
    builds = builds[:1] if quick else builds
    rows = []
    for build, cell in builds:
        model = build(cell, **size)
        log(f"reach: {model.name}")
        compiled = jax_models.compiled_gradients(model)
        rows.append({"name": model.name, "gradients_bitwise_equal": jax_models.bitwise_equal(compiled, model.args),
                     **jax_models.temp_bytes_by_swap(compiled)})
    return {"rows": rows}


def show(result: dict) -> None:
    print("## Reach: temp memory of jit(grad(loss)) swapped, as a fraction of the built-in's\n")
    rows = [[r["name"], human_bytes(r["builtin_temp_bytes"]),
             f"{r['swap_sigmoid_temp_bytes'] / r['builtin_temp_bytes']:.3f}",
             f"{r['swap_temp_bytes'] / r['builtin_temp_bytes']:.3f}", str(r["gradients_bitwise_equal"])]
            for r in result["rows"]]
    print(table(["model", "built-in", "swap_sigmoid", "swap", "gradients bitwise"], rows))
    print()
