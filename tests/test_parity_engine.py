"""The parity engine behind `sigact verify`, the report and the tests (sigact.tools.parity), on NumPy alone:
which inputs and upstream gradients it draws, how it counts a chunk's mismatches, and how a run goes
chunk by chunk. A framework's own rows are in test_verify.py."""

import itertools
import time

import numpy as np
import pytest

from sigact.tools import parity
from sigact.tools.parity import Outcome, Row, check, edges, input_chunks, mismatches, run_mode, upstream_gradients

# -- inputs and gradients ------------------------------------------------------------------------------------


def test_edges_hold_zeros_subnormals_infinities_and_nans():
    half = set(edges("float16").tolist())
    assert {0x0000, 0x8000, 0x0001, 0x03FF, 0x0400, 0x7BFF, 0x7C00, 0xFC00, 0x7C01, 0x7FFF} <= half
    assert edges("float32").size == 2 * 256 * 4 and edges("float64").size == 2 * 2048 * 4


@pytest.mark.parametrize("dtype, exponent_bits, mantissa_bits", [("float16", 5, 10), ("bfloat16", 8, 7),
                                                                  ("float32", 8, 23)])
def test_edges_are_exactly_each_exponents_four_extreme_mantissas_with_both_signs(dtype, exponent_bits,
                                                                                   mantissa_bits):
    # Exactly these: "all ones but one" is one below all ones in the same exponent, never a
    # pattern of the next exponent; the patterns come back as the dtype's unsigned integers.
    patterns = edges(dtype)
    width = 1 + exponent_bits + mantissa_bits
    assert patterns.dtype == np.dtype(f"uint{width}") and patterns.size == 2 * 2**exponent_bits * 4
    top = 2**mantissa_bits - 1
    expected = {sign << (width - 1) | exponent << mantissa_bits | mantissa for sign in (0, 1)
                for exponent in range(2**exponent_bits) for mantissa in (0, 1, top - 1, top)}
    assert set(patterns.tolist()) == expected


def test_16_bit_inputs_are_every_pattern_with_several_gradients_each():
    (patterns,) = input_chunks("bfloat16")
    assert np.array_equal(np.unique(patterns), np.arange(2**16))
    assert patterns.size == parity.count("bfloat16", full=False) == 2**16 * parity.GRADIENTS_PER_16_BIT_PATTERN


def test_full_float32_sweep_covers_every_pattern_once_in_chunks():
    chunks = input_chunks("float32", full=True)
    first, second = next(chunks), next(chunks)
    assert first.dtype == second.dtype == np.uint32
    assert first[0] == 0 and first[-1] == parity.CHUNK - 1 and second[0] == parity.CHUNK
    assert parity.count("float32", full=True) == 2**32 == parity.CHUNK * 256


def test_upstream_gradients_mix_normal_one_near_overflow_and_near_subnormal():
    g = upstream_gradients("float32", 4096)
    assert np.any(g == 1.0) and np.any(np.abs(g) > 1e38) and np.any((g != 0) & (np.abs(g) < 1e-37))
    assert np.any((np.abs(g) > 1e-3) & (np.abs(g) < 10) & (g != 1.0))
    assert not np.array_equal(upstream_gradients("float32", 4096, chunk=1), g)


def outcome(expected, actual, known_tail=0):
    x = np.arange(expected.shape[0], dtype=np.float32)
    return Outcome(x, x, (expected, expected), (expected, actual), known_tail=known_tail)


def test_nan_payloads_match_but_nan_against_a_number_does_not():
    expected = np.array([np.nan, 1.0, 2.0], np.float32)
    other_nan = np.array([0x7FC00001, 0x3F800000, 0x7FC00000], np.uint32).view(np.float32)
    row = Row("numpy", "cpu", "float32", "test")
    check(row, outcome(expected, other_nan), 0)
    assert row.backward_mismatches == 1 and row.first_mismatch["index"] == 2
    assert row.first_mismatch["expected"] == "0x40000000" and row.first_mismatch["actual"] == "0x7fc00000"


