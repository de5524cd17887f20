"""The exit statuses and messages of the ``sigact`` command that scripts and CI read: ``report`` exits 1
when a check fails, and ``verify --device gpu`` on a machine without one says which device it could not
run on (issue 25's mutation audit left both unchecked)."""

import pytest

from sigact.cli import main
from sigact.tools import report


def results(*passed: bool) -> dict:
    """What ``sigact.tools.report.run`` returns, with one installed framework whose checks gave ``passed``,
    and the other not installed; no timing or memory rows (they never decide the exit status)."""
    framework, missing = report.FRAMEWORKS
    return {
        "sigact": "0", "quick": True, "machine": report.machine(), "allocator_keeps_freed_memory": False,
        framework.key: {"installed": True, "version": "0", "memory_detail": {}, "speed": [], "models": [],
                        "skipped": [], "correctness": [{"check": f"check {i}", "passed": ok}
                                                       for i, ok in enumerate(passed)]},
        missing.key: {"installed": False, "reason": "hidden by the test"},
    }


@pytest.mark.parametrize("passed, status", [((True, True), 0), ((True, False), 1), ((False,), 1)])
def test_report_exits_1_when_any_check_fails_and_says_which(monkeypatch, capsys, passed, status):
    monkeypatch.setattr(report, "run", lambda quick, show_progress: results(*passed))
    assert main(["report", "--quick", "--no-progress"]) == status
    out = capsys.readouterr().out
    for i, ok in enumerate(passed):
        assert f"{'PASS' if ok else 'FAIL'}  check {i}" in out


def test_verify_on_a_gpu_that_is_not_there_names_the_device(capsys):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    try:
        import jax

        if any(d.platform == "gpu" for d in jax.devices()):
            pytest.skip("this machine has a GPU")
    except ImportError:
        pass
    for name in ("gpu", "cuda"):
        with pytest.raises(SystemExit) as exited:
            main(["verify", "--device", name, "--no-progress"])
        err = capsys.readouterr().err
        assert exited.value.code == 2
        assert f"--device {name}: no installed framework can run on it here (" in err, err
        assert "checks no inputs" not in err
