"""``largest``: for each candidate of the plan, the largest size whose compiled gradient fits a byte
budget, by compiling alone: nothing is allocated or run, so nothing can run out of memory."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import jax

from sigact._saved import human_bytes
from sigact.jax._plan import DEFAULT_POLICIES, Policy, candidates, compile_step, memory
from sigact.jax._remat import policy_name

_LIMIT = 2**40  # doubling past this means the memory does not grow with n


class Fits(dict[str, int | None]):
    """``{candidate: the largest n that fits}`` (None: not even ``lo``), with how it was found.

    Attributes:
        compilations: ``{candidate: compilations it took}``.
        budget_bytes: the budget.
        temp_only: whether the budget counted XLA temp memory alone (else temp, arguments and outputs).
    """

    def __init__(self, sizes: dict[str, int | None], compilations: dict[str, int], budget_bytes: int,
                 temp_only: bool) -> None:
        super().__init__(sizes)
        self.compilations, self.budget_bytes, self.temp_only = compilations, budget_bytes, temp_only

    def __str__(self) -> str:
        what = "temp memory" if self.temp_only else "temp + argument + output memory"
        width = max(len(name) for name in self)
        base = self.get("builtin")
        lines = [f"largest n within {human_bytes(self.budget_bytes)} of {what} "
                 f"({sum(self.compilations.values())} compilations):"]
        for name, n in self.items():
            ratio = f"  {n / base:.2f}x the built-in's" if n and base and name != "builtin" else ""
            lines.append(f"  {name.ljust(width)}  {'nothing fits' if n is None else n:>12}{ratio}  "
                         f"({self.compilations[name]} compilations)")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)


def _select(fun: Callable[..., Any], names: Sequence[str] | None,
            policies: Iterable[Policy] | None) -> dict[str, Callable[..., Any]]:
    if names is None:
        return candidates(fun, policies)
    wanted = list(policies) if policies is not None else list(DEFAULT_POLICIES)
    for name in names:  # a policy a name asks for is tried even when policies= leaves it out
        found = re.fullmatch(r"(?:swap \+ )?remat_scans\((\w+)\)", name)
        if found and found[1] not in [policy_name(p) for p in wanted]:
            wanted.append(found[1])
    every = candidates(fun, wanted)
    unknown = [name for name in names if name not in every]
    if unknown:
        raise ValueError(f"unknown candidates {unknown}; the candidates are {list(every)}")
    return {name: every[name] for name in names}


def largest(make_args: Callable[[int], Sequence[Any]], fun: Callable[..., Any], budget_bytes: int, *,
            lo: int = 1, hi: int | None = None, candidates: Sequence[str] | None = None, temp_only: bool = False,
            policies: Iterable[Policy] | None = None, argnums: int | Sequence[int] = 0) -> Fits:
    r"""For each candidate of :func:`~sigact.jax.plan`, the largest n whose gradient step fits ``budget_bytes``.

    n is whatever ``make_args(n)`` grows: a batch size, a sequence length. For each candidate the
    step ``jax.jit(jax.grad(candidate, argnums))`` is compiled on the shapes of ``make_args(n)``
    (traced by ``jax.eval_shape``: nothing is allocated, and nothing runs) and its memory read from
    ``memory_analysis()``: temp, argument and output bytes, what the device must hold, or temp bytes
    alone with ``temp_only``. The search doubles n from ``lo`` until a size does not fit (or ``hi``),
    then bisects: about 2·log2(n) compilations per candidate. It assumes memory grows with n.

    Args:
        make_args: ``n -> the tuple of fun's positional arguments``.
        fun: a function returning a real scalar (a loss).
        budget_bytes: the budget, in bytes.
        lo: the least n tried.
        hi: the largest n tried (none: no bound).
        candidates: the candidates to size, by the plan's names (e.g. ``["builtin", "swap",
            "remat_scans(nothing_saveable)"]``); by default all of them.
        temp_only: count XLA temp memory alone.
        policies: the policies of the default candidates, as for :func:`~sigact.jax.plan`.
        argnums: which arguments to differentiate.

    Returns:
        A dict ``{candidate: largest n}`` (None where not even ``lo`` fits) whose ``compilations``
        attribute says how many compilations each took; printed, a table.

    Raises:
        ValueError: if ``budget_bytes`` is not positive, ``lo < 1``, ``hi < lo``, a candidate or policy is
            unknown, memory does not grow with n, or the backend does not measure memory.
        Exception: whatever ``make_args(n)`` or the compilation raised, with a note naming n.

    Examples:
        The longest sequence a gated recurrence can take within 64 KiB of temp memory:

        >>> import jax, jax.numpy as jnp, sigact.jax as sj
        >>> def loss(c, xs):
        ...     step = lambda c, x: (jnp.tanh(jax.nn.sigmoid(x) * c + x), None)
        ...     return jax.lax.scan(step, c, xs)[0].sum()
        >>> make = lambda n: (jnp.zeros(256), jnp.ones((n, 256)))
        >>> fits = sj.largest(make, loss, 64 * 1024, temp_only=True,
        ...                   candidates=["builtin", "swap", "remat_scans(nothing_saveable)"])
        >>> fits["builtin"] < fits["swap"] < fits["remat_scans(nothing_saveable)"]
        True
    """
    if isinstance(budget_bytes, bool) or not isinstance(budget_bytes, int) or budget_bytes <= 0:
        raise ValueError(f"budget_bytes must be a positive number of bytes, got {budget_bytes!r}")
    if isinstance(lo, bool) or not isinstance(lo, int) or lo < 1:
        raise ValueError(f"lo must be an int >= 1, got {lo!r}")
    if hi is not None and (isinstance(hi, bool) or not isinstance(hi, int) or hi < lo):
        raise ValueError(f"hi must be an int >= lo ({lo}), got {hi!r}")
    chosen = _select(fun, candidates, policies)
    shapes: dict[int, Any] = {}
    known: dict[tuple[int, str], int] = {}

    def args_at(n: int) -> Any:
        if n not in shapes:
            try:
                made = jax.eval_shape(lambda: make_args(n))
            except Exception as error:
                error.add_note(f"(raised by make_args({n}), called by sigact.jax.largest)")
                raise
            shapes[n] = tuple(made) if isinstance(made, (tuple, list)) else (made,)
        return shapes[n]

    def size(candidate: Callable[..., Any], n: int) -> tuple[int, bool]:
        """The bytes the budget counts at n, and whether a compilation was needed to know."""
        key = (id(candidate), str(args_at(n)))  # sizes whose shapes are the same need no new compilation
        if key in known:
            return known[key], False
        try:
            compiled = compile_step(candidate, args_at(n), argnums)
        except Exception as error:
            if not any("make_args" in note for note in getattr(error, "__notes__", [])):
                error.add_note(f"(compiling the gradient at n={n}, in sigact.jax.largest)")
            raise
        temp, argument, output = memory(compiled)
        if temp is None or (not temp_only and (argument is None or output is None)):
            raise ValueError(f"this backend ({jax.default_backend()}) does not report the compiled step's memory "
                             "(memory_analysis), so no budget can be checked")
        known[key] = temp if temp_only else temp + (argument or 0) + (output or 0)
        return known[key], True

    sizes: dict[str, int | None] = {}
    counts: dict[str, int] = {}
    for name, candidate in chosen.items():
        count = 0

        def fits(n: int, candidate: Callable[..., Any] = candidate) -> bool:
            nonlocal count
            used, compiled = size(candidate, n)
            count += compiled
            return used <= budget_bytes

        if not fits(lo):
            sizes[name], counts[name] = None, count
            continue
        good, bad = lo, None
        while bad is None and good != hi:
            n = good * 2 if hi is None else min(good * 2, hi)
            if n > _LIMIT:
                raise ValueError(f"{name} fits the budget at n={good}: its memory does not seem to grow with n "
                                 "(does make_args use it?); pass hi= to bound the search")
            if fits(n):
                good = n
            else:
                bad = n
        while bad is not None and bad - good > 1:
            mid = (good + bad) // 2
            good, bad = (mid, bad) if fits(mid) else (good, mid)
        sizes[name], counts[name] = good, count
    return Fits(sizes, counts, budget_bytes, temp_only)
