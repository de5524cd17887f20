"""Behaviours of sigact.jax that a deliberate bug once broke with the rest of the suite still passing
(issue 25's mutation audit): the swap's rewrite cache, the results it hands back, the checkpoints it
rewrites or falls back to, the call primitives and mutable boxes it passes through, tanh's remat
barrier and the audit's view through ``reduce_precision``."""

import numpy as np
import pytest

jax = pytest.importorskip("jax")

import jax.numpy as jnp  # noqa: E402
from jax import lax  # noqa: E402

import sigact.jax as sj  # noqa: E402
from tests.helpers import assert_bitwise, assert_trees_bitwise  # noqa: E402


def both_activations(x):
    return jnp.sum(jax.nn.sigmoid(x) * jnp.tanh(x))


def test_swap_and_swap_sigmoid_of_one_jitted_function_each_keep_their_own_activations():
    # Both see the same jit body: swap's rewrite (sigmoid and tanh) must not be handed to
    # swap_sigmoid, which keeps the built-in tanh and with it tanh's second residual, 1 - y.
    x = jnp.linspace(-3.0, 3.0, 256)
    jitted = jax.jit(both_activations)
    everything, sigmoid_only = sj.audit(sj.swap(jitted), x), sj.audit(sj.swap_sigmoid(jitted), x)
    assert sigmoid_only.total_bytes == sj.audit(sj.swap_sigmoid(both_activations), x).total_bytes
    assert everything.total_bytes == sj.audit(sj.swap(both_activations), x).total_bytes
    assert sigmoid_only.total_bytes - everything.total_bytes == x.nbytes  # tanh's 1 - y
    # And in the other order, on a fresh jit of the same function.
    rejitted = jax.jit(both_activations)
    assert sj.audit(sj.swap_sigmoid(rejitted), x).total_bytes == sigmoid_only.total_bytes
    assert sj.audit(sj.swap(rejitted), x).total_bytes == everything.total_bytes


def test_an_nnx_module_returned_by_a_swapped_function_can_be_changed_afterwards():
    nnx = pytest.importorskip("flax.nnx")
    model = nnx.Linear(3, 4, rngs=nnx.Rngs(0))
    x = jnp.ones((2, 3))
    kernel, bias = model.kernel[...], model.bias[...]

    def forward(model, x):
        return model, jax.nn.sigmoid(model(x))

    returned, y = sj.swap(forward)(model, x)
    assert_bitwise(np.asarray(y), np.asarray(forward(model, x)[1]))
    # The module comes back belonging to the caller's trace, not to the swap's: it can be updated.
    returned.kernel[...] = returned.kernel[...] * 2
    assert_bitwise(np.asarray(returned(x)), np.asarray(x @ (kernel * 2) + bias))
    made = sj.swap(lambda: nnx.Linear(3, 4, rngs=nnx.Rngs(1)))()
    made.bias[...] = jnp.ones(4)
    assert_bitwise(np.asarray(made.bias[...]), np.ones(4, np.float32))


def test_a_jaxpr_rewritten_in_one_tracing_context_is_rewritten_again_in_another():
    # One jaxpr, run through the swap twice: outside and inside jax's XLA-metadata context (part of
    # the tracing context jax.jit keys its cache on). The second rewrite must be made in the second
    # context, so that every operation of the swapped body carries the metadata set around the call.
    # (The built-in is no yardstick here: jax reuses its own lowering of `held`'s body, made outside.)
    from jax.experimental.xla_metadata import set_xla_metadata
    from jax.extend import core

    @jax.jit
    def inner(x):
        return jax.nn.sigmoid(x) * 2.0

    held = core.jaxpr_as_fun(jax.make_jaxpr(lambda x: inner(x))(jnp.ones(4)))
    x = jnp.linspace(-2.0, 2.0, 4)
    assert_bitwise(np.asarray(sj.swap(held)(x)[0]), np.asarray(held(x)[0]))  # rewritten outside

    def untagged_operations(fun):
        text = jax.jit(fun).lower(x).as_text()
        operations = [line for line in text.splitlines() if "= stablehlo." in line
                      and not any(op in line for op in ("stablehlo.constant", "stablehlo.broadcast_in_dim"))]
        assert operations, text
        return [line.strip() for line in operations if 'tag = "swapped"' not in line]

    with set_xla_metadata(tag="swapped"):
        assert untagged_operations(sj.swap(held)) == []
        assert_bitwise(np.asarray(sj.swap(held)(x)[0]), np.asarray(held(x)[0]))


