"""Mutation testing of the code that carries sigact's promise, with mutmut 3: ``make mutate``.

mutmut makes many single-point bugs (a changed operator, constant, keyword, return value) in one file,
runs the tests that reach each changed function, and reports the bugs no test caught ("survived").
Each survivor either gets a test that now kills it or a stated reason, in mutation/reasons.json;
this script merges those in and writes docs/results/mutation.json.

Each file runs on its own, in ``mutants/<file>/`` (a copy of the project; mutmut makes its own
``mutants/`` inside it), with only the test files that exercise it and without the slow marker:

    python mutation/run.py                      # every file of MODULES, smallest first
    python mutation/run.py sigact/cli.py        # only these (make mutate FILES="sigact/cli.py")
    python mutation/run.py --report             # merge reasons into the JSON (and its page) again, run nothing

Subprocesses the tests start (``sigact verify``, pytest inside a test) import the mutated copy too:
PYTHONPATH points at it. mutmut forks one process per mutant from a server started before torch is
imported (``process_isolation = forkserver``): torch's thread pools do not survive a plain fork. The
server collects the tests before it forks, so no test module may make a JAX array at import: XLA's threads
would start in the server, and the workers forked from it hang on a lock one of them held
(tests/test_mutation_setup.py checks).
"""

from __future__ import annotations

import argparse
import datetime
import fnmatch
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "docs" / "results" / "mutation.json"
REASONS = Path(__file__).resolve().parent / "reasons.json"
# What the project's tests need beside sigact/ and tests/ (pages they check, scripts they run).
COPIED = ["sigact", "tests", "conftest.py", "pyproject.toml", "docs", "benchmarks", "examples", "README.md",
          "CHANGELOG.md", "requirements-dev.txt", "Makefile"]

# File -> the tests that exercise it (pytest arguments), smallest and most central files first. mutmut runs,
# for each mutant, only those of these tests that called the mutated function, fastest first, stopping at
# the first failure: a survivor costs every such test. So the slowest few (float32 sweeps, subprocess runs of
# the whole CLI) are left out where faster tests reach the same functions.
MODULES: dict[str, list[str]] = {
    "sigact/_bits.py": ["tests/test_bits.py", "tests/test_parity_engine.py", "tests/test_verify.py",
                        "-k", "not a_chunk_of_the_full_float32 and not one_row_of_several"
                        " and not every_16_bit and not exits_1 and not missing_framework"],
    "sigact/tools/parity.py": ["tests/test_parity_engine.py", "tests/test_verify.py",
                               "-k", "not a_chunk_of_the_full_float32 and not one_row_of_several"
                               " and not every_16_bit and not exits_1 and not missing_framework"],
    # test_generate.py: docs/api.md's command-line reference is generated from the parser, help text included.
    "sigact/cli.py": ["tests/test_cli_exit.py", "tests/test_plan_command.py", "tests/test_generate.py",
                      "tests/test_verify.py", "-k", "not a_chunk_of_the_full_float32 and not"
                      " every_16_bit and not 16_bit_input"],
    "sigact/jax/_activations.py": ["tests/test_jax_parity.py", "tests/test_jax_tanh.py", "tests/test_survivors_jax.py",
                                   "tests/test_jax_second_derivatives.py"],
    "sigact/jax/_audit.py": ["tests/test_survivors_jax.py", "tests/test_jax_audit_args.py", "tests/test_jax_memory.py"],
    "sigact/torch/_audit.py": ["tests/test_survivors_torch.py", "tests/test_torch_memory.py"],
    # Not the torch.compile tests: Dynamo refuses to trace mutmut's trampoline ("Attempted to call function
    # marked as skipped"), so under mutmut they fail with or without a mutant.
    "sigact/torch/_autograd.py": ["tests/test_torch_autograd.py", "tests/test_torch_memory.py", "-k", "not compile"],
    "sigact/jax/_rewrite.py": ["tests/test_jax_swap.py", "tests/test_jax_remat.py", "tests/test_survivors_jax.py",
                               "tests/test_jax_nnx_state.py"],
    "sigact/torch/_backward.py": ["tests/test_torch_parity.py", "tests/test_survivors_torch.py",
                                  "tests/test_torch_autograd.py", "-k", "not compile"],
}


