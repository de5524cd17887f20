"""sigact in the Flax + Optax training loop it was written for."""

import pytest

jax = pytest.importorskip("jax")
nn = pytest.importorskip("flax.linen")
optax = pytest.importorskip("optax")
import jax.numpy as jnp  # noqa: E402

import sigact.jax as sj  # noqa: E402
from tests.helpers import assert_bitwise  # noqa: E402


class Recurrent(nn.Module):
    gate_fn: object

    @nn.compact
    def __call__(self, xs):
        cell = nn.LSTMCell(features=8, gate_fn=self.gate_fn)
        carry = cell.initialize_carry(jax.random.key(0), xs[:, 0].shape)
        for t in range(xs.shape[1]):
            carry, h = cell(carry, xs[:, t])
        return nn.Dense(1)(h)


def train(gate_fn, steps=5):
    model = Recurrent(gate_fn=gate_fn)
    xs = jax.random.normal(jax.random.key(1), (4, 6, 3))
    targets = jax.random.normal(jax.random.key(2), (4, 1))
    params = model.init(jax.random.key(3), xs)
    opt = optax.adam(1e-2)
    state = opt.init(params)

    @jax.jit
    def step(params, state):
        loss, grads = jax.value_and_grad(lambda p: jnp.mean((model.apply(p, xs) - targets) ** 2))(params)
        updates, state = opt.update(grads, state, params)
        return optax.apply_updates(params, updates), state, loss

    losses = []
    for _ in range(steps):
        params, state, loss = step(params, state)
        losses.append(loss)
    return jnp.stack(losses), params


def test_lstm_cell_with_sigact_gate_trains_exactly_like_the_builtin_gate():
    losses, params = train(sj.sigmoid)
    losses_ref, params_ref = train(nn.sigmoid)
    assert_bitwise(losses, losses_ref)
    for a, b in zip(jax.tree.leaves(params), jax.tree.leaves(params_ref), strict=True):
        assert_bitwise(a, b)
    assert losses[-1] < losses[0]
