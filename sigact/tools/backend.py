"""A framework's part in the commands, written down once, and the one registry that finds it.

``sigact report``, ``sigact verify`` and the benchmarks ask each installed framework the same questions:
does sigact match the built-in, what memory does it keep, how fast is it, on which devices can it be
checked, and how is each mode of the check run. :class:`Backend` is that set of names;
:mod:`sigact.tools.torch_backend` and :mod:`sigact.tools.jax_backend` are the two modules that provide it.
A backend module imports its framework at the top, so :func:`load` imports it only when asked: nothing
here loads a framework the user lacks.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, cast

if TYPE_CHECKING:
    from sigact.tools.parity import Mode

BACKENDS = {"torch": "sigact.tools.torch_backend", "jax": "sigact.tools.jax_backend"}


class Backend(Protocol):
    """The names each backend module defines (a module satisfies this protocol, as einops's backends do a class)."""

    #: How speed can be timed: ``("eager", "compile")`` for PyTorch, ``("jit",)`` for JAX.
    EXECUTIONS: tuple[str, ...]
    #: The contenders, by name: ``"builtin"``, ``"sigact"`` and ``"naive"`` (1/(1 + exp(−x))).
    ACTIVATIONS: dict[str, Callable[..., Any]]

    def correctness(self) -> list[tuple[str, bool]]:
        """Named checks of the report, each True when it passed."""
        ...

    def memory(self, quick: bool = False) -> dict[str, dict[str, int]]:
        """Bytes kept for backward, per row (``"activation"``, ``"mlp"``, ...) and contender."""
        ...

    def speed(self, sizes: list[int], *, execution: str = ..., rounds: int = 5, seconds: float = 0.05,
              on_size: Callable[[int], None] = ...) -> list[dict[str, Any]]:
        """Median forward+backward seconds per call at each size, the contenders side by side."""
        ...

    def curves(self, xs: Any) -> tuple[Any, Any]:
        """σ and σ′ at ``xs``, computed by sigact's forward and backward."""
        ...

    def devices(self) -> dict[str, str | None]:
        """Each device ``sigact verify`` knows, and None if it can be checked here or why not."""
        ...

    def accelerators(self) -> list[str]:
        """The GPUs this run could check, named as a bug report needs them."""
        ...

    def modes(self, device: str) -> dict[str, tuple[Mode, tuple[str, ...], int | None]]:
        """``sigact verify``'s modes on ``device``: name -> (mode, dtypes, sample size or None)."""
        ...


def load(framework: str) -> Backend:
    """The backend of ``framework`` (``"torch"`` or ``"jax"``), importing it and its framework.

    Raises:
        KeyError: ``framework`` is not one of :data:`BACKENDS`.
        ImportError: the framework (or something its backend needs) is not installed.
    """
    return cast(Backend, importlib.import_module(BACKENDS[framework]))


def try_load(framework: str) -> tuple[Backend | None, str | None]:
    """:func:`load`, or ``(None, why not)`` when the framework cannot be imported."""
    try:
        return load(framework), None
    except ImportError as error:
        return None, str(error)
