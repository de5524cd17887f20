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
