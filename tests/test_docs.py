"""Every Python snippet in the README and docs/ runs, so the docs cannot drift from the code."""

import re
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
    links = re.findall(r"\]\(((?:docs|examples)/[^)]*)\)", (ROOT / "README.md").read_text())
    assert links
    missing = [link for link in links if not (ROOT / link).exists()]
    assert not missing, missing


def test_saturation_thresholds_on_the_derivative_page_are_the_measured_ones():
    pytest.importorskip("torch")
    pytest.importorskip("matplotlib")
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_figures", ROOT / "docs" / "make_figures.py")
    figures = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(figures)
    page = (ROOT / "docs" / "derivative.md").read_text()
    table = figures.saturation_table()
    for dtype, row in table.items():
        line = next(line for line in page.splitlines() if line.startswith(f"| {dtype} |")).replace("−", "-")
        for value in row.values():
            assert f"{value:.4g}" in line, (dtype, value, line)


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
