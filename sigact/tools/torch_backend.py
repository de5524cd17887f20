"""PyTorch's side of the commands (:class:`sigact.tools.backend.Backend`): what ``sigact report`` and the
benchmarks measure (correctness, memory, speed) and the modes ``sigact verify`` runs, each the built-in and
sigact on one chunk of inputs."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import numpy as np
import torch
import torch.autograd.forward_ad as forward_ad
from torch import Tensor, nn
from torch.utils import benchmark

import sigact.torch as st
from sigact._timing import speed_rows
from sigact.tools.parity import COMPLEX_DTYPES, DTYPES, REAL_DTYPES, Mode, Outcome, cpu_mode_passes
from sigact.torch import _backward


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
                       cpu_mode_passes("torch", dtype, "sigmoid", modes("cpu")["sigmoid"][0])))
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


def benchmark_timer(fn: Callable[[], object], seconds: float) -> list[float]:
    """Seconds per call of ``fn``, several blocks of at least ``seconds`` in all, by ``torch.utils.benchmark``
    (which synchronises CUDA and uses torch's thread count): the timer the PyTorch rows are measured with."""
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

    return speed_rows(sizes, contenders_at, benchmark_timer, rounds=rounds, seconds=seconds, on_size=on_size,
                      execution=execution, dtype=str(dtype).removeprefix("torch."))


def curves(xs) -> tuple:
    """σ and σ′ at ``xs`` (a NumPy array), computed by sigact's forward and hand-written backward."""
    x = torch.as_tensor(xs, dtype=torch.float32).requires_grad_()
    y = st.sigmoid(x)
    (dy,) = torch.autograd.grad(y, x, torch.ones_like(y))
    return y.detach().numpy(), dy.numpy()


# -- sigact verify's modes -------------------------------------------------------------------------

# torch.compile is checked on a sample of this many float32 and float64 inputs (all of float32 with
# --full): every chunk compiles afresh.
COMPILE_SAMPLE = 1 << 14


def devices() -> dict[str, str | None]:
    """Each device, and None if it can be checked or why not."""
    return {"cpu": None, "cuda": None if torch.cuda.is_available() else "torch.cuda.is_available() is False"}


def accelerators() -> list[str]:
    """The GPUs this run could check, named as a bug report needs them (name, compute capability, CUDA)."""
    return [f"{torch.cuda.get_device_name(i)} (sm_{''.join(map(str, torch.cuda.get_device_capability(i)))}, "
            f"CUDA {torch.version.cuda})" for i in range(torch.cuda.device_count())]


def tensor(patterns: np.ndarray, dtype: str, device: str) -> Tensor:
    """The bit patterns as a tensor of ``dtype`` (complex: (n, 2) real and imaginary patterns)."""
    if dtype == "bfloat16":
        return torch.from_numpy(patterns.view(np.int16)).view(torch.bfloat16).to(device)
    real = {"float16": np.float16, "float32": np.float32, "float64": np.float64,
            "complex64": np.float32, "complex128": np.float64}[dtype]
    t = torch.from_numpy(np.ascontiguousarray(patterns).view(real))
    return (torch.view_as_complex(t) if dtype in COMPLEX_DTYPES else t).to(device)


def _value_and_grad(fn: Callable[[Tensor], Tensor], x: Tensor, g: Tensor, create_graph: bool = False):
    leaf = x.clone().requires_grad_()
    y = fn(leaf)
    (gx,) = torch.autograd.grad(y, leaf, g, create_graph=create_graph)
    return y.detach(), gx.detach()


def _in_place(fn: Callable[[Tensor], Tensor]) -> Callable[[Tensor], Tensor]:
    return lambda leaf: fn(leaf.clone())  # in place on a non-leaf, as in a network


def _forward_mode(fn: Callable[[Tensor], Tensor], x: Tensor, t: Tensor):
    with forward_ad.dual_level():
        out = forward_ad.unpack_dual(fn(forward_ad.make_dual(x, t)))
        return out.primal, out.tangent


@contextlib.contextmanager
def _without_triton() -> Iterator[None]:
    _backward.TRITON_ENABLED = False
    try:
        yield
    finally:
        _backward.TRITON_ENABLED = True


def _compiled(fn: Callable[[Tensor], Tensor]) -> Callable[[Tensor], Tensor]:
    torch.compiler.reset()  # one dtype at a time; no recompilation limits carried over
    return torch.compile(fn, fullgraph=True, dynamic=False)


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


# Memory layouts a chunk can be checked in. The kernels take different loops for different
# layouts (the built-in's complex kernel leaves its vectorised loop for a fused scalar one when
# the input and the upstream gradient are laid out differently), so each gets rows of its own.
ROWS_OF = 16


def _transposed(t: Tensor) -> Tensor:
    """The same n values, logically a 1-D run, held as a transposed (m, 16) matrix: padded to a
    multiple of 16 by repeating the first elements."""
    padded = torch.cat([t, t[: -t.shape[0] % ROWS_OF]]) if t.shape[0] % ROWS_OF else t
    return padded.view(-1, ROWS_OF).t().contiguous().t()


def _strided(t: Tensor) -> Tensor:
    """The same values every other element of a buffer twice the size: a stride of 2."""
    buffer = torch.zeros(2 * t.shape[0], dtype=t.dtype, device=t.device)
    buffer[::2] = t
    return buffer[::2]


LAYOUTS: dict[str, Callable[[Tensor, Tensor], tuple[Tensor, Tensor]]] = {
    "contiguous": lambda x, g: (x, g),
    # The case: a transposed input (so a transposed output y) against a contiguous gradient.
    "transposed input": lambda x, g: (_transposed(x), _transposed(g).contiguous()),
    "strided gradient": lambda x, g: (x, _strided(g)),
}


def _mode(device: str, run: Callable[[Tensor, Tensor], tuple[tuple, tuple]], context=contextlib.nullcontext,
          layout: str = "contiguous") -> Mode:
    def mode(patterns: np.ndarray, gradients: np.ndarray, dtype: str) -> Outcome:
        x = tensor(patterns, dtype, device)
        g = torch.from_numpy(np.array(gradients)).to(device=device, dtype=x.dtype)
        n = x.shape[0]
        laid_x, laid_g = LAYOUTS[layout](x, g)
        # The built-in's complex CPU kernel runs the scalar tail of each thread's range (its length
        # mod the vector width) in compiled code with fused multiply-adds (docs/api.md). On one
        # thread that tail is the tensor's last n mod 16 elements at most; differences there are
        # counted apart, as known. The other layouts run its scalar loop throughout, which sigact
        # follows: no tail.
        complex_cpu = x.is_complex() and device == "cpu"
        with context(), (_one_thread() if complex_cpu else contextlib.nullcontext()):
            (y_ref, g_ref), (y, gx) = run(laid_x, laid_g)
        flat = [t.reshape(-1)[:n] for t in (y_ref, y, g_ref, gx)]
        tail = n % 16 if complex_cpu and layout == "contiguous" else 0
        return Outcome(x, g, (flat[0], flat[1]), (flat[2], flat[3]), known_tail=tail)

    return mode


def modes(device: str) -> dict[str, tuple[Mode, tuple[str, ...], int | None]]:
    """name -> (mode, dtypes, sample size or None for the dtype's default inputs)."""
    both = lambda run: lambda x, g: (run(torch.sigmoid, x, g), run(st.sigmoid, x, g))  # noqa: E731
    found = {
        "sigmoid": (_mode(device, both(_value_and_grad)), DTYPES, None),
        "sigmoid_": (_mode(device, lambda x, g: (_value_and_grad(_in_place(torch.sigmoid_), x, g),
                                                 _value_and_grad(_in_place(st.sigmoid_), x, g))), DTYPES, None),
        "create_graph": (_mode(device, both(lambda f, x, g: _value_and_grad(f, x, g, create_graph=True))),
                         DTYPES, None),
        "jvp": (_mode(device, both(_forward_mode)), DTYPES, None),
        "compile": (_mode(device, lambda x, g: (_value_and_grad(_compiled(torch.sigmoid), x, g),
                                                _value_and_grad(_compiled(st.sigmoid), x, g))),
                    REAL_DTYPES, COMPILE_SAMPLE),
    }
    for layout in list(LAYOUTS)[1:]:
        found[f"sigmoid, {layout}"] = (_mode(device, both(_value_and_grad), layout=layout), DTYPES, None)
    if device == "cuda":
        found["sigmoid, no Triton"] = (_mode(device, both(_value_and_grad), _without_triton), DTYPES, None)
    return found
