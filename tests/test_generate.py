"""docs/generate.py: each renderer, JSON in and Markdown out, on small made-up results; the regions of
every page; and that the committed pages are what the committed JSON gives, so a results file changed
without `make docs` (which runs the generator) fails here, and one changed with it passes.

No test here holds a figure of one run: the made-up numbers below are the renderers' inputs, and the
committed pages are compared with the generator's output, whatever the committed JSON says."""

import copy
import importlib.util
import json
import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "docs" / "results"

_spec = importlib.util.spec_from_file_location("generate", ROOT / "docs" / "generate.py")
generate = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(generate)

MACHINE = {"cpu": "Test CPU 9000", "cores": 3, "memory_bytes": 3 * 2**30, "platform": "Linux-test",
           "python": "3.99.0", "load_average_1min": 1.5, "load_average_1min_end": 2.25}
META = {"command": "python benchmarks/run.py --only x", "date": "2000-01-02 03:04 UTC", "machine": MACHINE,
        "versions": {"torch": "9.9.9", "torch_threads": 3, "jax": "8.8.8", "sigact": "7.7.7"}}


def speed(framework, execution, dtype, n, builtin, sigact, naive):
    return {"framework": framework, "execution": execution, "dtype": dtype, "n": n, "builtin_s": builtin,
            "sigact_s": sigact, "naive_s": naive}


ELEMENTWISE = {**META, "elementwise": {"speed": [
    speed("torch", "eager", "float32", 2**10, 10e-6, 25e-6, 40e-6),
    speed("torch", "eager", "float32", 2**20, 1e-3, 1.5e-3, 4e-3),
    speed("torch", "eager", "float32", 2**22, 4e-3, 7e-3, 20e-3),
    speed("torch", "compile", "float32", 2**10, 50e-6, 49e-6, 60e-6),
    speed("torch", "eager", "bfloat16", 2**10, 12e-6, 30e-6, 44e-6),
    speed("jax", "jit", "float32", 2**10, 20e-6, 21e-6, 30e-6),
]}}
TRAINING = {**META, "training": {"steps": [
    {"framework": "torch", "model": "MLP 8 x 1024, batch 256", "mode": mode, "builtin_s": 0.04, "sigact_s": s}
    for mode, s in (("eager", 0.0412), ("compile", 0.0404))] + [
    {"framework": "torch", "model": "SE-CNN, batch 32", "mode": "compile", "builtin_s": 2e-3, "sigact_s": 2.2e-3},
    {"framework": "jax", "model": "MLP 8 x 1024, batch 256", "mode": "jit", "builtin_s": 0.05, "sigact_s": 0.049}]}}
INPLACE = {**META, "inplace": {"batch": 8, "width": 16, "rows": [
    {"activation": "nn.Sigmoid", "seconds": 0.1, "forward_peak_bytes": 32 * 2**20, "step_peak_bytes": 48 * 2**20},
    {"activation": "sigact Sigmoid(inplace=True)", "seconds": 0.105, "forward_peak_bytes": 21 * 2**20,
     "step_peak_bytes": 48 * 2**20}]}}
REPORT = {"command": "sigact report", "date": "2000-01-02", "seconds": 123.4, "sigact": "7.7.7", "quick": False,
          "machine": MACHINE, "allocator_keeps_freed_memory": True,
          "torch": {"installed": True, "version": "9.9.9", "correctness": [{"check": "parity", "passed": True}],
                    "memory_detail": {}, "speed": [{"execution": "eager", "n": 2**22, "builtin_s": 2e-3,
                                                    "sigact_s": 2.6e-3, "naive_s": 6e-3}],
                    "models": [], "skipped": []},
          "jax": {"installed": False, "reason": "not here"}}


def swap_run(scale):
    return {**META, "swap": {
        "memory": [{"name": "Cell A", "builtin_temp_bytes": 100 * 2**20, "swap_sigmoid_temp_bytes": 80 * 2**20,
                    "swap_temp_bytes": 50 * 2**20}],
        "lstm_step": {"ratios": [0.9 * scale, 1.0 * scale, 1.1 * scale]},
        "eager": [{"function": "f, 2^10 elements", "builtin_s": 1e-5, "sigact_s": 3e-5 * scale}]}}


