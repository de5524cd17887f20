"""sigact.jax.swap, swap_sigmoid and sigmoid_jvp against the unswapped function and jax.nn.sigmoid: bitwise
values and gradients, every construct for both activations, every transform and composition, arguments passed
as to the original, the tracing context, custom rules."""

import functools
import logging
import math

import numpy as np
import pytest

jax = pytest.importorskip("jax")
import jax.numpy as jnp  # noqa: E402
from jax import lax  # noqa: E402
from jax.sharding import NamedSharding  # noqa: E402
from jax.sharding import PartitionSpec as P  # noqa: E402

import sigact.jax as sj  # noqa: E402
from tests.helpers import assert_bitwise, assert_trees_bitwise  # noqa: E402

FLOATS = ["float16", "bfloat16", "float32", "float64"]


CUSTOM_RULES = {"custom_jvp_call", "custom_vjp_call", "custom_vjp_call_jaxpr"}


def bare(jaxpr, primitive=lax.logistic_p) -> int:
    """``primitive`` equations outside a custom_jvp/custom_vjp call, at any depth: the built-in's, not
    sigact's (which sit inside its custom_jvp)."""
    count = 0
    for eqn in jaxpr.eqns:
        if eqn.primitive is primitive:
            count += 1
        elif eqn.primitive.name not in CUSTOM_RULES:
            values = [v for p in eqn.params.values() for v in (p if isinstance(p, tuple) else (p,))]
            count += sum(bare(getattr(v, "jaxpr", v), primitive) for v in values if hasattr(v, "eqns")
                         or hasattr(v, "jaxpr"))
    return count


def bare_logistics(jaxpr) -> int:
    return bare(jaxpr, lax.logistic_p)


def bare_tanhs(jaxpr) -> int:
    return bare(jaxpr, lax.tanh_p)


def assert_swapped(fun, *args, swap=sj.swap_sigmoid, primitives=(lax.logistic_p,)):
    """The swap replaced every activation of ``primitives``: the original has some, the swapped function none."""
    for primitive in primitives:
        assert bare(jax.make_jaxpr(fun)(*args).jaxpr, primitive) > 0, primitive
        assert bare(jax.make_jaxpr(swap(fun))(*args).jaxpr, primitive) == 0, primitive


def random(shape, dtype="float32", seed=0, scale=1.0):
    return (jax.random.normal(jax.random.key(seed), shape, jnp.float32) * scale).astype(dtype)


def value_and_random_vjp(fun, *args, cotangent_seed=99):
    """fun(*args) and its VJP for a random, non-unit cotangent: the rounding order shows there."""
    y, pullback = jax.vjp(fun, *args)
    g = jax.tree.map(lambda t: random(t.shape, t.dtype, seed=cotangent_seed), y)
    return y, pullback(g)


# ---------------------------------------------------------------- sigmoid_jvp


def assert_second_derivatives_agree(ours, ref):
    """Eagerly, second derivatives through forward mode are not bitwise (docs/api.md says why): they
    differ by at most one unit in the last place of the largest entry."""
    assert ours.dtype == ref.dtype
    ours, ref = np.asarray(ours), np.asarray(ref)
    assert np.max(np.abs(ours - ref)) <= np.spacing(np.max(np.abs(ref)))


def complex_input(dtype):
    re, im = random((4099,), "float32", 1, 6), random((4099,), "float32", 2, 6)
    return (re + 1j * im).astype(dtype)


@pytest.mark.parametrize("dtype", [*FLOATS, "complex64", "complex128"])
@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
def test_sigmoid_jvp_values_vjp_and_jvp_are_bitwise_equal_to_builtin(dtype, jit):
    with jax.enable_x64(True):
        x = complex_input(dtype) if dtype.startswith("complex") else random((4099,), dtype, 1, 8)
        x = x.at[:5].set(jnp.array([0, -0.0, jnp.inf, -jnp.inf, jnp.nan]).astype(dtype))
        t = complex_input(dtype) * 0.5 if dtype.startswith("complex") else random((4099,), dtype, 3)
        wrap = jax.jit if jit else (lambda f: f)
        assert_trees_bitwise(wrap(lambda x: value_and_random_vjp(sj.sigmoid_jvp, x))(x),
                             wrap(lambda x: value_and_random_vjp(jax.nn.sigmoid, x))(x))
        assert_trees_bitwise(wrap(lambda x, t: jax.jvp(sj.sigmoid_jvp, (x,), (t,)))(x, t),
                             wrap(lambda x, t: jax.jvp(jax.nn.sigmoid, (x,), (t,)))(x, t))


