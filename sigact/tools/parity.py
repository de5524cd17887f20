"""The parity engine behind ``sigact verify``, the report's correctness checks and the tests.

Framework-neutral and NumPy-only: it chooses the inputs (as bit patterns) and the upstream
gradients, and compares results bit for bit (:mod:`sigact._bits`). A backend
(:mod:`sigact.tools.backend`) turns patterns into its own arrays, runs the built-in and sigact, and
hands back the results (see :class:`Outcome`).

Inputs, per dtype:

* float16, bfloat16: every one of the 65,536 bit patterns, each with 32 upstream gradients;
* float32: all 2^32 patterns with ``full=True``, in chunks of 2^24; otherwise a sample uniform over
  the patterns (so each exponent gets its share) plus every exponent's edges;
* float64: a sample uniform over the patterns, plus every exponent's edges;
* complex64, complex128: a sample whose real and imaginary parts are uniform patterns for one half
  and normal values times 8 for the other.

Edges of an exponent: mantissa 0, 1, all ones and all ones but one, with either sign; that covers
±0, the smallest and largest subnormals and normals, ±inf and NaNs. Upstream gradients mix random
normal values, 1, values near the dtype's overflow and values near its subnormal range, so rounding
order shows. A NaN matches a NaN in the same place whatever its payload; nothing else is forgiven.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from sigact._bits import bits_and_nans, mismatches

REAL_DTYPES = ("float16", "bfloat16", "float32", "float64")
COMPLEX_DTYPES = ("complex64", "complex128")
DTYPES = REAL_DTYPES + COMPLEX_DTYPES

# Width in bits of one real component, and its exponent and mantissa bits.
_FORMAT = {"float16": (16, 5, 10), "bfloat16": (16, 8, 7), "float32": (32, 8, 23), "float64": (64, 11, 52),
           "complex64": (32, 8, 23), "complex128": (64, 11, 52)}
# Largest finite value and smallest normal, as float64.
_RANGE = {"float16": (65504.0, 2.0**-14), "bfloat16": (3.3895313892515355e38, 2.0**-126),
          "float32": (3.4028234663852886e38, 2.0**-126), "float64": (1.7976931348623157e308, 2.0**-1022)}
_RANGE["complex64"], _RANGE["complex128"] = _RANGE["float32"], _RANGE["float64"]

CHUNK = 1 << 24
# Complex samples end in 7 elements past a multiple of 16, so PyTorch's scalar tail is exercised.
SAMPLE = {"float32": 1 << 24, "float64": 1 << 22, "complex64": (1 << 18) + 7, "complex128": (1 << 18) + 7}
GRADIENTS_PER_16_BIT_PATTERN = 32


def uint(dtype: str) -> type:
    return {16: np.uint16, 32: np.uint32, 64: np.uint64}[_FORMAT[dtype][0]]


def edges(dtype: str) -> np.ndarray:
    """Every exponent's extreme mantissas (0, 1, all ones and one less), with both signs."""
    width, exponent_bits, mantissa_bits = _FORMAT[dtype]
    u = uint(dtype)
    exponents = np.arange(2**exponent_bits, dtype=np.uint64) << np.uint64(mantissa_bits)
    top = np.uint64(2**mantissa_bits - 1)
    mantissas = np.array([0, 1, top - np.uint64(1), top], dtype=np.uint64)
    patterns = (exponents[:, None] | mantissas[None, :]).ravel()
    sign = np.uint64(1) << np.uint64(width - 1)
    return np.concatenate([patterns, patterns | sign]).astype(u)


def count(dtype: str, full: bool, sample: int | None = None) -> int:
    """How many (input, upstream gradient) pairs :func:`input_chunks` yields."""
    if dtype in ("float16", "bfloat16"):
        return 2**16 * GRADIENTS_PER_16_BIT_PATTERN
    if dtype == "float32" and full:
        return 2**32
    n = sample or SAMPLE[dtype]
    return n if dtype in COMPLEX_DTYPES else n + edges(dtype).size


