"""sigact.jax.plan and largest: the candidates compiled as each would be alone, programs that are the same
listed once, non-bitwise candidates flagged and never advised, the front and best() by their definitions,
"not measured" instead of 0, bad input, largest against a brute-force scan, and the five frameworks' models."""

import json
import os
import re
import sys
import types

import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")  # Keras reads it once, at its first import
jax = pytest.importorskip("jax")
import jax.numpy as jnp  # noqa: E402

import sigact.jax as sj  # noqa: E402
from sigact.jax._plan import memory  # noqa: E402
from sigact.jax._plan_table import Plan, PlanRow, pareto_front  # noqa: E402
from tests.helpers import assert_trees_bitwise  # noqa: E402
from tests.test_jax_remat import gated, gated_args, matvec_cell  # noqa: E402

NAMES = ["builtin", "swap_sigmoid", "swap", "remat_scans(nothing_saveable)", "remat_scans(dots_saveable)",
         "remat_scans(dots_with_no_batch_dims_saveable)", "swap + remat_scans(nothing_saveable)",
         "swap + remat_scans(dots_saveable)", "swap + remat_scans(dots_with_no_batch_dims_saveable)"]


@pytest.fixture(scope="module")
def gated_plan():
    return sj.plan(gated, *gated_args(steps=16), argnums=(0, 2), rounds=1, progress=False)


def compiled_alone(fun, args, argnums):
    return jax.jit(jax.grad(fun, argnums)).lower(*args).compile()


def test_every_candidate_measured_as_it_compiles_alone(gated_plan):
    args = gated_args(steps=16)
    assert [r.name for r in gated_plan.rows] == NAMES
    functions = sj._plan.candidates(gated)
    for row in gated_plan.rows:
        if row.name not in ("builtin", "swap", "remat_scans(nothing_saveable)", "swap + remat_scans(dots_saveable)"):
            continue  # a sample, to keep the test short
        assert memory(compiled_alone(functions[row.name], args, (0, 2))) == (
            row.temp_bytes, row.argument_bytes, row.output_bytes), row.name
        assert row.step_seconds > 0
    by_name = {r.name: r for r in gated_plan.rows}
    assert by_name["remat_scans(nothing_saveable)"].temp_bytes < by_name["swap"].temp_bytes
    assert by_name["swap"].temp_bytes < by_name["builtin"].temp_bytes
    assert all(r.bitwise for r in gated_plan.rows)  # this cell is bitwise under every policy (test_jax_remat)


def test_the_front_is_the_pareto_front_of_the_bitwise_rows(gated_plan):
    pool = [r for r in gated_plan.rows if r.same_as is None]
    front = [r for r in pool if r.on_front]
    assert front and all(r.bitwise for r in front)
    for r in pool:
        dominated = any(o.temp_bytes <= r.temp_bytes and o.step_seconds <= r.step_seconds and
                        (o.temp_bytes, o.step_seconds) != (r.temp_bytes, r.step_seconds) for o in pool)
        assert r.on_front == (not dominated), r
    assert not any(r.on_front for r in gated_plan.rows if r.same_as is not None)


def test_the_table_and_json(gated_plan):
    text = str(gated_plan)
    assert repr(gated_plan) == text
    table = text.split("\n\n")[0].splitlines()[2:]
    shown = [line.split("  ")[0] for line in table]
    by_name = {r.name: r for r in gated_plan.rows}
    assert sorted(shown) == sorted(r.name for r in gated_plan.rows if r.same_as is None)
    temps = [by_name[name].temp_bytes for name in shown]
    assert temps == sorted(temps)  # sorted by memory
    assert text.splitlines()[-1] == gated_plan.advice() and gated_plan.advice().startswith("Use ")
    data = json.loads(json.dumps(gated_plan.to_json()))
    assert {"machine", "versions", "backend", "rows", "advice", "best"} <= data.keys()
    assert data["rows"][0]["name"] == "builtin" and data["versions"]["jax"] == jax.__version__


def test_best_is_bitwise_and_ready_to_jit(gated_plan):
    args = gated_args(steps=16)
    step = jax.jit(jax.grad(gated_plan.best(), (0, 2)))
    assert_trees_bitwise(step(*args), jax.grad(gated, (0, 2))(*args))


def test_programs_that_are_the_same_are_listed_once():
    def plain(w, x):  # no sigmoid, no tanh, no scan: every candidate is the built-in
        return jnp.sum(jnp.sin(x @ w) ** 2)

    p = sj.plan(plain, jnp.eye(4), jnp.ones((3, 4)), rounds=1, progress=False, policies=["nothing_saveable"])
    assert [r.same_as for r in p.rows] == [None] + ["builtin"] * 4
    table, twins = str(p).split("\n\n")[:2]
    assert [line.split()[0] for line in table.splitlines()[2:]] == ["builtin"]
    assert twins.splitlines()[1].split(": ") == [
        "  builtin", "swap_sigmoid, swap, remat_scans(nothing_saveable), swap + remat_scans(nothing_saveable)"]


