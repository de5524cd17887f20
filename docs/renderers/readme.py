"""README.md: the torch sentence from the elementwise benchmark, and the reach table's headline layers."""

from __future__ import annotations

from renderers.common import NOT_RECORDED, Run, machine_line, ratio, section
from renderers.memory import reach

README_LAYERS = ("Flax LSTMCell, nn.RNN", "Flax GRUCell, nn.RNN", "Equinox LSTMCell, lax.scan",
                 "Keras LSTM, stateless_call", "Haiku LSTM, hk.dynamic_unroll")


def readme_torch(runs: list[Run]) -> str:
    speed = section(runs, "elementwise")["elementwise"]["speed"]
    at = {(r["execution"], r["n"]): ratio(r) for r in speed if r["framework"] == "torch" and r["dtype"] == "float32"}
    compiled = [v for (execution, _), v in at.items() if execution == "compile"]
    run = section(runs, "elementwise")
    return (f"Forward+backward in float32 takes {at[('eager', 2**20)]:.2f}× the built-in's time at 2^20 elements and "
            f"{at[('eager', 2**22)]:.2f}× at 2^22 in eager mode, {min(compiled):.2f} to {max(compiled):.2f}× under "
            f"`torch.compile` (`make bench`, {run.get('date', NOT_RECORDED)}; {machine_line(run)}; torch "
            f"{run['versions']['torch']}: [Benchmarks](docs/benchmarks.md)). A load average above the core count "
            f"means the run shared its cores, and its ratios are noisy.")


RENDERERS = {
    "reach.readme": lambda runs: reach(runs, README_LAYERS),
    "readme.torch": readme_torch,
}
