"""The sdist and the wheel: built with the standard front end, checked with twine, and installed into
a clean venv with no framework, where sigact must import and report what is missing."""

import importlib.util
import subprocess
import sys
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        importlib.util.find_spec("build") is None or importlib.util.find_spec("hatchling") is None,
        reason="needs the build tools of requirements-dev.txt",
    ),
]


def run(*cmd, **kwargs):
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, check=True, **kwargs)


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    """`make dist`'s build: the sdist first, then the wheel built from the unpacked sdist."""
    out = tmp_path_factory.mktemp("dist")
    run(sys.executable, "-m", "build", "--no-isolation", "--outdir", out, ROOT)
    (sdist,), (wheel,) = out.glob("*.tar.gz"), out.glob("*.whl")
    return sdist, wheel


APACHE_2_SECTIONS = [
    "1. Definitions.", "2. Grant of Copyright License.", "3. Grant of Patent License.", "4. Redistribution.",
    "5. Submission of Contributions.", "6. Trademarks.", "7. Disclaimer of Warranty.",
    "8. Limitation of Liability.", "9. Accepting Warranty or Additional Liability.",
]


def test_license_is_the_whole_apache_2_text_that_pyproject_declares():
    text = (ROOT / "LICENSE").read_text()
    assert text.split()[:5] == ["Apache", "License", "Version", "2.0,", "January"]
    positions = [text.index(section) for section in APACHE_2_SECTIONS]
    assert positions == sorted(positions)
    assert text.index("END OF TERMS AND CONDITIONS") > positions[-1]
    assert 'license = "Apache-2.0"' in (ROOT / "pyproject.toml").read_text()


def test_metadata_passes_twine_check(dist):
    result = run(sys.executable, "-m", "twine", "check", "--strict", *dist)
    assert result.stdout.count("PASSED") == 2


def test_wheel_ships_py_typed_and_the_package_but_not_the_tests(dist):
    names = zipfile.ZipFile(dist[1]).namelist()
    assert "sigact/py.typed" in names
    assert {"sigact/torch/_autograd.py", "sigact/jax/_swap.py", "sigact/cli.py"} <= set(names)
    assert not [n for n in names if n.startswith(("tests/", "docs/", "examples/"))]


def test_wheel_ships_the_license_and_declares_it(dist):
    wheel = zipfile.ZipFile(dist[1])
    (dist_info,) = {n.split("/")[0] for n in wheel.namelist() if n.endswith(".dist-info/METADATA")}
    assert wheel.read(f"{dist_info}/licenses/LICENSE") == (ROOT / "LICENSE").read_bytes()
    metadata = wheel.read(f"{dist_info}/METADATA").decode().splitlines()
    assert {"License-Expression: Apache-2.0", "License-File: LICENSE"} <= set(metadata)


def test_sdist_holds_what_a_rebuild_and_the_suite_need(dist):
    with tarfile.open(dist[0]) as sdist:
        names = {n.split("/", 1)[1] for n in sdist.getnames() if "/" in n}
    needed = {"pyproject.toml", "README.md", "LICENSE", "sigact/py.typed", "sigact/__init__.py", "requirements-dev.txt",
              "requirements-min-jax.txt", "requirements-min-torch.txt", "Makefile", "conftest.py",
              "tests/test_packaging.py"}
    assert needed <= names
    with tarfile.open(dist[0]) as sdist:
        (license_file,) = [m for m in sdist.getmembers() if m.name.endswith("/LICENSE") and m.name.count("/") == 1]
        assert sdist.extractfile(license_file).read() == (ROOT / "LICENSE").read_bytes()


def test_wheel_installs_bare_imports_no_framework_and_reports_what_is_missing(dist, tmp_path):
    env = tmp_path / "venv"
    venv.create(env, with_pip=True)
    python = env / "bin" / "python"
    run(python, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps", dist[1])
    # Outside the repository, so that the installed wheel is what gets imported.
    imported = run(python, "-c", "import sys, sigact; print(sigact.__file__, 'torch' in sys.modules, "
                                 "'jax' in sys.modules)", cwd=tmp_path)
    path, torch_loaded, jax_loaded = imported.stdout.split()
    assert str(env) in path and (torch_loaded, jax_loaded) == ("False", "False")
    report = run(python, "-m", "sigact", "report", "--quick", "--no-progress", cwd=tmp_path)
    assert "PyTorch: not installed" in report.stdout and "JAX: not installed" in report.stdout
    assert run(env / "bin" / "sigact", "report", "--quick", "--no-progress", cwd=tmp_path).stdout == report.stdout
