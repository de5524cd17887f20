"""The ``tradeoff`` section of ``benchmarks/run.py``.

The swap against remat: Flax LSTM and GRU, Equinox LSTM, Keras LSTM (length 512) and a scanned SwiGLU
stack, each built-in and swapped, without remat and under nothing_saveable and dots_saveable: temp memory,
and step time as a ratio to the built-in's.
"""

from __future__ import annotations

import jax

from sections.common import log, table
from sigact._saved import human_bytes
from sigact._timing import interleaved_medians, perf_counter_timer
from sigact.tools import jax_backend, jax_models
from sigact.tools.report import format_duration

REMATS = (None, "nothing_saveable", "dots_saveable")
# The targets for swap without remat: temp bytes at most this fraction of the built-in's.
TEMP_TARGETS = {"LSTM": 0.70, "GRU": 0.80}
TIME_TARGET = 1.03


def measure(quick: bool, timing: dict) -> dict:
    rows = []
    for build in jax_models.tradeoff_models(quick):
        compiled, name = {}, None
        for remat in REMATS:
            model = build(remat)
            name = name or model.name
            log(f"trade-off: {model.name}")
            for swap, fn in jax_models.compiled_gradients(model, ("builtin", "swap")).items():
                compiled[swap, remat] = (fn, model.args)
        bitwise = all(jax_models.bitwise_equal({k: compiled[k, r][0] for k in ("builtin", "swap")},
                                               compiled["builtin", r][1]) for r in REMATS)
        steps = {key: (lambda fn=fn, args=args: jax.block_until_ready(fn(*args)))
                 for key, (fn, args) in compiled.items()}
        # Six contenders of up to a second a step: three rounds, not seven, keep a run near ten minutes.
        medians = interleaved_medians(steps, perf_counter_timer, rounds=min(3, timing["rounds"]),
                                      seconds=timing["seconds"])
        base_bytes, base_s = jax_backend.temp_bytes(compiled["builtin", None][0]), medians["builtin", None]
        for (swap, remat), (fn, _) in compiled.items():
            temp = jax_backend.temp_bytes(fn)
            rows.append({"model": name, "swap": swap, "remat": remat, "temp_bytes": temp,
                         "seconds": medians[swap, remat],
                         "temp_ratio": temp / base_bytes, "time_ratio": medians[swap, remat] / base_s,
                         "gradients_bitwise_equal": bitwise})
    return {"rows": rows, "targets": targets(rows)}


def targets(rows: list[dict]) -> list[dict]:
    """The issue's targets, each with the measured figure and whether it was met."""
    found = []
    for r in rows:
        kind = next((k for k in TEMP_TARGETS if k in r["model"].split(",")[0]), None)
        if r["swap"] == "swap" and r["remat"] is None:
            if kind:
                found.append({"target": f"{r['model'].split(',')[0]}: swap temp <= {TEMP_TARGETS[kind]} x built-in",
                              "measured": r["temp_ratio"], "met": r["temp_ratio"] <= TEMP_TARGETS[kind]})
            found.append({"target": f"{r['model'].split(',')[0]}: swap step time <= {TIME_TARGET} x built-in",
                          "measured": r["time_ratio"], "met": r["time_ratio"] <= TIME_TARGET})
        if r["swap"] == "swap":
            builtin = next(b["temp_bytes"] for b in rows
                           if (b["model"], b["remat"], b["swap"]) == (r["model"], r["remat"], "builtin"))
            found.append({"target": f"{r['model'].split(',')[0]}, {r['remat'] or 'no remat'}: swap temp <= built-in's",
                          "measured": r["temp_bytes"] / builtin, "met": r["temp_bytes"] <= builtin})
    return found


def show(result: dict) -> None:
    print("## Trade-off: the swap against remat. Temp memory of jit(grad(loss)) and median step time, both as\n"
          "## ratios to the built-in without remat (the six configurations timed in alternating rounds)\n")
    rows = [[r["model"], r["swap"], r["remat"] or "-", human_bytes(r["temp_bytes"]), f"{r['temp_ratio']:.3f}",
             format_duration(r["seconds"]), f"{r['time_ratio']:.3f}", str(r["gradients_bitwise_equal"])]
            for r in result["rows"]]
    print(table(["model", "gradient", "remat", "temp", "temp / built-in", "step", "time / built-in",
                 "bitwise"], rows))
    print("\nTargets:\n")
    print(table(["target", "measured", "met"], [[t["target"], f"{t['measured']:.3f}", "yes" if t["met"] else "**NO**"]
                                                for t in result["targets"]]))
    print()
