"""``value_and_vjp``: one forward and one backward pass, the unit that ``sigact verify``, the report
and the tests run. A leaf module: the measurement and verification modules both import it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax


def value_and_vjp(fn: Callable[[jax.Array], Any]) -> Callable[[jax.Array, jax.Array], tuple[Any, Any]]:
    """``(x, g) -> (fn(x), gᵀ·∂fn/∂x)``: the value and the vector-Jacobian product for cotangent ``g``.

    Example:
        >>> import jax.numpy as jnp, sigact.jax as sj
        >>> y, gx = value_and_vjp(sj.sigmoid)(jnp.zeros(2), jnp.ones(2))
        >>> y.tolist(), gx.tolist()   # σ(0) = 1/2, σ'(0) = 1/2 · 1/2
        ([0.5, 0.5], [0.25, 0.25])
    """

    def call(x: jax.Array, g: jax.Array) -> tuple[Any, Any]:
        y, pullback = jax.vjp(fn, x)
        return y, pullback(g)[0]

    return call
