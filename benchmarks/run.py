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

Each section is a module of benchmarks/sections/, with ``measure(quick, timing)`` and ``show(result)``.
Contenders take turns round after round (sigact._timing.interleaved_medians), so the ratios
(sigact over built-in, lower is faster) compare medians taken under the same conditions. These are
benchmarks, not tests: they print figures and assert nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")  # the reach and trade-off sections run Keras on JAX
os.environ.setdefault("KINETO_LOG_LEVEL", "5")  # the profiler's own log lines would drown the tables

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this checkout's sigact, also where another is installed
sys.path.insert(0, str(ROOT / "examples"))

import jax  # noqa: E402
import torch  # noqa: E402
from sections import elementwise, inplace, reach, swap, tradeoff, training  # noqa: E402

import sigact  # noqa: E402
from sigact._timing import keep_freed_memory  # noqa: E402
from sigact.tools import report  # noqa: E402
from sigact.tools.machine import machine, provenance  # noqa: E402

# In the order they run and print.
SECTIONS = {"elementwise": elementwise, "training": training, "inplace": inplace, "swap": swap, "reach": reach,
            "tradeoff": tradeoff}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes, few rounds, a model or a few in each section: a smoke run")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS), metavar="SECTION",
                        help=f"run only these sections ({', '.join(SECTIONS)})")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--plot", type=Path, metavar="DIR",
                        help="also write benchmark_speed_ratio.png and tradeoff.png (when measured) to DIR")
    args = parser.parse_args(argv)

    timing = {"rounds": 2, "seconds": 0.01} if args.quick else {"rounds": 7, "seconds": 0.1}
    kept = keep_freed_memory()
    print(f"# sigact benchmarks{' (--quick)' if args.quick else ''}\n")
    print(f"- machine: {report.format_machine(machine())}")
    print(f"- torch {torch.__version__} ({torch.get_num_threads()} threads), jax {jax.__version__}, "
          f"sigact {sigact.__version__}")
    print(f"- timing: {timing['rounds']} alternating rounds of at least {timing['seconds']} s per contender")
    print("- allocator: " + ("glibc keeps freed memory (mallopt), so timings measure kernels, not page faults"
                             if kept else "default") + "\n")
    results = {**provenance(), "versions": {"torch": torch.__version__, "torch_threads": torch.get_num_threads(),
                                            "jax": jax.__version__, "sigact": sigact.__version__},
               "machine": machine(), "quick": args.quick, "allocator_keeps_freed_memory": kept}
    for section, module in SECTIONS.items():
        if section in args.only:
            results[section] = module.measure(args.quick, timing)
            module.show(results[section])
            sys.stdout.flush()
    if args.json:
        results["machine"]["load_average_1min_end"] = machine()["load_average_1min"]
        report.write_json(results, args.json)
    if args.plot and "tradeoff" in results:
        from sigact.tools import plots

        plots.tradeoff(results["tradeoff"]["rows"], args.plot / "tradeoff.png")
    if args.plot and "elementwise" in results:
        from sigact.tools import plots

        by_framework = {"torch": {"speed": []}, "jax": {"speed": []}}
        for row in results["elementwise"]["speed"]:
            by_framework[row["framework"]]["speed"].append(row)
        plots.speed_ratio(by_framework, args.plot / "benchmark_speed_ratio.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
