"""What sigact.jax keeps for backward: one residual, the output, where jax.nn.sigmoid keeps y·(1−y)."""

import contextlib
import io

import pytest

jax = pytest.importorskip("jax")
import jax.numpy as jnp  # noqa: E402
from jax.ad_checkpoint import print_saved_residuals  # noqa: E402

import sigact.jax as sj  # noqa: E402


def test_print_saved_residuals_shows_exactly_one_residual_the_output():
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        print_saved_residuals(sj.sigmoid, jnp.ones(100))
    lines = buffer.getvalue().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("f32[100] output of logistic")


def test_audit_reports_the_output_as_the_only_residual():
    report = sj.audit(sj.sigmoid, jnp.ones((10, 10)))
    assert [(e.origin, e.shape, e.bytes) for e in report.entries] == [("output", (10, 10), 400)]


def test_next_layer_shares_sigacts_residual_where_builtin_keeps_two_buffers():
    w, x = jnp.ones((256, 512)), jnp.ones(512)
    x_sized = x.size * x.dtype.itemsize

    def activation_bytes(act):
        report = sj.audit(lambda w, x: w @ act(x), w, x)
        return report.total_bytes - report.bytes_by_origin("argument")

    assert activation_bytes(sj.sigmoid) == x_sized
    assert activation_bytes(jax.nn.sigmoid) == 2 * x_sized
    assert activation_bytes(lambda v: 1 / (1 + jnp.exp(-v))) >= 2 * x_sized


def test_with_weights_closed_over_both_keep_one_buffer():
    # Only when the next layer itself needs y (its weights are differentiated) does the built-in's
    # extra buffer appear; with constant weights neither keeps y.
    w, x = jnp.ones((256, 512)), jnp.ones(512)
    ours = sj.audit(lambda x: w @ sj.sigmoid(x), x)
    ref = sj.audit(lambda x: w @ jax.nn.sigmoid(x), x)
    assert ours.total_bytes == ref.total_bytes


def test_compiled_training_step_without_a_scan_uses_the_same_temp_memory_as_builtin():
    # One fused jit body: XLA drops the built-in's extra y·(1 − y) itself, so there is nothing to save
    # (a lax.scan is where the saving is: tests/test_jax_models.py).
    keys = jax.random.split(jax.random.key(0), 9)
    params = [jax.random.normal(k, (256, 256)) / 16 for k in keys[:8]]
    x = jax.random.normal(keys[8], (512, 256))

    def temp_bytes(act):
        def loss(params, x):
            for w in params:
                x = act(x @ w)
            return jnp.mean(x**2)

        def step(params, x):
            grads = jax.grad(loss)(params, x)
            return [w - 0.1 * g for w, g in zip(params, grads, strict=True)]

        compiled = jax.jit(step).lower(params, x).compile()
        return compiled.memory_analysis().temp_size_in_bytes

    assert temp_bytes(sj.sigmoid) == temp_bytes(jax.nn.sigmoid)


def entries(fn, x):
    return [(e.origin, e.note, e.dtype, e.bytes) for e in sj.audit(fn, x).entries]


def test_audit_names_each_kind_of_residual_with_its_dtype_and_bytes():
    x = jnp.linspace(-2.0, 2.0, 8)
    weights = jnp.arange(8.0)
    report = sj.audit(sj.sigmoid, x)
    assert report.framework == "jax" and repr(report).startswith("SavedReport(framework='jax'")
    assert "float32" in str(report)
    assert entries(lambda x: x * 2.0, x) == [("constant", "literal", "float32", 4)]
    assert entries(lambda x: jnp.sin(x * weights), x) == [
        ("constant", "closed-over array", "float32", 32), ("intermediate", "output of cos", "float32", 32)]
    assert entries(sj.sigmoid, x.astype(jnp.float16)) == [("output", "output of logistic", "float16", 16)]


def reduce_precision(v):
    return jax.lax.reduce_precision(v, 8, 23)  # float32's own widths: an identity XLA must keep


def test_audit_reads_a_residual_through_reduce_precision_as_the_value_it_wraps():
    x = jnp.linspace(-2.0, 2.0, 8)
    squared = entries(lambda x: (lambda r: r * r)(reduce_precision(jnp.exp(x))), x)
    assert squared == [("intermediate", "output of exp", "float32", 32)]


def test_audit_counts_a_value_kept_twice_once_and_goes_on_to_the_next():
    # e and reduce_precision(e) are two residuals of e * reduce_precision(e), and one buffer.
    x = jnp.linspace(-2.0, 2.0, 8)
    assert entries(lambda x: (lambda e: e * reduce_precision(e))(jnp.exp(x)), x) == [
        ("intermediate", "output of exp", "float32", 32)]
    kept = entries(lambda x: (lambda e: e * reduce_precision(e) * jnp.sin(x))(jnp.exp(x)), x)
    assert [note for _, note, _, _ in kept] == ["output of exp", "output of cos", "output of sin", "output of mul"]
