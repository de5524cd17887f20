"""``swap`` and ``swap_sigmoid``: every ``lax.logistic`` and ``lax.tanh`` inside a JAX function runs
sigact's output-only rule. The trace that does it, and what it reaches, is in _rewrite.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jax import lax

from sigact.jax._private import require_swap
from sigact.jax._rewrite import RULES, Rules, rewriting


def swap(fun: Callable[..., Any], *, sigmoid: bool = True, tanh: bool = True) -> Callable[..., Any]:
    r"""``fun``, with every activation sigact has an output-only rule for running that rule.

    The one call for a recurrent model: each ``lax.logistic`` becomes :func:`~sigact.jax.sigmoid_jvp`
    and each ``lax.tanh`` becomes :func:`~sigact.jax.tanh`, however deep inside ``fun`` they sit and
    whoever wrote them: nested ``jit`` (sharded too), ``lax.scan``, ``fori_loop``, ``while_loop``,
    ``cond``/``switch``, ``jax.checkpoint`` with any policy, ``vmap``, ``pmap``, ``shard_map``,
    ``custom_linear_solve`` (``jax.scipy.sparse.linalg.cg``); ``jax.nn.sigmoid``, ``silu``, ``glu``,
    ``jnp.tanh``; the cells of Flax, Equinox, Keras (JAX backend) and Haiku. Values and gradients are
    bitwise those of ``fun``, and only y is kept for the backward pass instead of y and a product of it:
    inside a ``lax.scan`` one stacked activation-sized buffer fewer per sigmoid and per tanh (see
    docs/memory.md). An LSTM or GRU has both in every step.

    Kept as they are: a user's own ``jax.custom_jvp``/``jax.custom_vjp`` functions, with the
    activations inside them, and an activation with ``accuracy=HIGHEST`` (its derivative, σ(x)·σ(−x) or
    its tanh counterpart, needs the input).

    How ``fun`` runs. The swap does not trace ``fun`` into a program of its own: each call runs ``fun``
    as written, on the arguments it was given (arrays, Python scalars, pytrees, modules, keyword
    arguments alike), and intercepts only the activations and the bodies that hold them (the module
    docstring says how). So everything else behaves as without the swap: eagerly, operations run one
    call at a time as they would (so eager forward mode is bitwise too), ``jax.debug_nans`` raises,
    ``jax.disable_jit`` runs Python, and Python control flow on values works; under ``jax.jit`` the
    swap is traced once with ``fun``, Python scalars as weakly typed arrays, as ``jit`` traces them.
    Every transform composes with it both ways, forward mode included, with the same values; memory is
    saved where the swap is inside the differentiation (``grad(swap(f))``, not ``swap(grad(f))``).
    Objects passed in are ``fun``'s own, except Flax NNX objects (arguments, ``fun`` itself or the
    object of a bound method), which refuse writes from another trace: they are carried across the
    swap's trace as ``nnx.jit`` carries them, and what ``fun`` writes into them reaches yours; a
    container holding them is a copy, and changing it raises ``ValueError``. An eager call costs more than
    ``fun``'s own: under any trace JAX dispatches each ``jnp`` call through Python instead of its C++
    fast path. Put the swap inside ``jax.jit`` (or ``jit`` the swapped function) where speed matters.

    Args:
        fun: the function (or callable pytree, such as an Equinox module) to transform.
        sigmoid: swap ``lax.logistic`` (``jax.nn.sigmoid``, ``silu``, ``glu``, gates).
        tanh: swap ``lax.tanh`` (``jnp.tanh``, ``jax.nn.tanh``, cell outputs).

    Returns:
        A function with ``fun``'s signature.

    Raises:
        TypeError: if ``fun`` is not callable, or a keyword is not a bool.
        RuntimeError: if this JAX lacks a private name the swap needs (a release newer than those it
            was tested on; the message names them).

    Examples:
        A gated recurrence: a ``lax.scan`` stacks each step's residuals. The built-in keeps, per step,
        σ(x) and σ(x)·(1 − σ(x)), tanh(x) and 1 − tanh(x); the swap keeps σ(x) and tanh(x):

        >>> import jax, jax.numpy as jnp, sigact.jax as sj
        >>> def cell(c, xs):
        ...     step = lambda c, x: (jax.nn.sigmoid(x) * c + jnp.tanh(x), None)
        ...     return jax.lax.scan(step, c, xs)[0].sum()
        >>> c, xs = jnp.zeros(4), jnp.ones((16, 4))
        >>> bool(jnp.array_equal(jax.grad(sj.swap(cell))(c, xs), jax.grad(cell)(c, xs)))
        True
        >>> sj.audit(cell, c, xs).total_bytes, sj.audit(sj.swap(cell), c, xs).total_bytes
        (1280, 768)

        Third-party code is swapped too, without changing it:

        >>> import flax.linen as nn
        >>> rnn = nn.RNN(nn.LSTMCell(features=8))
        >>> variables = rnn.init(jax.random.key(0), jnp.ones((2, 5, 3)))
        >>> y = sj.swap(rnn.apply)(variables, jnp.ones((2, 5, 3)))
        >>> bool(jnp.array_equal(y, rnn.apply(variables, jnp.ones((2, 5, 3)))))
        True
    """
    require_swap("swap")
    chosen = {"sigmoid": sigmoid, "tanh": tanh}
    for name, value in chosen.items():
        if not isinstance(value, bool):
            raise TypeError(f"swap's {name}= turns that activation's rule on or off: expected True or False, "
                            f"got {type(value).__name__}: {value!r}")
    return rewriting(fun, Rules(frozenset(primitive for name, (primitive, _) in RULES.items() if chosen[name])),
                    "swap")


def swap_sigmoid(fun: Callable[..., Any]) -> Callable[..., Any]:
    r"""``fun``, with every ``lax.logistic`` inside it running sigact's output-saving sigmoid.

    ``swap(fun, tanh=False)``, the JAX counterpart of ``sigact.torch.swap_sigmoid``: each sigmoid inside
    ``fun`` (``jax.nn.sigmoid``, ``silu``/``swish``, ``glu``, the gates of Flax's and Equinox's cells),
    however deep, becomes :func:`~sigact.jax.sigmoid_jvp`: the same values, the same gradients bit for
    bit, and only y = σ(x) kept for the backward pass instead of y·(1 − y). Every ``tanh`` stays the
    built-in. :func:`swap` says what is reached, what is left alone and how ``fun`` runs.

    Args:
        fun: the function (or callable pytree, such as an Equinox module) to transform.

    Returns:
        A function with ``fun``'s signature.

    Raises:
        TypeError: if ``fun`` is not callable.
        RuntimeError: if this JAX lacks a private name the swap needs (see :func:`swap`).

    Examples:
        The built-in keeps xs, every step's σ(h) and every step's σ(h)·(1 − σ(h)); the swap keeps the
        first two:

        >>> import jax, jax.numpy as jnp, sigact.jax as sj
        >>> def cell(h, xs):
        ...     step = lambda h, x: (x * jax.nn.sigmoid(h), None)
        ...     return jax.lax.scan(step, h, xs)[0].sum()
        >>> h, xs = jnp.zeros(4), jnp.ones((16, 4))
        >>> swapped = sj.swap_sigmoid(cell)
        >>> bool(jnp.array_equal(jax.grad(swapped)(h, xs), jax.grad(cell)(h, xs)))
        True
        >>> sj.audit(cell, h, xs).total_bytes, sj.audit(swapped, h, xs).total_bytes
        (768, 512)
    """
    require_swap("swap_sigmoid")
    return rewriting(fun, Rules(frozenset({lax.logistic_p})), "swap_sigmoid")