def tradeoff_run(time_ratio):
    rows = [{"model": "Cell A, nn.RNN, x 1", "swap": swap, "remat": remat, "temp_bytes": mib * 2**20,
             "temp_ratio": mib / 100, "time_ratio": 1.0 if swap == "builtin" and remat is None else time_ratio,
             "seconds": 1.0, "gradients_bitwise_equal": True}
            for swap, remat, mib in (("builtin", None, 100), ("swap", None, 66), ("swap", "nothing_saveable", 30))]
    return {**META, "tradeoff": {"rows": rows, "targets": [
        {"target": "Cell A: swap temp <= 0.7 x built-in", "measured": 0.66, "met": True},
        {"target": "Cell A: swap step time <= 1.03 x built-in", "measured": 1.2, "met": False}]}}


REACH = {**META, "reach": {"rows": [
    {"name": f"{name}, x 32x128x256, 256 features", "gradients_bitwise_equal": True, "builtin_temp_bytes": 64 * 2**20,
     "swap_sigmoid_temp_bytes": 48 * 2**20, "swap_temp_bytes": 40 * 2**20}
    for name in ("Flax LSTMCell, nn.RNN", "Some Other Cell")]}}


def verify_row(dtype, mode, known=0, inputs=2**32, seconds=12.6):
    return {"framework": "torch", "device": "cpu", "dtype": dtype, "mode": mode, "inputs": inputs,
            "forward_mismatches": 0, "backward_mismatches": 0, "known_differences": known, "seconds": seconds,
            "available": True}


VERIFY = {"command": "sigact verify --full", "date": "2000-01-02", "commit": "abc1234", "wall_seconds": 600,
          "machine": MACHINE, "versions": {"torch": "9.9.9"},
          "results": [verify_row("float32", "sigmoid"), verify_row("float32", "jvp", seconds=20.4),
                      verify_row("complex64", "jvp", known=2, inputs=10)]}

def plan_row(name, mib, seconds, same_as=None, on_front=False, bitwise=True):
    return {"name": name, "temp_bytes": mib * 2**20, "argument_bytes": 2**20, "output_bytes": 2**20,
            "step_seconds": seconds, "bitwise": bitwise, "on_front": on_front, "same_as": same_as}


PLAN = {"command": "python benchmarks/plan_models.py", "timestamp": "2000-01-02T03:04:05Z", "machine": MACHINE,
        "versions": {"jax": "8.8.8", "sigact": "7.7.7"},
        "plans": [{"model": "Cell A, x 4x8", "wall_s": 12.4, "rounds": 3, "advice": "Use swap: fewest bytes.", "rows": [
            plan_row("builtin", 100, 2.0), plan_row("swap", 50, 1.5, on_front=True),
            plan_row("swap + remat_scans(p)", 50, 1.5, same_as="swap"),
            plan_row("remat_scans(p)", 30, 3.0, on_front=True, bitwise=False)]}],
        "largest": [{"temp_only": temp_only, "budget_bytes": 64 * 2**20, "compilations": {"builtin": 7, "swap": 9},
                     "largest": {"builtin": 10, "swap": 15 if temp_only else None}} for temp_only in (True, False)]}
MUTATION = {"modules": {"sigact/a.py": {
    "seconds": 60, "complete": False, "date": "2000-01-02", "machine": "Test CPU, 3 cores", "note": "Stopped early.",
    "counts": {"killed": 7, "survived": 3, "no tests": 1, "not checked": 4, "suspicious": 2},
    "survivors": {"sigact.a.x_f__mutmut_2": {"status": "survived", "diff": "-a\n+b"},
                  "sigact.a.x_f__mutmut_10": {"status": "survived", "test": "tests/test_a.py::test_f"},
                  "sigact.a.x_f__mutmut_1": {"status": "survived", "diff": "-a\n+c"},
                  "sigact.a.xǁCǁm__mutmut_3": {"status": "no tests", "reason": "Only the report calls it."}}}},
    "not_run": ["sigact/b.py", "sigact/c.py"]}

