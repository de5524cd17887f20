"""docs/benchmarks.md: the elementwise, training and in-place tables, the swap's runs, the targets
judged from the figures, and the text of ``sigact report``."""

from __future__ import annotations

import statistics

from renderers.common import NOT_RECORDED, Run, log2, ratio, section, table
from sigact._saved import human_bytes
from sigact.tools.report import format_duration, format_report


def elementwise(dtype: str, runs: list[Run]) -> str:
    rows = []
    for r in section(runs, "elementwise")["elementwise"]["speed"]:
        if r["dtype"] == dtype:
            b = r["builtin_s"]
            rows.append([f"{r['framework']} {r['execution']}", dtype, log2(r["n"]), format_duration(b),
                         format_duration(r["sigact_s"]), f"{r['sigact_s'] / b:.2f}", format_duration(r["naive_s"]),
                         f"{r['naive_s'] / b:.2f}"])
    return table(["framework", "dtype", "n", "built-in", "sigact", "sigact / built-in", "naive",
                  "naive / built-in"], rows)


def training(runs: list[Run]) -> str:
    rows = [[r["framework"], r["model"], r["mode"], format_duration(r["builtin_s"]), format_duration(r["sigact_s"]),
             f"{r['sigact_s'] / r['builtin_s']:.3f}"] for r in section(runs, "training")["training"]["steps"]]
    return table(["framework", "model", "mode", "built-in", "sigact", "sigact / built-in"], rows)


def inplace(runs: list[Run]) -> str:
    result = section(runs, "inplace")["inplace"]
    base = result["rows"][0]

    def mib(r: Run, key: str) -> str:
        return f"{r[key] / 2**20:.2f} MiB ({(r[key] - base[key]) / 2**20:+.2f})"

    w = result["width"]
    rows = [[r["activation"], format_duration(r["seconds"]), f"{r['seconds'] / base['seconds']:.3f}",
             mib(r, "forward_peak_bytes"), mib(r, "step_peak_bytes")] for r in result["rows"]]
    return (f"Linear({w}, {4 * w}) -> activation -> Linear({4 * w}, {w}), batch {result['batch']}, forward and "
            f"backward:\n\n" + table(["activation", "median step", f"/ {base['activation']}",
                                      "forward peak (change)", "step peak (change)"], rows))


def targets(runs: list[Run]) -> str:
    """Issue 7's targets, each against its measured figure: met or missed is the JSON's, not the page's."""
    speed = section(runs, "elementwise")["elementwise"]["speed"]
    steps = {(s["model"].split(",")[0], s["mode"]): s for s in section(runs, "training")["training"]["steps"]}
    report = section(runs, "torch")["torch"]["speed"]
    eager = next(r for r in speed if (r["framework"], r["execution"], r["dtype"], r["n"]) ==
                 ("torch", "eager", "float32", 2**22))
    small = next(r for r in speed if (r["framework"], r["execution"], r["dtype"], r["n"]) ==
                 ("torch", "eager", "float32", 2**10))
    reported = next(r for r in report if (r["execution"], r["n"]) == ("eager", 2**22))
    mlp = [ratio(steps[("MLP 8 x 1024", mode)]) for mode in ("eager", "compile")]
    cnn = ratio(steps[("SE-CNN", "compile")])
    jax_step = ratio(steps[("MLP 8 x 1024", "jit")])
    jax_elementwise = [ratio(r) for r in speed if r["framework"] == "jax" and r["dtype"] == "float32"]
    rows = section(runs, "inplace")["inplace"]["rows"]
    builtin, ours = rows[0], next(r for r in rows if r["activation"] == "sigact Sigmoid(inplace=True)")
    saved = ours["forward_peak_bytes"] - builtin["forward_peak_bytes"]
    met = lambda ok: "met" if ok else "**missed**"  # noqa: E731
    return table(["target", "measured", ""], [
        ["torch eager forward+backward at 2^22 float32 ≤ 1.6 × built-in, bitwise equal",
         f"**{ratio(eager):.2f}** (benchmark), {ratio(reported):.2f} (report)", met(ratio(eager) <= 1.6)],
        ["end-to-end MLP training step ≤ 1.05", f"**{mlp[0]:.3f}** eager, {mlp[1]:.3f} compiled", met(mlp[0] <= 1.05)],
        ["a `torch.compile`d model against the compiled built-in ≤ 1.05",
         f"**{mlp[1]:.3f}** (MLP), **{cnn:.3f}** (SE-CNN)", met(max(mlp[1], cnn) <= 1.05)],
        ["JAX under `jit` ≤ 1.05", f"**{jax_step:.3f}** (MLP step); elementwise {min(jax_elementwise):.2f} to "
         f"{max(jax_elementwise):.2f} in float32", met(max(jax_step, *jax_elementwise) <= 1.05)],
        ["per-call overhead at 2^10", f"**{format_duration(small['sigact_s'] - small['builtin_s'])}** per "
         f"forward+backward ({format_duration(small['sigact_s'])} against {format_duration(small['builtin_s'])})",
         "reported"],
        ["`Sigmoid(inplace=True)` allocates no output", f"forward peak **{saved / 2**20:+.0f} MiB** against "
         f"`nn.Sigmoid`; time {ours['seconds'] / builtin['seconds']:.3f}", "shown"],
        ["CUDA kernel ≥ 85 % of copy bandwidth, no slower than the built-in",
         "[GPU section](#gpu-make-gpu-check): measured only where a GPU has run `make gpu-check`", "open"],
    ])


