"""Run under TRITON_INTERPRET=1 by tests/test_torch_triton.py: the CUDA kernel's arithmetic on the CPU.

Prints one line per check, "ok <name>" or "FAIL <name>: <detail>", and exits 1 on any failure.
"""

import contextlib
import os
import sys

assert os.environ.get("TRITON_INTERPRET") == "1", "run with TRITON_INTERPRET=1"

import torch  # noqa: E402
import triton  # noqa: E402
import triton.language as tl  # noqa: E402
from triton.runtime import interpreter  # noqa: E402

from sigact._bits import mismatches  # noqa: E402
from sigact.torch import _triton  # noqa: E402


def cuda_rule(grad, y):
    """aten::sigmoid_backward on CUDA: (g · (1 − y)) · y, in float32 for the half types."""
    if y.dtype in (torch.float16, torch.bfloat16):
        return (grad.float() * (1 - y.float()) * y.float()).to(y.dtype)
    return grad * (1 - y) * y


def same(a, b):
    """Bit for bit (+0 and -0 differ), NaN matching NaN whatever its payload: sigact._bits's rule."""
    return a.dtype == b.dtype and a.shape == b.shape and mismatches(a, b).size == 0


def report(ok, name, detail=""):
    global failures
    failures += not ok
    print(f"ok {name}" if ok else f"FAIL {name}: {detail}")


# (width, mantissa bits) of each dtype the kernel takes
FORMATS = {torch.float16: (16, 10), torch.bfloat16: (16, 7), torch.float32: (32, 23), torch.float64: (64, 52)}
SIGNED = {16: torch.int16, 32: torch.int32, 64: torch.int64}


def from_bits(patterns, dtype):
    width = FORMATS[dtype][0]
    signed = [p - (1 << width) if p >> (width - 1) else p for p in patterns]
    return torch.tensor(signed, dtype=SIGNED[width]).view(dtype)


def nan_patterns(dtype):
    """NaNs of both signs, quiet and signalling, with few and all payload bits: in float32 these
    include CUDA's canonical NaN 0x7FFFFFFF, numpy's 0x7FC00000 and x86's 0xFFC00000."""
    width, mantissa = FORMATS[dtype]
    exponent = ((1 << (width - 1)) - 1) ^ ((1 << mantissa) - 1)
    quiet = 1 << (mantissa - 1)
    payloads = (quiet, (1 << mantissa) - 1, quiet | 1, 1, quiet >> 1)  # the last two: signalling
    return [sign | exponent | payload for sign in (0, 1 << (width - 1)) for payload in payloads]


@triton.jit
def _to_bfloat16_probe(x_ptr, out_ptr, n, BLOCK: tl.constexpr):
    offsets = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offsets < n
    tl.store(out_ptr + offsets, _triton._round_to_bfloat16(tl.load(x_ptr + offsets, mask=mask)), mask=mask)


@triton.jit
def _offsets_probe(out_ptr, BLOCK: tl.constexpr):
    tl.store(out_ptr + tl.arange(0, BLOCK), _triton._block_offsets(BLOCK))


@contextlib.contextmanager
def only_programs(*program_ids):
    """A launch on the grid (len(program_ids),) runs exactly these program ids. The interpreter runs
    a grid one program at a time and names each through set_grid_idx, which this redirects."""
    builder = interpreter.interpreter_builder
    builder.set_grid_idx = lambda x, y, z: setattr(builder, "grid_idx", (program_ids[x], y, z))
    try:
        yield
    finally:
        del builder.set_grid_idx


failures = 0
g = torch.Generator().manual_seed(0)
for dtype in _triton.DTYPES:
    for n in (1, 7, _triton.BLOCK, _triton.BLOCK * 3 + 5):
        x = (torch.randn(n, generator=g, dtype=torch.float64) * 8).to(dtype)
        grad = torch.randn(n, generator=g, dtype=torch.float64).to(dtype)
        if n > 6:
            x[:6] = torch.tensor([0.0, 1e4, -1e4, float("inf"), -float("inf"), float("nan")]).to(dtype)
            grad[6] = float("inf")
            grad[1:3] = -grad[1:3].abs()  # y = 1 and y = 0 with a negative gradient: -0 against +0
        y = torch.sigmoid(x)
        ok = _triton.applies(grad, y) and same(_triton.sigmoid_grad(grad, y), cuda_rule(grad, y))
        failures += not ok
        print(f"{'ok' if ok else 'FAIL'} {dtype} n={n}")