# One sample per renderer: a renderer added to RENDERERS without one fails test_every_renderer_has_a_sample.
SAMPLES = {
    "provenance": [ELEMENTWISE, TRAINING],
    "elementwise.float32": [ELEMENTWISE],
    "elementwise.bfloat16": [ELEMENTWISE],
    "training": [TRAINING],
    "inplace": [INPLACE],
    "targets": [ELEMENTWISE, TRAINING, INPLACE, REPORT],
    "swap.memory": [swap_run(1), swap_run(1.2)],
    "swap.lstm_step": [swap_run(1), swap_run(1.2)],
    "swap.eager": [swap_run(1), swap_run(1.2)],
    "report": [REPORT],
    "tradeoff.table": [tradeoff_run(0.8), tradeoff_run(1.3)],
    "tradeoff.targets": [tradeoff_run(0.8)],
    "reach": [REACH],
    "reach.readme": [REACH],
    "readme.torch": [ELEMENTWISE],
    "verify.float32": [VERIFY],
    "verify.known": [VERIFY],
    "plan.models": [PLAN],
    "plan.largest": [PLAN],
    "mutation": [MUTATION],
    "cli": [],
}


def rendered(name):
    return generate.RENDERERS[name](copy.deepcopy(SAMPLES[name]))


def test_every_renderer_has_a_sample():
    assert sorted(SAMPLES) == sorted(generate.RENDERERS)


def test_provenance_names_command_date_machine_load_and_versions():
    text = rendered("provenance")
    assert "- `python benchmarks/run.py --only x`, 2000-01-02 03:04 UTC" in text
    # Two runs on one machine: the machine is named once.
    assert text.count("Test CPU 9000, 3 cores, 3.0 GiB memory") == 1
    assert "load average 1.50 at the start, 2.25 at the end" in text
    assert "torch 9.9.9 (3 threads), jax 8.8.8, sigact 7.7.7" in text


def test_provenance_says_not_recorded_for_what_a_file_lacks():
    text = generate.RENDERERS["provenance"]([{"machine": {k: v for k, v in MACHINE.items() if "load" not in k}}])
    assert "- `not recorded`, not recorded" in text
    assert "load average not recorded" in text and "torch not recorded" in text


def test_elementwise_rows_are_the_dtypes_with_ratios_to_the_built_in():
    text = rendered("elementwise.float32")
    assert "| torch eager | float32 | 2^20 | 1 ms | 1.5 ms | 1.50 | 4 ms | 4.00 |" in text
    assert "| jax jit | float32 | 2^10 | 20 µs | 21 µs | 1.05 | 30 µs | 1.50 |" in text
    assert "bfloat16" not in text
    assert "| torch eager | bfloat16 | 2^10 | 12 µs | 30 µs | 2.50 |" in rendered("elementwise.bfloat16")


def test_training_and_inplace_tables():
    assert "| torch | MLP 8 x 1024, batch 256 | eager | 40 ms | 41.2 ms | 1.030 |" in rendered("training")
    text = rendered("inplace")
    assert text.startswith("Linear(16, 64) -> activation -> Linear(64, 16), batch 8")
    assert "| sigact Sigmoid(inplace=True) | 105 ms | 1.050 | 21.00 MiB (-11.00) | 48.00 MiB (+0.00) |" in text


def test_targets_are_judged_from_the_figures():
    text = rendered("targets")
    assert "**1.75** (benchmark), 1.30 (report) | **missed** |" in text  # 7/4 > 1.6
    assert "**1.030** eager, 1.010 compiled | met |" in text
    assert "**1.010** (MLP), **1.100** (SE-CNN) | **missed** |" in text
    assert "**0.980** (MLP step); elementwise 1.05 to 1.05 in float32 | met |" in text
    assert "**15 µs** per forward+backward (25 µs against 10 µs)" in text
    assert "forward peak **-11 MiB** against `nn.Sigmoid`; time 1.050" in text


def test_swap_renderers_show_each_run():
    assert "| Cell A | 100.0 MiB | 80.0 MiB (-20.0%) | 50.0 MiB (-50.0%) |" in rendered("swap.memory")
    assert "the same in every run" in rendered("swap.memory")
    differing = [swap_run(1), swap_run(1)]
    differing[1]["swap"]["memory"][0]["swap_temp_bytes"] += 1
    assert "**the runs differ**" in generate.RENDERERS["swap.memory"](differing)
    text = rendered("swap.lstm_step")
    assert "median of 3 pairwise ratios" in text and "**1.000, 1.200**" in text
    assert "from 0.90 to 1.32" in text
    assert "| f, 2^10 elements | 10 µs | 30 µs | 3.00, 3.60 |" in rendered("swap.eager")


