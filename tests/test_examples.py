"""Each example runs to the end, shortened, and shows what it promises."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run(name, *args, timeout=120):
    out = subprocess.run([sys.executable, str(EXAMPLES / name), *args], capture_output=True, text=True,
                         timeout=timeout)
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.mark.slow
def test_torch_swap_trains_to_identical_losses_and_audits_before_and_after():
    pytest.importorskip("torch")
    stdout = run("torch_swap.py", "--steps", "4")
    assert "losses and trained weights bitwise identical: True" in stdout
    kept = [line for line in stdout.splitlines() if line.startswith("kept for backward")]
    before, after = (line.split(":")[1].split()[0] for line in kept)
    assert before == after


@pytest.mark.slow
def test_jax_training_loop_is_identical_to_builtin_and_learns():
    pytest.importorskip("flax")
    stdout = run("jax_training_loop.py", "--steps", "15")
    assert "bitwise identical to the built-in: True" in stdout
    final = float(stdout.split("final loss ")[1].split()[0])
    first = float(stdout.split("(from ")[1].split(")")[0])
    assert final < first


@pytest.mark.slow
def test_memory_audit_shows_naive_above_builtin_and_sigact_lowest_in_jax():
    pytest.importorskip("torch")
    pytest.importorskip("jax")
    stdout = run("memory_audit.py", "--size", "128")
    totals = [int(line.split("(")[1].split()[0]) for line in stdout.splitlines() if line.startswith("total:")]
    torch_naive, torch_builtin, torch_sigact, jax_naive, jax_builtin, jax_sigact = totals
    assert torch_naive > torch_builtin == torch_sigact
    assert jax_naive > jax_builtin > jax_sigact


@pytest.mark.slow
def test_jax_swap_trains_flax_lstm_to_identical_losses_with_less_temp_memory():
    pytest.importorskip("flax")
    stdout = run("jax_swap.py", "--steps", "5", "--batch", "8", "--length", "32")
    assert "bitwise identical to the unswapped run: True" in stdout
    change = float(stdout.split("swapped (")[1].split("%")[0])
    assert change <= -25  # sigmoid and tanh both output-only: about -33 % at this size
    final, first = float(stdout.split("final loss ")[1].split()[0]), float(stdout.split("(from ")[1].split(")")[0])
    assert final < first


@pytest.mark.slow
def test_char_lstm_trains_the_plans_choice_to_identical_losses_and_finds_a_larger_batch():
    pytest.importorskip("flax")
    pytest.importorskip("optax")
    stdout = run("char_lstm.py", "--steps", "3", "--batch", "2", "--length", "16", "--features", "8",
                 "--rounds", "1", timeout=600)
    assert "docstrings of Python" in stdout
    assert "every loss and the trained parameters bitwise identical to the built-in's: True" in stdout
    table = stdout.split("\ncandidate", 1)[1].split("step     as written")[0]
    assert "builtin" in table and "  *" in table and "\nUse " in table
    fits = dict(re.findall(r"^  (\S.*?)  +(\d+)", stdout.split("compilations):")[1], re.MULTILINE))
    assert list(fits)[0] == "builtin" and len(fits) == 2, fits
    builtin, chosen = (int(n) for n in fits.values())
    assert chosen >= builtin >= 2
