"""The GPU section of docs/benchmarks.md, rendered from docs/results/gpu-*.json (``make gpu-check``).

``python benchmarks/gpu_page.py`` rewrites the section between its two markers; ``--check`` only
says whether the page matches the files (tests/test_gpu_check.py runs it). With no results file the
section says that no GPU has run the check, and how to run it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "benchmarks.md"
RESULTS = ROOT / "docs" / "results"
BEGIN = "<!-- gpu-check: rendered from docs/results/gpu-*.json by benchmarks/gpu_page.py; edit those, not this -->"
END = "<!-- gpu-check: end -->"

COMMAND = """```sh
make gpu-check                      # benchmarks/gpu_check.py, with .venv set up as for the other targets
make gpu-check GPU_PYTHON=python3   # or with a Python that already has a CUDA torch, triton and pytest
```"""

WHAT = ("`make gpu-check` runs `sigact verify --device cuda` (every float16 and bfloat16 input, a float32 "
        "sample, every mode, \"sigmoid, no Triton\" included), the CUDA tests, the Triton backward's "
        "throughput against a device-to-device copy and torch's built-in backward (2^20 to 2^28 "
        "elements in float32, bfloat16 and float16; CUDA events, medians of interleaved rounds) and, "
        "where a CUDA jaxlib is installed, `sigact verify --framework jax --device gpu`. It writes "
        "`docs/results/gpu-<GPU>.json`, from which this section is rendered. Where there is no GPU it "
        "says so and exits 2.")


def load(results: Path = RESULTS) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(results.glob("gpu-*.json"))]


def render_throughput(step: dict[str, Any]) -> str:
    rows = step.get("rows") or []
    if not rows:
        return f"Throughput: not measured ({step.get('output', 'no rows')})."
    lines = ["| dtype | n | copy | built-in | Triton | Triton / copy bandwidth | Triton / built-in time "
             "(range) | bitwise |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        g = r["gb_per_s"]
        low, high = r["triton_over_builtin_range"]
        lines.append(f"| {r['dtype']} | 2^{r['log2_n']} | {g['copy']:.0f} GB/s | {g['built-in']:.0f} GB/s | "
                     f"{g['triton']:.0f} GB/s | {r['triton_of_copy_bandwidth']:.2f} | "
                     f"{r['triton_over_builtin']:.3f} ({low:.3f}–{high:.3f}) | {'yes' if r['bitwise'] else 'NO'} |")
    return "\n".join(lines)


def _step_line(name: str, step: dict[str, Any]) -> str:
    status = step["status"]
    if name in ("verify_torch", "verify_jax") and "inputs" in step:
        detail = f"{step['inputs']:,} inputs, modes: {', '.join(map(repr, step['modes']))}; {step['seconds']} s"
    elif name == "cuda_tests" and "passed" in step:
        detail = f"{step['passed']} passed, {step['failed']} failed, {step['skipped']} skipped; {step['seconds']} s"
    elif name == "throughput" and "rows" in step:
        detail = f"{len(step['rows'])} rows, {step['rounds']} rounds each; {step['seconds']} s"
    else:
        detail = step.get("reason") or step.get("output", "")[:200]
    label = {"verify_torch": "`sigact verify --framework torch --device cuda`", "cuda_tests": "CUDA tests",
             "throughput": "Triton throughput", "verify_jax": "`sigact verify --framework jax --device gpu`"}[name]
    return f"- {label}: **{status}** ({detail})"


def render_run(run: dict[str, Any]) -> str:
    m = run["machine"]
    v = m["versions"]
    lines = [
        f"### {m['gpu']}, {m['date']}",
        "",
        f"- GPU: {m['gpu']} (compute capability {m['compute_capability']}, {m['gpu_memory_gib']} GiB, "
        f"{m['multiprocessors']} multiprocessors, L2 {m.get('l2_cache_mib')} MiB), driver {m['driver']}, "
        f"CUDA {m['cuda']}",
        f"- host: {m['host'].get('cpu')}, Python {m['python']}",
        f"- torch {v.get('torch')}, triton {v.get('triton')}, jax {v.get('jax')}, jaxlib {v.get('jaxlib')}, "
        f"sigact {v.get('sigact')} (commit {m['commit'] or 'unknown'})",
        f"- `{run['command']}`: **{'passed' if run['passed'] else 'FAILED'}** in {run['seconds']} s",
        "",
        *(_step_line(name, step) for name, step in run["steps"].items()),
        "",
        "Throughput counts the bytes read and written: a copy reads y and writes out (2 tensors), a backward "
        "reads grad and y and writes the result (3). Where the tensors fit in the L2 cache the figures are "
        "the cache's, and at the small sizes each call's launch is part of its time.",
        "",
        render_throughput(run["steps"].get("throughput", {})),
    ]
    return "\n".join(lines)


def render(runs: list[dict[str, Any]]) -> str:
    if not runs:
        body = ("**No GPU has run this check yet**, so this page has no GPU figure. " + WHAT
                + " On a machine with an NVIDIA GPU:\n\n" + COMMAND)
    else:
        body = WHAT + "\n\n" + COMMAND + "\n\n" + "\n\n".join(render_run(run) for run in runs)
    return f"{BEGIN}\n## GPU (make gpu-check)\n\n{body}\n{END}"


def replace_section(page: str, section: str) -> str:
    before, found, rest = page.partition(BEGIN)
    _, found_end, after = rest.partition(END)
    if not (found and found_end):
        raise ValueError(f"the page has no GPU section between {BEGIN!r} and {END!r}")
    return before + section + after


def write(page: Path, section: str) -> None:
    page.write_text(replace_section(page.read_text(), section))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--check", action="store_true", help="exit 1 if the page does not match the results files")
    args = p.parse_args(argv)
    page = PAGE.read_text()
    expected = replace_section(page, render(load()))
    if args.check:
        if page != expected:
            print(f"{PAGE} does not match {RESULTS}/gpu-*.json: run python benchmarks/gpu_page.py", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(expected)
    return 0


if __name__ == "__main__":
    sys.exit(main())
