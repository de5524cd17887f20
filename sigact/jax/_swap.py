"""``swap_sigmoid``: every ``lax.logistic`` inside a JAX function runs sigact's output-saving sigmoid.

Why a jaxpr interpreter. Third-party code (Flax's LSTM and GRU cells, ``jax.nn.silu``, ``jax.nn.glu``)
reaches ``lax.logistic`` through nested, often inlined ``jit`` calls, so no name can be patched. The
reliable handle is the jaxpr: trace the function once, walk its equations, and at each ``logistic``
call :func:`~sigact.jax.sigmoid_jvp` instead; re-bind every other equation unchanged through
``Primitive.get_bind_params``, as ``jax.core.eval_jaxpr`` does, which keeps ``custom_jvp`` and
``custom_vjp`` rules intact. Higher-order primitives (``jit``, ``scan``, ``while``, ``cond``,
``checkpoint``) carry their bodies as jaxpr-valued parameters: only those that contain a
``logistic`` are rewritten, and only those parameters are replaced, so the counts and options JAX
passes beside them (and renames between releases) are never touched. ``shard_map`` is traced again
from its parameters, since its body refers to mesh axes that are bound only inside it. Rewritten
jaxprs are cached by the original object, so a rewritten ``jit`` is one new object, compiled once.
The generic alternatives did not fit (jax 0.10.2): quax's rules do not fire through ``jit``, and
qax and lorax no longer run on current JAX.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable
from typing import Any

import jax
import numpy as np
from jax import lax
from jax.extend import core
from jax.extend import source_info_util as source_info

from sigact.jax._activations import sigmoid_jvp, tanh

# Calls of a user's own custom rules: their primal bodies are theirs, and left as written.
_CUSTOM_RULES = frozenset({"custom_jvp_call", "custom_vjp_call", "custom_vjp_call_jaxpr"})


# Each primitive sigact has an output-only rule for, by the keyword of ``swap`` that turns it on. Adding an
# activation is one row here.
RULES: dict[str, tuple[core.Primitive, Callable[[Any], Any]]] = {
    "sigmoid": (lax.logistic_p, sigmoid_jvp),
    "tanh": (lax.tanh_p, tanh),
}
Rules = frozenset[core.Primitive]  # of primitives to swap


def _swappable(eqn: core.JaxprEqn, rules: Rules) -> bool:
    """An activation that sigact reproduces bit for bit: the default accuracy (``HIGHEST``
    differentiates through the input, e.g. σ(x)·σ(−x), so it keeps the built-in)."""
    return eqn.primitive in rules and eqn.params.get("accuracy") is None


_RULE_OF = {primitive: rule for primitive, rule in RULES.values()}


def _jaxprs_in(params: dict[str, Any]) -> list[core.Jaxpr]:
    """The bodies an equation carries as parameters (``jax.extend.core.jaxprs_in_params``, which
    jax 0.8 lacks)."""
    values = [v for value in params.values() for v in (value if isinstance(value, tuple) else (value,))]
    return [v.jaxpr if isinstance(v, core.ClosedJaxpr) else v for v in values
            if isinstance(v, (core.Jaxpr, core.ClosedJaxpr))]


def _contains_swappable(jaxpr: core.Jaxpr, rules: Rules) -> bool:
    return any(
        _swappable(eqn, rules)
        or (eqn.primitive.name not in _CUSTOM_RULES
            and any(_contains_swappable(j, rules) for j in _jaxprs_in(eqn.params)))
        for eqn in jaxpr.eqns
    )


def _evaluate(rules: Rules, jaxpr: core.Jaxpr, consts: list[Any], *args: Any) -> list[Any]:
    """``jax.core.eval_jaxpr`` with sigact's rule at each swappable activation, swapped sub-jaxprs elsewhere."""
    env: dict[core.Var, Any] = {}

    def read(v: Any) -> Any:
        return v.val if isinstance(v, core.Literal) else env[v]

    env.update(zip(jaxpr.constvars, consts, strict=True))
    env.update(zip(jaxpr.invars, args, strict=True))
    for eqn in jaxpr.eqns:
        invals = [read(v) for v in eqn.invars]
        name_stack = source_info.current_name_stack() + eqn.source_info.name_stack
        with source_info.user_context(eqn.source_info.traceback, name_stack=name_stack), eqn.ctx.manager:
            if _swappable(eqn, rules):
                outvals = [_RULE_OF[eqn.primitive](*invals)]
            elif eqn.primitive.name == "shard_map" and _contains_swappable(eqn.params["jaxpr"], rules):
                outvals = _shard_map(rules, eqn, invals)
            else:
                params = eqn.params if eqn.primitive.name in _CUSTOM_RULES else _swapped_params(rules, eqn)
                if params is None:  # an open body whose rewrite needs constants: jax.checkpoint again
                    outvals = _checkpoint(rules, eqn, invals)
                else:
                    outvals = _bind(eqn.primitive, invals, params)
                    outvals = outvals if eqn.primitive.multiple_results else [outvals]
        env.update(zip(eqn.outvars, outvals, strict=True))
    return [read(v) for v in jaxpr.outvars]


