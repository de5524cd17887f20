"""sigact for PyTorch: an output-saving sigmoid that drops in for ``torch.sigmoid`` and ``nn.Sigmoid``.

The chain, each layer thin and calling the one below:
``SigmoidFunction`` → ``sigmoid`` / ``sigmoid_`` → ``Sigmoid`` → ``swap_sigmoid`` and ``SigmoidMode``.
"""

from sigact._install import reraise_with_install_hint

try:
    import torch  # noqa: F401
except ModuleNotFoundError as missing:
    reraise_with_install_hint(missing, "torch", "PyTorch")

from sigact.torch._audit import audit
from sigact.torch._autograd import SigmoidFunction
from sigact.torch._backward import sigmoid_grad
from sigact.torch._functional import sigmoid, sigmoid_
from sigact.torch._mode import SigmoidMode
from sigact.torch._module import Sigmoid, swap_sigmoid
from sigact.torch._private import warn_if_missing

warn_if_missing()  # a torch newer than those tested may lack an internal sigact reads: say so, once

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
