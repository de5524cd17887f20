"""sigact.jax.tanh against jnp.tanh (what users call): values, VJPs and JVPs bit for bit in every float and
complex dtype, eagerly and under jit, isolated and with the input used elsewhere too; extremes, weak types,
integer promotion, shapes; y the only residual; every transform."""

import functools

import numpy as np
import pytest

jax = pytest.importorskip("jax")
import jax.numpy as jnp  # noqa: E402
from jax import lax  # noqa: E402

import sigact.jax as sj  # noqa: E402
from tests.helpers import assert_bitwise  # noqa: E402

DTYPES = ["float16", "bfloat16", "float32", "float64", "complex64", "complex128"]
MODES = {"eager": lambda f: f, "jit": jax.jit}


def assert_trees_bitwise(a, b):
    assert jax.tree.structure(a) == jax.tree.structure(b)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        assert_bitwise(x, y)


# Where x has other uses, the built-in adds its two cotangent terms into x's other cotangents one at a
# time: a rule that returns their sum (a custom_vjp, or the whole tangent checkpointed) rounds differently.
def isolated(act, x):
    return act(x)


def reused(act, x):
    return x * act(x) + x


def lstm_like(act, c):
    """An LSTM's cell state: tanh(c) feeds the output, and c itself is carried on to the next step."""
    h = jax.nn.sigmoid(c[::-1]) * act(c)
    return h, c * 0.75 + h


USES = {"isolated": isolated, "reused": reused, "lstm_like": lstm_like}


def extremes(dtype):
    info = jnp.finfo(dtype)
    real = [0.0, -0.0, np.inf, -np.inf, np.nan, float(info.max), -float(info.max), float(info.smallest_subnormal),
            -float(info.smallest_subnormal), float(info.tiny), 1e4, -20.0, 9.0, 0.5]
    return jnp.array(real, dtype)


def inputs(dtype, n=4099, seed=0):
    """x (random, scale 3, extremes first), and a random non-unit cotangent and tangent, all in ``dtype``."""
    k = jax.random.split(jax.random.key(seed), 6)
    draw = lambda key, scale: jax.random.normal(key, (n,), jnp.float64) * scale  # noqa: E731
    x, g, t = draw(k[0], 3), draw(k[1], 1), draw(k[2], 1)
    if dtype.startswith("complex"):  # truly complex, so that a conjugated rule shows
        x, g, t = x + 1j * draw(k[3], 3), g + 1j * draw(k[4], 1), t + 1j * draw(k[5], 1)
    x, g, t = x.astype(dtype), g.astype(dtype), t.astype(dtype)
    edge = extremes("float64" if dtype == "complex128" else "float32" if dtype == "complex64" else dtype)
    x = x.at[: edge.size].set(edge.astype(dtype))
    if dtype.startswith("complex"):  # the extremes in the imaginary part too, and in both at once
        x = x.at[edge.size: 2 * edge.size].set(lax.complex(jnp.zeros_like(edge), edge).astype(dtype))
        x = x.at[2 * edge.size: 3 * edge.size].set(lax.complex(edge, edge[::-1]).astype(dtype))
    return x, g, t


def value_and_vjp(act, use, x, g):
    """The use's value and its VJP for the cotangent g (in each output)."""
    y, pullback = jax.vjp(functools.partial(USES[use], act), x)
    return y, pullback(jax.tree.map(lambda leaf: g, y))


def value_and_jvp(act, use, x, t):
    return jax.jvp(functools.partial(USES[use], act), (x,), (t,))


RULES = {"vjp": value_and_vjp, "jvp": value_and_jvp}
# Built once: under jit, compiled once per (use, shape, dtype).
_RULES = {(name, rule, use, mode): MODES[mode](functools.partial(RULES[rule], act, use))
          for name, act in (("sigact", sj.tanh), ("builtin", jnp.tanh))
          for rule in RULES for use in USES for mode in MODES}


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("rule", list(RULES))
@pytest.mark.parametrize("use", list(USES))
@pytest.mark.parametrize("dtype", DTYPES)
def test_values_vjps_and_jvps_are_bitwise_equal_to_jnp_tanh(dtype, use, rule, mode):
    with jax.enable_x64(True):
        x, g, t = inputs(dtype)
        v = g if rule == "vjp" else t  # a random non-unit cotangent, or a random tangent
        assert_trees_bitwise(_RULES["sigact", rule, use, mode](x, v), _RULES["builtin", rule, use, mode](x, v))