def _bind(primitive: core.Primitive, args: list[Any], params: dict[str, Any]) -> Any:
    bind_params = primitive.get_bind_params(params)
    # Before jax 0.9, get_bind_params returned (subfuns, params); since, the params alone.
    subfuns, bind_params = bind_params if isinstance(bind_params, tuple) else ((), bind_params)
    return primitive.bind(*subfuns, *args, **bind_params)


# Original (Closed)Jaxpr -> {rules: its rewrite}. Weak keys: the entry goes when JAX drops the original.
_rewritten: weakref.WeakKeyDictionary[Any, dict[Rules, Any]] = weakref.WeakKeyDictionary()
_NEEDS_CONSTANTS = object()


def swapped_jaxpr(closed: core.ClosedJaxpr, rules: Rules) -> core.ClosedJaxpr:
    """The rewrite of ``closed``: same input and output types (weak types included), sigact inside."""
    if (hit := _rewritten.get(closed, {}).get(rules)) is not None:
        return hit
    in_avals = [v.aval for v in closed.jaxpr.invars]
    new = jax.make_jaxpr(functools.partial(_evaluate, rules, closed.jaxpr, closed.consts))(*in_avals)
    if new.in_avals != in_avals or new.out_avals != closed.out_avals:
        raise RuntimeError(
            f"sigact.jax.swap_sigmoid changed a jaxpr's types: {in_avals} -> {closed.out_avals} became "
            f"{new.in_avals} -> {new.out_avals}. This is a bug in sigact; please report it."
        )
    _rewritten.setdefault(closed, {})[rules] = new
    return new


def _swapped_open(jaxpr: core.Jaxpr, rules: Rules) -> core.Jaxpr | None:
    """The rewrite of an open jaxpr (a ``checkpoint`` body), or None if it needs constants."""
    known = _rewritten.setdefault(jaxpr, {})
    if rules not in known:
        new = swapped_jaxpr(core.ClosedJaxpr(jaxpr, []), rules)
        known[rules] = _NEEDS_CONSTANTS if new.consts else new.jaxpr
    hit = known[rules]
    return None if hit is _NEEDS_CONSTANTS else hit


def _swapped_params(rules: Rules, eqn: core.JaxprEqn) -> dict[str, Any] | None:
    """``eqn.params`` with each jaxpr-valued parameter that holds a swappable activation rewritten; the
    rest as is."""
    params = dict(eqn.params)
    for key, value in eqn.params.items():
        if isinstance(value, core.ClosedJaxpr) and _contains_swappable(value.jaxpr, rules):
            params[key] = swapped_jaxpr(value, rules)
        elif isinstance(value, core.Jaxpr) and _contains_swappable(value, rules):
            params[key] = _swapped_open(value, rules)
            if params[key] is None:
                return None
        elif isinstance(value, tuple) and any(
            isinstance(v, core.ClosedJaxpr) and _contains_swappable(v.jaxpr, rules) for v in value
        ):
            params[key] = tuple(swapped_jaxpr(v, rules) if isinstance(v, core.ClosedJaxpr) else v for v in value)
    return params


def _checkpoint(rules: Rules, eqn: core.JaxprEqn, args: list[Any]) -> list[Any]:
    body = functools.partial(_evaluate, rules, eqn.params["jaxpr"], [])
    return jax.checkpoint(body, prevent_cse=eqn.params["prevent_cse"], policy=eqn.params["policy"])(*args)


def _shard_map(rules: Rules, eqn: core.JaxprEqn, args: list[Any]) -> list[Any]:
    # The body names mesh axes (psum over "batch", say) that are bound only inside a shard_map, so
    # it cannot be traced on its own: call shard_map again and let it trace the swapped body there.
    p = eqn.params

    def body(*shards: Any) -> tuple[Any, ...]:
        return tuple(_evaluate(rules, p["jaxpr"], [], *shards))

    manual = p["newly_manual_axes"] if "newly_manual_axes" in p else p["manual_axes"]  # the name before jax 0.9
    mapped = jax.shard_map(body, mesh=p["mesh"], in_specs=p["in_specs"], out_specs=p["out_specs"],
                           axis_names=manual, check_vma=p["check_vma"])
    return list(mapped(*args))


