"""``audit``: what autograd keeps for backward when a function runs, via saved-tensor hooks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils._pytree import tree_leaves

from sigact._saved import SavedEntry, SavedReport


def _storages(tree: Any) -> set[int]:
    return {t.untyped_storage().data_ptr() for t in tree_leaves(tree) if isinstance(t, Tensor)}


def _is_parameter(tensor: Tensor) -> bool:
    """A leaf that requires grad (what optimisers update), or a view of one such as ``weight.t()``."""
    base = tensor._base if tensor._base is not None else tensor
    return base.is_leaf and base.requires_grad


def audit(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> SavedReport:
    """Run ``fn(*args, **kwargs)`` once and report every tensor autograd saves for backward.

    Each saved tensor becomes a :class:`sigact.SavedEntry` with its shape, dtype, bytes
    and origin: ``"argument"`` (shares memory with an input), ``"parameter"`` (a leaf that requires
    grad, or a view of one, or a buffer of ``fn`` when ``fn`` is a module), ``"output"`` (shares
    memory with what ``fn`` returns) or ``"intermediate"``. Tensors that share memory are counted once in
    ``total_bytes``. It is built on ``torch.autograd.graph.saved_tensors_hooks``; the hooks hand
    every tensor back unchanged, so the call behaves exactly as it would without the audit.

    Example:
        >>> import torch, sigact.torch as st
        >>> x = torch.randn(1024, requires_grad=True)
        >>> report = st.audit(st.sigmoid, x)
        >>> [(e.origin, e.bytes) for e in report.entries]
        [('output', 4096)]
        >>> st.audit(lambda x: 1 / (1 + torch.exp(-x)), x).total_bytes  # exp's result and 1/(…)
        8192
    """
    saved: list[Tensor] = []

    def pack(tensor: Tensor) -> Tensor:
        saved.append(tensor)
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        output = fn(*args, **kwargs)

    arguments = _storages((args, kwargs))
    parameters = _storages(list(fn.parameters()) + list(fn.buffers())) if isinstance(fn, nn.Module) else set()
    outputs = _storages(output)
    entries = []
    for tensor in saved:
        storage = tensor.untyped_storage()
        ptr = storage.data_ptr()
        origin = ("argument" if ptr in arguments
                  else "parameter" if ptr in parameters or _is_parameter(tensor)
                  else "output" if ptr in outputs else "intermediate")
        entries.append(SavedEntry(
            shape=tuple(tensor.shape),
            dtype=str(tensor.dtype).removeprefix("torch."),
            bytes=tensor.numel() * tensor.element_size(),
            origin=origin,
            storage=ptr,
            storage_bytes=storage.nbytes(),
        ))
    return SavedReport("torch", tuple(entries))