def test_a_checkpoint_whose_rewrite_needs_constants_keeps_the_users_policy(monkeypatch):
    # A checkpoint body is an open jaxpr: where its rewrite closes over a constant of its own, the swap
    # wraps the swapped body in jax.checkpoint again, with the user's policy. None of sigact's rules
    # makes a constant, and no public construct tried on jax 0.10 reaches this (closures, nested and
    # inlined jit, cond, scan, custom rules, refs, eager constant folding, simplified constants), so a
    # rule that does (x · a NumPy array of ones: the same numbers) stands in for a future one. The body
    # uses lax.logistic itself, not jax.nn.sigmoid, whose body jax caches: no rewrite made with the
    # stand-in outlives the test.
    from sigact.jax import _rewrite

    monkeypatch.setitem(_rewrite._RULE_OF, lax.logistic_p, lambda x: sj.sigmoid_jvp(x) * np.ones(x.shape, x.dtype))
    w = jax.random.normal(jax.random.key(0), (8, 8)) / 3
    x = jax.random.normal(jax.random.key(1), (4, 8))

    def loss(policy, w, x):
        layer = jax.checkpoint(lambda w, h: jnp.tanh(lax.logistic(h @ w) @ w), policy=policy, prevent_cse=False)
        return jnp.sum(layer(w, x) ** 2)

    saving = jax.checkpoint_policies.everything_saveable
    for policy in (saving, jax.checkpoint_policies.nothing_saveable):
        def fun(w, x, policy=policy):
            return loss(policy, w, x)
        swapped = sj.swap(fun)
        assert_trees_bitwise(jax.grad(swapped, (0, 1))(w, x), jax.grad(fun, (0, 1))(w, x))
        eqns = jax.make_jaxpr(swapped)(w, x).jaxpr.eqns
        assert [(e.params["policy"], e.params["prevent_cse"]) for e in eqns
                if e.primitive.name in ("checkpoint", "remat2")] == [(policy, False)]
        assert not any(e.primitive.name == "logistic" for e in eqns[0].params["jaxpr"].eqns)  # swapped
    # everything_saveable keeps the layer's intermediates; without the policy only w and x are kept.
    kept = sj.audit(sj.swap(lambda w, x: loss(saving, w, x)), w, x)
    assert {e.origin for e in kept.entries} > {"argument"}


def third_derivative(act):
    return jax.grad(lambda x: jax.hessian(lambda x: jnp.sum(act(x)))(x).sum())


@pytest.mark.parametrize("ours, builtin", [(sj.tanh, jnp.tanh), (sj.sigmoid_jvp, jax.nn.sigmoid)],
                         ids=["tanh", "sigmoid_jvp"])
def test_higher_derivatives_compile_to_no_more_temp_memory_than_the_builtins(ours, builtin):
    # Each rule recomputes its factor of y under jax.checkpoint without a CSE barrier (prevent_cse=False):
    # with one, differentiating the rule again kept a second copy of the Hessian-sized temporaries.
    x = jnp.linspace(-3.0, 3.0, 64).reshape(8, 8)
    compiled = {name: jax.jit(third_derivative(act)).lower(x).compile() for name, act in
                (("ours", ours), ("builtin", builtin))}
    temp = {name: c.memory_analysis().temp_size_in_bytes for name, c in compiled.items()}
    assert temp["ours"] <= temp["builtin"], temp
    # Not bitwise beyond first derivatives (docs/api.md's transform table): equal up to rounding.
    np.testing.assert_allclose(compiled["ours"](x), compiled["builtin"](x), rtol=1e-5, atol=1e-6)


def test_audit_sees_an_output_through_reduce_precision():
    # reduce_precision is an identity here (float32's own widths) that XLA must not drop: the value kept
    # for backward is still the function's output, and counted as that.
    x = jnp.linspace(-3.0, 3.0, 1024)

    def through(act):
        return lambda x: lax.reduce_precision(act(x), exponent_bits=8, mantissa_bits=23)

    assert [(e.origin, e.bytes) for e in sj.audit(through(sj.sigmoid), x).entries] == [("output", 4096)]
    assert [e.origin for e in sj.audit(through(sj.tanh), x).entries] == ["output"]
    assert [e.origin for e in sj.audit(through(jnp.tanh), x).entries] == ["output", "intermediate"]


def test_an_argument_kept_for_backward_is_listed_as_argument_alone():
    # The report's origin column names the op behind a computed value; an argument is the caller's own array.
    report = sj.audit(lambda x, w: jnp.sin(x * w), jnp.ones(4), jnp.ones(4))
    assert [(e.origin, e.note) for e in report.entries] == [
        ("argument", ""), ("argument", ""), ("intermediate", "output of cos")]
    assert "argument (" not in str(report)


