"""What :func:`~sigact.jax.plan` measured: a row per candidate, the Pareto front, the choice, the table,
the figure and the JSON. Nothing here measures; ``sigact/jax/_plan.py`` does."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sigact._saved import human_bytes

NOT_MEASURED = "not measured"


@dataclass(frozen=True)
class PlanRow:
    """One candidate, as :func:`~sigact.jax.plan` measured its compiled ``jax.jit(jax.grad(...))``.

    Attributes:
        name: the candidate: ``"builtin"``, ``"swap_sigmoid"``, ``"swap"``, ``"remat_scans(<policy>)"``
            or ``"swap + remat_scans(<policy>)"``.
        temp_bytes: XLA's temporary memory for one step (``memory_analysis().temp_size_in_bytes``);
            None where the backend did not measure it (missing, or zero).
        argument_bytes: the step's arguments, in bytes; None where not measured.
        output_bytes: the step's outputs (the gradients), in bytes; None where not measured.
        step_seconds: median seconds per step, over interleaved rounds.
        bitwise: the gradients equal the built-in's bit for bit, every leaf.
        on_front: on the Pareto front of temp memory against step time, among the bitwise candidates
            (no other bitwise candidate needs no more memory and no more time, and less of one).
        same_as: the earlier candidate whose optimized program this one's is, figures copied from it;
            None for a program of its own.
    """

    name: str
    temp_bytes: int | None
    argument_bytes: int | None
    output_bytes: int | None
    step_seconds: float
    bitwise: bool
    on_front: bool
    same_as: str | None = None


def pareto_front(rows: Sequence[PlanRow]) -> set[str]:
    """The names of the bitwise, distinct rows that no other such row beats on both temp memory and time.
    Where the backend measured no temp memory, the fastest."""
    pool = [r for r in rows if r.bitwise and r.same_as is None]
    if any(r.temp_bytes is None for r in pool):
        return {min(pool, key=lambda r: r.step_seconds).name} if pool else set()

    def beats(a: PlanRow, b: PlanRow) -> bool:
        assert a.temp_bytes is not None and b.temp_bytes is not None
        return (a.temp_bytes <= b.temp_bytes and a.step_seconds <= b.step_seconds
                and (a.temp_bytes < b.temp_bytes or a.step_seconds < b.step_seconds))

    return {b.name for b in pool if not any(beats(a, b) for a in pool)}


def _ratio(value: float | None, base: float | None) -> str:
    return f"{value / base:.2f}" if value is not None and base else "-"


def _seconds(value: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3)):
        if value >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value * 1e6:.3g} µs"


def _bytes(value: int | None) -> str:
    return human_bytes(value) if value is not None else NOT_MEASURED


class Plan:
    """Every candidate's memory, time and gradients, as measured by :func:`~sigact.jax.plan`.

    ``print(plan)`` shows the table; :meth:`best` returns the function to use; ``rows``,
    :meth:`to_json` and :meth:`plot` serve scripts.
    """

    def __init__(self, rows: Sequence[PlanRow], functions: dict[str, Callable[..., Any]],
                 info: dict[str, Any]) -> None:
        self.rows: tuple[PlanRow, ...] = tuple(rows)
        self._functions = functions
        self._info = info

    def _row(self, name: str) -> PlanRow:
        return next(r for r in self.rows if r.name == name)

    def _front(self) -> list[PlanRow]:
        return sorted((r for r in self.rows if r.on_front), key=lambda r: (r.temp_bytes or 0, r.step_seconds))

    def _choice(self, max_temp_bytes: int | None) -> PlanRow:
        if max_temp_bytes is not None:
            if isinstance(max_temp_bytes, bool) or not isinstance(max_temp_bytes, int):
                raise TypeError(f"max_temp_bytes is a number of bytes (an int), got {max_temp_bytes!r}")
            if max_temp_bytes <= 0:
                raise ValueError(f"max_temp_bytes must be positive, got {max_temp_bytes}")
        front = self._front()
        if not front:
            raise ValueError("no candidate's gradients are bitwise the built-in's, so none is offered; "
                             "plan.rows has the figures")
        if max_temp_bytes is None:
            return front[0]
        if front[0].temp_bytes is None:
            raise ValueError("this backend does not report temp memory (memory_analysis), so no budget can be "
                             "checked; call best() without max_temp_bytes for the fastest candidate")
        fitting = [r for r in front if r.temp_bytes is not None and r.temp_bytes <= max_temp_bytes]
        if not fitting:
            raise ValueError(f"no candidate fits {human_bytes(max_temp_bytes)} ({max_temp_bytes} bytes) of temp "
                             f"memory: the least any needs is {human_bytes(front[0].temp_bytes)} "
                             f"({front[0].temp_bytes} bytes, {front[0].name})")
        return min(fitting, key=lambda r: r.step_seconds)

    def best(self, max_temp_bytes: int | None = None) -> Callable[..., Any]:
        """The candidate to use, as a function with ``fun``'s signature, ready for ``jax.jit``/``jax.grad``.

        Only candidates on the front are chosen, and so only ones whose gradients are bitwise the
        built-in's.

        Args:
            max_temp_bytes: a budget of XLA temp memory per step. With it, the fastest candidate whose
                temp memory fits; without it, the one that needs the least.

        Returns:
            The candidate's function, ``fun`` itself for the built-in, else ``fun`` through
            :func:`~sigact.jax.swap`, :func:`~sigact.jax.swap_sigmoid` and/or
            :func:`~sigact.jax.remat_scans`.

        Raises:
            ValueError: if ``max_temp_bytes`` is not positive, or nothing fits it (the message names the
                least temp memory any candidate needs), or no candidate is bitwise.
            TypeError: if ``max_temp_bytes`` is not an int.
        """
        return self._functions[self._choice(max_temp_bytes).name]

    def best_name(self, max_temp_bytes: int | None = None) -> str:
        """The name of the candidate :meth:`best` returns."""
        return self._choice(max_temp_bytes).name

    def advice(self) -> str:
        """One line: which candidate to use, and why."""
        front = self._front()
        if not front:
            return "No candidate's gradients are bitwise the built-in's: keep the built-in."
        base = self._row("builtin")
        least, fastest = front[0], min(front, key=lambda r: r.step_seconds)
        if least.temp_bytes is None:
            return f"Use {least.name}: the fastest with bitwise gradients (temp memory was not measured)."
        what = (f"Use {least.name}: the least temp memory with bitwise gradients, "
                f"{_ratio(least.temp_bytes, base.temp_bytes)}x the built-in's at "
                f"{_ratio(least.step_seconds, base.step_seconds)}x its step time")
        if fastest is least:
            return what + ", and the fastest too."
        return (what + f"; {fastest.name} is the fastest ({_ratio(fastest.step_seconds, base.step_seconds)}x, "
                f"{_ratio(fastest.temp_bytes, base.temp_bytes)}x the memory). "
                "plan.best(max_temp_bytes=...) picks the fastest within a budget.")

    def __str__(self) -> str:
        base = self._row("builtin")
        shown = sorted((r for r in self.rows if r.same_as is None),
                       key=lambda r: (r.temp_bytes is None, r.temp_bytes or 0, r.step_seconds))
        header = ("candidate", "temp", "x", "args+outputs", "step", "x", "gradients", "front")
        table = [header]
        for r in shown:
            io = (r.argument_bytes + r.output_bytes if r.argument_bytes is not None and r.output_bytes is not None
                  else None)
            table.append((r.name, _bytes(r.temp_bytes), _ratio(r.temp_bytes, base.temp_bytes), _bytes(io),
                          _seconds(r.step_seconds), _ratio(r.step_seconds, base.step_seconds),
                          "bitwise" if r.bitwise else "DIFFER", "*" if r.on_front else ""))
        widths = [max(len(row[i]) for row in table) for i in range(len(header))]
        lines = ["  ".join(c.ljust(w) if i in (0, 6, 7) else c.rjust(w) for i, (c, w) in
                           enumerate(zip(row, widths, strict=True))).rstrip() for row in table]
        lines.insert(1, "-" * len(lines[0]))
        twins = [f"{r.name}: " + ", ".join(t.name for t in self.rows if t.same_as == r.name) for r in shown
                 if any(t.same_as == r.name for t in self.rows)]
        if twins:
            lines += ["", "The same compiled program, listed once:"] + [f"  {t}" for t in twins]
        footer = [f"x: ratio to the built-in. *: on the Pareto front of temp memory against step time (bitwise "
                  f"candidates). Step: median of {self._info.get('rounds')} interleaved rounds on "
                  f"{self._info.get('device')}.", self.advice()]
        return "\n".join(lines + [""] + footer)

    def __repr__(self) -> str:
        return str(self)

    def to_json(self) -> dict[str, Any]:
        """The plan as a JSON-ready dict: the rows, the advice, and the machine and versions measured on."""
        front = self._front()
        return {**self._info, "rows": [dataclasses.asdict(r) for r in self.rows], "advice": self.advice(),
                "best": front[0].name if front else None}

    def plot(self, path: str | Path) -> Path:
        """Draw temp memory against step time, the front joined, to ``path`` (PNG, SVG, PDF: by its suffix).

        Raises:
            RuntimeError: if matplotlib is not installed (with the command that installs it).
            ValueError: if the backend measured no temp memory.
        """
        from sigact.tools.plots import pyplot

        plt = pyplot()  # type: ignore[no-untyped-call]  # sigact.tools.plots is not annotated
        rows = [r for r in self.rows if r.same_as is None]
        if any(r.temp_bytes is None for r in rows):
            raise ValueError("this backend does not report temp memory (memory_analysis): nothing to plot")
        mib = 2.0**20
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for r in rows:
            assert r.temp_bytes is not None
            ax.scatter(r.step_seconds * 1e3, r.temp_bytes / mib, marker="o" if r.bitwise else "x",
                       color="#dd8452" if r.on_front else "#4c72b0")
            ax.annotate(r.name, (r.step_seconds * 1e3, r.temp_bytes / mib), fontsize=7,
                        xytext=(4, 3), textcoords="offset points")
        front = sorted(self._front(), key=lambda r: r.step_seconds)
        ax.plot([r.step_seconds * 1e3 for r in front], [(r.temp_bytes or 0) / mib for r in front],
                color="#dd8452", lw=1, label="Pareto front (bitwise candidates)")
        ax.set_xlabel("step time, ms (median)")
        ax.set_ylabel("XLA temp memory, MiB")
        ax.set_title(self._info.get("function", "plan"), fontsize=9)
        ax.legend(fontsize=8)
        fig.tight_layout()
        path = Path(path)
        fig.savefig(path)
        plt.close(fig)
        return path
