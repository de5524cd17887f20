"""The sigmoid's derivative from its output alone, σ′ = y(1 − y), in each evaluation order the built-in uses.

:func:`sigmoid_grad` is the eager backward; the backward under ``torch.compile`` is in ``_compile_op.py``,
forward mode in ``_forward_mode.py``. Each path below rounds as one of the built-in's
kernels does; which kernel depends on the dtype, the device, the layouts and the compile backend.
"""

from __future__ import annotations

import functools
from types import ModuleType

import torch
from torch import Tensor

from sigact.torch._private import functorch

# `sigact verify` turns this off to check, on CUDA, the tensor-op path the kernel replaces.
TRITON_ENABLED = True


def sigmoid_grad(grad: Tensor, y: Tensor) -> Tensor:
    """The vector-Jacobian product of the sigmoid, written from its output alone.

    Since σ′(x) = σ(x)(1 − σ(x)) and y = σ(x), the gradient of the input is ``grad · (1 − y) · y``.
    The rounding follows the built-in kernel ``aten::sigmoid_backward`` exactly:

    * float32, float64, and float16 on the CPU: ``(grad · (1 − y)) · y``, each product rounded in
      the tensor's dtype;
    * bfloat16, and float16 off the CPU (CUDA computes in float32 for both): the same expression
      in float32, rounded once at the end;
    * complex: ``grad · conj((1 − y) · y)``, the conjugate because PyTorch's gradients are
      conjugate Wirtinger derivatives, with each complex product rounded as the built-in's loop
      for these layouts rounds it (see :func:`_complex_grad`).

    The result has the strides the built-in's result has. Under ``torch.compile`` see
    :func:`compiled_sigmoid_grad`.

    >>> y = torch.tensor([0.5])
    >>> sigmoid_grad(torch.ones(1), y)  # σ′(0) = 0.5 · 0.5
    tensor([0.2500])

    The paths, tried top to bottom; the first that applies is taken:

    1. complex: :func:`_complex_grad` (nothing below handles complex numbers);
    2. a graph is being recorded (``create_graph``), or a tensor is a subclass or batched by vmap:
       out-of-place ops, so the result is itself differentiable and batchable;
    3. CUDA with triton installed: one Triton kernel (``sigact.torch._triton``);
    4. otherwise: in one buffer, the result (float32 for the half types the built-in computes in
       float32, rounded once at the end), with no temporaries beyond it.

    Paths 3 and 4 write into buffers of their own, so they need no graph: path 2 goes first.
    """
    if y.is_complex():
        return _complex_grad(grad, y)
    compute_dtype = _compute_dtype(y)
    if torch.is_grad_enabled() or not (_plain(grad) and _plain(y)):
        return _out_of_place(grad, y, compute_dtype)
    if TRITON_ENABLED and y.device.type == "cuda" and (kernel := _triton()) and kernel.applies(grad, y):
        return kernel.sigmoid_grad(grad, y)
    return _in_one_buffer(grad, y, compute_dtype)


def _compute_dtype(y: Tensor) -> torch.dtype:
    """The dtype the built-in computes in: float32 for bfloat16, and for float16 off the CPU."""
    if y.dtype == torch.bfloat16 or (y.dtype == torch.float16 and y.device.type != "cpu"):
        return torch.float32
    return y.dtype


def _plain(t: Tensor) -> bool:
    """An ordinary tensor: no subclass, no vmap batching (torch.func's or autograd's own)."""
    return (
        type(t) is Tensor
        and functorch is not None  # where this torch cannot tell, none is
        and not functorch.is_functorch_wrapped_tensor(t)
        and not functorch.is_legacy_batchedtensor(t)
    )


@functools.cache
def _triton() -> ModuleType | None:
    """The Triton kernel module, or None where triton is not installed."""
    try:
        from sigact.torch import _triton
    except ImportError:
        return None
    return _triton


def _out_of_place(grad: Tensor, y: Tensor, compute_dtype: torch.dtype) -> Tensor:
    # grad first, as in the built-in, so the result mostly takes the layout the built-in's result
    # takes; a half-type grad is promoted inside the first product (exactly).
    y_wide = y.to(compute_dtype)
    return _in_builtin_layout((grad * (1 - y_wide) * y_wide).to(y.dtype), grad, y)


