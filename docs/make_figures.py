"""Make the figures in docs/figures: from the library itself, and the benchmark ones from docs/results/.

Run with ``make figures`` (or ``python docs/make_figures.py``). Needs torch, jax and matplotlib.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch

import sigact.torch as st
from sigact.tools import plots
from sigact.tools.machine import machine
from sigact.tools.torch_backend import curves

FIGURES = Path(__file__).resolve().parent / "figures"
RESULTS = Path(__file__).resolve().parent / "results"
DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32,
          "float64": torch.float64}
STEP = 1 / 1024


def output_only_gradient(x: torch.Tensor) -> torch.Tensor:
    """σ′(x) as sigact computes it: from the stored output, in x's dtype."""
    x = x.detach().requires_grad_()
    y = st.sigmoid(x)
    return torch.autograd.grad(y, x, torch.ones_like(y))[0]


def first_zero_of_output_only_gradient(dtype: torch.dtype, sign: int = 1) -> float:
    """The smallest |x| on a 1/1024 grid where the gradient computed from σ(x) is exactly 0."""
    x = (torch.arange(0, 800, STEP, dtype=torch.float64) * sign).to(dtype)
    zero = (output_only_gradient(x) == 0).nonzero()
    return float(x[zero[0]].item())


def first_zero_of_true_derivative(dtype: torch.dtype) -> float:
    """Where e^(−x) / (1 + e^(−x))², computed in float64 and then rounded to dtype, becomes 0."""
    x = torch.arange(0, 800, STEP, dtype=torch.float64)
    exact = torch.exp(-x) / (1 + torch.exp(-x)) ** 2
    return float(x[(exact.to(dtype) == 0).nonzero()[0]].item())


def saturation_table() -> dict[str, dict[str, float]]:
    return {name: {"output_only": first_zero_of_output_only_gradient(dt),
                   "output_only_negative": first_zero_of_output_only_gradient(dt, -1),
                   "true": first_zero_of_true_derivative(dt)} for name, dt in DTYPES.items()}


def tanh_output_only_gradient(x: np.ndarray, dtype: str) -> np.ndarray:
    """tanh′(x) as sigact.jax.tanh computes it, (1 + y)(1 − y) from the stored output, in ``dtype``; as float64."""
    import jax
    import jax.numpy as jnp

    import sigact.jax as sj

    with jax.enable_x64(True):
        x = jnp.asarray(x).astype(dtype)
        y, pullback = jax.vjp(sj.tanh, x)
        return np.asarray(pullback(jnp.ones_like(y))[0].astype(jnp.float64))


def tanh_saturation_table() -> dict[str, dict[str, float]]:
    """Per dtype, the smallest |x| on a 1/1024 grid where tanh's gradient from the output is exactly 0, on
    each side, and where the true tanh′(x) = 4e^(−2x) / (1 + e^(−2x))², in float64 and rounded to the
    dtype, is."""
    import ml_dtypes

    x = np.arange(0, 800, STEP, dtype=np.float64)
    table = {}
    for name in DTYPES:
        found = {}
        for key, sign in (("output_only", 1), ("output_only_negative", -1)):
            grid = (x * sign).astype(ml_dtypes.bfloat16 if name == "bfloat16" else name)
            zero = np.flatnonzero(tanh_output_only_gradient(grid, name) == 0)
            found[key] = float(grid[zero[0]])
        with np.errstate(over="ignore"):
            exact = 4 * np.exp(-2 * x) / (1 + np.exp(-2 * x)) ** 2
        rounded = exact.astype(ml_dtypes.bfloat16 if name == "bfloat16" else name)
        found["true"] = float(x[np.flatnonzero(rounded == 0)[0]])
        table[name] = found
    return table


def saturation_figure(table, path: Path) -> Path:
    plt = plots.pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.2))
    x = torch.arange(0, 24, STEP, dtype=torch.float64)
    ax.plot(x, torch.exp(-x) / (1 + torch.exp(-x)) ** 2, color="black", lw=2, label="true σ′(x)")
    for colour, name in zip(plt.cm.tab10.colors, ("float16", "bfloat16", "float32"), strict=False):
        g = output_only_gradient(x.to(DTYPES[name])).double()
        ax.plot(x, g.clamp_min(1e-30), color=colour, label=f"{name}: σ(1 − σ) from the output")
        ax.axvline(table[name]["output_only"], color=colour, ls=":", lw=1)
    ax.set_yscale("log")
    ax.set_ylim(1e-11, 1)
    ax.set_xlabel("x")
    ax.set_ylabel("σ′(x)")
    ax.set_title("Output-only gradients reach exactly 0 where σ(x) rounds to 1")
    ax.legend(fontsize=8, loc="lower left")
    ax.grid(alpha=0.3)
    return plots.save(fig, path)


def measured_figures(results: Path = RESULTS) -> list[Path]:
    """The benchmark figures, from the committed JSON that the benchmark pages' tables come from too."""
    written = []
    elementwise = results / "elementwise-cpu.json"
    if elementwise.exists():
        by_framework: dict[str, dict[str, list]] = {"torch": {"speed": []}, "jax": {"speed": []}}
        for row in json.loads(elementwise.read_text())["elementwise"]["speed"]:
            by_framework[row["framework"]]["speed"].append(row)
        written.append(plots.speed_ratio(by_framework, FIGURES / "benchmark_speed_ratio.png"))
    tradeoff = sorted(results.glob("tradeoff-cpu-*.json"))
    if tradeoff:  # run 1, as docs/memory.md's caption says
        rows = json.loads(tradeoff[0].read_text())["tradeoff"]["rows"]
        written.append(plots.tradeoff(rows, FIGURES / "tradeoff.png"))
    return written


def main() -> int:
    from sigact.tools import report

    table = saturation_table()
    print("first x where the gradient is exactly 0")
    print(f"{'dtype':<10} {'from output, x>0':>17} {'from output, x<0':>17} {'true σ′ underflows':>19}")
    for name, row in table.items():
        print(f"{name:<10} {row['output_only']:>17.4g} {row['output_only_negative']:>17.4g} {row['true']:>19.4g}")
    print("tanh: first x where the gradient is exactly 0")
    print(f"{'dtype':<10} {'from output, x>0':>17} {'from output, x<0':>17} {'true tanh′ underflows':>22}")
    for name, row in tanh_saturation_table().items():
        print(f"{name:<10} {row['output_only']:>17.4g} {row['output_only_negative']:>17.4g} {row['true']:>22.4g}")

    xs = np.linspace(-8, 8, 401)
    plots.sigmoid_curves(xs, *curves(xs), FIGURES / "sigmoid.png")
    saturation_figure(table, FIGURES / "saturation.png")
    results = {"machine": machine()}
    for fw in report.FRAMEWORKS:
        module, version, _ = report.load(fw)
        results[fw.key] = {"installed": True, "version": version, "memory_detail": module.memory()}
    plots.memory_bars(results, FIGURES / "memory.png")
    measured_figures()
    print(f"figures written to {FIGURES}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
