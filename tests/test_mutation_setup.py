"""make mutate's own setup (mutation/run.py): what its fork server may do before it forks the mutants' workers."""

import importlib.util
import subprocess
import sys
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