y = torch.rand(4, 6)
refused = {
    "transposed": (y.t(), torch.rand(6, 4)),
    "expanded grad": (y, torch.ones(()).expand(4, 6)),
    "dtype mismatch": (y, torch.rand(4, 6, dtype=torch.float64)),
    "complex": (y.to(torch.complex64), y.to(torch.complex64)),
    "empty": (torch.rand(0), torch.rand(0)),
}
for name, (yy, gg) in refused.items():
    ok = not _triton.applies(gg, yy)
    failures += not ok
    print(f"{'ok' if ok else 'FAIL'} refuses {name}")

# NaN in y, in grad and in both, every payload of nan_patterns, next to ordinary values.
for dtype in _triton.DTYPES:
    nans = from_bits(nan_patterns(dtype), dtype)
    numbers = torch.tensor([0.0, 1.0, 0.5, -2.0, 1e-3, 0.25, -0.0, 3.0, 0.75, 1e4], dtype=dtype)
    grad = torch.cat([numbers, nans, nans])
    y = torch.cat([nans, numbers, nans.flip(0)])
    result = _triton.sigmoid_grad(grad, y)
    report(same(result, cuda_rule(grad, y)) and bool(result.isnan().all()), f"{dtype} NaN payloads in y and grad",
           f"{result.view(SIGNED[FORMATS[dtype][0]]).tolist()}")

# The float32 -> bfloat16 rounding on what the CUDA kernel hands it: every upper half of a float32
# with the low halves that round down, to even and up, and so every NaN payload class, CUDA's
# canonical 0x7FFFFFFF among them (the interpreter's own arithmetic never makes that NaN).
upper = torch.arange(1 << 16, dtype=torch.int64) << 16
low = torch.tensor([0, 1, 0x7FFF, 0x8000, 0x8001, 0xFFFF], dtype=torch.int64)
bits = (upper[:, None] | low).flatten()
x = (bits - ((bits >> 31) << 32)).to(torch.int32).view(torch.float32)
rounded = torch.empty(x.shape, dtype=torch.bfloat16)
_to_bfloat16_probe[(triton.cdiv(x.numel(), 4096),)](x, rounded, x.numel(), BLOCK=4096)
wrong = mismatches(rounded, x.to(torch.bfloat16))
canonical = rounded[(bits == 0x7FFFFFFF).nonzero().item()]
report(bool(canonical.isnan()), "CUDA's canonical NaN 0x7FFFFFFF stays NaN in bfloat16",
       f"became {canonical.view(torch.int16).item() & 0xFFFF:#06x} ({canonical.item()})")
first = wrong[0] if wrong.size else 0
report(wrong.size == 0, "float32 -> bfloat16 rounding, NaN payloads included",
       f"{wrong.size} wrong, first {int(bits[first]):#010x} -> {rounded[first].view(torch.int16).item() & 0xFFFF:#06x}")

# Offsets past 2^31 elements: the kernel's own offset computation, for chosen program ids of a
# launch too large to run whole here.
block = _triton.BLOCK
at_2_31 = (1 << 31) // block
offsets_ok = True
for program in (at_2_31 - 1, at_2_31, (1 << 32) // block + 7):
    offsets = torch.empty(block, dtype=torch.int64)
    with only_programs(program):
        _offsets_probe[(1,)](offsets, BLOCK=block)
    expected = torch.arange(program * block, (program + 1) * block)
    offsets_ok &= torch.equal(offsets, expected)
    report(torch.equal(offsets, expected), f"offsets of program {program}",
           f"from {offsets[0].item()} to {offsets[-1].item()}, expected {expected[0].item()} to {expected[-1].item()}")

# The kernel itself over 2^31 + block + 5 float16 elements: three 4 GiB tensors, of which only the
# pages of the last three programs' elements are ever touched (Linux maps the rest lazily). Skipped
# when the offsets are wrong: the kernel would then write 4 GiB before the output.
if offsets_ok:
    n = (1 << 31) + block + 5
    grad, y, out = (torch.empty(n, dtype=torch.float16) for _ in range(3))
    start = (at_2_31 - 1) * block
    grad[start:] = torch.randn(n - start, generator=g).to(torch.float16)
    y[start:] = torch.rand(n - start, generator=g).to(torch.float16)
    out[start:] = float("nan")
    with only_programs(at_2_31 - 1, at_2_31, triton.cdiv(n, block) - 1):
        _triton._launch(grad, y, out, programs=3)
    report(same(out[start:], cuda_rule(grad[start:], y[start:])), "float16 kernel around element 2^31",
           f"{mismatches(out[start:], cuda_rule(grad[start:], y[start:])).size} elements differ")
else:
    report(False, "float16 kernel around element 2^31", "not run: the offsets are wrong")
sys.exit(1 if failures else 0)
