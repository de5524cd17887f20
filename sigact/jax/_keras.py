"""Keras 3 saving: a model built with sigact's activations (``LSTM(activation=sj.tanh,
recurrent_activation=sj.sigmoid)``) saves with ``model.save("m.keras")`` and loads with
``keras.saving.load_model`` as it was, sigact's activations included, with no ``custom_objects``.

Keras saves a plain function by its registered name and loads it back from its registry
(``keras/src/saving/serialization_lib.py``). Registered, ``sj.sigmoid`` is saved as
``"sigact.jax>sigmoid"`` and comes back as ``sj.sigmoid``. Unregistered, it would be saved under its bare
name, ``"sigmoid"``, and load as Keras's own sigmoid: the values are the same, but the memory saving is
silently gone. So sigact's activations are registered as soon as both are imported, with Keras's public
``register_keras_serializable``: when ``sigact.jax`` is imported if Keras already is, or else right after
Keras's own import, by a one-shot import hook that then leaves ``sys.meta_path``. sigact never imports
Keras itself.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

PACKAGE = "sigact.jax"  # the saved name is "sigact.jax>" + the function's name


def register(keras: ModuleType, functions: Sequence[Callable[..., Any]]) -> None:
    for function in functions:
        keras.saving.register_keras_serializable(package=PACKAGE, name=function.__name__)(function)


class _AfterKeras(importlib.abc.MetaPathFinder):
    """Finds nothing itself: when Keras is imported, it wraps Keras's loader to register ``functions``
    once Keras's ``__init__`` has run, and leaves ``sys.meta_path``. A failed Keras import puts it back."""

    def __init__(self, functions: Sequence[Callable[..., Any]]) -> None:
        self.functions = functions

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname != "keras":
            return None
        spec = None
        for finder in [f for f in sys.meta_path if f is not self]:
            find = getattr(finder, "find_spec", None)
            spec = find(fullname, path, target) if find is not None else None
            if spec is not None:
                break
        loader = getattr(spec, "loader", None)
        if spec is None or loader is None or not hasattr(loader, "exec_module"):
            return spec
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        run = loader.exec_module

        def exec_module(module: ModuleType) -> None:
            try:
                run(module)
            except BaseException:
                sys.meta_path.insert(0, self)  # keras is not imported: wait for the next try
                raise
            register(module, self.functions)

        loader.exec_module = exec_module  # this spec's own loader instance
        return spec


def register_when_keras_is_imported(functions: Sequence[Callable[..., Any]]) -> None:
    """Register ``functions`` with Keras now if it is imported, else right after it is."""
    keras = sys.modules.get("keras")
    if keras is not None:
        register(keras, functions)
    elif not any(isinstance(f, _AfterKeras) for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterKeras(functions))