def test_a_candidate_that_is_not_bitwise_is_flagged_and_never_advised():
    args = jnp.eye(8) / 2, jnp.linspace(-1, 1, 512).reshape(64, 8)
    p = sj.plan(matvec_cell, *args, rounds=1, progress=False, policies=["nothing_saveable"])
    rows = {r.name: r for r in p.rows}
    assert not rows["remat_scans(nothing_saveable)"].bitwise  # test_jax_remat documents this cell
    assert not rows["remat_scans(nothing_saveable)"].on_front
    assert rows["swap"].bitwise and "DIFFER" in str(p)
    assert p.best_name() in ("builtin", "swap_sigmoid", "swap")


def synthetic(temps, times, bitwise=None):
    names = ["builtin", "swap", "remat_scans(nothing_saveable)", "remat_scans(dots_saveable)"][:len(temps)]
    bitwise = bitwise or [True] * len(temps)
    rows = [PlanRow(n, t, 100, 10, s, b, False) for n, t, s, b in zip(names, temps, times, bitwise, strict=True)]
    front = pareto_front(rows)
    rows = [PlanRow(**{**r.__dict__, "on_front": r.name in front}) for r in rows]
    return Plan(rows, {n: (lambda n=n: n) for n in names}, {"rounds": 1, "device": "test"})


def test_best_by_budget():
    p = synthetic([1000, 700, 300, 900], [1.0, 0.8, 1.2, 0.9])  # dots_saveable is dominated by swap
    assert [r.name for r in p.rows if r.on_front] == ["swap", "remat_scans(nothing_saveable)"]
    assert p.best()() == "remat_scans(nothing_saveable)"  # least memory
    assert p.best(max_temp_bytes=10**6)() == "swap"  # fastest within the budget
    assert p.best(max_temp_bytes=699)() == "remat_scans(nothing_saveable)"
    with pytest.raises(ValueError, match=r"the least any needs is 300 B \(300 bytes, remat_scans"):
        p.best(max_temp_bytes=299)
    for bad in (0, -5):
        with pytest.raises(ValueError, match="must be positive"):
            p.best(max_temp_bytes=bad)
    with pytest.raises(TypeError):
        p.best(max_temp_bytes=1.5)
    differ = synthetic([1000, 700, 300], [1.0, 0.8, 1.2], bitwise=[True, True, False])
    assert differ.best_name() == "swap"  # the least memory is not bitwise


def test_not_measured_is_said_never_zero():
    p = synthetic([None, None], [1.0, 0.5])
    assert "not measured" in str(p) and " 0 B" not in str(p)
    assert p.best_name() == "swap"  # the fastest, where memory was not measured
    with pytest.raises(ValueError, match="does not report temp memory"):
        p.best(max_temp_bytes=100)

    class Fake:
        def __init__(self, stats):
            self.stats = stats

        def memory_analysis(self):
            if isinstance(self.stats, Exception):
                raise self.stats
            return self.stats

    zeros = types.SimpleNamespace(temp_size_in_bytes=0, argument_size_in_bytes=0, output_size_in_bytes=0)
    for stats in (zeros, None, NotImplementedError("no"), types.SimpleNamespace()):
        assert memory(Fake(stats)) == (None, None, None)
    some = types.SimpleNamespace(temp_size_in_bytes=0, argument_size_in_bytes=5, output_size_in_bytes=7)
    assert memory(Fake(some)) == (0, 5, 7)  # a step that needs no temp memory: measured
    partial = types.SimpleNamespace(temp_size_in_bytes=3, argument_size_in_bytes=5)
    assert memory(Fake(partial)) == (3, 5, None)


def test_plot(tmp_path, gated_plan, monkeypatch):
    pytest.importorskip("matplotlib")
    path = gated_plan.plot(tmp_path / "plan.png")
    assert path.read_bytes()[:4] == b"\x89PNG"
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(RuntimeError, match=r"pip install 'sigact\[report\]'"):
        gated_plan.plot(tmp_path / "again.png")


def test_progress_on_stderr(capsys):
    sj.plan(gated, *gated_args(steps=4), rounds=2, policies=[])
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("[1/6] compiling builtin") and err[-2].startswith("[5/6] timing round 2 of 2")
    assert err[-1].startswith("[6/6] comparing gradients")
    sj.plan(gated, *gated_args(steps=4), rounds=1, progress=False, policies=[])
    assert capsys.readouterr().err == ""


def test_keyword_arguments_pass_to_every_candidate():
    def loss(w, xs, *, scale):
        return gated(jnp.ones((4, 8)), xs * scale, w)

    _, xs, w = gated_args(steps=8)
    p = sj.plan(loss, w, xs, scale=jnp.float32(0.5), rounds=1, progress=False, policies=[])
    assert all(r.bitwise for r in p.rows)
    assert_trees_bitwise(jax.jit(jax.grad(p.best()))(w, xs, scale=0.5), jax.jit(jax.grad(loss))(w, xs, scale=0.5))


