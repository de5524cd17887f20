"""What a result was measured on: the machine and the versions of what ran, for every JSON the commands
and the benchmarks write."""

from __future__ import annotations

import importlib
import os
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        memory = None
    return {
        "cpu": cpu,
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "memory_bytes": memory,
        "platform": platform.platform(),
        "python": platform.python_version(),
        # Timings on a shared machine depend on what else ran: the page that quotes them says so.
        "load_average_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }


def provenance() -> dict[str, Any]:
    """The command line and the date (UTC) that produced a results file, to re-run it from."""
    program = Path(sys.argv[0])  # an installed script's absolute path says nothing: its name does
    return {"command": " ".join([program.name if program.is_absolute() else str(program), *sys.argv[1:]]),
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def versions() -> dict[str, str | None]:
    """The version of sigact, each framework and NumPy, or None for one not installed."""
    found: dict[str, str | None] = {}
    for name in ("sigact", "torch", "triton", "jax", "jaxlib", "numpy"):
        try:
            found[name] = importlib.import_module(name).__version__
        except ImportError:
            found[name] = None
    return found
