"""The trade-off, reach and swap figures in docs/memory.md, docs/training.md and docs/benchmarks.md
are the ones in the committed benchmark JSON (docs/results/), which `python benchmarks/run.py --only
tradeoff`, `--only reach` and `--only swap` write: no figure on those pages is typed by hand."""

import json
import statistics
from pathlib import Path

import pytest

from sigact._audit_report import human_bytes
from sigact.report import format_duration

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "docs" / "results"
TRADEOFF_RUNS = sorted(RESULTS.glob("tradeoff-cpu-*.json"))
SWAP_RUNS = sorted(RESULTS.glob("swap-cpu-*.json"))


def cells(page: str, first: str, second: str | None = None) -> list[str]:
    """The cells of the table row whose first cells are ``first`` (and ``second``)."""
    for line in (ROOT / "docs" / page).read_text().splitlines():
        row = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and row[0] == first and (second is None or row[1] == second):
            return row
    raise AssertionError(f"no row {first!r} {second!r} in {page}")


def test_the_trade_off_table_is_the_committed_runs():
    assert len(TRADEOFF_RUNS) >= 3
    runs = [json.loads(p.read_text())["tradeoff"] for p in TRADEOFF_RUNS]
    # The page says the temp bytes are the same in every run, and the gradients bitwise in every row.
    assert all([r["temp_bytes"] for r in run["rows"]] == [r["temp_bytes"] for r in runs[0]["rows"]] for run in runs)
    assert all(r["gradients_bitwise_equal"] for run in runs for r in run["rows"])
    for i, r in enumerate(runs[0]["rows"]):
        configuration = f"{'swap' if r['swap'] == 'swap' else 'built-in'}, {r['remat'] or 'no remat'}"
        row = cells("memory.md", r["model"].split(",")[0], configuration)
        assert row[2] == f"{r['temp_bytes'] / 2**20:.1f} MiB" and row[3] == f"{r['temp_ratio']:.2f}", row
        assert row[4] == ", ".join(f"{run['rows'][i]['time_ratio']:.2f}" for run in runs), row


def test_the_memory_page_says_which_targets_were_met_and_which_missed():
    page = (ROOT / "docs" / "memory.md").read_text()
    targets = json.loads(TRADEOFF_RUNS[0].read_text())["tradeoff"]["targets"]
    assert targets
    for t in targets:
        line = f"- {t['target'].replace(' x ', ' × ').replace('<=', '≤')}: {t['measured']:.3f}, "
        assert line + ("met" if t["met"] else "**missed**") in page, line


def test_the_reach_table_is_the_committed_run():
    rows = json.loads((RESULTS / "reach-cpu.json").read_text())["reach"]["rows"]
    assert len(rows) == 13 and all(r["gradients_bitwise_equal"] for r in rows)
    for r in rows:
        b = r["builtin_temp_bytes"]
        row = cells("training.md", r["name"].split(", x")[0])
        assert row[1:] == [f"{b / 2**20:.1f} MiB", f"{r['swap_sigmoid_temp_bytes'] / b:.2f}",
                           f"{r['swap_temp_bytes'] / b:.2f}", "yes"], row


@pytest.mark.parametrize("name", ["tradeoff.png"])
def test_the_trade_off_figure_is_committed(name):
    assert (ROOT / "docs" / "figures" / name).read_bytes().startswith(b"\x89PNG")


def test_where_a_layer_cannot_gain_quotes_the_reach_table():
    rows = {r["name"].split(", x")[0]: r for r in json.loads((RESULTS / "reach-cpu.json").read_text())["reach"]["rows"]}
    fraction = {name: {k: r[f"{k}_temp_bytes"] / r["builtin_temp_bytes"] for k in ("swap_sigmoid", "swap")}
                for name, r in rows.items()}
    text = " ".join((ROOT / "docs" / "training.md").read_text().split("**Where a layer cannot gain.**")[1]
                    .split("\n\n")[0].split())
    haiku, flax, keras = (fraction[n] for n in ("Haiku GRU, hk.dynamic_unroll", "Flax GRUCell, nn.RNN",
                                                "Keras GRU, stateless_call"))
    assert f"(`swap_sigmoid` {haiku['swap_sigmoid']:.2f} of the built-in's temp memory)" in text
    assert f"(`swap` {haiku['swap']:.2f}, against {flax['swap']:.2f} for Flax's `GRUCell`)" in text
    assert f"too ({keras['swap']:.2f})" in text


def test_the_swap_section_is_the_committed_runs():
    runs = [json.loads(p.read_text())["swap"] for p in SWAP_RUNS]
    assert len(runs) >= 3
    # The page says temp memory is the same in every run: a property of the compiled program.
    assert all(run["memory"] == runs[0]["memory"] for run in runs)
    for r in runs[0]["memory"]:
        b = r["builtin_temp_bytes"]
        row = cells("benchmarks.md", r["name"])
        swapped = [r[f"{k}_temp_bytes"] for k in ("swap_sigmoid", "swap")]
        assert row[1:] == [human_bytes(b)] + [f"{human_bytes(t)} ({t / b - 1:+.1%})" for t in swapped], row
    page = (ROOT / "docs" / "benchmarks.md").read_text()
    medians = ", ".join(f"{statistics.median(run['lstm_step']['ratios']):.3f}" for run in runs)
    assert f"**{medians}**" in page, medians
    every_pair = sorted(ratio for run in runs for ratio in run["lstm_step"]["ratios"])
    assert f"from {every_pair[0]:.2f} to {every_pair[-1]:.2f}" in page
    for i, r in enumerate(runs[0]["eager"]):
        row = cells("benchmarks.md", r["function"])
        ratios = ", ".join(f"{run['eager'][i]['sigact_s'] / run['eager'][i]['builtin_s']:.2f}" for run in runs)
        assert row[1:] == [format_duration(r["builtin_s"]), format_duration(r["sigact_s"]), ratios], row


def test_the_plan_tables_are_the_committed_run():
    import importlib.util

    pytest.importorskip("jax")  # the renderers live in the benchmark, which imports sigact.jax
    spec = importlib.util.spec_from_file_location("plan_models", ROOT / "benchmarks" / "plan_models.py")
    plan_models = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(plan_models)
    results = json.loads((RESULTS / "plan-cpu.json").read_text())
    assert results["command"] and results["timestamp"] and results["versions"]["jax"] and results["machine"]
    page = (ROOT / "docs" / "memory.md").read_text()
    assert len(results["plans"]) == 3
    for plan in results["plans"]:
        # The page says every candidate was bitwise, on all three models.
        assert all(r["bitwise"] for r in plan["rows"]), plan["model"]
        assert plan_models.plan_table(plan) in page, plan["model"]
    assert plan_models.largest_table(results["largest"]) in page
