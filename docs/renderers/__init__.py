"""The renderers of docs/generate.py, one module per page or topic, each with a ``RENDERERS`` dict of
its own; this package joins them into the one registry. A renderer takes a region's results files,
loaded, in the order its marker names them, and returns Markdown."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

from renderers import benchmarks, cli, common, memory, readme, verification
from renderers.common import Run

Renderer = Callable[[list[Run]], str]


def join(*modules: ModuleType) -> dict[str, Renderer]:
    """The modules' ``RENDERERS`` in one dict; a name two modules define is an error, not a silent winner."""
    joined: dict[str, Renderer] = {}
    for module in modules:
        clash = joined.keys() & module.RENDERERS.keys()
        if clash:
            raise ValueError(f"renderer names defined twice: {sorted(clash)} (again in {module.__name__})")
        joined.update(module.RENDERERS)
    return joined


RENDERERS = join(common, benchmarks, cli, memory, readme, verification)