def test_report_is_the_reports_own_text_of_the_json():
    text = rendered("report")
    assert "`sigact report`, 2000-01-02, wall time 123 s, 1-minute load average 1.5 at the start" in text
    assert "machine: Test CPU 9000, 3 cores" in text and "eager     2^22       2 ms" in text
    assert "JAX: not installed (not here)" in text and text.endswith("```")


def test_tradeoff_table_and_targets():
    text = rendered("tradeoff.table")
    assert "| Cell A | swap, no remat | 66.0 MiB | 0.66 | 0.80, 1.30 |" in text
    assert "| Cell A | swap, nothing_saveable | 30.0 MiB | 0.30 | 0.80, 1.30 |" in text
    assert rendered("tradeoff.targets") == ("- Cell A: swap temp ≤ 0.7 × built-in: 0.660, met\n"
                                           "- Cell A: swap step time ≤ 1.03 × built-in: 1.200, **missed**")


def test_reach_tables():
    row = "| Flax LSTMCell, nn.RNN | 64.0 MiB | 0.75 | 0.62 | yes |"
    assert row in rendered("reach") and "Some Other Cell" in rendered("reach")
    assert row in rendered("reach.readme") and "Some Other Cell" not in rendered("reach.readme")


def test_readme_torch_sentence():
    text = rendered("readme.torch")
    assert "1.50× the built-in's time at 2^20 elements and 1.75× at 2^22" in text
    assert "0.98 to 0.98× under `torch.compile`" in text and "Test CPU 9000, 3 cores" in text
    assert "load average 1.50 at the start, 2.25 at the end; torch 9.9.9" in text


def test_verify_renderers():
    text = rendered("verify.float32")
    assert "**8,589,934,602 checks, no mismatch.**" in text
    assert "| PyTorch | `jvp` (tangent as backward) | 4,294,967,296 | 0 | 0 | 20 |" in text
    assert "at commit abc1234" in text and "Wall time 600 s (10 minutes)" in text
    broken = copy.deepcopy(VERIFY)
    broken["results"][0]["backward_mismatches"] = 3
    assert "**3 mismatches**" in generate.RENDERERS["verify.float32"]([broken])
    assert rendered("verify.known") == "- torch complex64 `jvp`: 2 elements of the scalar tail"


def test_plan_tables_group_same_programs_and_judge_from_the_figures():
    text = rendered("plan.models")
    assert text.startswith("**Cell A, x 4x8**, 3 timing rounds, plan 12 s:")
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    # Sorted by temp memory; candidates that compiled to one program share its row.
    assert rows == ["| `remat_scans(p)` | 30.0 MiB | 0.30 | 1.50 | **DIFFER** | yes |",
                    "| `swap` = `swap + remat_scans(p)` | 50.0 MiB | 0.50 | 0.75 | bitwise | yes |",
                    "| `builtin` | 100.0 MiB | 1.00 | 1.00 | bitwise |  |"]
    assert text.endswith("> Use swap: fewest bytes.")
    quick = copy.deepcopy(PLAN)  # a --quick run: a few KiB, one round
    quick["plans"][0].update(rounds=1, rows=[plan_row("builtin", 1 / 256, 1.0)])
    assert "1 timing round, plan" in generate.RENDERERS["plan.models"]([quick])
    assert "| `builtin` | 4.0 KiB | 1.00 |" in generate.RENDERERS["plan.models"]([quick])
    assert generate.RENDERERS["provenance"]([PLAN]).startswith(
        "- `python benchmarks/plan_models.py`, 2000-01-02T03:04:05Z")
    assert "versions: jax 8.8.8, sigact 7.7.7" in generate.RENDERERS["provenance"]([PLAN])