def test_sigmoid_jvp_keeps_only_its_output_where_the_builtin_keeps_a_product():
    x = jnp.ones(1024)
    assert [(e.origin, e.bytes) for e in sj.audit(sj.sigmoid_jvp, x).entries] == [("output", 4096)]
    assert [e.origin for e in sj.audit(jax.nn.sigmoid, x).entries] == ["intermediate"]


def test_sigmoid_jvp_works_in_forward_mode_hessian_and_linearize():
    with jax.enable_x64(True):
        x = jnp.linspace(-4.0, 4.0, 9)
        loss = lambda act: lambda v: jnp.sum(act(v) * v)  # noqa: E731
        assert_bitwise(jax.jacfwd(sj.sigmoid_jvp)(x), jax.jacfwd(jax.nn.sigmoid)(x))
        assert_second_derivatives_agree(jax.hessian(loss(sj.sigmoid_jvp))(x), jax.hessian(loss(jax.nn.sigmoid))(x))
        # Under jit both are one XLA program, and the bits agree.
        xs = jnp.linspace(-8.0, 8.0, 1001)
        assert_bitwise(jax.jit(jax.vmap(jax.hessian(sj.sigmoid_jvp)))(xs),
                       jax.jit(jax.vmap(jax.hessian(jax.nn.sigmoid)))(xs))
        assert_second_derivatives_agree(jax.vmap(jax.hessian(sj.sigmoid_jvp))(xs),
                                        jax.vmap(jax.hessian(jax.nn.sigmoid))(xs))
        reverse_over_reverse = lambda act: jax.jacrev(jax.jacrev(loss(act)))(x)  # noqa: E731
        assert_bitwise(reverse_over_reverse(sj.sigmoid_jvp), reverse_over_reverse(jax.nn.sigmoid))
        t = random((9,), "float64", 5)
        lin = jax.linearize(sj.sigmoid_jvp, x)[1](t)
        assert_bitwise(lin, jax.linearize(jax.nn.sigmoid, x)[1](t))


def test_sigmoid_jvp_rejects_integers_like_the_builtin():
    with pytest.raises(TypeError) as ours:
        sj.sigmoid_jvp(jnp.arange(3))
    with pytest.raises(TypeError) as ref:
        jax.nn.sigmoid(jnp.arange(3))
    assert str(ours.value) == str(ref.value)


# ---------------------------------------------------------------- what the swap reaches


def gated_mlp(params, x):
    """Sigmoid, SiLU and GLU, the three ways third-party code reaches lax.logistic, and a tanh."""
    w1, w2 = params
    h = jax.nn.sigmoid(x @ w1) * jax.nn.silu(x @ w1) + jnp.tanh(x @ w1)
    return jnp.sum(jax.nn.glu(h @ w2) ** 2)


def mlp_setup(dtype="float32", width=16):
    w1, w2 = random((width, width), dtype, 1, 0.5), random((width, 2 * width), dtype, 2, 0.5)
    return (w1, w2), random((8, width), dtype, 3, 2.0)


# Each swap, and the activations it must replace.
SWAPS = {"swap": (sj.swap, (lax.logistic_p, lax.tanh_p)), "swap_sigmoid": (sj.swap_sigmoid, (lax.logistic_p,))}


@pytest.mark.parametrize("swap", SWAPS)
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
def test_swapped_values_and_gradients_are_bitwise_equal_per_dtype(dtype, jit, swap):
    swap, primitives = SWAPS[swap]
    with jax.enable_x64(True):
        params, x = mlp_setup(dtype)
        wrap = jax.jit if jit else (lambda f: f)
        ours = wrap(lambda p, x: value_and_random_vjp(swap(gated_mlp), p, x))(params, x)
        ref = wrap(lambda p, x: value_and_random_vjp(gated_mlp, p, x))(params, x)
        assert_trees_bitwise(ours, ref)
        t = jax.tree.map(lambda a: random(a.shape, a.dtype, seed=7), (params, x))
        assert_trees_bitwise(wrap(lambda p, x: jax.jvp(swap(gated_mlp), (p, x), t))(params, x),
                             wrap(lambda p, x: jax.jvp(gated_mlp, (p, x), t))(params, x))
        assert_swapped(gated_mlp, params, x, swap=swap, primitives=primitives)


def scanned(h, xs, w, act=jax.nn.sigmoid):
    def step(h, x):
        h = jnp.tanh(x @ w) * act(h @ w)
        return h, h.sum()

    return lax.scan(step, h, xs)


