"""The autograd Functions: the forward is the built-in kernel, the backward is σ′ = σ(1 − σ) by hand.

Two pairs share one forward: the eager Functions, with forward mode (``jvp``), and the compilable
ones, which ``torch.compile`` traces. TorchDynamo refuses a Function that defines a ``jvp`` of its
own ("Unsupported custom jvp"), so the compilable pair defines none, and its backward takes the
compiled built-in's evaluation order (:func:`compiled_sigmoid_grad`).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from sigact.torch._backward import sigmoid_grad
from sigact.torch._compile_op import compiled_sigmoid_grad
from sigact.torch._forward_mode import sigmoid_jvp


class _SigmoidForward(torch.autograd.Function):
    """The forward both pairs share: the built-in kernel, and only its output saved."""

    generate_vmap_rule = True

    @staticmethod
    def forward(x: Tensor) -> Tensor:
        return torch.sigmoid(x)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Tensor], output: Tensor) -> None:
        ctx.save_for_backward(output)
        ctx.save_for_forward(output)


class _SigmoidInplaceForward(torch.autograd.Function):
    """The in-place forward: the input's memory becomes the output, marked dirty for autograd.

    The saved output is the input tensor itself, so nothing new is allocated for backward either.
    """

    generate_vmap_rule = True

    @staticmethod
    def forward(x: Tensor) -> Tensor:
        x.sigmoid_()
        return x  # the input object itself: Dynamo only traces mark_dirty on inputs returned as-is

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Tensor], output: Tensor) -> None:
        ctx.mark_dirty(inputs[0])
        ctx.save_for_backward(output)
        ctx.save_for_forward(output)


def _backward(ctx: Any, grad: Tensor) -> Tensor:
    (y,) = ctx.saved_tensors
    return sigmoid_grad(grad, y)


def _compiled_backward(ctx: Any, grad: Tensor) -> Tensor:
    (y,) = ctx.saved_tensors
    return compiled_sigmoid_grad(grad, y)


class SigmoidFunction(_SigmoidForward):
    r"""σ(x) = 1 / (1 + e^{−x}) as an autograd Function that saves only its output.

    ``forward`` runs the framework's own sigmoid kernel, so values are the built-in's bit for bit.
    ``setup_context`` saves the output ``y`` through ``save_for_backward`` (so an in-place change
    to ``y`` after the forward makes backward raise, never return a wrong gradient), and
    ``backward`` computes ``grad · (1 − y) · y`` by hand; see :func:`sigmoid_grad`.

    It supports double backward, forward-mode AD (``jvp``) and ``torch.func`` transforms
    (``generate_vmap_rule``). Call it through :func:`sigact.torch.sigmoid`, which also picks the
    variant that ``torch.compile`` can trace.

    >>> x = torch.tensor([0.0, 2.0], requires_grad=True)
    >>> y = SigmoidFunction.apply(x)
    >>> y.sum().backward()
    >>> torch.equal(x.grad, y.detach() * (1 - y.detach()))
    True
    """

    backward = staticmethod(_backward)

    @staticmethod
    def jvp(ctx: Any, tangent: Tensor) -> Tensor:
        (y,) = ctx.saved_tensors
        return sigmoid_jvp(tangent, y)


class SigmoidInplaceFunction(_SigmoidInplaceForward):
    """The in-place form of :class:`SigmoidFunction`."""

    backward = staticmethod(_backward)

    @staticmethod
    def jvp(ctx: Any, tangent: Tensor) -> Tensor:
        # The input was changed in place, so forward AD wants its tangent changed in place too.
        (y,) = ctx.saved_tensors
        return tangent.copy_(sigmoid_jvp(tangent, y))


class CompilableSigmoidFunction(_SigmoidForward):
    """:class:`SigmoidFunction` for ``torch.compile``: no ``jvp``, the compiled backward."""

    backward = staticmethod(_compiled_backward)


class CompilableSigmoidInplaceFunction(_SigmoidInplaceForward):
    """:class:`SigmoidInplaceFunction` for ``torch.compile``: no ``jvp``, the compiled backward."""

    backward = staticmethod(_compiled_backward)
