"""Step 3 of ``make gpu-check`` (benchmarks/gpu_check.py): the Triton backward's throughput.

``sigact.torch._triton.sigmoid_grad`` against a device-to-device copy and against torch's built-in backward
(``aten::sigmoid_backward``), at 2^20 to 2^28 elements in float32, bfloat16 and float16: CUDA events,
medians of interleaved rounds, GB/s counting bytes read and written, and the two outputs compared bit for bit.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

SIZES = (20, 22, 24, 26, 28)  # log2 of the element counts
DTYPES = ("float32", "bfloat16", "float16")
ROUNDS = 15
CONTENDERS = ("copy", "built-in", "triton")
# Tensors each contender reads or writes in full: a copy reads y and writes out; a backward reads
# grad and y and writes the result.
TENSORS_MOVED = {"copy": 2, "built-in": 3, "triton": 3}
DEVICE = "cuda"  # tests run the throughput code on "cpu" under Triton's interpreter
MAX_REPEATS = 1000  # calls per timing at most (the interpreter needs far fewer)


def throughput_row(dtype: str, log2_n: int, element_bytes: int, times_ms: dict[str, list[float]],
                   bitwise: bool) -> dict[str, Any]:
    """One table row from per-round times (ms per call) of each contender, rounds interleaved."""
    n = 1 << log2_n
    median = {name: statistics.median(t) for name, t in times_ms.items()}
    gbps = {name: TENSORS_MOVED[name] * n * element_bytes / (median[name] * 1e-3) / 1e9 for name in median}
    per_round = sorted(t / b for t, b in zip(times_ms["triton"], times_ms["built-in"], strict=True))
    return {
        "dtype": dtype, "log2_n": log2_n,
        "ms": {name: round(m, 5) for name, m in median.items()},
        "gb_per_s": {name: round(g, 1) for name, g in gbps.items()},
        # The kernel's bandwidth as a fraction of a copy's: 1.0 is as fast as memory allows.
        "triton_of_copy_bandwidth": round(gbps["triton"] / gbps["copy"], 3),
        # Time, Triton over the built-in: below 1 is faster. With the spread of the per-round ratios.
        "triton_over_builtin": round(statistics.median(per_round), 3),
        "triton_over_builtin_range": [round(per_round[0], 3), round(per_round[-1], 3)],
        "bitwise": bitwise,
    }


def throughput(sizes=SIZES, dtypes=DTYPES, rounds=ROUNDS) -> dict[str, Any]:
    import torch

    start = time.perf_counter()
    rows = []
    for dtype in dtypes:
        for log2_n in sizes:
            rows.append(measure_size(dtype, log2_n, rounds))
            if DEVICE == "cuda":
                torch.cuda.empty_cache()  # the next size starts from free memory
    ok = all(row["bitwise"] for row in rows)
    return {"status": "passed" if ok else "failed", "seconds": round(time.perf_counter() - start, 1),
            "rounds": rounds, "timing": "CUDA events around repeated calls, median of interleaved rounds",
            "rows": rows, **({} if ok else {"output": "Triton and built-in outputs differ (bitwise false)"})}


def measure_size(dtype_name: str, log2_n: int, rounds: int) -> dict[str, Any]:
    import torch

    from sigact.torch import _triton

    dtype = getattr(torch, dtype_name)
    y = torch.rand(1 << log2_n, device=DEVICE, dtype=dtype)
    grad = torch.randn_like(y)
    out = torch.empty_like(y)
    calls = {"copy": lambda: out.copy_(y), "built-in": lambda: torch.ops.aten.sigmoid_backward(grad, y),
             "triton": lambda: _triton.sigmoid_grad(grad, y)}
    bits = torch.int16 if dtype.itemsize == 2 else torch.int32
    # The first call also compiles the kernel for this dtype.
    bitwise = torch.equal(calls["triton"]().view(bits), calls["built-in"]().view(bits))
    # Calls per timing: about 2 ms of the built-in's, so launch gaps and event resolution fade.
    repeats = max(1, min(MAX_REPEATS, round(2.0 / max(time_per_call(calls["built-in"], 3), 1e-4))))
    times: dict[str, list[float]] = {name: [] for name in CONTENDERS}
    for r in range(rounds):
        for name in CONTENDERS[r % 3:] + CONTENDERS[:r % 3]:  # each takes each place in turn
            times[name].append(time_per_call(calls[name], repeats))
    return throughput_row(dtype_name, log2_n, dtype.itemsize, times, bitwise)


def time_per_call(call, repeats: int) -> float:
    """Milliseconds per call, by CUDA events around ``repeats`` back-to-back calls."""
    import torch

    begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    begin.record()
    for _ in range(repeats):
        call()
    end.record()
    end.synchronize()
    return begin.elapsedtime_per_call(end) / repeats
