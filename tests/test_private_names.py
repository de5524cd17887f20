"""Each private framework name sigact reads, hidden in turn: what keeps working, and what raises with what.

A subprocess per framework imports it, then, name by name, removes the name (an attribute deleted, a module
set to None in sys.modules), imports sigact afresh, puts the name back (so the framework itself keeps
working) and runs the checks. sigact binds every private name at import (sigact/jax/_private.py,
sigact/torch/_private.py), so it sees the framework as a release that lacks the name.
"""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

_HIDE = r'''
import importlib, json, sys, warnings

def hide(module_name, attr):
    module = importlib.import_module(module_name)
    if attr is None:
        saved = sys.modules[module_name]
        sys.modules[module_name] = None
        return lambda: sys.modules.__setitem__(module_name, saved)
    saved = module.__dict__[attr]
    delattr(module, attr)
    return lambda: setattr(module, attr, saved)

def fresh(package, hidden, before_purge=lambda: None):
    """`package` imported afresh with `hidden` ("module:attr", "module" or "") missing; the warnings."""
    before_purge()
    for name in [n for n in sys.modules if n == "sigact" or n.startswith("sigact.")]:
        del sys.modules[name]
    module_name, _, attr = hidden.partition(":")
    restore = hide(module_name, attr or None) if hidden else (lambda: None)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            return importlib.import_module(package), [str(w.message) for w in caught
                                                      if issubclass(w.category, RuntimeWarning)]
    finally:
        restore()
'''

_JAX = _HIDE + r'''
import jax, jax.numpy as jnp, numpy as np

def bits(tree):
    return [np.asarray(leaf).tobytes() for leaf in jax.tree.leaves(tree)]

def same(a, b):
    return a.dtype == b.dtype and a.weak_type == b.weak_type and bits(a) == bits(b)

def checks(sj):
    x = jnp.linspace(-4.0, 4.0, 33)
    g, t = jax.random.normal(jax.random.key(0), (2, 33))
    def vjp(f):
        y, pull = jax.vjp(f, x)
        return bits((y, pull(g)))
    out = {
        "sigmoid": vjp(sj.sigmoid) == vjp(jax.nn.sigmoid),
        "sigmoid_jvp": vjp(sj.sigmoid_jvp) == vjp(jax.nn.sigmoid)
                       and bits(jax.jvp(sj.sigmoid_jvp, (x,), (t,))) == bits(jax.jvp(jax.nn.sigmoid, (x,), (t,))),
        "tanh": vjp(sj.tanh) == vjp(jnp.tanh),
        "tanh promotes": all(same(sj.tanh(v), jnp.tanh(v)) and same(jax.jit(sj.tanh)(v), jax.jit(jnp.tanh)(v))
                             for v in (1, True, 0.5, jnp.arange(3, dtype=jnp.int8), np.uint16(7))),
        "audit": [e.origin for e in sj.audit(sj.sigmoid_jvp, x).entries] == ["output"],
        "promote fallback": sys.modules["sigact.jax._private"]._promote_args_inexact is None,
    }
    loss = lambda x: jnp.sum(jax.nn.sigmoid(x) * jnp.tanh(x) * g)
    transforms = {"swap": sj.swap, "swap_sigmoid": sj.swap_sigmoid,
                  "remat_scans": lambda f: sj.remat_scans(f, "nothing_saveable")}
    for name, transform in transforms.items():
        try:  # the swap itself refuses, not the function it returns
            swapped = transform(loss)
        except RuntimeError as error:
            out[name] = f"RuntimeError: {error}"
            continue
        out[name] = "bitwise" if bits(jax.grad(swapped)(x)) == bits(jax.grad(loss)(x)) else "differs"
    return out

results = {}
for hidden in sys.argv[1:]:
    sj, warned = fresh("sigact.jax", hidden)
    results[hidden] = {**checks(sj), "warned": warned}
print(json.dumps(results))
'''