def jax_cache(work: Path) -> dict[str, str]:
    """XLA's compiled programs, kept on disk and shared by every mutant's process. Each process starts with
    empty in-memory caches, so without it every test compiles all it runs again (tests/test_jax_swap.py
    took 124 s cold and 32 s from this cache). The key is a hash of the program and its compile options, so
    a mutant that changes what is computed compiles anew. A size limit turns on JAX's file lock, which two
    processes writing one entry need."""
    return {"JAX_COMPILATION_CACHE_DIR": str(work / "jax-cache"), "JAX_COMPILATION_CACHE_MAX_SIZE": str(8 << 30),
            "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0", "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "-1"}


STATUS = {None: "not checked", 1: "killed", 3: "killed", 0: "survived", 5: "no tests", 33: "no tests", 34: "skipped",
          36: "timeout", 24: "timeout", -24: "timeout", 152: "timeout", 255: "timeout"}


def config(path: str, tests: list[str]) -> str:
    def listed(values: list[str]) -> str:
        return "".join(f"\n    {v}" for v in values)

    return (
        "[mutmut]\n"
        "source_paths = sigact\n"
        f"only_mutate = {path}\n"
        # -n 0: mutmut runs each test in its own process; -m "not slow": torch.compile and subprocess-heavy
        # tests would cost minutes per mutant (the fast tests reach the same functions).
        f"pytest_add_cli_args ={listed(['-p', 'no:cacheprovider', '-n', '0', '-m', 'not slow', '-x', '-q'])}\n"
        f"pytest_add_cli_args_test_selection ={listed(tests)}\n"
        f"also_copy ={listed([c for c in COPIED if c not in ('sigact', 'tests', 'pyproject.toml')])}\n"
        "process_isolation = forkserver\n"
        "use_git_change_detection = false\n"
    )


def snapshot() -> Path:
    """The project as it was when this run started, which each file's copy is made from: a whole run
    takes about an hour, and a test half-written meanwhile (for the survivors of a file already done)
    must not reach a later file's copy. One per run: runs of other files side by side keep theirs."""
    (ROOT / "mutants").mkdir(exist_ok=True)
    tree = Path(tempfile.mkdtemp(prefix="tree-", dir=ROOT / "mutants"))
    for name in COPIED:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, tree / name, ignore=shutil.ignore_patterns("__pycache__", "_build"))
        elif (ROOT / name).exists():
            shutil.copy2(ROOT / name, tree / name)
    return tree


