"""sigact: the sigmoid σ(x) = 1 / (1 + e^(−x)) with a backward pass that keeps only its output.

The frameworks live in their own modules, and importing this package imports neither:

* ``sigact.torch``: ``SigmoidFunction``, ``sigmoid``, ``sigmoid_``, ``Sigmoid``, ``swap_sigmoid``,
  ``SigmoidMode`` and ``audit``.
* ``sigact.jax``: ``sigmoid`` (a ``jax.custom_vjp``) and ``audit``.

Both ``audit`` functions return a :class:`SavedReport` of :class:`SavedEntry` rows.
"""

from sigact._saved import SavedEntry, SavedReport

__version__ = "0.1.0"

__all__ = ["SavedEntry", "SavedReport", "__version__"]
