"""A character-level LSTM language model trained on the docstrings of Python's standard library, as
written and as sigact.jax.plan chooses, with the same numbers.

The text ships with Python: every standard-library module (and its submodules) that imports here is
imported, and the docstrings of the modules, their classes, functions and methods are joined; nothing
is downloaded. The model is Flax linen's own: an embedding, ``nn.RNN(nn.LSTMCell)`` and a dense layer to
the vocabulary, trained by Optax's Adam in a jitted step that donates its parameters and optimiser state.

``sigact.jax.plan`` measures, on this model and one batch, every way it offers to spend less memory
(the swap, remat policies on every scan body, both) and picks one. The model trains twice, as written
and through the plan's choice: every per-step loss must be bitwise equal. Then ``sigact.jax.largest``
finds, by compiling only, the largest batch whose training gradient fits a memory budget.

    python examples/char_lstm.py [--steps N] [--batch B] [--length T] [--features F] [--budget-mib M]

The defaults run in tens of seconds on 2 CPU cores; the sizes of sigact's issue 22 are
``--steps 150 --batch 16 --length 512 --features 256``.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import inspect
import io
import pkgutil
import sys
import warnings

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

import sigact.jax as sj

# Modules whose import opens a browser or a window, prints, or drags in the test suite.
NOT_IMPORTED = {"antigravity", "this", "idlelib", "tkinter", "turtle", "turtledemo", "lib2to3", "test",
                "ensurepip", "venv"}


def _import(name: str):
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            return importlib.import_module(name)
    except Exception:  # a module for another platform, or one missing an optional C library
        return None


def stdlib_modules():
    """Every public standard-library module and submodule that imports here, in a fixed order."""
    for name in sorted(sys.stdlib_module_names):
        if name.startswith("_") or name in NOT_IMPORTED or (module := _import(name)) is None:
            continue
        yield module
        for info in pkgutil.walk_packages(getattr(module, "__path__", []), name + ".", onerror=lambda _: None):
            if not any(part.startswith("_") for part in info.name.split(".")) and (sub := _import(info.name)):
                yield sub


def docstrings() -> list[str]:
    """The docstrings of the modules, and of the classes, functions and methods they define."""
    found: dict[str, str] = {}
    with warnings.catch_warnings():  # deprecated modules (typing.io, distutils) warn when touched
        warnings.simplefilter("ignore")
        for module in stdlib_modules():
            _collect(module, found)
    return [inspect.cleandoc(doc) for doc in found.values() if doc.strip()]


def _collect(module, found: dict[str, str]) -> None:
    """The module's docstring, and those of the classes and functions it defines, and their methods."""
    found.setdefault(module.__name__, module.__doc__ or "")
    for name, obj in sorted(vars(module).items()):
        if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
            continue
        if inspect.isclass(obj) or inspect.isroutine(obj):
            found.setdefault(f"{module.__name__}.{name}", obj.__doc__ or "")
        if inspect.isclass(obj):
            for method, fn in sorted(vars(obj).items()):
                if not method.startswith("_") and inspect.isroutine(fn):
                    found.setdefault(f"{module.__name__}.{name}.{method}", getattr(fn, "__doc__", "") or "")


class CharLSTM(nn.Module):
    vocab: int
    features: int

    @nn.compact
    def __call__(self, tokens):  # tokens: (batch, time) integers
        h = nn.Embed(self.vocab, self.features)(tokens)
        h = nn.RNN(nn.LSTMCell(features=self.features))(h)
        return nn.Dense(self.vocab)(h)


def batches(codes: np.ndarray, steps: int, batch: int, length: int, seed: int = 0):
    """``steps`` batches of ``batch`` random windows: inputs and the next character of each."""
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        starts = rng.integers(0, len(codes) - length - 1, size=batch)
        windows = np.stack([codes[s:s + length + 1] for s in starts])
        yield jnp.asarray(windows[:, :-1]), jnp.asarray(windows[:, 1:])


