"""``sigact verify``: a proof of bitwise parity with the built-in sigmoid, on this machine's devices.

For every installed framework, device and dtype, each mode (the ways sigact is called: functional,
in place, forward mode, compiled, jitted, swapped) runs the built-in and sigact on the same inputs
and upstream gradients, and :mod:`sigact.tools.parity` compares the results bit for bit. float16 and
bfloat16 are checked on every bit pattern; float32 on all 2^32 with ``--full``.
"""

from __future__ import annotations

import json
import platform
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sigact.tools import backend
from sigact.tools.backend import Backend
from sigact.tools.machine import machine, provenance, versions
from sigact.tools.parity import DTYPES, Row, count, run_mode
from sigact.tools.progress import Progress

FRAMEWORKS = tuple(backend.BACKENDS)
# What --device names, per framework: PyTorch says cuda, JAX says gpu; both mean the GPU.
DEVICE_NAMES = {"cpu": {"cpu"}, "cuda": {"cuda", "gpu"}, "gpu": {"cuda", "gpu"}, "all": {"cpu", "cuda", "gpu"}}


def load(framework: str) -> tuple[Backend | None, str | None]:
    """The framework's backend, or None and why it is not installed."""
    module, error = backend.try_load(framework)
    return module, None if module is not None else f"not installed ({error})"


def plan(frameworks: Iterable[str], device: str = "all", dtypes: Iterable[str] = DTYPES,
         modes: Iterable[str] | None = None) -> list[tuple[Row, Any, int | None]]:
    """(row to fill, mode to run or None, sample size) for each check asked for. Frameworks and
    devices that are missing get one row each, marked not available."""
    wanted_modes = set(modes) if modes is not None else None
    planned: list[tuple[Row, Any, int | None]] = []
    for framework in frameworks:
        module, missing = load(framework)
        if module is None:
            planned.append((Row(framework, "-", "-", "-", available=False, note=missing or ""), None, None))
            continue
        for name, reason in module.devices().items():
            if name not in DEVICE_NAMES[device]:
                continue
            if reason is not None:
                planned.append((Row(framework, name, "-", "-", available=False, note=f"not available: {reason}"),
                                None, None))
                continue
            for mode_name, (mode, mode_dtypes, sample) in module.modes(name).items():
                if wanted_modes is not None and mode_name not in wanted_modes:
                    continue
                planned += [(Row(framework, name, d, mode_name), mode, sample) for d in dtypes if d in mode_dtypes]
    return planned


def run(planned: list[tuple[Row, Any, int | None]], full: bool = False, progress: Progress | None = None) -> list[Row]:
    progress = progress or Progress(0, enabled=False)
    progress.total = sum(1 for _, mode, _ in planned if mode is not None)
    for row, mode, sample in planned:
        if mode is None:
            continue
        what = f"{row.framework} {row.device} {row.dtype} {row.mode}"
        progress.step(f"{what}: {count(row.dtype, full, sample):,} inputs")
        # mypy cannot type a lambda with a default argument against Callable[[int, int], None].
        run_mode(row, mode, full=full, sample=sample, on_chunk=lambda done, total, what=what:  # type: ignore[misc]
                 progress.fraction(what, done, total) if total > 2**26 else None)
    progress.clear()
    return [row for row, _, _ in planned]


def passed(rows: list[Row]) -> bool:
    """Something was checked, and every row that ran passed. Rows that could not run (a device or
    framework not here) are listed but prove nothing either way."""
    checked = [row for row in rows if row.available]
    return bool(checked) and all(row.passed for row in checked)


def unavailable_reasons(planned: list[tuple[Row, Any, int | None]]) -> list[str]:
    return [f"{row.framework} {row.device}: {row.note}" for row, mode, _ in planned if mode is None]


def format_rows(rows: list[Row]) -> str:
    header = (f"{'framework':<9} {'device':<6} {'dtype':<10} {'mode':<26} {'inputs':>13} {'fwd diff':>9} "
              f"{'bwd diff':>9} {'known':>6} {'seconds':>8}")
    lines = [header, "-" * len(header)]
    for row in rows:
        if not row.available:
            lines.append(f"{row.framework:<9} {row.device:<6} {row.note}")
            continue
        lines.append(f"{row.framework:<9} {row.device:<6} {row.dtype:<10} {row.mode:<26} {row.inputs:>13,} "
                     f"{row.forward_mismatches:>9,} {row.backward_mismatches:>9,} {row.known_differences:>6,} "
                     f"{row.seconds:>8.1f}")
    for row in rows:
        if row.first_mismatch:
            m = row.first_mismatch
            lines.append(f"first mismatch, {row.framework} {row.device} {row.dtype} {row.mode}: {m['output']} at "
                         f"input {m['input']} with upstream gradient {m['upstream_gradient']}: built-in "
                         f"{m['expected']}, sigact {m['actual']}")
    known = sum(row.known_differences for row in rows)
    if known:
        lines.append(f"known: {known} complex gradient elements in PyTorch's scalar tail differ by a few ulps "
                     f"(the built-in fuses multiply-adds there; docs/api.md)")
    checked = sum(row.inputs for row in rows)
    # The known differences are mismatches too, so a clean run says they were the only ones.
    verdict = ("MISMATCHES FOUND" if not passed(rows) else
               f"no mismatches beyond the {known} known above" if known else "no mismatches")
    lines.append(f"{checked:,} inputs checked: {verdict}")
    return "\n".join(lines) + "\n"


def accelerators() -> dict[str, list[str]]:
    """Per installed framework, the GPUs it sees: a report of a mismatch on a GPU must name the GPU."""
    found = {}
    for framework in FRAMEWORKS:
        module, _ = load(framework)
        if module is not None:
            found[framework] = module.accelerators()
    return found


def write_json(rows: list[Row], path: Path, full: bool) -> None:
    data = {**provenance(), "results": [row.as_json() for row in rows], "full": full, "machine": machine(),
            "accelerators": accelerators(), "python": platform.python_version(), "versions": versions()}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")