def test_known_tail_differences_are_counted_apart_and_never_hide_others():
    expected = (np.arange(32, dtype=np.float32) + 1) / 3
    actual = expected.copy()
    actual.view(np.uint32)[-1] += 1  # one ulp, in the tail: known
    row = Row("numpy", "cpu", "float32", "test")
    check(row, outcome(expected, actual, known_tail=7), 0)
    assert (row.backward_mismatches, row.known_differences, row.passed) == (0, 1, True)
    actual.view(np.uint32)[3] += 1  # outside the tail: a mismatch
    actual.view(np.uint32)[-2] += 100  # in the tail, but far more than a few ulps: a mismatch
    row = Row("numpy", "cpu", "float32", "test")
    check(row, outcome(expected, actual, known_tail=7), 0)
    assert (row.backward_mismatches, row.known_differences, row.passed) == (2, 1, False)


@pytest.mark.parametrize("dtype", [np.float32, np.complex64, np.complex128])
def test_a_known_tail_difference_counts_on_either_side_of_the_expected_value(dtype):
    # The tail's few ulps are a distance: a bit pattern below the expected one (a smaller positive
    # value, or a larger negative one) is as near as one above.
    expected = np.linspace(-4.0, 4.0, 8).astype(dtype) * (1 + 1j if np.dtype(dtype).kind == "c" else 1)
    actual = expected.copy()
    raw = actual.view(np.uint32 if np.dtype(dtype).itemsize <= 8 else np.uint64)  # (real, imag) pairs
    per_element = raw.size // expected.size
    raw[-per_element] -= 1  # last element (real part): one pattern below
    raw[-2 * per_element] += parity.KNOWN_ULPS  # second to last: the most the tail allows, above
    raw[-3 * per_element] -= parity.KNOWN_ULPS
    row = Row("numpy", "cpu", np.dtype(dtype).name, "test")
    check(row, outcome(expected, actual, known_tail=4), 0)
    assert (row.backward_mismatches, row.known_differences, row.passed) == (0, 3, True)
    raw[-3 * per_element] -= 1  # one more: beyond the tail's allowance
    row = Row("numpy", "cpu", np.dtype(dtype).name, "test")
    check(row, outcome(expected, actual, known_tail=4), 0)
    assert (row.backward_mismatches, row.known_differences, row.passed) == (1, 2, False)


def test_a_sign_flip_in_complex128_is_a_mismatch_even_in_the_known_tail():
    # 2 and −2 in float64 are 0x4000… and 0xC000…: as a signed int64 difference that overflows to
    # something "within a few ulps", and the row passed.
    expected = np.array([1 + 1j, 2 + 1j], np.complex128)
    actual = np.array([1 + 1j, -2 + 1j], np.complex128)
    row = Row("numpy", "cpu", "complex128", "test")
    check(row, Outcome(expected, expected, (expected, expected), (expected, actual), known_tail=2), 0)
    assert (row.backward_mismatches, row.known_differences, row.passed) == (1, 0, False)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.complex64, np.complex128])
def test_plus_and_minus_zero_differ(dtype):
    # A backward that only flips the sign of zero gradients must not pass: 1/±0 tells them apart.
    zeros = np.array([0.0, 0.0, 1.0], dtype)
    signed = np.array([-0.0, 0.0, 1.0], dtype)
    assert mismatches(signed, zeros).tolist() == [0]
    row = Row("numpy", "cpu", np.dtype(dtype).name, "test")
    check(row, outcome(zeros, signed, known_tail=3), 0)
    assert row.backward_mismatches == 1 and not row.passed


def test_a_row_that_could_not_run_never_passes():
    assert not Row("torch", "cuda", "-", "-", available=False, note="not available").passed
    assert not Row("torch", "cpu", "float32", "sigmoid").passed  # nothing checked