@pytest.mark.parametrize("dtype", DTYPES)
def test_the_output_is_the_only_residual_where_the_builtin_keeps_one_minus_y_too(dtype):
    with jax.enable_x64(True):
        x = jnp.ones(1024, dtype)
        ours = sj.audit(sj.tanh, x)
        assert [(e.origin, e.note, e.bytes) for e in ours.entries] == [
            ("output", "output of custom_jvp_call", x.nbytes)]
        builtin = sj.audit(jnp.tanh, x)
        assert [e.origin for e in builtin.entries] == ["output", "intermediate"]
        assert builtin.total_bytes == 2 * ours.total_bytes


def test_audit_sees_one_residual_through_jit_and_the_swap_where_the_builtin_keeps_two():
    x = jnp.ones(64)
    for fun in (jax.jit(sj.tanh), sj.swap(jnp.tanh), sj.swap(jax.jit(jnp.tanh))):
        assert [(e.origin, e.bytes) for e in sj.audit(fun, x).entries] == [("output", x.nbytes)]
    assert [(e.origin, e.bytes) for e in sj.audit(jax.jit(jnp.tanh), x).entries] == [
        ("output", x.nbytes), ("intermediate", x.nbytes)]


def test_in_an_lstm_like_step_the_residuals_shrink_by_one_buffer():
    c = jnp.linspace(-3.0, 3.0, 256)
    ours, builtin = (sj.audit(lambda c, act=act: lstm_like(act, c), c) for act in (sj.tanh, jnp.tanh))
    assert builtin.total_bytes - ours.total_bytes == c.nbytes


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("value", [0.5, -3.0, 0.0, -0.0, 1e30, float("inf"), float("nan"), 2 + 1j, 1e-45],
                         ids=repr)
def test_python_scalars_stay_weakly_typed_like_jnp_tanh(value, mode):
    ours, ref = MODES[mode](sj.tanh)(value), MODES[mode](jnp.tanh)(value)
    assert_bitwise(ours, ref)
    assert ours.weak_type == ref.weak_type
    assert (jnp.ones(2, jnp.float16) * ours).dtype == (jnp.ones(2, jnp.float16) * ref).dtype
    if not isinstance(value, complex):
        grads = [MODES[mode](jax.value_and_grad(act))(value) for act in (sj.tanh, jnp.tanh)]
        assert_trees_bitwise(*grads)
        assert [leaf.weak_type for leaf in grads[0]] == [leaf.weak_type for leaf in grads[1]]


# Arrays are made in the test, not at import: make mutate's fork server collects this module and must not start XLA.
@pytest.mark.parametrize("make_value", [lambda: jnp.arange(-3, 4), lambda: jnp.arange(3, dtype=jnp.int8),
                                        lambda: jnp.array([True, False]), lambda: 3, lambda: True,
                                        lambda: np.uint16(7)],
                         ids=["int32 array", "int8 array", "bool array", "3", "True", "np.uint16(7)"])
def test_integers_and_bools_are_promoted_like_jnp_tanh(make_value):
    value = make_value()
    ours, ref = sj.tanh(value), jnp.tanh(value)
    assert_bitwise(ours, ref)
    assert ours.weak_type == ref.weak_type
    assert_bitwise(jax.jit(sj.tanh)(value), jax.jit(jnp.tanh)(value))


def test_integer_inputs_to_grad_raise_like_jnp_tanh():
    with pytest.raises(TypeError) as ref:
        jax.grad(jnp.tanh)(3)
    with pytest.raises(TypeError) as ours:
        jax.grad(sj.tanh)(3)
    assert str(ours.value) == str(ref.value)


def test_a_string_raises_like_jnp_tanh():
    with pytest.raises(TypeError) as ref:
        jnp.tanh("1.0")
    with pytest.raises(TypeError) as ours:
        sj.tanh("1.0")
    assert type(ours.value) is type(ref.value) and "tanh" in str(ours.value)


