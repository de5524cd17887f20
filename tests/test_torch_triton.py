"""The CUDA Triton backward, checked on the CPU under Triton's interpreter; and the CPU path never
loads it."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
import sigact.torch as st  # noqa: E402
from tests.helpers import assert_bitwise  # noqa: E402


def test_triton_kernel_matches_the_builtin_cuda_rounding_under_the_interpreter():
    pytest.importorskip("triton")
    script = Path(__file__).with_name("triton_interpreted.py")
    env = {**os.environ, "TRITON_INTERPRET": "1"}
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    # 16 dtypes x sizes, 5 refusals, 4 NaN payload sets, 2 bfloat16 rounding, 3 offsets, 1 launch past 2^31
    assert len(lines) == 16 + 5 + 4 + 2 + 3 + 1 and all(line.startswith("ok ") for line in lines)
    assert "ok CUDA's canonical NaN 0x7FFFFFFF stays NaN in bfloat16" in lines
    assert "ok float16 kernel around element 2^31" in lines


def test_cpu_backward_never_imports_triton():
    code = ("import sys, torch, sigact.torch as st; x = torch.randn(8, requires_grad=True); "
            "st.sigmoid(x).sum().backward(); print('triton' in sys.modules, 'sigact.torch._triton' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (CI has none)")
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64], ids=str)
def test_cuda_gradients_are_bitwise_equal_to_the_builtin(dtype):
    x = (torch.randn(1 << 20, device="cuda", dtype=torch.float64) * 8).to(dtype).requires_grad_()
    grad = torch.randn_like(x)
    ours = torch.autograd.grad(st.sigmoid(x), x, grad)[0]
    ref = torch.autograd.grad(torch.sigmoid(x), x, grad)[0]
    assert_bitwise(ours, ref)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (CI has none)")
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32], ids=str)
def test_cuda_nans_made_by_the_arithmetic_stay_nan(dtype):
    # inf · 0 and NaN inputs: the GPU makes its canonical NaN (0x7FFFFFFF in float32), which the
    # bfloat16 rounding would carry into -0.0 without the kernel's NaN guard.
    pytest.importorskip("triton")
    from sigact.torch import _triton

    inf, nan = float("inf"), float("nan")
    grad = torch.tensor([inf, -inf, inf, nan, 1.0, 0.0, -inf, 2.0], device="cuda", dtype=dtype)
    y = torch.tensor([0.0, 1.0, 1.0, 0.5, nan, 0.5, 0.0, 0.25], device="cuda", dtype=dtype)
    assert_bitwise(_triton.sigmoid_grad(grad, y), torch.ops.aten.sigmoid_backward(grad, y))
