"""Flax NNX objects across the swap's trace: what ``fun`` changes in them comes back to the caller's objects.

An NNX ``Variable`` or ``Module`` remembers the JAX trace it was made under and refuses a write from any
other (``TraceContextError``). The swap runs ``fun`` under a trace of its own, so the caller's objects
cannot be handed to ``fun`` as they are. It does what NNX's own transforms (``nnx.jit``, ``nnx.grad``)
do at their boundary, with NNX's public ``update_context`` protocol (its four steps, as its docstring
draws them):

1. outside, ``split`` the NNX objects passed in into a graph definition and their state;
2. inside, ``merge`` them into new objects that belong to the swap's trace, and call ``fun`` on those;
3. inside, ``split`` those objects and the NNX objects ``fun`` returned;
4. outside, ``merge``: the caller's objects are updated in place (values, new and removed attributes,
   static fields), an object ``fun`` returned that was passed in comes back as the caller's own
   object, and a new one (a module built inside ``fun``) as a new object of the caller's trace.

The swap's trace owns no values (every array inside is the trace's below), so the state written back
is exactly the state ``fun`` wrote. Everything that is not an NNX object passes through untouched: an
argument holding none is handed to ``fun`` as the very same object. NNX is looked for only when
``flax.nnx`` is already imported: no NNX object can exist otherwise.
"""

from __future__ import annotations

import inspect
import sys
import types
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import jax

_TAG = "sigact.jax.swap"  # the update_context's tag; NNX keeps one stack per tag, so nesting is fine


def _is_nnx(nnx: Any) -> Callable[[Any], bool]:
    return lambda x: isinstance(x, (nnx.Pytree, nnx.Variable))


class _Carried:
    """The items (``fun``, each argument) that hold NNX objects, and how to rebuild each around new ones."""

    def __init__(self, nnx: Any, items: list[Any]) -> None:
        self.nnx, self.is_nnx = nnx, _is_nnx(nnx)
        self.items = items
        # Per item: None (passed as it is) or (leaves, treedef, positions of the NNX leaves).
        self.plans: list[tuple[list[Any], Any, list[int]] | None] = []
        self.outer: list[Any] = []
        self.passed: list[tuple[Any, Any, list[Any]]] = []  # rebuilt containers, to check after the call
        for item in items:
            self.plans.append(self._plan(item))

    def _plan(self, item: Any) -> tuple[list[Any], Any, list[int]] | None:
        if inspect.ismethod(item) and self.is_nnx(item.__self__):  # model.loss: its module is carried
            self.outer.append(item.__self__)
            return [item.__func__], None, []
        leaves, tree = jax.tree.flatten(item, is_leaf=self.is_nnx)
        where = [i for i, leaf in enumerate(leaves) if self.is_nnx(leaf)]
        if not where:
            return None
        self.outer.extend(leaves[i] for i in where)
        return leaves, tree, where

    def rebuild(self, inner: list[Any]) -> list[Any]:
        """The items around ``inner``, the merged objects in the order they were found."""
        taken, out = iter(inner), []
        for item, plan in zip(self.items, self.plans, strict=True):
            if plan is None:
                out.append(item)
            elif plan[1] is None:
                out.append(types.MethodType(plan[0][0], next(taken)))
            else:
                leaves, tree, where = plan
                leaves = list(leaves)
                for i in where:
                    leaves[i] = next(taken)
                out.append(jax.tree.unflatten(tree, leaves))
                self.passed.append((out[-1], tree, [leaves[i] for i in where]))
        return out

    def check_unchanged(self) -> None:
        """A container that held NNX objects was a copy: a change to it would be lost, so refuse it."""
        for container, tree, nodes in self.passed:
            leaves, now = jax.tree.flatten(container, is_leaf=self.is_nnx)
            now_nodes = [x for x in leaves if self.is_nnx(x)]
            if now != tree or any(a is not b for a, b in zip(now_nodes, nodes, strict=True)):
                raise ValueError(
                    "sigact.jax.swap: the function changed a list, dict or other container that holds Flax "
                    f"NNX objects ({type(container).__name__}). The swap hands such a container to the "
                    "function as a copy around NNX objects of its own trace (their changes come back to "
                    "yours, the container's would not). Return the new container instead of changing it "
                    "in place, or pass the NNX objects as arguments of their own."
                )


def _call(fun: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    from flax.errors import TraceContextError  # flax.nnx is imported, so this is too

    try:
        return fun(*args, **kwargs)
    except TraceContextError as error:
        error.add_note(
            "sigact.jax.swap runs the function under a JAX trace of its own. It carries in the Flax NNX "
            "objects passed as arguments, as the function itself or as the object of a bound method, "
            "and writes their changes back; an NNX object the function reaches any other way (a "
            "closure, a global, an attribute of a non-NNX object) cannot be changed inside it. Pass "
            "that object as an argument."
        )
        raise


def call_carrying_nnx(enter: Callable[[], AbstractContextManager[Any]], fun: Callable[..., Any],
                      args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``fun(*args, **kwargs)`` inside ``enter()``, NNX state carried in and written back as above."""
    nnx = sys.modules.get("flax.nnx")
    if nnx is None:
        with enter():
            return fun(*args, **kwargs)
    carried = _Carried(nnx, [fun, *args, *kwargs.values()])
    if not carried.outer:  # nothing to carry in; NNX objects made inside are still carried out
        with enter():
            out = _call(fun, args, kwargs)
            returned = _Returned(carried.is_nnx, out)
            if not returned.where:
                return out
            graphdef, state = nnx.split(returned.nodes)
        return returned.rebuild(nnx.merge(graphdef, state, copy=True))
    with nnx.update_context(_TAG):
        with nnx.split_context(_TAG) as ctx:
            graphdef, state = ctx.split(carried.outer)
        with enter():
            with nnx.merge_context(_TAG, inner=True) as ctx:
                inner = ctx.merge(graphdef, state)
            fun, *items = carried.rebuild(inner)
            out = _call(fun, tuple(items[:len(args)]), dict(zip(kwargs, items[len(args):], strict=True)))
            carried.check_unchanged()
            returned = _Returned(carried.is_nnx, out)
            with nnx.split_context(_TAG) as ctx:
                graphdef, state = ctx.split((inner, returned.nodes))
        with nnx.merge_context(_TAG, inner=False) as ctx:
            _, nodes = ctx.merge(graphdef, state)
    return returned.rebuild(nodes) if returned.where else out


class _Returned:
    """The NNX objects in ``fun``'s result, and the result rebuilt around their counterparts outside."""

    def __init__(self, is_nnx: Callable[[Any], bool], out: Any) -> None:
        self.leaves, self.tree = jax.tree.flatten(out, is_leaf=is_nnx)
        self.where = [i for i, leaf in enumerate(self.leaves) if is_nnx(leaf)]
        self.nodes = [self.leaves[i] for i in self.where]

    def rebuild(self, nodes: list[Any]) -> Any:
        leaves = list(self.leaves)
        for i, node in zip(self.where, nodes, strict=True):
            leaves[i] = node
        return jax.tree.unflatten(self.tree, leaves)
