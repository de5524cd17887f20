"""`sigact verify` and its engine, sigact.tools.parity: exhaustive 16-bit parity for both frameworks, a chunk
of the float32 sweep, and proof that it fails when sigact is wrong."""

import json
import subprocess
import sys

import numpy as np
import pytest

from sigact.cli import main
from sigact.tools import parity
from sigact.tools.parity import Outcome, Row, check, run_mode, upstream_gradients

HALF = ["float16", "bfloat16"]


def torch_modes():
    pytest.importorskip("torch")
    from sigact.tools.torch_backend import modes

    return modes("cpu")


def jax_modes():
    pytest.importorskip("jax")
    from sigact.tools.jax_backend import modes

    return modes("cpu")


# -- exhaustive 16-bit parity, in the suite ---------------------------------------------------------


@pytest.mark.parametrize("dtype", HALF)
@pytest.mark.parametrize("mode", ["sigmoid", "sigmoid_", "create_graph", "jvp", "sigmoid, transposed input",
                                  "sigmoid, strided gradient"])
def test_torch_every_16_bit_input_is_bitwise_equal(mode, dtype):
    row = run_mode(Row("torch", "cpu", dtype, mode), torch_modes()[mode][0])
    assert row.inputs == 2**16 * parity.GRADIENTS_PER_16_BIT_PATTERN
    assert row.passed and row.known_differences == 0, row.first_mismatch


@pytest.mark.parametrize("dtype", ["complex64", "complex128", "float64"])
@pytest.mark.parametrize("mode", ["sigmoid, transposed input", "sigmoid, strided gradient"])
def test_torch_layout_rows_are_bitwise_equal_with_no_known_tail(mode, dtype):
    # Laid out differently from y, the gradient sends the built-in's complex kernel down its fused
    # scalar loop for every element (53 % of them differed before sigact followed it).
    row = run_mode(Row("torch", "cpu", dtype, mode), torch_modes()[mode][0], sample=(1 << 16) + 7)
    assert row.inputs >= 1 << 16
    assert row.passed and row.known_differences == 0, row.first_mismatch


@pytest.mark.parametrize("dtype", HALF)
@pytest.mark.parametrize("mode", ["sigmoid", "sigmoid, jit", "sigmoid_jvp, jvp", "sigmoid_jvp, jit",
                                  "swap_sigmoid, jit", "tanh", "tanh, jit", "tanh, jvp", "tanh, reused, jit",
                                  "swap, jit"])
def test_jax_every_16_bit_input_is_bitwise_equal(mode, dtype):
    row = run_mode(Row("jax", "cpu", dtype, mode), jax_modes()[mode][0])
    assert row.inputs == 2**16 * parity.GRADIENTS_PER_16_BIT_PATTERN
    assert row.passed, row.first_mismatch


# The last chunk of the sweep: the most negative finite numbers (below -1.7e38), -inf and the negative NaNs.
# Built here, not by walking input_chunks to its end (about 12 s): test_parity_engine.py's
# test_the_full_float32_sweep_yields_every_pattern_exactly_once_in_order walks it and checks every chunk.
@pytest.mark.parametrize("framework,mode", [("torch", "sigmoid"), ("jax", "sigmoid, jit")])
def test_a_chunk_of_the_full_float32_sweep_is_bitwise_equal(framework, mode):
    modes = torch_modes() if framework == "torch" else jax_modes()
    last = 2**32 // parity.CHUNK - 1
    patterns = np.arange(last * parity.CHUNK, 2**32, dtype=np.uint64).astype(np.uint32)
    row = Row(framework, "cpu", "float32", mode)
    check(row, modes[mode][0](patterns, upstream_gradients("float32", patterns.size, last), "float32"), 0)
    assert row.inputs == parity.CHUNK and row.passed, row.first_mismatch


# -- it must be able to fail ------------------------------------------------------------------------


def test_verify_exits_1_on_a_backward_with_the_wrong_rounding_order(monkeypatch, capsys):
    pytest.importorskip("torch")
    from sigact.torch import _autograd

    monkeypatch.setattr(_autograd, "sigmoid_grad", lambda grad, y: grad * (y * (1 - y)))
    assert main(["verify", "--framework", "torch", "--device", "cpu", "--dtype", "float32", "--mode", "sigmoid",
                 "--no-progress"]) == 1
    out = capsys.readouterr().out
    assert "MISMATCHES FOUND" in out and "first mismatch, torch cpu float32 sigmoid: backward at input 0x" in out
    row = [line for line in out.splitlines() if line.startswith("torch     cpu    float32")][0]
    forward, backward = (int(v.replace(",", "")) for v in row.split()[5:7])
    assert forward == 0 and backward > 1000


