"""The benchmark script runs end to end (a smoke run: it times nothing that is asserted)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "run.py"


@pytest.mark.slow
def test_quick_benchmark_run_prints_every_section_and_writes_json(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("jax")
    out = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--json", str(tmp_path / "b.json")],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    for heading in ("## Elementwise", "## Training step", "## In place", "## swap_sigmoid and swap under jit",
                    "## Reach", "## Trade-off", "Targets:"):
        assert heading in out.stdout
    results = json.loads((tmp_path / "b.json").read_text())
    # What the pages name beside each table (docs/generate.py's provenance): command, date, versions, load.
    assert results["command"].endswith(f"--quick --json {tmp_path / 'b.json'}") and results["date"]
    assert set(results["versions"]) >= {"torch", "jax", "sigact"} and "load_average_1min_end" in results["machine"]
    timed = {(r["framework"], r["execution"], r["dtype"]) for r in results["elementwise"]["speed"]}
    assert {("torch", "eager", "float32"), ("torch", "compile", "bfloat16"), ("jax", "jit", "float32")} <= timed
    assert {r["model"].split(",")[0] for r in results["training"]["steps"]} == {"MLP 8 x 128", "SE-CNN"}
    peaks = {r["activation"]: r["forward_peak_bytes"] for r in results["inplace"]["rows"]}
    batch, width = results["inplace"]["batch"], results["inplace"]["width"]
    activation_bytes, output_bytes = batch * 4 * width * 4, batch * width * 4
    # The in-place module allocates no output. Out of place, the forward peak is the Linear's
    # output and the activation (both 4w wide); in place it is the activation and the last
    # Linear's output (w wide). Same as the built-in in place, to within a few bytes of bookkeeping.
    inplace = peaks["sigact Sigmoid(inplace=True)"]
    assert abs(inplace - peaks["Tensor.sigmoid_"]) < 1024
    assert abs(peaks["nn.Sigmoid"] - inplace - (activation_bytes - output_bytes)) < 1024
    swap = results["swap"]
    assert len(swap["memory"]) == 3 and len(swap["lstm_step"]["ratios"]) >= 3 and len(swap["eager"]) == 3
    reach, tradeoff = results["reach"]["rows"], results["tradeoff"]
    assert [r["name"].split(",")[0] for r in reach] == ["Flax LSTMCell"]
    assert all(r["gradients_bitwise_equal"] for r in reach)
    assert all(r["swap_temp_bytes"] < r["builtin_temp_bytes"] for r in reach)
    # Two models in six configurations, each pair bitwise; the swap never costs memory under a policy.
    assert len(tradeoff["rows"]) == 12 and all(r["gradients_bitwise_equal"] for r in tradeoff["rows"])
    assert all(t["met"] for t in tradeoff["targets"] if "built-in's" in t["target"])
