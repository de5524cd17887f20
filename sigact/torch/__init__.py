"""sigact for PyTorch: an output-saving sigmoid that drops in for ``torch.sigmoid`` and ``nn.Sigmoid``.

The chain, each layer thin and calling the one below:
``SigmoidFunction`` → ``sigmoid`` / ``sigmoid_`` → ``Sigmoid`` → ``swap_sigmoid`` and ``SigmoidMode``.
"""

from sigact.torch._audit import audit
from sigact.torch._autograd import SigmoidFunction
from sigact.torch._backward import sigmoid_grad
from sigact.torch._functional import sigmoid, sigmoid_
from sigact.torch._mode import SigmoidMode
from sigact.torch._module import Sigmoid, swap_sigmoid

__all__ = [
    "Sigmoid",
    "SigmoidFunction",
    "SigmoidMode",
    "audit",
    "sigmoid",
    "sigmoid_",
    "sigmoid_grad",
    "swap_sigmoid",
]