def mesh():
    assert jax.device_count() == 8, "XLA_FLAGS=--xla_force_host_platform_device_count=8 (conftest.py)"
    return jax.make_mesh((8,), ("batch",), axis_types=(jax.sharding.AxisType.Auto,))


def psum_of(act):
    return lambda x, w: jax.lax.psum(jnp.sum(act(x @ w) ** 2), "batch")


def silu_of(act):
    """jax.nn.silu for the sigmoid: the activation reached through a nested jit of the library's."""
    return jax.nn.silu if act is jax.nn.sigmoid else jax.jit(lambda z: z * act(z))


# Each body hides the activation `act` inside one construct. Arguments: (h of shape (8, 16), w of (16, 16)).
CONSTRUCTS = {
    "nested jit": lambda act: lambda h, w: jax.jit(lambda h: jax.jit(silu_of(act))(h @ w))(h),
    "scan": lambda act: lambda h, w: scanned(h, jnp.stack([h, 2 * h, -h]), w, act)[1],
    "fori_loop": lambda act: lambda h, w: lax.fori_loop(0, 3, lambda i, h: act(h @ w), h),
    "while_loop": lambda act: lambda h, w: lax.while_loop(lambda c: c[0] < 3, lambda c: (c[0] + 1, act(c[1] @ w)),
                                                          (0, h))[1],
    "cond": lambda act: lambda h, w: lax.cond(h.sum() > 0, lambda h: act(h @ w), lambda h: h @ w, h),
    "switch": lambda act: lambda h, w: lax.switch(1, [lambda h: h, lambda h: silu_of(act)(h @ w), jnp.abs], h),
    "checkpoint": lambda act: lambda h, w: jax.checkpoint(lambda h: act(h @ w) @ w)(h),
    "checkpoint dots_saveable": lambda act: lambda h, w: jax.checkpoint(
        lambda h: act(h @ w) @ w, policy=jax.checkpoint_policies.dots_saveable)(h),
    "checkpoint nothing_saveable, in a scan": lambda act: lambda h, w: lax.scan(
        jax.checkpoint(lambda h, _: (act(h @ w), None), policy=jax.checkpoint_policies.nothing_saveable),
        h, None, length=3)[0],
    "vmap": lambda act: lambda h, w: jax.vmap(lambda r: act(r @ w))(h),
    "pmap": lambda act: lambda h, w: jax.pmap(lambda r: act(r @ w))(h),
    "shard_map": lambda act: lambda h, w: jax.shard_map(psum_of(act), mesh=mesh(), in_specs=(P("batch"), P()),
                                                        out_specs=P())(h, w),
}
# The activations, each with the swap that must reach it and its primitive.
ACTIVATIONS = {"sigmoid": (jax.nn.sigmoid, sj.swap_sigmoid, lax.logistic_p), "tanh": (jnp.tanh, sj.swap, lax.tanh_p)}


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("construct", CONSTRUCTS)
def test_swap_reaches_each_construct_with_bitwise_values_and_gradients(construct, activation):
    act, swap, primitive = ACTIVATIONS[activation]
    fun = CONSTRUCTS[construct](act)
    h, w = random((8, 16), seed=1), random((16, 16), seed=2, scale=0.3)
    if construct == "while_loop":  # not reverse-differentiable, built-in or not: forward mode instead
        th, tw = random((8, 16), seed=3), random((16, 16), seed=4)
        differentiate = lambda f, h, w: jax.jvp(f, (h, w), (th, tw))  # noqa: E731
    else:
        differentiate = value_and_random_vjp
    assert_trees_bitwise(differentiate(swap(fun), h, w), differentiate(fun, h, w))
    assert_trees_bitwise(jax.jit(lambda h, w: differentiate(swap(fun), h, w))(h, w),
                         jax.jit(lambda h, w: differentiate(fun, h, w))(h, w))
    assert_swapped(fun, h, w, swap=swap, primitives=(primitive,))


def test_swap_of_a_sharded_jit_keeps_the_sharding_and_the_bits():
    sharding = NamedSharding(mesh(), P("batch"))
    h = jax.device_put(random((16, 16), seed=1), sharding)
    w = random((16, 16), seed=2, scale=0.3)
    loss = jax.jit(lambda h, w: jnp.sum((jax.nn.silu(h @ w) + jnp.tanh(h)) ** 2), in_shardings=(sharding, None))
    grads = jax.grad(sj.swap(loss), argnums=(0, 1))(h, w)
    assert_trees_bitwise(grads, jax.grad(loss, argnums=(0, 1))(h, w))
    assert grads[0].sharding.is_equivalent_to(sharding, 2)
    assert_swapped(loss, h, w, swap=sj.swap, primitives=(lax.logistic_p, lax.tanh_p))


