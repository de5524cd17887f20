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
# A guess goes at most this many times past the largest size known to fit: a guess that fails then leaves
# a bracket that log2(16) = 4 more halvings undo, however wrong the line was.
_REACH = 16


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
    alone with ``temp_only``. It assumes memory grows with n. The search guesses where memory that
    grows linearly in n would cross the budget and checks the guess, alternating with doubling (then
    bisection) so that memory that is not linear is found too: five compilations per candidate where
    memory is linear in n and the answer within 32·``lo``, at most about 4·log2(n) where it is not.

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

        def used(n: int, candidate: Callable[..., Any] = candidate) -> int:
            nonlocal count
            bytes_, compiled = size(candidate, n)
            count += compiled
            return bytes_

        sizes[name], counts[name] = search(used, budget_bytes, lo, hi, name)[0], count
    return Fits(sizes, counts, budget_bytes, temp_only)


def search(used: Callable[[int], int], budget: int, lo: int, hi: int | None,
           name: str = "fun") -> tuple[int | None, list[int]]:
    """The largest n in ``[lo, hi]`` with ``used(n) <= budget`` (None: not even ``lo``), and the sizes
    probed, in order, for ``used`` non-decreasing in n.

    Each probe costs a compilation, so probes alternate between a guess and a safe step. The guess is
    where memory that grows linearly would cross the budget, drawn through the two nearest sizes
    measured (``good + (budget - used(good)) * (n2 - n1) // (used(n2) - used(n1))``, at least
    ``good + 1``, at most 16·``good`` while no size has failed). Where memory is linear in n, as a batch
    or sequence length usually makes it, a guess is the answer and the next one confirms it: five probes
    where the answer is within 32·``lo``, two more for each further 32-fold. The safe
    step doubles ``good`` while no size has failed, then halves the bracket, so memory that is not linear
    costs at most about twice the probes of doubling and bisection alone, and four halvings more.

    >>> search(lambda n: 1000 + 256 * n, 64 * 1024, 1, None)
    (252, [1, 2, 32, 64, 252, 504, 253])
    """
    measured: dict[int, int] = {}

    def fits(n: int) -> bool:
        measured[n] = used(n)
        return measured[n] <= budget

    if not fits(lo):
        return None, list(measured)
    good, bad, guess = lo, None, False  # one size gives no slope: the first step is safe
    while (bad is None and good != hi) or (bad is not None and bad - good > 1):
        n = _guess(measured, budget, good, bad) if guess else None
        if n is None:  # a safe step
            n = good * 2 if bad is None else (good + bad) // 2
            if bad is None and min(n, hi or n) > _LIMIT:
                raise ValueError(f"{name} fits the budget at n={good}: its memory does not seem to grow with n "
                                 "(does make_args use it?); pass hi= to bound the search")
        n = max(good + 1, min(n, good * _REACH if bad is None else bad - 1, _LIMIT, hi or n))
        guess = not guess
        good, bad = (n, bad) if fits(n) else (good, n)
    return good, list(measured)


def _guess(measured: dict[int, int], budget: int, good: int, bad: int | None) -> int | None:
    """Where a line through two measured sizes crosses the budget: the bracket's ends, or while none
    has failed, the two largest sizes. None where memory did not grow between them."""
    n1, n2 = (good, bad) if bad is not None else sorted(measured)[-2:]
    if measured[n2] <= measured[n1]:
        return None
    return good + (budget - measured[good]) * (n2 - n1) // (measured[n2] - measured[n1])