def _is_array(leaf: Any) -> bool:
    """Traced like ``eqx.filter_jit`` traces: JAX and NumPy arrays. Everything else is static."""
    return isinstance(leaf, (jax.Array, np.ndarray, np.generic))


class _Static:
    """A static leaf as part of a cache key: by value where it hashes, by identity where not."""

    __slots__ = ("key", "value")

    def __init__(self, value: Any) -> None:
        self.value = value
        self.key: tuple[Any, ...]
        try:
            self.key = (type(value), hash(value), value)
        except TypeError:
            self.key = (type(value), id(value))

    def __hash__(self) -> int:
        return hash(self.key[:2])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Static) and self.key == other.key


class _Traced:
    """One input structure's swapped program, and how to rebuild the output around its arrays."""

    __slots__ = ("jaxpr", "out_tree", "out_static")

    def __init__(self, jaxpr: core.ClosedJaxpr, out_tree: Any, out_static: list[tuple[int, Any]]) -> None:
        self.jaxpr, self.out_tree, self.out_static = jaxpr, out_tree, out_static

    def __call__(self, arrays: list[Any]) -> Any:
        leaves = list(core.jaxpr_as_fun(self.jaxpr)(*arrays))
        for i, value in self.out_static:
            leaves.insert(i, value)
        return jax.tree.unflatten(self.out_tree, leaves)


def _trace(rules: Rules, tree: Any, static: list[tuple[int, Any]], avals: list[Any]) -> _Traced:
    out: dict[str, Any] = {}

    def flat(*arrays: Any) -> list[Any]:
        leaves = list(arrays)
        for i, value in static:
            leaves.insert(i, value)
        fun, args, kwargs = jax.tree.unflatten(tree, leaves)
        out_leaves, out["tree"] = jax.tree.flatten(fun(*args, **kwargs))
        out["static"] = [(i, leaf) for i, leaf in enumerate(out_leaves) if not _is_array(leaf)]
        return [leaf for leaf in out_leaves if _is_array(leaf)]

    closed = jax.make_jaxpr(flat)(*avals)
    return _Traced(swapped_jaxpr(closed, rules), out["tree"], out["static"])


def swap(fun: Callable[..., Any], *, sigmoid: bool = True, tanh: bool = True) -> Callable[..., Any]:
    r"""``fun``, with every activation sigact has an output-only rule for running that rule.

    The one call for a recurrent model: each ``lax.logistic`` becomes :func:`~sigact.jax.sigmoid_jvp`
    and each ``lax.tanh`` becomes :func:`~sigact.jax.tanh`, however deep inside ``fun`` they sit (see
    :func:`swap_sigmoid` for the constructs reached and how arguments are traced). An LSTM or GRU has
    both beside each other in every step, so inside a ``lax.scan`` this keeps one stacked buffer fewer per
    sigmoid gate and per tanh. Values and gradients are bitwise unchanged. One keyword per activation turns
    its rule off; ``swap(fun, tanh=False)`` is ``swap_sigmoid(fun)``.

    Args:
        fun: the function (or callable pytree, such as an Equinox module) to transform.
        sigmoid: swap ``lax.logistic`` (``jax.nn.sigmoid``, ``silu``, ``glu``, gates).
        tanh: swap ``lax.tanh`` (``jnp.tanh``, ``jax.nn.tanh``, cell outputs).

    Returns:
        A function with ``fun``'s signature.

    Raises:
        TypeError: if ``fun`` is not callable.

    Examples:
        >>> import jax, jax.numpy as jnp, sigact.jax as sj
        >>> def cell(c, xs):
        ...     step = lambda c, x: (jax.nn.sigmoid(x) * c + jnp.tanh(x), None)
        ...     return jax.lax.scan(step, c, xs)[0].sum()
        >>> c, xs = jnp.zeros(4), jnp.ones((16, 4))
        >>> bool(jnp.array_equal(jax.grad(sj.swap(cell))(c, xs), jax.grad(cell)(c, xs)))
        True
        >>> sj.audit(cell, c, xs).total_bytes, sj.audit(sj.swap(cell), c, xs).total_bytes
        (1280, 768)
    """
    rules = Rules(primitive for name, (primitive, _) in RULES.items() if {"sigmoid": sigmoid, "tanh": tanh}[name])
    return _swapped(fun, rules, "swap")


