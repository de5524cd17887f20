"""A sigact-swapped model under DDP and FSDP2 (2 processes, gloo, CPU) against one process with the
built-in: gradients and trained weights bit for bit."""

import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from tests import distributed_worker as worker  # noqa: E402
from tests.helpers import assert_bitwise  # noqa: E402

WORLD = 2


def single_process_builtin():
    """What the 2 ranks compute together: per-half gradients, averaged, with the built-in sigmoid."""
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
        # Halving is exact, so the order in which the ranks' sum is formed does not matter.
        for p, *rank_grads in zip(net.parameters(), *per_rank, strict=True):
            p.grad = sum(rank_grads) / WORLD
        grads.append([p.grad.clone() for p in net.parameters()])
        opt.step()
    return grads, [p.detach().clone() for p in net.parameters()]


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["ddp", "fsdp2"])
def test_swapped_model_trains_under_torch_distributed_like_the_builtin_in_one_process(kind, tmp_path):
    out = tmp_path / f"{kind}.pt"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={WORLD}",
               str(Path(worker.__file__)), kind, str(out)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    distributed = torch.load(out)
    grads, params = single_process_builtin()
    assert distributed["world"] == WORLD
    for step_grads, ref_grads in zip(distributed["grads"], grads, strict=True):
        for g, ref in zip(step_grads, ref_grads, strict=True):
            assert_bitwise(g, ref)
    for p, ref in zip(distributed["params"], params, strict=True):
        assert_bitwise(p, ref)
