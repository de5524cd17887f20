"""Output-saving activations with the built-ins' values: ``sigmoid`` (a VJP rule), ``sigmoid_jvp`` and ``tanh``
(JVP rules).

Each public name is a plain Python function that calls its custom rule, as Flax's and Keras's activations
are plain functions: Keras saves a plain function by its registered name and loads it back (see _keras.py),
while a ``custom_vjp`` or ``jit`` object it would try to rebuild as a class instance, and fail."""

from __future__ import annotations

import jax
from jax import Array, lax
from jax.typing import ArrayLike

from sigact.jax._private import promote_inexact


def sigmoid(x: ArrayLike) -> Array:
    r"""σ(x) = 1 / (1 + e^{−x}), elementwise, keeping only its output for the backward pass.

    The built-in ``jax.nn.sigmoid`` differentiates through ``lax.logistic`` and keeps the product
    y·(1 − y) as its residual: a new buffer next to y. When y also feeds the next layer, as it almost
    always does, that layer keeps y as well, so two buffers are alive where one would do. The
    ``jax.custom_vjp`` this function calls keeps y alone and rebuilds the derivative from it, since
    σ′(x) = σ(x)(1 − σ(x)):

    * forward rule: ``y = jax.nn.sigmoid(x)``; the residual is ``y``;
    * backward rule: ``g ↦ g · (y · (1 − y))``, in exactly the built-in's order, so gradients are
      bitwise equal to ``jax.nn.sigmoid``'s in float16, bfloat16, float32, float64 and complex,
      eagerly and under ``jit``.

    It works under ``jit``, ``vmap``, ``grad`` (any order, reverse mode), ``jax.hessian``
    (forward over reverse: the outer forward pass differentiates the backward rule, which is plain
    JAX), ``lax.scan``, ``jax.checkpoint``, ``pmap``, ``shard_map`` and sharded ``jit``. A
    ``custom_vjp`` has no forward-mode rule of its own, so ``jax.jvp`` and ``jax.jacfwd`` raise
    ``TypeError``, and so does the function that ``jax.linearize`` returns when it is called: for
    forward mode, use :func:`sigmoid_jvp`. Integer and bool inputs raise ``TypeError``, as in the
    built-in.

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
    return _sigmoid(x)


def _sigmoid_primal(x: ArrayLike) -> Array:
    return jax.nn.sigmoid(x)


def _sigmoid_fwd(x: ArrayLike) -> tuple[Array, Array]:
    y = jax.nn.sigmoid(x)
    return y, y


def _sigmoid_bwd(y: Array, g: Array) -> tuple[Array]:
    return (g * (y * (1 - y)),)


# Rules attached by call, not decorator, here and below: mutmut (make mutate) skips decorated functions.
_sigmoid = jax.custom_vjp(_sigmoid_primal)
_sigmoid.defvjp(_sigmoid_fwd, _sigmoid_bwd)


def sigmoid_jvp(x: ArrayLike) -> Array:
    r"""σ(x), with a forward-mode rule whose only residual is the output: works in every AD mode.

    :func:`sigmoid` is a ``custom_vjp``, so forward mode cannot see through it. This variant is a
    ``jax.custom_jvp`` with the built-in's tangent rule, written from the output:

    .. math::  \dot y = \dot x \cdot \bigl(y \cdot (1 - y)\bigr), \qquad y = σ(x).

    Reverse mode linearizes and transposes that rule. Written plainly, the linearization would keep
    the factor y·(1 − y) as its residual, exactly what the built-in keeps. Here the factor is
    computed inside a ``jax.checkpoint``-wrapped function of (ẋ, y), so partial evaluation keeps
    only y and recomputes y·(1 − y) in the backward pass, where XLA fuses it into the product with
    the cotangent. The rounding order is the built-in's, so values, JVPs and VJPs are bitwise equal
    to ``jax.nn.sigmoid``'s in every floating and complex dtype, eagerly and under ``jit``.

    Pick :func:`sigmoid` for the plainest reverse-mode code (its backward rule is what you read);
    pick this one where forward mode must keep working (``jax.jvp``, ``jax.jacfwd``,
    ``jax.linearize``, ``jax.hessian``). :func:`swap_sigmoid` uses this one, since a swap must not
    take away a transform the original function supported.

    Args:
        x: a floating-point or complex array, or a Python scalar (weakly typed, as in the built-in).

    Returns:
        σ(x), with x's shape and dtype.

    Examples:
        Forward and reverse mode agree, and y is the only residual:

        >>> import jax, jax.numpy as jnp
        >>> from sigact.jax import sigmoid_jvp
        >>> jax.jvp(sigmoid_jvp, (0.0,), (1.0,))
        (Array(0.5, dtype=float32, weak_type=True), Array(0.25, dtype=float32, weak_type=True))
        >>> jax.grad(sigmoid_jvp)(0.0)
        Array(0.25, dtype=float32, weak_type=True)
        >>> import sigact.jax as sj
        >>> [(e.origin, e.note) for e in sj.audit(sigmoid_jvp, jnp.zeros(3)).entries]
        [('output', 'output of custom_jvp_call')]
    """
    return _sigmoid_jvp(x)


_sigmoid_jvp = jax.custom_jvp(_sigmoid_primal)


def _tangent_product(x_dot: Array, y: Array) -> Array:
    return x_dot * (y * (1 - y))


# prevent_cse=False: under a user's remat policy (nothing_saveable) the default barrier kept an extra
# copy alive; the factor is cheap to recompute and XLA may share it.
_tangent = jax.checkpoint(_tangent_product, prevent_cse=False)


def _sigmoid_jvp_rule(primals: tuple[Array], tangents: tuple[Array]) -> tuple[Array, Array]:
    (x,), (x_dot,) = primals, tangents
    y = _sigmoid_jvp(x)
    return y, _tangent(x_dot, y)


_sigmoid_jvp.defjvp(_sigmoid_jvp_rule)


def _tanh_primal(x: Array) -> Array:
    return lax.tanh(x)


_tanh = jax.custom_jvp(_tanh_primal)


# The tangent splits as JAX's own rule does, (ẋ + ẋ·y)·(1 − y): the sum stays in the linear graph,
# so its transpose adds the two cotangent terms into x's one at a time, as the built-in's does, and only
# the product with (1 − y) is recomputed from y. A rule that returned the whole tangent (a custom_vjp,
# or all of it under the checkpoint) rounds differently wherever x has other uses.
def _one_minus_product(b: Array, y: Array) -> Array:
    return b * (1 - y)


_times_one_minus = jax.checkpoint(_one_minus_product, prevent_cse=False)


def _tanh_jvp_rule(primals: tuple[Array], tangents: tuple[Array]) -> tuple[Array, Array]:
    (x,), (x_dot,) = primals, tangents
    y = _tanh(x)
    return y, _times_one_minus(x_dot + x_dot * y, y)


_tanh.defjvp(_tanh_jvp_rule)


def tanh(x: ArrayLike) -> Array:
    r"""tanh(x), elementwise, keeping only its output for the backward pass.

    JAX's ``jnp.tanh`` differentiates through ``lax.tanh``, whose rule is

    .. math::  \dot y = (\dot x + \dot x \cdot y) \cdot (1 - y), \qquad y = \tanh x,

    that is ẋ·(1 + y)(1 − y) = ẋ·(1 − y²). Reverse mode keeps y and the factor (1 − y): two buffers where
    one would do, and inside a ``lax.scan`` both are stacked for every step. Here the product with (1 − y)
    is computed inside a ``jax.checkpoint`` of (ẋ + ẋ·y, y), so y is the only residual and (1 − y) is
    recomputed in the backward pass. The sum ẋ + ẋ·y stays outside, so the transposed rule adds its two
    cotangent terms into x's as the built-in does: values, JVPs and VJPs are bitwise equal to
    ``jnp.tanh``'s in every floating and complex dtype, eagerly and under ``jit``, including where x has
    other uses (an LSTM's cell state). Like ``jnp.tanh`` it runs a ``jit(inline=True)`` function, so eagerly
    it runs fused, as the built-in does, and integers are promoted to floats.

    There is no ``custom_vjp`` variant: a backward rule returns the sum of both terms at once, which
    rounds differently from the built-in wherever x feeds anything else, so none can be bitwise
    (docs/derivative.md works through it). :func:`swap` puts this tanh at every ``jnp.tanh`` inside a
    function you do not want to edit, such as a Flax or Equinox LSTM.

    Args:
        x: an array or a Python scalar (weakly typed, as in the built-in); integers and bools are
            promoted to floats, as by ``jnp.tanh``.

    Returns:
        tanh(x), with ``jnp.tanh``'s shape and dtype.

    Examples:
        The derivative at 0 is 1 − tanh²(0) = 1, and the only residual is the output, where the
        built-in keeps 1 − y as well:

        >>> import jax, jax.numpy as jnp
        >>> from sigact.jax import tanh
        >>> jax.grad(tanh)(0.0)
        Array(1., dtype=float32, weak_type=True)
        >>> import sigact.jax as sj
        >>> [e.origin for e in sj.audit(tanh, jnp.zeros(3)).entries]
        ['output']
        >>> [e.origin for e in sj.audit(jnp.tanh, jnp.zeros(3)).entries]
        ['output', 'intermediate']

        An LSTM's cell state c feeds tanh and is carried on too; the gradient is still the built-in's,
        bit for bit:

        >>> c = jnp.linspace(-3.0, 3.0, 7)
        >>> cell = lambda act: lambda c: jnp.sum(jax.nn.sigmoid(c) * act(c) + c)
        >>> bool(jnp.array_equal(jax.grad(cell(tanh))(c), jax.grad(cell(jnp.tanh))(c)))
        True

        Integers are promoted as ``jnp.tanh`` promotes them:

        >>> tanh(1)
        Array(0.7615942, dtype=float32, weak_type=True)
    """
    return _tanh_inline(x)


def _tanh_promoted(x: ArrayLike) -> Array:
    return _tanh(promote_inexact("tanh", x))


_tanh_inline = jax.jit(_tanh_promoted, inline=True)
