"""The sigmoid's derivative from its output alone, σ′ = y(1 − y), in each evaluation order the built-in uses."""

from __future__ import annotations

import functools
from types import ModuleType

import torch
from torch import Tensor

# `sigact verify` turns this off to check, on CUDA, the tensor-op path the kernel replaces.
TRITON_ENABLED = True


@functools.cache
def _triton() -> ModuleType | None:
    """The Triton kernel module, or None where triton is not installed."""
    try:
        from sigact.torch import _triton
    except ImportError:
        return None
    return _triton


def _plain(t: Tensor) -> bool:
    """An ordinary tensor: no subclass, no vmap batching (torch.func's or autograd's own)."""
    return (
        type(t) is Tensor
        and not torch._C._functorch.is_functorch_wrapped_tensor(t)
        and not torch._C._functorch.is_legacy_batchedtensor(t)
    )


def sigmoid_grad(grad: Tensor, y: Tensor) -> Tensor:
    """The vector-Jacobian product of the sigmoid, written from its output alone.

    Since σ′(x) = σ(x)(1 − σ(x)) and y = σ(x), the gradient of the input is ``grad · (1 − y) · y``.
    The rounding follows the built-in kernel ``aten::sigmoid_backward`` exactly:

    * float32, float64, and float16 on the CPU: ``(grad · (1 − y)) · y``, each product rounded in
      the tensor's dtype;
    * bfloat16, and float16 off the CPU (CUDA computes in float32 for both): the same expression
      in float32, rounded once at the end;
    * complex: ``grad · conj((1 − y) · y)``, the conjugate because PyTorch's gradients are
      conjugate Wirtinger derivatives.

    When no graph is being recorded (the usual backward, without ``create_graph``) and both
    tensors are plain, it works in one buffer, the result: no temporaries beyond it. Large CPU
    tensors go through it chunk by chunk so each chunk stays in cache (half types via float32
    scratch chunks), and on CUDA, with triton installed, it is one Triton kernel
    (``sigact.torch._triton``). Otherwise it
    uses out-of-place ops, so that the result is itself differentiable (double backward) and
    batchable (vmap may hand it a batched ``grad`` next to an unbatched ``y``). Under
    ``torch.compile`` see :func:`compiled_sigmoid_grad`.

    >>> y = torch.tensor([0.5])
    >>> sigmoid_grad(torch.ones(1), y)  # σ′(0) = 0.5 · 0.5
    tensor([0.2500])
    """
    if y.is_complex():
        return grad * ((1 - y) * y).conj()
    one_pass = not torch.is_grad_enabled() and _plain(grad) and _plain(y)
    if one_pass and TRITON_ENABLED and y.device.type == "cuda" and (kernel := _triton()) and kernel.applies(grad, y):
        return kernel.sigmoid_grad(grad, y)
    in_float32 = y.dtype == torch.bfloat16 or (y.dtype == torch.float16 and y.device.type != "cpu")
    blockable = (y.device.type == "cpu" and y.numel() >= _CHUNKED_FROM and grad.shape == y.shape
                 and y.is_contiguous() and grad.is_contiguous())
    if one_pass and blockable and grad.dtype == y.dtype:
        return _chunked_sigmoid_grad(grad, y, torch.float32 if in_float32 else y.dtype)
    if in_float32:
        return sigmoid_grad(grad.float(), y.float()).to(y.dtype)
    if not one_pass:
        return grad * (1 - y) * y
    # (1 − y) · grad equals grad · (1 − y) bit for bit: IEEE multiplication is commutative.
    result = torch.rsub(y, 1)
    result.mul_(grad)
    return result.mul_(y)


# On the CPU, elements per chunk: a chunk of grad, y and the result (1.5 MiB in float32, split
# over the threads) stays in L2 cache across the passes, so memory sees each tensor once instead of three
# times. Below _CHUNKED_FROM elements the extra op dispatches cost more than that saves. Both
# measured on a 2-core Xeon VM: see docs/benchmarks.md.
_CHUNK = 1 << 17
_CHUNKED_FROM = 1 << 21


def _chunked_sigmoid_grad(grad: Tensor, y: Tensor, compute_dtype: torch.dtype) -> Tensor:
    # The same roundings per element as above, chunk by chunk: −y is exact, so (−y) + 1 is the
    # rounded 1 − y, then · grad, then · y. For half types each chunk goes through float32
    # scratch buffers and is rounded once on the way back, as the built-in does in registers.
    result = torch.empty_like(y)
    flat_result, flat_y, flat_grad = result.view(-1), y.view(-1), grad.view(-1)
    upcast = compute_dtype != y.dtype
    if upcast:
        scratch_y, scratch_grad, scratch_result = (torch.empty(_CHUNK, dtype=compute_dtype) for _ in range(3))
    for start in range(0, flat_y.numel(), _CHUNK):
        stop = min(start + _CHUNK, flat_y.numel())
        part, y_part, grad_part = flat_result[start:stop], flat_y[start:stop], flat_grad[start:stop]
        out = part
        if upcast:
            size = stop - start
            y_part, grad_part = scratch_y[:size].copy_(y_part), scratch_grad[:size].copy_(grad_part)
            out = scratch_result[:size]
        torch.neg(y_part, out=out).add_(1).mul_(grad_part).mul_(y_part)
        if upcast:
            part.copy_(out)
    return result


def compiled_sigmoid_grad(grad: Tensor, y: Tensor) -> Tensor:
    """The same derivative in the order the built-in takes under ``torch.compile``.

    There ``aten::sigmoid_backward`` is decomposed (``torch._decomp``) into
    ``grad · (y · (1 − y))``, computed in float32 for float16 and bfloat16 and rounded once, and
    inductor compiles that. Following it keeps compiled sigact bitwise equal to the compiled
    built-in (whose gradients differ from eager ones in the last bit here and there).
    """
    dtype = torch.promote_types(grad.dtype, y.dtype)
    if dtype in (torch.float16, torch.bfloat16):
        return compiled_sigmoid_grad(grad.float(), y.float()).to(dtype)
    return grad * (y * (1 - y)).conj_physical()


def sigmoid_jvp(tangent: Tensor, y: Tensor) -> Tensor:
    # Forward mode is the backward formula read as J·t. For complex inputs the Jacobian is
    # σ′ itself, not its conjugate, hence the two conjugations (exact, so no rounding changes).
    if tangent.is_complex():
        return sigmoid_grad(tangent.conj(), y).conj()
    return sigmoid_grad(tangent, y)
