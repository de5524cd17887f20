"""Keras 3's own LSTM and GRU trained with model.fit, sigact's activations passed to the layer.

Keras on the JAX backend runs its recurrent layers as a lax.scan over a cell that calls the layer's
`activation` and `recurrent_activation`. Passing sj.tanh and sj.sigmoid there makes every gate and
squash keep only its output for the backward pass, inside the step model.fit compiles. For each layer
this script trains, from the same initial weights and data:

* "built-in": the layer's own activations;
* "sigact": activation=sj.tanh, recurrent_activation=sj.sigmoid;
* "swap": the built-in activations, with the loss that model.fit's train_step differentiates
  (compute_loss_and_updates) run through sj.swap, in a subclass.

It checks that the three give bitwise identical losses and weights, saves the sigact model to a .keras
file, loads it with keras.saving.load_model and checks that it predicts, and keeps training, bitwise as
the original does. Last, it prints XLA's temp memory of the compiled train step (jax.jit of
model.train_step, as model.fit compiles it) for each, at the size given.

    KERAS_BACKEND=jax python examples/keras_fit.py [--steps N] [--batch B] [--length T] [--inputs I]
        [--features F] [--layers LSTM GRU]
"""

import argparse
import os
import tempfile

os.environ.setdefault("KERAS_BACKEND", "jax")  # Keras picks its backend at its first import

import jax  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

import sigact.jax as sj  # noqa: E402


class SwappedSequential(keras.Sequential):
    """model.fit's loss with every sigmoid and tanh swapped. train_step differentiates
    compute_loss_and_updates, so that is what is swapped: the swap acts on the function differentiated."""

    def compute_loss_and_updates(self, *args, **kwargs):
        return sj.swap(super().compute_loss_and_updates)(*args, **kwargs)


def build(kind, layer, length, inputs, features):
    keras.utils.set_random_seed(0)  # the same initial weights for each kind
    activations = {"activation": sj.tanh, "recurrent_activation": sj.sigmoid} if kind == "sigact" else {}
    model_class = SwappedSequential if kind == "swap" else keras.Sequential
    model = model_class([keras.Input((length, inputs)),
                         getattr(keras.layers, layer)(features, return_sequences=True, **activations),
                         keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    return model


def data(batch, length, inputs):
    rng = np.random.default_rng(1)
    return rng.normal(size=(batch, length, inputs)).astype("float32"), rng.normal(size=(batch, length, 1)).astype(
        "float32")


def fit(model, x, y, steps):
    return model.fit(x, y, batch_size=len(x), epochs=steps, shuffle=False, verbose=0).history["loss"]


def same_weights(a, b):
    return all(np.array_equal(v, w) for v, w in zip(a.get_weights(), b.get_weights(), strict=True))


def train_step_temp_bytes(model, x, y):
    """XLA temp bytes of the train step model.fit compiles: jax.jit of model.train_step on the model's state."""
    state = tuple([v.value for v in variables] for variables in (
        model.trainable_variables, model.non_trainable_variables, model.optimizer.variables,
        model.metrics_variables))
    compiled = jax.jit(model.train_step).lower(state, (x, y)).compile()
    return int(compiled.memory_analysis().temp_size_in_bytes)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--length", type=int, default=16)
    parser.add_argument("--inputs", type=int, default=8)
    parser.add_argument("--features", type=int, default=16)
    parser.add_argument("--layers", nargs="+", default=["LSTM", "GRU"])
    args = parser.parse_args()
    x, y = data(args.batch, args.length, args.inputs)
    for layer in args.layers:
        models = {kind: build(kind, layer, args.length, args.inputs, args.features)
                  for kind in ("built-in", "sigact", "swap")}
        losses = {kind: fit(model, x, y, args.steps) for kind, model in models.items()}
        bitwise = all(losses[k] == losses["built-in"] and same_weights(models[k], models["built-in"])
                      for k in ("sigact", "swap"))
        print(f"{layer}: losses {losses['built-in'][0]:.4f} -> {losses['built-in'][-1]:.4f}; sigact's activations "
              f"and the swapped train step bitwise identical to the built-in: {bitwise}")

        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "model.keras")
            models["sigact"].save(path)
            loaded = keras.saving.load_model(path)
        cell = loaded.layers[0].cell
        kept = cell.activation is sj.tanh and cell.recurrent_activation is sj.sigmoid
        predicts = np.array_equal(loaded.predict(x, verbose=0), models["sigact"].predict(x, verbose=0))
        more = fit(loaded, x, y, 2) == fit(models["sigact"], x, y, 2) and same_weights(loaded, models["sigact"])
        print(f"{layer}: loaded with sigact's activations: {kept}; predicts bitwise: {predicts}; "
              f"keeps training bitwise: {more}")

        temp = {kind: train_step_temp_bytes(model, x, y) for kind, model in models.items()}
        print(f"{layer}: train step temp memory (batch {args.batch}, length {args.length}, {args.inputs} inputs, "
              f"{args.features} features): built-in {temp['built-in'] / 2**20:.2f} MiB, "
              + ", ".join(f"{k} {temp[k] / temp['built-in']:.2f}" for k in ("sigact", "swap")))


if __name__ == "__main__":
    main()
