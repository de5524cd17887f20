"""What docs/memory.md, docs/training.md and docs/benchmarks.md say of the committed benchmark runs
(docs/results/) beyond their figures, which docs/generate.py writes from the same files
(tests/test_generate.py): gradients bitwise equal in every row, and temp memory, a property of the
compiled program, the same in every run."""

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "docs" / "results"


def runs(pattern: str, section: str) -> list[dict]:
    found = [json.loads(p.read_text())[section] for p in sorted(RESULTS.glob(pattern))]
    assert found, pattern
    return found


def test_the_trade_off_runs_agree_on_memory_and_gradients():
    tradeoff = runs("tradeoff-cpu-*.json", "tradeoff")
    assert all([r["temp_bytes"] for r in run["rows"]] == [r["temp_bytes"] for r in tradeoff[0]["rows"]]
               for run in tradeoff)
    assert all(r["gradients_bitwise_equal"] for run in tradeoff for r in run["rows"])


def test_the_reach_run_has_bitwise_gradients_and_the_swap_never_costs_memory():
    for r in runs("reach-cpu.json", "reach")[0]["rows"]:
        assert r["gradients_bitwise_equal"], r["name"]
        assert r["swap_temp_bytes"] <= r["swap_sigmoid_temp_bytes"] <= r["builtin_temp_bytes"], r["name"]


def test_the_swap_runs_agree_on_memory():
    swap = runs("swap-cpu-*.json", "swap")
    assert all(run["memory"] == swap[0]["memory"] for run in swap)


def test_the_trade_off_figure_is_committed():
    assert (ROOT / "docs" / "figures" / "tradeoff.png").read_bytes().startswith(b"\x89PNG")