def test_verify_exits_1_on_a_forward_one_bit_off(monkeypatch, capsys):
    torch = pytest.importorskip("torch")
    from sigact.torch import _autograd

    original = _autograd.SigmoidFunction.forward

    def one_bit_up(x):
        y = original(x)
        return torch.nextafter(y, torch.full_like(y, 2.0)) if y.dtype == torch.float32 else y

    monkeypatch.setattr(_autograd.SigmoidFunction, "forward", staticmethod(one_bit_up))
    assert main(["verify", "--framework", "torch", "--device", "cpu", "--dtype", "float32", "--mode", "sigmoid",
                 "--no-progress"]) == 1
    out = capsys.readouterr().out
    assert "first mismatch, torch cpu float32 sigmoid: forward at input" in out


def test_the_jax_engine_counts_a_forward_one_bit_off():
    jax = pytest.importorskip("jax")
    from sigact.tools.jax_backend import _mode, value_and_vjp

    def off(x):
        y = jax.nn.sigmoid(x)
        frozen = jax.lax.stop_gradient(y)
        return y + (jax.numpy.nextafter(frozen, jax.numpy.full_like(y, 2)) - frozen)

    row = run_mode(Row("jax", "cpu", "bfloat16", "broken"), _mode("cpu", value_and_vjp, off))
    assert row.forward_mismatches > 2**16 and not row.passed


def plain_vjp_tanh(jax):
    """A tanh whose backward returns its two cotangent terms summed, c = g·(1 − y); c + c·y: the rule
    docs/derivative.md explains cannot be bitwise where x has other uses."""
    from jax import lax

    @jax.custom_vjp
    def tanh(x):
        return lax.tanh(x)

    def backward(y, g):
        c = g * (1 - y)
        return (c + c * y,)

    tanh.defvjp(lambda x: (lax.tanh(x), lax.tanh(x)), backward)
    return lambda x: tanh(*jax._src.numpy.util.promote_args_inexact("tanh", x))


def test_the_reused_tanh_row_fails_a_tanh_whose_backward_sums_its_terms(monkeypatch):
    jax = pytest.importorskip("jax")
    import sigact.jax as sj

    monkeypatch.setattr(sj, "tanh", plain_vjp_tanh(jax))
    modes = jax_modes()
    # Isolated, the summed backward rounds as the built-in does: that is why the reused row exists.
    for dtype in HALF:
        isolated = run_mode(Row("jax", "cpu", dtype, "tanh, jit"), modes["tanh, jit"][0])
        assert isolated.passed, isolated.first_mismatch
        row = run_mode(Row("jax", "cpu", dtype, "tanh, reused, jit"), modes["tanh, reused, jit"][0])
        assert row.forward_mismatches == 0 and row.backward_mismatches > 1000 and not row.passed


def test_verify_exits_1_on_a_tanh_one_bit_off(monkeypatch, capsys):
    jax = pytest.importorskip("jax")
    import sigact.jax as sj

    original = sj.tanh

    def one_bit_up(x):
        y = original(x)
        frozen = jax.lax.stop_gradient(y)
        return y + (jax.numpy.nextafter(frozen, jax.numpy.full_like(y, 2)) - frozen)

    monkeypatch.setattr(sj, "tanh", one_bit_up)
    assert main(["verify", "--framework", "jax", "--device", "cpu", "--dtype", "bfloat16", "--mode", "tanh",
                 "--no-progress"]) == 1
    assert "first mismatch, jax cpu bfloat16 tanh: forward at input" in capsys.readouterr().out


def test_the_jax_engine_counts_a_conjugated_complex_backward():
    jax = pytest.importorskip("jax")
    from sigact.tools.jax_backend import _mode, value_and_vjp

    @jax.custom_vjp
    def conjugated(x):
        return jax.nn.sigmoid(x)

    conjugated.defvjp(lambda x: (jax.nn.sigmoid(x), jax.nn.sigmoid(x)), lambda y, g: ((g * (y * (1 - y))).conj(),))
    row = run_mode(Row("jax", "cpu", "complex128", "broken"), _mode("cpu", value_and_vjp, conjugated), sample=4099)
    assert row.forward_mismatches == 0 and row.backward_mismatches > 1000


# -- the command --------------------------------------------------------------------------------------


