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


RENDERERS = {
    "verify.float32": verify_float32,
    "verify.known": verify_known,
}