def _in_builtin_layout(result: Tensor, grad: Tensor, y: Tensor) -> Tensor:
    """``result``, copied into the layout of the built-in's result where out-of-place ops chose
    another: their temporaries are dense, so a broadcast ``y`` (or a broadcast half-type ``grad``,
    which promotion copies) no longer leaves TensorIterator the ties it breaks by the next operand.
    The copy is differentiable. Where strides are not memory (vmap, dispatch subclasses), as is."""
    if not (_strides_are_memory(grad) and _strides_are_memory(y)):
        return result
    shape, outermost_first = _builtin_layout(grad, y)
    strides, step = [0] * len(shape), 1
    for d in reversed(outermost_first):
        strides[d], step = step, step * max(shape[d], 1)
    if result.stride() == tuple(strides):
        return result
    inverse = sorted(range(len(shape)), key=outermost_first.__getitem__)
    return result.permute(outermost_first).contiguous().permute(inverse)


def _in_one_buffer(grad: Tensor, y: Tensor, compute_dtype: torch.dtype) -> Tensor:
    # −y is exact, so (−y) + 1 is the rounded 1 − y; half types are widened exactly on the way in.
    if grad.stride() == y.stride() and grad.shape == y.shape:
        result = torch.rsub(y, 1) if compute_dtype == y.dtype else y.to(compute_dtype).neg_().add_(1)
    else:
        # The built-in's result takes grad's layout where grad's strides decide (a transposed
        # grad), so it is allocated as TensorIterator would.
        result = torch.empty_permuted(*_builtin_layout(grad, y), dtype=compute_dtype, device=y.device)
        result.copy_(y).neg_().add_(1)
    # (1 − y) · grad equals grad · (1 − y) bit for bit: IEEE multiplication is commutative.
    return result.mul_(grad).mul_(y).to(y.dtype)


# -- complex ------------------------------------------------------------------------------------


def _complex_grad(grad: Tensor, y: Tensor) -> Tensor:
    """``grad · conj((1 − y) · y)`` as the built-in's CPU loop rounds it for these layouts.

    The built-in's kernel has two loops. Its vectorised loop rounds each real product of a complex
    product, and so do tensor ops: ``grad * ((1 - y) * y).conj()`` is bitwise equal there. Its
    scalar loop is compiled with fused multiply-adds: the real part of ``(a + bi)(c + di)`` is
    ``fma(a, c, −(b·d))``, rounded once. TensorIterator takes the scalar loop for a whole tensor
    when the layouts rule out the vectorised one (a transposed input against a contiguous
    gradient, a strided slice), and for the last elements of each vectorised row (the known tail,
    docs/api.md). Where the built-in runs scalar throughout, :func:`_complex_grad_fused` follows
    it with ``torch.addcmul``, which is a fused multiply-add in PyTorch's CPU kernels.

    Only out-of-place ops, so the result stays differentiable and works under ``torch.func``.
    """
    memory = _strides_are_memory(grad) and _strides_are_memory(y)
    if y.device.type == "cpu" and memory:
        order, shape, strides = _iteration_order(grad, y)
        # The vectorised loop needs, innermost, both contiguous or one a broadcast scalar.
        innermost = (strides[0][order[0]], strides[1][order[0]]) if order else (1, 1)
        if innermost not in ((1, 1), (0, 1), (1, 0)):
            return _complex_grad_fused(grad.resolve_conj(), y.resolve_conj(), order, shape, strides)
    conj_product = _conj_product_keeping_broadcasts(y) if memory else ((1 - y) * y).conj()
    return _in_builtin_layout(grad * conj_product, grad, y)


def _conj_product_keeping_broadcasts(y: Tensor) -> Tensor:
    """``conj((1 − y) · y)`` with ``y``'s broadcast dimensions kept (stride 0) and its other
    dimensions in ``y``'s order: the product with grad then runs the loop the built-in runs on ``y``
    itself, vectorised. Made dense, a broadcast ``y`` could send that product to the scalar loop,
    whose products are fused (1659 of 4096 elements differed); so could computing ``(1 − y) · y``
    on the strided elements of ``y`` alone, which are therefore copied densely first."""
    compact = y[tuple(slice(0, 1) if stride == 0 else slice(None) for stride in y.stride())]
    strides = compact.stride()
    outermost_first = sorted(range(compact.dim()), key=lambda d: -strides[d])
    inverse = sorted(range(compact.dim()), key=outermost_first.__getitem__)
    dense = compact.permute(outermost_first).contiguous().permute(inverse)
    return torch.conj_physical((1 - dense) * dense).expand(y.shape)


def _strides_are_memory(t: Tensor) -> bool:
    """Whether ``t.stride()`` is how the built-in's kernel would see the memory: not batched by
    vmap at any level (its kernel then runs on the whole batch), and no subclass with a
    ``__torch_dispatch__`` of its own. ``torch.func``'s grad wrappers and ``__torch_function__``
    subclasses keep the strides of the tensor they hold."""
    if functorch is None:  # this torch cannot tell: the vectorised loop's rounding, as for a batched tensor
        return False
    while not (functorch.is_batchedtensor(t) or functorch.is_legacy_batchedtensor(t)):
        if not functorch.is_functorch_wrapped_tensor(t):
            return type(t).__torch_dispatch__ is Tensor.__torch_dispatch__
        t = functorch.get_unwrapped(t)
    return False