_TORCH = _HIDE + r'''
import torch

def destroy_library():
    # sigact.torch defines the operator sigact::sigmoid_grad when imported; a fresh import defines it again.
    compile_op = sys.modules.get("sigact.torch._compile_op")
    if compile_op is not None:
        compile_op._LIBRARY._destroy()

def bits(*tensors):
    return [t.detach().contiguous().view(-1).view(torch.uint8).tolist() for t in tensors]

def checks(st):
    out = {}
    for dtype in (torch.float32, torch.bfloat16):
        gen = torch.Generator().manual_seed(0)
        x0, g, t = (torch.randn(4, 33, generator=gen).to(dtype) for _ in range(3))
        def run(act, inplace):
            x = x0.clone().requires_grad_()
            y = act(x.clone()) if inplace else act(x)
            # create_graph: the out-of-place backward, differentiable (second derivatives are equal to
            # rounding only, docs/api.md: not compared).
            (gx,) = torch.autograd.grad(y, x, g, create_graph=True)
            (gx_fast,) = torch.autograd.grad(act(x.clone()) if inplace else act(x), x, g)
            with torch.no_grad():
                plain = act(x0.clone())
            return bits(y, gx, gx_fast, plain)
        key = str(dtype).removeprefix("torch.")
        out[f"sigmoid {key}"] = run(st.sigmoid, False) == run(torch.sigmoid, False)
        out[f"sigmoid_ {key}"] = run(st.sigmoid_, True) == run(torch.sigmoid_, True)
        out[f"Sigmoid {key}"] = run(st.Sigmoid(), False) == run(torch.nn.Sigmoid(), False)
        per_sample = lambda act: torch.func.vmap(torch.func.grad(lambda v, w: (act(v) * w).sum()))(x0, g)
        out[f"vmap of grad {key}"] = bits(per_sample(st.sigmoid)) == bits(per_sample(torch.sigmoid))
        in_place = lambda act: torch.func.vmap(lambda v: act(v.clone()))(x0)
        out[f"vmap of sigmoid_ {key}"] = bits(in_place(st.sigmoid_)) == bits(in_place(torch.sigmoid_))
        out[f"jvp {key}"] = (bits(*torch.func.jvp(st.sigmoid, (x0,), (t,)))
                             == bits(*torch.func.jvp(torch.sigmoid, (x0,), (t,))))
        with torch.autograd.forward_ad.dual_level():
            dual = lambda act: torch.autograd.forward_ad.unpack_dual(act(torch.autograd.forward_ad.make_dual(x0, t)))
            out[f"forward_ad {key}"] = bits(*dual(st.sigmoid)) == bits(*dual(torch.sigmoid))
    compile_op = sys.modules["sigact.torch._compile_op"]
    out["compiled order"] = "decomposed" if compile_op._builtin_backward_is_decomposed() else "eager"
    return out

results = {}
for hidden in sys.argv[1:]:
    st, warned = fresh("sigact.torch", hidden, destroy_library)
    results[hidden] = {**checks(st), "warned": warned}
print(json.dumps(results))
'''

JAX_SWAP_NAMES = ["jax._src.core:Trace", "jax._src.core:set_current_trace", "jax._src.core:unsafe_get_current_trace",
                  "jax._src.linear_util", "jax._src.linear_util:WrappedFun", "jax._src.linear_util:transformation2",
                  "jax._src.config:trace_context"]
JAX_PROMOTE_NAMES = ["jax._src.numpy.util:promote_args_inexact", "jax._src.numpy.util"]
TORCH_NAMES = ["torch._C._functorch:is_functorch_wrapped_tensor", "torch._C._functorch:is_batchedtensor",
               "torch._C._functorch:is_legacy_batchedtensor", "torch._C._functorch:get_unwrapped",
               "torch._C:_are_functorch_transforms_active", "torch.autograd.forward_ad:_current_level",
               "torch.fx.experimental.proxy_tensor:get_proxy_mode", "torch._C:_FunctionBase"]


def _run(script: str, names: list[str]) -> dict:
    result = subprocess.run([sys.executable, "-c", script, "", *names], capture_output=True, text=True,
                            cwd=ROOT, timeout=600, env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.splitlines()[-1])


@pytest.fixture(scope="module")
def jax_results():
    pytest.importorskip("jax")
    return _run(_JAX, JAX_SWAP_NAMES + JAX_PROMOTE_NAMES)


@pytest.fixture(scope="module")
def torch_results():
    pytest.importorskip("torch")
    return _run(_TORCH, [""] + TORCH_NAMES)


def _pinned_jax(requirements: str) -> str:
    return re.search(r"^jax==(\S+)", (ROOT / requirements).read_text(), re.M).group(1)


def _dotted(hidden: str) -> str:
    return hidden.replace(":", ".")


def test_the_swap_names_its_tested_releases_from_the_requirements_files():
    pytest.importorskip("jax")
    from sigact.jax import _private

    assert _private.SWAP_TESTED_ON == (_pinned_jax("requirements-min-jax.txt"), _pinned_jax("requirements-dev.txt"))
    assert _private.MISSING_FOR_SWAP == ()


