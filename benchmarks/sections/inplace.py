"""The ``inplace`` section of ``benchmarks/run.py``.

``Sigmoid(inplace=True)`` against ``nn.Sigmoid`` and ``Tensor.sigmoid_``: time and peak CPU memory (torch
profiler) of an MLP block, Linear(w, 4w) -> activation -> Linear(4w, w).
"""

from __future__ import annotations

import torch
from torch import nn

import sigact.torch as st
from sections.common import log, table
from sigact._timing import interleaved_medians
from sigact.tools.report import format_duration
from sigact.tools.torch_backend import benchmark_timer


def peak_cpu_bytes(fn) -> int:
    """Peak bytes allocated on the CPU during ``fn()``, above what was allocated before it."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    # Self allocations only: an op's cpu_memory_usage also counts what the ops inside it allocate.
    events = sorted((e for e in prof.events() if e.self_cpu_memory_usage), key=lambda e: e.time_range.start)
    current = peak = 0
    for event in events:
        current += event.self_cpu_memory_usage
        peak = max(peak, current)
    return peak


def measure(quick: bool, timing: dict) -> dict:
    width, batch = (256, 64) if quick else (1024, 1024)
    torch.manual_seed(0)
    # The activation is the widest tensor of an MLP block: where in place can lower the peak.
    first, second = nn.Linear(width, 4 * width), nn.Linear(4 * width, width)
    x = torch.randn(batch, width)
    activations = {
        "nn.Sigmoid": nn.Sigmoid(),
        "Tensor.sigmoid_": lambda h: h.sigmoid_(),
        "sigact Sigmoid()": st.Sigmoid(),
        "sigact Sigmoid(inplace=True)": st.Sigmoid(inplace=True),
    }
    forwards = {name: (lambda act=act: second(act(first(x)))) for name, act in activations.items()}
    steps = {name: (lambda forward=forward: forward().sum().backward()) for name, forward in forwards.items()}
    log("in-place timing")
    medians = interleaved_medians(steps, benchmark_timer, **timing)
    log("in-place peak memory")
    rows = []
    for name in activations:
        steps[name]()  # warm-up: one-off allocations must not count
        rows.append({"activation": name, "seconds": medians[name],
                     "forward_peak_bytes": peak_cpu_bytes(forwards[name]),
                     "step_peak_bytes": peak_cpu_bytes(steps[name])})
    return {"batch": batch, "width": width, "rows": rows}


def show(result: dict) -> None:
    w = result["width"]
    print(f"## In place: Linear({w}, {4 * w}) -> activation -> Linear({4 * w}, {w}), batch {result['batch']}, "
          "forward and backward\n")
    base = result["rows"][0]
    mib = lambda r, key: f"{r[key] / 2**20:.2f} MiB ({(r[key] - base[key]) / 2**20:+.2f})"  # noqa: E731
    rows = [[r["activation"], format_duration(r["seconds"]), f"{r['seconds'] / base['seconds']:.3f}",
             mib(r, "forward_peak_bytes"), mib(r, "step_peak_bytes")] for r in result["rows"]]
    print(table(["activation", "median step", "/ nn.Sigmoid", "forward peak (vs nn.Sigmoid)",
                 "step peak (vs nn.Sigmoid)"], rows))
    print()
