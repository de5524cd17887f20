"""A sigact-swapped model under DDP and FSDP2 (2 processes, gloo, CPU) against the same model with
the built-in under the same setup: gradients and trained weights bit for bit."""

import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from tests import distributed_worker as worker  # noqa: E402
from tests.helpers import assert_bitwise  # noqa: E402

WORLD = 2


def single_process_builtin(summed: bool = False):
    """What the 2 ranks compute together: per-half gradients, averaged (or summed), with the built-in
    sigmoid."""
    net = worker.model()
    assert any(type(m) is nn.Sigmoid for m in net)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    halves = [worker.batch(rank, WORLD) for rank in range(WORLD)]
    grads = []
    for _ in range(worker.STEPS):
        per_rank = []
        for x, y in halves:
            net.zero_grad()
            nn.functional.mse_loss(net(x), y).backward()
            per_rank.append([p.grad.clone() for p in net.parameters()])
        for p, *rank_grads in zip(net.parameters(), *per_rank, strict=True):
            p.grad = sum(rank_grads) if summed else sum(rank_grads) / WORLD
        grads.append([p.grad.clone() for p in net.parameters()])
        opt.step()
    return grads, [p.detach().clone() for p in net.parameters()]


def train(kind: str, tmp_path: Path) -> tuple[dict, dict]:
    """The sigact-swapped run and the built-in's, trained by one launch of the worker."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={WORLD}",
               str(Path(worker.__file__)), kind, str(tmp_path)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    swapped, builtin = (torch.load(tmp_path / f"{activation}.pt") for activation in ("sigact", "builtin"))
    assert swapped["world"] == builtin["world"] == WORLD
    return swapped, builtin


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["ddp", "fsdp2"])
def test_swapped_model_trains_under_torch_distributed_like_the_builtin(kind, tmp_path):
    swapped, builtin = train(kind, tmp_path)
    assert swapped["sigmoids"] == ["sigact.torch._module.Sigmoid"] * 2
    assert builtin["sigmoids"] == ["torch.nn.modules.activation.Sigmoid"] * 2
    assert_trained_alike(swapped, builtin["grads"], builtin["params"], assert_bitwise)
    # And the two ranks did train together: the built-in's run is one process's over the whole batch,
    # to rounding (how the ranks' gradients are reduced is torch's business, not sigact's). Before
    # torch 2.9, FSDP2 over gloo summed them instead of averaging (pytorch/pytorch#162338).
    grads, params = single_process_builtin(summed=kind == "fsdp2" and torch.__version__ < "2.9")
    assert_trained_alike(builtin, grads, params, torch.testing.assert_close)


def assert_trained_alike(trained: dict, grads, params, assert_equal) -> None:
    """Every step's gradients and the final parameters of a run, against ``grads`` and ``params``."""
    for step, ref_step in zip(trained["grads"], grads, strict=True):
        for g, ref in zip(step, ref_step, strict=True):
            assert_equal(g, ref)
    for p, ref in zip(trained["params"], params, strict=True):
        assert_equal(p, ref)