@pytest.mark.slow
@pytest.mark.parametrize("hidden", JAX_SWAP_NAMES)
def test_without_a_swap_name_the_activations_and_audit_work_and_the_swap_raises_naming_releases(jax_results, hidden):
    result = jax_results[hidden]
    swap_message = result.pop("swap")
    swap_sigmoid_message = result.pop("swap_sigmoid")
    remat_message = result.pop("remat_scans")
    assert result == {"sigmoid": True, "sigmoid_jvp": True, "tanh": True, "tanh promotes": True, "audit": True,
                      "promote fallback": False, "warned": []}
    for name, message in (("swap", swap_message), ("swap_sigmoid", swap_sigmoid_message),
                          ("remat_scans", remat_message)):
        assert message.startswith(f"RuntimeError: sigact.jax.{name} needs JAX internals")
        assert _dotted(hidden) in message
        for version in (_pinned_jax("requirements-min-jax.txt"), _pinned_jax("requirements-dev.txt")):
            assert f"jax {version}" in message or f"and {version}" in message


@pytest.mark.slow
@pytest.mark.parametrize("hidden", JAX_PROMOTE_NAMES)
def test_without_promote_args_inexact_tanh_promotes_identically_and_everything_works(jax_results, hidden):
    assert jax_results[hidden] == {"sigmoid": True, "sigmoid_jvp": True, "tanh": True, "tanh promotes": True,
                                   "audit": True, "promote fallback": True, "swap": "bitwise",
                                   "swap_sigmoid": "bitwise", "remat_scans": "bitwise", "warned": []}


@pytest.mark.slow
def test_with_every_torch_name_present_nothing_warns_and_the_fast_paths_are_taken(torch_results):
    result = torch_results[""]
    assert result.pop("warned") == [] and result.pop("compiled order") == "eager"
    assert all(result.values()), result


@pytest.mark.slow
@pytest.mark.parametrize("hidden", TORCH_NAMES)
def test_without_a_torch_name_values_and_gradients_stay_bitwise_and_import_warns(torch_results, hidden):
    result = dict(torch_results[hidden])
    (warning,) = result.pop("warned")
    assert _dotted(hidden) in warning and "2.8.0 to 2.15.0" in warning and "sigact verify" in warning
    # Without the proxy tracer's table, the compiled backward takes inductor's order; else eager's.
    expected_order = "decomposed" if "proxy_tensor" in hidden else "eager"
    assert result.pop("compiled order") == expected_order
    assert all(result.values()), result


@pytest.mark.parametrize("x64", [False, True], ids=["x32", "x64"])
def test_the_public_promotion_gives_jax_s_dtypes_weak_types_and_bits(x64):
    jax = pytest.importorskip("jax")
    import contextlib

    import jax.numpy as jnp
    import numpy as np

    from sigact.jax._private import _promote_args_inexact, public_promote_inexact

    if _promote_args_inexact is None:
        pytest.skip("this JAX has no promote_args_inexact to compare with")
    if x64 and not hasattr(jax, "enable_x64"):
        pytest.skip("this JAX has no jax.enable_x64 context")
    with jax.enable_x64(True) if x64 else contextlib.nullcontext():
        _compare_promotions(jax, jnp, np, _promote_args_inexact, public_promote_inexact)


def _compare_promotions(jax, jnp, np, _promote_args_inexact, public_promote_inexact):
    values = [1, -3, True, 0.5, -0.0, 2 + 1j, float("nan"), np.int8(3), np.uint16(7), np.float64(0.1),
              np.float16(2), np.bool_(True), np.complex128(1j), np.zeros((0, 2), "int16"), jnp.asarray(3)]
    for dtype in ("bool", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64",
                  "float16", "bfloat16", "float32", "float64", "complex64", "complex128"):
        values += [np.arange(3).astype(dtype), jnp.asarray(np.arange(3).astype(dtype))]
    for value in values:
        for wrap in (lambda f: f, jax.jit):
            ours = wrap(lambda v: public_promote_inexact("tanh", v))(value)
            ref = wrap(lambda v: _promote_args_inexact("tanh", v)[0])(value)
            assert (ours.dtype, ours.weak_type, ours.shape) == (ref.dtype, ref.weak_type, ref.shape), repr(value)
            assert np.asarray(ours).tobytes() == np.asarray(ref).tobytes(), repr(value)
    for bad in ("1.0", [1.0], None):
        with pytest.raises(TypeError, match="tanh requires ndarray or scalar arguments"):
            public_promote_inexact("tanh", bad)
