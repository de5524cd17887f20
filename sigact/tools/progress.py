"""Progress for long runs: one rewritten line on a terminal, plain lines otherwise."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """``progress.step("torch speed 2^20")`` announces the next step of ``total``.

    On a terminal the line is rewritten in place and shows elapsed time; anywhere else (a log, a
    pipe, CI) each step is one plain line, with no control characters.
    """

    def __init__(self, total: int, stream: TextIO | None = None, enabled: bool = True) -> None:
        self.total = total
        self.done = 0
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.interactive = self.stream.isatty()
        self.start = time.perf_counter()

    def step(self, what: str) -> None:
        self.done += 1
        if not self.enabled:
            return
        elapsed = time.perf_counter() - self.start
        line = f"[{self.done}/{self.total}] {what} ({elapsed:.0f} s)"
        if self.interactive:
            self.stream.write("\r\033[K" + line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def clear(self) -> None:
        """Remove the progress line before a result is printed (a terminal only)."""
        if self.enabled and self.interactive:
            self.stream.write("\r\033[K")
            self.stream.flush()

    _fraction_start: float
    _fraction_what: str
    _fraction_tenth: int

    def fraction(self, what: str, done: int, total: int) -> None:
        """Progress within a long step, with a time estimate. Off a terminal, one line per tenth."""
        if not self.enabled or total <= 0:
            return
        now = time.perf_counter()
        if done <= 0 or not hasattr(self, "_fraction_start") or self._fraction_what != what:
            self._fraction_start, self._fraction_what, self._fraction_tenth = now, what, -1
        elapsed = now - self._fraction_start
        left = elapsed / done * (total - done) if done else float("nan")
        line = f"{what}: {done / total:.0%} of {total:,} ({elapsed:.0f} s, about {left:.0f} s left)"
        if self.interactive:
            self.stream.write("\r\033[K" + line)
        elif (tenth := 10 * done // total) > self._fraction_tenth:
            self._fraction_tenth = tenth
            self.stream.write(line + "\n")
        self.stream.flush()
