"""``remat_scans``: every ``lax.scan`` body inside a JAX function, run under ``jax.checkpoint`` with a policy.

The same trace as :func:`~sigact.jax.swap` (see ``sigact/jax/_swap.py``), asked to wrap scan bodies
instead of, or as well as, swapping activations: so it reaches the cells of Flax, Equinox, Keras and
Haiku, which offer no remat knob of their own or hide their step from the user.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax

from sigact.jax._swap import Rules, _swapped

# The policies that are policies themselves; the others in jax.checkpoint_policies are factories that
# need names or memory kinds, and are passed as the policy they make.
POLICY_NAMES = ("nothing_saveable", "everything_saveable", "dots_saveable", "checkpoint_dots",
                "dots_with_no_batch_dims_saveable", "checkpoint_dots_with_no_batch_dims")


def resolve_policy(policy: str | Callable[..., Any]) -> Callable[..., Any]:
    """The ``jax.checkpoint_policies`` policy ``policy`` names, or ``policy`` itself if it is one."""
    if isinstance(policy, str):
        if policy not in POLICY_NAMES:
            factory = " (a factory: pass the policy it makes, e.g. jax.checkpoint_policies." \
                f"{policy}(...))" if callable(getattr(jax.checkpoint_policies, policy, None)) else ""
            raise ValueError(f"unknown checkpoint policy {policy!r}{factory}; the policies known by name are "
                             f"{', '.join(POLICY_NAMES)}, or pass any jax.checkpoint_policies callable")
        policy = getattr(jax.checkpoint_policies, policy)
    if not callable(policy):
        raise TypeError(f"a checkpoint policy is a name ({', '.join(POLICY_NAMES)}) or a "
                        f"jax.checkpoint_policies callable, got {type(policy).__name__}: {policy!r}")
    return policy


def policy_name(policy: str | Callable[..., Any]) -> str:
    """How a plan or a table names a policy: its name, or its function's."""
    return policy if isinstance(policy, str) else getattr(policy, "__name__", repr(policy))


def remat_scans(fun: Callable[..., Any], policy: str | Callable[..., Any]) -> Callable[..., Any]:
    r"""``fun``, with every ``lax.scan`` body inside it run under ``jax.checkpoint`` with ``policy``.

    A ``lax.scan`` differentiated in reverse mode stacks, for every step, whatever its body's
    derivative needs (its residuals) and keeps the stack from the forward loop to the backward loop:
    for a recurrent cell over T steps, T copies of each gate. ``jax.checkpoint(body, policy=p)`` keeps
    only the residuals ``p`` calls saveable and recomputes the others from the step's inputs in the
    backward loop: ``nothing_saveable`` stacks only each step's carry and input, ``dots_saveable`` the
    matrix products too. Memory falls, and each step's forward runs twice.

    ``remat_scans`` applies that to every scan inside ``fun``, however deep and whoever wrote it:
    nested ``jit``, nested scans (each body, inner ones too), ``fori_loop`` with a static trip count
    (a scan), the cells of Flax (``nn.RNN``, ``nnx.RNN``), Equinox cells in a scan, Keras 3 recurrent
    layers and Haiku's ``dynamic_unroll``, none of which needs changing. ``prevent_cse=False``, as JAX
    advises inside a scan. It runs on the trace of :func:`~sigact.jax.swap`, with the same care:
    ``fun`` runs as written, on the arguments given (arrays, Python scalars, pytrees, keyword
    arguments), a user's own ``jax.custom_vjp``/``jax.custom_jvp`` functions are left alone (scans
    inside them too), and it composes with :func:`~sigact.jax.swap` both ways:
    ``remat_scans(swap(fun), p)`` and ``swap(remat_scans(fun, p))`` are the same program.

    Bitwise. Values are ``fun``'s bit for bit: the forward pass is the same operations. The gradients
    are exactly those of the same ``jax.checkpoint`` written by hand around each scan body, and they
    are ``fun``'s own bit for bit only where XLA compiles the recomputed forward as it compiled the
    original, which is XLA's choice, not a guarantee. tests/test_jax_remat.py checks both sides on
    CPU: bitwise under ``nothing_saveable``, ``dots_saveable``, ``dots_with_no_batch_dims_saveable``
    and ``everything_saveable`` for a gated cell, nested scans and Flax's LSTM; and a step
    ``h = x @ w; c = σ(h)·c + tanh(h)`` under ``mean(c²)`` whose weight gradient differs from
    ``fun``'s by one ulp in some entries under ``nothing_saveable`` and ``dots_saveable`` (and not
    under ``everything_saveable``), exactly as the hand-written ``jax.checkpoint`` does: the
    derivatives of σ and tanh are then computed in the backward loop, fused with the cotangent,
    instead of in the forward loop. :func:`~sigact.jax.plan` compares every candidate's gradients
    with the built-in's on the user's own model, and says when they differ.

    Args:
        fun: the function (or callable pytree, such as an Equinox module) to transform.
        policy: a policy of ``jax.checkpoint_policies``, or the name of one that needs no arguments:
            ``"nothing_saveable"``, ``"everything_saveable"``, ``"dots_saveable"``,
            ``"checkpoint_dots"``, ``"dots_with_no_batch_dims_saveable"``,
            ``"checkpoint_dots_with_no_batch_dims"``.

    Returns:
        A function with ``fun``'s signature.

    Raises:
        ValueError: if ``policy`` is a name that is not one of those above.
        TypeError: if ``fun`` is not callable, or ``policy`` is neither a name nor a callable.

    Examples:
        A gated recurrence over 64 steps. The built-in stacks each step's σ(x), σ(x)·(1 − σ(x)) and
        tanh(c) and 1 − tanh(c)²; ``nothing_saveable`` stacks only what each step starts from:

        >>> import jax, jax.numpy as jnp, sigact.jax as sj
        >>> def loss(c, xs):
        ...     step = lambda c, x: (jnp.tanh(jax.nn.sigmoid(x) * c + x), None)
        ...     return jax.lax.scan(step, c, xs)[0].sum()
        >>> c, xs = jnp.ones(4), jnp.linspace(-2.0, 2.0, 256).reshape(64, 4)
        >>> remat = sj.remat_scans(loss, "nothing_saveable")
        >>> bool(jnp.array_equal(jax.grad(remat)(c, xs), jax.grad(loss)(c, xs)))
        True
        >>> sj.audit(loss, c, xs).total_bytes > sj.audit(remat, c, xs).total_bytes
        True

        Third-party cells, unchanged, and with the swap:

        >>> import flax.linen as nn
        >>> rnn = nn.RNN(nn.LSTMCell(features=8))
        >>> x = jnp.ones((2, 5, 3))
        >>> variables = rnn.init(jax.random.key(0), x)
        >>> f = lambda v, x: jnp.sum(rnn.apply(v, x) ** 2)
        >>> both = sj.remat_scans(sj.swap(f), "dots_saveable")
        >>> g, h = jax.grad(both)(variables, x), jax.grad(f)(variables, x)
        >>> all(bool(jnp.array_equal(a, b)) for a, b in zip(jax.tree.leaves(g), jax.tree.leaves(h)))
        True

        A name JAX does not know:

        >>> sj.remat_scans(loss, "nothing_savable")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: unknown checkpoint policy 'nothing_savable'; the policies known by name are ...
    """
    return _swapped(fun, Rules(policy=resolve_policy(policy)), "remat_scans")
