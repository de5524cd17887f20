"""The backward on CUDA as one Triton kernel: each element of grad and y read once, the result written once.

Eager PyTorch runs the hand-written backward as three elementwise kernels (rsub, mul_, mul_), which
is three passes over memory. On CUDA this kernel makes it one, with the built-in CUDA kernel's
rounding: ``(grad · (1 − y)) · y`` in float32 for float16 and bfloat16 (rounded once, to nearest
even), in the tensor's own dtype for float32 and float64.

It is imported only when a CUDA tensor reaches the backward, and only used for plain, contiguous,
same-shape, same-dtype real tensors with no graph being recorded; everything else takes the
differentiable tensor-op path. Its correctness is tested on the CPU under Triton's interpreter
(``TRITON_INTERPRET=1``).
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl
from torch import Tensor

BLOCK = 2048
DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


@triton.jit
def _round_to_bfloat16(x):
    # float32 -> bfloat16, round to nearest even, by hand: Triton's interpreter truncates instead.
    bits = x.to(tl.uint32, bitcast=True)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    # NaN stays a (quiet) NaN. Without this, the carry of the rounding runs into the exponent and
    # sign: CUDA's canonical NaN 0x7FFFFFFF would become 0x8000 (-0.0), 0x7F808000 +inf.
    rounded = tl.where(x != x, (bits >> 16) | 0x40, rounded)
    return rounded.to(tl.uint16).to(tl.bfloat16, bitcast=True)


@triton.jit
def _block_offsets(BLOCK: tl.constexpr):
    # program_id is int32: past 2^31 elements, program_id * BLOCK in int32 would wrap negative.
    return tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)


@triton.jit
def _sigmoid_backward_kernel(grad_ptr, y_ptr, out_ptr, n, BLOCK: tl.constexpr,
                             IN_FLOAT32: tl.constexpr, TO_BFLOAT16: tl.constexpr):
    offsets = _block_offsets(BLOCK)
    mask = offsets < n
    grad = tl.load(grad_ptr + offsets, mask=mask)
    y = tl.load(y_ptr + offsets, mask=mask)
    if IN_FLOAT32:
        grad = grad.to(tl.float32)
        y = y.to(tl.float32)
    result = grad * (1.0 - y) * y
    if TO_BFLOAT16:
        result = _round_to_bfloat16(result)
    tl.store(out_ptr + offsets, result.to(out_ptr.dtype.element_ty), mask=mask)


def applies(grad: Tensor, y: Tensor) -> bool:
    """Whether the kernel can compute this gradient (else the tensor-op path does)."""
    return (
        y.dtype in DTYPES
        and grad.dtype == y.dtype
        and grad.shape == y.shape
        and grad.device == y.device
        and y.numel() > 0
        and grad.is_contiguous()
        and y.is_contiguous()
    )


def sigmoid_grad(grad: Tensor, y: Tensor) -> Tensor:
    """``grad · (1 − y) · y`` in one pass; call only where :func:`applies` holds."""
    out = torch.empty_like(y)
    _launch(grad, y, out, programs=triton.cdiv(y.numel(), BLOCK))
    return out


def _launch(grad: Tensor, y: Tensor, out: Tensor, programs: int) -> None:
    # Apart from sigmoid_grad so that the interpreter check can run a few chosen programs of a
    # launch over more than 2^31 elements (tests/triton_interpreted.py).
    _sigmoid_backward_kernel[(programs,)](
        grad, y, out, y.numel(), BLOCK=BLOCK,
        IN_FLOAT32=y.dtype in (torch.float16, torch.bfloat16),
        TO_BFLOAT16=y.dtype == torch.bfloat16,
    )
