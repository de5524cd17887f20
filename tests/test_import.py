import subprocess
import sys
from pathlib import Path

import sigact


def test_import_sigact_loads_neither_torch_nor_jax():
    code = "import sys, sigact; print(sorted({'torch', 'jax', 'jaxlib'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_version_is_a_string_and_package_is_typed():
    assert isinstance(sigact.__version__, str) and sigact.__version__.count(".") == 2
    assert (Path(sigact.__file__).parent / "py.typed").is_file()
