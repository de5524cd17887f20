"""``sigact._bits``: the one rule behind every "bitwise equal" (verify, the plan, the report). Each array
kind a caller hands it (torch tensors of every dtype kind, NumPy arrays, Python lists) is compared by
its bits: a NaN matches a NaN in the same place, whatever its payload, and nothing else is forgiven."""

import numpy as np
import pytest

from sigact._bits import bits_and_nans, mismatches

torch = pytest.importorskip("torch")


def test_a_nan_matches_a_nan_of_another_payload_and_signed_zeros_differ():
    expected = np.array([np.nan, 0.0, 1.0], np.float32)
    actual = expected.copy()
    actual.view(np.uint32)[0] |= 1  # another NaN payload
    assert mismatches(actual, expected).tolist() == []
    actual[1] = -0.0
    assert mismatches(actual, expected).tolist() == [1]
    assert mismatches(torch.from_numpy(actual), torch.from_numpy(expected)).tolist() == [1]


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16, torch.float32])
def test_torch_floats_compare_by_their_own_width_and_see_their_nans(dtype):
    x = torch.tensor([float("nan"), 1.0, -0.0], dtype=dtype)
    bits, nans = bits_and_nans(x)
    assert bits.dtype == np.dtype(f"u{x.element_size()}") and bits.shape == (3,)
    assert nans.tolist() == [True, False, False]
    y = x.clone()
    y[2] = 0.0
    assert mismatches(y, x).tolist() == [2]  # one bit apart: the sign of zero


def test_torch_bfloat16_bits_are_the_tensors_own():
    x = torch.tensor([1.0, -2.0], dtype=torch.bfloat16)
    assert bits_and_nans(x)[0].tolist() == [0x3F80, 0xC000]


@pytest.mark.parametrize("values, dtype", [([True, False], torch.bool), ([3, -1], torch.int32)])
def test_torch_bools_and_integers_have_no_nans_and_compare_by_value(values, dtype):
    x = torch.tensor(values, dtype=dtype)
    bits, nans = bits_and_nans(x)
    assert nans.dtype == np.bool_ and nans.shape == x.shape and not nans.any()
    assert bits.dtype.kind == "u"
    y = x.clone()
    y[1] = y[0]
    assert mismatches(x, x).tolist() == [] and mismatches(y, x).tolist() == [1]


def test_numpy_integers_have_no_nans_and_compare_by_value():
    bits, nans = bits_and_nans(np.array([1, 2], np.int32))
    assert nans.dtype == np.bool_ and not nans.any() and bits.dtype == np.uint32
    assert mismatches(np.array([1, 2]), np.array([1, 3])).tolist() == [1]


def test_numpy_bools_compare_by_value():
    bits, nans = bits_and_nans(np.array([True, False]))
    assert bits.tolist() == [1, 0] and bits.dtype == np.uint8 and not nans.any()


@pytest.mark.parametrize("make", [np.array, torch.tensor], ids=["numpy", "torch"])
def test_complex_elements_differ_when_either_part_does_and_indices_are_per_element(make):
    expected = np.arange(6, dtype=np.complex64).reshape(2, 3) * (1 + 1j)
    actual = expected.copy()
    actual[0, 2] = actual[0, 2].conjugate()  # the imaginary part of one element
    assert bits_and_nans(make(expected))[0].shape == (2, 3, 2)  # (..., real and imaginary)
    assert mismatches(make(actual), make(expected)).tolist() == [2]


def test_arrays_without_a_dtype_compare_as_numpy_does():
    assert mismatches([1.0, 2.0], [1.0, 3.0]).tolist() == [1]


def test_shapes_that_differ_are_an_error_that_names_both():
    with pytest.raises(ValueError, match=r"shapes differ: \(2,\) against \(3,\)"):
        mismatches(np.zeros(2), np.zeros(3))
