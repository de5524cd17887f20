"""sigact.jax beyond one device and into deployment: a training step over a Mesh of 8 host devices
(NamedSharding and shard_map) against the built-in, and jax.export round trips."""

import functools

import pytest

jax = pytest.importorskip("jax")
optax = pytest.importorskip("optax")
import jax.numpy as jnp  # noqa: E402
from jax.sharding import NamedSharding  # noqa: E402
from jax.sharding import PartitionSpec as P  # noqa: E402

import sigact.jax as sj  # noqa: E402
from tests.helpers import assert_bitwise  # noqa: E402

OPT = optax.sgd(0.1)


def loss(act, params, x, y):
    for w in params[:-1]:
        x = act(x @ w)
    return jnp.mean((x @ params[-1] - y) ** 2)


def setup():
    keys = jax.random.split(jax.random.key(0), 5)
    params = [jax.random.normal(k, s) / 4 for k, s in zip(keys[:3], [(16, 32), (32, 32), (32, 1)], strict=True)]
    return params, jax.random.normal(keys[3], (64, 16)), jax.random.normal(keys[4], (64, 1))


def mesh():
    assert jax.device_count() == 8, "XLA_FLAGS=--xla_force_host_platform_device_count=8 (conftest.py)"
    # Auto axes: XLA's partitioner places the weight-gradient reductions, as in most training code.
    return jax.make_mesh((8,), ("batch",), axis_types=(jax.sharding.AxisType.Auto,))


def sharded_step(act):
    """jit over the mesh; the batch is sharded by NamedSharding, the parameters replicated."""
    params, x, y = setup()
    m = mesh()
    x, y = (jax.device_put(a, NamedSharding(m, P("batch"))) for a in (x, y))

    @jax.jit
    def step(params, state, x, y):
        value, grads = jax.value_and_grad(functools.partial(loss, act))(params, x, y)
        updates, state = OPT.update(grads, state, params)
        return optax.apply_updates(params, updates), state, value

    params, state, value = step(params, OPT.init(params), x, y)
    assert len(x.sharding.device_set) == 8
    return params, value


def shard_map_step(act):
    """The same step written per shard: each device takes 8 rows. The parameters are replicated, so
    shard_map's transpose already sums their gradients over the devices (check_vma): each shard's
    loss is its mean over the 8 shards, and psum makes the value the global mean."""
    params, x, y = setup()

    @jax.jit
    @functools.partial(jax.shard_map, mesh=mesh(), in_specs=(P(), P("batch"), P("batch")),
                       out_specs=(P(), P()))
    def step(params, x, y):
        shard_loss = lambda p: loss(act, p, x, y) / jax.lax.axis_size("batch")  # noqa: E731
        value, grads = jax.value_and_grad(shard_loss)(params)
        updates, _ = OPT.update(grads, OPT.init(params), params)
        return optax.apply_updates(params, updates), jax.lax.psum(value, "batch")

    return step(params, x, y)


@pytest.mark.parametrize("step", [sharded_step, shard_map_step], ids=["named_sharding", "shard_map"])
def test_training_step_over_eight_devices_is_bitwise_equal_to_builtin(step):
    ours, ref = step(sj.sigmoid), step(jax.nn.sigmoid)
    for a, b in zip(jax.tree.leaves(ours), jax.tree.leaves(ref), strict=True):
        assert_bitwise(a, b)


def test_shard_map_and_named_sharding_steps_agree_with_one_device_to_rounding():
    # The loss, and the parameters after the step (so the gradients too): the sharded reductions
    # sum in another order than one device does, hence to rounding.
    params, x, y = setup()
    value, grads = jax.value_and_grad(functools.partial(loss, sj.sigmoid))(params, x, y)
    updates, _ = OPT.update(grads, OPT.init(params), params)
    updated = optax.apply_updates(params, updates)
    for step in (sharded_step, shard_map_step):
        new_params, new_value = step(sj.sigmoid)
        assert jnp.allclose(new_value, value, rtol=1e-6)
        for a, b, before in zip(new_params, updated, params, strict=True):
            assert jnp.allclose(a, b, rtol=1e-6, atol=1e-7)
            assert not jnp.allclose(a, before, rtol=1e-6, atol=1e-7)  # the step moved them


def test_jax_export_round_trip_computes_the_same_values_and_gradients():
    from jax import export

    params, x, _ = setup()

    def forward(params, x):
        for w in params:
            x = sj.sigmoid(x @ w)
        return x

    exported = export.export(jax.jit(forward))(params, x)
    restored = export.deserialize(exported.serialize(vjp_order=1))
    assert_bitwise(restored.call(params, x), jax.jit(forward)(params, x))
    grad_restored = jax.grad(lambda p: restored.call(p, x).sum())(params)
    grad_direct = jax.grad(lambda p: forward(p, x).sum())(params)
    for a, b in zip(grad_restored, grad_direct, strict=True):
        assert jnp.allclose(a, b, rtol=1e-6, atol=1e-7)
    assert "custom_call" not in exported.mlir_module()  # plain StableHLO: portable, nothing of sigact inside
