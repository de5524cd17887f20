"""Every autograd feature of torch.sigmoid works with sigact: higher order, forward mode,
torch.func, torch.compile, autocast and in-place semantics."""

import pytest

torch = pytest.importorskip("torch")

import sigact.torch as st  # noqa: E402
from tests.helpers import assert_bitwise  # noqa: E402


@pytest.mark.parametrize("dtype", [torch.float64, torch.complex128], ids=str)
def test_gradcheck_backward_and_forward_mode(dtype):
    x = torch.randn(6, dtype=dtype, requires_grad=True)
    assert torch.autograd.gradcheck(st.sigmoid, (x,), check_forward_ad=True, check_batched_grad=True)


@pytest.mark.parametrize("dtype", [torch.float64, torch.complex128], ids=str)
def test_gradgradcheck_double_backward(dtype):
    x = torch.randn(6, dtype=dtype, requires_grad=True)
    assert torch.autograd.gradgradcheck(st.sigmoid, (x,), check_fwd_over_rev=True)


def test_in_place_form_passes_gradcheck_with_forward_mode():
    x = torch.randn(6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: st.sigmoid_(t.clone()), (x,), check_forward_ad=True)


def test_double_backward_matches_builtin_second_derivative():
    x = torch.linspace(-6, 6, 101, dtype=torch.float64, requires_grad=True)

    def second(fn):
        (g,) = torch.autograd.grad(fn(x).sum(), x, create_graph=True)
        return torch.autograd.grad(g.sum(), x)[0]

    y = torch.sigmoid(x).detach()
    torch.testing.assert_close(second(st.sigmoid), second(torch.sigmoid))
    torch.testing.assert_close(second(st.sigmoid), y * (1 - y) * (1 - 2 * y))


WEIGHTS = torch.randn(5, dtype=torch.float64, generator=torch.Generator().manual_seed(1))


def _loss_sigact(x):
    return (WEIGHTS * st.sigmoid(x)).sum()  # random non-unit upstream gradients: rounding order shows


def _loss_builtin(x):
    return (WEIGHTS * torch.sigmoid(x)).sum()


@pytest.mark.parametrize("transform", [torch.func.grad, torch.func.jacrev, torch.func.jacfwd],
                         ids=["grad", "jacrev", "jacfwd"])
def test_torch_func_transforms_are_bitwise_equal_to_builtin(transform):
    x = torch.randn(5, dtype=torch.float64)
    assert_bitwise(transform(_loss_sigact)(x), transform(_loss_builtin)(x))


def test_torch_func_hessian_matches_builtin_to_rounding():
    # Second derivatives go through sigact's own double backward: equal to rounding, not bitwise (docs/api.md).
    x = torch.randn(5, dtype=torch.float64)
    torch.testing.assert_close(torch.func.hessian(_loss_sigact)(x), torch.func.hessian(_loss_builtin)(x),
                               rtol=0, atol=1e-15)


def test_vmap_is_bitwise_equal_to_builtin_in_both_forms():
    x = torch.randn(4, 7)
    assert_bitwise(torch.func.vmap(st.sigmoid)(x), torch.func.vmap(torch.sigmoid)(x))
    assert_bitwise(
        torch.func.vmap(lambda t: st.sigmoid_(t.clone()))(x),
        torch.func.vmap(lambda t: t.clone().sigmoid_())(x),
    )


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64], ids=str)
def test_vmap_of_vjp_with_random_cotangents_is_bitwise_equal_to_builtin(dtype):
    # The batched backward path, with cotangents that make the rounding order visible.
    x, w = (torch.randn(16, 257, dtype=torch.float64).to(dtype) * s for s in (6, 1))

    def batched(fn):
        return torch.func.vmap(lambda t, c: torch.func.vjp(fn, t)[1](c)[0])(x, w)

    assert_bitwise(batched(st.sigmoid), batched(torch.sigmoid))


@pytest.mark.slow
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16], ids=str)
def test_compile_fullgraph_is_bitwise_equal_to_the_compiled_builtin(dtype):
    # Under torch.compile the built-in's backward is decomposed and recompiled, so it is the
    # compiled built-in, not the eager one, that a compiled drop-in must match.
    torch._dynamo.reset()

    def step(fn, x, w):
        h = fn(x @ w)
        return h, (h * x).sum()

    x = torch.randn(8, 1000).to(dtype)
    w = torch.randn(1000, 1000).div(30).to(dtype).requires_grad_()
    results = []
    for fn in (st.sigmoid, torch.sigmoid):
        h, loss = torch.compile(step, fullgraph=True)(fn, x, w)
        (gw,) = torch.autograd.grad(loss, w)
        results.append((h.detach(), gw))
    for ours, ref in zip(*results, strict=True):
        assert_bitwise(ours, ref)


