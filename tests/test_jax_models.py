"""sigact.jax.swap on whole models under jit: the saving it measures, the frameworks it reaches with
gradients bitwise equal to the built-in's, and no remat policy under which it costs memory."""

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")  # Keras reads it once, at its first import
jax = pytest.importorskip("jax")
pytest.importorskip("flax")

from sigact.tools.jax_backend import temp_bytes  # noqa: E402
from sigact.tools.jax_models import (  # noqa: E402
    compiled_gradients,
    cpu_policies,
    equinox_rnn,
    flax_rnn,
    haiku_rnn,
    keras_rnn,
    nnx_rnn,
    remat,
    scanned_mlp,
)
from tests.helpers import assert_bitwise  # noqa: E402

SMALL_RNN = {"batch": 8, "steps": 32, "inputs": 16, "features": 32}
SMALL_MLP = {"layers": 4, "batch": 64, "width": 32, "hidden": 128}


def assert_saves_and_matches(model, at_most, swap="swap"):
    """The swapped gradient's temp bytes are at most ``at_most`` of the built-in's, and its values
    are the built-in's, bit for bit."""
    compiled = compiled_gradients(model, ("builtin", swap))
    builtin, swapped = (temp_bytes(fn) for fn in compiled.values())
    assert swapped <= at_most * builtin, f"{model.name}: {swapped} of {builtin} bytes ({swapped / builtin:.3f})"
    for a, b in zip(*(jax.tree.leaves(fn(*model.args)) for fn in compiled.values()), strict=True):
        assert_bitwise(np.asarray(b), np.asarray(a))


# The ceilings: swapped temp bytes over the built-in's, as measured at these small sizes (batch 8,
# length 32, 32 features) plus about 0.02. `python benchmarks/run.py --only reach` measures them at
# the size (batch 32, length 128, 256 features). Haiku's GRU saves only tanh's buffer: it
# applies one sigmoid to its joined gates, whose output it keeps anyway.
REACH = {
    "Flax LSTMCell": (lambda: flax_rnn("LSTMCell", **SMALL_RNN), 0.68),
    "Flax OptimizedLSTMCell": (lambda: flax_rnn("OptimizedLSTMCell", **SMALL_RNN), 0.69),
    "Flax GRUCell": (lambda: flax_rnn("GRUCell", **SMALL_RNN), 0.76),
    "Flax MGUCell": (lambda: flax_rnn("MGUCell", **SMALL_RNN), 0.81),
    "Flax NNX LSTMCell": (lambda: nnx_rnn("LSTMCell", **SMALL_RNN), 0.68),
    "Flax NNX OptimizedLSTMCell": (lambda: nnx_rnn("OptimizedLSTMCell", **SMALL_RNN), 0.68),
    "Flax NNX GRUCell": (lambda: nnx_rnn("GRUCell", **SMALL_RNN), 0.76),
    "Equinox LSTMCell": (lambda: equinox_rnn("LSTMCell", **SMALL_RNN), 0.67),
    "Equinox GRUCell": (lambda: equinox_rnn("GRUCell", **SMALL_RNN), 0.75),
    "Keras LSTM": (lambda: keras_rnn("LSTM", **SMALL_RNN), 0.68),
    "Keras GRU": (lambda: keras_rnn("GRU", **SMALL_RNN), 0.86),
    "Haiku LSTM": (lambda: haiku_rnn("LSTM", **SMALL_RNN), 0.68),
    "Haiku GRU": (lambda: haiku_rnn("GRU", **SMALL_RNN), 0.94),
}


# Each compiles its gradient twice, 10 to 20 s here: all but Flax's LSTM are marked slow.
@pytest.mark.parametrize("name", [pytest.param(n, marks=() if n == "Flax LSTMCell" else pytest.mark.slow)
                                  for n in REACH])
def test_swap_reaches_each_frameworks_recurrent_cells_bitwise_with_less_temp_memory(name):
    build, at_most = REACH[name]
    pytest.importorskip({"Equinox": "equinox", "Keras": "keras", "Haiku": "haiku"}.get(name.split()[0], "flax"))
    assert_saves_and_matches(build(), at_most)


@pytest.mark.parametrize("activation", ["silu", "sigmoid", "swiglu"])
def test_scanned_mlps_save_temp_memory(activation):
    assert_saves_and_matches(scanned_mlp(activation, **SMALL_MLP), at_most=0.88)


def test_swap_sigmoid_saves_less_than_swap_on_an_lstm():
    # swap_sigmoid leaves the tanh's (1 - y) behind; swap takes it too.
    compiled = compiled_gradients(flax_rnn("LSTMCell", **SMALL_RNN))
    builtin, sigmoid_only, both = (temp_bytes(compiled[k]) for k in ("builtin", "swap_sigmoid", "swap"))
    assert both < sigmoid_only <= 0.88 * builtin


# nothing_saveable caught sigmoid_jvp's checkpoint with the default prevent_cse=True (+13 % here);
# the others take 2 to 4 s each and are marked slow.
FAST_POLICIES = ("nothing_saveable", "dots_saveable")


@pytest.mark.parametrize("policy", [pytest.param(p, marks=() if p in FAST_POLICIES else pytest.mark.slow)
                                   for p in cpu_policies()])
def test_no_remat_policy_makes_the_swap_cost_memory_on_a_scanned_stack(policy):
    model = remat(scanned_mlp("swiglu", **SMALL_MLP), cpu_policies()[policy])
    compiled = compiled_gradients(model, ("builtin", "swap"))
    assert temp_bytes(compiled["swap"]) <= temp_bytes(compiled["builtin"]), policy


@pytest.mark.slow
@pytest.mark.parametrize("policy", list(cpu_policies()))
def test_no_remat_policy_makes_the_swap_cost_memory_on_an_lstm(policy):
    model = remat(flax_rnn("LSTMCell", **SMALL_RNN), cpu_policies()[policy])
    compiled = compiled_gradients(model, ("builtin", "swap"))
    assert temp_bytes(compiled["swap"]) <= temp_bytes(compiled["builtin"]), policy


@pytest.mark.parametrize("policy", ["nothing_saveable", "dots_saveable"])
def test_no_remat_policy_makes_the_swap_cost_memory_on_an_equinox_lstm(policy):
    model = remat(equinox_rnn("LSTMCell", **SMALL_RNN), policy)
    compiled = compiled_gradients(model, ("builtin", "swap"))
    assert temp_bytes(compiled["swap"]) <= temp_bytes(compiled["builtin"]), policy


def test_the_models_bitwise_check_is_the_plans_and_flags_one_ulp():
    # The cell of tests/test_jax_remat.py whose weight gradient under nothing_saveable differs from the
    # built-in's in the last bit of some entries: the check the report and the benchmarks run must say so.
    import jax.numpy as jnp

    import sigact.jax as sj
    from sigact.jax import _plan as engine
    from sigact.tools.jax_models import bitwise_equal

    def cell(w, xs):
        def step(c, x):
            h = x @ w
            return jax.nn.sigmoid(h) * c + jnp.tanh(h), None

        return jnp.mean(jax.lax.scan(step, jnp.zeros(8), xs)[0] ** 2)

    args = jnp.eye(8) / 2, jnp.linspace(-1, 1, 512).reshape(64, 8)
    builtin, remat = (engine.compile_step(f, args) for f in (cell, sj.remat_scans(cell, "nothing_saveable")))
    assert bitwise_equal({"builtin": builtin, "swap": engine.compile_step(sj.swap(cell), args)}, args)
    assert not bitwise_equal({"builtin": builtin, "remat": remat}, args)
