"""sigact.jax.swap_sigmoid and sigact.jax.sigmoid_jvp against the unswapped function and jax.nn.sigmoid:
bitwise values and gradients, every transform and composition, pytrees, static arguments, custom rules."""

import functools
import logging

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


def bare_logistics(jaxpr) -> int:
    """``logistic`` equations outside a custom_jvp/custom_vjp call: the built-in's, not sigact's."""
    count = 0
    for eqn in jaxpr.eqns:
        if eqn.primitive is lax.logistic_p:
            count += 1
        elif not eqn.primitive.name.startswith("custom_"):
            values = [v for p in eqn.params.values() for v in (p if isinstance(p, tuple) else (p,))]
            count += sum(bare_logistics(getattr(v, "jaxpr", v)) for v in values if hasattr(v, "eqns")
                         or hasattr(v, "jaxpr"))
    return count


def assert_swapped(fun, *args):
    """The swap replaced every logistic: the original has some, the swapped function none."""
    assert bare_logistics(jax.make_jaxpr(fun)(*args).jaxpr) > 0
    assert bare_logistics(jax.make_jaxpr(sj.swap_sigmoid(fun))(*args).jaxpr) == 0


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
    """Sigmoid, SiLU and GLU, the three ways third-party code reaches lax.logistic."""
    w1, w2 = params
    h = jax.nn.sigmoid(x @ w1) * jax.nn.silu(x @ w1)
    return jnp.sum(jax.nn.glu(h @ w2) ** 2)


def mlp_setup(dtype="float32", width=16):
    w1, w2 = random((width, width), dtype, 1, 0.5), random((width, 2 * width), dtype, 2, 0.5)
    return (w1, w2), random((8, width), dtype, 3, 2.0)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
def test_swapped_values_and_gradients_are_bitwise_equal_per_dtype(dtype, jit):
    with jax.enable_x64(True):
        params, x = mlp_setup(dtype)
        wrap = jax.jit if jit else (lambda f: f)
        ours = wrap(lambda p, x: value_and_random_vjp(sj.swap_sigmoid(gated_mlp), p, x))(params, x)
        ref = wrap(lambda p, x: value_and_random_vjp(gated_mlp, p, x))(params, x)
        assert_trees_bitwise(ours, ref)
        assert_swapped(gated_mlp, params, x)


def scanned(h, xs, w):
    def step(h, x):
        h = jnp.tanh(x @ w) * jax.nn.sigmoid(h @ w)
        return h, h.sum()

    return lax.scan(step, h, xs)


def mesh():
    assert jax.device_count() == 8, "XLA_FLAGS=--xla_force_host_platform_device_count=8 (conftest.py)"
    return jax.make_mesh((8,), ("batch",), axis_types=(jax.sharding.AxisType.Auto,))


def psum_of_sigmoids(x, w):
    return jax.lax.psum(jnp.sum(jax.nn.sigmoid(x @ w) ** 2), "batch")


# Each body hides a logistic inside one construct. Arguments: (h of shape (8, 16), w of (16, 16)).
CONSTRUCTS = {
    "nested jit": lambda h, w: jax.jit(lambda h: jax.jit(jax.nn.silu)(h @ w))(h),
    "scan": lambda h, w: scanned(h, jnp.stack([h, 2 * h, -h]), w)[1],
    "fori_loop": lambda h, w: lax.fori_loop(0, 3, lambda i, h: jax.nn.sigmoid(h @ w), h),
    "while_loop": lambda h, w: lax.while_loop(lambda c: c[0] < 3, lambda c: (c[0] + 1, jax.nn.sigmoid(c[1] @ w)),
                                              (0, h))[1],
    "cond": lambda h, w: lax.cond(h.sum() > 0, lambda h: jax.nn.sigmoid(h @ w), lambda h: h @ w, h),
    "switch": lambda h, w: lax.switch(1, [lambda h: h, lambda h: jax.nn.silu(h @ w), jnp.tanh], h),
    "checkpoint": lambda h, w: jax.checkpoint(lambda h: jax.nn.sigmoid(h @ w) @ w)(h),
    "checkpoint dots_saveable": lambda h, w: jax.checkpoint(
        lambda h: jax.nn.sigmoid(h @ w) @ w, policy=jax.checkpoint_policies.dots_saveable)(h),
    "checkpoint nothing_saveable, in a scan": lambda h, w: lax.scan(
        jax.checkpoint(lambda h, _: (jax.nn.sigmoid(h @ w), None), policy=jax.checkpoint_policies.nothing_saveable),
        h, None, length=3)[0],
    "vmap": lambda h, w: jax.vmap(lambda r: jax.nn.sigmoid(r @ w))(h),
    "pmap": lambda h, w: jax.pmap(lambda r: jax.nn.sigmoid(r @ w))(h),
    "shard_map": lambda h, w: jax.shard_map(psum_of_sigmoids, mesh=mesh(), in_specs=(P("batch"), P()),
                                            out_specs=P())(h, w),
}


