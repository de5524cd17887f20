"""Every private JAX name sigact uses, in one place, each looked up behind a guard.

JAX changes its private modules (``jax._src``) without notice, and sigact sets no upper bound on JAX, so
a new release may lack a name below. What happens then, name by name:

* ``jax._src.core``: ``Trace``, ``set_current_trace``, ``unsafe_get_current_trace``;
  ``jax._src.linear_util``: ``WrappedFun``, ``transformation2``; ``jax._src.config``:
  ``trace_context``. :func:`sigact.jax.swap` puts a trace of its own on JAX's trace stack, and no public
  API intercepts a primitive's bind. Where any of them is missing, ``import sigact.jax`` still works,
  and so do ``sigmoid``, ``sigmoid_jvp``, ``tanh`` and ``audit``, which need none of them; ``swap`` and
  ``swap_sigmoid`` raise ``RuntimeError`` when called, naming what is missing and the JAX releases the
  swap ran on (:data:`SWAP_TESTED_ON`).
* ``jax._src.numpy.util.promote_args_inexact``: how ``jnp.tanh`` converts its argument, which
  :func:`sigact.jax.tanh` repeats. Where it is missing, :func:`public_promote_inexact` does the same
  with public functions: the same dtype and weak type for every input (tests/test_private_names.py
  compares the two).

A name can also stay and change its meaning; the test suite, or ``sigact verify``, catches that.

Example:
    >>> from sigact.jax import _private
    >>> _private.MISSING_FOR_SWAP  # on a JAX the swap ran on: nothing
    ()
    >>> _private.public_promote_inexact("tanh", 1)  # as jnp.tanh promotes a Python int
    Array(1., dtype=float32, weak_type=True)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["MISSING_FOR_SWAP", "SWAP_TESTED_ON", "config", "jax_core", "lu", "promote_inexact",
           "public_promote_inexact", "require_swap"]

# The releases the swap's tests ran on (requirements-min-jax.txt's and requirements-dev.txt's jax;
# docs/install.md's version table).
SWAP_TESTED_ON = ("0.9.0", "0.10.2")

# Module -> the names of it that the swap uses.
_SWAP_NAMES = {
    "jax._src.core": ("Trace", "set_current_trace", "unsafe_get_current_trace"),
    "jax._src.linear_util": ("WrappedFun", "transformation2"),
    "jax._src.config": ("trace_context",),
}


def _find(module_name: str, names: tuple[str, ...]) -> tuple[Any, list[str]]:
    """The module and the names in it that are missing (the module's own name, if it is)."""
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None, [module_name]
    return module, [f"{module_name}.{name}" for name in names if not hasattr(module, name)]


_found = {module_name: _find(module_name, names) for module_name, names in _SWAP_NAMES.items()}
MISSING_FOR_SWAP: tuple[str, ...] = tuple(name for _, missing in _found.values() for name in missing)


def require_swap(name: str) -> None:
    """Raise ``RuntimeError`` unless this JAX has every private name the swap uses.

    Args:
        name: the public function asking (``"swap"`` or ``"swap_sigmoid"``), for the message.

    Raises:
        RuntimeError: if one of the names is missing.
    """
    if MISSING_FOR_SWAP:
        raise RuntimeError(
            f"sigact.jax.{name} needs JAX internals that jax {jax.__version__} does not have: "
            f"{', '.join(MISSING_FOR_SWAP)}. The swap was tested on jax {' and '.join(SWAP_TESTED_ON)}: "
            f"install one of those (pip install 'jax=={SWAP_TESTED_ON[-1]}' 'jaxlib=={SWAP_TESTED_ON[-1]}'), "
            "or use sigact.jax.sigmoid, sigmoid_jvp and tanh directly, which work on this JAX."
        )


class _Unavailable:
    """Stands in for each private name of the swap where one is missing: a base class for the swap's
    trace, so that its module still imports, and a function that raises when called."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        require_swap("swap")


class _MissingModule:
    def __getattr__(self, name: str) -> type[_Unavailable]:
        return _Unavailable


if TYPE_CHECKING:  # the real modules, so that the swap type-checks against JAX's own annotations
    from jax._src import config as config
    from jax._src import core as jax_core
    from jax._src import linear_util as lu
elif MISSING_FOR_SWAP:
    config = jax_core = lu = _MissingModule()
else:
    config, jax_core, lu = (_found[module_name][0] for module_name in
                            ("jax._src.config", "jax._src.core", "jax._src.linear_util"))


def _private_promote() -> Any:
    try:
        return importlib.import_module("jax._src.numpy.util").promote_args_inexact
    except (ImportError, AttributeError):
        return None


_promote_args_inexact = _private_promote()


def promote_inexact(name: str, x: Any) -> jax.Array:
    """``x`` as ``jnp``'s elementwise functions take it: integers and bools become the default float,
    weak types stay weak. JAX's own promotion where this JAX has it, :func:`public_promote_inexact`
    (which documents the arguments, result and errors of both) otherwise."""
    if _promote_args_inexact is not None:
        return _promote_args_inexact(name, x)[0]
    return public_promote_inexact(name, x)


def public_promote_inexact(name: str, x: Any) -> jax.Array:
    """``promote_args_inexact(name, x)`` for one argument, written with public functions.

    * an inexact ``x`` (float, complex) keeps its dtype, canonicalised as ``jnp.asarray`` does
      (float64 becomes float32 unless x64 is on), and its weak type (a Python float stays weak);
    * an integer or bool ``x`` becomes float32, or float64 for a 64-bit integer when x64 is on
      (not the float64 that ``jnp.result_type`` gives any integer under x64), weak if ``x`` was
      (a Python int, or one that ``jit`` traces). ``x + 0.0`` makes the weak conversion: no public
      conversion keeps a weak type, and adding zero to an integer's float value is exact.

    Args:
        name: the calling function's name, for error messages.
        x: an array or a scalar.

    Returns:
        ``x`` as an inexact array.

    Raises:
        TypeError: if ``x`` is not an array or a scalar (a list, a string), or is a ``float0`` or
            PRNG-key array.

    Examples:
        >>> import jax.numpy as jnp
        >>> public_promote_inexact("tanh", jnp.arange(3, dtype=jnp.int8))
        Array([0., 1., 2.], dtype=float32)
        >>> public_promote_inexact("tanh", 0.5)
        Array(0.5, dtype=float32, weak_type=True)
    """
    if isinstance(x, str) or not (isinstance(x, (jax.Array, np.ndarray)) or hasattr(x, "__jax_array__")
                                  or np.isscalar(x)):
        raise TypeError(f"{name} requires ndarray or scalar arguments, got {type(x)} at position 0.")
    array = jnp.asarray(x)
    if array.dtype == jax.dtypes.float0 or jnp.issubdtype(array.dtype, jax.dtypes.prng_key):
        raise TypeError(f"{name} does not accept {array.dtype} arrays: it needs a numeric input.")
    if jnp.issubdtype(array.dtype, jnp.inexact):
        return array
    if jax.dtypes.result_type(array, return_weak_type_flag=True)[1]:
        return array + 0.0
    return array.astype(jax.dtypes.canonicalize_dtype(np.float64 if array.dtype.itemsize == 8 else np.float32))