def test_largest_table_has_both_budgets_and_says_when_nothing_fits():
    text = rendered("plan.largest")
    assert text.startswith("7 to 9 compilations per candidate and search")
    same = copy.deepcopy(SAMPLES["plan.largest"])
    for search in same[0]["largest"]:
        search["compilations"] = {"builtin": 7, "swap": 7}
    assert generate.RENDERERS["plan.largest"](same).startswith("7 compilations per candidate and search:")
    assert "| candidate | largest batch, 64 MiB of temp memory | / built-in's | largest batch, 64 MiB of temp" in text
    assert "| `builtin` | 10 | 1.00 | 10 | 1.00 |" in text
    assert "| `swap` | 15 | 1.50 | nothing fits | - |" in text


def test_mutation_counts_files_not_run_and_survivors_with_their_answer():
    text = rendered("mutation")
    assert "| `sigact/a.py` | 7 | 3 | 1 | 0 | 4 | 2 | **no** | 2000-01-02 | Test CPU, 3 cores | 60 s |" in text
    assert 'Not run yet: `sigact/b.py`, `sigact/c.py` (`make mutate FILES="sigact/b.py sigact/c.py"`).' in text
    assert "- `sigact/a.py`: Stopped early." in text
    assert "- `sigact.a.f`, survived: mutants 1, 2: no test or reason yet" in text
    assert ("- `sigact.a.f`, survived: mutant 10: `tests/test_a.py::test_f` should kill it; no rerun (`--again`) has"
            " confirmed it yet") in text
    assert "- `sigact.a.C.m`, no tests: mutant 3: Only the report calls it." in text


def test_the_mutation_tables_last_row_is_a_whole_run_summed_and_names_its_machine_only_when_there_is_one():
    # A whole `make mutate` is every file's first run, one after another: its cost is the sum of the rows.
    run = copy.deepcopy(MUTATION)
    run["not_run"] = []
    run["modules"]["sigact/b.py"] = {**run["modules"]["sigact/a.py"], "seconds": 3000, "complete": True,
                                     "counts": {"killed": 5}, "survivors": {}}
    assert ("| **all files** | 12 | 3 | 1 | 0 | 4 | 2 | **no** |  | Test CPU, 3 cores | 3060 s (51 minutes) |"
            in generate.RENDERERS["mutation"]([copy.deepcopy(run)]))
    run["modules"]["sigact/b.py"]["machine"] = "Other CPU, 2 cores"
    run["modules"]["sigact/a.py"]["complete"] = True
    assert ("| **all files** | 12 | 3 | 1 | 0 | 4 | 2 | yes |  | several: the rows' runs, summed "
            "| 3060 s (51 minutes) |" in generate.RENDERERS["mutation"]([run]))


def test_the_cli_reference_lists_every_option_of_every_command_with_its_help():
    import argparse

    from sigact import cli

    text = rendered("cli")
    commands = next(a for a in cli.parser()._actions if isinstance(a, argparse._SubParsersAction)).choices
    assert [f"**`sigact {name}`**: {sub.description}" in text for name, sub in commands.items()] == [True] * 3
    assert "| `--device` | `cpu`, `cuda`, `gpu`, `all` | `all` | cuda and gpu both mean the GPU" in text
    assert "| `--rounds` | `ROUNDS` | `5` | timing rounds (default 5) |" in text
    assert "| `--policy` | `NAME` (repeat it) |  |" in text and "| `--full` | (a switch) |  |" in text
    assert "| `sigact verify` | prove bitwise parity with the built-in sigmoid: every float16/bfloat16 input" in text
    options = [a for sub in commands.values() for a in sub._actions
               if a.option_strings and not isinstance(a, argparse._HelpAction)]
    assert all(f"| `{a.option_strings[0]}`" in text for a in options)


def test_a_renderer_name_defined_in_two_modules_is_an_error():
    import sys
    import types

    join = sys.modules["renderers"].join
    first, second = types.ModuleType("first"), types.ModuleType("second")
    first.RENDERERS, second.RENDERERS = {"a": str, "b": str}, {"b": repr}
    with pytest.raises(ValueError, match=r"defined twice: \['b'\] \(again in second\)"):
        join(first, second)
    assert sorted(join(first)) == ["a", "b"]

REGION = "<!-- generated: {name} from {spec} -->\n{body}<!-- end generated -->"


