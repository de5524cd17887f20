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


@pytest.mark.parametrize("path", [p for p in mutation_run.MODULES if "jax" in p])
def test_collecting_a_jax_files_tests_starts_no_xla_backend(path):
    # mutmut's fork server collects each file's tests once, then forks a worker per mutant. A test module that
    # made a JAX array at import would start XLA's thread pools in the server, and its forked workers hang
    # on a lock one of those threads held: arrays are made inside the tests.
    done = subprocess.run([sys.executable, "-c", COLLECT_THEN_REPORT_BACKENDS, *mutation_run.MODULES[path]],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert done.stdout.splitlines()[-1] == "backends: []"
