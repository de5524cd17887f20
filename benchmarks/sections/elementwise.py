"""The ``elementwise`` section of ``benchmarks/run.py``.

Forward+backward of the activation alone, 2^10 to 2^24 elements, float32 and bfloat16; torch eager,
torch.compile and jax.jit.
"""

from __future__ import annotations

import torch

from sections.common import log, table
from sigact.tools import jax_backend, torch_backend
from sigact.tools.report import format_duration


def measure(quick: bool, timing: dict) -> dict:
    sizes = [2**10] if quick else [2**k for k in range(10, 25, 2)]
    runs = []
    for dtype_name in ("float32", "bfloat16"):
        for execution in torch_backend.EXECUTIONS:
            log(f"torch {execution} {dtype_name}")
            runs += torch_backend.speed(sizes, execution=execution, dtype=getattr(torch, dtype_name), **timing,
                                        on_size=lambda n: log(f"  2^{n.bit_length() - 1}"))
        log(f"jax jit {dtype_name}")
        runs += [{**r, "framework": "jax"} for r in jax_backend.speed(sizes, dtype=dtype_name, **timing)]
    for r in runs:
        r.setdefault("framework", "torch")
    return {"speed": runs}


def show(result: dict) -> None:
    print("## Elementwise forward+backward (median per call)\n")
    rows = []
    for r in result["speed"]:
        b = r["builtin_s"]
        rows.append([f"{r['framework']} {r['execution']}", r["dtype"], f"2^{r['n'].bit_length() - 1}",
                     format_duration(b), format_duration(r["sigact_s"]), f"{r['sigact_s'] / b:.2f}",
                     format_duration(r["naive_s"]), f"{r['naive_s'] / b:.2f}"])
    print(table(["framework", "dtype", "n", "built-in", "sigact", "sigact / built-in", "naive",
                 "naive / built-in"], rows))
    print()
