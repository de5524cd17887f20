"""sigact.jax.plan on three models, and sigact.jax.largest on the first: the figures of docs/memory.md's
"Choosing: swap or remat".

    python benchmarks/plan_models.py [--quick] [--rounds N] [--budget-mib M] [--json PATH]

The models (sigact/tools/jax_models.py builds them, each a loss of its parameters):
  - Flax linen nn.RNN(LSTMCell), batch 16, length 512, 128 inputs, 256 features;
  - Keras 3 GRU through stateless_call, the same sizes (Keras offers no remat knob of its own);
  - a scanned SwiGLU stack, 8 layers h + (silu(h @ W1) * (h @ W3)) @ W2, batch 512, 512->1536->512.
Each gets sigact.jax.plan with its default candidates (and its wall time); the LSTM also gets
sigact.jax.largest over the batch size, on temp memory alone and on the whole budget (temp, arguments
and outputs). The JSON holds each plan's to_json(), the command, the machine, the versions and the date;
docs/generate.py (its renderers in docs/renderers/memory.py) writes docs/memory.md's tables from it.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")

import sigact.jax as sj  # noqa: E402
from sigact._timing import keep_freed_memory  # noqa: E402
from sigact.jax._plan import environment  # noqa: E402
from sigact.tools import jax_models as models  # noqa: E402

RNN = {"batch": 16, "steps": 512, "inputs": 128, "features": 256}
MLP = {"layers": 8, "batch": 512, "width": 512, "hidden": 1536}
QUICK_RNN = {"batch": 4, "steps": 16, "inputs": 8, "features": 16}
QUICK_MLP = {"layers": 2, "batch": 32, "width": 16, "hidden": 64}
# swap + remat_scans(dots_saveable) compiles to remat_scans(dots_saveable)'s program on the LSTM.
LARGEST = ["builtin", "swap", "remat_scans(nothing_saveable)", "remat_scans(dots_saveable)"]


def builders(quick: bool) -> list:
    rnn, mlp = (QUICK_RNN, QUICK_MLP) if quick else (RNN, MLP)
    return [lambda: models.flax_rnn("LSTMCell", **rnn), lambda: models.keras_rnn("GRU", **rnn),
            lambda: models.scanned_mlp("swiglu", **mlp)]


def largest_batches(quick: bool, budget_bytes: int) -> list[dict]:
    """The largest batch of the Flax LSTM within the budget, on temp memory alone and on the whole."""
    rnn = {k: v for k, v in (QUICK_RNN if quick else RNN).items() if k != "batch"}
    loss = models.flax_rnn("LSTMCell", batch=1, **rnn).loss
    out = []
    for temp_only in (True, False):
        started = time.perf_counter()
        fits = sj.largest(lambda n: models.flax_rnn("LSTMCell", batch=n, **rnn).args, loss, budget_bytes,
                          candidates=LARGEST, temp_only=temp_only)
        print(fits, flush=True)
        out.append({"temp_only": temp_only, "budget_bytes": budget_bytes, "largest": dict(fits),
                    "compilations": fits.compilations, "wall_s": time.perf_counter() - started})
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")
    parser.add_argument("--rounds", type=int, default=5, help="the plans' timing rounds (default 5)")
    parser.add_argument("--budget-mib", type=float, default=512.0,
                        help="the largest-batch budget, in MiB (default 512)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)

    kept = keep_freed_memory()
    results: dict = {"command": shlex.join(["python", "benchmarks/plan_models.py", *sys.argv[1:]]),
                     **environment(),
                     "quick": args.quick, "allocator_keeps_freed_memory": kept, "plans": []}
    for build in builders(args.quick):
        model = build()
        print(f"\n## {model.name}\n", flush=True)
        started = time.perf_counter()
        plan = sj.plan(model.loss, *model.args, rounds=args.rounds)
        wall = time.perf_counter() - started
        print(plan)
        print(f"(plan took {wall:.1f} s)", flush=True)
        results["plans"].append({"model": model.name, "wall_s": wall, **plan.to_json()})
    print("\n## largest batch, Flax LSTMCell\n", flush=True)
    results["largest"] = largest_batches(args.quick, int(args.budget_mib * 2**20))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1) + "\n")
        print(f"\nJSON written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
