"""Behaviours of sigact.torch that a deliberate bug once broke with the rest of the suite still passing
(issue 25's mutation audit): the layout of the gradient where grad's and the input's layouts differ,
on every backward path, and the audit's view of parameters a plain function closes over."""

import itertools

import pytest

torch = pytest.importorskip("torch")

import sigact.torch as st  # noqa: E402
from sigact._bits import mismatches  # noqa: E402
from tests.helpers import assert_bitwise  # noqa: E402


class Tagged(torch.Tensor):
    """A ``__torch_function__`` subclass, as tensor-tracking libraries make them: sigact takes its
    out-of-place path for it."""


def gradients(act, x, g, create_graph=False):
    x = x.detach().requires_grad_()
    return torch.autograd.grad(act(x), x, g, create_graph=create_graph)[0]


def assert_builtin_gradient(x, g, create_graph=False):
    ours, builtin = (gradients(act, x, g, create_graph) for act in (st.sigmoid, torch.sigmoid))
    assert_bitwise(ours.detach(), builtin.detach())
    assert ours.stride() == builtin.stride(), (ours.stride(), builtin.stride())


def transposed_gradient(shape, dtype, seed=1):
    generator = torch.Generator().manual_seed(seed)
    return (torch.randn(shape[::-1], generator=generator) * 3).to(dtype).t()


def expanded_gradient(shape, dtype, seed=2):
    generator = torch.Generator().manual_seed(seed)
    return (torch.randn(1, shape[1], generator=generator) * 3).to(dtype).expand(shape)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16], ids=str)
@pytest.mark.parametrize("gradient", [transposed_gradient, expanded_gradient], ids=["transposed", "expanded"])
def test_a_recorded_backward_takes_the_gradients_layout_as_the_builtin_does(dtype, gradient):
    # create_graph and a subclass gradient both take the out-of-place path: its result's layout is
    # decided by grad's strides, as aten::sigmoid_backward's is, not by the input's.
    shape = (6, 10)
    x = (torch.randn(shape, generator=torch.Generator().manual_seed(0)) * 4).to(dtype)
    g = gradient(shape, dtype)
    assert_builtin_gradient(x, g, create_graph=True)
    assert_builtin_gradient(x, g.as_subclass(Tagged))


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=str)
@pytest.mark.parametrize("gradient", [transposed_gradient, expanded_gradient], ids=["transposed", "expanded"])
def test_a_large_contiguous_input_with_a_strided_gradient_matches_the_builtin(dtype, gradient):
    # 2^21 elements: the size from which a contiguous CPU backward may be computed in cache-sized
    # chunks. Only the input is contiguous here; whichever path runs, the result is the built-in's,
    # values and strides.
    shape = (1 << 10, 1 << 11)
    x = (torch.randn(shape, generator=torch.Generator().manual_seed(0)) * 4).to(dtype)
    assert_builtin_gradient(x, gradient(shape, dtype))


def test_audit_counts_a_parameter_a_plain_function_closes_over_as_a_parameter():
    weight = torch.randn(8, 8, requires_grad=True)
    x = torch.randn(8, 8, requires_grad=True)
    # x * weight keeps weight itself (for x's gradient) and x (for weight's).
    report = st.audit(lambda x: st.sigmoid(x * weight), x)
    assert sorted(e.origin for e in report.entries) == ["argument", "output", "parameter"]
    # torch.mm(x, weight.t()) keeps the view weight.t(), which is a parameter too, not an intermediate.
    report = st.audit(lambda x: st.sigmoid(torch.mm(x, weight.t())), x)
    assert sorted(e.origin for e in report.entries) == ["argument", "output", "parameter"]
    kept = next(e for e in report.entries if e.origin == "parameter")
    assert kept.shape == (8, 8) and kept.storage == weight.untyped_storage().data_ptr()
    # A tensor computed inside the function is no parameter, even where its inputs are.
    report = st.audit(lambda x: st.sigmoid(x * (weight * 2)), x)
    assert sorted(e.origin for e in report.entries) == ["argument", "intermediate", "output"]


def layouts(shape, dtype, seed):
    """The same values of ``shape`` in many memory layouts: dense in each of the dimension orders, a
    strided slice of a larger tensor, and broadcast along each dimension (stride 0)."""
    generator = torch.Generator().manual_seed(seed)
    values = (torch.randn(shape, generator=generator, dtype=torch.float64) * 3).to(dtype)
    found = {f"dense {order}": values.permute(order).contiguous().permute([order.index(d) for d in range(3)])
             for order in itertools.permutations(range(3))}
    big = torch.zeros([2 * n for n in shape], dtype=dtype)
    big[::2, ::2, ::2] = values
    found["every other"] = big[::2, ::2, ::2]
    for d in range(3):
        found[f"broadcast {d}"] = values.narrow(d, 0, 1).expand(shape)
    return found


@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128, torch.float32, torch.bfloat16], ids=str)
def test_every_pair_of_layouts_gives_the_builtins_values_and_strides(dtype):
    # Run lengths 5 and 7 leave a remainder against every vector width the built-in's loops use, 4 none, and
    # the layouts make TensorIterator reorder, coalesce and broadcast dimensions in every way it can.
    shape = (4, 5, 7)
    inputs, upstream = layouts(shape, dtype, seed=0), layouts(shape, dtype, seed=1)
    for (x_name, x), (g_name, g) in itertools.product(inputs.items(), upstream.items()):
        ours, builtin = (gradients(act, x, g) for act in (st.sigmoid, torch.sigmoid))
        assert mismatches(ours, builtin).size == 0, (x_name, g_name)
        assert ours.stride() == builtin.stride(), (x_name, g_name, ours.stride(), builtin.stride())