def _iteration_order(grad: Tensor, y: Tensor) -> tuple[list[int], torch.Size, list[tuple[int, ...]]]:
    """The dimensions as ``aten::sigmoid_backward(grad, y)``'s TensorIterator walks them,
    innermost first (size-1 dimensions left out: they never decide), with the broadcast shape and
    each operand's strides.

    TensorIterator sorts the dimensions by the operands' strides, grad's first; a zero stride
    leaves the choice to the next operand. Its result is laid out densely in this order.
    """
    shape = torch.broadcast_shapes(grad.shape, y.shape)
    strides = [t.expand(shape).stride() for t in (grad, y)]

    def compare(inner: int, outer: int) -> int:
        # TensorIterator's should_swap: 1 where `inner` belongs further out, −1 where the order
        # holds, 0 where no operand can tell (zero strides).
        for s in strides:
            if s[inner] == 0 or s[outer] == 0:
                continue
            if s[inner] != s[outer]:
                return 1 if s[inner] > s[outer] else -1
            if shape[inner] > shape[outer]:
                return 1
        return 0

    order = [d for d in reversed(range(len(shape))) if shape[d] != 1]
    for i in range(1, len(order)):  # an insertion sort that steps over ties, as TensorIterator's
        j = i
        for k in range(i - 1, -1, -1):
            comparison = compare(order[k], order[j])
            if comparison > 0:
                order[k], order[j] = order[j], order[k]
                j = k
            elif comparison < 0:
                break
    return order, shape, strides


def _builtin_layout(grad: Tensor, y: Tensor) -> tuple[torch.Size, list[int]]:
    """The shape, and the dimensions outermost first, of the built-in's result (for
    ``torch.empty_permuted``)."""
    order, shape, _ = _iteration_order(grad, y)
    return shape, _outermost_first(order, len(shape))


def _outermost_first(order: list[int], ndim: int) -> list[int]:
    """The dimensions of a result laid out densely in ``order`` (innermost first; the size-1
    dimensions it leaves out go outermost), outermost first."""
    return [d for d in range(ndim) if d not in order] + order[::-1]


# The compiler vectorised the built-in's scalar loop in blocks of this many elements, and the last
# (run length mod block) elements of each run round the outer product without fusing it.
# Measured on torch 2.15's AVX-512, AVX2 and DEFAULT kernels (ATEN_CPU_CAPABILITY=...): no blocks
# elsewhere.
_SCALAR_BLOCK = {("AVX512", torch.complex64): 4, ("AVX512", torch.complex128): 2, ("AVX2", torch.complex64): 2}


def _complex_grad_fused(grad: Tensor, y: Tensor, order: list[int], shape: torch.Size,
                        strides: list[tuple[int, ...]]) -> Tensor:
    # The built-in's scalar loop, product by product: u = 1 − y, p = u · y, c = conj(p), grad · c,
    # each real part fma(first product, −second product) and each imaginary part as its compiler
    # contracted it (found by comparing with the built-in over whole tensors; the tests hold it).
    br, bi = y.real, y.imag
    ur, ui = torch.rsub(br, 1), torch.rsub(bi, 0)
    pr = torch.addcmul(-(ui * bi), ur, br)
    pi = torch.addcmul(ui * br, ur, bi)
    cr, ci = pr, -pi
    ar, ai = grad.real, grad.imag
    real = torch.addcmul(-(ai * ci), ar, cr).expand(shape)
    imag = torch.addcmul(ar * ci, ai, cr).expand(shape)
    block = _SCALAR_BLOCK.get((torch.backends.cpu.get_cpu_capability(), y.dtype), 0)
    inner = order[0]
    run = shape[inner]
    single_dim_runs = len(order) == 1 or any(s[order[1]] != s[inner] * run for s in strides)
    if block and run % block and single_dim_runs:
        start, length = run - run % block, run % block
        a_r, a_i, c_r, c_i = (t.expand(shape).narrow(inner, start, length) for t in (ar, ai, cr, ci))
        real = torch.cat([real.narrow(inner, 0, start), a_r * c_r - a_i * c_i], dim=inner)
        imag = torch.cat([imag.narrow(inner, 0, start), a_r * c_i + a_i * c_r], dim=inner)
    # Both parts laid out as the built-in's result, so torch.complex writes that layout.
    outermost_first = _outermost_first(order, len(shape))
    inverse = sorted(range(len(shape)), key=outermost_first.__getitem__)
    real, imag = (part.permute(outermost_first).contiguous().permute(inverse) for part in (real, imag))
    return torch.complex(real, imag)
