"""``sigact plan FILE.py[:NAME]``: :func:`sigact.jax.plan` on a model the user describes in a file.

The file defines a function (``model`` unless ``:NAME`` says otherwise) that takes no arguments and
returns ``(fun, args)``: a scalar loss and the arguments to differentiate it on, its first argument
being the one to differentiate. For example::

    import jax, jax.numpy as jnp

    def model():
        def loss(w, xs):
            step = lambda h, x: (jnp.tanh(h @ w + x), None)
            return jax.lax.scan(step, jnp.zeros(8), xs)[0].sum()
        return loss, (jnp.eye(8), jnp.ones((16, 8)))

Every mistake the command can see before it compiles anything (a missing file or function, a
function returning something else, an output path it cannot write, a budget that is not a positive
size, an unknown policy) exits 2 with a message, as a usage error does.
"""

from __future__ import annotations

import argparse
import importlib.util
import inspect
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from sigact._saved import human_bytes

Error = Callable[[str], NoReturn]
_UNITS = {"": 1, "b": 1, "kib": 2**10, "mib": 2**20, "gib": 2**30, "kb": 10**3, "mb": 10**6, "gb": 10**9}


def size(text: str) -> int:
    """Bytes from ``"123456"``, ``"64MiB"``, ``"1.5 GiB"`` or ``"100MB"``; argparse's type for --budget."""
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", text)
    if not match or match.group(2).lower() not in _UNITS:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size: give bytes, or a number with KiB, MiB or GiB")
    value = int(float(match.group(1)) * _UNITS[match.group(2).lower()])
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: a budget must be more than 0 bytes")
    return value


def add_parser(commands: Any) -> None:
    """The ``plan`` subcommand and its options, on the CLI's subparsers."""
    plan = commands.add_parser(
        "plan",
        help="measure every way to fit a JAX model in memory (swap, remat policies) and pick one",
        description="Load FILE.py, call its function NAME (default: model), which returns (fun, args), and "
        "measure jax.jit(jax.grad(fun)) on args as written, through sigact's swaps and with every scan body "
        "under each remat policy: XLA temp memory, step time, and whether the gradients are bitwise the "
        "built-in's. Prints the table with the Pareto front and the one to use.",
    )
    plan.add_argument("model", metavar="FILE.py[:NAME]", help="a Python file, and the function in it that "
                      "returns (fun, args) (default name: model)")
    plan.add_argument("--policy", action="append", metavar="NAME", help="a jax.checkpoint_policies name to "
                      "try (repeat for several; default: the plan's own list)")
    plan.add_argument("--rounds", type=int, default=5, help="timing rounds (default 5)")
    plan.add_argument("--budget", type=size, metavar="BYTES", help="also print the fastest candidate whose temp "
                      "memory fits BYTES (e.g. 200MiB); exit 1 if none does")
    plan.add_argument("--json", type=Path, metavar="PATH", help="also write the plan as JSON")
    plan.add_argument("--plot", type=Path, metavar="PATH", help="also write the Pareto figure (PNG) to PATH")
    plan.add_argument("--no-progress", action="store_true", help="print no progress on stderr")


def split_spec(spec: str) -> tuple[Path, str]:
    """``"dir/file.py:name"`` to ``(Path("dir/file.py"), "name")``; the name defaults to ``"model"``.
    Only a trailing ``:identifier`` is a name, so a path with a colon in it still reads as a path."""
    path, colon, name = spec.rpartition(":")
    if colon and name.isidentifier() and path:
        return Path(path), name
    return Path(spec), "model"


def load(spec: str, error: Error) -> tuple[Callable[..., Any], tuple[Any, ...]]:
    """Import the file as a module (its folder first on ``sys.path``, as ``python FILE.py`` has it),
    call the named function and check that it returned ``(callable, tuple)``."""
    path, name = split_spec(spec)
    if not path.is_file():
        error(f"{path}: no such file" + (" (a directory)" if path.is_dir() else ""))
    module_spec = importlib.util.spec_from_file_location(f"sigact_plan_model_{path.stem}", path)
    if module_spec is None or module_spec.loader is None:
        error(f"{path}: not a Python file Python can import (name it .py)")
    module = importlib.util.module_from_spec(module_spec)
    sys.path.insert(0, str(path.resolve().parent))
    try:
        module_spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(path.resolve().parent))
    builder = getattr(module, name, None)
    if not callable(builder):
        why = (f"{path} has no function {name!r}" if builder is None
               else f"{path}: {name!r} is a {type(builder).__name__}, not a function")
        defined = sorted(k for k, v in vars(module).items() if inspect.isfunction(v) and not k.startswith("_")
                         and v.__module__ == module.__name__)
        error(f"{why}; name the function that returns (fun, args) as {path}:NAME"
              + (f" (functions in it: {', '.join(defined)})" if defined else ""))
    made = builder()
    if not (isinstance(made, tuple) and len(made) == 2 and callable(made[0]) and isinstance(made[1], tuple)):
        error(f"{path}:{name}() must return (fun, args), a callable and a tuple of its arguments; it returned "
              f"{_describe(made)}")
    return made


def _describe(value: object) -> str:
    if isinstance(value, tuple):
        return f"a tuple of {len(value)} ({', '.join(type(v).__name__ for v in value)})"
    return f"a {type(value).__name__}"


def run(args: argparse.Namespace, error: Error, check_output_file: Callable[[Path, str, Error], None]) -> int:
    """The command: checks, then the plan, its table, and what the options ask for."""
    if args.json is not None:
        check_output_file(args.json, "--json", error)
    if args.plot is not None:
        check_output_file(args.plot, "--plot", error)
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            error("--plot needs matplotlib: pip install 'sigact[report]'")
    if args.rounds < 1:
        error(f"--rounds: at least 1, got {args.rounds}")
    try:
        import sigact.jax as sj
        from sigact.jax._remat import resolve_policy
    except ImportError as missing:
        error(str(missing))
    for name in args.policy or ():
        try:
            resolve_policy(name)
        except ValueError as unknown:
            error(f"--policy: {unknown}")
    fun, fun_args = load(args.model, error)
    plan = sj.plan(fun, *fun_args, policies=args.policy, rounds=args.rounds, progress=not args.no_progress)
    print(plan)
    fits = True
    if args.budget is not None:
        try:
            print(f"Within {human_bytes(args.budget)} of temp memory: use {plan.best_name(args.budget)}.")
        except ValueError as nothing:
            print(f"Within {human_bytes(args.budget)} of temp memory: {nothing}.")
            fits = False
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)  # the check made it, and took it away again
        args.json.write_text(json.dumps(plan.to_json(), indent=2) + "\n")
        print(f"JSON written to {args.json}")
    if args.plot is not None:
        args.plot.parent.mkdir(parents=True, exist_ok=True)
        plan.plot(args.plot)
        print(f"figure written to {args.plot}")
    return 0 if fits else 1
