"""What every section of ``benchmarks/run.py`` prints with: progress on stderr, tables in Markdown."""

from __future__ import annotations

import sys


def log(message: str) -> None:
    print(f"... {message}", file=sys.stderr, flush=True)


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])