def run_one(path: str, tree: Path, max_children: int, again: bool = False) -> dict:
    """mutmut on ``path`` in a copy of ``tree``; with ``again``, only the mutants that survived the last run
    of it (after a new test, or a change to MODULES), in its kept copy or else a new one."""
    work = ROOT / "mutants" / path.replace("/", "_").removesuffix(".py")
    meta = work / "mutants" / (path + ".meta")
    names = []
    earlier = json.loads(meta.read_text())["exit_code_by_key"] if again and meta.exists() else {}
    # No kept copy (a fresh clone): the survivors come from the committed JSON, and every other mutant it
    # counted was killed, as long as the file still makes as many mutants (checked after the run).
    recorded = load()["modules"].get(path) if again and not earlier else None
    if recorded:
        names = list(recorded["survivors"])
    if earlier:
        names = [name for name, code in earlier.items() if STATUS.get(code, "suspicious") != "killed"]
        for name in COPIED:  # the tests as they are now
            if name != "sigact" and (tree / name).is_dir():
                for target in (work / name, work / "mutants" / name):
                    shutil.copytree(tree / name, target, dirs_exist_ok=True)
    else:
        shutil.rmtree(work, ignore_errors=True)
        shutil.copytree(tree, work)
        # mutmut's copy must exist before Python first looks at PYTHONPATH: a missing directory is
        # remembered as missing (sys.path_importer_cache), and the tests would import sigact from elsewhere.
        (work / "mutants").mkdir()
    (work / "setup.cfg").write_text(config(path, MODULES.get(path) or guess_tests(path)))
    env = {**os.environ, "PYTHONPATH": str(work / "mutants"), "PYTHONDONTWRITEBYTECODE": "1", "HOME": str(work),
           "SIGACT_MUTANTS": str(work), **jax_cache(work)}
    mutmut = Path(sys.executable).with_name("mutmut")
    start = time.perf_counter()
    with open(work / "mutmut.log", "w") as log:
        done = subprocess.run(sandboxed(work, [str(mutmut), "run", "--max-children", str(max_children), *names]),
                              cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT)
    seconds = round(time.perf_counter() - start)
    if not meta.exists():
        tail = (work / "mutmut.log").read_text()[-3000:]
        raise SystemExit(f"mutmut failed on {path} (exit {done.returncode}); the end of {work}/mutmut.log:\n{tail}")
    codes = json.loads(meta.read_text())["exit_code_by_key"]
    if recorded:
        if len(codes) != sum(recorded["counts"].values()):
            raise SystemExit(f"{path} makes {len(codes)} mutants, its recorded run {sum(recorded['counts'].values())}:"
                             " it changed since, so the recorded verdicts name other mutants; run it whole")
        earlier = {name: 1 for name in codes if name not in names}
    # mutmut forgets every verdict when the test selection changes, and reruns only the named survivors.
    # A mutant killed before stays killed as long as the selection only grew (more tests, more ways to
    # fail), so its earlier verdict is kept: never remove a test from MODULES and then use --again.
    codes.update({name: code for name, code in earlier.items()
                  if STATUS.get(code) == "killed" and codes.get(name) is None})
    by_status: dict[str, list[str]] = {}
    for name, code in sorted(codes.items()):
        by_status.setdefault(STATUS.get(code, "suspicious"), []).append(name)
    diffs = {name: diff(work, env, mutmut, name) for status in ("survived", "suspicious", "timeout")
             for name in by_status.get(status, [])}
    return {"seconds": seconds, "tests": MODULES.get(path) or guess_tests(path),
            # Stopped before the end (interrupted): the mutants not run are counted "not checked".
            "complete": done.returncode == 0,
            "counts": {status: len(names) for status, names in sorted(by_status.items())},
            "survivors": {name: {"status": status, **({"diff": diffs[name]} if name in diffs else {})}
                          for status in ("survived", "no tests", "suspicious", "timeout")
                          for name in by_status.get(status, [])}}


# Run inside a mount namespace of its own: the copy the mutants work in stays writable, /tmp and /dev/shm are
# fresh, and every other mount is read-only, so whatever a mutant deletes or writes outside its copy fails.
SANDBOX = r"""
set -e
mount --bind "$SIGACT_MUTANTS" "$SIGACT_MUTANTS"
for point in $(awk '{print $2}' /proc/self/mounts | sort -ru); do
  case "$point" in
    "$SIGACT_MUTANTS"|/proc|/proc/*|/dev/shm|/dev/pts) ;;
    *) mount -o remount,bind,ro "$point" 2>/dev/null || true ;;
  esac
done
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /dev/shm
if touch /.sigact-mutation-check 2>/dev/null; then echo "the sandbox left / writable" >&2; exit 97; fi
cd "$SIGACT_MUTANTS"  # the bind mount, not the read-only folder under it that the shell started in
exec "$@"
"""


def sandboxed(work: Path, command: list[str]) -> list[str]:
    """``command``, run with nothing but ``work`` writable: a mutant is code nobody reviewed, and one of
    sigact/cli.py's once turned a folder's cleanup into ``rmtree("/")`` and, run as root, wiped this
    machine's /etc, /root and /usr/share before it was stopped. As root a mount namespace does it; as
    any other user, a user namespace that maps them to root inside it."""
    unshare = shutil.which("unshare")
    if unshare is None:
        raise SystemExit("make mutate needs unshare (util-linux) to keep the mutants from writing outside "
                         "their copy; install util-linux")
    user = [] if os.geteuid() == 0 else ["--user", "--map-root-user"]
    return [unshare, *user, "--mount", "--propagation", "private", "sh", "-c", SANDBOX, "sandbox", *command]


def diff(work: Path, env: dict, mutmut: Path, name: str) -> str:
    shown = subprocess.run([str(mutmut), "show", name], cwd=work, env=env, capture_output=True, text=True).stdout
    lines = [line for line in shown.splitlines() if line.startswith(("+", "-")) and not line.startswith(("+++", "---"))]
    return "\n".join(lines)