def test_verify_writes_json_and_names_missing_devices(tmp_path, capsys):
    pytest.importorskip("torch")
    assert main(["verify", "--framework", "torch", "--dtype", "float16", "--mode", "sigmoid", "jvp",
                 "--no-progress", "--json", str(tmp_path / "v.json")]) == 0
    out = capsys.readouterr().out
    assert "no mismatches" in out
    data = json.loads((tmp_path / "v.json").read_text())
    assert set(data) >= {"results", "machine", "versions"} and data["versions"]["torch"]
    keys = {"framework", "device", "dtype", "mode", "inputs", "forward_mismatches", "backward_mismatches",
            "seconds", "first_mismatch"}
    checked = [r for r in data["results"] if r["available"]]
    assert [r["mode"] for r in checked] == ["sigmoid", "jvp"] and all(keys <= set(r) for r in checked)
    assert all(r["inputs"] == 2**21 and r["forward_mismatches"] == r["backward_mismatches"] == 0 for r in checked)
    import torch

    if not torch.cuda.is_available():
        assert "torch     cuda   not available" in out
        assert any(not r["available"] and r["device"] == "cuda" for r in data["results"])


HIDE_JAX = "import sys; sys.modules['jax'] = None; from sigact.cli import main; sys.exit(main(sys.argv[1:]))"


