"""What autograd keeps for backward, as a framework-free report shared by both audits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

ORIGINS = ("argument", "parameter", "output", "intermediate", "constant")


def human_bytes(n: int) -> str:
    """Bytes in binary units: ``human_bytes(1536) == '1.5 KiB'``."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class SavedEntry:
    """One tensor (PyTorch) or residual (JAX) kept for the backward pass.

    ``storage`` identifies the memory behind it: entries with the same ``storage`` share bytes, and
    ``SavedReport.total_bytes`` counts them once. ``storage_bytes`` is the size of that memory, which
    is larger than ``bytes`` when the entry is a view into a bigger buffer.
    """

    shape: tuple[int, ...]
    dtype: str
    bytes: int
    origin: str
    storage: object
    storage_bytes: int
    note: str = ""

    def __post_init__(self) -> None:
        if self.origin not in ORIGINS:
            raise ValueError(f"origin must be one of {ORIGINS}, got {self.origin!r}")


@dataclass(frozen=True)
class SavedReport:
    """The entries one call keeps for backward, and their total with shared memory counted once."""

    framework: str
    entries: Sequence[SavedEntry] = field(default_factory=tuple)

    @property
    def total_bytes(self) -> int:
        sizes: dict[object, int] = {}
        for entry in self.entries:
            sizes[entry.storage] = max(sizes.get(entry.storage, 0), entry.storage_bytes)
        return sum(sizes.values())

    def bytes_by_origin(self, origin: str) -> int:
        """Bytes kept from one origin, shared memory counted once."""
        return SavedReport(self.framework, [e for e in self.entries if e.origin == origin]).total_bytes

    def __len__(self) -> int:
        return len(self.entries)

    def __str__(self) -> str:
        header = ("#", "shape", "dtype", "bytes", "origin", "shared with")
        first_seen: dict[object, int] = {}
        rows = []
        for i, e in enumerate(self.entries):
            shared = first_seen.setdefault(e.storage, i)
            rows.append(
                (
                    str(i),
                    "(" + ", ".join(map(str, e.shape)) + ("," if len(e.shape) == 1 else "") + ")",
                    e.dtype,
                    human_bytes(e.bytes),
                    e.origin + (f" ({e.note})" if e.note else ""),
                    "" if shared == i else f"#{shared}",
                )
            )
        widths = [max(len(r[c]) for r in [header, *rows]) for c in range(len(header))]
        lines = [f"{self.framework}: {len(self.entries)} kept for backward"]
        lines += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
                  for row in [header, *rows]]
        lines.append(f"total: {human_bytes(self.total_bytes)} ({self.total_bytes} bytes, shared memory once)")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"SavedReport(framework={self.framework!r}, entries={len(self.entries)}, "
                f"total_bytes={self.total_bytes})")
