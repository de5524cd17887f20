"""Every Python snippet in the README and docs/ runs, so the docs cannot drift from the code."""

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"```python\n(.*?)```", re.S)


def snippets():
    for page in PAGES:
        for i, code in enumerate(BLOCK.findall(page.read_text())):
            yield pytest.param(code, id=f"{page.relative_to(ROOT)}#{i}")


@pytest.mark.parametrize("code", list(snippets()))
def test_snippet_runs(code):
    pytest.importorskip("torch")
    pytest.importorskip("jax")
    exec(compile(code, "<snippet>", "exec"), {"__name__": "__snippet__"})


def test_every_page_linked_from_the_readme_exists():
    """Built-site links (docs/_build/html/X.html) exist once `make docs` ran: each must have its source docs/X.md."""
    links = re.findall(r"\]\(((?:docs|examples)/[^)]*)\)", (ROOT / "README.md").read_text())
    assert any(link.startswith("docs/_build/html/") for link in links)
    sources = [re.sub(r"^docs/_build/html/(.*)\.html$", r"docs/\1.md", link) for link in links]
    missing = [link for link in sources if not (ROOT / link).exists()]
    assert not missing, missing


def make_figures():
    pytest.importorskip("torch")
    pytest.importorskip("matplotlib")
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_figures", ROOT / "docs" / "make_figures.py")
    figures = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(figures)
    return figures


def assert_table_rows_hold(lines, table):
    for dtype, row in table.items():
        line = next(line for line in lines if line.startswith(f"| {dtype} |")).replace("−", "-")
        for value in row.values():
            assert f"{value:.4g}" in line, (dtype, value, line)


def test_saturation_thresholds_on_the_derivative_page_are_the_measured_ones():
    page = (ROOT / "docs" / "derivative.md").read_text()
    sigmoid_part = page.split("## tanh, from the sigmoid")[0]
    assert_table_rows_hold(sigmoid_part.splitlines(), make_figures().saturation_table())


def test_tanh_saturation_thresholds_on_the_derivative_page_are_the_measured_ones():
    pytest.importorskip("jax")
    page = (ROOT / "docs" / "derivative.md").read_text()
    tanh_part = page.split("## tanh, from the sigmoid")[1]
    table = make_figures().tanh_saturation_table()
    assert all(row["output_only_negative"] == -row["output_only"] for row in table.values())  # "the same |x|"
    assert_table_rows_hold(tanh_part.splitlines(), table)


def test_the_readmes_make_examples_write_only_where_git_ignores():
    # Files a reader's copied command writes must not show up as untracked in their clone.
    examples = re.findall(r'make \w+ ARGS="([^"]*)"', (ROOT / "README.md").read_text())
    # --plot names a directory: git matches a directory pattern only on a path that ends in "/".
    paths = [{"--json": p, "--plot": p.rstrip("/") + "/"}[flag] for args in examples
             for flag, p in zip(args.split(), args.split()[1:], strict=False) if flag in ("--json", "--plot")]
    assert paths
    ignored = subprocess.run(["git", "check-ignore", "--no-index", *paths], cwd=ROOT, capture_output=True, text=True)
    assert sorted(ignored.stdout.split()) == sorted(paths)


def test_api_reference_page_documents_exactly_each_modules_public_names():
    """docs/reference.md names each object for autodoc; the site's API reference must be the __all__s, no more."""
    pytest.importorskip("torch")
    pytest.importorskip("jax")
    import sigact
    import sigact.jax
    import sigact.torch

    page = (ROOT / "docs" / "reference.md").read_text()
    documented = re.findall(r"^\.\. auto(?:function|class|data):: (\S+)$", page, re.M)
    public = [f"{m.__name__}.{name}" for m in (sigact, sigact.torch, sigact.jax) for name in m.__all__]
    assert len(documented) == len(set(documented))
    assert sorted(documented) == sorted(public)