def test_bad_input():
    c, xs, w = gated_args(steps=4)
    with pytest.raises(TypeError, match="argument 0, but its leaf . has dtype int32"):
        sj.plan(lambda n, x: jnp.sum(x * n), jnp.arange(3), jnp.ones(3), progress=False)
    with pytest.raises(TypeError, match=r"leaf \['flag'\] has dtype bool"):
        sj.plan(lambda p: jnp.sum(p["w"]), {"w": jnp.ones(3), "flag": jnp.array(True)}, progress=False)
    with pytest.raises(TypeError, match="needs a real scalar output"):
        sj.plan(lambda x: x * 2, jnp.ones(3), progress=False)
    with pytest.raises(ValueError, match="unknown checkpoint policy 'nothing'"):
        sj.plan(gated, c, xs, w, policies=["nothing"], progress=False)
    with pytest.raises(ValueError, match="argnums must name positional arguments of the 3"):
        sj.plan(gated, c, xs, w, argnums=3, progress=False)
    with pytest.raises(ValueError, match="rounds"):
        sj.plan(gated, c, xs, w, rounds=0, progress=False)


def sized(n):
    return jnp.zeros((2, 8)), jnp.ones((n, 2, 8)), jnp.eye(8) / 4


@pytest.mark.slow
def test_largest_equals_a_brute_force_scan():
    # Two candidates on real compiled programs (tests/test_largest_search.py tries the search itself on
    # many curves); 13 leaves the remat's answer, 12, below the top.
    names = ["builtin", "remat_scans(nothing_saveable)"]
    functions = sj._plan.candidates(gated)
    top = 13
    used = {name: [memory(compiled_alone(functions[name], sized(n), 0)) for n in range(1, top + 1)] for name in names}
    budget = used["builtin"][5][0]  # the built-in's temp memory at n = 6
    for temp_only, limit in ((True, budget), (False, budget + 700)):
        fits = sj.largest(sized, gated, limit, hi=top, candidates=names, temp_only=temp_only)
        for name in names:
            brute = max((n for n, m in enumerate(used[name], 1) if sum(m[:1 if temp_only else 3]) <= limit),
                        default=None)
            assert fits[name] == brute, (name, temp_only, used[name])
            # Memory linear in n from n = 2 on: after n = 1 and 2, at most two guesses and their safe steps,
            # and the guess that confirms (doubling and bisection to 13 take up to 8).
            assert 1 <= fits.compilations[name] <= 7
        assert fits["builtin"] < fits["remat_scans(nothing_saveable)"] < top
        assert "compilations" in str(fits)


def test_largest_bad_input():
    with pytest.raises(ValueError, match="budget_bytes must be a positive"):
        sj.largest(sized, gated, 0)
    with pytest.raises(ValueError, match="unknown candidates"):
        sj.largest(sized, gated, 10**6, candidates=["remat"])

    def broken(n):
        if n > 2:
            raise KeyError("no such size")
        return sized(n)

    with pytest.raises(KeyError) as raised:
        sj.largest(broken, gated, 10**9, candidates=["builtin"])
    note = re.search(r"raised by make_args\((\d+)\)", "".join(raised.value.__notes__))
    assert note and int(note[1]) > 2
    with pytest.raises(ValueError, match="does not seem to grow with n"):
        sj.largest(lambda n: sized(3), gated, 10**9, candidates=["builtin"])
    assert sj.largest(sized, gated, 1, candidates=["builtin"]) == {"builtin": None}


FRAMEWORK_MODELS = {
    "flax linen": lambda m: m.flax_rnn(batch=2, steps=16, inputs=4, features=8),
    "flax nnx": lambda m: m.nnx_rnn(batch=2, steps=16, inputs=4, features=8),
    "equinox": lambda m: m.equinox_rnn(batch=2, steps=16, inputs=4, features=8),
    "keras": lambda m: m.keras_rnn(batch=2, steps=16, inputs=4, features=8),
    "haiku": lambda m: m.haiku_rnn(batch=2, steps=16, inputs=4, features=8),
}


@pytest.mark.slow
@pytest.mark.parametrize("framework", FRAMEWORK_MODELS)
def test_each_frameworks_model(framework):
    pytest.importorskip({"flax linen": "flax", "flax nnx": "flax"}.get(framework, framework))
    from sigact.tools import jax_models

    model = FRAMEWORK_MODELS[framework](jax_models)
    p = sj.plan(model.loss, *model.args, rounds=1, progress=False, policies=["nothing_saveable"])
    rows = {r.name: r for r in p.rows}
    assert rows["swap"].bitwise and rows["swap"].temp_bytes < rows["builtin"].temp_bytes
    assert rows["remat_scans(nothing_saveable)"].temp_bytes < rows["builtin"].temp_bytes
    best = p.best()
    assert_trees_bitwise(jax.jit(jax.grad(best))(*model.args), jax.jit(jax.grad(model.loss))(*model.args))
