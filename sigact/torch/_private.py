"""Every private PyTorch name sigact.torch reads, in one place, each looked up behind a guard.

PyTorch moves its internals between releases (the decomposition table below moved in 2.12), and sigact
sets no upper bound on torch, so a new release may lack a name. None of them is needed for a correct
result: each only lets sigact pick a faster path, or the evaluation order of the built-in it must match.
Where one is missing, ``import sigact.torch`` warns once (``RuntimeWarning``, naming it and the torch
releases sigact ran on) and takes the path that needs it not:

* ``torch._C._functorch`` (``is_functorch_wrapped_tensor``, ``is_batchedtensor``,
  ``is_legacy_batchedtensor``, ``get_unwrapped``): whether a tensor is a plain one, whose strides are
  its memory. Missing: every tensor counts as possibly wrapped, so the backward is the plain
  out-of-place one (an extra temporary; the same values), and complex gradients take the vectorised
  loop's rounding, which differs in the last bit where the built-in's own loop is the scalar one (a
  transposed input against a contiguous gradient, a strided slice: docs/api.md).
* ``torch._C._are_functorch_transforms_active``: whether ``torch.func`` transforms run. Missing: each
  call goes through ``Function.apply`` (about 9 µs more), and ``sigmoid_`` writes the out-of-place
  result back (``input.copy_``), so it keeps a buffer of its own for backward.
* ``torch.autograd.forward_ad._current_level``: whether forward-mode AD is on. Missing: a call that
  records no graph still goes through the Function instead of being ``torch.sigmoid`` itself.
* ``torch.fx.experimental.proxy_tensor``'s ``get_proxy_mode`` and the decomposition table (the tracer's
  ``decomposition_table``, or the module's ``CURRENT_DECOMPOSITION_TABLE``): whether the compile backend
  decomposes ``aten::sigmoid_backward``. Missing: the compiled backward takes the decomposed order of
  ``inductor``, torch.compile's default backend; under ``aot_eager`` or ``eager`` gradients may then
  differ in the last bit.
* ``torch._C._FunctionBase.apply``, the C++ ``apply`` beneath ``Function.apply``: the same without
  its per-call ``inspect.signature``. Missing: ``Function.apply`` itself.

``sigact verify`` checks the parity on a release newer than those tested.

Example:
    >>> from sigact.torch import _private
    >>> _private.missing()  # on a torch sigact ran on: nothing
    ()
"""

from __future__ import annotations

import contextvars
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import torch
import torch.autograd.forward_ad as forward_ad
from torch.fx.experimental import proxy_tensor

# The torch releases the suite ran on (docs/install.md's version table).
TESTED_ON = "2.8.0 to 2.15.0"

_missing: list[str] = []
_FUNCTORCH_NAMES = ("is_functorch_wrapped_tensor", "is_batchedtensor", "is_legacy_batchedtensor", "get_unwrapped")


def _functorch() -> Any:
    module = getattr(torch._C, "_functorch", None)
    absent = [f"torch._C._functorch.{name}" for name in _FUNCTORCH_NAMES if not hasattr(module, name)]
    _missing.extend(absent)
    return None if absent else module


# torch._C._functorch, or None where it lacks a name above.
functorch: Any = _functorch()


def _always_true() -> bool:
    return True


transforms_active: Callable[[], bool] = getattr(torch._C, "_are_functorch_transforms_active", None) or _always_true
if transforms_active is _always_true:
    _missing.append("torch._C._are_functorch_transforms_active")


def _forward_ad_off() -> bool:
    return forward_ad._current_level < 0


def _forward_ad_unknown() -> bool:
    return False


# Whether no forward-mode AD level is open (False where this torch cannot tell).
forward_ad_off: Callable[[], bool] = _forward_ad_off if hasattr(forward_ad, "_current_level") else _forward_ad_unknown
if forward_ad_off is _forward_ad_unknown:
    _missing.append("torch.autograd.forward_ad._current_level")

_get_proxy_mode: Callable[[], Any] | None = getattr(proxy_tensor, "get_proxy_mode", None)
if _get_proxy_mode is None:
    _missing.append("torch.fx.experimental.proxy_tensor.get_proxy_mode")


def decomposition_table() -> Mapping[Any, Any] | None:
    """The decomposition table of the proxy trace running now (``{}`` outside one), or None where
    this torch keeps it nowhere sigact knows."""
    if _get_proxy_mode is None:
        return None
    tracer = _get_proxy_mode()
    table = getattr(tracer, "decomposition_table", None)
    if table:
        return table
    # Where the tracer does not carry it, the table is a module global: a dict on torch 2.10, a
    # ContextVar on 2.12.
    if hasattr(proxy_tensor, "CURRENT_DECOMPOSITION_TABLE"):
        table = proxy_tensor.CURRENT_DECOMPOSITION_TABLE
        return table.get({}) if isinstance(table, contextvars.ContextVar) else table
    return {} if tracer is None or hasattr(tracer, "decomposition_table") else None


def fast_apply(function: type[torch.autograd.Function]) -> Callable[..., Any]:
    """``function.apply`` without the Python layer's per-call work, where this torch allows it.

    Where ``Function.apply`` is written in Python (torch 2.15 has it in C++ and the two are one), it runs
    ``inspect.signature`` on every call when ``setup_context`` is defined, to bind default arguments:
    about 9 µs of its 15 µs. sigact's forwards take one argument with no
    default, so for plain tensors outside ``torch.func`` transforms (the other thing ``apply``
    handles) the C++ ``apply`` beneath it does the same work.
    """
    base = getattr(torch._C, "_FunctionBase", None)
    if base is None or "apply" not in vars(base) or base not in function.__mro__:
        if "torch._C._FunctionBase.apply" not in _missing:
            _missing.append("torch._C._FunctionBase.apply")
        return function.apply
    return vars(base)["apply"].__get__(None, function)  # bound to `function`


def missing() -> tuple[str, ...]:
    """The names above that this torch lacks (``fast_apply``'s once it has been called)."""
    return tuple(_missing)


def warn_if_missing() -> None:
    """Warn, once ``import sigact.torch`` is done, where a name above is missing."""
    if _missing:
        warnings.warn(
            f"sigact.torch: torch {torch.__version__} lacks {', '.join(_missing)}, which sigact was tested "
            f"with on torch {TESTED_ON}. sigact takes its slower, out-of-place paths instead; the module "
            "sigact.torch._private says what changes (for some layouts and compile backends, the last bit of "
            "a gradient). `sigact verify` checks the parity on this torch.",
            RuntimeWarning,
            stacklevel=2,
        )
