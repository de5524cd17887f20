"""Second derivatives of sigact.jax's activations and the swap against the built-ins: the two rows of
docs/api.md's transform table that are not bitwise everywhere, each asserted as the table states it.

Run as a script to print the measurements the table quotes:
``PYTHONPATH=. python tests/test_jax_second_derivatives.py``.
"""

from pathlib import Path

import numpy as np
import pytest

jax = pytest.importorskip("jax")
import jax.numpy as jnp  # noqa: E402

import sigact.jax as sj  # noqa: E402


def gate_times_tanh(x):
    return jax.nn.sigmoid(x) * jnp.tanh(x)


# name -> (sigact's, the built-in's)
ACTIVATIONS = {
    "sigmoid": (sj.sigmoid, jax.nn.sigmoid),
    "sigmoid_jvp": (sj.sigmoid_jvp, jax.nn.sigmoid),
    "tanh": (sj.tanh, jnp.tanh),
    "swap": (sj.swap(gate_times_tanh), gate_times_tanh),
}
# Where x has another use, the second derivative adds more terms into x's cotangent, and the order shows.
USES = {"alone": lambda act: act, "reused": lambda act: lambda u: act(u) * u}
TRANSFORMS = {
    "reverse over reverse": lambda f: jax.grad(jax.grad(f)),
    "hessian": jax.hessian,  # jacfwd of jacrev: forward over reverse
}
DTYPES = ["float16", "bfloat16", "float32", "float64"]
POINTS = 1001


def second_derivatives(fun, transform, use, dtype, jit):
    with jax.enable_x64(True):
        x = jnp.linspace(-8.0, 8.0, POINTS, dtype=dtype)
        f = jax.vmap(TRANSFORMS[transform](USES[use](fun)))
        return np.asarray((jax.jit(f) if jit else f)(x).astype(jnp.float64)), jnp.finfo(dtype).eps


def measure(name, transform, use, dtype, jit):
    """(entries that differ, largest difference in units of the last place of the largest entry)."""
    ours, eps = second_derivatives(ACTIVATIONS[name][0], transform, use, dtype, jit)
    ref, _ = second_derivatives(ACTIVATIONS[name][1], transform, use, dtype, jit)
    assert np.array_equal(np.isnan(ours), np.isnan(ref))
    ours, ref = np.nan_to_num(ours), np.nan_to_num(ref)
    largest = np.max(np.abs(ref))
    ulp = 2.0 ** np.floor(np.log2(largest)) * float(eps)  # the spacing of dtype's numbers at the largest entry
    return int(np.sum(ours != ref)), float(np.max(np.abs(ours - ref)) / ulp)


# XLA runs float16 natively where the CPU has AVX512-FP16 (Intel Sapphire Rapids and later); elsewhere it computes
# in float32 and rounds once, and eager float16 second derivatives come out bitwise (seen on an AMD EPYC).
NATIVE_FLOAT16 = "avx512_fp16" in (Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else "")


# What docs/api.md's table says, cell by cell: "bitwise", or (share of entries that may differ, bound in ulps of
# the largest entry), where some entries do differ.
def documented(name, transform, use, dtype, jit):
    if transform == "reverse over reverse":
        # The swapped function, σ(x)·tanh(x), already uses x twice.
        return "bitwise" if use == "alone" and name != "swap" else (0.53, 2)
    if name in ("sigmoid", "tanh") or jit or dtype == "bfloat16" or (dtype == "float16" and not NATIVE_FLOAT16):
        return "bitwise"
    if dtype == "float16":  # op by op in native float16: seen on an Intel Xeon, 2026-12-06
        return (0.2, 1)
    return (0.23, 1)  # sigmoid_jvp and the swap, eagerly, in float32 and float64


def cases(dtypes):
    return [pytest.param(name, transform, use, dtype, jit, marks=[pytest.mark.slow] if dtype != "float32" else [],
                         id=f"{name}-{transform}-{use}-{dtype}-{'jit' if jit else 'eager'}")
            for name in ACTIVATIONS for transform in TRANSFORMS for use in USES for dtype in dtypes
            for jit in (False, True)]


# float32 in the quick suite; the other dtypes are slow (about 2 minutes here).
@pytest.mark.parametrize("name,transform,use,dtype,jit", cases(DTYPES))
def test_second_derivatives_are_what_the_api_table_says(name, transform, use, dtype, jit):
    differ, ulps = measure(name, transform, use, dtype, jit)
    claim = documented(name, transform, use, dtype, jit)
    if claim == "bitwise":
        assert differ == 0, (differ, ulps)
    else:
        share, bound = claim
        assert 0 < differ <= share * POINTS and ulps <= bound, (differ, ulps)


if __name__ == "__main__":
    for name in ACTIVATIONS:
        for transform in TRANSFORMS:
            for use in USES:
                for dtype in DTYPES:
                    for jit in (False, True):
                        n, ulps = measure(name, transform, use, dtype, jit)
                        print(f"{name:<12} {transform:<21} {use:<7} {dtype:<9} {'jit' if jit else 'eager':<6} "
                              f"{n:>4} of {POINTS} differ, by at most {ulps:.3g} ulp of the largest", flush=True)