def input_chunks(dtype: str, full: bool = False, sample: int | None = None, seed: int = 0) -> Iterator[np.ndarray]:
    """Bit patterns to check, chunk by chunk: unsigned integers of the dtype's width (for complex
    dtypes, shape (n, 2): real and imaginary parts)."""
    u = uint(dtype)
    rng = np.random.default_rng(seed)
    if dtype in ("float16", "bfloat16"):
        yield np.tile(np.arange(2**16, dtype=np.uint32).astype(u), GRADIENTS_PER_16_BIT_PATTERN)
    elif dtype == "float32" and full:
        for start in range(0, 2**32, CHUNK):
            yield np.arange(start, start + CHUNK, dtype=np.uint64).astype(u)
    elif dtype in COMPLEX_DTYPES:
        n = sample or SAMPLE[dtype]
        patterns = rng.integers(0, np.iinfo(u).max, size=(n // 2, 2), dtype=u, endpoint=True)
        float_type = np.float32 if dtype == "complex64" else np.float64
        values: np.ndarray = (rng.standard_normal((n - n // 2, 2)) * 8).astype(float_type).view(u)
        yield np.concatenate([patterns, values])
    else:
        n = sample or SAMPLE[dtype]
        yield np.concatenate([edges(dtype), rng.integers(0, np.iinfo(u).max, size=n, dtype=u, endpoint=True)])


def upstream_gradients(dtype: str, n: int, chunk: int = 0) -> np.ndarray:
    """Upstream gradients as float64 (complex128 for complex dtypes), for the framework to round to
    ``dtype``: a quarter each of normal values, 1, ±(a quarter of the maximum to the maximum) and
    ±(half the smallest normal to four times it). Each chunk pairs its inputs with a rotation of
    the same draw: drawing afresh would cost more than the check."""
    base = _gradient_draw(dtype, n)
    return np.roll(base, chunk * 7919) if chunk else base


@functools.lru_cache(maxsize=2)
def _gradient_draw(dtype: str, n: int) -> np.ndarray:
    rng = np.random.default_rng(1)
    largest, tiny = _RANGE[dtype]

    def part() -> np.ndarray:
        kind = rng.integers(0, 4, size=n)
        sign = np.where(rng.random(n) < 0.5, -1.0, 1.0)
        return np.select([kind == 0, kind == 1, kind == 2],
                         [rng.standard_normal(n), np.ones(n), sign * largest * rng.uniform(0.25, 1.0, n)],
                         sign * tiny * rng.uniform(0.5, 4.0, n))

    draw = part() + 1j * part() if dtype in COMPLEX_DTYPES else part()
    draw.flags.writeable = False
    return draw


# -- bits -------------------------------------------------------------------------------------


KNOWN_ULPS = 4


def within_ulps(actual: Any, expected: Any, index: np.ndarray, ulps: int = KNOWN_ULPS) -> np.ndarray:
    """For each flat index: do the two differ by at most ``ulps`` units in the last place in every
    component (same sign, bit patterns at most ``ulps`` apart)?

    Computed on the unsigned patterns, never as signed differences: 2 and −2 in float64 are
    0x4000… and 0xC000…, whose difference as int64 overflows to a "small" number.
    """
    (a, _), (e, _) = bits_and_nans(actual), bits_and_nans(expected)
    a, e = a.reshape(a.shape[0], -1)[index], e.reshape(e.shape[0], -1)[index]
    sign = a.dtype.type(1) << a.dtype.type(8 * a.dtype.itemsize - 1)
    same_sign = (a & sign) == (e & sign)
    distance = np.where(a >= e, a - e, e - a)
    return np.all(same_sign & (distance <= ulps), axis=-1)


def hex_bits(array: Any, index: int) -> str:
    raw, _ = bits_and_nans(array)
    width = raw.dtype.itemsize * 2
    parts = np.atleast_1d(raw.reshape(raw.shape[0], -1)[index])
    return "/".join(f"0x{int(p):0{width}x}" for p in parts)


# -- one row of the proof ------------------------------------------------------------------------


@dataclass
class Outcome:
    """What a framework hands back for one chunk: the inputs and upstream gradients it used (in the
    dtype), and forward and backward (or tangent) results, expected (built-in) and actual (sigact)."""

    inputs: Any
    gradients: Any
    forward: tuple[Any, Any]
    backward: tuple[Any, Any]
    # How many last backward elements may differ by a few ulps (KNOWN_ULPS) by a documented cause
    # (PyTorch's complex scalar tail): counted apart, never as a pass when anything else differs.
    known_tail: int = 0


@dataclass
class Row:
    framework: str
    device: str
    dtype: str
    mode: str
    inputs: int = 0
    forward_mismatches: int = 0
    backward_mismatches: int = 0
    known_differences: int = 0
    seconds: float = 0.0
    first_mismatch: dict[str, Any] | None = None
    available: bool = True
    note: str = ""

    @property
    def passed(self) -> bool:
        """Checked, and nothing differs: a row that could not run (a missing device or framework)
        has proved nothing, so it never passes."""
        return self.available and self.inputs > 0 and self.forward_mismatches == 0 and self.backward_mismatches == 0

    def as_json(self) -> dict[str, Any]:
        keys = ("framework", "device", "dtype", "mode", "inputs", "forward_mismatches", "backward_mismatches",
                "known_differences", "seconds", "first_mismatch", "available", "note")
        return {k: getattr(self, k) for k in keys}


def check(row: Row, outcome: Outcome, offset: int) -> None:
    """Add one chunk's counts to ``row``, and its first mismatch if the row has none yet."""
    row.inputs += int(np.prod(bits_and_nans(outcome.inputs)[0].shape[:1]))
    for which, (expected, actual) in (("forward", outcome.forward), ("backward", outcome.backward)):
        bad = mismatches(actual, expected)
        if which == "backward" and outcome.known_tail and bad.size:
            n = bits_and_nans(expected)[0].shape[0]
            known = (bad >= n - outcome.known_tail) & within_ulps(actual, expected, bad)
            row.known_differences += int(known.sum())
            bad = bad[~known]
        setattr(row, f"{which}_mismatches", getattr(row, f"{which}_mismatches") + int(bad.size))
        if bad.size and row.first_mismatch is None:
            i = int(bad[0])
            row.first_mismatch = {"index": offset + i, "output": which, "input": hex_bits(outcome.inputs, i),
                                  "upstream_gradient": hex_bits(outcome.gradients, i),
                                  "expected": hex_bits(expected, i), "actual": hex_bits(actual, i)}


Mode = Callable[[np.ndarray, np.ndarray, str], Outcome]


def run_mode(row: Row, mode: Mode, *, full: bool = False, sample: int | None = None,
             on_chunk: Callable[[int, int], None] = lambda done, total: None) -> Row:
    """Check ``mode`` over every chunk of ``row.dtype``'s inputs, filling in ``row``."""
    start = time.perf_counter()
    total = count(row.dtype, full, sample)
    offset = 0
    for chunk_number, patterns in enumerate(input_chunks(row.dtype, full, sample)):
        outcome = mode(patterns, upstream_gradients(row.dtype, patterns.shape[0], chunk_number), row.dtype)
        check(row, outcome, offset)
        offset += patterns.shape[0]
        on_chunk(offset, total)
    row.seconds = time.perf_counter() - start
    return row


# The report's correctness sample: 2^21 inputs, enough for every float32 exponent's edges and a
# uniform sample.
CPU_SAMPLE = 1 << 21


def cpu_mode_passes(framework: str, dtype: str, name: str, mode: Mode, sample: int = CPU_SAMPLE) -> bool:
    """One of ``sigact verify``'s modes, ``name`` run by ``mode``, equals the built-in bit for bit on the CPU:
    every 16-bit pattern, or ``sample`` float32/float64 inputs with every exponent's edges."""
    return run_mode(Row(framework, "cpu", dtype, name), mode, sample=sample).passed
