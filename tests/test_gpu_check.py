"""``make gpu-check`` (benchmarks/gpu_check.py) and the GPU section of docs/benchmarks.md it renders."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))  # the two scripts import each other as siblings
import gpu_check  # noqa: E402
import gpu_page  # noqa: E402
import gpu_throughput  # noqa: E402


def test_the_gpu_section_of_the_benchmarks_page_is_rendered_from_the_results_files():
    assert gpu_page.main(["--check"]) == 0, "run: python benchmarks/gpu_page.py"


def test_with_no_results_the_section_says_no_gpu_has_run_it_and_shows_the_command(tmp_path):
    section = gpu_page.render(gpu_page.load(tmp_path))
    assert "**No GPU has run this check yet**" in section
    assert "\nmake gpu-check " in section and "###" not in section


def test_throughput_counts_bytes_read_and_written_and_ratios_per_round():
    # float32, 2^20 elements (4 MiB a tensor): a copy moves 2 tensors, a backward 3.
    times = {"copy": [0.004, 0.002, 0.003], "built-in": [0.004, 0.004, 0.008], "triton": [0.004, 0.003, 0.004]}
    row = gpu_throughput.throughput_row("float32", 20, 4, times, bitwise=True)
    mib = 4 * 2**20
    assert row["ms"] == {"copy": 0.003, "built-in": 0.004, "triton": 0.004}
    assert row["gb_per_s"]["copy"] == round(2 * mib / 3e-6 / 1e9, 1)
    assert row["gb_per_s"]["triton"] == row["gb_per_s"]["built-in"] == round(3 * mib / 4e-6 / 1e9, 1)
    assert row["triton_of_copy_bandwidth"] == round((3 / 4) / (2 / 3), 3)
    # Ratios of the same round: 1, 0.75, 0.5; their median, and their range.
    assert row["triton_over_builtin"] == 0.75 and row["triton_over_builtin_range"] == [0.5, 1.0]


# Made-up machine and figures for the renderer alone; only gpu_check.py writes docs/results.
MACHINE = {"gpu": "Test GPU", "compute_capability": "9.0", "gpu_memory_gib": 10.0, "multiprocessors": 2,
           "l2_cache_mib": 5.0,
           "driver": "1.2", "cuda": "13.0", "host": {"cpu": "a CPU"}, "python": "3.12.3",
           "versions": {"torch": "2.11.0", "triton": "3.6.0", "jax": None, "jaxlib": None, "sigact": "0.1.0"},
           "commit": "abc1234", "date": "2026-12-01 00:00 UTC"}


def test_a_results_file_is_rendered_with_its_machine_steps_and_throughput(tmp_path):
    row = gpu_throughput.throughput_row("bfloat16", 24, 2, {"copy": [0.02], "built-in": [0.04], "triton": [0.03]}, True)
    run = {
        "command": "make gpu-check", "seconds": 200.0, "passed": False, "machine": MACHINE,
        "steps": {"verify_torch": {"status": "passed", "inputs": 1000, "modes": ["sigmoid", "sigmoid, no Triton"],
                                   "seconds": 9.0},
                  "cuda_tests": {"status": "failed", "passed": 4, "failed": 1, "skipped": 0, "seconds": 3.0},
                  "throughput": {"status": "passed", "rows": [row], "rounds": 15, "seconds": 30.0},
                  "verify_jax": {"status": "skipped", "reason": "no CUDA jaxlib"}},
    }
    (tmp_path / "gpu-test-gpu.json").write_text(json.dumps(run))
    section = gpu_page.render(gpu_page.load(tmp_path))
    assert "### Test GPU, 2026-12-01 00:00 UTC" in section and "L2 5.0 MiB), driver 1.2, CUDA 13.0" in section
    assert "1,000 inputs, modes: 'sigmoid', 'sigmoid, no Triton'" in section
    assert "`make gpu-check`: **FAILED**" in section
    assert "- CUDA tests: **failed** (4 passed, 1 failed, 0 skipped" in section
    assert "jax --device gpu`: **skipped** (no CUDA jaxlib)" in section
    # 2^24 bfloat16 = 32 MiB a tensor: copy 2 x 32 MiB in 0.02 ms, Triton 3 x 32 MiB in 0.03 ms.
    assert "| bfloat16 | 2^24 | 3355 GB/s | 2517 GB/s | 3355 GB/s | 1.00 | 0.750 (0.750–0.750) | yes |" in section
    assert "No GPU has run" not in section


def test_a_step_past_its_time_limit_is_stopped_and_keeps_what_it_printed():
    code, output, seconds = gpu_check._run(
        [sys.executable, "-c", "import time; print('started', flush=True); time.sleep(60)"], 2)
    assert code is None and output == "timed out after 2 s\nstarted\n" and seconds < 30


def test_rendering_refuses_a_page_without_the_section_markers():
    with pytest.raises(ValueError, match="no GPU section"):
        gpu_page.replace_section("# A page\n", gpu_page.render([]))


def test_the_cuda_tests_step_selects_the_files_that_mention_cuda():
    files = gpu_check.cuda_test_files()
    assert "tests/test_torch_triton.py" in files and "tests/test_gpu_check.py" in files
    assert "tests/test_jax_parity.py" not in files


@pytest.mark.slow  # subprocesses that import torch (and run pytest or verify)
def test_the_pytest_step_counts_outcomes_and_fails_when_every_test_skipped(tmp_path, monkeypatch):
    # (No "cuda" in this test's name: the step it runs must not select it again.)
    ran = gpu_check.cuda_tests(120, ["tests/test_gpu_check.py"], keyword="rendered_from or refuses_a_page")
    assert ran["status"] == "passed" and (ran["passed"], ran["failed"], ran["skipped"]) == (2, 0, 0)
    assert {t["outcome"] for t in ran["tests"]} == {"passed"} and len(ran["tests"]) == 2
    # A GPU_PYTHON with pytest but no pytest-xdist (a venv of torch and pytest alone failed here with exit
    # 4, "unrecognized arguments: -n"): the step passes no xdist option there.
    monkeypatch.setattr(gpu_check, "_xdist_installed", lambda: False)
    ran = gpu_check.cuda_tests(120, ["tests/test_gpu_check.py"], keyword="rendered_from")
    assert ran["status"] == "passed" and ran["passed"] == 1, ran.get("output")
    monkeypatch.undo()
    # pytest exits 0 when every CUDA test skipped (no device seen): that is no check at all.
    skipping = tmp_path / "test_skipping.py"
    skipping.write_text("import pytest\n\n\ndef test_on_cuda():\n    pytest.skip('no device')\n")
    skipped = gpu_check.cuda_tests(120, [str(skipping)])
    assert skipped["exit_code"] == 0 and skipped["skipped"] == 1 and skipped["status"] == "failed"


@pytest.mark.slow  # subprocesses that import torch (and run pytest or verify)
def test_the_verify_step_records_rows_and_needs_the_no_triton_mode(monkeypatch):
    step = gpu_check.verify("torch", "cpu", 300, only=("--dtype", "bfloat16", "--mode", "sigmoid"))
    assert step["status"] == "passed" and step["modes"] == ["sigmoid"] and step["inputs"] >= 2**16
    assert step["command"] == "sigact verify --framework torch --device cpu --dtype bfloat16 --mode sigmoid"
    # A device that is not there: verify checks nothing (and exits 0 or 2, by its version); never a pass.
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        nothing = gpu_check.verify("torch", "cuda", 300)
        assert nothing["inputs"] == 0 and nothing["status"] == "failed"
    # On CUDA the torch step must also have checked the tensor-op path: without it, it fails.
    monkeypatch.setattr(gpu_check, "verify", lambda *args, **kwargs: dict(step))
    assert gpu_check.verify_torch(300)["status"] == "failed"
    monkeypatch.setattr(gpu_check, "verify", lambda *args, **kwargs: {**step, "modes": ["sigmoid, no Triton"]})
    assert gpu_check.verify_torch(300)["status"] == "passed"


def test_a_run_writes_its_results_file_and_the_page_and_a_broken_step_fails_it(tmp_path, monkeypatch):
    # The GPU itself is faked here: this checks what main does with the steps' outcomes.
    page = tmp_path / "benchmarks.md"
    page.write_text(f"# Benchmarks\n\n{gpu_page.BEGIN}\n{gpu_page.END}\n")
    fake_machine = json.loads(json.dumps(MACHINE))
    monkeypatch.setattr(gpu_check, "no_gpu_reason", lambda: None)
    monkeypatch.setattr(gpu_check, "machine", lambda commit: {**fake_machine, "commit": commit})
    monkeypatch.setattr(gpu_check, "verify_torch", lambda limit: {"status": "passed", "inputs": 1, "modes": ["m"],
                                                                  "seconds": 1.0})
    monkeypatch.setattr(gpu_check, "cuda_tests", lambda limit: {"status": "passed", "passed": 1, "failed": 0,
                                                                "skipped": 0, "seconds": 1.0})
    monkeypatch.setattr(gpu_check, "verify_jax", lambda limit: {"status": "skipped", "reason": "no CUDA jaxlib"})

    def broken():
        raise RuntimeError("out of memory")

    monkeypatch.setattr(gpu_check, "throughput", broken)
    args = ["--results", str(tmp_path / "results"), "--page", str(page), "--commit", "abc1234", "--out",
            str(tmp_path / "out")]
    assert gpu_check.main(args) == 1
    written = json.loads((tmp_path / "results" / "gpu-test-gpu.json").read_text())
    copied = (tmp_path / "out" / "gpu-test-gpu.json").read_text()
    assert copied == (tmp_path / "results" / "gpu-test-gpu.json").read_text()
    assert (tmp_path / "out" / "benchmarks.md").read_text() == page.read_text()
    assert written["passed"] is False and written["machine"] == {**fake_machine, "commit": "abc1234"}
    assert written["steps"]["throughput"] == {"status": "failed", "output": "RuntimeError: out of memory"}
    assert written["steps"]["verify_jax"]["status"] == "skipped"
    assert gpu_page.render([written]) in page.read_text()
    assert "Throughput: not measured (RuntimeError: out of memory)" in page.read_text()


@pytest.mark.slow  # subprocesses that import torch (and run pytest or verify)
def test_gpu_check_without_a_gpu_exits_2_says_why_and_writes_nothing(tmp_path):
    page = tmp_path / "benchmarks.md"
    page.write_text(gpu_page.PAGE.read_text())
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu_check.py"), "--results",
                          str(tmp_path / "results"), "--page", str(page)],
                         capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 2, out.stdout + out.stderr
    assert "gpu-check: no GPU to check: " in out.stderr and "Nothing was run or written" in out.stderr
    assert not (tmp_path / "results").exists() and page.read_text() == gpu_page.PAGE.read_text()


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_gpu_check_sets_up_the_venv_unless_given_a_python():
    # -n prints what would run; -W pretends requirements-dev.txt changed, so the venv is out of date.
    dry = ["make", "--no-print-directory", "-n", "-W", "requirements-dev.txt", "gpu-check"]
    with_venv = subprocess.run(dry, capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert "pip install" in with_venv and with_venv.rstrip().endswith(".venv/bin/python benchmarks/gpu_check.py")
    given = subprocess.run([*dry, "GPU_PYTHON=python3"], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert "pip" not in given and given.rstrip().endswith(" python3 benchmarks/gpu_check.py")


@pytest.mark.slow  # a subprocess under Triton's interpreter
def test_the_throughput_code_runs_under_the_interpreter_on_the_cpu_with_a_wall_clock(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("triton")
    # Everything of the GPU step but the CUDA events and the device: the kernel under the interpreter.
    script = (f"import json, sys, time; sys.path.insert(0, {str(ROOT / 'benchmarks')!r}); import gpu_throughput\n"
              "def wall(call, repeats):\n"
              "    start = time.perf_counter()\n"
              "    for _ in range(repeats): call()\n"
              "    return (time.perf_counter() - start) * 1e3 / repeats\n"
              "gpu_throughput.DEVICE, gpu_throughput.time_per_call, gpu_throughput.MAX_REPEATS = 'cpu', wall, 2\n"
              "print(json.dumps(gpu_throughput.throughput(sizes=(12,), dtypes=('float32', 'bfloat16'), rounds=3)))\n")
    env = {**os.environ, "TRITON_INTERPRET": "1", "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    step = json.loads(out.stdout.splitlines()[-1])
    assert step["status"] == "passed" and [(r["dtype"], r["log2_n"]) for r in step["rows"]] == [
        ("float32", 12), ("bfloat16", 12)]
    for row in step["rows"]:
        assert row["bitwise"] and all(ms > 0 for ms in row["ms"].values())
    assert "| float32 | 2^12 |" in gpu_page.render_throughput(step)


def test_gpu_check_throughput_on_cuda_is_bitwise_and_fills_every_figure():
    torch = pytest.importorskip("torch")
    pytest.importorskip("triton")
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device (CI has none; make gpu-check runs it)")
    step = gpu_throughput.throughput(sizes=(20,), dtypes=("float32", "bfloat16"), rounds=3)
    assert step["status"] == "passed" and len(step["rows"]) == 2
    for row in step["rows"]:
        assert row["bitwise"] and all(g > 0 for g in row["gb_per_s"].values())
