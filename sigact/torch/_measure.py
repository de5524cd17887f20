"""The PyTorch measurements behind ``sigact report`` and the benchmarks: correctness, memory, speed."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn
from torch.utils import benchmark

import sigact.torch as st
from sigact._parity import cpu_mode_passes
from sigact._timing import speed_rows


def naive_sigmoid(x: Tensor) -> Tensor:
    """The composite many models still write by hand; autograd keeps exp(−x) and the result."""
    return 1 / (1 + torch.exp(-x))


class NaiveSigmoid(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        return naive_sigmoid(x)


ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "builtin": torch.sigmoid,
    "sigact": st.sigmoid,
    "naive": naive_sigmoid,
}
MODULES: dict[str, Callable[[], nn.Module]] = {"builtin": nn.Sigmoid, "sigact": st.Sigmoid, "naive": NaiveSigmoid}


def correctness() -> list[tuple[str, bool]]:
    """Named checks, each True when it passed."""
    x = torch.randn(16, dtype=torch.float64, requires_grad=True)
    checks = [
        ("gradcheck float64 (backward and forward mode)",
         torch.autograd.gradcheck(st.sigmoid, (x,), check_forward_ad=True, raise_exception=False)),
        ("gradgradcheck float64 (second order)",
         torch.autograd.gradgradcheck(st.sigmoid, (x,), raise_exception=False)),
    ]
    for dtype in ("float16", "bfloat16", "float32", "float64"):
        checks.append((f"bitwise parity with torch.sigmoid, {dtype}, forward and backward",
                       cpu_mode_passes("torch", dtype, "sigmoid")))
    return checks


def mlp(activation: str, width: int = 256, depth: int = 8, seed: int = 0) -> nn.Sequential:
    """``depth`` Linear layers, each followed by the named sigmoid; the same weights for every name."""
    torch.manual_seed(seed)
    layers: list[nn.Module] = []
    for _ in range(depth):
        layers += [nn.Linear(width, width), MODULES[activation]()]
    return nn.Sequential(*layers)


def memory(quick: bool = False) -> dict[str, dict[str, int]]:
    """Bytes autograd keeps for backward: one activation of 2^20 elements, and an MLP step."""
    x = torch.randn(2**20, requires_grad=True)
    one = {name: st.audit(fn, x).total_bytes for name, fn in ACTIVATIONS.items()}
    batch = torch.randn(64 if quick else 256, 256)
    step = {}
    for name in MODULES:
        model = mlp(name)
        step[name] = st.audit(lambda b, model=model: model(b).square().mean(), batch).total_bytes
    return {"activation": one, "mlp": step}


def _benchmark_timer(fn: Callable[[], object], seconds: float) -> list[float]:
    measurement = benchmark.Timer(stmt="fn()", globals={"fn": fn}, num_threads=torch.get_num_threads())
    return measurement.blocked_autorange(min_run_time=seconds).times


def forward_backward(fn: Callable[[Tensor], Tensor], n: int, dtype: torch.dtype) -> Callable[[], object]:
    """One call: y = fn(x), then the gradient of x for a fixed upstream gradient."""
    x = torch.randn(n, dtype=dtype, requires_grad=True)
    grad = torch.randn(n, dtype=dtype)
    return lambda: torch.autograd.grad(fn(x), x, grad)


EXECUTIONS = ("eager", "compile")


def speed(
    sizes: list[int],
    *,
    execution: str = "eager",
    dtype: torch.dtype = torch.float32,
    rounds: int = 5,
    seconds: float = 0.05,
    on_size: Callable[[int], None] = lambda n: None,
) -> list[dict]:
    """Median forward+backward seconds per call at each size, built-in, sigact and naive side by side.

    ``execution="compile"`` times each function under ``torch.compile(fullgraph=True)``, compiled
    afresh for each size (static shapes, as a model of fixed shape gets).
    """
    if execution not in EXECUTIONS:
        raise ValueError(f"execution must be one of {EXECUTIONS}, got {execution!r}")

    def contenders_at(n: int) -> dict[str, Callable[[], object]]:
        fns = ACTIVATIONS
        if execution == "compile":
            torch.compiler.reset()  # one code object per function: sizes would pile up to the recompile limit
            fns = {name: torch.compile(fn, fullgraph=True, dynamic=False) for name, fn in ACTIVATIONS.items()}
        return {name: forward_backward(fn, n, dtype) for name, fn in fns.items()}

    return speed_rows(sizes, contenders_at, _benchmark_timer, rounds=rounds, seconds=seconds, on_size=on_size,
                      execution=execution, dtype=str(dtype).removeprefix("torch."))


def curves(xs) -> tuple:
    """σ and σ′ at ``xs`` (a NumPy array), computed by sigact's forward and hand-written backward."""
    x = torch.as_tensor(xs, dtype=torch.float32).requires_grad_()
    y = st.sigmoid(x)
    (dy,) = torch.autograd.grad(y, x, torch.ones_like(y))
    return y.detach().numpy(), dy.numpy()
