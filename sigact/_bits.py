"""Bit-for-bit comparison of arrays from any framework: the rule behind every "bitwise equal" in sigact.

A leaf that imports no framework at module level (torch only inside :func:`bits_and_nans`, for a tensor it
is handed): the parity engine of ``sigact verify`` and the library's own checks share it. A NaN matches a NaN
in the same place whatever its payload; nothing else is forgiven, +0 against −0 included.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def bits_and_nans(array: Any) -> tuple[np.ndarray, np.ndarray]:
    """The raw bits of a torch tensor or a JAX or NumPy array (complex: shape (..., 2)), and where
    its NaNs are."""
    if hasattr(array, "detach"):  # torch
        import torch

        t = array.detach().cpu()
        t = torch.view_as_real(t) if t.is_complex() else t
        nans = t.isnan().numpy() if t.is_floating_point() else np.zeros(t.shape, bool)
        t = t.contiguous()
        raw = t.view(torch.int16).numpy().view(np.uint16) if t.dtype == torch.bfloat16 else t.numpy()
        return raw.view(f"u{raw.dtype.itemsize}") if raw.dtype.kind != "b" else raw.astype(np.uint8), nans
    a = np.asarray(array)
    if a.dtype.kind == "c":
        a = np.stack([a.real, a.imag], axis=-1)
    with np.errstate(invalid="ignore"):
        nans = np.isnan(a) if a.dtype.kind in "fV" else np.zeros(a.shape, bool)
    a = np.ascontiguousarray(a)
    return (a.view(f"u{a.dtype.itemsize}") if a.dtype.kind != "b" else a.astype(np.uint8)), nans


def mismatches(actual: Any, expected: Any) -> np.ndarray:
    """Flat indices of the elements whose bits differ (NaN against NaN never differs)."""
    (a, nan_a), (e, nan_e) = bits_and_nans(actual), bits_and_nans(expected)
    if a.shape != e.shape:
        raise ValueError(f"shapes differ: {a.shape} against {e.shape}")
    differ = (a != e) & ~(nan_a & nan_e)
    if "complex" in str(getattr(actual, "dtype", "")):  # (..., 2): an element differs if a part does
        differ = differ.any(axis=-1)
    return np.flatnonzero(differ)
