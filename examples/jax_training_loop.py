"""A Flax model trained with an Optax loop, sigact as its activation and as an LSTM gate.

The same loop runs with jax.nn.sigmoid beside it, and the losses must be bitwise identical.
The data (a noisy sine to predict one step ahead) is generated here.

    python examples/jax_training_loop.py [--steps N]
"""

import argparse

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

import sigact.jax as sj


class Forecaster(nn.Module):
    activation: object

    @nn.compact
    def __call__(self, xs):  # xs: (batch, time, 1)
        cell = nn.LSTMCell(features=16, gate_fn=self.activation)
        carry = cell.initialize_carry(jax.random.key(0), xs[:, 0].shape)
        carry, hs = nn.scan(lambda c, carry, x: c(carry, x), variable_broadcast="params",
                            split_rngs={"params": False}, in_axes=1, out_axes=1)(cell, carry, xs)
        h = self.activation(nn.Dense(16)(hs))
        return nn.Dense(1)(h)


def data(batch=32, length=24):
    t = jnp.linspace(0, 4 * jnp.pi, length + 1)
    phase = jax.random.uniform(jax.random.key(1), (batch, 1), maxval=2 * jnp.pi)
    series = jnp.sin(t + phase) + 0.05 * jax.random.normal(jax.random.key(2), (batch, length + 1))
    return series[:, :-1, None], series[:, 1:, None]


def train(activation, steps):
    """``steps`` Adam steps of the forecaster; returns the losses and the trained parameters."""
    model = Forecaster(activation)
    xs, ys = data()
    params = model.init(jax.random.key(3), xs)
    opt = optax.adam(1e-2)
    state = opt.init(params)

    @jax.jit
    def step(params, state):
        loss, grads = jax.value_and_grad(lambda p: jnp.mean((model.apply(p, xs) - ys) ** 2))(params)
        updates, state = opt.update(grads, state, params)
        return optax.apply_updates(params, updates), state, loss

    losses = []
    for _ in range(steps):
        params, state, loss = step(params, state)
        losses.append(float(loss))
    return losses, params


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60, help="training steps (default 60)")
    args = parser.parse_args(argv)
    (ours, _), (ref, _) = train(sj.sigmoid, args.steps), train(jax.nn.sigmoid, args.steps)
    print(f"{'step':>4} {'jax.nn.sigmoid':>16} {'sigact.jax':>16}")
    for i in range(0, args.steps, max(1, args.steps // 10)):
        print(f"{i:>4} {ref[i]:>16.10f} {ours[i]:>16.10f}")
    print(f"\nfinal loss {ours[-1]:.6f} (from {ours[0]:.6f}); bitwise identical to the built-in: {ours == ref}")
    if ours != ref:
        raise SystemExit("sigact changed a number")


if __name__ == "__main__":
    main()