def test_swap_saves_a_stacked_residual_in_a_scan():
    h, xs, w = random((8, 16)), random((5, 8, 16), seed=1), random((16, 16), seed=2)
    loss = lambda h, xs, w: scanned(h, xs, w)[1].sum()  # noqa: E731
    ours, ref = sj.audit(sj.swap_sigmoid(loss), h, xs, w), sj.audit(loss, h, xs, w)
    assert ref.total_bytes - ours.total_bytes == 5 * 8 * 16 * 4  # one (steps, batch, width) float32 buffer


@pytest.mark.parametrize("activation", [lax.logistic, lax.tanh], ids=["logistic", "tanh"])
def test_an_activation_with_highest_accuracy_keeps_the_builtin(activation):
    highest = lambda x: activation(x, accuracy=lax.AccuracyMode.HIGHEST)  # noqa: E731
    fun = lambda x: jnp.sum(highest(x) ** 2 + activation(x))  # noqa: E731
    x = random((64,), scale=4)
    assert_trees_bitwise(value_and_random_vjp(sj.swap(fun), x), value_and_random_vjp(fun, x))
    eqns = jax.make_jaxpr(sj.swap(fun))(x).jaxpr.eqns
    kept = [e.params["accuracy"] for e in eqns if e.primitive.name == activation.__name__]
    assert kept == [lax.AccuracyMode.HIGHEST]  # the default-accuracy one swapped, the HIGHEST one kept


def test_each_keyword_selects_exactly_its_activation():
    fun = lambda x: jnp.sum(jax.nn.sigmoid(x) * jnp.tanh(x))  # noqa: E731
    x = random((8,))
    counts = lambda f: (bare_logistics(jax.make_jaxpr(f)(x).jaxpr), bare_tanhs(jax.make_jaxpr(f)(x).jaxpr))  # noqa: E731
    assert counts(fun) == (1, 1)
    assert counts(sj.swap(fun)) == (0, 0)
    assert counts(sj.swap(fun, tanh=False)) == counts(sj.swap_sigmoid(fun)) == (0, 1)
    assert counts(sj.swap(fun, sigmoid=False)) == (1, 0)
    assert counts(sj.swap(fun, sigmoid=False, tanh=False)) == (1, 1)
    for swap in (sj.swap(fun, tanh=False), sj.swap(fun, sigmoid=False)):
        assert_trees_bitwise(value_and_random_vjp(swap, x), value_and_random_vjp(fun, x))


@pytest.mark.parametrize("keyword", ["sigmoid", "tanh"])
@pytest.mark.parametrize("value", [0, 1, "no", None, np.bool_(True)], ids=repr)
def test_a_keyword_that_is_not_a_bool_raises_type_error(keyword, value):
    with pytest.raises(TypeError, match=f"swap's {keyword}= .* expected True or False, got {type(value).__name__}"):
        sj.swap(jnp.tanh, **{keyword: value})


# ---------------------------------------------------------------- composition


def test_jit_of_swap_and_swap_of_jit_agree_with_the_original():
    params, x = mlp_setup()
    grad_of = lambda f: jax.grad(f)(params, x)  # noqa: E731
    assert_trees_bitwise(jax.jit(jax.grad(sj.swap_sigmoid(gated_mlp)))(params, x),
                         jax.jit(jax.grad(gated_mlp))(params, x))
    assert_trees_bitwise(grad_of(sj.swap_sigmoid(jax.jit(gated_mlp))), grad_of(jax.jit(gated_mlp)))
    assert_swapped(jax.jit(gated_mlp), params, x)


def test_value_and_grad_with_aux_and_vmap_of_the_swap():
    params, x = mlp_setup()

    def with_aux(p, x):
        return gated_mlp(p, x), {"note": jax.nn.sigmoid(x).mean()}

    ours = jax.value_and_grad(sj.swap_sigmoid(with_aux), has_aux=True)(params, x)
    assert_trees_bitwise(ours, jax.value_and_grad(with_aux, has_aux=True)(params, x))
    per_row = lambda f: jax.vmap(jax.grad(f, argnums=1), in_axes=(None, 0))(params, x[:, None, :])  # noqa: E731
    assert_trees_bitwise(per_row(sj.swap_sigmoid(gated_mlp)), per_row(gated_mlp))


