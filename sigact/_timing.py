"""Side-by-side timing: contenders take turns, round after round, and each gets a median."""

from __future__ import annotations

import ctypes
import statistics
import time
from collections.abc import Callable

Timer = Callable[[Callable[[], object], float], list[float]]


def keep_freed_memory() -> bool:
    """Ask glibc to keep freed memory for reuse instead of handing it back to the OS.

    By default glibc serves large buffers with mmap and unmaps them when freed, so every call
    of a memory-bound kernel page-faults fresh memory: on a 2-core VM that made medians swing by
    a factor of three from run to run, the built-in's as much as sigact's. With this, the timings
    measure the kernels. (PyTorch's CUDA caching allocator keeps freed memory the same way.)
    Returns False where it cannot be done (not glibc).
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    m_trim_threshold, m_mmap_max = -1, -4
    return bool(libc.mallopt(m_mmap_max, 0)) and bool(libc.mallopt(m_trim_threshold, 2**31 - 1))


def perf_counter_timer(fn: Callable[[], object], seconds: float) -> list[float]:
    """Per-call times of ``fn`` for about ``seconds``, by ``time.perf_counter``.

    ``fn`` must block until its work is done (for JAX: ``block_until_ready``).
    """
    times = []
    deadline = time.perf_counter() + seconds
    while True:
        start = time.perf_counter()
        fn()
        end = time.perf_counter()
        times.append(end - start)
        if end >= deadline and len(times) >= 3:
            return times


def interleaved_medians(
    contenders: dict[str, Callable[[], object]], timer: Timer, *, rounds: int, seconds: float
) -> dict[str, float]:
    """Median seconds per call of each contender, measured in alternating rounds.

    Alternating means a slow drift of the machine (another process, thermal state) touches all
    contenders alike, so the ratios of these medians are fair. Each contender runs once first, to
    warm caches and finish any compilation outside the measurement.
    """
    for fn in contenders.values():
        fn()
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, fn in contenders.items():
            samples[name] += timer(fn, seconds)
    return {name: statistics.median(times) for name, times in samples.items()}


def speed_rows(
    sizes: list[int],
    contenders_at: Callable[[int], dict[str, Callable[[], object]]],
    timer: Timer,
    *,
    rounds: int,
    seconds: float,
    on_size: Callable[[int], None] = lambda n: None,
    **labels: str,
) -> list[dict]:
    """One row per size: ``{"n": n, **labels, "<name>_s": median seconds per call}`` for each
    contender that ``contenders_at(n)`` builds, timed by :func:`interleaved_medians`."""
    rows = []
    for n in sizes:
        on_size(n)
        medians = interleaved_medians(contenders_at(n), timer, rounds=rounds, seconds=seconds)
        rows.append({"n": n, **labels, **{f"{name}_s": t for name, t in medians.items()}})
    return rows