def guess_tests(path: str) -> list[str]:
    """For a file MODULES does not list: the test files that import its module."""
    module = path.removesuffix(".py").replace("/", ".")
    leaf = module.rsplit(".", 1)[-1]
    return sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests").glob("test_*.py")
                  if module in p.read_text() or f"import {leaf}" in p.read_text()) or ["tests"]


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def merge(results: dict) -> dict:
    """Each survivor's reason or killing test, from reasons.json; the totals."""
    reasons = json.loads(REASONS.read_text()) if REASONS.exists() else {}
    totals = {"killed": 0, "survived": 0, "timeout": 0, "no tests": 0, "suspicious": 0, "skipped": 0}
    unexplained = []
    for module in results["modules"].values():
        for status, n in module["counts"].items():
            totals[status] = totals.get(status, 0) + n
        for name, survivor in module["survivors"].items():
            survivor.pop("reason", None), survivor.pop("test", None)
            # A key may be a glob (sigact.tools.parity.x_cpu_mode_passes__mutmut_*) for a whole function's mutants.
            survivor.update(reasons.get(name) or next((v for k, v in reasons.items() if fnmatch.fnmatch(name, k)), {}))
            # A test named for a mutant that still survived is a claim no run has confirmed: `--again` does.
            if "reason" not in survivor and survivor["status"] not in ("timeout", "not checked"):
                unexplained.append(name)
    results["totals"] = totals
    results["unexplained"] = unexplained
    results["not_run"] = [path for path in MODULES if path not in results["modules"]]
    return results


def load() -> dict:
    """The committed results, less those of files that no longer exist (moved or split)."""
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {"modules": {}}
    for path in [path for path in results["modules"] if not (ROOT / path).exists()]:
        print(f"dropping the results of {path}: the file is gone")
        del results["modules"][path]
    return results


def save(path: str | None = None, entry: dict | None = None) -> dict:
    """Read, update and write the JSON at once, so that runs of different files side by side keep each other's."""
    results = load()
    if path is not None:
        results["modules"][path] = entry
    RESULTS.write_text(json.dumps(merge(results), indent=1) + "\n")
    write_pages()
    return results


def write_pages() -> None:
    """docs/verification.md from the JSON just written: a results file its page does not match fails
    tests/test_generate.py, which is in cli.py's selection, before a single mutant runs."""
    subprocess.run([sys.executable, str(ROOT / "docs" / "generate.py")], check=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", help=f"files to mutate (default: {' '.join(MODULES)})")
    parser.add_argument("--max-children", type=int, default=2, help="mutants run at once (default 2)")
    parser.add_argument("--report", action="store_true", help="only merge reasons.json into the JSON again")
    parser.add_argument("--again", action="store_true",
                        help="rerun only the last run's survivors of each file: in its kept copy under mutants/, "
                             "or, in a fresh clone, those the committed JSON lists")
    args = parser.parse_args(argv)
    stopped = []
    if not args.report:
        import mutmut

        tree = snapshot()
        try:
            for path in args.files or list(MODULES):
                print(f"mutmut on {path} ...", flush=True)
                entry = {**run_one(path, tree, args.max_children, args.again),
                         "date": datetime.date.today().isoformat(), "machine": machine(), "mutmut": mutmut.__version__}
                previous = load()["modules"].get(path, {})
                if previous and not entry["complete"]:
                    # A run cut short (a crashed fork server, tests that fail unmutated) knows less than the
                    # run it would replace.
                    print(f"  mutmut stopped before the end ({entry['counts']}): {path}'s recorded results are "
                          f"kept; see mutants/{path.replace('/', '_').removesuffix('.py')}/mutmut.log", flush=True)
                    stopped.append(path)
                    continue
                if args.again and previous:  # "seconds" stays the whole run's time: what `make mutate` costs
                    entry["again_seconds"], entry["seconds"] = entry["seconds"], previous.get("seconds", 0)
                print(f"  {entry['counts']} in {entry['seconds']} s", flush=True)
                save(path, entry)
        finally:
            shutil.rmtree(tree)
    results = save()
    for name in results["unexplained"]:
        print(f"survived, with no test or reason in {REASONS.relative_to(ROOT)}: {name}")
    return 1 if results["unexplained"] or stopped else 0


if __name__ == "__main__":
    sys.exit(main())