def _swapped(fun: Callable[..., Any], rules: Rules, name: str) -> Callable[..., Any]:
    if not callable(fun):
        raise TypeError(
            f"{name} expects a callable (a function, a bound method such as model.apply, or an "
            f"Equinox module), got {type(fun).__name__}: {fun!r}"
        )
    cache: dict[Any, _Traced] = {}

    @functools.wraps(fun)
    def swapped(*args: Any, **kwargs: Any) -> Any:
        leaves, tree = jax.tree.flatten((fun, args, kwargs))
        arrays = [leaf for leaf in leaves if _is_array(leaf)]
        static = [(i, leaf) for i, leaf in enumerate(leaves) if not _is_array(leaf)]
        avals = [jax.typeof(a) for a in arrays]
        key = (tree, tuple((i, _Static(v)) for i, v in static), tuple(avals))
        traced = cache.get(key)
        if traced is None:
            traced = _trace(rules, tree, static, avals)
            # A function that closes over another transform's tracers (``jax.grad`` of a closure
            # that calls this) holds them as constants: such a trace is valid for this call only.
            if not any(isinstance(c, jax.core.Tracer) for c in traced.jaxpr.consts):
                cache[key] = traced
        return traced(arrays)

    return swapped


def swap_sigmoid(fun: Callable[..., Any]) -> Callable[..., Any]:
    r"""``fun``, with every ``lax.logistic`` inside it running sigact's output-saving sigmoid.

    A function transformation, the JAX counterpart of ``sigact.torch.swap_sigmoid``. The returned
    function computes what ``fun`` computes, but each sigmoid inside it, however deep (nested
    ``jit``, ``lax.scan``, ``fori_loop``, ``while_loop``, ``cond``/``switch``, ``jax.checkpoint``
    with any policy, ``vmap``, ``pmap``, ``shard_map``, sharded ``jit``), and whoever wrote it
    (``jax.nn.sigmoid``, ``jax.nn.silu``/``swish``, ``jax.nn.glu``, the gates of Flax's and
    Equinox's LSTM and GRU cells), is :func:`~sigact.jax.sigmoid_jvp`: the same values, the same
    gradients bit for bit, and only y = σ(x) kept for the backward pass instead of y·(1 − y). Inside
    a ``lax.scan`` that removes one stacked activation-sized buffer per sigmoid (see docs/memory.md).

    Every transform keeps working, forward mode included (``jax.jvp``, ``jax.jacfwd``,
    ``jax.hessian``), and it composes both ways with ``jax.jit`` and with Equinox's filtered
    transforms. A user's own ``jax.custom_jvp``/``jax.custom_vjp`` functions keep their rules, and the
    sigmoids inside them are left alone. A ``logistic`` with ``accuracy=HIGHEST`` keeps the built-in,
    since its derivative σ(x)·σ(−x) needs the input.

    Arguments and results are pytrees. Array leaves (JAX and NumPy arrays) are traced; every other
    leaf (Python numbers, bools, strings, callables; ``None`` is an empty subtree) is static, as
    ``eqx.filter_jit`` treats it, and so is ``fun`` itself unless it is a pytree with array leaves
    (an Equinox module), whose arrays are traced. Keyword arguments work. ``fun`` is traced once per
    input structure (tree, shapes, dtypes, weak types and static values), as ``jit`` does, so
    Python control flow that depends on array values fails with JAX's own error
    (``TracerBoolConversionError``), exactly as under ``jit``. Eagerly, the traced program runs op
    by op, as ``fun`` would; it is not compiled unless you ``jit`` it.

    Args:
        fun: the function (or callable pytree, such as an Equinox module) to transform.

    Returns:
        A function with ``fun``'s signature.

    Raises:
        TypeError: if ``fun`` is not callable.

    Examples:
        A gated recurrence: a ``lax.scan`` stacks each step's residuals. The built-in keeps xs,
        every step's σ(h) and every step's σ(h)·(1 − σ(h)); the swap keeps the first two:

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

        Third-party code is swapped too, without changing it:

        >>> import flax.linen as nn
        >>> rnn = nn.RNN(nn.LSTMCell(features=8))
        >>> variables = rnn.init(jax.random.key(0), jnp.ones((2, 5, 3)))
        >>> y = sj.swap_sigmoid(rnn.apply)(variables, jnp.ones((2, 5, 3)))
        >>> bool(jnp.array_equal(y, rnn.apply(variables, jnp.ones((2, 5, 3)))))
        True
    """
    return _swapped(fun, Rules({lax.logistic_p}), "swap_sigmoid")
