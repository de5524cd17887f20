"""Run by torchrun in tests/test_torch_distributed.py: train a small model for a few steps.

    torchrun --standalone --nproc-per-node 2 tests/distributed_worker.py {ddp,fsdp2} OUT_DIR

Each rank trains on its own half of a fixed batch, with the built-in sigmoid, then the same model
swapped to sigact's, in one process group (one launch: each costs every rank a torch import); for each,
rank 0 saves the gradients of every step, the final parameters and the sigmoid modules' classes to
OUT_DIR/builtin.pt and OUT_DIR/sigact.pt, for the test to compare the two runs.
"""

import os
import sys

import torch
import torch.distributed as dist
from torch import nn

import sigact.torch as st

STEPS = 3


def model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(16, 32), nn.Sigmoid(), nn.Linear(32, 32), nn.Sigmoid(), nn.Linear(32, 1))


def batch(rank: int, world: int):
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(8 * world, 16, generator=g), torch.randn(8 * world, 1, generator=g)
    return x.chunk(world)[rank], y.chunk(world)[rank]


def main(kind: str, out_dir: str) -> None:
    dist.init_process_group("gloo")
    for activation in ("builtin", "sigact"):
        train(kind, activation, os.path.join(out_dir, f"{activation}.pt"))
    dist.barrier()
    dist.destroy_process_group()


def train(kind: str, activation: str, out: str) -> None:
    rank, world = dist.get_rank(), dist.get_world_size()
    net = {"sigact": st.swap_sigmoid(model()), "builtin": model()}[activation]
    sigmoids = [f"{type(m).__module__}.{type(m).__name__}" for m in net if isinstance(m, nn.Sigmoid)]
    if kind == "ddp":
        net = nn.parallel.DistributedDataParallel(net)
    elif kind == "fsdp2":
        from torch.distributed.fsdp import fully_shard

        for layer in net:
            if isinstance(layer, nn.Linear):
                fully_shard(layer)
        fully_shard(net)
    else:
        raise SystemExit(f"unknown kind {kind!r}")
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    x, y = batch(rank, world)
    grads = []
    for _ in range(STEPS):
        opt.zero_grad()
        nn.functional.mse_loss(net(x), y).backward()
        grads.append([_full(p.grad) for p in net.parameters()])
        opt.step()
    params = [_full(p.detach()) for p in net.parameters()]
    if rank == 0:
        torch.save({"grads": grads, "params": params, "world": world, "sigmoids": sigmoids}, out)


def _full(t: torch.Tensor) -> torch.Tensor:
    """FSDP2 shards parameters as DTensors; gather them to compare whole tensors."""
    return t.full_tensor().clone() if hasattr(t, "full_tensor") else t.clone()


if __name__ == "__main__":
    main(*sys.argv[1:])
    # Gloo's worker threads can abort the process during interpreter finalization, after all of
    # the work above is done ("terminate called without an active exception", about 1 run in 20
    # here; see pytorch/pytorch#179291). Leave without finalizing: the results are on disk.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
