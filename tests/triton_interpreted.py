"""Run under TRITON_INTERPRET=1 by tests/test_torch_triton.py: the CUDA kernel's arithmetic on the CPU.

Prints one line per check, "ok <name>" or "FAIL <name>: <detail>", and exits 1 on any failure.
"""

import os
import sys

assert os.environ.get("TRITON_INTERPRET") == "1", "run with TRITON_INTERPRET=1"

import torch  # noqa: E402

from sigact._parity import mismatches  # noqa: E402
from sigact.torch import _triton  # noqa: E402


def cuda_rule(grad, y):
    """aten::sigmoid_backward on CUDA: (g · (1 − y)) · y, in float32 for the half types."""
    if y.dtype in (torch.float16, torch.bfloat16):
        return (grad.float() * (1 - y.float()) * y.float()).to(y.dtype)
    return grad * (1 - y) * y


def same(a, b):
    """Bit for bit (+0 and -0 differ), NaN matching NaN whatever its payload: sigact._parity's rule."""
    return a.dtype == b.dtype and a.shape == b.shape and mismatches(a, b).size == 0


failures = 0
g = torch.Generator().manual_seed(0)
for dtype in _triton.DTYPES:
    for n in (1, 7, _triton.BLOCK, _triton.BLOCK * 3 + 5):
        x = (torch.randn(n, generator=g, dtype=torch.float64) * 8).to(dtype)
        grad = torch.randn(n, generator=g, dtype=torch.float64).to(dtype)
        if n > 6:
            x[:6] = torch.tensor([0.0, 1e4, -1e4, float("inf"), -float("inf"), float("nan")]).to(dtype)
            grad[6] = float("inf")
            grad[1:3] = -grad[1:3].abs()  # y = 1 and y = 0 with a negative gradient: -0 against +0
        y = torch.sigmoid(x)
        ok = _triton.applies(grad, y) and same(_triton.sigmoid_grad(grad, y), cuda_rule(grad, y))
        failures += not ok
        print(f"{'ok' if ok else 'FAIL'} {dtype} n={n}")

y = torch.rand(4, 6)
refused = {
    "transposed": (y.t(), torch.rand(6, 4)),
    "expanded grad": (y, torch.ones(()).expand(4, 6)),
    "dtype mismatch": (y, torch.rand(4, 6, dtype=torch.float64)),
    "complex": (y.to(torch.complex64), y.to(torch.complex64)),
    "empty": (torch.rand(0), torch.rand(0)),
}
for name, (yy, gg) in refused.items():
    ok = not _triton.applies(gg, yy)
    failures += not ok
    print(f"{'ok' if ok else 'FAIL'} refuses {name}")
sys.exit(1 if failures else 0)
