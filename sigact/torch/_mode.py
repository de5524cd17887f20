"""A function mode that routes the functional sigmoid calls of unmodified code to sigact."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

from sigact.torch._functional import sigmoid, sigmoid_

_ROUTES = {
    torch.sigmoid: sigmoid,
    F.sigmoid: sigmoid,
    torch.special.expit: sigmoid,
    torch.Tensor.sigmoid: sigmoid,
    torch.sigmoid_: sigmoid_,
    torch.Tensor.sigmoid_: sigmoid_,
}


class SigmoidMode(TorchFunctionMode):
    """Inside this block, ``torch.sigmoid`` and its aliases run sigact's sigmoid.

    Models that call the functional form rather than ``nn.Sigmoid`` (a squeeze-and-excitation
    gate, a hand-written swish ``x * torch.sigmoid(x)``) get sigact with no change to their code.
    Routed: ``torch.sigmoid``, ``torch.nn.functional.sigmoid``, ``torch.special.expit`` and
    ``Tensor.sigmoid`` to :func:`sigact.torch.sigmoid`; ``torch.sigmoid_`` and ``Tensor.sigmoid_``
    to :func:`sigact.torch.sigmoid_`. ``nn.Sigmoid`` modules call ``torch.sigmoid`` and so are
    routed too. Every other call, and a sigmoid call with an ``out=`` argument, passes through
    untouched.

    Example:
        >>> import torch, sigact.torch as st
        >>> x = torch.randn(3, requires_grad=True)
        >>> with st.SigmoidMode():
        ...     y = x * torch.sigmoid(x)
        >>> y.grad_fn.next_functions[1][0].name()
        'SigmoidFunctionBackward'
    """

    def __torch_function__(self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        route = _ROUTES.get(func)
        if route is None or kwargs.keys() - {"input"} or len(args) + len(kwargs) != 1:
            return func(*args, **kwargs)
        return route(*args, **kwargs)

    def __repr__(self) -> str:
        return "SigmoidMode()"
