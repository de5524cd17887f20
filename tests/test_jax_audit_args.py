"""sigact.jax.audit takes the arguments the function takes: static leaves stay Python values, as in
Equinox's filtered transforms; an output passed through lax.reduce_precision is still the output."""

import pytest

jax = pytest.importorskip("jax")
eqx = pytest.importorskip("equinox")
import jax.numpy as jnp  # noqa: E402
from jax import lax  # noqa: E402

import sigact.jax as sj  # noqa: E402


class Gate(eqx.Module):
    weight: jax.Array
    groups: int  # a shape: must stay a Python int
    name: str
    activation: object
    bias: object = None

    def __call__(self, x):
        return jnp.sum(self.activation(x.reshape(self.groups, -1) @ self.weight))


def test_an_equinox_module_with_static_fields_is_audited_as_the_function_sees_it():
    x = jnp.ones(8)
    builtin = sj.audit(lambda m, x: m(x), Gate(jnp.ones((4, 4)), 2, "gate", jax.nn.sigmoid), x)
    ours = sj.audit(lambda m, x: m(x), Gate(jnp.ones((4, 4)), 2, "gate", sj.sigmoid), x)
    # the weight, the reshaped input (shaped by the int field), and the activation's one residual
    assert [(e.origin, e.bytes) for e in ours.entries] == [("argument", 64), ("intermediate", 32), ("intermediate", 32)]
    assert ours.entries[-1].note == "output of logistic" and builtin.entries[-1].note == "output of mul"


def test_static_keyword_arguments_pass_through():
    report = sj.audit(lambda x, *, n, mode: sj.sigmoid(x[:n]) if mode == "head" else x, jnp.ones(6), n=3,
                      mode="head")
    assert [(e.origin, e.bytes) for e in report.entries] == [("output", 12)]


def test_an_output_through_reduce_precision_is_still_seen_as_the_output():
    report = sj.audit(lambda x: lax.reduce_precision(sj.sigmoid(x), 8, 23), jnp.ones(4))
    assert [(e.origin, e.bytes) for e in report.entries] == [("output", 16)]
