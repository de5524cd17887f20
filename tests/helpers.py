"""Comparisons shared by the tests: bit patterns, not tolerances, through the engine `sigact verify` uses."""

from __future__ import annotations

from sigact._bits import bits_and_nans, mismatches


def bits(array):
    """The raw bit pattern of a torch tensor or JAX/NumPy array, NaN payloads included."""
    return bits_and_nans(array)[0]


def assert_bitwise(actual, expected) -> None:
    """Same dtype, same shape, and every element has the same bits.

    A NaN matches any NaN in the same place: neither framework keeps NaN sign or payload stable
    between its own kernels (the bfloat16 casts, for one, write different NaN patterns).
    """
    assert actual.dtype == expected.dtype, (actual.dtype, expected.dtype)
    assert tuple(actual.shape) == tuple(expected.shape), (actual.shape, expected.shape)
    nan_a, nan_e = bits_and_nans(actual)[1], bits_and_nans(expected)[1]
    assert (nan_a == nan_e).all(), "NaN in different places"
    differ = mismatches(actual, expected)
    assert differ.size == 0, f"{differ.size} elements differ, first at flat index {differ[:5]}"


# Values where a sigmoid's rounding, saturation or special cases show: signed zeros, a subnormal,
# the float32 and float64 saturation thresholds and beyond, infinities and NaN.
EXTREMES = [0.0, -0.0, 1e-30, 1e-45, -1e4, 1e4, 8.3, 16.6, -88.7, 88.7, -745.2, 709.8,
            float("inf"), float("-inf"), float("nan")]


def assert_trees_bitwise(a, b) -> None:
    """:func:`assert_bitwise` on every leaf of two JAX pytrees of the same structure."""
    import jax

    assert jax.tree.structure(a) == jax.tree.structure(b)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        assert_bitwise(x, y)
