"""``make gpu-check``: what sigact claims on an NVIDIA GPU, checked and measured in one command.

Four steps, each recorded as passed, failed or skipped (with why):

1. ``sigact verify --framework torch --device cuda``: every float16 and bfloat16 input, a float32
   sample, every mode, "sigmoid, no Triton" (the tensor-op path the kernel replaces) included;
2. the CUDA tests: pytest ``-k cuda`` over the test files that mention CUDA (a test that needs a
   GPU says ``cuda`` in its name);
3. the Triton backward's throughput (``sigact.torch._triton.sigmoid_grad``) against a
   device-to-device copy and against torch's built-in backward (``aten::sigmoid_backward``), at
   2^20 to 2^28 elements in float32, bfloat16 and float16: CUDA events, medians of interleaved
   rounds, GB/s counting bytes read and written, and the outputs compared bit for bit (gpu_throughput.py);
4. ``sigact verify --framework jax --device gpu``, where a CUDA jaxlib is installed.

It writes ``docs/results/gpu-<GPU name>.json`` (the machine, versions, date and every step) and
renders the GPU section of docs/benchmarks.md from all such files (``benchmarks/gpu_page.py``).
It takes a few minutes; each step has its own time limit (180 + 90 + 30 + 90 s for the
subprocesses, and the throughput itself is seconds), so the whole stays under 8.

Exit status: 0 when every step that ran passed, 1 when one failed, 2 when there is no GPU (then it
runs and writes nothing).

On a GPU machine without internet, where ``make`` cannot set up .venv, give it a Python that has a
CUDA torch, triton and pytest, and a folder to copy the results file and the page to if the
checkout itself does not come back::

    make gpu-check GPU_PYTHON=python3 ARGS="--out /some/dir --commit $(git rev-parse --short HEAD)"
    python3 benchmarks/gpu_check.py --out /some/dir     # the same, where there is no make
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this checkout's sigact, also where it is not installed

import gpu_page  # noqa: E402  (beside this file)
from gpu_throughput import throughput  # noqa: E402

# Seconds each step may take; together under the 8 minutes the command promises.
LIMITS = {"verify_torch": 180, "cuda_tests": 90, "jax_probe": 30, "verify_jax": 90}


def no_gpu_reason() -> str | None:
    """Why this machine cannot run the check, or None when it can."""
    try:
        import torch
    except ImportError as error:
        return f"torch is not installed ({error})"
    if torch.version.cuda is None:
        return f"torch {torch.__version__} is a CPU-only build (torch.version.cuda is None)"
    if not torch.cuda.is_available():
        visible = os.environ.get("CUDA_VISIBLE_DEVICES")
        hint = f"; CUDA_VISIBLE_DEVICES={visible!r}" if visible is not None else ""
        return f"torch.cuda.is_available() is False: no NVIDIA GPU or driver is visible{hint}"
    return None


def _nvidia_smi(field: str) -> str | None:
    if shutil.which("nvidia-smi") is None:
        return None
    out = subprocess.run(["nvidia-smi", f"--query-gpu={field}", "--format=csv,noheader"],
                         capture_output=True, text=True)
    return out.stdout.splitlines()[0].strip() if out.returncode == 0 and out.stdout.strip() else None


def git_commit() -> str | None:
    out = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"], capture_output=True, text=True)
    return out.stdout.strip() if out.returncode == 0 else None


def machine(commit: str | None) -> dict[str, Any]:
    import torch

    from sigact.tools.machine import machine as host
    from sigact.tools.machine import versions

    props = torch.cuda.get_device_properties(0)
    return {
        "gpu": props.name,
        "gpus": torch.cuda.device_count(),
        "compute_capability": f"{props.major}.{props.minor}",
        "gpu_memory_gib": round(props.total_memory / 2**30, 1),
        "multiprocessors": props.multi_processor_count,
        "l2_cache_mib": round(getattr(props, "L2_cache_size", 0) / 2**20, 1) or None,
        "driver": _nvidia_smi("driver_version"),
        "cuda": torch.version.cuda,
        "host": host(),
        "python": platform.python_version(),
        "versions": versions(),
        "commit": commit,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def _run(command: list[str], limit: float, env: dict[str, str] | None = None) -> tuple[int | None, str, float]:
    """(exit status or None on timeout, the output's tail, seconds)."""
    start = time.perf_counter()
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=limit, cwd=ROOT,
                             env={**os.environ, **(env or {})})
        code, text = out.returncode, out.stdout + out.stderr
    except subprocess.TimeoutExpired as error:
        partial = error.stdout or b""  # bytes, even with text=True
        code, text = None, f"timed out after {limit:.0f} s\n" + (
            partial.decode(errors="replace") if isinstance(partial, bytes) else partial)
    return code, text[-4000:], round(time.perf_counter() - start, 1)


