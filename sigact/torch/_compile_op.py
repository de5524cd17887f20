"""The backward under ``torch.compile``: the operator ``sigact::sigmoid_grad``, registered with
``torch.library`` when this module is imported.

Dynamo traces a Function's backward before the compile backend is known, so the evaluation order the
compiled built-in takes cannot be chosen while tracing; an operator's body runs later, when it can.
"""

from __future__ import annotations

import torch
from torch import Tensor

from sigact.torch._backward import sigmoid_grad
from sigact.torch._private import decomposition_table


def compiled_sigmoid_grad(grad: Tensor, y: Tensor) -> Tensor:
    """The same derivative in the order the built-in takes under ``torch.compile``.

    Which order that is depends on the backend. ``inductor`` decomposes ``aten::sigmoid_backward``
    (``torch._decomp``) into ``grad · (y · (1 − y))``, computed in float32 for float16 and
    bfloat16 and rounded once, and compiles that; ``aot_eager`` and ``eager`` run the eager kernel.
    Dynamo traces a Function's backward before the backend is known, so this is an operator,
    ``sigact::sigmoid_grad``, whose body runs later: while AOTAutograd traces it, it reads the
    decomposition table the backend gave and takes the decomposed order where the built-in's
    backward is decomposed, :func:`sigmoid_grad`'s otherwise.
    """
    return torch.ops.sigact.sigmoid_grad(grad, y)


def _decomposed_sigmoid_grad(grad: Tensor, y: Tensor) -> Tensor:
    dtype = torch.promote_types(grad.dtype, y.dtype)
    if dtype in (torch.float16, torch.bfloat16):
        return _decomposed_sigmoid_grad(grad.float(), y.float()).to(dtype)
    return grad * (y * (1 - y)).conj_physical()


def _builtin_backward_is_decomposed() -> bool:
    table = decomposition_table()
    # Where this torch keeps the table nowhere sigact knows: inductor's order, torch.compile's default.
    return table is None or torch.ops.aten.sigmoid_backward.default in table


def _backend_sigmoid_grad(grad: Tensor, y: Tensor) -> Tensor:
    if _builtin_backward_is_decomposed():
        return _decomposed_sigmoid_grad(grad, y)
    return sigmoid_grad(grad, y)


_LIBRARY = torch.library.Library("sigact", "DEF")
_LIBRARY.define("sigmoid_grad(Tensor grad, Tensor y) -> Tensor")
# CompositeImplicitAutograd: no kernel of its own; tracing and autograd go through the body.
_LIBRARY.impl("sigmoid_grad", _backend_sigmoid_grad, "CompositeImplicitAutograd")
