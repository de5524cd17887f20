"""sigact benchmarks: every figure a median measured side by side with the built-in, in one run.

    python benchmarks/run.py [--quick] [--only SECTION ...] [--json PATH] [--plot DIR]

Sections:
  elementwise  forward+backward of the activation alone, 2^10 to 2^24 elements, float32 and
               bfloat16; torch eager, torch.compile and jax.jit
  training     a whole training step: an 8-layer MLP (torch eager, torch.compile, jax.jit) and the
               SE-style CNN of examples/torch_swap.py (eager and compiled)
  inplace      Sigmoid(inplace=True) against nn.Sigmoid and Tensor.sigmoid_: time and peak CPU
               memory (torch profiler) of an MLP block, Linear(w, 4w) -> activation -> Linear(4w, w)
  swap         sigact.jax.swap_sigmoid and swap on whole models under jit: XLA temp memory of Flax's cells and
               of scanned MLPs (with and without remat policies), a jitted Flax LSTM training step
               through swap (median of pairwise ratios), and the eager per-call cost of swapped functions
  reach        sigact.jax.swap on every framework's recurrent cells (Flax linen and NNX, Equinox, Keras 3,
               Haiku) at batch 32, length 128, 256 features: temp memory against the built-in's
  tradeoff     the swap against remat: Flax LSTM and GRU, Equinox LSTM, Keras LSTM (length 512) and a
               scanned SwiGLU stack, each built-in and swapped, without remat and under nothing_saveable
               and dots_saveable: temp memory, and step time as a ratio to the built-in's

Contenders take turns round after round (sigact._timing.interleaved_medians), so the ratios
(sigact over built-in, lower is faster) compare medians taken under the same conditions. These are
benchmarks, not tests: they print figures and assert nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import os
import statistics
import sys
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")  # the reach and trade-off sections run Keras on JAX
os.environ.setdefault("KINETO_LOG_LEVEL", "5")  # the profiler's own log lines would drown the tables

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "examples"))

import jax  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

import sigact.jax as sj  # noqa: E402
import sigact.jax._measure as jax_measure  # noqa: E402
import sigact.jax._report_models as jax_models  # noqa: E402
import sigact.torch as st  # noqa: E402
import sigact.torch._measure as torch_measure  # noqa: E402
from sigact import report  # noqa: E402
from sigact._audit_report import human_bytes  # noqa: E402
from sigact._timing import interleaved_medians, keep_freed_memory, perf_counter_timer  # noqa: E402
from sigact.report import format_duration  # noqa: E402
from sigact.torch._measure import _benchmark_timer  # noqa: E402

SECTIONS = ("elementwise", "training", "inplace", "swap", "reach", "tradeoff")


def log(message: str) -> None:
    print(f"... {message}", file=sys.stderr, flush=True)


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


# -- elementwise ------------------------------------------------------------------------------


def elementwise(quick: bool, timing: dict) -> dict:
    sizes = [2**10, 2**14] if quick else [2**k for k in range(10, 25, 2)]
    runs = []
    for dtype_name in ("float32", "bfloat16"):
        for execution in torch_measure.EXECUTIONS:
            log(f"torch {execution} {dtype_name}")
            runs += torch_measure.speed(sizes, execution=execution, dtype=getattr(torch, dtype_name), **timing,
                                        on_size=lambda n: log(f"  2^{n.bit_length() - 1}"))
        log(f"jax jit {dtype_name}")
        runs += [{**r, "framework": "jax"} for r in jax_measure.speed(sizes, dtype=dtype_name, **timing)]
    for r in runs:
        r.setdefault("framework", "torch")
    return {"speed": runs}


def print_elementwise(result: dict) -> None:
    print("## Elementwise forward+backward (median per call)\n")
    rows = []
    for r in result["speed"]:
        b = r["builtin_s"]
        rows.append([f"{r['framework']} {r['execution']}", r["dtype"], f"2^{r['n'].bit_length() - 1}",
                     format_duration(b), format_duration(r["sigact_s"]), f"{r['sigact_s'] / b:.2f}",
                     format_duration(r["naive_s"]), f"{r['naive_s'] / b:.2f}"])
    print(table(["framework", "dtype", "n", "built-in", "sigact", "sigact / built-in", "naive",
                 "naive / built-in"], rows))
    print()


# -- training ---------------------------------------------------------------------------------


def torch_training_step(model: nn.Module, x: torch.Tensor, target: torch.Tensor, mode=None):
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)

    def step():
        opt.zero_grad(set_to_none=True)
        with mode or contextlib.nullcontext():
            loss = nn.functional.mse_loss(model(x), target)
        loss.backward()
        opt.step()

    return step


def training(quick: bool, timing: dict) -> dict:
    from torch_swap import SECNN

    width, batch = (128, 32) if quick else (1024, 256)
    x, target = torch.randn(batch, width), torch.randn(batch, width)
    torch.manual_seed(0)
    mlp = nn.Sequential(*[layer for _ in range(8) for layer in (nn.Linear(width, width), nn.Sigmoid())])
    images, labels = torch.rand(8 if quick else 32, 3, 16, 16), torch.rand(8 if quick else 32, 4)
    cnn = SECNN()
    results = []
    for name, model, inputs, with_mode in [(f"MLP 8 x {width}, batch {batch}", mlp, (x, target), False),
                                           (f"SE-CNN, batch {len(images)}", cnn, (images, labels), True)]:
        for compiled in (False, True):
            log(f"training {name} {'compile' if compiled else 'eager'}")
            builtin = copy.deepcopy(model)
            ours = st.swap_sigmoid(copy.deepcopy(model))
            if compiled:
                torch._dynamo.reset()
                builtin, ours = torch.compile(builtin), torch.compile(ours)
            steps = {
                "builtin": torch_training_step(builtin, *inputs),
                "sigact": torch_training_step(ours, *inputs, mode=st.SigmoidMode() if with_mode else None),
            }
            medians = interleaved_medians(steps, _benchmark_timer, **timing)
            results.append({"framework": "torch", "model": name, "mode": "compile" if compiled else "eager",
                            **{f"{k}_s": v for k, v in medians.items()}})
    log("training jax MLP jit")
    params = jax_measure.mlp_params(width=width)
    batch_x = jax.random.normal(jax.random.key(1), (batch, width))
    steps = {}
    for key, act in (("builtin", jax.nn.sigmoid), ("sigact", sj.sigmoid)):
        step = jax.jit(jax_measure.train_step(act))
        steps[key] = lambda step=step: jax.block_until_ready(step(params, batch_x))
    medians = interleaved_medians(steps, perf_counter_timer, **timing)
    results.append({"framework": "jax", "model": f"MLP 8 x {width}, batch {batch}", "mode": "jit",
                    **{f"{k}_s": v for k, v in medians.items()}})
    return {"steps": results}


def print_training(result: dict) -> None:
    print("## Training step (median per step)\n")
    rows = [[r["framework"], r["model"], r["mode"], format_duration(r["builtin_s"]), format_duration(r["sigact_s"]),
             f"{r['sigact_s'] / r['builtin_s']:.3f}"] for r in result["steps"]]
    print(table(["framework", "model", "mode", "built-in", "sigact", "sigact / built-in"], rows))
    print()


# -- in place ---------------------------------------------------------------------------------


def peak_cpu_bytes(fn) -> int:
    """Peak bytes allocated on the CPU during ``fn()``, above what was allocated before it."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    # Self allocations only: an op's cpu_memory_usage also counts what the ops inside it allocate.
    events = sorted((e for e in prof.events() if e.self_cpu_memory_usage), key=lambda e: e.time_range.start)
    current = peak = 0
    for event in events:
        current += event.self_cpu_memory_usage
        peak = max(peak, current)
    return peak