def test_forward_mode_jvp_jacfwd_and_hessian_work_through_the_swap():
    with jax.enable_x64(True):
        h, w = random((4, 3), "float64", 1), random((3, 3), "float64", 2)
        fun = lambda h: jnp.sum(CONSTRUCTS["scan"](jax.nn.sigmoid)(h, w))  # noqa: E731
        t = random((4, 3), "float64", 3)
        assert_trees_bitwise(jax.jvp(sj.swap_sigmoid(fun), (h,), (t,)), jax.jvp(fun, (h,), (t,)))
        assert_bitwise(jax.jacfwd(sj.swap_sigmoid(fun))(h), jax.jacfwd(fun)(h))
        assert_second_derivatives_agree(jax.hessian(sj.swap_sigmoid(fun))(h), jax.hessian(fun)(h))


def test_equinox_filter_transforms_and_a_module_as_function_and_argument():
    eqx = pytest.importorskip("equinox")
    cell = eqx.nn.GRUCell(3, 5, key=jax.random.key(0))
    x, h = random((3,), seed=1), random((5,), seed=2)

    def loss(cell, x, h):
        return jnp.sum(cell(x, h) ** 2)

    ref = eqx.filter_grad(loss)(cell, x, h)
    assert_trees_bitwise(eqx.filter_jit(eqx.filter_grad(sj.swap(loss)))(cell, x, h),
                         eqx.filter_jit(eqx.filter_grad(loss))(cell, x, h))
    assert_trees_bitwise(eqx.filter_grad(sj.swap(loss))(cell, x, h), ref)
    assert_trees_bitwise(eqx.filter_grad(sj.swap_sigmoid(loss))(cell, x, h), ref)
    assert_trees_bitwise(sj.swap(cell)(x, h), cell(x, h))  # the module itself as the function
    assert_trees_bitwise(sj.swap(eqx.filter_jit(loss))(cell, x, h), eqx.filter_jit(loss)(cell, x, h))
    assert_swapped(lambda x, h: loss(cell, x, h), x, h, swap=sj.swap, primitives=(lax.logistic_p, lax.tanh_p))


# ---------------------------------------------------------------- Flax


def test_flax_linen_apply_with_train_rngs_and_mutable_batch_stats():
    nn = pytest.importorskip("flax.linen")

    class Gated(nn.Module):
        @nn.compact
        def __call__(self, x, train: bool):
            x = nn.Dense(8)(x)
            x = nn.BatchNorm(use_running_average=not train)(x)
            x = nn.Dropout(0.5, deterministic=not train)(x)
            return nn.sigmoid(x) * nn.swish(x) + nn.tanh(x)

    model, x = Gated(), random((4, 3))
    variables = model.init(jax.random.key(0), x, train=False)
    rngs = {"dropout": jax.random.key(1)}

    def loss(apply):
        def f(params):
            out, updates = apply({**variables, "params": params}, x, train=True, rngs=rngs, mutable=["batch_stats"])
            return jnp.sum(out**2), updates

        return jax.value_and_grad(f, has_aux=True)(variables["params"])

    assert_trees_bitwise(loss(sj.swap(model.apply)), loss(model.apply))
    assert_trees_bitwise(loss(sj.swap_sigmoid(model.apply)), loss(model.apply))
    assert_swapped(lambda p: model.apply({**variables, "params": p}, x, train=False), variables["params"],
                   swap=sj.swap, primitives=(lax.logistic_p, lax.tanh_p))


def test_flax_nnx_through_split_and_merge():
    nnx = pytest.importorskip("flax.nnx")
    model = nnx.Sequential(nnx.Linear(3, 6, rngs=nnx.Rngs(0)), nnx.sigmoid, nnx.Linear(6, 2, rngs=nnx.Rngs(1)),
                           nnx.tanh)
    graphdef, state = nnx.split(model)
    x = random((4, 3))

    def loss(state, x):
        return jnp.sum(jax.nn.silu(nnx.merge(graphdef, state)(x)) ** 2)

    assert_trees_bitwise(jax.grad(sj.swap(loss))(state, x), jax.grad(loss)(state, x))
    assert_swapped(loss, state, x, swap=sj.swap, primitives=(lax.logistic_p, lax.tanh_p))


# ---------------------------------------------------------------- arguments, caching, errors


