"""Behaviours of sigact.torch that a deliberate bug once broke with the rest of the suite still passing
(issue 25's mutation audit): the layout of the gradient where grad's and the input's layouts differ,
on every backward path, and the audit's view of parameters a plain function closes over."""

import itertools

import pytest

torch = pytest.importorskip("torch")

from torch.utils._python_dispatch import TorchDispatchMode  # noqa: E402

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


def random_values(shape, dtype, seed):
    """Normal values times 3, complex ones with an imaginary part: with none, every complex product
    is exact and fused and separately rounded products agree, hiding which the code computed."""
    generator = torch.Generator().manual_seed(seed)
    wide = torch.complex128 if dtype.is_complex else torch.float64
    return (torch.randn(shape, generator=generator, dtype=wide) * 3).to(dtype)


def layouts(shape, dtype, seed):
    """The same values of ``shape`` in many memory layouts: dense in each of the dimension orders, a
    strided slice of a larger tensor, and broadcast along each dimension (stride 0)."""
    values = random_values(shape, dtype, seed)
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
    # Real: run lengths 5 and 7 leave a remainder against every vector width the built-in's loops use,
    # 4 none. Complex: rows of 16, whole vectors for every CPU kernel, since the vectorised loop's scalar
    # tail is known to differ (docs/api.md); the remainders of its scalar loop are tested directly below.
    # The layouts make TensorIterator reorder, coalesce and broadcast dimensions in every way it can.
    shape = (16, 16, 16) if dtype.is_complex else (4, 5, 7)
    inputs, upstream = layouts(shape, dtype, seed=0), layouts(shape, dtype, seed=1)
    for (x_name, x), (g_name, g) in itertools.product(inputs.items(), upstream.items()):
        ours, builtin = (gradients(act, x, g) for act in (st.sigmoid, torch.sigmoid))
        assert mismatches(ours, builtin).size == 0, (x_name, g_name)
        assert ours.stride() == builtin.stride(), (x_name, g_name, ours.stride(), builtin.stride())


def operand_layouts(values):
    """``values`` as ``sigmoid_grad`` may be handed them, called directly: dense in each dimension
    order, strided (every other element, along every dimension or along the last only, which
    TensorIterator can then coalesce), broadcast along each dimension of a row-major and of a
    column-major tensor, and an overlapping view whose first two dimensions share a stride."""
    shape, dtype, ndim = values.shape, values.dtype, values.dim()
    found = {f"dense {order}": values.permute(order).contiguous().permute([order.index(d) for d in range(ndim)])
             for order in itertools.permutations(range(ndim))}
    big = torch.zeros([2 * n for n in shape], dtype=dtype)
    big[::2, ::2, ::2] = values
    found["every other"] = big[::2, ::2, ::2]
    wide = torch.zeros([*shape[:-1], 2 * shape[-1]], dtype=dtype)
    wide[..., ::2] = values
    found["every other in the last dimension"] = wide[..., ::2]
    for d in range(ndim):
        found[f"broadcast {d}"] = values.narrow(d, 0, 1).expand(shape)
        found[f"broadcast {d}, column-major"] = found["dense (2, 1, 0)"].narrow(d, 0, 1).expand(shape)
    # Strides (n, n, 1) over shape (n, n, m): the rows of the first two dimensions overlap.
    found["overlapping"] = values.flatten()[: shape[1] * shape[2] * 2].as_strided(shape, (shape[2], shape[2], 1))
    return found


def outputs_and_gradients(shape, dtype):
    return torch.sigmoid(random_values(shape, dtype, seed=0)), random_values(shape, dtype, seed=1)


def assert_sigmoid_grad_matches_builtin(grad, y, names):
    builtin = torch.ops.aten.sigmoid_backward(grad, y)
    for recording in (True, False):  # out of place where a graph may be recorded, in one buffer where not
        with torch.set_grad_enabled(recording):
            ours = st.sigmoid_grad(grad, y)
        assert mismatches(ours, builtin).size == 0, (*names, recording)
        assert ours.stride() == builtin.stride(), (*names, recording, ours.stride(), builtin.stride())


@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128, torch.float32, torch.bfloat16], ids=str)
def test_sigmoid_grad_called_directly_matches_the_builtin_on_every_pair_of_layouts(dtype):
    # sigmoid_grad is public, and aten::sigmoid_backward takes any layouts, the output y included: y
    # broadcast or strided (which autograd never passes), overlapping gradients. Whichever dimension
    # ends innermost, rows of 16 are whole vectors for every CPU kernel: no vectorised loop leaves a
    # scalar tail (docs/api.md).
    ys, grads = (operand_layouts(values) for values in outputs_and_gradients((16, 16, 16), dtype))
    for (y_name, y), (g_name, g) in itertools.product(ys.items(), grads.items()):
        assert_sigmoid_grad_matches_builtin(g, y, (y_name, g_name))


