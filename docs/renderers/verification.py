"""docs/verification.md: the full float32 run of ``sigact verify``, its known differences, and the
mutation testing of mutation/run.py."""

from __future__ import annotations

from renderers.common import NOT_RECORDED, Run, machine_line, table

MODE_LABELS = {"jvp": "`jvp` (tangent as backward)"}


def verify_float32(runs: list[Run]) -> str:
    run = runs[0]
    rows = [r for r in run["results"] if r["available"]]
    bad = sum(r["forward_mismatches"] + r["backward_mismatches"] for r in rows)
    verdict = "no mismatch" if bad == 0 else f"**{bad:,} mismatches**"
    versions = ", ".join(f"{k} {v}" for k, v in run.get("versions", {}).items())
    lines = [[{"torch": "PyTorch", "jax": "JAX"}[r["framework"]], MODE_LABELS.get(r["mode"], f"`{r['mode']}`"),
              f"{r['inputs']:,}", str(r["forward_mismatches"]), str(r["backward_mismatches"]), f"{r['seconds']:.0f}"]
             for r in rows if r["dtype"] == "float32"]
    wall = run.get("wall_seconds")
    took = f"{wall:,} s ({wall / 60:.0f} minutes)" if wall else NOT_RECORDED
    return (f"`{run.get('command', NOT_RECORDED)}`, {run.get('date', NOT_RECORDED)}, at commit "
            f"{run.get('commit', NOT_RECORDED)}, on {machine_line(run)}; {versions}. Wall time {took}.\n\n"
            f"**{sum(r['inputs'] for r in rows):,} checks, {verdict}.**\n\n"
            + table(["framework", "mode", "float32 inputs", "forward mismatches", "backward mismatches", "seconds"],
                    lines))


def verify_known(runs: list[Run]) -> str:
    rows = [r for r in runs[0]["results"] if r["available"] and r["known_differences"]]
    if not rows:
        return "No known difference in any row."
    return "\n".join(f"- {r['framework']} {r['dtype']} `{r['mode']}`: {r['known_differences']} element"
                     f"{'s' if r['known_differences'] != 1 else ''} of the scalar tail" for r in rows)


# mutation/run.py's statuses, as the table's columns; "not checked" is a mutant of a run stopped early.
MUTATION_COLUMNS = {"killed": "killed", "survived": "survived", "no tests": "no tests", "timeout": "timeouts",
                    "not checked": "not run"}


def mutant(name: str) -> tuple[str, int]:
    """mutmut 3's ``sigact.mod.x_func__mutmut_7`` (or ``xǁClassǁmethod``) as (``func``, 7)."""
    where, number = name.rsplit("__mutmut_", 1)
    function = where.rsplit(".", 1)[-1].removeprefix("x_").removeprefix("xǁ").replace("ǁ", ".")
    return function, int(number)


def mutation(runs: list[Run]) -> str:
    """Per file, what became of its mutants; the files not run, and why; every survivor, grouped by
    function and by what answers it (a reason, a test that kills it now, or nothing yet)."""
    run = runs[0]
    rows = []
    for path, m in run["modules"].items():
        counts = m["counts"]
        other = sum(n for status, n in counts.items() if status not in MUTATION_COLUMNS)
        rows.append([f"`{path}`", *(str(counts.get(status, 0)) for status in MUTATION_COLUMNS), str(other),
                     "yes" if m.get("complete") else "**no**", m.get("date", NOT_RECORDED),
                     m.get("machine", NOT_RECORDED), f"{m['seconds']} s"])
    # A whole `make mutate` is every file's first run, one after another: the sum is what one costs.
    modules = run["modules"].values()
    total = {status: sum(m["counts"].get(status, 0) for m in modules) for status in MUTATION_COLUMNS}
    seconds = sum(m["seconds"] for m in modules)
    whole = all(m.get("complete") for m in modules) and not run.get("not_run")
    machines = {m.get("machine", NOT_RECORDED) for m in modules}
    machine = machines.pop() if len(machines) == 1 else "several: the rows' runs, summed"
    rows.append(["**all files**", *(str(n) for n in total.values()),
                 str(sum(n for m in modules for status, n in m["counts"].items() if status not in MUTATION_COLUMNS)),
                 "yes" if whole else "**no**", "", machine, f"{seconds} s ({seconds / 60:.0f} minutes)"])
    text = table(["file", *MUTATION_COLUMNS.values(), "other", "complete", "date", "machine", "time"], rows)
    if not_run := run.get("not_run"):
        files = " ".join(not_run)
        text += (f"\n\nNot run yet: {', '.join(f'`{path}`' for path in not_run)} "
                 f"(`make mutate FILES=\"{files}\"`).")
    notes = [f"- `{path}`: {m['note']}" for path, m in run["modules"].items() if m.get("note")]
    if notes:
        text += "\n\n" + "\n".join(notes)
    groups: dict[tuple[str, str, str, str], list[int]] = {}
    for m in run["modules"].values():
        for name, s in m["survivors"].items():
            function, number = mutant(name)
            answer = s.get("reason") or (f"`{s['test']}` should kill it; no rerun (`--again`) has confirmed it yet"
                                         if "test" in s else "no test or reason yet")
            groups.setdefault((function, s["status"], answer, name.rsplit(".", 1)[0]), []).append(number)
    lines = [f"- `{module}.{function}`, {status}: mutant{'s' if len(ns) > 1 else ''} "
             f"{', '.join(map(str, sorted(ns)))}: {answer}"
             for (function, status, answer, module), ns in sorted(groups.items())]
    survivors = "\n".join(lines) if lines else "None."
    return f"{text}\n\nThe survivors (each mutant's diff is in the JSON):\n\n{survivors}"


RENDERERS = {
    "verify.float32": verify_float32,
    "verify.known": verify_known,
    "mutation": mutation,
}
