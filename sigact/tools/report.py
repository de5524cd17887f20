"""``sigact report``: is it exact, what memory does it keep, how fast is it, for each framework.

Every figure is measured on this machine in this run; nothing is looked up or assumed. Speed is the
median forward+backward time per call, the built-in, sigact and the naive composite
1/(1 + exp(−x)) taking turns round after round so that the ratios are fair.
"""

from __future__ import annotations

import importlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sigact
from sigact._saved import human_bytes
from sigact._timing import keep_freed_memory
from sigact.tools import backend
from sigact.tools.backend import Backend
from sigact.tools.machine import machine, provenance
from sigact.tools.progress import Progress


@dataclass(frozen=True)
class Framework:
    key: str  # its backend's name in sigact.tools.backend.BACKENDS
    title: str
    executions: tuple[str, ...]  # how speed is timed: eager, under torch.compile, under jax.jit
    builtin: str
    models_module: str | None = None  # whole models under jit, built-in against swapped


FRAMEWORKS = (
    Framework("torch", "PyTorch", ("eager", "compile"), "torch.sigmoid"),
    Framework("jax", "JAX", ("jit",), "jax.nn.sigmoid", "sigact.tools.jax_models"),
)
FULL_SIZES = [2**k for k in range(10, 23, 2)]
QUICK_SIZES = [2**10, 2**16, 2**20]
COMPILE_SIZES = [2**10, 2**16, 2**22]


def load(framework: Framework) -> tuple[Backend | None, str | None, str | None]:
    """The framework's backend and version, or why it cannot be loaded."""
    module, error = backend.try_load(framework.key)
    if module is None:
        return None, None, error
    version = importlib.import_module(framework.key).__version__
    return module, version, None


def plan(framework: Framework, quick: bool) -> list[tuple[str, list[int]]]:
    """(execution, sizes) to time. torch.compile is left out of --quick: compiling alone takes longer."""
    executions = [e for e in framework.executions if not (quick and e == "compile")]
    return [(e, COMPILE_SIZES if e == "compile" else QUICK_SIZES if quick else FULL_SIZES) for e in executions]


def measure(framework: Framework, module: Backend, quick: bool, progress: Progress) -> dict[str, Any]:
    progress.step(f"{framework.key}: correctness")
    checks = [{"check": name, "passed": bool(ok)} for name, ok in module.correctness()]
    progress.step(f"{framework.key}: memory")
    memory = module.memory(quick=quick)
    checks.append({"check": f"memory rows read true: one activation keeps at least its output "
                            f"({human_bytes(ONE_ACTIVATION_BYTES)}), no row reads 0",
                   "passed": memory_rows_read_true(memory)})
    models, skipped = [], []
    if framework.models_module:
        models_module = importlib.import_module(framework.models_module)

        def announce_model(i: int) -> None:
            progress.step(f"{framework.key}: model {i + 1} under jit")

        models, skipped = models_module.models(quick=quick, on_model=announce_model)
        if models:
            checks.append({"check": "models under jit: swapped gradients bitwise equal to the built-in's",
                           "passed": all(m["gradients_bitwise_equal"] for m in models)})
    speed = []
    rounds, seconds = (3, 0.02) if quick else (9, 0.05)
    for execution, sizes in plan(framework, quick):

        def announce(n: int, execution: str = execution) -> None:
            progress.step(f"{framework.key}: {execution} speed at 2^{n.bit_length() - 1}")

        speed += module.speed(sizes, execution=execution, rounds=rounds, seconds=seconds, on_size=announce)
    return {
        "installed": True,
        "correctness": checks,
        "memory": memory["mlp"],
        "memory_detail": memory,
        "speed": speed,
        "models": models,
        "skipped": skipped + (["torch.compile speed (--quick)"] if quick and "compile" in framework.executions
                              else []),
    }


def steps(quick: bool, loaded: dict[str, Any]) -> int:
    def models(fw: Framework) -> int:
        return len(importlib.import_module(fw.models_module).report_models(quick)) if fw.models_module else 0

    return sum(2 + models(fw) + sum(len(sizes) for _, sizes in plan(fw, quick))
               for fw in FRAMEWORKS if loaded[fw.key][0])


def run(quick: bool = False, *, progress_stream=None, show_progress: bool = True) -> dict[str, Any]:
    """Measure every installed framework; a missing one is reported as not installed."""
    start = time.perf_counter()
    loaded = {fw.key: load(fw) for fw in FRAMEWORKS}
    progress = Progress(steps(quick, loaded), progress_stream, enabled=show_progress)
    results: dict[str, Any] = {**provenance(), "sigact": sigact.__version__, "quick": quick, "machine": machine(),
                               "allocator_keeps_freed_memory": keep_freed_memory()}
    for fw in FRAMEWORKS:
        module, version, error = loaded[fw.key]
        if module is None:
            results[fw.key] = {"installed": False, "reason": error}
            continue
        results[fw.key] = {"version": version, **measure(fw, module, quick, progress)}
    progress.clear()
    results["seconds"] = round(time.perf_counter() - start, 1)  # wall time, for the pages that say how long it takes
    return results


