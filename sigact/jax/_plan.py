"""``plan``: every way sigact offers to fit a function's gradient in memory, compiled and measured on the
user's own arguments; ``largest``: the largest size that fits a budget, by compilation alone."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib.metadata
import platform
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import jax
import jax.numpy as jnp

import sigact
from sigact._bits import mismatches
from sigact._timing import interleaved_medians, perf_counter_timer
from sigact.jax._plan_table import Plan, PlanRow, pareto_front
from sigact.jax._remat import policy_name, remat_scans, resolve_policy
from sigact.jax._swap import swap, swap_sigmoid

DEFAULT_POLICIES = ("nothing_saveable", "dots_saveable", "dots_with_no_batch_dims_saveable")
Policy = str | Callable[..., Any]


def candidates(fun: Callable[..., Any], policies: Iterable[Policy] | None = None) -> dict[str, Callable[..., Any]]:
    """The candidates, by name, in the plan's order: the built-in, the two swaps, each policy on every scan
    body, and the swap under each policy.

    Raises:
        ValueError: if a policy name is unknown.
    """
    chosen: dict[str, Callable[..., Any]] = {}
    for p in DEFAULT_POLICIES if policies is None else policies:
        chosen.setdefault(policy_name(p), resolve_policy(p))
    out: dict[str, Callable[..., Any]] = {"builtin": fun, "swap_sigmoid": swap_sigmoid(fun), "swap": swap(fun)}
    out.update({f"remat_scans({name})": remat_scans(fun, p) for name, p in chosen.items()})
    out.update({f"swap + remat_scans({name})": remat_scans(swap(fun), p) for name, p in chosen.items()})
    return out


def _argnums(argnums: int | Sequence[int], count: int) -> tuple[int, ...]:
    picked = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    if not picked or any(isinstance(i, bool) or not isinstance(i, int) or not -count <= i < count for i in picked):
        raise ValueError(f"argnums must name positional arguments of the {count} given, got {argnums!r}")
    return picked


def check_differentiable(fun: Callable[..., Any], args: Sequence[Any], argnums: int | Sequence[int],
                         kwargs: dict[str, Any]) -> None:
    """Raise TypeError, as ``jax.grad`` would but saying which argument, if ``jax.grad(fun, argnums)``
    cannot run: an integer or bool argument at ``argnums``, or an output that is not a real scalar."""
    for i in _argnums(argnums, len(args)):
        for path, leaf in jax.tree_util.tree_leaves_with_path(args[i]):
            dtype = jnp.result_type(leaf)
            if not jnp.issubdtype(dtype, jnp.inexact):
                raise TypeError(f"plan differentiates argument {i}, but its leaf {jax.tree_util.keystr(path) or '.'} "
                                f"has dtype {dtype}: jax.grad needs float or complex inputs. Pass argnums= the "
                                "arguments to differentiate (the parameters), or cast this one to a float dtype")
    out = jax.eval_shape(lambda *a: fun(*a, **kwargs), *args)
    if not (hasattr(out, "shape") and out.shape == () and jnp.issubdtype(out.dtype, jnp.floating)):
        raise TypeError("plan differentiates fun with jax.grad, which needs a real scalar output (a loss), got "
                        f"{out}: reduce it, e.g. return jnp.mean(...)")


def _program_hash(compiled: jax.stages.Compiled) -> str:
    from sigact.tools.jax_backend import optimized_hlo  # tooling: loaded when a plan is made, not on import

    return hashlib.sha256("\n".join(optimized_hlo(compiled.as_text() or "")).encode()).hexdigest()


def memory(compiled: jax.stages.Compiled) -> tuple[int | None, int | None, int | None]:
    """(temp, argument, output) bytes of a compiled step; None for each the backend did not measure.

    Not measured: no ``memory_analysis()``, no such field, or every field zero (what a backend that
    does not measure reports: a gradient step always has arguments). One zero beside others is a
    measurement: a tiny step can need no temp memory at all.
    """
    try:
        stats = compiled.memory_analysis()
    except (NotImplementedError, RuntimeError, jax.errors.JaxRuntimeError):
        stats = None
    values = [getattr(stats, f"{k}_size_in_bytes", None) for k in ("temp", "argument", "output")]
    if not any(values):
        return None, None, None
    temp, argument, output = (int(v) if v is not None else None for v in values)
    return temp, argument, output


def plan(fun: Callable[..., Any], *args: Any, argnums: int | Sequence[int] = 0,
         policies: Iterable[Policy] | None = None, rounds: int = 5, seconds: float = 0.0,
         progress: bool = True, **kwargs: Any) -> Plan:
    r"""Every way to fit ``fun``'s gradient in memory, measured side by side on ``fun``'s own arguments.

    The candidates are ``fun`` as written (the built-in), :func:`~sigact.jax.swap_sigmoid`,
    :func:`~sigact.jax.swap`, :func:`~sigact.jax.remat_scans` with each policy, and the swap under
    each policy. Each is compiled as ``jax.jit(jax.grad(candidate, argnums))`` on ``args`` and
    ``kwargs``, and measured:

    * memory, from the compiled executable's ``memory_analysis()``: XLA's temporary bytes (the
      residuals of every scan live there), the arguments' and the outputs'. A backend that reports
      none, or only zeros, gets "not measured", never 0;
    * step time: the median of ``rounds`` interleaved rounds, all candidates taking turns, by the
      engine of ``sigact report``;
    * gradients: every leaf compared with the built-in's bit for bit.

    Candidates that compile to the same optimized program (e.g. the swaps of a function with no
    sigmoid or tanh) are one row, naming the others. The front is the Pareto front of temp memory
    against step time among the candidates whose gradients are bitwise; only those are advised.

    XLA's own rematerialization. XLA has a pass, ``HloRematerialization``, that recomputes values
    when a program's scheduled peak memory exceeds a limit. The GPU compiler runs it with the limit
    set from the device's memory; the CPU compiler does not run it at all. Checked with jaxlib 0.10.2
    on CPU: the pass's name appears in none of the passes ``--xla_dump_hlo_pass_re=.*`` dumps, its
    symbols are not in jaxlib's CPU library, and the Flax LSTM of sigact's docs (batch 16, length
    512, 256 features) compiles to the same temp, argument and output bytes, built-in, swap and
    ``nothing_saveable`` alike, with ``XLA_FLAGS=--xla_disable_hlo_passes=rematerialization``. So on
    CPU the figures are the candidates' own. On a GPU, below the limit (where a plan is useful) the
    pass does nothing; a program over it would be changed by XLA, which the plan does not model.

    Args:
        fun: a function returning a real scalar (a loss).
        *args: its positional arguments, as ``jax.jit`` takes them (arrays and pytrees of arrays).
        argnums: which of ``args`` to differentiate, as ``jax.grad`` takes it.
        policies: the ``jax.checkpoint_policies`` to try, by name or as policies; by default
            ``nothing_saveable``, ``dots_saveable`` and ``dots_with_no_batch_dims_saveable``.
        rounds: interleaved timing rounds; each runs every candidate at least three times.
        seconds: the least time each candidate runs per round.
        progress: write a line per step to stderr while compiling and timing.
        **kwargs: keyword arguments of ``fun``, passed to every call as given (not differentiated).

    Returns:
        A :class:`~sigact.jax.Plan`.

    Raises:
        TypeError: if an argument at ``argnums`` has an integer or bool leaf, or ``fun``'s output is
            not a real scalar (``jax.grad``'s conditions, said before any compilation).
        ValueError: if a policy name is unknown, ``argnums`` names no argument, or ``rounds`` < 1.

    Examples:
        A small gated recurrence; every candidate is compiled, run and timed (once here):

        >>> import jax, jax.numpy as jnp, sigact.jax as sj
        >>> def loss(w, xs):
        ...     def step(c, x):
        ...         h = x @ w
        ...         return jax.nn.sigmoid(h) * c + jnp.tanh(h), None
        ...     return jnp.mean(jax.lax.scan(step, jnp.zeros(8), xs)[0] ** 2)
        >>> w, xs = jnp.eye(8) / 2, jnp.linspace(-1, 1, 512).reshape(64, 8)
        >>> p = sj.plan(loss, w, xs, rounds=1, progress=False)
        >>> [r.name for r in p.rows][:4]
        ['builtin', 'swap_sigmoid', 'swap', 'remat_scans(nothing_saveable)']
        >>> p.rows[0].bitwise, p.rows[2].bitwise  # the built-in against itself; the swap
        (True, True)
        >>> step = jax.jit(jax.grad(p.best()))  # the least memory among the bitwise candidates
        >>> bool(jnp.array_equal(step(w, xs), jax.grad(loss)(w, xs)))
        True

        ``print(p)`` shows the table, sorted by temp memory, and the advice.
    """
    from sigact.tools.progress import Progress  # tooling: loaded when a plan is made, not on import

    if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 1:
        raise ValueError(f"rounds is a number of timing rounds, at least 1, got {rounds!r}")
    functions = candidates(fun, policies)
    check_differentiable(fun, args, argnums, kwargs)
    report = Progress(len(functions) + 1 + rounds, enabled=progress)
    rows = measure(functions, args, argnums, kwargs, rounds=rounds, seconds=seconds, on_step=report.step)
    report.clear()
    front = pareto_front(rows)
    rows = [dataclasses.replace(r, on_front=r.name in front) for r in rows]
    return Plan(rows, functions, {"function": getattr(fun, "__qualname__", repr(fun)), "rounds": rounds,
                                  "seconds": seconds, **environment()})


def compile_step(candidate: Callable[..., Any], args: Sequence[Any], argnums: int | Sequence[int] = 0,
                 kwargs: dict[str, Any] | None = None) -> jax.stages.Compiled:
    """``jax.jit(jax.grad(candidate, argnums))``, compiled on ``args`` and ``kwargs`` (nothing runs)."""
    return jax.jit(jax.grad(candidate, argnums)).lower(*args, **(kwargs or {})).compile()


def same_programs(compiled: dict[str, jax.stages.Compiled]) -> dict[str, str]:
    """``{name: earlier name}`` for each compiled step whose optimized program an earlier one's is."""
    programs: dict[str, str] = {}
    same_as: dict[str, str] = {}
    for name, step in compiled.items():
        first = programs.setdefault(_program_hash(step), name)
        if first != name:
            same_as[name] = first
    return same_as


def time_steps(compiled: dict[str, jax.stages.Compiled], args: Sequence[Any], kwargs: dict[str, Any] | None = None,
               *, rounds: int, seconds: float, on_round: Callable[[int], None] = lambda i: None
               ) -> tuple[dict[str, float], dict[str, Any]]:
    """Median seconds per call of each compiled step, in ``rounds`` interleaved rounds (the engine of
    ``sigact report``), and each one's output from its first call (the warm-up, not timed).
    ``on_round(i)`` is called as round ``i`` (from 0) starts."""
    kwargs = kwargs or {}
    first: dict[str, Any] = {}

    def call(name: str) -> object:
        out = jax.block_until_ready(compiled[name](*args, **kwargs))
        first.setdefault(name, out)
        return out

    calls = 0

    def timer(fn: Callable[[], object], seconds: float) -> list[float]:
        nonlocal calls
        if calls % len(compiled) == 0:
            on_round(calls // len(compiled))
        calls += 1
        return perf_counter_timer(fn, seconds)

    contenders: dict[str, Callable[[], object]] = {name: functools.partial(call, name) for name in compiled}
    return interleaved_medians(contenders, timer, rounds=rounds, seconds=seconds), first


def bitwise(tree: Any, expected: Any) -> bool:
    """Every leaf of ``tree`` equals ``expected``'s bit for bit, dtype included (NaN payloads too)."""
    leaves, want = jax.tree.leaves(tree), jax.tree.leaves(expected)
    return len(leaves) == len(want) and all(a.dtype == b.dtype and a.shape == b.shape and mismatches(a, b).size == 0
                                            for a, b in zip(leaves, want, strict=True))


def measure(functions: dict[str, Callable[..., Any]], args: Sequence[Any], argnums: int | Sequence[int] = 0,
            kwargs: dict[str, Any] | None = None, *, rounds: int = 5, seconds: float = 0.0,
            on_step: Callable[[str], None] = lambda message: None) -> list[PlanRow]:
    """The plan's engine: each function's gradient compiled (:func:`compile_step`), its memory read
    (:func:`memory`), the distinct programs timed in interleaved rounds (:func:`time_steps`) and their
    gradients compared with the first function's, the built-in's (:func:`bitwise`); a row per function, in order, none
    on the front yet. ``on_step`` hears one line per compilation, per round and for the comparison.

    Examples:
        The built-in and the swap of a tanh recurrence, measured as :func:`plan` measures them:

        >>> import jax, jax.numpy as jnp, sigact.jax as sj
        >>> from sigact.jax._plan import measure
        >>> def loss(w, xs):
        ...     return jnp.mean(jax.lax.scan(lambda c, x: (jnp.tanh(x @ w + c), None), jnp.zeros(4), xs)[0])
        >>> rows = measure({"builtin": loss, "swap": sj.swap(loss)}, (jnp.eye(4), jnp.ones((16, 4))), rounds=1)
        >>> [(r.name, r.bitwise, r.temp_bytes < rows[0].temp_bytes or r.name == "builtin") for r in rows]
        [('builtin', True, True), ('swap', True, True)]
    """
    compiled: dict[str, jax.stages.Compiled] = {}
    for name, candidate in functions.items():
        on_step(f"compiling {name}")
        compiled[name] = compile_step(candidate, args, argnums, kwargs)
    same_as = same_programs(compiled)
    distinct = {name: step for name, step in compiled.items() if name not in same_as}
    medians, grads = time_steps(distinct, args, kwargs, rounds=rounds, seconds=seconds, on_round=lambda i: on_step(
        f"timing round {i + 1} of {rounds}, {len(distinct)} programs"))
    on_step("comparing gradients with the built-in's")
    reference = grads[next(iter(functions))]
    same = {name: bitwise(grads[name], reference) for name in distinct}
    return [PlanRow(name, *memory(compiled[same_as.get(name, name)]), medians[same_as.get(name, name)],
                    same[same_as.get(name, name)], False, same_as.get(name)) for name in functions]


def environment() -> dict[str, Any]:
    """The machine, the device and the versions a plan was measured with."""
    from sigact.tools.machine import machine

    device = jax.devices()[0]
    return {"machine": machine(), "backend": jax.default_backend(),
            "device": f"{device.platform}: {getattr(device, 'device_kind', device)}",
            "versions": {"jax": jax.__version__, "jaxlib": importlib.metadata.version("jaxlib"),
                         "sigact": sigact.__version__, "python": platform.python_version()},
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
