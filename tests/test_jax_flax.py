"""sigact in the Flax + Optax training loop it was written for: the LSTM forecaster of
examples/jax_training_loop.py, sigact as its gates and activation, against the built-in."""

import pytest

jax = pytest.importorskip("jax")
nn = pytest.importorskip("flax.linen")
pytest.importorskip("optax")

import sigact.jax as sj  # noqa: E402
from examples.jax_training_loop import Forecaster, train  # noqa: E402
from tests.helpers import assert_bitwise  # noqa: E402


def test_the_forecaster_is_an_lstm_cell_with_its_gate_function_taken_from_the_activation():
    model = Forecaster(sj.sigmoid)
    params = model.init(jax.random.key(0), jax.numpy.ones((2, 3, 1)))["params"]
    assert sorted(params) == ["Dense_0", "Dense_1", "LSTMCell_0"]
    assert sorted(params["LSTMCell_0"]) == ["hf", "hg", "hi", "ho", "if", "ig", "ii", "io"]
    cell = model.bind({"params": params})
    gates = []

    def record_gate(method, args, kwargs, context):
        if isinstance(context.module, nn.LSTMCell):
            gates.append(context.module.gate_fn)
        return method(*args, **kwargs)

    with nn.intercept_methods(record_gate):
        cell(jax.numpy.ones((2, 3, 1)))
    assert gates and all(gate is sj.sigmoid for gate in gates)


def test_lstm_with_sigact_gates_trains_exactly_like_the_builtin_gates():
    losses, params = train(sj.sigmoid, steps=5)
    losses_ref, params_ref = train(nn.sigmoid, steps=5)
    assert losses == losses_ref
    for a, b in zip(jax.tree.leaves(params), jax.tree.leaves(params_ref), strict=True):
        assert_bitwise(a, b)
    assert losses[-1] < losses[0]