def test_a_missing_framework_is_reported_and_is_not_a_failure():
    pytest.importorskip("torch")
    out = subprocess.run([sys.executable, "-c", HIDE_JAX, "verify", "--dtype", "float16", "--mode", "sigmoid",
                          "--device", "cpu", "--no-progress"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "jax" in out.stdout and "not installed" in out.stdout and "no mismatches" in out.stdout


def test_asking_only_for_a_missing_framework_exits_2():
    out = subprocess.run([sys.executable, "-c", HIDE_JAX, "verify", "--framework", "jax", "--no-progress"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "checks no inputs" in out.stderr and "not installed" in out.stderr


def test_the_exit_code_fails_when_one_row_of_several_fails(monkeypatch, capsys):
    # One wrong dtype among right ones: verify's verdict must be all rows, not any row.
    torch = pytest.importorskip("torch")
    from sigact.torch import _autograd

    right = _autograd.sigmoid_grad
    monkeypatch.setattr(_autograd, "sigmoid_grad", lambda grad, y: grad * (y * (1 - y))
                        if y.dtype == torch.float64 else right(grad, y))
    assert main(["verify", "--framework", "torch", "--device", "cpu", "--dtype", "float16", "float32", "float64",
                 "--mode", "sigmoid", "--no-progress"]) == 1
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines() if line.startswith("torch     cpu")]
    assert [(r[2], int(r[6].replace(",", "")) > 0) for r in rows] == [
        ("float16", False), ("float32", False), ("float64", True)]


def test_an_unavailable_row_is_listed_but_does_not_make_the_run_pass():
    from sigact.tools import verify as ver

    missing = Row("torch", "cuda", "-", "-", available=False, note="not available: no GPU")
    assert not ver.passed([missing])
    good = Row("torch", "cpu", "float16", "sigmoid", inputs=10)
    bad = Row("torch", "cpu", "float32", "sigmoid", inputs=10, backward_mismatches=1)
    assert ver.passed([good, missing]) and not ver.passed([good, bad, missing])


@pytest.mark.parametrize("args,message", [
    (["verify", "--dtype", "float8"], "unknown float8"),
    (["verify", "--mode", "nope"], "unknown nope"),
    (["verify", "--device", "tpu"], "invalid choice"),
    (["verify", "--framework", "torch", "--dtype", "complex64", "--mode", "compile"], "checks no inputs"),
    (["verify", "--json", "/proc/sigact-verify.json"], "cannot write"),
    (["verify", "--json", "{file}/out.json"], "is not a directory"),
    (["verify", "--json", "{tmp}"], "is a directory"),
    (["report", "--json", "/proc/sigact-report.json"], "cannot write"),
    (["report", "--json", "{file}/deeper/out.json"], "is not a directory"),
    (["report", "--plot", "{file}"], "is not a directory"),
    (["report", "--plot", "/proc/sigact-figures"], "cannot write"),
])
def test_usage_errors_exit_2_before_any_work(args, message, capsys, tmp_path, monkeypatch):
    from sigact.tools import report, verify

    def no_work(*args, **kwargs):
        raise AssertionError("ran before refusing its arguments")

    monkeypatch.setattr(verify, "run", no_work)
    monkeypatch.setattr(report, "run", no_work)
    a_file = tmp_path / "a_file"
    a_file.write_text("")
    with pytest.raises(SystemExit) as exited:
        main([arg.format(file=a_file, tmp=tmp_path) for arg in args])
    assert exited.value.code == 2 and message in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]  # nothing left behind


def test_a_missing_device_exits_2(capsys):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has the GPU")
    with pytest.raises(SystemExit) as exited:
        main(["verify", "--framework", "torch", "--device", "cuda", "--no-progress"])
    assert exited.value.code == 2 and "--device cuda: no installed framework can run on it" in capsys.readouterr().err


def test_a_json_path_in_new_folders_is_accepted_and_the_check_leaves_nothing_behind(tmp_path):
    from sigact.cli import _check_output_file

    _check_output_file(tmp_path / "new" / "deeper" / "v.json", "--json", lambda message: pytest.fail(message))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["verify-full-cpu.json", "verify-full-cpu-later-rows.json"])
def test_the_recorded_full_runs_found_no_mismatch(name):
    """What docs/verification.md says of its runs (its tables are written from these files by docs/generate.py):
    --full, every float32 input, no mismatch, and known differences only in PyTorch's complex scalar tail."""
    from pathlib import Path

    data = json.loads((Path(__file__).resolve().parent.parent / "docs" / "results" / name).read_text())
    rows = [r for r in data["results"] if r["available"]]
    assert data["full"] is True and rows
    assert all(r["forward_mismatches"] == r["backward_mismatches"] == 0 for r in rows)
    assert all(r["inputs"] == 2**32 for r in rows if r["dtype"] == "float32")
    assert all(r["dtype"].startswith("complex") and r["framework"] == "torch" for r in rows if r["known_differences"])


def test_json_names_the_gpus_each_framework_sees(tmp_path):
    torch = pytest.importorskip("torch")
    assert main(["verify", "--framework", "torch", "--dtype", "float16", "--mode", "sigmoid", "--no-progress",
                 "--json", str(tmp_path / "v.json")]) == 0
    seen = json.loads((tmp_path / "v.json").read_text())["accelerators"]["torch"]
    assert len(seen) == torch.cuda.device_count() and all("CUDA" in name for name in seen)


def test_the_summary_line_does_not_say_no_mismatches_bare_when_known_differences_were_found():
    from sigact.tools.verify import format_rows

    clean = Row("torch", "cpu", "complex64", "sigmoid", inputs=10)
    known = Row("torch", "cpu", "complex128", "sigmoid", inputs=10, known_differences=8)
    assert format_rows([clean]).splitlines()[-1] == "10 inputs checked: no mismatches"
    lines = format_rows([clean, known]).splitlines()
    assert lines[-2].startswith("known: 8 complex gradient elements")
    assert lines[-1] == "20 inputs checked: no mismatches beyond the 8 known above"


def test_the_jax_gpu_reason_keeps_the_whole_first_line_of_jaxs_error(monkeypatch):
    pytest.importorskip("jax")
    import jax

    from sigact.tools import jax_backend

    first = ("Unknown backend: 'gpu' requested, but no platforms that are instances of gpu are present. "
             "Platforms present are: cpu")

    def no_gpu(backend=None):
        raise RuntimeError(first + "\nsecond line")

    monkeypatch.setattr(jax, "devices", no_gpu)
    assert jax_backend.devices()["gpu"] == f"no JAX GPU backend ({first})"


def test_the_reports_correctness_check_passes_the_real_mode_and_fails_one_bit_off():
    # cpu_mode_passes is what `sigact report` asks before it times anything: every 16-bit pattern of one
    # dtype through a verify mode, True only when nothing differs.
    torch = pytest.importorskip("torch")
    from sigact.tools.torch_backend import modes

    sigmoid = modes("cpu")["sigmoid"][0]
    assert parity.cpu_mode_passes("torch", "bfloat16", "sigmoid", sigmoid)

    def one_bit_off(patterns, gradients, dtype):
        outcome = sigmoid(patterns, gradients, dtype)
        expected, actual = outcome.backward
        flipped = actual.view(torch.int16).clone()
        flipped[len(flipped) // 2] ^= 1
        return Outcome(outcome.inputs, outcome.gradients, outcome.forward, (expected, flipped.view(actual.dtype)))

    assert not parity.cpu_mode_passes("torch", "bfloat16", "sigmoid", one_bit_off)
