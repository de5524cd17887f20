"""Forward mode: the tangent of the sigmoid from its output alone, σ′ = y(1 − y) applied to t."""

from __future__ import annotations

from torch import Tensor

from sigact.torch._backward import sigmoid_grad


def sigmoid_jvp(tangent: Tensor, y: Tensor) -> Tensor:
    # Forward mode is the backward formula read as J·t. For complex inputs the Jacobian is
    # σ′ itself, not its conjugate, hence the two conjugations (exact, so no rounding changes).
    if tangent.is_complex():
        return sigmoid_grad(tangent.conj(), y).conj()
    return sigmoid_grad(tangent, y)
