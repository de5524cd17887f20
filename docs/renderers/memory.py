"""docs/memory.md and docs/training.md: the swap-or-remat trade-off of five models, the swap's reach
over third-party layers, and sigact.jax.plan on three models with the largest batch that fits."""

from __future__ import annotations

from renderers.common import Run, table


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


RENDERERS = {
    "tradeoff.table": tradeoff_table,
    "tradeoff.targets": tradeoff_targets,
    "reach": reach,
}
