"""Keras 3 models built with sigact's activations save to .keras files and load back with them, predicting and
training on bitwise as the original; Keras stays an optional import of sigact.jax."""

import json
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")  # Keras reads it once, at its first import
keras = pytest.importorskip("keras")
if keras.backend.backend() != "jax":
    pytest.skip("Keras runs on another backend in this process", allow_module_level=True)
import numpy as np  # noqa: E402

import sigact.jax as sj  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def build(layer):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((5, 3)),
                              getattr(keras.layers, layer)(4, activation=sj.tanh, recurrent_activation=sj.sigmoid,
                                                           return_sequences=True),
                              keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    return model


def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(6, 5, 3)).astype("float32"), rng.normal(size=(6, 5, 1)).astype("float32")


def fit(model, x, y, steps):
    return model.fit(x, y, batch_size=len(x), epochs=steps, shuffle=False, verbose=0).history["loss"]


def saved_activations(path):
    with zipfile.ZipFile(path) as archive:
        layer = json.loads(archive.read("config.json"))["config"]["layers"][1]["config"]
    return layer["activation"], layer["recurrent_activation"]


@pytest.mark.parametrize("layer", ["LSTM", "GRU"])
def test_a_model_with_sigacts_activations_saves_loads_predicts_and_trains_on_bitwise(layer, tmp_path):
    model = build(layer)
    x, y = data()
    fit(model, x, y, 2)  # the optimizer's state is saved too
    path = tmp_path / "model.keras"
    model.save(path)
    activation, recurrent = saved_activations(path)
    assert (activation["config"], recurrent["config"]) == ("sigact.jax>tanh", "sigact.jax>sigmoid")

    loaded = keras.saving.load_model(path)
    assert loaded.layers[0].cell.activation is sj.tanh
    assert loaded.layers[0].cell.recurrent_activation is sj.sigmoid
    assert np.array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    losses, losses_loaded = fit(model, x, y, 3), fit(loaded, x, y, 3)
    assert losses_loaded == losses and len(set(losses)) == 3  # the weights did move
    for a, b in zip(loaded.get_weights(), model.get_weights(), strict=True):
        assert a.dtype == b.dtype and np.array_equal(a, b)


def test_sigmoid_jvp_is_saved_by_its_own_name_and_keras_builtins_by_theirs(tmp_path):
    model = keras.Sequential([keras.Input((5, 3)), keras.layers.GRU(2, activation="tanh",
                                                                    recurrent_activation=sj.sigmoid_jvp)])
    model.save(tmp_path / "model.keras")
    activation, recurrent = saved_activations(tmp_path / "model.keras")
    assert activation == "tanh" and recurrent["config"] == "sigact.jax>sigmoid_jvp"
    assert keras.saving.load_model(tmp_path / "model.keras").layers[0].cell.recurrent_activation is sj.sigmoid_jvp


@pytest.mark.slow
def test_a_fresh_process_that_imports_sigact_before_keras_loads_the_model_without_custom_objects(tmp_path):
    build("LSTM").save(tmp_path / "model.keras")
    script = textwrap.dedent(f"""
        import os, sys
        os.environ["KERAS_BACKEND"] = "jax"
        import sigact.jax as sj
        assert "keras" not in sys.modules, "import sigact.jax imported keras"
        import keras
        cell = keras.saving.load_model({str(tmp_path / "model.keras")!r}).layers[0].cell
        assert cell.activation is sj.tanh and cell.recurrent_activation is sj.sigmoid
        print("loaded")
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "loaded"


@pytest.mark.slow
def test_the_example_trains_saves_loads_and_measures():
    out = subprocess.run([sys.executable, str(ROOT / "examples" / "keras_fit.py"), "--steps", "2", "--layers",
                          "LSTM"], capture_output=True, text=True, timeout=600,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
    assert "bitwise identical to the built-in: True" in out.stdout
    assert "loaded with sigact's activations: True; predicts bitwise: True; keeps training bitwise: True" in out.stdout
    ratios = out.stdout.split("MiB, ")[1].split(", ")
    sigact_ratio, swap_ratio = (float(r.split()[1]) for r in ratios)
    assert sigact_ratio < 1 and swap_ratio < 1
