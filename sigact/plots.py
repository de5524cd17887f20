"""Figures for ``sigact report --plot`` and the docs, drawn with matplotlib from measured results."""

from __future__ import annotations

from pathlib import Path
from typing import Any

COLOURS = {"builtin": "#4c72b0", "sigact": "#dd8452", "naive": "#8c8c8c"}


def _pyplot():
    try:
        import matplotlib
    except ImportError as error:
        raise RuntimeError("plots need matplotlib: pip install 'sigact[report]'") from error
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def speed_ratio(results: dict[str, Any], path: Path) -> Path:
    """sigact's and the naive composite's time over the built-in's, against the number of elements."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.2))
    series = [(key, execution, dtype) for key in ("torch", "jax")
              for execution, dtype in dict.fromkeys((r["execution"], r.get("dtype", "float32"))
                                                    for r in results.get(key, {}).get("speed", []))]
    for colour, (key, execution, dtype) in zip(plt.cm.tab10.colors, series, strict=False):
        sel = [r for r in results[key]["speed"] if (r["execution"], r.get("dtype", "float32")) == (execution, dtype)]
        n = [r["n"] for r in sel]
        label = f"{key} {execution}" + ("" if dtype == "float32" else f" {dtype}")
        ax.plot(n, [r["sigact_s"] / r["builtin_s"] for r in sel], marker="o", color=colour,
                label=f"sigact, {label}")
        ax.plot(n, [r["naive_s"] / r["builtin_s"] for r in sel], marker="x", ls=":", color=colour,
                alpha=0.6, label=f"naive, {label}")
    ax.axhline(1.0, color="black", lw=0.8)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log", base=2)
    ax.set_xlabel("elements")
    ax.set_ylabel("time / built-in's time (median, forward+backward)")
    ax.set_title("Speed against the built-in sigmoid (lower is faster)")
    ax.legend(fontsize=7, ncol=2)
    ax.grid(alpha=0.3, which="both")
    return _save(fig, path)


def memory_bars(results: dict[str, Any], path: Path) -> Path:
    """Bytes kept for backward by an 8-layer MLP step, built-in against sigact against naive."""
    plt = _pyplot()
    groups = []
    for key, label in (("torch", "PyTorch (saved tensors)"), ("jax", "JAX (op-by-op residuals)"),
                       ("jax", "JAX (XLA temp under jit)")):
        result = results.get(key, {})
        if result.get("installed"):
            detail = result["memory_detail"]["mlp_compiled_temp" if "XLA" in label else "mlp"]
            groups.append((label, detail))
    fig, ax = plt.subplots(figsize=(7, 4.2))
    width = 0.26
    for i, name in enumerate(("builtin", "sigact", "naive")):
        xs = [g + (i - 1) * width for g in range(len(groups))]
        ys = [detail[name] / 2**20 for _, detail in groups]
        bars = ax.bar(xs, ys, width, label=name, color=COLOURS[name])
        ax.bar_label(bars, fmt="%.2f", fontsize=7)
    ax.set_xticks(range(len(groups)), [label for label, _ in groups], fontsize=8)
    ax.set_ylabel("MiB kept for backward")
    ax.set_title("Memory kept by an 8-layer MLP training step")
    ax.legend()
    return _save(fig, path)


def models_memory(results: dict[str, Any], path: Path) -> Path:
    """XLA temp memory of each model's jitted gradient, built-in against swapped, with the ratio."""
    plt = _pyplot()
    rows = results["jax"]["models"]
    fig, ax = plt.subplots(figsize=(7, 1.2 + 0.9 * len(rows)))
    ys = range(len(rows))
    for offset, (name, key) in ((-0.2, ("builtin", "builtin_temp_bytes")), (0.2, ("sigact", "sigact_temp_bytes"))):
        label = "built-in" if name == "builtin" else "swap_sigmoid"
        bars = ax.barh([y + offset for y in ys], [r[key] / 2**20 for r in rows], 0.38, color=COLOURS[name],
                       label=label)
        if name == "sigact":
            ax.bar_label(bars, [f" {r['sigact_temp_bytes'] / r['builtin_temp_bytes']:.2f}x" for r in rows],
                         fontsize=8)
    ax.set_yticks(list(ys), [r["name"].replace(", ", ",\n", 1) for r in rows], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("MiB of XLA temp memory, jit(grad(loss))")
    ax.set_title("Models under jit: temp memory, built-in against swapped")
    ax.legend(fontsize=8, loc="lower right")
    return _save(fig, path)


def sigmoid_curves(xs, y, dy, path: Path) -> Path:
    """σ(x) and σ′(x) = σ(x)(1 − σ(x)), as computed by sigact."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.2))
    ax.plot(xs, y, label="σ(x)", color=COLOURS["builtin"])
    ax.plot(xs, dy, label="σ′(x) = σ(x)(1 − σ(x))", color=COLOURS["sigact"])
    ax.axhline(0.25, color="grey", ls=":", lw=0.8)
    ax.annotate("σ′(0) = 1/4", (0, 0.25), xytext=(1.5, 0.32), arrowprops={"arrowstyle": "->"})
    ax.set_xlabel("x")
    ax.set_title("The sigmoid and its derivative, from sigact's forward and backward")
    ax.legend()
    ax.grid(alpha=0.3)
    return _save(fig, path)


def _save(fig, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    _pyplot().close(fig)
    return path


def report_plots(results: dict[str, Any], directory: Path) -> list[Path]:
    """The report's figures in ``directory``: speed_ratio.png, memory.png, sigmoid.png, and models.png
    when JAX's models under jit were measured."""
    from sigact.report import curve_data

    directory = Path(directory)
    paths = []
    if any(results.get(k, {}).get("installed") for k in ("torch", "jax")):
        paths.append(speed_ratio(results, directory / "speed_ratio.png"))
        paths.append(memory_bars(results, directory / "memory.png"))
        curves = curve_data(results)
        assert curves is not None  # a framework is installed: checked just above
        paths.append(sigmoid_curves(*curves, directory / "sigmoid.png"))
    if results.get("jax", {}).get("models"):
        paths.append(models_memory(results, directory / "models.png"))
    return paths
