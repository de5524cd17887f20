"""Write every measured table of README.md and docs/*.md from the committed JSON in docs/results/.

    python docs/generate.py          # rewrite the generated regions in place (`make docs` runs it first)
    python docs/generate.py --check  # rewrite nothing; exit 1, naming each stale page

A page marks each region it takes from a results file, and keeps everything else as written::

    <!-- generated: elementwise.float32 from results/elementwise-cpu.json -->
    (whatever the renderer returns)
    <!-- end generated -->

The paths are relative to the page's folder, as its links are; a glob (``results/swap-cpu-*.json``)
stands for its files in sorted order. The name picks a renderer of ``RENDERERS``: a small function
from the loaded files to Markdown. So a re-run benchmark updates every page once its JSON is
committed and this script has run: edit the JSON (by re-running its command) or a renderer, never a
region. The markers are HTML comments, which GitHub and Sphinx both leave unrendered.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
sys.path.insert(0, str(ROOT))  # this checkout's sigact, for its formatting of durations and bytes

from sigact._saved import human_bytes  # noqa: E402
from sigact.tools.report import format_duration, format_machine, format_report  # noqa: E402

REGION = re.compile(r"(<!-- generated: (\S+) from ([^>]*?) -->\n)(.*?)(<!-- end generated -->)", re.S)
NOT_RECORDED = "not recorded"
Run = dict[str, Any]


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def log2(n: int) -> str:
    return f"2^{n.bit_length() - 1}"


def section(runs: list[Run], key: str) -> Run:
    """The one run among ``runs`` that holds ``key`` (a region may read several results files)."""
    found = [run for run in runs if key in run]
    if len(found) != 1:
        raise ValueError(f"expected exactly one results file with {key!r}, found {len(found)}")
    return found[0]


# -- where a figure comes from ------------------------------------------------------------------


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
    return ", ".join(f"{name} {v.get(name) or NOT_RECORDED}{threads if name == 'torch' else ''}"
                     for name in ("torch", "jax", "sigact"))


def provenance(runs: list[Run]) -> str:
    """The commands, dates, machines and versions behind the other regions, once each where they agree."""
    lines = [f"- `{run.get('command', NOT_RECORDED)}`, {run.get('date', NOT_RECORDED)}" for run in runs]
    for label, line in (("machine", machine_line), ("versions", versions_line)):
        seen = list(dict.fromkeys(line(run) for run in runs))
        lines += [f"- {label}: {text}" for text in seen]
    return "\n".join(lines)


# -- benchmarks.md ----------------------------------------------------------------------------


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


def ratio(r: Run) -> float:
    return float(r["sigact_s"] / r["builtin_s"])


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


# -- memory.md, training.md, README.md ----------------------------------------------------------


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


README_LAYERS = ("Flax LSTMCell, nn.RNN", "Flax GRUCell, nn.RNN", "Equinox LSTMCell, lax.scan",
                 "Keras LSTM, stateless_call", "Haiku LSTM, hk.dynamic_unroll")


def readme_torch(runs: list[Run]) -> str:
    speed = section(runs, "elementwise")["elementwise"]["speed"]
    at = {(r["execution"], r["n"]): ratio(r) for r in speed if r["framework"] == "torch" and r["dtype"] == "float32"}
    compiled = [v for (execution, _), v in at.items() if execution == "compile"]
    run = section(runs, "elementwise")
    return (f"Forward+backward in float32 takes {at[('eager', 2**20)]:.2f}× the built-in's time at 2^20 elements and "
            f"{at[('eager', 2**22)]:.2f}× at 2^22 in eager mode, {min(compiled):.2f} to {max(compiled):.2f}× under "
            f"`torch.compile` (`make bench`, {run.get('date', NOT_RECORDED)}; {machine_line(run)}; torch "
            f"{run['versions']['torch']}: [Benchmarks](docs/benchmarks.md)). A load average above the core count "
            f"means the run shared its cores, and its ratios are noisy.")


# -- verification.md ----------------------------------------------------------------------------


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


# Each renderer takes the region's files, loaded, in the order the marker names them.
RENDERERS: dict[str, Callable[[list[Run]], str]] = {
    "provenance": provenance,
    "elementwise.float32": lambda runs: elementwise("float32", runs),
    "elementwise.bfloat16": lambda runs: elementwise("bfloat16", runs),
    "training": training,
    "inplace": inplace,
    "targets": targets,
    "swap.memory": swap_memory,
    "swap.lstm_step": swap_lstm_step,
    "swap.eager": swap_eager,
    "report": report_text,
    "tradeoff.table": tradeoff_table,
    "tradeoff.targets": tradeoff_targets,
    "reach": reach,
    "reach.readme": lambda runs: reach(runs, README_LAYERS),
    "readme.torch": readme_torch,
    "verify.float32": verify_float32,
    "verify.known": verify_known,
}


def pages(root: Path = ROOT) -> list[Path]:
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def load(spec: str, base: Path = DOCS) -> list[Run]:
    """The files a marker names, each a path or glob relative to its page's folder, loaded in order."""
    paths = [p for pattern in spec.split() for p in (sorted(base.glob(pattern)) or [base / pattern])]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise FileNotFoundError(f"a generated region names results that are not there: {missing}")
    return [json.loads(p.read_text()) for p in paths]


def render(text: str, base: Path = DOCS) -> str:
    """``text`` with each generated region replaced by its renderer's output from its files."""
    def one(match: re.Match[str]) -> str:
        begin, name, spec, _, end = match.groups()
        if name not in RENDERERS:
            raise KeyError(f"no renderer {name!r} (docs/generate.py RENDERERS has {', '.join(RENDERERS)})")
        return f"{begin}\n{RENDERERS[name](load(spec, base)).strip()}\n\n{end}"

    return REGION.sub(one, text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if any page is stale")
    args = parser.parse_args(argv)
    stale = []
    for page in pages():
        text = page.read_text()
        new = render(text, page.parent)
        if new != text:
            stale.append(page.relative_to(ROOT))
            if not args.check:
                page.write_text(new)
    verb = "stale (run python docs/generate.py)" if args.check else "rewritten"
    for page in stale:
        print(f"{page}: {verb}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
