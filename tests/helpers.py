"""Comparisons shared by the tests: bit patterns, not tolerances."""

from __future__ import annotations

import numpy as np


def bits(array) -> np.ndarray:
    """The raw bit pattern of a torch tensor or JAX/NumPy array, NaN payloads included."""
    if hasattr(array, "detach"):  # torch
        import torch

        t = array.detach().cpu()
        if t.is_complex():
            t = torch.view_as_real(t)
        if t.dtype == torch.bfloat16:
            return t.contiguous().view(torch.int16).numpy()
        return t.contiguous().numpy().view(f"u{t.element_size()}")
    a = np.asarray(array)
    if a.dtype.kind == "c":
        a = np.stack([a.real, a.imag], axis=-1)
    return np.ascontiguousarray(a).view(f"u{a.dtype.itemsize}")


def _nan_mask(array) -> np.ndarray:
    if hasattr(array, "detach"):
        import torch

        t = array.detach().cpu()
        t = torch.view_as_real(t) if t.is_complex() else t
        return t.isnan().contiguous().numpy() if t.is_floating_point() else np.zeros(t.shape, bool)
    a = np.asarray(array)
    a = np.stack([a.real, a.imag], axis=-1) if a.dtype.kind == "c" else a
    return np.isnan(a.astype(np.float32)) if a.dtype.kind in "fV" else np.zeros(a.shape, bool)


def assert_bitwise(actual, expected) -> None:
    """Same dtype, same shape, and every element has the same bits.

    A NaN matches any NaN in the same place: neither framework keeps NaN sign or payload stable
    between its own kernels (the bfloat16 casts, for one, write different NaN patterns).
    """
    assert actual.dtype == expected.dtype, (actual.dtype, expected.dtype)
    assert tuple(actual.shape) == tuple(expected.shape), (actual.shape, expected.shape)
    a, e = bits(actual), bits(expected)
    nan_a, nan_e = _nan_mask(actual), _nan_mask(expected)
    assert np.array_equal(nan_a, nan_e), "NaN in different places"
    mismatches = np.flatnonzero((a != e) & ~nan_a)
    assert mismatches.size == 0, f"{mismatches.size} elements differ, first at flat index {mismatches[:5]}"
