"""The ``nn.Module`` drop-in and the utility that swaps it into an existing model."""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor, nn

from sigact.torch._functional import sigmoid, sigmoid_


class Sigmoid(nn.Sigmoid):
    r"""Applies the output-saving sigmoid elementwise; a drop-in for :class:`torch.nn.Sigmoid`.

    .. math::
        \text{Sigmoid}(x) = \sigma(x) = \frac{1}{1 + e^{-x}}, \qquad
        \sigma'(x) = \sigma(x)\,\bigl(1 - \sigma(x)\bigr)

    The backward pass reads only the saved output σ(x). Values and gradients are those of
    ``nn.Sigmoid`` bit for bit. It subclasses ``nn.Sigmoid``, so ``isinstance`` checks in existing
    code keep working, and it has no parameters or buffers, so a ``state_dict`` does not change.

    Args:
        inplace: if ``True``, overwrite the input with the result (like ``Tensor.sigmoid_``)
            instead of allocating a new tensor. Default: ``False``.

    Shape:
        - Input: :math:`(*)`, where :math:`*` means any number of dimensions.
        - Output: :math:`(*)`, same shape as the input.

    Examples::

        >>> import torch, sigact.torch as st
        >>> m = st.Sigmoid()
        >>> m
        Sigmoid(sigact)
        >>> st.Sigmoid(inplace=True)
        Sigmoid(sigact, inplace=True)
        >>> x = torch.randn(2, 3)
        >>> torch.equal(m(x), torch.nn.Sigmoid()(x))
        True
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return sigmoid_(input) if self.inplace else sigmoid(input)

    def extra_repr(self) -> str:
        # "sigact" tells it apart from nn.Sigmoid in print(model), so a swap shows.
        return "sigact, inplace=True" if self.inplace else "sigact"


FilterFn = Callable[[nn.Module, str], bool]


def swap_sigmoid(
    module: nn.Module,
    *,
    classes: type[nn.Module] | tuple[type[nn.Module], ...] = (nn.Sigmoid,),
    filter_fn: FilterFn | None = None,
) -> nn.Module:
    """Replace every ``torch.nn.Sigmoid`` (or each of ``classes``) in ``module`` with :class:`Sigmoid`, in place.

    The walk is post-order and visits every submodule once. Only modules whose type is exactly
    one of ``classes`` are replaced: a user subclass may have its own ``forward`` and is left alone.
    The new module takes the old one's ``training`` flag, and its ``inplace`` flag where it has one.
    Parameters, buffers and ``state_dict`` keys do not change, since a sigmoid has none. Hooks
    registered on a replaced module are not carried over.

    Args:
        module: the model. Its submodules are replaced in place.
        classes: the module classes to replace, matched by exact type; by default ``nn.Sigmoid``.
            Name another library's sigmoid module here, for example timm's
            ``(nn.Sigmoid, timm.layers.Sigmoid)``. Name only classes whose ``forward(x)`` is
            ``torch.sigmoid(x)`` (or ``x.sigmoid_()`` when their ``inplace`` flag is set): the
            replacement computes exactly that.
        filter_fn: ``filter_fn(submodule, fully_qualified_name) -> bool`` picks which sigmoids to
            replace; by default all of them. The root's name is ``""``.

    Returns:
        ``module`` itself, or a new :class:`Sigmoid` if ``module`` is itself one of ``classes``
        (a root cannot be replaced in place, so use the return value).

    Raises:
        TypeError: ``classes`` is not an ``nn.Module`` subclass or a tuple (or list) of them.
        ValueError: ``classes`` is empty.

    Example:
        >>> import torch, sigact.torch as st
        >>> model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Sigmoid(),
        ...                             torch.nn.Linear(4, 1), torch.nn.Sigmoid())
        >>> st.swap_sigmoid(model, filter_fn=lambda m, name: name != "3")
        Sequential(
          (0): Linear(in_features=4, out_features=4, bias=True)
          (1): Sigmoid(sigact)
          (2): Linear(in_features=4, out_features=1, bias=True)
          (3): Sigmoid()
        )
        >>> [type(m).__module__ for m in model if isinstance(m, torch.nn.Sigmoid)]
        ['sigact.torch._module', 'torch.nn.modules.activation']
    """
    targets = _module_classes(classes)

    def wanted(candidate: nn.Module, name: str) -> bool:
        return type(candidate) in targets and (filter_fn is None or filter_fn(candidate, name))

    def replacement(old: nn.Module) -> Sigmoid:
        new = Sigmoid(inplace=bool(getattr(old, "inplace", False)))
        new.train(old.training)
        return new

    def visit(parent: nn.Module, prefix: str) -> None:
        for name, child in list(parent.named_children()):
            fqn = f"{prefix}.{name}" if prefix else name
            visit(child, fqn)
            if wanted(child, fqn):
                setattr(parent, name, replacement(child))

    if wanted(module, ""):
        return replacement(module)
    visit(module, "")
    return module


def _module_classes(classes: object) -> tuple[type[nn.Module], ...]:
    """``classes`` as a tuple of ``nn.Module`` subclasses, without sigact's own ``Sigmoid``."""
    targets = tuple(classes) if isinstance(classes, (tuple, list)) else (classes,)
    if not targets:
        raise ValueError("swap_sigmoid: classes is empty, so nothing would be replaced; "
                         "the default is (torch.nn.Sigmoid,)")
    for cls in targets:
        if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
            raise TypeError(f"swap_sigmoid: classes must be nn.Module subclasses (a class or a tuple of "
                            f"them, e.g. (torch.nn.Sigmoid,)), got {cls!r} of type {type(cls).__name__}")
    # Replacing sigact's Sigmoid with a new one would only drop its hooks.
    return tuple(cls for cls in targets if cls is not Sigmoid)
