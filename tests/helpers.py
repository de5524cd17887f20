"""Comparisons shared by the tests: bit patterns, not tolerances, through the engine `sigact verify` uses."""

from __future__ import annotations

from sigact._parity import bits_and_nans, mismatches


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