@pytest.mark.parametrize("construct", CONSTRUCTS)
def test_swap_reaches_each_construct_with_bitwise_values_and_gradients(construct):
    fun = CONSTRUCTS[construct]
    h, w = random((8, 16), seed=1), random((16, 16), seed=2, scale=0.3)
    if construct == "while_loop":  # not reverse-differentiable, built-in or not: forward mode instead
        th, tw = random((8, 16), seed=3), random((16, 16), seed=4)
        differentiate = lambda f, h, w: jax.jvp(f, (h, w), (th, tw))  # noqa: E731
    else:
        differentiate = value_and_random_vjp
    assert_trees_bitwise(differentiate(sj.swap_sigmoid(fun), h, w), differentiate(fun, h, w))
    assert_trees_bitwise(jax.jit(lambda h, w: differentiate(sj.swap_sigmoid(fun), h, w))(h, w),
                         jax.jit(lambda h, w: differentiate(fun, h, w))(h, w))
    assert_swapped(fun, h, w)


def test_swap_of_a_sharded_jit_keeps_the_sharding_and_the_bits():
    sharding = NamedSharding(mesh(), P("batch"))
    h = jax.device_put(random((16, 16), seed=1), sharding)
    w = random((16, 16), seed=2, scale=0.3)
    loss = jax.jit(lambda h, w: jnp.sum(jax.nn.silu(h @ w) ** 2), in_shardings=(sharding, None))
    grads = jax.grad(sj.swap_sigmoid(loss), argnums=(0, 1))(h, w)
    assert_trees_bitwise(grads, jax.grad(loss, argnums=(0, 1))(h, w))
    assert grads[0].sharding.is_equivalent_to(sharding, 2)
    assert_swapped(loss, h, w)


def test_swap_saves_a_stacked_residual_in_a_scan():
    h, xs, w = random((8, 16)), random((5, 8, 16), seed=1), random((16, 16), seed=2)
    loss = lambda h, xs, w: scanned(h, xs, w)[1].sum()  # noqa: E731
    ours, ref = sj.audit(sj.swap_sigmoid(loss), h, xs, w), sj.audit(loss, h, xs, w)
    assert ref.total_bytes - ours.total_bytes == 5 * 8 * 16 * 4  # one (steps, batch, width) float32 buffer


def test_logistic_with_highest_accuracy_keeps_the_builtin():
    fun = lambda x: jnp.sum(lax.logistic(x, accuracy=lax.AccuracyMode.HIGHEST) ** 2)  # noqa: E731
    x = random((64,), scale=4)
    assert_trees_bitwise(value_and_random_vjp(sj.swap_sigmoid(fun), x), value_and_random_vjp(fun, x))
    assert bare_logistics(jax.make_jaxpr(sj.swap_sigmoid(fun))(x).jaxpr) == 1


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
        fun = lambda h: jnp.sum(CONSTRUCTS["scan"](h, w))  # noqa: E731
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
    assert_trees_bitwise(eqx.filter_jit(eqx.filter_grad(sj.swap_sigmoid(loss)))(cell, x, h),
                         eqx.filter_jit(eqx.filter_grad(loss))(cell, x, h))
    assert_trees_bitwise(eqx.filter_grad(sj.swap_sigmoid(loss))(cell, x, h), ref)
    assert_trees_bitwise(sj.swap_sigmoid(cell)(x, h), cell(x, h))  # the module itself, its arrays traced
    assert_trees_bitwise(sj.swap_sigmoid(eqx.filter_jit(loss))(cell, x, h), eqx.filter_jit(loss)(cell, x, h))
    assert_swapped(lambda x, h: loss(cell, x, h), x, h)