def test_pytrees_static_leaves_and_keyword_arguments_pass_through():
    calls = []

    def fun(tree, scale, *, name, act, skip=None, flag=True):
        calls.append(name)
        y = act(tree["x"] * scale) if flag else tree["x"]
        return {"y": y, "name": name, "scale": scale, "nothing": None, "pair": (y.sum(), 3)}

    x = random((5,))
    out = sj.swap_sigmoid(fun)({"x": x}, 2.0, name="a", act=jax.nn.sigmoid)
    ref = fun({"x": x}, 2.0, name="a", act=jax.nn.sigmoid)
    assert out["name"] == "a" and out["scale"] == 2.0 and out["nothing"] is None and out["pair"][1] == 3
    assert_trees_bitwise(out["y"], ref["y"])
    assert_trees_bitwise(out["pair"][0], ref["pair"][0])
    # A different static value is a different program, as under jit.
    assert_trees_bitwise(sj.swap_sigmoid(fun)({"x": x}, 3.0, name="b", act=jnp.tanh, flag=False)["y"], x)


def test_fun_runs_on_each_call_as_written_and_jit_of_the_swap_traces_once_per_structure():
    calls = []

    def fun(x, w):
        calls.append(x.shape)
        return jax.jit(jax.nn.silu)(x @ w)

    x, w = random((4, 16)), random((16, 16), seed=1)
    # Eagerly fun runs on each call, as without the swap; under jit once per input structure.
    for swapped, runs in ((sj.swap(fun), [(4, 16), (4, 16), (2, 16), (4, 16), (4, 16)]),
                          (jax.jit(sj.swap(fun)), [(4, 16), (2, 16), (4, 16)])):
        calls.clear()
        swapped(x, w)
        swapped(x + 1, w)
        swapped(random((2, 16)), w)
        swapped(x.astype("bfloat16"), w.astype("bfloat16"))
        swapped(x, w)
        assert calls == runs


def test_the_rewritten_nested_jit_is_compiled_once(caplog):
    fun = jax.jit(lambda x: jax.nn.silu(x) * 2)
    swapped = sj.swap_sigmoid(fun)
    x, y = random((32,)), random((32,), seed=1)
    swapped(x)
    with jax.log_compiles(True), caplog.at_level(logging.WARNING):
        swapped(y)
        sj.swap_sigmoid(fun)(x)  # a new swap of the same function reuses the rewritten jaxpr
    assert not [r for r in caplog.records if "Compiling" in r.getMessage()]


def test_a_users_custom_rules_are_left_intact():
    @jax.custom_jvp
    def marked(x):
        return jax.nn.sigmoid(x) + jnp.tanh(x) - jnp.tanh(x)

    marked.defjvp(lambda p, t: (marked(p[0]), 3 * t[0]))  # deliberately not σ′: proves this rule fires

    @jax.custom_vjp
    def clipped(x):
        return jax.nn.sigmoid(x)

    clipped.defvjp(lambda x: (jax.nn.sigmoid(x), None), lambda _, g: (7 * g,))

    x = random((6,))
    fun = lambda x: jnp.sum(marked(x)) + jnp.sum(clipped(2 * x))  # noqa: E731
    for swap in (sj.swap, sj.swap_sigmoid):
        assert_bitwise(jax.grad(swap(fun))(x), jnp.full((6,), 3 + 14, jnp.float32))
        assert_bitwise(jax.jvp(swap(marked), (x,), (jnp.ones(6),))[1], jnp.full((6,), 3.0))
    jaxpr = jax.make_jaxpr(sj.swap(fun))(x).jaxpr
    bodies = [e.params["call_jaxpr"] for e in jaxpr.eqns if e.primitive.name in CUSTOM_RULES]
    assert [bare_logistics(b.jaxpr) for b in bodies] == [1, 1] and bare_tanhs(bodies[0].jaxpr) == 2
    # Inside a jitted function beside an activation the swap does rewrite, the retraced body keeps them too.
    jitted = jax.jit(lambda x: fun(x) + jnp.sum(jax.nn.sigmoid(x)))
    assert_bitwise(jax.grad(sj.swap(jitted))(x), jax.grad(jitted)(x))
    (inner,) = [e.params["jaxpr"].jaxpr for e in jax.make_jaxpr(sj.swap(jitted))(x).jaxpr.eqns]
    bodies = [e.params["call_jaxpr"].jaxpr for e in inner.eqns if e.primitive.name in CUSTOM_RULES]
    # marked's, clipped's and sigact's own (for the bare sigmoid): each as written, with its logistic.
    assert [bare_logistics(b) for b in bodies] == [1, 1, 1] and bare_tanhs(bodies[0]) == 2
    assert bare_logistics(inner) == 0