def inplace(quick: bool, timing: dict) -> dict:
    width, batch = (256, 64) if quick else (1024, 1024)
    torch.manual_seed(0)
    # The activation is the widest tensor of an MLP block: where in place can lower the peak.
    first, second = nn.Linear(width, 4 * width), nn.Linear(4 * width, width)
    x = torch.randn(batch, width)
    activations = {
        "nn.Sigmoid": nn.Sigmoid(),
        "Tensor.sigmoid_": lambda h: h.sigmoid_(),
        "sigact Sigmoid()": st.Sigmoid(),
        "sigact Sigmoid(inplace=True)": st.Sigmoid(inplace=True),
    }
    forwards = {name: (lambda act=act: second(act(first(x)))) for name, act in activations.items()}
    steps = {name: (lambda forward=forward: forward().sum().backward()) for name, forward in forwards.items()}
    log("in-place timing")
    medians = interleaved_medians(steps, _benchmark_timer, **timing)
    log("in-place peak memory")
    rows = []
    for name in activations:
        steps[name]()  # warm-up: one-off allocations must not count
        rows.append({"activation": name, "seconds": medians[name],
                     "forward_peak_bytes": peak_cpu_bytes(forwards[name]),
                     "step_peak_bytes": peak_cpu_bytes(steps[name])})
    return {"batch": batch, "width": width, "rows": rows}


