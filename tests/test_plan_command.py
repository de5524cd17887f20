"""`sigact plan FILE.py[:NAME]`: each way it refuses its input before any work (exit 2, a message that
says what to fix), and one small run to the end with its JSON and figure."""

import json

import pytest

from sigact.cli import main

pytest.importorskip("jax")

MODEL = """
import jax, jax.numpy as jnp

def model():
    def loss(w, xs):
        step = lambda h, x: (jax.nn.sigmoid(h @ w + x) * jnp.tanh(x), None)
        return jax.lax.scan(step, jnp.zeros(4), xs)[0].sum()
    return loss, (jnp.eye(4) / 2, jnp.linspace(-1.0, 1.0, 32).reshape(8, 4))

def not_a_pair():
    return model()[0]

def args_not_a_tuple():
    loss, args = model()
    return loss, list(args)

def not_callable():
    return 3, model()[1]

also_not_a_function = 3
"""


@pytest.fixture
def model_file(tmp_path):
    path = tmp_path / "my_model.py"
    path.write_text(MODEL)
    return path


@pytest.fixture
def no_work(monkeypatch):
    import sigact.jax as sj

    def refuse(*args, **kwargs):
        raise AssertionError("the plan ran before the command refused its arguments")

    monkeypatch.setattr(sj, "plan", refuse, raising=False)


@pytest.mark.parametrize("spec,message", [
    ("{tmp}/missing.py", "missing.py: no such file"),
    ("{tmp}", "no such file (a directory)"),
    ("{model}:nope", "has no function 'nope'; name the function that returns (fun, args)"),
    ("{model}:also_not_a_function", "'also_not_a_function' is a int, not a function"),
    ("{model}:not_a_pair", "must return (fun, args), a callable and a tuple of its arguments; it returned a function"),
    ("{model}:args_not_a_tuple", "it returned a tuple of 2 (function, list)"),
    ("{model}:not_callable", "it returned a tuple of 2 (int, tuple)"),
])
def test_a_model_it_cannot_use_exits_2_before_any_work(spec, message, model_file, tmp_path, no_work, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["plan", spec.format(tmp=tmp_path, model=model_file), "--no-progress"])
    assert exited.value.code == 2 and message in capsys.readouterr().err


def test_the_default_function_name_is_model_and_the_message_lists_the_functions_there(tmp_path, no_work, capsys):
    path = tmp_path / "other.py"
    path.write_text("def build():\n    pass\n")
    with pytest.raises(SystemExit) as exited:
        main(["plan", str(path)])
    err = capsys.readouterr().err
    assert exited.value.code == 2 and "has no function 'model'" in err and "(functions in it: build)" in err


@pytest.mark.parametrize("args,message", [
    (["--json", "/proc/sigact-plan.json"], "--json: cannot write"),
    (["--json", "{tmp}"], "--json: {tmp} is a directory"),
    (["--plot", "{file}/deeper/plan.png"], "--plot: {file} is not a directory"),
    (["--budget", "0"], "a budget must be more than 0 bytes"),
    (["--budget=-5MiB"], "is not a size"),
    (["--budget", "12 parsecs"], "is not a size"),
    (["--rounds", "0"], "--rounds: at least 1"),
    (["--policy", "dots_saveable", "--policy", "sometimes_saveable"], "--policy: unknown checkpoint policy 'sometimes"),
    (["--policy", "save_only_these_names"], "a factory: pass the policy it makes"),
])
def test_bad_options_exit_2_before_any_work(args, message, model_file, tmp_path, no_work, capsys):
    a_file = tmp_path / "a_file"
    a_file.write_text("")
    with pytest.raises(SystemExit) as exited:
        main(["plan", str(model_file), *(a.format(tmp=tmp_path, file=a_file) for a in args)])
    assert exited.value.code == 2 and message.format(tmp=tmp_path, file=a_file) in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file", "my_model.py"]  # nothing left behind


@pytest.mark.parametrize("text,expected", [("4096", 4096), ("64MiB", 64 * 2**20), ("1.5 GiB", 3 * 2**29),
                                           ("100MB", 10**8), ("2kib", 2048)])
def test_a_budget_reads_bytes_and_binary_and_decimal_units(text, expected):
    from sigact.tools.plan_command import size

    assert size(text) == expected


def test_a_colon_in_a_path_is_part_of_the_path_unless_a_name_follows_it(tmp_path):
    from sigact.tools.plan_command import split_spec

    assert split_spec("a/b.py:loss") == (tmp_path.__class__("a/b.py"), "loss")
    assert split_spec("c:/models/b.py") == (tmp_path.__class__("c:/models/b.py"), "model")


@pytest.mark.slow
def test_a_small_model_gets_its_plan_json_figure_and_the_best_within_a_budget(model_file, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out_json, out_png = tmp_path / "out" / "plan.json", tmp_path / "plan.png"
    code = main(["plan", str(model_file), "--policy", "nothing_saveable", "--rounds", "1", "--no-progress",
                 "--budget", "1MiB", "--json", str(out_json), "--plot", str(out_png)])
    stdout = capsys.readouterr().out
    assert code == 0, stdout
    plan = json.loads(out_json.read_text())
    names = [r["name"] for r in plan["rows"]]
    assert names == ["builtin", "swap_sigmoid", "swap", "remat_scans(nothing_saveable)",
                     "swap + remat_scans(nothing_saveable)"]
    assert all(name in stdout for name in names[:3]) and "\nUse " in stdout
    within = min((r for r in plan["rows"] if r["on_front"]), key=lambda r: r["step_seconds"])["name"]
    assert f"Within 1.0 MiB of temp memory: use {within}." in stdout
    assert out_png.read_bytes().startswith(b"\x89PNG")


@pytest.mark.slow
def test_a_budget_nothing_fits_exits_1_and_names_the_least_memory(model_file, capsys):
    code = main(["plan", str(model_file), "--policy", "nothing_saveable", "--rounds", "1", "--no-progress",
                 "--budget", "1"])
    stdout = capsys.readouterr().out
    assert code == 1 and "Within 1 B of temp memory: no candidate fits" in stdout and "the least any needs is" in stdout
