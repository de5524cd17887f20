"""sigact for JAX: an output-saving sigmoid as a ``jax.custom_vjp``, a plain function for Flax and Optax."""

from sigact.jax._audit import audit
from sigact.jax._function import sigmoid

__all__ = ["audit", "sigmoid"]