def test_render_replaces_only_the_region_and_is_idempotent(tmp_path):
    (tmp_path / "r.json").write_text(json.dumps(REACH))
    text = "before\n\n" + REGION.format(name="reach", spec="r.json", body="stale\n") + "\n\nafter\n"
    once = generate.render(text, tmp_path)
    assert once.startswith("before\n\n<!-- generated: reach from r.json -->\n")
    assert once.endswith("<!-- end generated -->\n\nafter\n") and "stale" not in once
    assert "| Flax LSTMCell, nn.RNN | 64.0 MiB |" in once
    assert generate.render(once, tmp_path) == once


def test_a_glob_reads_its_files_in_order(tmp_path):
    for i, scale in enumerate((1, 1.2, 1.5), start=1):
        (tmp_path / f"s-{i}.json").write_text(json.dumps(swap_run(scale)))
    out = generate.render(REGION.format(name="swap.eager", spec="s-*.json", body=""), tmp_path)
    assert "| 3.00, 3.60, 4.50 |" in out


def test_an_unknown_renderer_is_an_error_naming_the_known_ones():
    with pytest.raises(KeyError, match="no renderer 'nope'.*elementwise.float32"):
        generate.render(REGION.format(name="nope", spec="x.json", body=""))


def _regions(page: Path) -> list[tuple[str, str]]:
    return [(m.group(2), m.group(3)) for m in generate.REGION.finditer(page.read_text())]


def test_every_committed_page_is_what_its_json_gives():
    """Fails when a JSON in docs/results/ changed and `make docs` (python docs/generate.py) did not run."""
    stale = [str(page.relative_to(ROOT)) for page in generate.pages()
             if generate.render(page.read_text(), page.parent) != page.read_text()]
    assert not stale, f"run python docs/generate.py: {stale} differ from docs/results/"


# The regions each page must have: a measured table removed from a page (or typed back in by hand)
# fails here.
EXPECTED = {
    "README.md": {"reach.readme", "readme.torch"},
    "docs/benchmarks.md": {"targets", "provenance", "elementwise.float32", "elementwise.bfloat16", "training",
                           "inplace", "swap.memory", "swap.lstm_step", "swap.eager", "report"},
    "docs/memory.md": {"tradeoff.table", "tradeoff.targets", "plan.models", "plan.largest", "provenance"},
    "docs/training.md": {"reach"},
    "docs/api.md": {"cli"},
    "docs/verification.md": {"verify.float32", "verify.known", "mutation"},
}


@pytest.mark.parametrize("page", sorted(EXPECTED))
def test_each_page_has_its_generated_regions(page):
    assert {name for name, _ in _regions(ROOT / page)} >= EXPECTED[page]


def test_every_committed_results_file_is_on_a_page():
    named = {p.resolve() for page in generate.pages() for _, spec in _regions(page)
             for pattern in spec.split() for p in page.parent.glob(pattern)}
    unused = [p.name for p in RESULTS.glob("*.json") if p.resolve() not in named and not p.name.startswith("gpu-")]
    assert not unused, f"results files no page shows: {unused}"


def test_a_changed_json_changes_the_page_and_nothing_else(tmp_path):
    """The issue's bar: perturb a results file, regenerate, and the page shows the new figure."""
    docs = tmp_path / "docs"
    shutil.copytree(RESULTS, docs / "results")
    page = (ROOT / "docs" / "training.md").read_text()
    data = json.loads((docs / "results" / "reach-cpu.json").read_text())
    row = data["reach"]["rows"][0]
    row["swap_temp_bytes"] = round(row["builtin_temp_bytes"] * 0.123)
    (docs / "results" / "reach-cpu.json").write_text(json.dumps(data))
    new = generate.render(page, docs)
    assert f"| {row['name'].split(', x')[0]} | " in new and " | 0.12 | yes |" in new
    changed = [line for line, old in zip(new.splitlines(), page.splitlines(), strict=True) if line != old]
    assert len(changed) == 1, changed


def test_the_markers_do_not_render():
    """GitHub and MyST parse CommonMark: a marker is an HTML comment, and the table after it still a table."""
    markdown_it = pytest.importorskip("markdown_it")
    html = markdown_it.MarkdownIt("commonmark").enable("table").render((ROOT / "docs" / "training.md").read_text())
    visible = re.sub(r"<!--.*?-->", "", html, flags=re.S)
    assert "generated:" not in visible and "end generated" not in visible
    assert "<table>" in html
