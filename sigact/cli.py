"""The ``sigact`` command line: ``sigact report [--quick] [--json PATH] [--plot DIR]``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="sigact",
        description="sigact: the output-saving sigmoid for PyTorch and JAX.",
    )
    commands = p.add_subparsers(dest="command", metavar="COMMAND", required=True)
    report = commands.add_parser(
        "report",
        help="check exactness, memory kept for backward and speed against the built-in sigmoid",
        description="For each installed framework: correctness against the built-in sigmoid, bytes "
        "kept for backward (built-in, sigact, naive 1/(1+exp(-x))) and median forward+backward time.",
    )
    report.add_argument("--quick", action="store_true", help="fewer sizes and rounds: 30 s or less")
    report.add_argument("--json", type=Path, metavar="PATH", help="also write the results as JSON")
    report.add_argument("--plot", type=Path, metavar="DIR", help="also write PNG figures to DIR")
    report.add_argument("--no-progress", action="store_true", help="print no progress on stderr")
    return p


def report(args: argparse.Namespace, error) -> int:
    from sigact import report as rep

    if args.plot is not None:
        if args.plot.exists() and not args.plot.is_dir():
            error(f"--plot: {args.plot} exists and is not a directory")
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            error("--plot needs matplotlib: pip install 'sigact[report]'")
    if args.json is not None and args.json.is_dir():
        error(f"--json: {args.json} is a directory; give a file path")

    results = rep.run(quick=args.quick, show_progress=not args.no_progress)
    sys.stdout.write(rep.format_report(results))
    if args.json is not None:
        rep.write_json(results, args.json)
        print(f"\nJSON written to {args.json}")
    if args.plot is not None:
        from sigact.plots import report_plots

        for path in report_plots(results, args.plot):
            print(f"figure written to {path}")
    return 0 if rep.all_passed(results) else 1


def main(argv: list[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    if args.command == "report":
        return report(args, p.error)
    raise AssertionError(f"unhandled command {args.command!r}")


if __name__ == "__main__":
    sys.exit(main())
