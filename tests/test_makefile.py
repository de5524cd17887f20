"""The Makefile's install step, run with a stand-in pip that records how it was called."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_install_shows_pips_progress_for_torch_and_no_version_notice(tmp_path):
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    log = tmp_path / "pip.log"
    pip = venv / "bin" / "pip"
    pip.write_text(f'#!/bin/sh\necho "notice=$PIP_DISABLE_PIP_VERSION_CHECK $*" >> {log}\n')
    pip.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "PIP_DISABLE_PIP_VERSION_CHECK"}
    subprocess.run(["make", "-C", str(ROOT), "-B", f"VENV={venv}", "PYTHON=true", f"{venv}/.installed"],
                   check=True, capture_output=True, env=env)
    calls = log.read_text().splitlines()
    assert len(calls) == 3 and all(call.startswith("notice=1 install ") for call in calls)
    torch_step = next(call for call in calls if "torch==" in call)
    assert "--quiet" not in torch_step and "--progress-bar on" in torch_step


def _stand_in(path, log, line):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'#!/bin/sh\necho "{line}" >> {log}\n')
    path.chmod(0o755)


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_install_reads_no_pip_configuration_file(tmp_path):
    # A machine's pip.conf once added a constraints file that refused requirements-dev.txt's torch pin.
    venv, log = tmp_path / "venv", tmp_path / "pip.log"
    _stand_in(venv / "bin" / "pip", log, "config=$PIP_CONFIG_FILE $*")
    env = {**os.environ, "PIP_CONFIG_FILE": str(tmp_path / "pip.conf")}
    subprocess.run(["make", "-C", str(ROOT), "-B", f"VENV={venv}", "PYTHON=true", f"{venv}/.installed"],
                   check=True, capture_output=True, env=env)
    calls = log.read_text().splitlines()
    assert len(calls) == 3 and all(call.startswith("config=/dev/null install ") for call in calls)


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_test_newest_installs_the_newest_with_a_stock_pip_and_runs_the_suite(tmp_path):
    venv, log = tmp_path / "newest", tmp_path / "calls.log"
    _stand_in(venv / "bin" / "pip", log, "pip config=$PIP_CONFIG_FILE $*")
    _stand_in(venv / "bin" / "python", log, "python $*")
    subprocess.run(["make", "-C", str(ROOT), f"NEWEST={venv}", "PYTHON=false", "test-newest", "ARGS=-k x"],
                   check=True, capture_output=True)
    calls = log.read_text().splitlines()
    pips = [call.split() for call in calls if call.startswith("pip ")]
    assert pips and all(call[1] == "config=/dev/null" and call[2] == "--isolated" for call in pips)
    requested = {word.strip('"') for call in pips for word in call if not word.startswith("-")}
    # Pre-releases for jax, jaxlib and flax alone (a specifier that names one), no pin, and no --pre,
    # which would take pre-releases of every dependency too; triton is left to torch.
    assert {"jax>=0.dev0", "jaxlib>=0.dev0", "flax>=0.dev0", "torch", "equinox", "optax", "keras",
            "dm-haiku", "pytest", "pytest-xdist", "hypothesis"} <= requested
    assert not any("==" in word or word == "--pre" or word.startswith("triton") for call in pips for word in call)
    assert calls[-1] == "python -m pytest -n 2 -k x"
