"""The swap's Limits in docs/training.md, each as stated."""

import pytest

jax = pytest.importorskip("jax")
import jax.numpy as jnp  # noqa: E402

import sigact.jax as sj  # noqa: E402


def branchy(x):
    return jnp.tanh(x) if float(x.sum()) > 0 else jax.nn.sigmoid(x)


def test_python_control_flow_on_values_works_eagerly_and_fails_under_jit_as_without_the_swap():
    for x in (jnp.ones(3), -jnp.ones(3)):
        assert jnp.array_equal(sj.swap(branchy)(x), branchy(x))
    for fun in (branchy, sj.swap(branchy)):
        with pytest.raises(jax.errors.ConcretizationTypeError):  # TracerBoolConversionError's family
            jax.jit(fun)(jnp.ones(3))


def test_fun_runs_at_every_call_not_once_per_structure():
    calls = []

    def f(x):
        calls.append(1)
        return jnp.tanh(x)

    swapped = sj.swap(f)
    swapped(jnp.ones(3))
    swapped(jnp.ones(3))
    assert len(calls) == 2


def test_swap_outside_grad_gives_the_same_values_but_saves_only_inside():
    def loss(w, xs):
        def step(h, x):
            h = jax.nn.sigmoid(x @ w) * jnp.tanh(h)
            return h, h
        return jnp.sum(jax.lax.scan(step, jnp.zeros(32), xs)[1] ** 2)

    w, xs = jnp.ones((32, 32)) * 0.01, jnp.ones((16, 32))

    def temp(f):
        return jax.jit(f).lower(w, xs).compile().memory_analysis().temp_size_in_bytes

    inside, outside, builtin = jax.grad(sj.swap(loss)), sj.swap(jax.grad(loss)), jax.grad(loss)
    assert jnp.array_equal(inside(w, xs), builtin(w, xs)) and jnp.array_equal(outside(w, xs), builtin(w, xs))
    assert temp(outside) == temp(builtin) > temp(inside)