def checkpoint_params(jaxpr):
    """Each checkpoint equation's parameters but its body, at any depth."""
    found = []
    for eqn in jaxpr.eqns:
        if eqn.primitive.name in ("checkpoint", "remat2"):
            found.append({k: v for k, v in eqn.params.items() if k != "jaxpr"})
        for value in eqn.params.values():
            for v in value if isinstance(value, tuple) else (value,):
                if hasattr(v, "eqns") or hasattr(v, "jaxpr"):
                    found += checkpoint_params(getattr(v, "jaxpr", v))
    return found


@pytest.mark.parametrize("transform", ["none", "grad", "linearize"])
def test_the_swap_keeps_every_parameter_of_a_checkpoint_it_rewrites(transform):
    # Differentiated inside the swap, the checkpoint reaches it marked `differentiated`, which decides
    # whether XLA gets the barrier that keeps it from merging the recomputation away: the rewrite
    # replaces the body and keeps the rest (policy, prevent_cse and that mark).
    w = jax.random.normal(jax.random.key(0), (8, 8)) / 3
    x = jax.random.normal(jax.random.key(1), (4, 8))

    def loss(w, x):
        layer = jax.checkpoint(lambda w, h: jnp.tanh(jax.nn.sigmoid(h @ w) @ w), prevent_cse=False,
                               policy=jax.checkpoint_policies.dots_saveable)
        return jnp.sum(layer(w, x) ** 2)

    fun = {"none": loss, "grad": jax.grad(loss),
           "linearize": lambda w, x: jax.linearize(loss, w, x)[1](w, x)}[transform]
    original = checkpoint_params(jax.make_jaxpr(fun)(w, x).jaxpr)
    assert original and all(p["differentiated"] == (transform != "none") for p in original)
    assert checkpoint_params(jax.make_jaxpr(sj.swap(fun))(w, x).jaxpr) == original
    assert_trees_bitwise(sj.swap(fun)(w, x), fun(w, x))


def test_the_swap_reaches_an_activation_inside_a_call_equation():
    # A jaxpr that holds a closed_call (scan's partial evaluation makes them), evaluated under the swap:
    # the call's body runs on the swap's trace too.
    from jax.extend.core import jaxpr_as_fun
    from jax.extend.core.primitives import closed_call_p

    from tests.test_jax_swap import bare_logistics

    body = jax.make_jaxpr(lambda x: jax.nn.sigmoid(x) * x)(jnp.ones(16))
    outer = jax.make_jaxpr(lambda x: closed_call_p.bind(
        x, **closed_call_p.get_bind_params({"call_jaxpr": body}))[0])(jnp.ones(16))
    assert [e.primitive for e in outer.jaxpr.eqns] == [closed_call_p]

    def fun(x):
        return jnp.sum(jaxpr_as_fun(outer)(x)[0] ** 2)

    x = jnp.linspace(-4.0, 4.0, 16)
    assert bare_logistics(jax.make_jaxpr(fun)(x).jaxpr) == 1
    assert bare_logistics(jax.make_jaxpr(sj.swap(fun))(x).jaxpr) == 0
    assert_trees_bitwise(jax.value_and_grad(sj.swap(fun))(x), jax.value_and_grad(fun)(x))


def test_the_swap_passes_a_mutable_box_through():
    # jax's Box (a mutable "hijax" type; internal in jax 0.10) asks the current trace for its contents'
    # types: the swap's trace answers with the trace below it.
    Box = getattr(pytest.importorskip("jax._src.hijax"), "Box", None)
    if Box is None:
        pytest.skip("this jax has no hijax Box")

    from tests.test_jax_swap import bare_logistics

    def fun(x):
        box = Box(x)
        box.set(jax.nn.sigmoid(box.get()))
        return jnp.sum(box.get() ** 2)

    x = jnp.linspace(-4.0, 4.0, 16)
    assert bare_logistics(jax.make_jaxpr(sj.swap(fun))(x).jaxpr) == 0
    assert_bitwise(sj.swap(fun)(x), fun(x))
    assert_bitwise(jax.jit(sj.swap(fun))(x), jax.jit(fun)(x))


def test_a_rewrite_that_changed_a_jaxprs_types_says_it_is_a_bug_to_report(monkeypatch):
    # No rule of sigact's changes a type; a broken one (float16 out of a float32 sigmoid) stands in, so that
    # the check behind every rewritten body is seen to fire, naming the transform.
    from sigact.jax import _rewrite

    monkeypatch.setitem(_rewrite._RULE_OF, lax.logistic_p, lambda x: lax.logistic(x).astype(jnp.float16))

    def loss(xs):  # a scan's body, rewritten; lax.logistic, whose jaxpr no cache holds
        return jnp.sum(lax.scan(lambda c, x: (lax.logistic(c * x), None), jnp.ones(3), xs)[0])

    with pytest.raises(RuntimeError, match=r"sigact\.jax\.swap changed a jaxpr's types: .*please report it"):
        sj.swap(loss)(jnp.ones((4, 3)))