def test_swap_of_a_non_callable_raises_type_error():
    with pytest.raises(TypeError, match="swap_sigmoid expects a callable.*got int: 3"):
        sj.swap_sigmoid(3)
    with pytest.raises(TypeError, match="swap expects a callable.*got str: 'f'"):
        sj.swap("f")


def test_python_control_flow_on_values_works_eagerly_and_fails_under_jit_as_without_the_swap():
    def fun(x):
        return jax.nn.sigmoid(x) if x.sum() > 0 else jnp.tanh(x)

    for x in (jnp.ones(3), -jnp.ones(3)):
        assert_bitwise(sj.swap(fun)(x), fun(x))
    for f in (fun, sj.swap(fun)):
        with pytest.raises(jax.errors.TracerBoolConversionError):
            jax.jit(f)(jnp.ones(3))


def test_swap_under_grad_of_a_closure_over_the_outer_tracer():
    x = random((6,))

    def outer(w):
        return sj.swap_sigmoid(lambda x: jnp.sum(jax.nn.sigmoid(x * w)))(x)

    assert_bitwise(jax.grad(outer)(1.5), jax.grad(lambda w: jnp.sum(jax.nn.sigmoid(x * w)))(1.5))
    assert_bitwise(jax.grad(outer)(0.5), jax.grad(lambda w: jnp.sum(jax.nn.sigmoid(x * w)))(0.5))


def test_numpy_arrays_are_traced_and_weak_types_kept():
    x = np.linspace(-3, 3, 7, dtype=np.float32)
    assert_bitwise(sj.swap_sigmoid(jax.nn.sigmoid)(x), jax.nn.sigmoid(x))
    weak = sj.swap_sigmoid(lambda v: jax.nn.sigmoid(v) + 1.0)(jnp.asarray(2.0))
    ref = jax.nn.sigmoid(jnp.asarray(2.0)) + 1.0
    assert weak.weak_type == ref.weak_type
    assert_bitwise(weak, ref)
    g = functools.partial(jax.grad(sj.swap_sigmoid(jax.nn.sigmoid)))
    assert g(0.0).weak_type and g(0.0) == 0.25


# ---------------------------------------------------------------- the original's behaviour, eagerly and under jit


def test_python_scalars_reach_fun_as_given_signed_zeros_and_nan_included():
    ref = lambda v, s: jax.nn.sigmoid(v) / s  # noqa: E731
    swapped, x = sj.swap_sigmoid(ref), random((5,))
    for s in (0.0, -0.0, math.nan, 2.5, -0.0, 0.0):
        assert_bitwise(swapped(x, s), ref(x, s))
    assert bool(jnp.all(swapped(x, -0.0) == -jnp.inf))  # after a call with +0.0


@pytest.mark.parametrize("scalar", [3, 2.5, 1 - 2j, True], ids=repr)
@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
def test_each_python_scalar_type_gives_the_originals_dtype_and_weak_type(scalar, jit):
    fun = lambda v, s: (jax.nn.sigmoid(v) * s, jnp.tanh(s * 1.0))  # noqa: E731
    wrap, x = (jax.jit if jit else (lambda f: f)), random((5,))
    ours, ref = wrap(sj.swap(fun))(x, scalar), wrap(fun)(x, scalar)
    assert_trees_bitwise(ours, ref)
    assert [a.weak_type for a in ours] == [a.weak_type for a in ref]


def test_many_scalar_values_add_no_rewrite_and_jit_of_the_swap_traces_once():
    from sigact.jax import _rewrite

    calls = []

    def fun(v, s):
        calls.append(s)
        return jnp.tanh(jax.nn.sigmoid(v) / s)

    swapped, x = sj.swap(fun), random((5,))
    values = [*np.linspace(-2.0, 2.0, 39).tolist(), math.nan, -0.0]
    swapped(x, 1.0)
    rewrites = len(_rewrite._rewritten)
    for s in values:
        assert_bitwise(swapped(x, s), fun(x, s))
    assert len(_rewrite._rewritten) <= rewrites  # nothing cached per value
    calls.clear()
    jitted = jax.jit(swapped)
    for s in values:
        assert_bitwise(jitted(x, s), jax.jit(fun)(x, s))
    assert len(calls) == 1 + 1  # one trace of jit(swap(fun)), one of jit(fun), as a weakly typed float32
    assert calls[0].aval.weak_type


