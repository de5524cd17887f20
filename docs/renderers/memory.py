"""docs/memory.md and docs/training.md: the swap-or-remat trade-off of five models, the swap's reach
over third-party layers, and sigact.jax.plan on three models with the largest batch that fits."""

from __future__ import annotations

from renderers.common import Run, table
from sigact._saved import human_bytes


def tradeoff_table(runs: list[Run]) -> str:
    first = runs[0]["tradeoff"]["rows"]
    rows = []
    for i, r in enumerate(first):
        configuration = f"{'swap' if r['swap'] == 'swap' else 'built-in'}, {r['remat'] or 'no remat'}"
        times = ", ".join(f"{run['tradeoff']['rows'][i]['time_ratio']:.2f}" for run in runs)
        rows.append([r["model"].split(",")[0], configuration, f"{r['temp_bytes'] / 2**20:.1f} MiB",
                     f"{r['temp_ratio']:.2f}", times])
    return table(["model", "configuration", "temp memory", "temp / built-in", "step time / built-in, each run"], rows)


def tradeoff_targets(runs: list[Run]) -> str:
    return "\n".join(f"- {t['target'].replace(' x ', ' × ').replace('<=', '≤')}: {t['measured']:.3f}, "
                     + ("met" if t["met"] else "**missed**") for t in runs[0]["tradeoff"]["targets"])


def reach(runs: list[Run], only: tuple[str, ...] = ()) -> str:
    rows = []
    for r in runs[0]["reach"]["rows"]:
        name, b = r["name"].split(", x")[0], r["builtin_temp_bytes"]
        if not only or name in only:
            rows.append([name, f"{b / 2**20:.1f} MiB", f"{r['swap_sigmoid_temp_bytes'] / b:.2f}",
                         f"{r['swap_temp_bytes'] / b:.2f}", "yes" if r["gradients_bitwise_equal"] else "**no**"])
    return table(["layer", "built-in temp", "swap_sigmoid", "swap", "gradients bitwise"], rows)


def plan_table(plan: Run) -> str:
    """One model's plan: the distinct programs by temp memory, each with the candidates that compiled to
    the same program, ratios to the built-in, and the front."""
    rows = plan["rows"]
    base = next(r for r in rows if r["name"] == "builtin")
    lines = []
    for r in sorted((r for r in rows if r["same_as"] is None), key=lambda r: (r["temp_bytes"], r["step_seconds"])):
        names = " = ".join(f"`{n}`" for n in [r["name"]] + [t["name"] for t in rows if t["same_as"] == r["name"]])
        lines.append([names, human_bytes(r["temp_bytes"]), f"{r['temp_bytes'] / base['temp_bytes']:.2f}",
                      f"{r['step_seconds'] / base['step_seconds']:.2f}", "bitwise" if r["bitwise"] else "**DIFFER**",
                      "yes" if r["on_front"] else ""])
    return table(["candidate", "temp memory", "temp / built-in", "step time / built-in", "gradients",
                  "on the front"], lines)


def plans(runs: list[Run]) -> str:
    """Each model's plan in the run: its name, how long the plan took, its table and its advice."""
    def heading(p: Run) -> str:
        rounds = f"{p['rounds']} timing round{'s' if p['rounds'] != 1 else ''}"
        return f"**{p['model']}**, {rounds}, plan {p['wall_s']:.0f} s:"

    return "\n\n".join(f"{heading(p)}\n\n{plan_table(p)}\n\n> {p['advice']}" for p in runs[0]["plans"])


def largest(runs: list[Run]) -> str:
    """The largest batch of each candidate, on temp memory alone and on the whole budget."""
    temp, whole = (next(s for s in runs[0]["largest"] if s["temp_only"] is t) for t in (True, False))
    compilations = [n for s in (temp, whole) for n in s["compilations"].values()]

    def cells(n: int | None, base: int | None) -> list[str]:
        return ["nothing fits", "-"] if n is None else [str(n), f"{n / base:.2f}" if base else "-"]

    rows = [[f"`{name}`", *cells(temp["largest"][name], temp["largest"]["builtin"]),
             *cells(whole["largest"].get(name), whole["largest"]["builtin"])] for name in temp["largest"]]
    low, high = min(compilations), max(compilations)
    return (f"{low if low == high else f'{low} to {high}'} compilations per candidate and search:\n\n"
            + table(["candidate", f"largest batch, {temp['budget_bytes'] / 2**20:.0f} MiB of temp memory",
                     "/ built-in's", f"largest batch, {whole['budget_bytes'] / 2**20:.0f} MiB of temp + arguments "
                     "+ outputs", "/ built-in's"], rows))


RENDERERS = {
    "tradeoff.table": tradeoff_table,
    "tradeoff.targets": tradeoff_targets,
    "reach": reach,
    "plan.models": plans,
    "plan.largest": largest,
}