@pytest.mark.slow  # about 15 s here: generates all 2^32 patterns, without checking them
def test_the_full_float32_sweep_yields_every_pattern_exactly_once_in_order():
    # A chunk skipped or repeated anywhere in the middle would pass the first-and-last-chunk tests above.
    start = 0
    for patterns in input_chunks("float32", full=True):
        assert patterns.dtype == np.uint32 and patterns.size == parity.CHUNK
        assert int(patterns[0]) == start and int(patterns[-1]) == start + parity.CHUNK - 1
        series = parity.CHUNK * start + parity.CHUNK * (parity.CHUNK - 1) // 2  # start + (start+1) + ...
        assert int(patterns.sum(dtype=np.uint64)) == series
        start += parity.CHUNK
    assert start == 2**32


# -- how many inputs, and which ----------------------------------------------------------------------


@pytest.mark.parametrize("dtype", parity.DTYPES)
@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("sample", [None, 1000])
def test_count_is_the_number_of_inputs_the_chunks_hold(dtype, full, sample):
    # A progress bar's total and the "inputs checked" line both come from count(); only float32 has a full
    # sweep (the slow test below walks it), every other dtype ignores `full` and comes in one chunk.
    if dtype == "float32" and full:
        assert parity.count(dtype, full, sample) == 2**32
        return
    chunks = list(itertools.islice(input_chunks(dtype, full, sample), 2))
    assert len(chunks) == 1
    assert chunks[0].shape[0] == parity.count(dtype, full, sample)
    if sample and dtype not in ("float16", "bfloat16"):
        edge_count = 0 if dtype in parity.COMPLEX_DTYPES else edges(dtype).size
        assert chunks[0].shape[0] == sample + edge_count


def test_a_float32_check_without_full_is_a_sample_not_the_sweep():
    (patterns,) = input_chunks("float32")
    assert patterns.dtype == np.uint32 and patterns.size == parity.SAMPLE["float32"] + edges("float32").size


@pytest.mark.parametrize("dtype", ["float32", "float64", "complex64"])
def test_the_same_run_draws_the_same_sample_and_another_seed_another(dtype):
    # A mismatch a run reports must come back when it is run again.
    (first,), (again,), (other,) = (input_chunks(dtype, sample=4096, seed=s) for s in (0, 0, 1))
    assert np.array_equal(first, again) and not np.array_equal(first, other)
    assert np.array_equal(first, next(input_chunks(dtype, sample=4096)))  # the default is a fixed seed too