def loss_fn(model: CharLSTM):
    def loss(params, x, y):
        logits = model.apply(params, x)
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

    return loss


def train(loss, model, data, lr: float = 3e-3):
    """Adam on ``loss`` over ``data``; returns the per-step losses and the trained parameters."""
    opt = optax.adam(lr)
    x0, _ = data[0]
    params = model.init(jax.random.key(0), x0)
    state = opt.init(params)

    def step(params, state, x, y):
        value, grads = jax.value_and_grad(loss)(params, x, y)
        updates, state = opt.update(grads, state, params)
        return optax.apply_updates(params, updates), state, value

    # Donated: XLA may write the new parameters and moments over the old ones.
    step = jax.jit(step, donate_argnums=(0, 1))
    losses = []
    for x, y in data:
        params, state, value = step(params, state, x, y)
        losses.append(float(value))
    return losses, params


def same_bits(a, b) -> bool:
    return all(np.array_equal(np.asarray(u).view(np.uint8), np.asarray(v).view(np.uint8))
               for u, v in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30, help="training steps (default 30)")
    parser.add_argument("--batch", type=int, default=8, help="sequences per batch (default 8)")
    parser.add_argument("--length", type=int, default=64, help="characters per sequence (default 64)")
    parser.add_argument("--features", type=int, default=64, help="embedding and LSTM width (default 64)")
    parser.add_argument("--rounds", type=int, default=3, help="timing rounds of the plan (default 3)")
    parser.add_argument("--budget-mib", type=float, default=None,
                        help="memory budget of the largest-batch search, in MiB: temp, arguments and outputs "
                             "(default: 4x what the built-in's gradient step holds at --batch)")
    args = parser.parse_args(argv)

    docs = docstrings()
    text = "\n\n".join(docs)
    chars = sorted(set(text))
    index = {c: i for i, c in enumerate(chars)}
    codes = np.fromiter((index[c] for c in text), np.int32, len(text))
    print(f"text: {len(docs):,} docstrings of Python {sys.version.split()[0]}'s standard library, "
          f"{len(text):,} characters, {len(chars)} distinct")

    model = CharLSTM(vocab=len(chars), features=args.features)
    loss = loss_fn(model)
    data = list(batches(codes, args.steps, args.batch, args.length))
    x0, y0 = data[0]
    params = model.init(jax.random.key(0), x0)

    plan = sj.plan(loss, params, x0, y0, rounds=args.rounds)
    print(f"\n{plan}")
    chosen = plan.best()

    reference, ref_params = train(loss, model, data)
    ours, our_params = train(chosen, model, data)
    print(f"\n{'step':>4} {'as written':>14} {'plan.best()':>14}")
    for i in range(0, args.steps, max(1, args.steps // 8)):
        print(f"{i:>4} {reference[i]:>14.10f} {ours[i]:>14.10f}")
    identical = ours == reference and same_bits(our_params, ref_params)
    print(f"\nfinal loss {ours[-1]:.6f} (from {ours[0]:.6f}); every loss and the trained parameters "
          f"bitwise identical to the built-in's: {identical}")

    def make_args(n):
        x, y = next(batches(codes, 1, n, args.length))
        return model.init(jax.random.key(0), x), x, y

    builtin = next(r for r in plan.rows if r.name == "builtin")
    needs = builtin.temp_bytes + builtin.argument_bytes + builtin.output_bytes  # None on some backends: a TypeError
    budget = int(args.budget_mib * 2**20) if args.budget_mib else 4 * needs
    # Compiled only, never run: a budget above the machine's memory is safe to ask about.
    sized = list(dict.fromkeys(["builtin", plan.best_name()]))
    fits = sj.largest(make_args, loss, budget, lo=args.batch, candidates=sized)
    print(f"\nthe built-in's gradient step holds {needs / 2**20:.2f} MiB at batch {args.batch}; {fits}")
    if not identical:
        raise SystemExit("the plan's choice changed a number")


if __name__ == "__main__":
    main()
