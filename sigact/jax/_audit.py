"""``audit``: the residuals JAX keeps for the backward pass of a function, read off its traced VJP."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import numpy as np
from jax.extend import core

from sigact._saved import SavedEntry, SavedReport


def _is_traced(leaf: Any) -> bool:
    """An array or a float/complex Python scalar: what ``jax.vjp`` differentiates."""
    return isinstance(leaf, (jax.Array, np.ndarray, np.generic, float, complex)) and not isinstance(leaf, bool)


def audit(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> SavedReport:
    """Report every residual that reverse-mode AD of ``fn(*args, **kwargs)`` keeps.

    This is the machinery behind ``jax.ad_checkpoint.print_saved_residuals``: trace
    ``jax.vjp(fn, *args)`` to a jaxpr and read which values the VJP closure holds. Each one becomes
    a :class:`sigact.SavedEntry` with origin ``"argument"``, ``"output"`` (also returned by
    ``fn``), ``"intermediate"`` or ``"constant"`` (a closed-over array or literal). A value kept
    twice is one variable in the jaxpr and is counted once. ``fn`` takes its arguments as given:
    arrays and float/complex scalars are traced, every other leaf (ints, bools, strings, ``None``,
    callables, an Equinox module's static fields) stays the Python value, as Equinox's filtered
    transforms keep it. These are the op-by-op residuals; under
    ``jit``, XLA decides again what to keep (see ``Compiled.memory_analysis()``).

    Example:
        >>> import jax, jax.numpy as jnp, sigact.jax as sj
        >>> x = jnp.ones(1024)
        >>> [(e.origin, e.bytes) for e in sj.audit(sj.sigmoid, x).entries]
        [('output', 4096)]
        >>> [(e.origin, e.note) for e in sj.audit(jax.nn.sigmoid, x).entries]
        [('intermediate', 'output of mul')]
    """
    leaves, tree = jax.tree.flatten((args, kwargs))
    # Static leaves (ints, strings, None, callables, any non-array object) stay Python values, as in
    # Equinox's filtered transforms: an Equinox module's int field is a shape, not something to trace.
    dynamic = [i for i, leaf in enumerate(leaves) if _is_traced(leaf)]

    def of_dynamic(*values: Any) -> Any:
        full = list(leaves)
        for i, value in zip(dynamic, values, strict=True):
            full[i] = value
        a, k = jax.tree.unflatten(tree, full)
        return fn(*a, **k)

    def vjp_of_leaves(*flat: Any) -> Any:
        return jax.vjp(of_dynamic, *flat)

    closed, (primal_shape, _) = jax.make_jaxpr(vjp_of_leaves, return_shape=True)(*[leaves[i] for i in dynamic])
    jaxpr = closed.jaxpr
    num_primal = len(jax.tree.leaves(primal_shape))
    primal_vars, residual_vars = jaxpr.outvars[:num_primal], jaxpr.outvars[num_primal:]

    # reduce_precision only marks a value for XLA; the residual is the value it wraps.
    through = {e.outvars[0]: e.invars[0] for e in jaxpr.eqns if e.primitive.name == "reduce_precision"}
    producers = {v: e.primitive.name for e in jaxpr.eqns for v in e.outvars}
    outputs = {through.get(v, v) for v in primal_vars if not isinstance(v, core.Literal)}

    entries: list[SavedEntry] = []
    seen: set[Any] = set()
    for var in residual_vars:
        if isinstance(var, core.Literal):
            origin, note, key = "constant", "literal", ("literal", len(entries))
        else:
            var = through.get(var, var)
            if var in seen:
                continue
            seen.add(var)
            key = var
            if var in jaxpr.invars:
                origin, note = "argument", ""
            elif var in jaxpr.constvars:
                origin, note = "constant", "closed-over array"
            elif var in outputs:
                origin, note = "output", f"output of {producers[var]}"
            else:
                origin, note = "intermediate", f"output of {producers[var]}"
        aval = var.aval
        nbytes = int(np.prod(aval.shape, dtype=np.int64)) * aval.dtype.itemsize
        entries.append(SavedEntry(
            shape=tuple(aval.shape),
            dtype=str(aval.dtype),
            bytes=nbytes,
            origin=origin,
            storage=key,
            storage_bytes=nbytes,
            note=note,
        ))
    return SavedReport("jax", tuple(entries))
