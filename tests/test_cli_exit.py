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


@pytest.mark.parametrize("check", ["dir", "file"])
def test_output_checks_remove_exactly_the_folders_they_made_and_nothing_else(tmp_path, check):
    # The check makes the folders for real, then removes them again: only those, never what was there.
    from sigact import cli

    def error(message):
        raise AssertionError(message)

    (tmp_path / "kept" / "full").mkdir(parents=True)
    (tmp_path / "kept" / "full" / "data").write_text("mine")
    (tmp_path / "kept" / "empty").mkdir()
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    for start in ("kept/empty", "kept/full", "kept"):
        target = tmp_path / start / "new" / "deeper"
        if check == "dir":
            cli._check_output_dir(target, "--plot", error)
        else:
            cli._check_output_file(target / "out.json", "--json", error)
        assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before, start
    if check == "file":  # a file that is there already is written to, never removed or emptied
        cli._check_output_file(tmp_path / "kept" / "full" / "data", "--json", error)
        assert (tmp_path / "kept" / "full" / "data").read_text() == "mine"

