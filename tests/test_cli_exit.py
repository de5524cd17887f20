"""The exit statuses and messages of the ``sigact`` command that scripts and CI read: ``report`` exits 1
when a check fails, and ``verify --device gpu`` on a machine without one says which device it could not
run on (issue 25's mutation audit left both unchecked)."""

import json
import sys
from pathlib import Path

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



@pytest.mark.parametrize("args, message", [
    (["report", "--plot", "/proc"], "--plot: cannot write to /proc: No such file or directory"),
    (["report", "--plot", "/proc/sigact-figures"], "--plot: cannot write to /proc/sigact-figures: No such file or"),
    (["report", "--json", "/proc/sigact.json"], "--json: cannot write to /proc: No such file or directory"),
    (["verify", "--json", "/proc/sigact.json"], "--json: cannot write to /proc: No such file or directory"),
    (["verify", "--json", "{dangling}"], "--json: cannot write {dangling}: No such file or directory"),
    (["verify", "--dtype", "float8", "float9"],
     "--dtype: unknown float8, float9; choose from float16, bfloat16, float32, float64, complex64, complex128"),
])
def test_a_usage_error_names_its_option_and_the_systems_reason(args, message, tmp_path, capsys, monkeypatch):
    # /proc takes no new file or folder, even from root; a link to a folder that cannot exist makes a
    # file path that cannot be opened inside a folder that can be written.
    from sigact.tools import verify

    monkeypatch.setattr(report, "run", pytest.fail)
    monkeypatch.setattr(verify, "run", pytest.fail)
    dangling = tmp_path / "out.json"
    dangling.symlink_to("/proc/sigact-nowhere/out.json")
    with pytest.raises(SystemExit) as exited:
        main([arg.format(dangling=dangling) for arg in args])
    assert exited.value.code == 2
    assert f"sigact: error: {message.format(dangling=dangling)}" in capsys.readouterr().err


def test_a_folder_something_else_wrote_into_meanwhile_is_kept(tmp_path, monkeypatch):
    from sigact import cli

    real = cli.tempfile.TemporaryFile

    def and_another_writer(dir):  # noqa: A002 (tempfile's own name)
        (Path(dir) / "theirs").write_text("")
        return real(dir=dir)

    monkeypatch.setattr(cli.tempfile, "TemporaryFile", and_another_writer)
    cli._check_output_dir(tmp_path / "new" / "deeper", "--plot", pytest.fail)
    assert (tmp_path / "new" / "deeper" / "theirs").exists()


def test_report_without_matplotlib_refuses_plot_before_any_work(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setattr(report, "run", pytest.fail)
    with pytest.raises(SystemExit) as exited:
        main(["report", "--plot", "figures-never-made"])
    assert exited.value.code == 2
    assert "sigact: error: --plot needs matplotlib: pip install 'sigact[report]'\n" in capsys.readouterr().err


@pytest.mark.parametrize("flags, shown", [([], True), (["--quick", "--no-progress"], False)])
def test_report_writes_what_it_says_and_shows_progress_unless_asked_not_to(flags, shown, tmp_path, monkeypatch,
                                                                           capsys):
    from sigact.tools import plots

    calls, made = [], results(True)
    monkeypatch.setattr(report, "run", lambda quick, show_progress: calls.append((quick, show_progress)) or made)
    monkeypatch.setattr(plots, "report_plots",
                        lambda results, folder: [folder / "speed_ratio.png"] if results is made else [])
    out_json = tmp_path / "report.json"
    assert main(["report", "--json", str(out_json), "--plot", str(tmp_path / "figures"), *flags]) == 0
    assert calls == [("--quick" in flags, shown)]
    assert json.loads(out_json.read_text())["sigact"] == "0"
    out = capsys.readouterr().out
    assert f"JSON written to {out_json}" in out
    assert f"figure written to {tmp_path / 'figures' / 'speed_ratio.png'}" in out


def usage_error(args, capsys):
    with pytest.raises(SystemExit) as exited:
        main(args)
    assert exited.value.code == 2
    return capsys.readouterr().err


def test_an_unknown_mode_is_named_beside_every_mode_the_cpu_has(capsys):
    pytest.importorskip("torch")
    from sigact.tools import verify

    err = usage_error(["verify", "--framework", "torch", "--mode", "nope", "nada"], capsys)
    known = ", ".join(repr(name) for name in sorted(verify.load("torch")[0].modes("cpu")))
    assert f"--mode: unknown nada, nope; the installed frameworks and available devices have {known}\n" in err


def test_an_empty_selection_says_what_was_asked_and_why_nothing_runs(capsys, monkeypatch):
    pytest.importorskip("torch")
    from sigact.tools import verify

    # compile is torch's one mode without complex dtypes (named twice: each list is printed as given).
    err = usage_error(["verify", "--framework", "torch", "--device", "cpu", "--dtype", "complex64", "complex128",
                       "--mode", "compile", "compile"], capsys)
    assert ("this selection checks no inputs (framework torch, device cpu, dtype complex64 complex128, mode compile "
            "compile): none of these modes runs on these dtypes\n") in err
    monkeypatch.setattr(verify, "load", lambda fw: (None, f"not installed (hidden {fw})"))
    err = usage_error(["verify", "--device", "cpu"], capsys)
    assert ("this selection checks no inputs (framework all, device cpu, dtype all, mode all): nothing here can "
            "run it (torch -: not installed (hidden torch); jax -: not installed (hidden jax))\n") in err


@pytest.mark.parametrize("flags, full, shown", [(["--full"], True, True), (["--no-progress"], False, False)])
def test_verify_passes_full_and_progress_on_to_the_run(flags, full, shown, monkeypatch, capsys):
    pytest.importorskip("torch")
    from sigact.tools import verify

    seen = {}
    monkeypatch.setattr(verify, "run", lambda planned, full=None, progress=None: seen.update(
        full=full, progress=progress, rows=[row.dtype for row, _, _ in planned]) or [])
    monkeypatch.setattr(verify, "passed", lambda rows: True)
    assert main(["verify", "--framework", "torch", "--device", "cpu", "--dtype", "float32", "--mode", "sigmoid",
                 *flags]) == 0
    assert seen["full"] is full and seen["progress"].enabled is shown and seen["rows"] == ["float32"]


def test_the_command_line_names_itself_its_version_and_its_commands(capsys):
    import sigact

    err = usage_error([], capsys)
    assert err.startswith("usage: sigact [-h] [--version] COMMAND ...\n")
    assert err.endswith("sigact: error: the following arguments are required: COMMAND\n")
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0 and capsys.readouterr().out == f"sigact {sigact.__version__}\n"
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    assert "\n\nsigact: the output-saving sigmoid for PyTorch and JAX.\n\n" in capsys.readouterr().out


def test_verify_writes_the_json_it_says_it_wrote(tmp_path, monkeypatch, capsys):
    pytest.importorskip("torch")
    from sigact.tools import verify

    monkeypatch.setattr(verify, "run", lambda planned, full, progress: [row for row, _, _ in planned])
    monkeypatch.setattr(verify, "passed", lambda rows: True)
    out_json = tmp_path / "verify.json"
    main(["verify", "--framework", "torch", "--device", "cpu", "--dtype", "float32", "--mode", "sigmoid",
          "--json", str(out_json), "--no-progress"])
    written = json.loads(out_json.read_text())
    assert written["full"] is False and [r["dtype"] for r in written["results"]] == ["float32"]
    assert f"JSON written to {out_json}" in capsys.readouterr().out
