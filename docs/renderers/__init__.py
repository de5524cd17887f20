"""The renderers of docs/generate.py, one module per page or topic, each with a ``RENDERERS`` dict of
its own; this package joins them into the one registry. A renderer takes a region's results files,
loaded, in the order its marker names them, and returns Markdown."""

from __future__ import annotations

from collections.abc import Callable

from renderers import benchmarks, common, memory, readme, verification
from renderers.common import Run

RENDERERS: dict[str, Callable[[list[Run]], str]] = {}
for _module in (common, benchmarks, memory, readme, verification):
    _clash = RENDERERS.keys() & _module.RENDERERS.keys()
    if _clash:
        raise ValueError(f"renderer names defined twice: {sorted(_clash)} (again in {_module.__name__})")
    RENDERERS.update(_module.RENDERERS)
