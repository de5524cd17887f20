"""What every renderer shares: Markdown tables, the one run of several that holds a section, and the
lines that say where a figure comes from (command, date, machine, load, versions)."""

from __future__ import annotations

from typing import Any

from sigact.tools.report import format_machine

NOT_RECORDED = "not recorded"
Run = dict[str, Any]


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def log2(n: int) -> str:
    return f"2^{n.bit_length() - 1}"


def ratio(r: Run) -> float:
    return float(r["sigact_s"] / r["builtin_s"])


def section(runs: list[Run], key: str) -> Run:
    """The one run among ``runs`` that holds ``key`` (a region may read several results files)."""
    found = [run for run in runs if key in run]
    if len(found) != 1:
        raise ValueError(f"expected exactly one results file with {key!r}, found {len(found)}")
    return found[0]


def date(run: Run) -> str:
    """The run's date: benchmarks/run.py writes ``date``, sigact.jax.plan's JSON ``timestamp``."""
    return str(run.get("date") or run.get("timestamp") or NOT_RECORDED)


def machine_line(run: Run) -> str:
    m = run["machine"]
    load = m.get("load_average_1min", NOT_RECORDED)
    if isinstance(load, (int, float)):
        end = m.get("load_average_1min_end")
        load = f"{load:.2f} at the start" + (f", {end:.2f} at the end" if end is not None else "")
    return f"{format_machine(m)}; 1-minute load average {load}"


def versions_line(run: Run) -> str:
    v = run.get("versions", {})
    if "sigact" not in v and "sigact" in run:  # sigact report keeps them beside each framework's result
        v = {"sigact": run["sigact"], **{fw: run[fw].get("version") for fw in ("torch", "jax") if fw in run}}
    threads = f" ({v['torch_threads']} threads)" if "torch_threads" in v else ""
    # A run of one framework names that one; a file that names none says so of each.
    names = [name for name in ("torch", "jax", "sigact") if v.get(name)] or ["torch", "jax", "sigact"]
    return ", ".join(f"{name} {v.get(name) or NOT_RECORDED}{threads if name == 'torch' else ''}" for name in names)


def provenance(runs: list[Run]) -> str:
    """The commands, dates, machines and versions behind the other regions, once each where they agree."""
    lines = [f"- `{run.get('command', NOT_RECORDED)}`, {date(run)}" for run in runs]
    for label, line in (("machine", machine_line), ("versions", versions_line)):
        seen = list(dict.fromkeys(line(run) for run in runs))
        lines += [f"- {label}: {text}" for text in seen]
    return "\n".join(lines)


RENDERERS = {"provenance": provenance}