def test_a_list_raises_like_jnp_tanh_word_for_word():
    with pytest.raises(TypeError) as ref:
        jnp.tanh([1.0, 2.0])
    with pytest.raises(TypeError) as ours:
        sj.tanh([1.0, 2.0])
    assert str(ours.value) == str(ref.value)  # "tanh requires ndarray or scalar arguments, got <class 'list'> ..."


@pytest.mark.parametrize("shape", [(), (0,), (2, 0, 3), (1,), (3, 4, 5)], ids=str)
@pytest.mark.parametrize("mode", list(MODES))
def test_every_shape_including_scalars_and_empty_arrays(shape, mode):
    x = jax.random.normal(jax.random.key(1), shape) * 3
    g = jax.random.normal(jax.random.key(2), shape)
    for rule in RULES:
        ours, ref = (_RULES[name, rule, "reused", mode](x, g) for name in ("sigact", "builtin"))
        assert_trees_bitwise(ours, ref)


# ---------------------------------------------------------------- transforms


def both(fn):
    """fn(activation) for sigact and for the built-in."""
    return fn(sj.tanh), fn(jnp.tanh)


def test_vmap_of_vjp_and_jvp_is_bitwise():
    x, g = (jax.random.normal(k, (5, 7)) * 3 for k in jax.random.split(jax.random.key(0)))
    for rule in RULES.values():
        assert_trees_bitwise(*both(lambda act, rule=rule: jax.vmap(functools.partial(rule, act, "reused"))(x, g)))


def test_jacfwd_jacrev_and_linearize_are_bitwise():
    with jax.enable_x64(True):
        x = jnp.linspace(-5.0, 5.0, 33)
        t = jax.random.normal(jax.random.key(3), (33,), jnp.float64)
        assert_trees_bitwise(*both(lambda act: jax.jacfwd(lambda v: reused(act, v))(x)))
        assert_trees_bitwise(*both(lambda act: jax.jacrev(lambda v: reused(act, v))(x)))
        assert_trees_bitwise(*both(lambda act: jax.linearize(lambda v: reused(act, v), x)[1](t)))


@pytest.mark.parametrize("mode", list(MODES))
def test_second_derivatives_of_tanh_alone_are_bitwise(mode):
    # The second-derivative rows of docs/api.md's table: tanh alone, grad of grad and the hessian.
    with jax.enable_x64(True):
        for dtype in ("float16", "bfloat16", "float32", "float64"):
            x = jnp.linspace(-8.0, 8.0, 1001, dtype=dtype)
            assert_bitwise(*both(lambda act, x=x: MODES[mode](jax.vmap(jax.grad(jax.grad(act))))(x)))
            assert_bitwise(*both(lambda act, x=x: MODES[mode](jax.vmap(jax.hessian(act)))(x)))


def test_scan_of_an_lstm_like_recurrence_is_bitwise_and_keeps_one_buffer_fewer_per_step():
    steps, width = 16, 32
    c0 = jax.random.normal(jax.random.key(4), (width,))
    xs = jax.random.normal(jax.random.key(5), (steps, width)) * 2

    def run(act, c0, xs):
        def step(c, x):
            h, c = lstm_like(act, c + x)
            return c, h

        c, hs = lax.scan(step, c0, xs)
        return jnp.sum(c * c) + jnp.sum(hs * xs)

    for mode in MODES.values():
        grads = both(lambda act, mode=mode: mode(jax.value_and_grad(functools.partial(run, act), (0, 1)))(c0, xs))
        assert_trees_bitwise(*grads)
    ours, ref = both(lambda act: sj.audit(functools.partial(run, act), c0, xs).total_bytes)
    assert ref - ours == steps * width * 4