def print_inplace(result: dict) -> None:
    w = result["width"]
    print(f"## In place: Linear({w}, {4 * w}) -> activation -> Linear({4 * w}, {w}), batch {result['batch']}, "
          "forward and backward\n")
    base = result["rows"][0]
    mib = lambda r, key: f"{r[key] / 2**20:.2f} MiB ({(r[key] - base[key]) / 2**20:+.2f})"  # noqa: E731
    rows = [[r["activation"], format_duration(r["seconds"]), f"{r['seconds'] / base['seconds']:.3f}",
             mib(r, "forward_peak_bytes"), mib(r, "step_peak_bytes")] for r in result["rows"]]
    print(table(["activation", "median step", "/ nn.Sigmoid", "forward peak (vs nn.Sigmoid)",
                 "step peak (vs nn.Sigmoid)"], rows))
    print()


# -- swap -------------------------------------------------------------------------------------


def pairwise_ratios(contenders: dict, rounds: int, seconds: float) -> list[float]:
    """sigact's median over the built-in's, one ratio per round: each round is one interleaved pair."""
    ratios = []
    for _ in range(rounds):
        medians = interleaved_medians(contenders, perf_counter_timer, rounds=1, seconds=seconds)
        ratios.append(medians["sigact"] / medians["builtin"])
    return ratios


def lstm_training_step(model: jax_models.Model):
    """A jitted SGD step of the model's loss, as written and swapped."""

    def step(loss):
        def update(variables, x):
            grads = jax.grad(loss)(variables, x)
            return jax.tree.map(lambda v, g: v - 0.01 * g, variables, grads)

        fn = jax.jit(update)
        return lambda: jax.block_until_ready(fn(*model.args))

    return {"builtin": step(model.loss), "sigact": step(sj.swap(model.loss))}


