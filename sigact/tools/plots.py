"""Figures for ``sigact report --plot`` and the docs, drawn with matplotlib from measured results."""

from __future__ import annotations

from pathlib import Path
from typing import Any

COLOURS = {"builtin": "#4c72b0", "sigact": "#dd8452", "naive": "#8c8c8c"}


def pyplot():
    try:
        import matplotlib
    except ImportError as error:
        raise RuntimeError("plots need matplotlib: pip install 'sigact[report]'") from error
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def speed_ratio(results: dict[str, Any], path: Path) -> Path:
    """sigact's and the naive composite's time over the built-in's, against the number of elements."""
    plt = pyplot()
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
    return save(fig, path)


def memory_bars(results: dict[str, Any], path: Path) -> Path:
    """Bytes kept for backward by an 8-layer MLP step, built-in against sigact against naive."""
    plt = pyplot()
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
    return save(fig, path)


def models_memory(results: dict[str, Any], path: Path) -> Path:
    """XLA temp memory of each model's jitted gradient, built-in against each swap, with the ratio."""
    plt = pyplot()
    rows = results["jax"]["models"]
    fig, ax = plt.subplots(figsize=(7, 1.2 + 1.1 * len(rows)))
    ys = range(len(rows))
    series = (("builtin", "built-in", COLOURS["builtin"]), ("swap_sigmoid", "swap_sigmoid", COLOURS["sigact"]),
              ("swap", "swap (sigmoid and tanh)", "#55a868"))
    for offset, (key, label, colour) in zip((-0.27, 0, 0.27), series, strict=True):
        values = [r[f"{key}_temp_bytes"] for r in rows]
        bars = ax.barh([y + offset for y in ys], [v / 2**20 for v in values], 0.26, color=colour, label=label)
        if key != "builtin":
            ax.bar_label(bars, [f" {v / r['builtin_temp_bytes']:.2f}x" for v, r in zip(values, rows, strict=True)],
                         fontsize=7)
    ax.set_yticks(list(ys), [r["name"].replace(", ", ",\n", 1) for r in rows], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("MiB of XLA temp memory, jit(grad(loss))")
    ax.set_title("Models under jit: temp memory, built-in against swapped")
    ax.legend(fontsize=8, loc="lower right")
    return save(fig, path)


def tradeoff(rows: list[dict[str, Any]], path: Path) -> Path:
    """Memory against step time, one point per configuration (built-in or swap, with or without a
    remat policy), both relative to the built-in without remat; one panel per model."""
    plt = pyplot()
    names = list(dict.fromkeys(r["model"] for r in rows))
    columns = min(3, len(names))
    lines = -(-len(names) // columns)
    fig, axes = plt.subplots(lines, columns, figsize=(3.6 * columns, 3.3 * lines), squeeze=False)
    for ax in axes.flat[len(names):]:
        ax.set_visible(False)
    markers = {None: "o", "nothing_saveable": "s", "dots_saveable": "^"}
    for ax, name in zip(axes.flat, names, strict=False):
        for r in (r for r in rows if r["model"] == name):
            colour = COLOURS["builtin"] if r["swap"] == "builtin" else COLOURS["sigact"]
            ax.scatter(r["time_ratio"], r["temp_ratio"], marker=markers[r["remat"]], color=colour, s=40,
                       label=f"{'swap' if r['swap'] == 'swap' else 'built-in'}, {r['remat'] or 'no remat'}")
        ax.axhline(1.0, color="grey", lw=0.6)
        ax.axvline(1.0, color="grey", lw=0.6)
        ax.set_title(name.split(", x")[0].split(", batch")[0].split(", ")[0], fontsize=8)
        ax.set_xlabel("step time / built-in's", fontsize=8)
        ax.grid(alpha=0.3)
    for line in axes:
        line[0].set_ylabel("temp memory / built-in's", fontsize=8)
    axes[0][0].legend(fontsize=6)
    fig.suptitle("Memory against step time (lower left is better)", fontsize=10)
    return save(fig, path)


def sigmoid_curves(xs, y, dy, path: Path) -> Path:
    """σ(x) and σ′(x) = σ(x)(1 − σ(x)), as computed by sigact."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.2))
    ax.plot(xs, y, label="σ(x)", color=COLOURS["builtin"])
    ax.plot(xs, dy, label="σ′(x) = σ(x)(1 − σ(x))", color=COLOURS["sigact"])
    ax.axhline(0.25, color="grey", ls=":", lw=0.8)
    ax.annotate("σ′(0) = 1/4", (0, 0.25), xytext=(1.5, 0.32), arrowprops={"arrowstyle": "->"})
    ax.set_xlabel("x")
    ax.set_title("The sigmoid and its derivative, from sigact's forward and backward")
    ax.legend()
    ax.grid(alpha=0.3)
    return save(fig, path)


def save(fig, path: Path) -> Path:
    """Write ``fig`` to ``path`` as a PNG (its folder made if need be), close it, and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    pyplot().close(fig)
    return path


def report_plots(results: dict[str, Any], directory: Path) -> list[Path]:
    """The report's figures in ``directory``: speed_ratio.png, memory.png, sigmoid.png, and models.png
    when JAX's models under jit were measured."""
    from sigact.tools.report import curve_data

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
