import ast
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


@pytest.mark.parametrize("framework", ["torch", "jax"])
def test_importing_a_framework_module_loads_none_of_the_tooling(framework):
    # The activations, swaps and audit are what users import; measuring, verifying and reporting are not.
    pytest.importorskip(framework)
    code = (f"import sys, sigact.{framework}; sigact.{framework}.sigmoid\n"
            "print(sorted(m for m in sys.modules if m.startswith('sigact.tools') or m == 'sigact.cli'))")
    out = run_python(code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_the_tooling_registry_imports_no_framework():
    # The backend registry names both frameworks; only asking for one imports it.
    code = ("import sys, sigact.tools.backend, sigact.tools.parity, sigact.tools.verify, sigact.tools.report\n"
            "print(sorted({'torch', 'jax', 'jaxlib'} & set(sys.modules)))")
    out = run_python(code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


ROOT = Path(__file__).resolve().parent.parent


def module_name(path):
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path, tree, known):
    """(line, module) for each sigact module a file imports, at its top or inside a function."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}:{node.lineno}: sigact imports absolutely"
            base = node.module or ""
            # `from package import module` imports the module; `from module import name` the module alone.
            found += [(node.lineno, f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
                      for alias in node.names]
    return [(line, name) for line, name in found if name in known]


def sigact_sources():
    return sorted((ROOT / "sigact").rglob("*.py"))


def test_no_import_circle_in_sigact():
    # Every import counts, a deferred one inside a function included: a circle that only closes at call
    # time still means neither module can be understood, tested or moved without the other.
    sources = sigact_sources()
    known = {module_name(path) for path in sources}
    graph = {module_name(path): {name for _, name in imported_modules(path, ast.parse(path.read_text()), known)}
             for path in sources}
    for name, targets in graph.items():
        # A package's __init__ imports its submodules, and a submodule's import implies its package's: not a circle.
        graph[name] = {t for t in targets if not t.startswith(name + ".") and not name.startswith(t + ".")}
    state = {}

    def visit(node, path):
        state[node] = "open"
        for target in sorted(graph[node]):
            if state.get(target) == "open":
                cycle = path[path.index(target):] + [target]
                pytest.fail("import circle: " + " -> ".join(cycle))
            if target not in state:
                visit(target, path + [target])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])


def test_no_module_imports_another_modules_private_names():
    # `from sigact.x import _helper` couples a module to another's internals; a private module may be
    # imported (sigact.torch._backward), a private name in it may not. benchmarks/ counts as outside.
    sources = sigact_sources()
    known = {module_name(path) for path in sources}
    offenders = []
    for path in [*sources, *sorted((ROOT / "benchmarks").glob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sigact"):
                offenders += [f"{path.relative_to(ROOT)}:{node.lineno} {node.module}.{alias.name}"
                              for alias in node.names
                              if alias.name.startswith("_") and not alias.name.startswith("__")
                              and f"{node.module}.{alias.name}" not in known]
    assert offenders == []