# ---------------------------------------------------------------- Flax


def test_flax_linen_apply_with_train_rngs_and_mutable_batch_stats():
    nn = pytest.importorskip("flax.linen")

    class Gated(nn.Module):
        @nn.compact
        def __call__(self, x, train: bool):
            x = nn.Dense(8)(x)
            x = nn.BatchNorm(use_running_average=not train)(x)
            x = nn.Dropout(0.5, deterministic=not train)(x)
            return nn.sigmoid(x) * nn.swish(x)

    model, x = Gated(), random((4, 3))
    variables = model.init(jax.random.key(0), x, train=False)
    rngs = {"dropout": jax.random.key(1)}

    def loss(apply):
        def f(params):
            out, updates = apply({**variables, "params": params}, x, train=True, rngs=rngs, mutable=["batch_stats"])
            return jnp.sum(out**2), updates

        return jax.value_and_grad(f, has_aux=True)(variables["params"])

    assert_trees_bitwise(loss(sj.swap_sigmoid(model.apply)), loss(model.apply))
    assert_swapped(lambda p: model.apply({**variables, "params": p}, x, train=False), variables["params"])


def test_flax_nnx_through_split_and_merge():
    nnx = pytest.importorskip("flax.nnx")
    model = nnx.Sequential(nnx.Linear(3, 6, rngs=nnx.Rngs(0)), nnx.sigmoid, nnx.Linear(6, 2, rngs=nnx.Rngs(1)))
    graphdef, state = nnx.split(model)
    x = random((4, 3))

    def loss(state, x):
        return jnp.sum(jax.nn.silu(nnx.merge(graphdef, state)(x)) ** 2)

    assert_trees_bitwise(jax.grad(sj.swap_sigmoid(loss))(state, x), jax.grad(loss)(state, x))
    assert_swapped(loss, state, x)


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


def test_traced_once_per_input_structure_and_not_recompiled():
    traces = []

    def fun(x, w):
        traces.append(x.shape)
        return jax.jit(jax.nn.silu)(x @ w)

    swapped = sj.swap_sigmoid(fun)
    x, w = random((4, 16)), random((16, 16), seed=1)
    swapped(x, w)
    swapped(x + 1, w)
    swapped(random((2, 16)), w)
    swapped(x.astype("bfloat16"), w.astype("bfloat16"))
    swapped(x, w)
    assert traces == [(4, 16), (2, 16), (4, 16)]  # float32 (4, 16), then (2, 16), then bfloat16 (4, 16)


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
        return jax.nn.sigmoid(x)

    marked.defjvp(lambda p, t: (marked(p[0]), 3 * t[0]))  # deliberately not σ′: proves this rule fires

    @jax.custom_vjp
    def clipped(x):
        return jax.nn.sigmoid(x)

    clipped.defvjp(lambda x: (jax.nn.sigmoid(x), None), lambda _, g: (7 * g,))

    x = random((6,))
    fun = lambda x: jnp.sum(marked(x)) + jnp.sum(clipped(2 * x))  # noqa: E731
    grad = jax.grad(sj.swap_sigmoid(fun))(x)
    assert_bitwise(grad, jnp.full((6,), 3 + 14, jnp.float32))
    assert_bitwise(jax.jvp(sj.swap_sigmoid(marked), (x,), (jnp.ones(6),))[1], jnp.full((6,), 3.0))


def test_swap_of_a_non_callable_raises_type_error():
    with pytest.raises(TypeError, match="swap_sigmoid expects a callable.*got int: 3"):
        sj.swap_sigmoid(3)


def test_data_dependent_python_control_flow_fails_as_under_jit():
    def fun(x):
        return jax.nn.sigmoid(x) if x.sum() > 0 else x

    with pytest.raises(jax.errors.TracerBoolConversionError):
        jax.jit(fun)(jnp.ones(3))
    with pytest.raises(jax.errors.TracerBoolConversionError):
        sj.swap_sigmoid(fun)(jnp.ones(3))


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