@pytest.mark.parametrize("policy", ["nothing_saveable", "everything_saveable", "dots_saveable"])
def test_checkpoint_under_a_policy_is_bitwise(policy):
    x = jax.random.normal(jax.random.key(6), (8, 16)) * 2
    w = jax.random.normal(jax.random.key(7), (16, 16)) / 4

    def loss(act, w, x):
        layer = jax.checkpoint(lambda w, h: reused(act, h @ w), policy=getattr(jax.checkpoint_policies, policy))
        return jnp.sum(layer(w, layer(w, x)) ** 2)

    assert_trees_bitwise(*both(lambda act: jax.jit(jax.grad(functools.partial(loss, act), (0, 1)))(w, x)))
    assert_trees_bitwise(*both(lambda act: jax.grad(functools.partial(loss, act), (0, 1))(w, x)))


def test_pmap_shard_map_and_sharded_jit_are_bitwise():
    assert jax.device_count() == 8, "XLA_FLAGS=--xla_force_host_platform_device_count=8 (conftest.py)"
    mesh = jax.make_mesh((8,), ("batch",), axis_types=(jax.sharding.AxisType.Auto,))
    x = jax.random.normal(jax.random.key(8), (8, 16)) * 3
    w = jax.random.normal(jax.random.key(9), (16, 16)) / 4

    def psum_loss(act, x, w):
        return lax.psum(jnp.sum(reused(act, x @ w) ** 2), "batch")

    def sharded(act):
        batch, whole = jax.sharding.PartitionSpec("batch"), jax.sharding.PartitionSpec()
        return jax.shard_map(functools.partial(psum_loss, act), mesh=mesh, in_specs=(batch, whole), out_specs=whole)

    assert_trees_bitwise(*both(lambda act: jax.pmap(jax.grad(lambda v: jnp.sum(reused(act, v) ** 2)))(x)))
    assert_trees_bitwise(*both(lambda act: jax.jit(jax.grad(sharded(act), (0, 1)))(x, w)))
    data = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("batch"))
    xs = jax.device_put(x, data)
    grads = both(lambda act: jax.jit(jax.grad(lambda v: jnp.sum(reused(act, v @ w) ** 2)), in_shardings=data)(xs))
    assert_trees_bitwise(*grads)
    assert grads[0].sharding.is_equivalent_to(data, 2)


@pytest.mark.parametrize("accuracy", [lax.AccuracyMode.HIGHEST, lax.AccuracyMode.DEFAULT], ids=str)
def test_the_swap_keeps_a_tanh_that_sets_an_accuracy_as_the_builtin(accuracy):
    fun = lambda x: jnp.sum(lax.tanh(x, accuracy=accuracy) ** 2)  # noqa: E731
    x = jnp.linspace(-3.0, 3.0, 64)
    swapped = sj.swap(fun)
    assert_trees_bitwise(jax.value_and_grad(swapped)(x), jax.value_and_grad(fun)(x))
    assert [e.origin for e in sj.audit(swapped, x).entries] == [e.origin for e in sj.audit(fun, x).entries]
    assert "custom_jvp_call" not in str(jax.make_jaxpr(swapped)(x))
    assert "custom_jvp_call" in str(jax.make_jaxpr(sj.swap(lambda x: jnp.sum(jnp.tanh(x) ** 2)))(x))


FIRST_ORDER = {
    "jacrev": jax.jacrev,
    "jacfwd": jax.jacfwd,
    "grad": lambda f: jax.grad(lambda v: f(v).sum()),
    "jvp": lambda f: lambda v: jax.jvp(f, (v,), (jnp.cos(7 * v),)),
    "linearize": lambda f: lambda v: jax.linearize(f, v)[1](jnp.cos(7 * v)),
}


@pytest.mark.parametrize("transform,mode", [(name, mode) for name in FIRST_ORDER for mode in MODES])
def test_the_swap_of_a_cell_with_sigmoid_and_tanh_is_bitwise_in_every_first_order_transform(transform, mode):
    # The "swap" column of docs/api.md's table, for a function with both activations and c carried on.
    with jax.enable_x64(True):
        c = jnp.linspace(-4.0, 4.0, 17)

        def cell(c):
            return jax.nn.sigmoid(c[::-1]) * jnp.tanh(c) + c

        wrap = MODES[mode]
        assert_trees_bitwise(wrap(FIRST_ORDER[transform](sj.swap(cell)))(c), wrap(FIRST_ORDER[transform](cell))(c))
