"""``swap``: every ``lax.logistic`` and ``lax.tanh`` inside a JAX function runs sigact's output-only rule.

Why a trace. Third-party code (Flax's LSTM and GRU cells, ``jax.nn.silu``, ``jax.nn.glu``) reaches
``lax.logistic`` and ``lax.tanh`` through nested, often inlined ``jit`` calls, so no name can be patched.
What every such call has in common is that it binds a primitive on the current JAX trace. ``swap`` runs
``fun`` itself, each call, with a :class:`_SwapTrace` on top of whatever trace is current (none: eager;
``jit``, ``grad``, ``vmap``: theirs). That trace owns no values: it sees each bind and hands it on to the
trace below, unchanged, except for

* a swappable activation, which runs the rule of :data:`RULES` instead;
* a primitive that carries a body as a jaxpr parameter (``jit``, ``scan``, ``while``, ``cond``,
  ``checkpoint``, ``custom_linear_solve``) holding one, whose body is rewritten: traced again through
  ``jax.extend.core.jaxpr_as_fun`` under a fresh swap trace. Only those parameters change; the counts
  and options beside them pass through as JAX wrote them;
* ``shard_map``, whose body is a function rather than a jaxpr, and runs under a fresh swap trace;
* with a policy (:func:`~sigact.jax.remat_scans`), a ``scan``, whose body, rewritten as above, runs
  under ``jax.checkpoint`` with that policy;
* a user's own ``custom_jvp``/``custom_vjp``, left alone, rules and body.

So every other operation runs exactly as it would without the swap: eagerly each ``jnp`` function still
runs as its own compiled call, ``jax.debug_nans`` and ``jax.disable_jit`` act as usual, and Python sees the
arguments it was given. Rewritten bodies are cached per original jaxpr, :class:`Rules` (the activations and
the policy) and tracing context (x64, mesh, default device and the other settings ``jax.jit`` keys its own
cache on), so a rewritten ``jit`` is one new object, compiled once. The trace is JAX's internal
``jax._src.core.Trace``: no public API intercepts binds. The generic alternatives did not fit (jax 0.10.2):
quax's rules do not fire through ``jit``, and qax and lorax no longer run on current JAX.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
from jax import lax
from jax._src import config
from jax._src import core as jax_core
from jax._src import linear_util as lu
from jax.extend import core

from sigact.jax._activations import sigmoid_jvp, tanh

# Each activation sigact has an output-only rule for, by the keyword of ``swap`` that turns it on. Adding
# an activation is one row here.
RULES: dict[str, tuple[core.Primitive, Callable[[Any], Any]]] = {
    "sigmoid": (lax.logistic_p, sigmoid_jvp),
    "tanh": (lax.tanh_p, tanh),
}
_RULE_OF = {primitive: rule for primitive, rule in RULES.values()}


@dataclass(frozen=True)
class Rules:
    """What a trace rewrites, and so the key of every cached rewrite: the primitives to swap, and the
    ``jax.checkpoint`` policy each ``lax.scan`` body runs under (None: as written)."""

    swap: frozenset[core.Primitive] = frozenset()
    policy: Callable[..., Any] | None = None


# Calls of a user's own custom rules: their bodies are theirs, and left as written.
_CUSTOM_RULES = frozenset({"custom_jvp_call", "custom_vjp_call", "custom_vjp_call_jaxpr"})


def _swappable(primitive: core.Primitive, params: dict[str, Any], rules: Rules) -> bool:
    """An activation sigact reproduces bit for bit: the default accuracy (``HIGHEST`` differentiates
    through the input, e.g. σ(x)·σ(−x), so it keeps the built-in)."""
    return primitive in rules.swap and params.get("accuracy") is None


def _jaxprs_in(params: dict[str, Any]) -> list[core.Jaxpr]:
    values = [v for value in params.values() for v in (value if isinstance(value, tuple) else (value,))]
    return [v.jaxpr if isinstance(v, core.ClosedJaxpr) else v for v in values
            if isinstance(v, (core.Jaxpr, core.ClosedJaxpr))]


# Jaxpr -> {rules: whether it holds something to rewrite (a swappable activation; a scan, under a policy)}.
# Eagerly every ``jnp`` call is a ``jit`` whose body is asked about, so the answer is kept; weak keys, since
# JAX keeps the jaxprs it reuses.
_contains: weakref.WeakKeyDictionary[Any, dict[Any, bool]] = weakref.WeakKeyDictionary()


def _contains_swappable(jaxpr: core.Jaxpr, rules: Rules) -> bool:
    known = _contains.setdefault(jaxpr, {})
    if rules not in known:
        known[rules] = any(
            _swappable(eqn.primitive, eqn.params, rules)
            or (eqn.primitive is lax.scan_p and rules.policy is not None)
            or (eqn.primitive.name not in _CUSTOM_RULES
                and any(_contains_swappable(j, rules) for j in _jaxprs_in(eqn.params)))
            for eqn in jaxpr.eqns
        )
    return known[rules]


class _SwapTrace(jax_core.Trace):
    """Hands every bind on to ``parent_trace`` (the trace that was current), rewriting as the module says."""

    def __init__(self, parent_trace: jax_core.Trace, rules: Rules) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # jax's Trace is unannotated
        self.parent_trace, self.rules = parent_trace, rules

    def process_primitive(self, primitive: core.Primitive, args: Any, params: dict[str, Any]) -> Any:
        with jax_core.set_current_trace(self.parent_trace):
            if _swappable(primitive, params, self.rules):
                return _RULE_OF[primitive](*args)
            if primitive is lax.scan_p and self.rules.policy is not None:
                return primitive.bind(*args, **{**params, "jaxpr": _remat_body(params["jaxpr"], self.rules)})
            if primitive.name not in _CUSTOM_RULES and any(
                    _contains_swappable(j, self.rules) for j in _jaxprs_in(params)):
                swapped = _swapped_params(params, self.rules)
                if swapped is None:  # an open body whose rewrite needs constants: jax.checkpoint again
                    return _checkpoint(params, self.rules, args)
                params = swapped
            return primitive.bind(*args, **params)

    # A body passed as a function runs under a swap trace of its own where the trace below calls it. For
    # shard_map that is the only way: its body names mesh axes (psum over "batch", say) bound only inside.
    def process_shard_map(self, primitive: core.Primitive, fun: Any, args: Any, **params: Any) -> Any:
        # Trace declares no process_shard_map: each concrete trace defines its own.
        parent: Any = self.parent_trace
        return parent.process_shard_map(primitive, _under_swap(fun, self.rules), args, **params)

    def process_call(self, primitive: core.Primitive, fun: Any, args: Any, params: dict[str, Any]) -> Any:
        return self.parent_trace.process_call(primitive, _under_swap(fun, self.rules), args, params)

    def process_custom_jvp_call(self, primitive: core.Primitive, fun: Any, jvp: Any, args: Any, **params: Any) -> Any:
        return self.parent_trace.process_custom_jvp_call(primitive, fun, jvp, args, **params)

    def process_custom_vjp_call(self, primitive: core.Primitive, fun: Any, fwd: Any, bwd: Any, args: Any,
                                **params: Any) -> Any:
        return self.parent_trace.process_custom_vjp_call(primitive, fun, fwd, bwd, args, **params)

    def stage_value(self, value: Any) -> Any:
        with jax_core.set_current_trace(self.parent_trace):
            return self.parent_trace.stage_value(value)

    def cur_qdd(self, value: Any) -> Any:
        return self.parent_trace.cur_qdd(value)  # type: ignore[attr-defined]  # defined by concrete traces


def _run_swapped(fun: Callable[..., Any], rules: Rules, *args: Any, **kwargs: Any) -> Any:
    # Arguments and results are rebuilt from their leaves on each side of the trace, as jit and grad
    # rebuild them: pytree nodes that remember the trace they were made under (Flax NNX's Variables)
    # then belong to the trace that uses them.
    leaves, tree = jax.tree.flatten((args, kwargs))
    with jax_core.set_current_trace(_SwapTrace(jax_core.unsafe_get_current_trace(), rules)):
        args, kwargs = jax.tree.unflatten(tree, leaves)
        out = fun(*args, **kwargs)
        out_leaves, out_tree = jax.tree.flatten(out)
    return jax.tree.unflatten(out_tree, out_leaves)


def _under_swap(fun: Any, rules: Rules) -> Any:
    """``fun``, run with a swap trace on top of the trace current when it is called. JAX passes some
    bodies as ``linear_util.WrappedFun`` (``shard_map``'s up to jax 0.9, ``call``'s): those stay one."""
    if isinstance(fun, lu.WrappedFun):
        return lu.transformation2(_run_swapped, fun, rules)()  # curried: the call makes the WrappedFun
    return functools.partial(_run_swapped, fun, rules)


# Original (Closed)Jaxpr -> {(rules, tracing context): its rewrite}. Weak keys: the entry goes when JAX
# drops the original.
_rewritten: weakref.WeakKeyDictionary[Any, dict[Any, Any]] = weakref.WeakKeyDictionary()
_NEEDS_CONSTANTS = object()


def _retraced(closed: core.ClosedJaxpr, body: Callable[..., Any], name: str) -> core.ClosedJaxpr:
    in_avals = [v.aval for v in closed.jaxpr.invars]
    new = jax.make_jaxpr(body)(*in_avals)
    if new.in_avals != in_avals or new.out_avals != closed.out_avals:
        raise RuntimeError(f"sigact.jax.{name} changed a jaxpr's types: {in_avals} -> {closed.out_avals} became "
                           f"{new.in_avals} -> {new.out_avals}. This is a bug in sigact; please report it.")
    return new


def swapped_jaxpr(closed: core.ClosedJaxpr, rules: Rules) -> core.ClosedJaxpr:
    """The rewrite of ``closed``: same input and output types (weak types included), sigact inside."""
    known, key = _rewritten.setdefault(closed, {}), (rules, config.trace_context())
    if key not in known:
        known[key] = _retraced(closed, _under_swap(core.jaxpr_as_fun(closed), rules), "swap")
    return known[key]


def _remat_body(closed: core.ClosedJaxpr, rules: Rules) -> core.ClosedJaxpr:
    """A scan body, rewritten as any other (nested scans included), under ``jax.checkpoint`` with the
    policy: a scan differentiates its body as one unit, so the policy decides what each step stacks.
    ``prevent_cse=False``, as JAX advises inside a scan, whose loop already keeps XLA from merging the
    recomputation away."""
    known, key = _rewritten.setdefault(closed, {}), (rules, config.trace_context(), "scan body")
    if key not in known:
        body = _under_swap(core.jaxpr_as_fun(closed), rules)
        known[key] = _retraced(closed, jax.checkpoint(body, policy=rules.policy, prevent_cse=False), "remat_scans")
    return known[key]


def _swapped_open(jaxpr: core.Jaxpr, rules: Rules) -> Any:
    """The rewrite of an open jaxpr (a ``checkpoint`` body), or ``_NEEDS_CONSTANTS``."""
    known, key = _rewritten.setdefault(jaxpr, {}), (rules, config.trace_context())
    if key not in known:
        new = swapped_jaxpr(core.ClosedJaxpr(jaxpr, []), rules)
        known[key] = _NEEDS_CONSTANTS if new.consts else new.jaxpr
    return known[key]


def _swapped_value(value: Any, rules: Rules) -> Any:
    if isinstance(value, core.ClosedJaxpr) and _contains_swappable(value.jaxpr, rules):
        return swapped_jaxpr(value, rules)
    if isinstance(value, core.Jaxpr) and _contains_swappable(value, rules):
        return _swapped_open(value, rules)
    if isinstance(value, tuple):  # cond's branches; custom_linear_solve's namedtuple of jaxprs
        items = [_swapped_value(v, rules) for v in value]
        return value._make(items) if hasattr(value, "_make") else type(value)(items)
    return value


def _swapped_params(params: dict[str, Any], rules: Rules) -> dict[str, Any] | None:
    """``params`` with each jaxpr that holds a swappable activation rewritten; None if an open body's
    rewrite needs constants."""
    swapped = {key: _swapped_value(value, rules) for key, value in params.items()}
    return None if any(value is _NEEDS_CONSTANTS for value in swapped.values()) else swapped


def _checkpoint(params: dict[str, Any], rules: Rules, args: Any) -> Any:
    body = _under_swap(core.jaxpr_as_fun(core.ClosedJaxpr(params["jaxpr"], [])), rules)
    return jax.checkpoint(body, prevent_cse=params["prevent_cse"], policy=params["policy"])(*args)


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
    Every transform composes with it both ways, forward mode included. An eager call costs more than
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
    chosen = {"sigmoid": sigmoid, "tanh": tanh}
    for name, value in chosen.items():
        if not isinstance(value, bool):
            raise TypeError(f"swap's {name}= turns that activation's rule on or off: expected True or False, "
                            f"got {type(value).__name__}: {value!r}")
    return _swapped(fun, Rules(frozenset(primitive for name, (primitive, _) in RULES.items() if chosen[name])),
                    "swap")


def _swapped(fun: Callable[..., Any], rules: Rules, name: str) -> Callable[..., Any]:
    if not callable(fun):
        raise TypeError(
            f"{name} expects a callable (a function, a bound method such as model.apply, or an "
            f"Equinox module), got {type(fun).__name__}: {fun!r}"
        )

    @functools.wraps(fun)
    def swapped(*args: Any, **kwargs: Any) -> Any:
        return _run_swapped(fun, rules, *args, **kwargs)

    return swapped


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
    return _swapped(fun, Rules(frozenset({lax.logistic_p})), "swap_sigmoid")