@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128], ids=str)
def test_complex_sigmoid_grad_on_strided_rows_of_odd_length_matches_the_builtin(dtype):
    # Both operands strided in their last dimension: the built-in's scalar loop runs throughout, in
    # blocks with a remainder at the end of each row, or of the whole tensor where the rows coalesce.
    ys, grads = (operand_layouts(values) for values in outputs_and_gradients((4, 5, 7), dtype))
    strided = ["every other", "every other in the last dimension"]
    for y_name, g_name in itertools.product(strided, [*strided, "dense (0, 1, 2)"]):
        assert_sigmoid_grad_matches_builtin(grads[g_name], ys[y_name], (y_name, g_name))
        assert_sigmoid_grad_matches_builtin(grads[y_name], ys[g_name], (g_name, y_name))


@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128, torch.float32], ids=str)
@pytest.mark.parametrize(("y_shape", "grad_shape"), [((), ()), ((1, 1), (1, 1)), ((7,), (14,)), ((14,), (7,)),
                                                     ((1, 5, 7), (4, 5, 7)), ((4, 5, 7), (1, 5, 7)),
                                                     ((5, 7), (4, 5, 7))], ids=str)
def test_sigmoid_grad_broadcasts_and_takes_any_rank_as_the_builtin_does(dtype, y_shape, grad_shape):
    # A longer 1-d operand is sliced every other element: 1-d rows in the built-in's scalar loop.
    generator = torch.Generator().manual_seed(0)
    y, grad = (torch.randn(shape, generator=generator, dtype=dtype) for shape in (y_shape, grad_shape))
    y = torch.sigmoid(y)
    y, grad = (t[::2] if t.shape == (14,) else t for t in (y, grad))
    builtin = torch.ops.aten.sigmoid_backward(grad, y)
    for recording in (True, False):
        with torch.set_grad_enabled(recording):
            ours = st.sigmoid_grad(grad, y)
        assert ours.shape == builtin.shape and ours.stride() == builtin.stride()
        if dtype.is_complex:  # rows of 7 or fewer end in the vectorised loop's scalar tail (docs/api.md)
            eps = torch.finfo(ours.real.dtype).eps
            torch.testing.assert_close(ours, builtin, rtol=2 * eps, atol=2 * eps * builtin.abs().max().item())
        else:
            assert mismatches(ours, builtin).size == 0


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32, torch.complex64], ids=str)
def test_a_recorded_backward_takes_the_builtins_layout_on_every_pair_of_layouts(dtype):
    # create_graph takes the out-of-place path, whose temporaries are dense: a bfloat16 gradient
    # broadcast along one dimension, promoted to float32 there, once gave the result another layout.
    xs, grads = (operand_layouts(values) for values in outputs_and_gradients((16, 16, 16), dtype))
    for (x_name, x), (g_name, g) in itertools.product(xs.items(), grads.items()):
        if x_name != "overlapping":  # autograd refuses to differentiate an overlapping input in place
            ours, builtin = (gradients(act, x, g, create_graph=True).detach() for act in (st.sigmoid, torch.sigmoid))
            assert mismatches(ours, builtin).size == 0, (x_name, g_name)
            assert ours.stride() == builtin.stride(), (x_name, g_name, ours.stride(), builtin.stride())


class NewBuffers(TorchDispatchMode):
    """Counts the ops whose result is a buffer none of their operands owns (not a view, not in place)."""

    def __init__(self):
        super().__init__()
        self.ops, self.new = [], 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        result = func(*args, **(kwargs or {}))
        owned = {a.untyped_storage().data_ptr() for a in args if isinstance(a, torch.Tensor)}
        self.ops.append(func.overloadpacket.__name__)
        self.new += isinstance(result, torch.Tensor) and result.untyped_storage().data_ptr() not in owned
        return result


@pytest.mark.parametrize("dtype, buffers", [(torch.float32, 1), (torch.float64, 1), (torch.bfloat16, 2)], ids=str)
@pytest.mark.parametrize("transposed", [False, True])
def test_without_a_graph_the_gradient_is_written_into_its_own_buffer(dtype, buffers, transposed):
    # Autograd runs a backward with grad mode off: there sigmoid_grad allocates its result (and, for bfloat16,
    # the float32 buffer the built-in computes in) and works in place, as the built-in's one kernel does.
    # Out-of-place ops would hold two more temporaries of the input's size at the backward's peak.
    y = torch.rand(64, 48, dtype=dtype)
    grad = torch.randn(48, 64, dtype=dtype).t() if transposed else torch.randn(64, 48, dtype=dtype)
    with torch.no_grad(), NewBuffers() as seen:
        result = st.sigmoid_grad(grad, y)
    assert seen.new == buffers, seen.ops
    assert_bitwise(result, torch.ops.aten.sigmoid_backward(grad, y))