def format_duration(seconds: float) -> str:
    for unit, scale in (("s", 1), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def format_machine(m: dict[str, Any]) -> str:
    memory = f", {human_bytes(m['memory_bytes'])} memory" if m.get("memory_bytes") else ""
    return f"{m['cpu']}, {m['cores']} cores{memory}; {m['platform']}; Python {m['python']}"


# Each framework's memory() measures one activation of this many float32 elements (the label says
# so); whatever an activation saves for backward, it keeps at least its output.
ONE_ACTIVATION_ELEMENTS = 2**20
ONE_ACTIVATION_BYTES = ONE_ACTIVATION_ELEMENTS * 4


def memory_rows_read_true(memory: dict[str, dict[str, int]]) -> bool:
    """Whether the memory rows can be what their labels say. A row measured on a tensor without
    ``requires_grad`` reads 0 everywhere, and one measured at 2^18 elements under a 2^20 label
    reads a quarter: both look like plausible numbers in a table, so they fail here instead."""
    one_activation = memory.get("activation", {})
    return (bool(one_activation) and all(v >= ONE_ACTIVATION_BYTES for v in one_activation.values())
            and all(v > 0 for row in memory.values() for v in row.values()))


def format_framework(framework: Framework, result: dict[str, Any]) -> str:
    if not result["installed"]:
        return f"{framework.title}: not installed ({result['reason']})"
    lines = [f"{framework.title} {result['version']}", "", "  Correctness"]
    lines += [f"    {'PASS' if c['passed'] else 'FAIL'}  {c['check']}" for c in result["correctness"]]
    lines += ["", f"  Memory kept for backward        {'built-in':>10} {'sigact':>10} {'naive':>10}"]
    labels = {
        "activation": f"one activation, 2^{ONE_ACTIVATION_ELEMENTS.bit_length() - 1} float32",
        "mlp": "8-layer MLP step (residuals)" if framework.key == "jax" else "8-layer MLP step",
        "mlp_compiled_temp": "8-layer MLP step (XLA temp)",
    }
    for key, row in result["memory_detail"].items():
        sizes = "".join(f" {human_bytes(row[k]):>10}" for k in ("builtin", "sigact", "naive"))
        lines.append(f"    {labels[key]:<28}{sizes}")
    lines += ["", "  Speed: median forward+backward per call, and its ratio to the built-in",
              f"    {'run':<8} {'n':>5} {'built-in':>10} {'sigact':>10} {'ratio':>6} {'naive':>10} {'ratio':>6}"]
    for row in result["speed"]:
        b = row["builtin_s"]
        lines.append(
            f"    {row['execution']:<8} {'2^' + str(row['n'].bit_length() - 1):>5} {format_duration(b):>10} "
            f"{format_duration(row['sigact_s']):>10} {row['sigact_s'] / b:>5.2f}x "
            f"{format_duration(row['naive_s']):>10} {row['naive_s'] / b:>5.2f}x"
        )
    if result["models"]:
        lines += ["", "  Models under jit: XLA temp memory of jit(grad(loss)), and median seconds per step, as written",
                  "  (built-in) and through sigact.jax.swap_sigmoid and sigact.jax.swap (ratios to the built-in)",
                  f"    {'model':<66}" + f" {'built-in':>9} {'sigmoid':>9} {'ratio':>6} {'swap':>9} {'ratio':>6}" * 2]
        for m in result["models"]:
            cells = []
            for unit, show in (("temp_bytes", human_bytes), ("s", format_duration)):
                # The plan's engine gives None where the backend measures no memory: shown so, never as 0.
                b, value = m[f"builtin_{unit}"], {k: m[f"{k}_{unit}"] for k in ("swap_sigmoid", "swap")}
                shown = {k: show(v) if v is not None else "n/a" for k, v in [("builtin", b), *value.items()]}
                cells.append(f" {shown['builtin']:>9}" + "".join(
                    f" {shown[k]:>9} " + (f"{v / b:>5.2f}x" if v is not None and b else f"{'-':>6}")
                    for k, v in value.items()))
            lines.append(f"    {m['name']:<66}" + "".join(cells))
    lines += [f"    skipped: {s}" for s in result["skipped"]]
    return "\n".join(lines)


def format_report(results: dict[str, Any]) -> str:
    head = [f"sigact {results['sigact']} report{' (--quick)' if results['quick'] else ''}",
            f"machine: {format_machine(results['machine'])}",
            "allocator: " + ("glibc keeps freed memory (mallopt), so timings measure kernels, not page faults"
                             if results["allocator_keeps_freed_memory"] else "default")]
    sections = [format_framework(fw, results[fw.key]) for fw in FRAMEWORKS]
    return "\n\n".join(["\n".join(head), *sections]) + "\n"


def all_passed(results: dict[str, Any]) -> bool:
    return all(c["passed"] for fw in FRAMEWORKS if results[fw.key]["installed"] for c in results[fw.key]["correctness"])


def write_json(results: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")


def curve_data(results: dict[str, Any]) -> tuple[Any, Any, Any] | None:
    """σ and σ′ on [−8, 8] from the first installed framework's sigact, or None if there is none."""
    import numpy as np

    xs = np.linspace(-8, 8, 401)
    for fw in FRAMEWORKS:
        module = load(fw)[0] if results[fw.key]["installed"] else None
        if module is not None:
            return (xs, *module.curves(xs))
    return None
