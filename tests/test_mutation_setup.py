"""make mutate's own setup (mutation/run.py): what its fork server may do before it forks the mutants' workers."""

import importlib.util
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

pytest.importorskip("jax")

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("mutation_run", ROOT / "mutation" / "run.py")
mutation_run = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mutation_run)

COLLECT_THEN_REPORT_BACKENDS = """
import sys, pytest
code = pytest.main(["--collect-only", "-qqq", "-p", "no:cacheprovider", *sys.argv[1:]])
from jax._src import xla_bridge
print("backends:", sorted(xla_bridge._backends))
sys.exit(code)
"""


def test_collecting_the_jax_files_tests_starts_no_xla_backend():
    # mutmut's fork server collects each file's tests once, then forks a worker per mutant. A test module that
    # made a JAX array at import would start XLA's thread pools in the server, and its forked workers hang
    # on a lock one of those threads held: arrays are made inside the tests. One collection of every JAX
    # file's selection (none of them narrows it with -k) checks them all at one start-up's cost.
    selected = {arg for path, tests in mutation_run.MODULES.items() if "jax" in path for arg in tests}
    assert all(arg.startswith("tests/") for arg in selected), selected
    done = subprocess.run([sys.executable, "-c", COLLECT_THEN_REPORT_BACKENDS, *sorted(selected)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert done.stdout.splitlines()[-1] == "backends: []"


def test_a_run_that_stops_before_the_end_keeps_the_recorded_results_and_exits_1(tmp_path, monkeypatch):
    # mutmut stops before its first mutant when the unmutated tests fail, and mid-run when its fork server
    # crashes: every mutant then reads "not checked", which must not replace what the last full run found.
    recorded = {"seconds": 900, "tests": [], "complete": True, "counts": {"killed": 3}, "survivors": {}}
    results = tmp_path / "mutation.json"
    results.write_text(json.dumps({"modules": {"sigact/cli.py": recorded}}))
    monkeypatch.setattr(mutation_run, "RESULTS", results)
    monkeypatch.setattr(mutation_run, "write_pages", lambda: None)  # the project's pages, from its own JSON
    monkeypatch.setattr(mutation_run, "snapshot", lambda: Path(tempfile.mkdtemp(dir=tmp_path)))
    monkeypatch.setattr(mutation_run, "run_one", lambda path, tree, max_children, again: {
        "seconds": 11, "tests": [], "complete": False, "counts": {"not checked": 462}, "survivors": {}})
    assert mutation_run.main(["sigact/cli.py"]) == 1
    assert json.loads(results.read_text())["modules"]["sigact/cli.py"]["counts"] == {"killed": 3}
