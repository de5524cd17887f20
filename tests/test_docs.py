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