def swap(quick: bool, timing: dict) -> dict:
    rnn = {"batch": 4, "steps": 8, "inputs": 8, "features": 8} if quick else {}
    mlp = {"layers": 2, "batch": 16, "width": 8, "hidden": 16} if quick else {}
    builds = [lambda cell=cell: jax_models.flax_rnn(cell, **rnn) for cell in ("LSTMCell", "GRUCell",
                                                                               "OptimizedLSTMCell")]
    builds += [lambda a=a, r=r: jax_models.scanned_mlp(a, remat=r, **mlp)
               for a in ("silu", "sigmoid") for r in (None, "dots_saveable", "nothing_saveable")]
    memory = []
    for build in builds:
        model = build()
        log(f"temp memory: {model.name}")
        compiled = jax_models.compiled_gradients(model)
        memory.append({"name": model.name, **jax_models.temp_bytes_by_swap(compiled)})
    log("jitted Flax LSTM training step, pairwise ratios")
    lstm = jax_models.flax_rnn("LSTMCell", **rnn)
    ratios = pairwise_ratios(lstm_training_step(lstm), rounds=timing["rounds"] + 2, seconds=timing["seconds"])
    log("eager per-call overhead")
    overhead = []
    for name, fn, x in (("jax.nn.silu, 2^10 elements", lambda x: jax.nn.silu(x), jax.numpy.ones(2**10)),
                        ("jax.nn.silu, 2^20 elements", lambda x: jax.nn.silu(x), jax.numpy.ones(2**20)),
                        ("Flax LSTM apply (eager)", lambda x: lstm.loss(lstm.args[0], x), lstm.args[1])):
        calls = {k: (lambda f=f, x=x: jax.block_until_ready(f(x))) for k, f in (("builtin", fn),
                                                                                ("sigact", sj.swap(fn)))}
        medians = interleaved_medians(calls, perf_counter_timer, **timing)
        overhead.append({"function": name, **{f"{k}_s": v for k, v in medians.items()}})
    return {"memory": memory, "lstm_step": {"name": lstm.name, "ratios": ratios}, "eager": overhead}


def print_swap(result: dict) -> None:
    print("## swap_sigmoid and swap under jit: XLA temp memory of jit(grad(loss))\n")
    rows = [[r["name"], human_bytes(r["builtin_temp_bytes"])] + [
             f"{human_bytes(r[f'{k}_temp_bytes'])} ({r[f'{k}_temp_bytes'] / r['builtin_temp_bytes'] - 1:+.1%})"
             for k in ("swap_sigmoid", "swap")] for r in result["memory"]]
    print(table(["model", "built-in", "swap_sigmoid (change)", "swap (change)"], rows))
    ratios = sorted(result["lstm_step"]["ratios"])
    print(f"\nJitted SGD step of the {result['lstm_step']['name']}: swap over built-in, median of "
          f"{len(ratios)} pairwise ratios {statistics.median(ratios):.3f} (from {ratios[0]:.3f} to {ratios[-1]:.3f})\n")
    rows = [[r["function"], format_duration(r["builtin_s"]), format_duration(r["sigact_s"]),
             ("−" if r["sigact_s"] < r["builtin_s"] else "") + format_duration(abs(r["sigact_s"] - r["builtin_s"])),
             f"{r['sigact_s'] / r['builtin_s']:.2f}"]
            for r in result["eager"]]
    print("Eager calls after the first. Both run fun's Python every call; the swapped one runs it under the\n"
          "swap's trace, where each jnp call takes JAX's Python path instead of its C++ fast path.\n")
    print(table(["function", "as written", "swapped", "overhead per call", "ratio"], rows))
    print()


# -- reach ------------------------------------------------------------------------------------


def reach(quick: bool, timing: dict) -> dict:
    size = {"batch": 4, "steps": 8, "inputs": 8, "features": 8} if quick else \
        {"batch": 32, "steps": 128, "inputs": 256, "features": 256}
    builds = [(jax_models.flax_rnn, c) for c in ("LSTMCell", "OptimizedLSTMCell", "GRUCell", "MGUCell")]
    builds += [(jax_models.nnx_rnn, c) for c in ("LSTMCell", "OptimizedLSTMCell", "GRUCell")]
    builds += [(jax_models.equinox_rnn, c) for c in ("LSTMCell", "GRUCell")]
    builds += [(jax_models.keras_rnn, c) for c in ("LSTM", "GRU")]
    builds += [(jax_models.haiku_rnn, c) for c in ("LSTM", "GRU")]
    rows = []
    for build, cell in builds:
        model = build(cell, **size)
        log(f"reach: {model.name}")
        compiled = jax_models.compiled_gradients(model)
        rows.append({"name": model.name, "gradients_bitwise_equal": jax_models.bitwise_equal(compiled, model.args),
                     **jax_models.temp_bytes_by_swap(compiled)})
    return {"rows": rows}


