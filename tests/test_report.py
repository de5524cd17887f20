"""`sigact report`: the main job, through its console script, with JSON and plots, with and
without JAX, and its usage errors."""

import importlib.metadata
import json
import subprocess
import sys
from pathlib import Path

import pytest

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
HIDE_JAX = "import sys; sys.modules['jax'] = None; from sigact.cli import main; sys.exit(main(sys.argv[1:]))"


def run(*args, hide_jax=False):
    command = [sys.executable, "-c", HIDE_JAX, *args] if hide_jax else [sys.executable, "-m", "sigact", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


def check_framework_json(section):
    assert section["installed"] is True
    memory = section["memory"]
    assert set(memory) >= {"builtin", "sigact", "naive"} and all(type(v) is int for v in memory.values())
    assert memory["builtin"] < memory["naive"]
    assert section["speed"], "speed rows"
    for row in section["speed"]:
        assert type(row["n"]) is int and 2**10 <= row["n"] <= 2**22
        assert row["execution"] in ("eager", "compile", "jit")
        assert isinstance(row["builtin_s"], float) and isinstance(row["sigact_s"], float)
        assert row["builtin_s"] > 0 and row["sigact_s"] > 0
    assert all(c["passed"] for c in section["correctness"])


def check_models_json(models):
    """Each scanned model keeps strictly less XLA temp memory swapped, with bitwise gradients."""
    assert [m["name"].split(",")[0] for m in models] == ["Flax LSTMCell", "scanned sigmoid-gated MLP"]
    for m in models:
        for key in ("builtin", "swap_sigmoid", "swap"):
            assert type(m[f"{key}_temp_bytes"]) is int and m[f"{key}_s"] > 0
        # swap adds the tanh's saving to the sigmoid's where a model has a tanh (the LSTM does).
        assert m["swap_temp_bytes"] <= m["swap_sigmoid_temp_bytes"] < 0.9 * m["builtin_temp_bytes"]
        assert m["gradients_bitwise_equal"] is True


@pytest.mark.slow
def test_quick_report_writes_json_and_plots(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("jax")
    out = run("report", "--quick", "--json", str(tmp_path / "r.json"), "--plot", str(tmp_path / "plots"))
    assert out.returncode == 0, out.stderr
    assert "FAIL" not in out.stdout and out.stdout.count("PASS") >= 10
    assert "PyTorch 2." in out.stdout and "JAX 0." in out.stdout and "machine:" in out.stdout
    results = json.loads((tmp_path / "r.json").read_text())
    check_framework_json(results["torch"])
    check_framework_json(results["jax"])
    # PyTorch's built-in keeps only the output too: the same bytes. JAX's keeps y·(1 − y) besides,
    # op by op; one fused jit body without a scan lets XLA drop it (the same temp memory).
    torch_memory, jax_memory = results["torch"]["memory"], results["jax"]["memory"]
    assert torch_memory["sigact"] == torch_memory["builtin"]
    assert jax_memory["sigact"] < jax_memory["builtin"]
    compiled = results["jax"]["memory_detail"]["mlp_compiled_temp"]
    assert compiled["sigact"] == compiled["builtin"]
    check_models_json(results["jax"]["models"])
    assert "Models under jit" in out.stdout
    for name in ("speed_ratio.png", "memory.png", "sigmoid.png", "models.png"):
        data = (tmp_path / "plots" / name).read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 10_000
    # Not a terminal: progress is plain lines on stderr, with no control characters.
    assert "[1/" in out.stderr and "\r" not in out.stderr and "\x1b" not in out.stderr


@pytest.mark.slow
def test_report_without_jax_says_not_installed_and_exits_zero(tmp_path):
    pytest.importorskip("torch")
    out = run("report", "--quick", "--no-progress", "--json", str(tmp_path / "r.json"), hide_jax=True)
    assert out.returncode == 0, out.stderr
    assert "JAX: not installed" in out.stdout
    assert out.stderr.strip() == "" or "[1/" not in out.stderr
    results = json.loads((tmp_path / "r.json").read_text())
    assert results["jax"]["installed"] is False
    check_framework_json(results["torch"])


def test_console_script_is_declared_and_runs():
    scripts = {ep.name: ep.value for ep in importlib.metadata.entry_points(group="console_scripts")}
    assert scripts.get("sigact") == "sigact.cli:main"
    executable = Path(sys.executable).with_name("sigact")
    assert executable.exists(), "pip install put the console script beside the interpreter"
    out = subprocess.run([str(executable), "report", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "--quick" in out.stdout and "--json PATH" in out.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        ([], "the following arguments are required: COMMAND"),
        (["bench"], "invalid choice: 'bench'"),
        (["report", "--fast"], "unrecognized arguments: --fast"),
        (["report", "--json"], "expected one argument"),
        (["report", "--json", "."], "is a directory"),
    ],
)
def test_bad_arguments_get_a_usage_error(args, message):
    out = run(*args)
    assert out.returncode == 2
    assert "usage: sigact" in out.stderr and message in out.stderr


# -- rows that cannot read 0 unnoticed --------------------------------------------------------------


def test_torch_memory_rows_read_true_and_a_row_without_requires_grad_fails():
    torch = pytest.importorskip("torch")
    import sigact.torch as st
    from sigact.tools import torch_backend
    from sigact.tools.report import ONE_ACTIVATION_ELEMENTS, memory_rows_read_true

    memory = torch_backend.memory(quick=True)
    assert memory_rows_read_true(memory), memory
    # The mistake the check exists for: the input forgot requires_grad, so nothing is saved.
    x = torch.randn(ONE_ACTIVATION_ELEMENTS)
    broken = {**memory,
              "activation": {name: st.audit(fn, x).total_bytes for name, fn in torch_backend.ACTIVATIONS.items()}}
    assert set(broken["activation"].values()) == {0}
    assert not memory_rows_read_true(broken)


def test_a_jax_activation_row_measured_at_2_18_under_a_2_20_label_fails():
    jnp = pytest.importorskip("jax.numpy")
    import sigact.jax as sj
    from sigact.tools import jax_backend
    from sigact.tools.report import memory_rows_read_true

    memory = jax_backend.memory(quick=True)
    assert memory_rows_read_true(memory), memory
    x = jnp.ones(2**18)
    small = {**memory,
             "activation": {name: sj.audit(fn, x).total_bytes for name, fn in jax_backend.ACTIVATIONS.items()}}
    assert all(v > 0 for v in small["activation"].values())  # plausible numbers, a quarter too small
    assert not memory_rows_read_true(small)
