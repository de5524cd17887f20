"""Flax's own LSTM, unchanged, trained with Optax, as written and through sigact.jax.swap.

nn.RNN(nn.LSTMCell) gates with jax.nn.sigmoid and squashes with jnp.tanh inside Flax's code, under a
lax.scan. sigact.jax.swap makes every one of those sigmoids and tanhs keep only its output for the
backward pass. The two training runs must give bitwise identical losses; XLA's temp memory of the
jitted step shows what the swap saves (sigact.jax.swap_sigmoid alone saves about half as much).
The data (noisy sine waves to predict one step ahead) is generated here.

    python examples/jax_swap.py [--steps N] [--batch B] [--length T]
"""

import argparse

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

import sigact.jax as sj


def mib(n_bytes):
    return f"{n_bytes / 2**20:.2f} MiB"


class Forecaster(nn.Module):
    @nn.compact
    def __call__(self, xs):  # xs: (batch, time, 1)
        hs = nn.RNN(nn.LSTMCell(features=64))(xs)
        return nn.Dense(1)(hs)


def data(batch, length):
    t = jnp.linspace(0, 8 * jnp.pi, length + 1)
    phase = jax.random.uniform(jax.random.key(1), (batch, 1), maxval=2 * jnp.pi)
    series = jnp.sin(t + phase) + 0.05 * jax.random.normal(jax.random.key(2), (batch, length + 1))
    return series[:, :-1, None], series[:, 1:, None]


def train(swap: bool, steps: int, batch: int, length: int):
    """``steps`` Adam steps; returns the losses and the jitted step's XLA temp bytes."""
    model = Forecaster()
    xs, ys = data(batch, length)
    params = model.init(jax.random.key(3), xs)
    apply = sj.swap(model.apply) if swap else model.apply
    opt = optax.adam(3e-3)

    def step(params, state):
        loss, grads = jax.value_and_grad(lambda p: jnp.mean((apply(p, xs) - ys) ** 2))(params)
        updates, state = opt.update(grads, state, params)
        return optax.apply_updates(params, updates), state, loss

    state = opt.init(params)
    compiled = jax.jit(step).lower(params, state).compile()
    losses = []
    for _ in range(steps):
        params, state, loss = compiled(params, state)
        losses.append(float(loss))
    return losses, compiled.memory_analysis().temp_size_in_bytes


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40, help="training steps (default 40)")
    parser.add_argument("--batch", type=int, default=32, help="sequences per batch (default 32)")
    parser.add_argument("--length", type=int, default=128, help="time steps per sequence (default 128)")
    args = parser.parse_args(argv)
    (ref, ref_temp), (ours, our_temp) = (train(swap, args.steps, args.batch, args.length) for swap in (False, True))
    print(f"{'step':>4} {'as written':>14} {'sigact.jax.swap':>16}")
    for i in range(0, args.steps, max(1, args.steps // 8)):
        print(f"{i:>4} {ref[i]:>14.10f} {ours[i]:>16.10f}")
    print(f"\nfinal loss {ours[-1]:.6f} (from {ours[0]:.6f}); bitwise identical to the unswapped run: {ours == ref}")
    print(f"XLA temp memory of the jitted training step: {mib(ref_temp)} as written, "
          f"{mib(our_temp)} swapped ({our_temp / ref_temp - 1:+.1%})")
    if ours != ref:
        raise SystemExit("sigact.jax.swap changed a number")


if __name__ == "__main__":
    main()
