"""``sigmoid``: jax.nn.sigmoid's values, a hand-written backward, and the output as the only residual."""

from __future__ import annotations

import jax
from jax import Array
from jax.typing import ArrayLike


@jax.custom_vjp
def sigmoid(x: ArrayLike) -> Array:
    r"""σ(x) = 1 / (1 + e^{−x}), elementwise, keeping only its output for the backward pass.

    The built-in ``jax.nn.sigmoid`` differentiates through ``lax.logistic`` and keeps the product
    y·(1 − y) as its residual: a new buffer next to y. When y also feeds the next layer, as it almost
    always does, that layer keeps y as well, so two buffers are alive where one would do. This
    ``custom_vjp`` keeps y alone and rebuilds the derivative from it, since σ′(x) = σ(x)(1 − σ(x)):

    * forward rule: ``y = jax.nn.sigmoid(x)``; the residual is ``y``;
    * backward rule: ``g ↦ g · (y · (1 − y))``, in exactly the built-in's order, so gradients are
      bitwise equal to ``jax.nn.sigmoid``'s in float16, bfloat16, float32, float64 and complex,
      eagerly and under ``jit``.

    It works under ``jit``, ``vmap``, ``grad`` (any order, reverse mode), ``lax.scan``,
    ``jax.checkpoint``, ``pmap``, ``shard_map`` and sharded ``jit``. A ``custom_vjp`` has no
    forward-mode rule, so ``jax.jvp`` and ``jax.jacfwd`` raise ``TypeError``: for forward mode,
    use ``jax.nn.sigmoid``. Integer and bool inputs raise ``TypeError``, as in the built-in.

    Args:
        x: a floating-point or complex array, or a Python scalar (weakly typed, as in the built-in).

    Returns:
        σ(x), with x's shape and dtype.

    Examples:
        The derivative at 0 is σ(0)(1 − σ(0)) = 0.25, and the only residual is the output:

        >>> import jax, jax.numpy as jnp
        >>> from sigact.jax import sigmoid
        >>> jax.grad(sigmoid)(0.0)
        Array(0.25, dtype=float32, weak_type=True)
        >>> from jax.ad_checkpoint import print_saved_residuals
        >>> print_saved_residuals(sigmoid, jnp.zeros(3))  # doctest: +ELLIPSIS
        f32[3] output of logistic from ...

        As a Flax gate function (activations are plain functions in Flax):

        >>> import flax.linen as nn
        >>> cell = nn.LSTMCell(features=4, gate_fn=sigmoid)
        >>> carry = cell.initialize_carry(jax.random.key(0), (2, 3))
        >>> params = cell.init(jax.random.key(1), carry, jnp.ones((2, 3)))
        >>> (c, h), out = cell.apply(params, carry, jnp.ones((2, 3)))
        >>> out.shape
        (2, 4)

        Inside an optax training loop:

        >>> import optax
        >>> def loss(w, x, t):
        ...     return jnp.mean((sigmoid(x @ w) - t) ** 2)
        >>> w, x, t = jnp.zeros((3, 1)), jnp.ones((8, 3)), jnp.ones((8, 1))
        >>> opt = optax.sgd(1.0)
        >>> state = opt.init(w)
        >>> for _ in range(3):
        ...     value, grads = jax.value_and_grad(loss)(w, x, t)
        ...     updates, state = opt.update(grads, state)
        ...     w = optax.apply_updates(w, updates)
        >>> bool(loss(w, x, t) < 0.25)
        True
    """
    return jax.nn.sigmoid(x)


def _sigmoid_fwd(x: ArrayLike) -> tuple[Array, Array]:
    y = jax.nn.sigmoid(x)
    return y, y


def _sigmoid_bwd(y: Array, g: Array) -> tuple[Array]:
    return (g * (y * (1 - y)),)


sigmoid.defvjp(_sigmoid_fwd, _sigmoid_bwd)
