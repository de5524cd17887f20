"""Sphinx configuration of sigact's documentation site (`make docs` builds it into docs/_build/html).

Why Sphinx with MyST: the pages stay the Markdown files that GitHub renders and that tests/test_docs.py runs
the snippets of; autodoc with napoleon turns the Google-style docstrings into the API reference; Sphinx's
own search index needs no server; and `-W --keep-going -n` makes every warning, unresolved reference and
broken link an error. MkDocs Material with mkdocstrings would do the same job, but its search and math
both lean on JavaScript bundles and a theme with many more moving parts, for a site of ten pages.

Math is MathJax 3 from the sphinx-mathjax-offline package, copied into _static/ at build time, so the
site renders the derivation with no network (no CDN, and nothing third-party committed here).
"""

import sys
from pathlib import Path

# Document this checkout's sigact, whatever else is installed.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sigact  # noqa: E402

project = "sigact"
author = "the sigact authors"
copyright = "the sigact authors, Apache License 2.0"
release = version = sigact.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",  # the package's own (hyphenated) module name; sets mathjax_path to its copy
]

# docs/ holds the Markdown pages, and also the figures' script and the raw results they link to.
exclude_patterns = ["_build", "results/*.json"]
source_suffix = {".md": "markdown"}
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3

# Strict: every cross-reference must resolve. Names of the frameworks and of Python's standard library
# cannot, since the build may not download their inventories (intersphinx), so those alone are let through.
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"(torch|jax|jaxlib|numpy|np|flax|optax)(\..*)?"),
    (r"py:.*", r"(collections\.abc|typing|contextlib|types|pathlib)\..*"),
    # Private names that public docstrings point readers of the source to: the site documents only the
    # public API, so these render as plain names.
    (r"py:.*", r"(sigact\.(torch\.|jax\.)?)?_.*"),
    (r"py:.*", r"compiled_sigmoid_grad|RULES"),
]

autodoc_member_order = "bysource"
autodoc_typehints = "description"
napoleon_google_docstring = True
napoleon_numpy_docstring = False

html_theme = "furo"
html_title = f"sigact {release}"
html_static_path: list[str] = []
