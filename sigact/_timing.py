"""Side-by-side timing: contenders take turns, round after round, and each gets a median."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

Timer = Callable[[Callable[[], object], float], list[float]]


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
