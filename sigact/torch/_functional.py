"""The functional forms, which pick the Function variant for eager or compiled code."""

from __future__ import annotations

import torch
from torch import Tensor

from sigact.torch._function import (
    CompilableSigmoidFunction,
    CompilableSigmoidInplaceFunction,
    SigmoidFunction,
    SigmoidInplaceFunction,
)


def sigmoid(input: Tensor) -> Tensor:
    r"""σ(x) = 1 / (1 + e^{−x}), elementwise, saving only the output for backward.

    A drop-in for ``torch.sigmoid``: the same values, dtype, shape and strides, and gradients equal
    to the built-in's bit for bit on the CPU. Integer and bool tensors are promoted as the built-in
    promotes them; what the built-in refuses (lists, ``None``, sparse layouts) raises the same
    error type here.

    Args:
        input: a tensor of any shape.

    Returns:
        σ(input), a new tensor.

    Example:
        >>> import torch, sigact.torch as st
        >>> x = torch.tensor([-2.0, 0.0, 2.0], requires_grad=True)
        >>> y = st.sigmoid(x)
        >>> y
        tensor([0.1192, 0.5000, 0.8808], grad_fn=<SigmoidFunctionBackward>)
        >>> y.sum().backward()
        >>> x.grad  # σ′(x) = σ(x)(1 − σ(x))
        tensor([0.1050, 0.2500, 0.1050])
    """
    if torch.compiler.is_compiling():
        return CompilableSigmoidFunction.apply(input)
    return SigmoidFunction.apply(input)


def sigmoid_(input: Tensor) -> Tensor:
    r"""The in-place form of :func:`sigmoid`, like ``Tensor.sigmoid_``: ``input`` becomes σ(input).

    Returns ``input``. Autograd sees the change (``mark_dirty``): a leaf that requires grad
    raises, as it does for the built-in, and a later in-place change to the result makes
    backward raise instead of returning a wrong gradient.

    Example:
        >>> import torch, sigact.torch as st
        >>> x = torch.zeros(2)
        >>> st.sigmoid_(x) is x, x
        (True, tensor([0.5000, 0.5000]))
    """
    if torch._C._are_functorch_transforms_active():
        # autograd.Function cannot return an input as-is under torch.func transforms (its vmap
        # rule needs a view), so there the in-place form writes the out-of-place result back.
        return input.copy_(sigmoid(input))
    if torch.compiler.is_compiling():
        return CompilableSigmoidInplaceFunction.apply(input)
    return SigmoidInplaceFunction.apply(input)
