"""The ``training`` section of ``benchmarks/run.py``.

A whole training step: an 8-layer MLP (torch eager, torch.compile, jax.jit) and the SE-style CNN of
examples/torch_swap.py (eager and compiled).
"""

from __future__ import annotations

import contextlib
import copy

import jax
import torch
from torch import nn

import sigact.jax as sj
import sigact.torch as st
from sections.common import log, table
from sigact._timing import interleaved_medians, perf_counter_timer
from sigact.tools import jax_backend
from sigact.tools.report import format_duration
from sigact.tools.torch_backend import benchmark_timer


def torch_training_step(model: nn.Module, x: torch.Tensor, target: torch.Tensor, mode=None):
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)

    def step():
        opt.zero_grad(set_to_none=True)
        with mode or contextlib.nullcontext():
            loss = nn.functional.mse_loss(model(x), target)
        loss.backward()
        opt.step()

    return step


def measure(quick: bool, timing: dict) -> dict:
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
            medians = interleaved_medians(steps, benchmark_timer, **timing)
            results.append({"framework": "torch", "model": name, "mode": "compile" if compiled else "eager",
                            **{f"{k}_s": v for k, v in medians.items()}})
    log("training jax MLP jit")
    params = jax_backend.mlp_params(width=width)
    batch_x = jax.random.normal(jax.random.key(1), (batch, width))
    steps = {}
    for key, act in (("builtin", jax.nn.sigmoid), ("sigact", sj.sigmoid)):
        step = jax.jit(jax_backend.train_step(act))
        steps[key] = lambda step=step: jax.block_until_ready(step(params, batch_x))
    medians = interleaved_medians(steps, perf_counter_timer, **timing)
    results.append({"framework": "jax", "model": f"MLP 8 x {width}, batch {batch}", "mode": "jit",
                    **{f"{k}_s": v for k, v in medians.items()}})
    return {"steps": results}


def show(result: dict) -> None:
    print("## Training step (median per step)\n")
    rows = [[r["framework"], r["model"], r["mode"], format_duration(r["builtin_s"]), format_duration(r["sigact_s"]),
             f"{r['sigact_s'] / r['builtin_s']:.3f}"] for r in result["steps"]]
    print(table(["framework", "model", "mode", "built-in", "sigact", "sigact / built-in"], rows))
    print()