@pytest.mark.parametrize("dtype", ["float32", "float64", "complex64", "complex128"])
def test_the_uniform_sample_reaches_both_signs_and_every_part_of_the_exponent_range(dtype):
    (patterns,) = input_chunks(dtype, sample=1 << 16)
    width = parity._FORMAT[dtype][0]
    uniform = patterns[edges(dtype).size:] if dtype in parity.REAL_DTYPES else patterns[: (1 << 16) // 2]
    top_nibbles = np.bincount((uniform.astype(np.uint64) >> np.uint64(width - 4)).ravel().astype(np.int64),
                              minlength=16)
    expected = uniform.size / 16
    assert np.all(np.abs(top_nibbles - expected) < 0.1 * expected), top_nibbles


@pytest.mark.parametrize("dtype, float_type", [("complex64", np.float32), ("complex128", np.float64)])
def test_half_of_a_complex_sample_is_normal_values_times_eight(dtype, float_type):
    # The uniform patterns are mostly huge, tiny or NaN; the other half is where sigmoid is neither 0 nor 1.
    n = 1 << 16
    (patterns,) = input_chunks(dtype, sample=n)
    values = patterns[n // 2:].view(float_type)
    assert values.shape == (n // 2, 2) and abs(values.std() - 8) < 0.1 and abs(values.mean()) < 0.1


def test_upstream_gradients_of_one_chunk_cannot_be_changed_by_a_mode():
    # The first chunk's draw is cached for the next chunks: a mode writing into it would change theirs.
    gradients = upstream_gradients("float32", 64)
    with pytest.raises(ValueError, match="read-only"):
        gradients[0] = 5.0
    assert upstream_gradients("float32", 64, chunk=3)[0] == gradients[(0 - 3 * 7919) % 64]


# -- counting one chunk ----------------------------------------------------------------------------


def complex_outcome(expected, actual, known_tail=0):
    return Outcome(expected, expected * 2, (expected, expected), (expected, actual), known_tail=known_tail)


def test_a_first_mismatch_names_the_output_input_gradient_and_both_results_with_every_part():
    expected = np.array([1 + 2j, 3 - 4j, 0.5 + 0.25j], np.complex64)
    actual = expected.copy()
    actual.view(np.uint32)[3] += 1  # the imaginary part of element 1, one ulp
    row = Row("numpy", "cpu", "complex64", "test")
    check(row, complex_outcome(expected, actual), offset=100)

    def parts(z):
        return "/".join(f"0x{int(p):08x}" for p in np.array([z.real, z.imag], np.float32).view(np.uint32))

    assert row.first_mismatch == {"index": 101, "output": "backward", "input": parts(expected[1]),
                                  "upstream_gradient": parts(expected[1] * 2), "expected": parts(expected[1]),
                                  "actual": parts(actual[1])}
    assert row.inputs == 3 and row.backward_mismatches == 1


def test_inputs_and_known_differences_add_up_over_chunks():
    expected = (np.arange(8, dtype=np.complex128) + 1j) / 3
    actual = expected.copy()
    actual.view(np.uint64)[-1] += 1  # one ulp in the last element: the known tail
    row = Row("numpy", "cpu", "complex128", "test")
    for offset in (0, 8):
        check(row, complex_outcome(expected, actual, known_tail=2), offset)
    assert (row.inputs, row.known_differences, row.backward_mismatches, row.passed) == (16, 2, 0, True)


def test_the_known_tail_starts_exactly_known_tail_elements_from_the_end():
    expected = (np.arange(1, 9, dtype=np.float32)) / 3
    for index, known in ((8 - 3, True), (8 - 4, False)):
        actual = expected.copy()
        actual.view(np.uint32)[index] += 1
        row = Row("numpy", "cpu", "float32", "test")
        check(row, outcome(expected, actual, known_tail=3), 0)
        assert (row.known_differences, row.backward_mismatches) == ((1, 0) if known else (0, 1))


def test_the_known_tail_forgives_only_the_backward():
    # PyTorch's complex scalar tail is a backward matter: a forward a few ulps off in the same places is a bug.
    expected = (np.arange(1, 9, dtype=np.float32)) / 3
    actual = expected.copy()
    actual.view(np.uint32)[-1] += 1
    x = np.arange(8, dtype=np.float32)
    row = Row("numpy", "cpu", "float32", "test")
    check(row, Outcome(x, x, (expected, actual), (expected, expected), known_tail=4), 0)
    assert (row.forward_mismatches, row.known_differences, row.passed) == (1, 0, False)


@pytest.mark.parametrize("expected_bits, actual_bits, known", [
    (0x3FFFFFFF, 0x40000000, True),   # 1.9999999 against 2: one ulp, across an exponent
    (0x80000000, 0x7FFFFFFF, False),  # -0 against a NaN: patterns one apart, signs not
    (0x80000001, 0x00000001, False),  # the smallest subnormal against its negative
])
def test_within_ulps_is_a_distance_between_patterns_of_the_same_sign(expected_bits, actual_bits, known):
    expected = np.array([1.0, 2.0, 3.0, 4.0], np.float32)
    actual = expected.copy()
    expected.view(np.uint32)[-1], actual.view(np.uint32)[-1] = expected_bits, actual_bits
    assert parity.within_ulps(actual, expected, np.array([3])).tolist() == [known]
    row = Row("numpy", "cpu", "float32", "test")
    check(row, outcome(expected, actual, known_tail=2), 0)
    assert row.known_differences == int(known) and row.backward_mismatches == int(not known)


# -- a run, chunk by chunk ---------------------------------------------------------------------------


class Recorder:
    """A mode that hands back what it was given, with one backward element one ulp off where asked."""

    def __init__(self, wrong_at=None):
        self.calls, self.wrong_at = [], wrong_at

    def __call__(self, patterns, gradients, dtype):
        assert len(self.calls) < 3, "more chunks than any run here has"  # not 256 chunks of 2^24 kept
        self.calls.append((patterns, gradients))
        x = patterns.view(f"f{patterns.itemsize}")
        actual = x.copy()
        if self.wrong_at is not None and self.wrong_at[0] == len(self.calls) - 1:
            actual.view(patterns.dtype)[self.wrong_at[1]] ^= 1
        return Outcome(patterns, gradients, (x, x), (x, actual))


def three_chunks(dtype, full=False, sample=None, seed=0):
    for size in (5, 7, 3):
        yield np.arange(size, dtype=np.uint64) + np.uint64(0x3FF0000000000000)


def test_a_run_pairs_each_chunk_with_its_own_gradients_and_reports_the_overall_index(monkeypatch):
    monkeypatch.setattr(parity, "input_chunks", three_chunks)
    monkeypatch.setattr(parity, "count", lambda dtype, full, sample=None: 15)
    progress = []
    mode = Recorder(wrong_at=(2, 1))
    row = run_mode(Row("numpy", "cpu", "float64", "test"), mode,
                   on_chunk=lambda done, total: progress.append((done, total)))
    assert progress == [(5, 15), (12, 15), (15, 15)]
    for number, (patterns, gradients) in enumerate(mode.calls):
        assert np.array_equal(gradients, upstream_gradients("float64", patterns.shape[0], number))
    assert row.inputs == 15 and row.backward_mismatches == 1 and row.first_mismatch["index"] == 5 + 7 + 1


def test_a_run_checks_the_sample_it_was_asked_for_and_times_itself():
    mode, progress = Recorder(), []
    before = time.perf_counter()
    row = run_mode(Row("numpy", "cpu", "float64", "test"), mode, sample=1000,
                   on_chunk=lambda done, total: progress.append((done, total)))
    elapsed = time.perf_counter() - before
    n = 1000 + edges("float64").size
    assert len(mode.calls) == 1 and progress == [(n, n)] and row.inputs == n and row.passed
    assert 0 < row.seconds <= elapsed


class StopAfterOneChunk(Exception):
    pass


def test_a_full_float32_run_goes_through_the_sweep_and_counts_toward_every_pattern():
    mode, progress = Recorder(), []

    def first_chunk_only(done, total):
        progress.append((done, total))
        raise StopAfterOneChunk

    with pytest.raises(StopAfterOneChunk):
        run_mode(Row("numpy", "cpu", "float32", "test"), mode, full=True, on_chunk=first_chunk_only)
    assert progress == [(parity.CHUNK, 2**32)] and int(mode.calls[0][0][-1]) == parity.CHUNK - 1


def test_a_float32_run_without_full_checks_one_sample():
    mode = Recorder()
    row = run_mode(Row("numpy", "cpu", "float32", "test"), mode, sample=1000)
    assert len(mode.calls) == 1 and row.inputs == 1000 + edges("float32").size


def test_the_reports_check_uses_the_sample_it_is_given():
    mode = Recorder()
    assert parity.cpu_mode_passes("numpy", "float64", "test", mode, sample=1000)
    assert mode.calls[0][0].shape[0] == 1000 + edges("float64").size
