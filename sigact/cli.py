"""The ``sigact`` command line: ``sigact report`` (exactness, memory, speed), ``sigact verify``
(bitwise parity, exhaustively where it can be) and ``sigact plan`` (swap or remat, on your model)."""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
from pathlib import Path

from sigact import __version__
from sigact.tools import plan_command


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="sigact",
        description="sigact: the output-saving sigmoid for PyTorch and JAX.",
    )
    p.add_argument("--version", action="version", version=f"sigact {__version__}")
    commands = p.add_subparsers(dest="command", metavar="COMMAND", required=True)
    report = commands.add_parser(
        "report",
        help="check exactness, memory kept for backward and speed against the built-in sigmoid",
        description="For each installed framework: correctness against the built-in sigmoid, bytes "
        "kept for backward (built-in, sigact, naive 1/(1+exp(-x))) and median forward+backward time.",
    )
    report.add_argument("--quick", action="store_true", help="fewer sizes and rounds, no torch.compile: about half "
                        "a minute on a 2-core CPU, against several minutes without it")
    report.add_argument("--json", type=Path, metavar="PATH", help="also write the results as JSON")
    report.add_argument("--plot", type=Path, metavar="DIR", help="also write PNG figures to DIR")
    report.add_argument("--no-progress", action="store_true", help="print no progress on stderr")
    verify = commands.add_parser(
        "verify",
        help="prove bitwise parity with the built-in sigmoid: every float16/bfloat16 input, float32 with --full",
        description="For each installed framework, device and dtype: forward values and gradients of sigact "
        "against the built-in, bit for bit. Exits 0 when nothing differs (beyond the documented complex "
        "tail), 1 when something does, 2 on a usage error.",
    )
    verify.add_argument("--framework", choices=["torch", "jax", "all"], default="all",
                        help="which framework's sigact to check (all: every one installed)")
    verify.add_argument("--device", choices=["cpu", "cuda", "gpu", "all"], default="all",
                        help="cuda and gpu both mean the GPU (PyTorch's and JAX's names)")
    verify.add_argument("--dtype", nargs="+", metavar="DTYPE", help="only these (default: all): "
                        "float16 bfloat16 float32 float64 complex64 complex128")
    verify.add_argument("--mode", nargs="+", metavar="MODE", help="only these modes, e.g. sigmoid jvp 'sigmoid, jit'")
    verify.add_argument("--full", action="store_true", help="float32: all 2^32 bit patterns (minutes on a CPU)")
    verify.add_argument("--json", type=Path, metavar="PATH", help="also write the results as JSON")
    verify.add_argument("--no-progress", action="store_true", help="print no progress on stderr")
    plan_command.add_parser(commands)
    return p


def _check_output_dir(directory: Path, flag: str, error) -> None:
    """Exit 2 now, before any work, unless ``directory`` is or can be made a writable folder. It is
    made and written to for real: permission bits say nothing about /proc, or to root. What was made
    is removed again one empty folder at a time, deepest first, never a whole tree: a cleanup that could
    remove more than it made once wiped a machine's root (a mutated copy of this function, issue 25)."""
    chain = [*reversed(directory.parents), directory]  # "/" first
    for path in chain[:-1]:
        if path.exists() and not path.is_dir():
            error(f"{flag}: {path} is not a directory")
    if directory.exists() and not directory.is_dir():
        error(f"{flag}: {directory} exists and is not a directory")
    made: list[Path] = []
    try:
        for path in chain:
            if not path.exists():
                path.mkdir()
                made.append(path)
        tempfile.TemporaryFile(dir=directory).close()
    except OSError as exc:
        error(f"{flag}: cannot write to {directory}: {exc.strerror or exc}")
    finally:
        for path in reversed(made):
            with contextlib.suppress(OSError):  # not empty: something else wrote there meanwhile
                path.rmdir()


def _check_output_file(path: Path, flag: str, error) -> None:
    """Exit 2 now, before any work, unless ``path`` can be written as a file."""
    if path.is_dir():
        error(f"{flag}: {path} is a directory; give a file path")
    _check_output_dir(path.parent, flag, error)
    if path.parent.exists():
        existed = path.exists()
        try:
            with open(path, "a"):
                pass
        except OSError as exc:
            error(f"{flag}: cannot write {path}: {exc.strerror or exc}")
        if not existed:
            path.unlink()


def verify(args: argparse.Namespace, error) -> int:
    from sigact.tools import verify as ver
    from sigact.tools.parity import DTYPES
    from sigact.tools.progress import Progress

    if args.json is not None:
        _check_output_file(args.json, "--json", error)
    if bad := sorted(set(args.dtype or ()) - set(DTYPES)):
        error(f"--dtype: unknown {', '.join(bad)}; choose from {', '.join(DTYPES)}")
    frameworks = list(ver.FRAMEWORKS) if args.framework == "all" else [args.framework]
    planned = ver.plan(frameworks, args.device, args.dtype or DTYPES, args.mode)
    if args.mode:
        known = {name for fw in frameworks if (m := ver.load(fw)[0])
                 for d, missing in m.devices().items() if missing is None for name in m.modes(d)}
        if bad := sorted(set(args.mode) - known):
            # Quoted: several mode names contain a comma ("sigmoid, jit").
            error(f"--mode: unknown {', '.join(bad)}; the installed frameworks and available devices have "
                  f"{', '.join(repr(name) for name in sorted(known))}")
    # Refuse what cannot be checked: exit 0 must never mean "nothing was run".
    if not any(mode is not None for _, mode, _ in planned):
        why = "; ".join(ver.unavailable_reasons(planned))
        if args.device in ("cuda", "gpu"):
            error(f"--device {args.device}: no installed framework can run on it here ({why})")
        reachable = [d for fw in frameworks if (m := ver.load(fw)[0])
                     for d, missing in m.devices().items() if missing is None and d in ver.DEVICE_NAMES[args.device]]
        error(f"this selection checks no inputs (framework {args.framework}, device {args.device}, dtype "
              f"{' '.join(args.dtype or ['all'])}, mode {' '.join(args.mode or ['all'])}): "
              + ("none of these modes runs on these dtypes" if reachable else f"nothing here can run it ({why})"))
    rows = ver.run(planned, full=args.full, progress=Progress(0, enabled=not args.no_progress))
    sys.stdout.write(ver.format_rows(rows))
    if args.json is not None:
        ver.write_json(rows, args.json, args.full)
        print(f"JSON written to {args.json}")
    return 0 if ver.passed(rows) else 1


def report(args: argparse.Namespace, error) -> int:
    from sigact.tools import report as rep

    if args.plot is not None:
        _check_output_dir(args.plot, "--plot", error)
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            error("--plot needs matplotlib: pip install 'sigact[report]'")
    if args.json is not None:
        _check_output_file(args.json, "--json", error)

    results = rep.run(quick=args.quick, show_progress=not args.no_progress)
    sys.stdout.write(rep.format_report(results))
    if args.json is not None:
        rep.write_json(results, args.json)
        print(f"\nJSON written to {args.json}")
    if args.plot is not None:
        from sigact.tools.plots import report_plots

        for path in report_plots(results, args.plot):
            print(f"figure written to {path}")
    return 0 if rep.all_passed(results) else 1


def main(argv: list[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    if args.command == "report":
        return report(args, p.error)
    if args.command == "verify":
        return verify(args, p.error)
    if args.command == "plan":
        return plan_command.run(args, p.error, _check_output_file)
    raise AssertionError(f"unhandled command {args.command!r}")


if __name__ == "__main__":
    sys.exit(main())
