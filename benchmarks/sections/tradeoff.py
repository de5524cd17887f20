"""The ``tradeoff`` section of ``benchmarks/run.py``.

The swap against remat: Flax LSTM and GRU, Equinox LSTM, Keras LSTM (length 512) and a scanned SwiGLU
stack, each built-in and swapped, without remat and under nothing_saveable and dots_saveable: temp memory,
and step time as a ratio to the built-in's. Measured by the engine of ``sigact.jax.plan`` on its own
candidates (remat is ``remat_scans``, every scan body under the policy); a candidate that compiles to
another's program is timed once, and its row names that one (``same_as``).
"""

from __future__ import annotations

from sections.common import log, table
from sigact._saved import human_bytes
from sigact.jax import _plan as engine
from sigact.tools import jax_models
from sigact.tools.report import format_duration

REMATS = (None, "nothing_saveable", "dots_saveable")
# The targets for swap without remat: temp bytes at most this fraction of the built-in's.
TEMP_TARGETS = {"LSTM": 0.70, "GRU": 0.80}
TIME_TARGET = 1.03


def candidate(swap: str, remat: str | None) -> str:
    """The plan's name for a configuration: ``swap + remat_scans(dots_saveable)``, ``builtin``..."""
    if remat is None:
        return swap
    return f"{'swap + ' if swap == 'swap' else ''}remat_scans({remat})"


def measure(quick: bool, timing: dict) -> dict:
    """The plan's engine on six of its candidates per model: the built-in and the swap, each alone and
    with every scan body under each policy (``remat_scans``); gradients compared with the built-in's."""
    rows = []
    configurations = [(swap, remat) for remat in REMATS for swap in ("builtin", "swap")]
    for build in jax_models.tradeoff_models(quick):
        model = build()
        functions = engine.candidates(model.loss, [r for r in REMATS if r])
        # Six contenders of up to a second a step: three rounds, not seven, keep a run near ten minutes.
        measured = engine.measure({candidate(*c): functions[candidate(*c)] for c in configurations}, model.args,
                                  rounds=min(3, timing["rounds"]), seconds=timing["seconds"],
                                  on_step=lambda message, name=model.name: log(f"trade-off: {name}: {message}"))
        base = measured[0]
        for (swap, remat), r in zip(configurations, measured, strict=True):
            rows.append({"model": model.name, "swap": swap, "remat": remat, "temp_bytes": r.temp_bytes,
                         "seconds": r.step_seconds, "temp_ratio": r.temp_bytes / base.temp_bytes,
                         "time_ratio": r.step_seconds / base.step_seconds, "gradients_bitwise_equal": r.bitwise,
                         "same_as": r.same_as})
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
          "## ratios to the built-in without remat (the six configurations timed in alternating rounds; 'bitwise':\n"
          "## gradients equal to the built-in's without remat)\n")
    rows = [[r["model"], r["swap"], r["remat"] or "-", human_bytes(r["temp_bytes"]), f"{r['temp_ratio']:.3f}",
             format_duration(r["seconds"]), f"{r['time_ratio']:.3f}", str(r["gradients_bitwise_equal"])]
            for r in result["rows"]]
    print(table(["model", "gradient", "remat", "temp", "temp / built-in", "step", "time / built-in",
                 "bitwise"], rows))
    print("\nTargets:\n")
    print(table(["target", "measured", "met"], [[t["target"], f"{t['measured']:.3f}", "yes" if t["met"] else "**NO**"]
                                                for t in result["targets"]]))
    print()
