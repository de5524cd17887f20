"""What docs/api.md says of forward-mode AD under torch.compile: the compiled built-in gives the tangent;
sigact.torch.sigmoid, compiled, runs its variant without a jvp, and either raises NotImplementedError
(torch 2.15) or gives the built-in's tangent bit for bit (torch 2.8): never a wrong or missing tangent."""

import pytest

torch = pytest.importorskip("torch")
import torch.autograd.forward_ad as fwAD  # noqa: E402

import sigact.torch as st  # noqa: E402


def compiled_tangent(fn, x, t):
    compiled = torch.compile(lambda x: fn(x) * 1.0, backend="eager")  # one small compile, no codegen
    with fwAD.dual_level():
        return fwAD.unpack_dual(compiled(fwAD.make_dual(x, t))).tangent


@pytest.mark.slow
def test_forward_mode_under_compile_gives_the_builtins_tangent_and_refuses_sigacts():
    x, t = torch.randn(5, generator=torch.Generator().manual_seed(0)), torch.randn(5)
    with fwAD.dual_level():
        eager = fwAD.unpack_dual(torch.sigmoid(fwAD.make_dual(x, t))).tangent
    assert torch.equal(compiled_tangent(torch.sigmoid, x, t), eager)
    try:
        tangent = compiled_tangent(st.sigmoid, x, t)
    except NotImplementedError as refused:
        assert "jvp" in str(refused)
    else:
        assert tangent is not None and torch.equal(tangent, eager)
    with fwAD.dual_level():  # eagerly, sigact's forward mode works and matches
        assert torch.equal(fwAD.unpack_dual(st.sigmoid(fwAD.make_dual(x, t))).tangent, eager)