def swap_memory(runs: list[Run]) -> str:
    rows = []
    for r in runs[0]["swap"]["memory"]:
        b = r["builtin_temp_bytes"]
        swapped = [r[f"{k}_temp_bytes"] for k in ("swap_sigmoid", "swap")]
        rows.append([r["name"], human_bytes(b), *(f"{human_bytes(t)} ({t / b - 1:+.1%})" for t in swapped)])
    same = all(run["swap"]["memory"] == runs[0]["swap"]["memory"] for run in runs)
    note = ("the same in every run: a property of the compiled program, not a timing" if same
            else "run 1's; **the runs differ**, see each JSON")
    return f"Temp bytes {note}.\n\n" + table(["model", "built-in", "swap_sigmoid (change)", "swap (change)"], rows)


def swap_lstm_step(runs: list[Run]) -> str:
    medians = ", ".join(f"{statistics.median(run['swap']['lstm_step']['ratios']):.3f}" for run in runs)
    pairs = sorted(x for run in runs for x in run["swap"]["lstm_step"]["ratios"])
    count = len(runs[0]["swap"]["lstm_step"]["ratios"])
    return (f"Swapped over built-in, the median of {count} pairwise ratios (each pair: the two steps' medians in one "
            f"round), run by run: **{medians}**; single pairs ranged from {pairs[0]:.2f} to {pairs[-1]:.2f}.")


def swap_eager(runs: list[Run]) -> str:
    rows = [[r["function"], format_duration(r["builtin_s"]), format_duration(r["sigact_s"]),
             ", ".join(f"{ratio(run['swap']['eager'][i]):.2f}" for run in runs)]
            for i, r in enumerate(runs[0]["swap"]["eager"])]
    return table(["function", "as written", "swapped", "swapped over as written, each run"], rows)


def report_text(runs: list[Run]) -> str:
    run = section(runs, "torch")
    took = f"{run['seconds']:.0f} s" if "seconds" in run else NOT_RECORDED
    load = run["machine"].get("load_average_1min", NOT_RECORDED)
    return (f"`{run.get('command', NOT_RECORDED)}`, {run.get('date', NOT_RECORDED)}, wall time {took}, 1-minute "
            f"load average {load} at the start:\n\n```text\n{format_report(run)}```")


RENDERERS = {
    "elementwise.float32": lambda runs: elementwise("float32", runs),
    "elementwise.bfloat16": lambda runs: elementwise("bfloat16", runs),
    "training": training,
    "inplace": inplace,
    "targets": targets,
    "swap.memory": swap_memory,
    "swap.lstm_step": swap_lstm_step,
    "swap.eager": swap_eager,
    "report": report_text,
}