@pytest.mark.parametrize("backend", ["eager", "aot_eager", pytest.param("inductor", marks=pytest.mark.slow)])
def test_every_compile_backend_is_bitwise_equal_to_the_compiled_builtin_under_it(backend):
    # inductor decomposes the built-in's backward into grad·(y·(1 − y)); aot_eager and eager run
    # the eager kernel, (grad·(1 − y))·y: 2,645 of 8,000 float32 elements differ between the two.
    x = torch.randn(8000, dtype=torch.float64) * 6
    grad = torch.randn(8000, dtype=torch.float64)
    for dtype in (torch.float32, torch.float16):
        torch._dynamo.reset()
        results = []
        for fn in (st.sigmoid, torch.sigmoid, st.sigmoid_, torch.sigmoid_):
            compiled = torch.compile(lambda t, fn=fn: fn(t * 1), backend=backend, fullgraph=True)
            leaf = x.to(dtype).requires_grad_()
            results.append(torch.autograd.grad(compiled(leaf), leaf, grad.to(dtype))[0])
        assert_bitwise(results[0], results[1])
        assert_bitwise(results[2], results[3])


@pytest.mark.slow
def test_compile_fullgraph_of_the_in_place_module_is_bitwise_equal_to_compiled_sigmoid_():
    torch._dynamo.reset()

    class BuiltinInPlace(torch.nn.Module):
        def forward(self, h):
            return h.sigmoid_()

    def train_once(activation):
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(64, 64), activation, torch.nn.Linear(64, 1))
        loss = torch.compile(model, fullgraph=True)(torch.randn(16, 64)).sum()
        loss.backward()
        return [loss.detach()] + [p.grad for p in model.parameters()]

    for ours, ref in zip(train_once(st.Sigmoid(inplace=True)), train_once(BuiltinInPlace()), strict=True):
        assert_bitwise(ours, ref)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16], ids=str)
def test_autocast_behaves_as_builtin(dtype):
    layer = torch.nn.Linear(8, 8)
    x = torch.randn(4, 8)
    results = []
    for fn in (st.sigmoid, torch.sigmoid):
        with torch.autocast("cpu", dtype=dtype):
            h = layer(x)
            y = fn(h)
            y_float = fn(x)  # float32 input stays float32, as autocast leaves sigmoid alone
        (gw,) = torch.autograd.grad(y.float().sum(), layer.weight)
        results.append((y, y_float, gw))
    for ours, ref in zip(*results, strict=True):
        assert_bitwise(ours, ref)


def test_in_place_form_gives_builtin_values_and_gradients():
    x = torch.randn(50, requires_grad=True)
    grad = torch.randn(50)
    a = x * 2
    out = st.sigmoid_(a)
    assert out is a
    (gx,) = torch.autograd.grad(out, x, grad)
    b = x * 2
    (gx_ref,) = torch.autograd.grad(b.sigmoid_(), x, grad)
    assert_bitwise(a.detach(), b.detach())
    assert_bitwise(gx, gx_ref)


@pytest.mark.parametrize("form", ["out_of_place", "in_place"])
def test_changing_the_saved_output_in_place_makes_backward_raise(form):
    x = torch.randn(5, requires_grad=True)
    y = st.sigmoid(x) if form == "out_of_place" else st.sigmoid_(x * 1)
    with torch.no_grad():
        y.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_in_place_on_a_leaf_that_requires_grad_raises_like_builtin():
    leaf = torch.randn(3, requires_grad=True)
    # The built-in says "is being used", autograd.Function "has been used"; same type, same words.
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        leaf.sigmoid_()
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        st.sigmoid_(leaf)
    assert not leaf.isnan().any() and leaf.grad_fn is None


def test_every_dispatch_route_gives_builtin_results():
    # sigmoid() takes a fast C++ apply for plain tensors, the public apply for subclasses and
    # torch.func, and the built-in itself when no graph is recorded. All must agree.
    x = torch.randn(33)
    grad = torch.randn(33)
    parameter = torch.nn.Parameter(x.clone())
    (g_param,) = torch.autograd.grad(st.sigmoid(parameter), parameter, grad)
    leaf = x.clone().requires_grad_()
    (g_fast,) = torch.autograd.grad(st.sigmoid(leaf), leaf, grad)
    (g_ref,) = torch.autograd.grad(torch.sigmoid(leaf), leaf, grad)
    assert_bitwise(g_param, g_ref)
    assert_bitwise(g_fast, g_ref)
    assert st.sigmoid(parameter).grad_fn.name() == "SigmoidFunctionBackward"
    with torch.no_grad():
        y = st.sigmoid(leaf)
    assert y.grad_fn is None and not y.requires_grad
    assert_bitwise(y, torch.sigmoid(x))
    with torch.no_grad():
        z = x.clone()
        assert st.sigmoid_(z) is z
    assert_bitwise(z, torch.sigmoid(x))


def test_forward_mode_on_an_input_that_does_not_require_grad_uses_sigacts_jvp():
    import torch.autograd.forward_ad as fwAD

    x, tangent = torch.randn(9), torch.randn(9)
    with fwAD.dual_level():
        dual = fwAD.make_dual(x, tangent)
        assert not dual.requires_grad
        out = fwAD.unpack_dual(st.sigmoid(dual))
        ref = fwAD.unpack_dual(torch.sigmoid(dual))
    assert_bitwise(out.tangent, ref.tangent)
