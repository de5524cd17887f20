import subprocess
import sys
from pathlib import Path

import pytest

import sigact


def test_import_sigact_loads_neither_torch_nor_jax():
    code = "import sys, sigact; print(sorted({'torch', 'jax', 'jaxlib'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_version_is_a_string_and_package_is_typed():
    assert isinstance(sigact.__version__, str) and sigact.__version__.count(".") == 2
    assert (Path(sigact.__file__).parent / "py.typed").is_file()


def run_python(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)


def test_version_flag_prints_the_package_version():
    for command in (["-m", "sigact", "--version"], ["-m", "sigact.cli", "--version"]):
        out = subprocess.run([sys.executable, *command], capture_output=True, text=True, check=True)
        assert out.stdout.strip() == f"sigact {sigact.__version__}"


@pytest.mark.parametrize("framework, name", [("torch", "PyTorch"), ("jax", "JAX")])
def test_import_without_the_framework_names_the_extra_to_install(framework, name):
    # None in sys.modules makes `import torch` fail as if it were not installed.
    code = (f"import sys; sys.modules[{framework!r}] = None\n"
            f"try:\n    import sigact.{framework}\n"
            "except ModuleNotFoundError as e:\n    print(e.name); print(e)\n")
    out = run_python(code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        framework, f'sigact.{framework} needs {name}, which is not installed: pip install "sigact[{framework}]"']


def test_no_import_circle_jax_verification_does_not_load_the_measurements():
    # _measure's correctness checks run verify's modes, so verify must not need _measure: no circle.
    pytest.importorskip("jax")
    code = "import sys, sigact.jax._verify; print('sigact.jax._measure' in sys.modules)"
    out = run_python(code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
