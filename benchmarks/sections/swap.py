"""The ``swap`` section of ``benchmarks/run.py``.

``sigact.jax.swap_sigmoid`` and ``swap`` on whole models under jit: XLA temp memory of Flax's cells and of
scanned MLPs (with and without remat policies), a jitted Flax LSTM training step through swap (median of
pairwise ratios), and the eager per-call cost of swapped functions.
"""

from __future__ import annotations

import statistics

import jax

import sigact.jax as sj
from sections.common import log, table
from sigact._saved import human_bytes
from sigact._timing import interleaved_medians, perf_counter_timer
from sigact.tools import jax_models
from sigact.tools.report import format_duration


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


def measure(quick: bool, timing: dict) -> dict:
    rnn = {"batch": 4, "steps": 8, "inputs": 8, "features": 8} if quick else {}
    mlp = {"layers": 2, "batch": 16, "width": 8, "hidden": 16} if quick else {}
    # --quick: one of each kind, a cell, a scanned MLP, the MLP under a policy (tests/test_jax_models.py and
    # test_jax_remat.py measure the others).
    cells = ("LSTMCell",) if quick else ("LSTMCell", "GRUCell", "OptimizedLSTMCell")
    mlps = [("sigmoid", None), ("sigmoid", "nothing_saveable")] if quick else \
        [(a, r) for a in ("silu", "sigmoid") for r in (None, "dots_saveable", "nothing_saveable")]
    builds = [lambda cell=cell: jax_models.flax_rnn(cell, **rnn) for cell in cells]
    # Remat by remat_scans, as the plan's candidates do: every scan body under the policy.
    builds += [lambda a=a, r=r: (jax_models.remat(jax_models.scanned_mlp(a, **mlp), r) if r
                                 else jax_models.scanned_mlp(a, **mlp))
               for a, r in mlps]
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


def show(result: dict) -> None:
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
