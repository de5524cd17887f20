"""sigact.jax.sigmoid under every transform a training loop uses, against jax.nn.sigmoid."""

import functools

import pytest

jax = pytest.importorskip("jax")
import jax.numpy as jnp  # noqa: E402

import sigact.jax as sj  # noqa: E402
from tests.helpers import assert_bitwise, assert_trees_bitwise  # noqa: E402

ACTIVATIONS = {"sigact": sj.sigmoid, "builtin": jax.nn.sigmoid}


def mlp_loss(act, params, x):
    for w in params:
        x = act(x @ w)
    return jnp.mean(x**2)


def init(n_layers=3, width=16, seed=0):
    keys = jax.random.split(jax.random.key(seed), n_layers + 1)
    params = [jax.random.normal(k, (width, width)) / 4 for k in keys[:-1]]
    return params, jax.random.normal(keys[-1], (8, width))


def both(fn):
    """fn(activation) for sigact and for the built-in."""
    return fn(sj.sigmoid), fn(jax.nn.sigmoid)


def test_vmap_is_bitwise_equal_to_builtin():
    # Random cotangents, not the ones of a sum, so that the backward's rounding order shows.
    x, c = (jax.random.normal(k, (5, 7)) for k in jax.random.split(jax.random.key(0)))
    assert_trees_bitwise(*both(lambda act: jax.vmap(lambda v, t: jax.vjp(act, v)[1](t)[0])(x, c)))


@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
def test_grad_of_a_network_is_bitwise_equal_to_builtin(jit):
    params, x = init()
    wrap = jax.jit if jit else (lambda f: f)
    assert_trees_bitwise(*both(lambda act: wrap(jax.grad(functools.partial(mlp_loss, act)))(params, x)))


def test_grad_of_grad_of_the_sigmoid_alone_and_jacrev_match_builtin():
    # Reverse over reverse where x has another use is not bitwise: tests/test_jax_second_derivatives.py.
    with jax.enable_x64(True):
        x = jnp.linspace(-4.0, 4.0, 9, dtype=jnp.float64)
        d2 = both(lambda act: jax.vmap(jax.grad(jax.grad(act)))(x))
        jac = both(lambda act: jax.jacrev(lambda v: act(v) * x[::-1])(x))  # rows of non-unit cotangents
        for ours, ref in (d2, jac):
            assert_bitwise(ours, ref)
        y = jax.nn.sigmoid(x)
        assert jnp.allclose(d2[0], y * (1 - y) * (1 - 2 * y), rtol=1e-12, atol=1e-15)


def test_scan_over_layers_is_bitwise_equal_to_builtin():
    params, x = init(n_layers=4)
    stacked = jnp.stack(params)

    def loss(act, stacked, x):
        h, _ = jax.lax.scan(lambda h, w: (act(h @ w), None), x, stacked)
        return jnp.mean(h**2)

    assert_trees_bitwise(*both(lambda act: jax.jit(jax.grad(functools.partial(loss, act)))(stacked, x)))


def test_checkpoint_with_a_policy_is_bitwise_equal_to_builtin_and_saves_nothing_more():
    params, x = init()
    policy = jax.checkpoint_policies.dots_with_no_batch_dims_saveable

    def loss(act, params, x):
        return mlp_loss(jax.checkpoint(act, policy=policy), params, x)

    assert_trees_bitwise(*both(lambda act: jax.jit(jax.grad(functools.partial(loss, act)))(params, x)))
    remat_sigact = jax.checkpoint(lambda v: sj.sigmoid(v @ params[0]), policy=policy)
    assert sj.audit(remat_sigact, x).total_bytes <= sj.audit(lambda v: sj.sigmoid(v @ params[0]), x).total_bytes


def test_pmap_is_bitwise_equal_to_builtin():
    n = jax.device_count()
    assert n == 8, "tests need XLA_FLAGS=--xla_force_host_platform_device_count=8 (set in conftest.py)"
    x = jax.random.normal(jax.random.key(0), (n, 32))
    assert_trees_bitwise(*both(lambda act: jax.pmap(jax.grad(lambda v: (act(v) * v).sum()))(x)))


def test_hessian_forward_over_reverse_is_bitwise_equal_to_builtin():
    # jax.hessian is jacfwd(jacrev(f)): the outer forward pass differentiates sigact's backward
    # rule, which is plain JAX, so it works although sigact.jax.sigmoid has no forward rule.
    with jax.enable_x64(True):
        x = jnp.linspace(-4.0, 4.0, 9, dtype=jnp.float64)
        assert_bitwise(*both(lambda act: jax.hessian(lambda v: jnp.sum(act(v) * v))(x)))


def test_forward_mode_raises_and_linearize_raises_when_its_function_is_called():
    x, t = jnp.linspace(-2.0, 2.0, 5), jnp.ones(5)
    message = "can't apply forward-mode autodiff"
    with pytest.raises(TypeError, match=message):
        jax.jvp(sj.sigmoid, (x,), (t,))
    with pytest.raises(TypeError, match=message):
        jax.jacfwd(sj.sigmoid)(x)
    y, f_jvp = jax.linearize(sj.sigmoid, x)  # does not raise: the error comes with the tangent
    assert_bitwise(y, jax.nn.sigmoid(x))
    with pytest.raises(TypeError, match=message):
        f_jvp(t)