def test_x64_changes_the_result_after_a_call_outside_it():
    fun = lambda x: jax.nn.sigmoid(x) * jnp.arange(3.0)  # noqa: E731
    x = random((3,))
    for swapped in (sj.swap(fun), jax.jit(sj.swap(fun))):
        assert swapped(x).dtype == jnp.float32
        with jax.enable_x64(True):
            assert_bitwise(swapped(x), fun(x))
            assert swapped(x).dtype == jnp.float64
        assert swapped(x).dtype == jnp.float32


def test_the_mesh_context_is_honoured_as_without_the_swap():
    fun = lambda h: jax.nn.sigmoid(jax.lax.with_sharding_constraint(h, P("batch")))  # noqa: E731
    h = random((16, 4))
    with pytest.raises(Exception) as outside:  # noqa: PT011 (the original's error, whatever JAX makes it)
        fun(h)
    with pytest.raises(type(outside.value)):
        sj.swap(fun)(h)
    with jax.set_mesh(mesh()):
        h = jax.device_put(h, NamedSharding(mesh(), P()))
        ours, ref = sj.swap(fun)(h), fun(h)
        jitted = jax.jit(sj.swap(fun))(h)
    assert_bitwise(ours, ref)
    assert_bitwise(jitted, ref)
    assert ours.sharding.is_equivalent_to(ref.sharding, 2) and jitted.sharding.is_equivalent_to(ref.sharding, 2)


def test_debug_nans_raises_as_without_the_swap():
    fun = lambda x: jax.nn.sigmoid(x) * jnp.log(x) + jnp.tanh(x)  # noqa: E731
    x = -jnp.ones(3)
    with jax.debug_nans(True):
        for f in (fun, sj.swap(fun), jax.jit(sj.swap(fun))):
            with pytest.raises(FloatingPointError):
                f(x)


def test_disable_jit_runs_python_as_without_the_swap_and_still_swaps(monkeypatch):
    from sigact.jax import _rewrite

    inner = jax.jit(lambda v: v * float(v[0]))  # a concrete value: runs only where jit is disabled
    fun = lambda x: jnp.tanh(inner(x)) + jax.nn.sigmoid(x)  # noqa: E731
    x = random((4,))
    for f in (fun, sj.swap(fun)):
        with pytest.raises(jax.errors.ConcretizationTypeError):
            f(x)
    used = []
    for primitive, rule in list(_rewrite._RULE_OF.items()):
        monkeypatch.setitem(_rewrite._RULE_OF, primitive, lambda v, rule=rule, name=primitive.name: [
            used.append(name), rule(v)][1])
    with jax.disable_jit():
        assert_bitwise(sj.swap(fun)(x), fun(x))
    assert sorted(set(used)) == ["logistic", "tanh"]


@pytest.mark.parametrize("activation", [jax.nn.sigmoid, jnp.tanh], ids=["sigmoid", "tanh"])
def test_eager_forward_mode_is_bitwise_where_jnp_functions_run_fused(activation):
    # Eagerly `activation(v) * v` runs as two compiled calls whose JVPs XLA fuses; run op by op instead (the
    # swap's jaxpr interpreter before this trace), 6 of these 35 sigmoid and 11 of 35 tanh tangents differed.
    fun = lambda v: activation(v) * v  # noqa: E731
    x = random((7, 5), scale=3.0)
    t = jnp.full((7, 5), 0.7)
    assert_trees_bitwise(jax.jvp(sj.swap(fun), (x,), (t,)), jax.jvp(fun, (x,), (t,)))
    assert_trees_bitwise(jax.linearize(sj.swap(fun), x)[1](t), jax.linearize(fun, x)[1](t))


def test_activations_inside_cgs_operator_keep_the_solvers_named_tuple():
    def solve(w, b):
        c = jnp.linspace(-2.0, 2.0, 6)  # traced into the operator's jaxpr (w's activations would be hoisted)
        operator = lambda v: v * (1.5 + jax.nn.sigmoid(c) + 0.25 * jnp.tanh(c)) * (1 + w**2)  # noqa: E731
        return jnp.sum(jax.scipy.sparse.linalg.cg(operator, b)[0] ** 2)

    w, b = random((6,), seed=1), random((6,), seed=2)
    assert_trees_bitwise(value_and_random_vjp(sj.swap(solve), w, b), value_and_random_vjp(solve, w, b))
    assert_trees_bitwise(jax.jit(jax.grad(sj.swap(solve)))(w, b), jax.jit(jax.grad(solve))(w, b))
    assert_swapped(solve, w, b, swap=sj.swap, primitives=(lax.logistic_p, lax.tanh_p))