def print_reach(result: dict) -> None:
    print("## Reach: temp memory of jit(grad(loss)) swapped, as a fraction of the built-in's\n")
    rows = [[r["name"], human_bytes(r["builtin_temp_bytes"]),
             f"{r['swap_sigmoid_temp_bytes'] / r['builtin_temp_bytes']:.3f}",
             f"{r['swap_temp_bytes'] / r['builtin_temp_bytes']:.3f}", str(r["gradients_bitwise_equal"])]
            for r in result["rows"]]
    print(table(["model", "built-in", "swap_sigmoid", "swap", "gradients bitwise"], rows))
    print()


# -- trade-off --------------------------------------------------------------------------------

REMATS = (None, "nothing_saveable", "dots_saveable")
# The targets for swap without remat: temp bytes at most this fraction of the built-in's.
TEMP_TARGETS = {"LSTM": 0.70, "GRU": 0.80}
TIME_TARGET = 1.03


def tradeoff(quick: bool, timing: dict) -> dict:
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
        base_bytes, base_s = jax_measure.temp_bytes(compiled["builtin", None][0]), medians["builtin", None]
        for (swap, remat), (fn, _) in compiled.items():
            temp = jax_measure.temp_bytes(fn)
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


def print_tradeoff(result: dict) -> None:
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


# -- main -------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes and few rounds: a smoke run")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS), metavar="SECTION",
                        help=f"run only these sections ({', '.join(SECTIONS)})")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--plot", type=Path, metavar="DIR",
                        help="also write benchmark_speed_ratio.png and tradeoff.png (when measured) to DIR")
    args = parser.parse_args(argv)

    timing = {"rounds": 2, "seconds": 0.01} if args.quick else {"rounds": 7, "seconds": 0.1}
    kept = keep_freed_memory()
    print(f"# sigact benchmarks{' (--quick)' if args.quick else ''}\n")
    print(f"- machine: {report.format_machine(report.machine())}")
    print(f"- torch {torch.__version__} ({torch.get_num_threads()} threads), jax {jax.__version__}, "
          f"sigact {report.sigact.__version__}")
    print(f"- timing: {timing['rounds']} alternating rounds of at least {timing['seconds']} s per contender")
    print("- allocator: " + ("glibc keeps freed memory (mallopt), so timings measure kernels, not page faults"
                             if kept else "default") + "\n")
    results = {**report.provenance(), "versions": {"torch": torch.__version__, "torch_threads": torch.get_num_threads(),
                                                   "jax": jax.__version__, "sigact": report.sigact.__version__},
               "machine": report.machine(), "quick": args.quick, "allocator_keeps_freed_memory": kept}
    for section, measure, show in (("elementwise", elementwise, print_elementwise),
                                   ("training", training, print_training),
                                   ("inplace", inplace, print_inplace),
                                   ("swap", swap, print_swap),
                                   ("reach", reach, print_reach),
                                   ("tradeoff", tradeoff, print_tradeoff)):
        if section in args.only:
            results[section] = measure(args.quick, timing)
            show(results[section])
            sys.stdout.flush()
    if args.json:
        results["machine"]["load_average_1min_end"] = report.machine()["load_average_1min"]
        report.write_json(results, args.json)
    if args.plot and "tradeoff" in results:
        from sigact import plots

        plots.tradeoff(results["tradeoff"]["rows"], args.plot / "tradeoff.png")
    if args.plot and "elementwise" in results:
        from sigact import plots

        by_framework = {"torch": {"speed": []}, "jax": {"speed": []}}
        for row in results["elementwise"]["speed"]:
            by_framework[row["framework"]]["speed"].append(row)
        plots.speed_ratio(by_framework, args.plot / "benchmark_speed_ratio.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
