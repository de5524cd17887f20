"""sigact for JAX: output-saving sigmoids as plain functions for Flax and Optax, and a swap for any function.

* ``sigmoid``: a ``jax.custom_vjp`` with a hand-written backward rule (reverse mode).
* ``sigmoid_jvp``: a ``jax.custom_jvp`` with the same single residual that also works in forward mode.
* ``tanh``: ``jnp.tanh`` with a forward-mode rule whose only residual is the output.
* ``swap(fun)``: ``fun`` with every ``lax.logistic`` and ``lax.tanh`` inside it (that sets no ``accuracy``)
  running sigact's rules.
* ``swap_sigmoid(fun)``: the same for ``lax.logistic`` alone, running ``sigmoid_jvp``.
* ``remat_scans(fun, policy)``: ``fun`` with every ``lax.scan`` body inside it under ``jax.checkpoint``.
* ``plan(fun, *args)``: every way to fit ``fun``'s gradient in memory, measured on its own arguments;
  ``largest(make_args, fun, budget)``: the largest size that fits, by compilation alone.
* ``audit(fn, *args)``: the residuals JAX keeps for the backward pass.
"""

from sigact._install import reraise_with_install_hint

try:
    import jax  # noqa: F401
except ModuleNotFoundError as missing:
    reraise_with_install_hint(missing, "jax", "JAX")

from sigact.jax._activations import sigmoid, sigmoid_jvp, tanh
from sigact.jax._audit import audit
from sigact.jax._largest import largest
from sigact.jax._plan import plan
from sigact.jax._plan_table import Plan, PlanRow
from sigact.jax._remat import remat_scans
from sigact.jax._swap import swap, swap_sigmoid

__all__ = ["Plan", "PlanRow", "audit", "largest", "plan", "remat_scans", "sigmoid", "sigmoid_jvp", "swap",
           "swap_sigmoid", "tanh"]