def verify(framework: str, device: str, limit: float, env: dict[str, str] | None = None,
           only: tuple[str, ...] = ()) -> dict[str, Any]:
    """``sigact verify`` in a subprocess (``only``: more options, e.g. a --dtype, for tests)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "verify.json"
        command = [sys.executable, "-m", "sigact", "verify", "--framework", framework, "--device", device,
                   "--json", str(path), "--no-progress", *only]
        code, output, seconds = _run(command, limit, env)
        rows = json.loads(path.read_text())["results"] if path.exists() else []
    checked = [r for r in rows if r.get("available", True)]
    inputs = sum(r.get("inputs", 0) for r in checked)
    step = {"command": "sigact " + " ".join([*command[3:8], *only]), "exit_code": code, "seconds": seconds,
            "inputs": inputs, "modes": sorted({r["mode"] for r in checked}), "rows": rows}
    if code != 0 or inputs == 0:
        step.update(status="failed", output=output)
    else:
        step["status"] = "passed"
    return step


def verify_torch(limit: float) -> dict[str, Any]:
    step = verify("torch", "cuda", limit)
    if step["status"] == "passed" and "sigmoid, no Triton" not in step["modes"]:
        step.update(status="failed", output="no 'sigmoid, no Triton' rows: the tensor-op CUDA path went unchecked")
    return step


def verify_jax(limit: float) -> dict[str, Any]:
    # JAX takes most of the GPU's memory at start unless told not to; it runs alone here anyway.
    env = {"XLA_PYTHON_CLIENT_PREALLOCATE": "false"}
    code, output, _ = _run([sys.executable, "-c", "import jax; print(jax.devices('gpu'))"], LIMITS["jax_probe"], env)
    if code != 0:
        last = output.strip().splitlines()[-1] if output.strip() else f"exit {code}"
        return {"status": "skipped", "reason": f"no CUDA jaxlib: jax.devices('gpu') failed: {last[:200]}"}
    return verify("jax", "gpu", limit, env)


def cuda_test_files() -> list[str]:
    return sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests").glob("test_*.py") if "cuda" in p.read_text())


def _xdist_installed() -> bool:
    return importlib.util.find_spec("xdist") is not None


def cuda_tests(limit: float, files: list[str] | None = None, keyword: str = "cuda") -> dict[str, Any]:
    files = files or cuda_test_files()
    # In one process. "-n 0" only where pytest-xdist is there to read it: GPU_PYTHON may have pytest alone,
    # and pytest rejects an option no installed plugin declares (exit 4, no test run).
    serial = ["-n", "0"] if _xdist_installed() else []
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "junit.xml"
        command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *serial, "-q", "-k", keyword,
                   f"--junitxml={report}", *files]
        code, output, seconds = _run(command, limit)
        tests = []
        if report.exists():
            for case in ElementTree.parse(report).iter("testcase"):
                outcome = next((child.tag for child in case if child.tag in ("failure", "error", "skipped")), "passed")
                detail = next((child.get("message", "") for child in case if child.tag != "system-out"), "")
                tests.append({"name": f"{case.get('classname')}::{case.get('name')}", "outcome": outcome,
                              **({"detail": detail[:300]} if outcome != "passed" else {})})
    counts = {outcome: sum(t["outcome"] == outcome for t in tests) for outcome in ("passed", "failure", "error",
                                                                                    "skipped")}
    step = {"command": f"pytest -k {keyword} " + " ".join(files), "exit_code": code, "seconds": seconds,
            "passed": counts["passed"], "failed": counts["failure"] + counts["error"], "skipped": counts["skipped"],
            "tests": tests}
    ok = code == 0 and step["failed"] == 0 and step["passed"] > 0
    step["status"] = "passed" if ok else "failed"
    if not ok:
        step["output"] = output
    return step


def slug(gpu_name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", gpu_name.lower()).strip("-")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--results", type=Path, default=ROOT / "docs" / "results", help="where gpu-*.json go")
    p.add_argument("--page", type=Path, default=gpu_page.PAGE, help="the page whose GPU section is rendered")
    p.add_argument("--commit", help="the commit checked, where this is no git checkout (default: git describe)")
    p.add_argument("--out", type=Path, help="also copy the results file and the page here (for a machine whose "
                   "checkout does not come back)")
    args = p.parse_args(argv)

    if reason := no_gpu_reason():
        print(f"gpu-check: no GPU to check: {reason}. Nothing was run or written; run it on a machine "
              f"with an NVIDIA GPU and a CUDA build of torch.", file=sys.stderr)
        return 2
    began = time.perf_counter()
    results: dict[str, Any] = {"command": "make gpu-check", "machine": machine(args.commit or git_commit()),
                               "steps": {}}
    print(f"gpu-check on {results['machine']['gpu']}, driver {results['machine']['driver']}, "
          f"CUDA {results['machine']['cuda']}", flush=True)
    steps = [("verify_torch", lambda: verify_torch(LIMITS["verify_torch"])),
             ("cuda_tests", lambda: cuda_tests(LIMITS["cuda_tests"])),
             ("throughput", throughput),
             ("verify_jax", lambda: verify_jax(LIMITS["verify_jax"]))]
    for name, step in steps:
        try:
            outcome = step()
        except Exception as error:  # one broken step must not lose the others' results
            outcome = {"status": "failed", "output": f"{type(error).__name__}: {error}"}
        results["steps"][name] = outcome
        print(f"  {name}: {outcome['status']}" + (f" ({outcome['reason']})" if "reason" in outcome else ""),
              flush=True)
        if outcome["status"] == "failed":
            print("    " + outcome.get("output", "").strip().replace("\n", "\n    ")[-3000:], flush=True)
    results["seconds"] = round(time.perf_counter() - began, 1)
    results["passed"] = all(s["status"] != "failed" for s in results["steps"].values())

    args.results.mkdir(parents=True, exist_ok=True)
    path = args.results / f"gpu-{slug(results['machine']['gpu'])}.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    gpu_page.write(args.page, gpu_page.render(gpu_page.load(args.results)))
    print(f"results written to {path}; GPU section of {args.page} rendered")
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        for written in (path, args.page):
            shutil.copy(written, args.out / written.name)
        print(f"both copied to {args.out}")
    print(gpu_page.render_throughput(results["steps"]["throughput"]))
    return 0 if results["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
