"""Swap sigact into a PyTorch model that uses nn.Sigmoid and torch.sigmoid, and show that no number changes.

The model is a small squeeze-and-excitation CNN (the functional ``torch.sigmoid`` gate, a hand-written
swish ``h * h.sigmoid()`` and ``nn.Sigmoid`` modules). The data is generated here: nothing is downloaded.

    python examples/torch_swap.py [--steps N]
"""

import argparse
import contextlib
import copy

import torch
from torch import nn

import sigact.torch as st


class SqueezeExcite(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.reduce = nn.Conv2d(channels, channels // 2, 1)
        self.expand = nn.Conv2d(channels // 2, channels, 1)

    def forward(self, x):
        scale = self.expand(torch.relu(self.reduce(x.mean((2, 3), keepdim=True))))
        return x * torch.sigmoid(scale)


class SECNN(nn.Module):
    def __init__(self, channels: int = 16, classes: int = 4) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, channels, 3, padding=1)
        self.se = SqueezeExcite(channels)
        self.gate = nn.Sigmoid()
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(channels * 16 * 16, classes), nn.Sigmoid())

    def forward(self, x):
        h = self.stem(x)
        h = h * h.sigmoid()
        return self.head(self.se(h) * self.gate(h))


def data(batch: int = 32):
    """Random images whose label is the brightest colour channel's quadrant: learnable, generated."""
    g = torch.Generator().manual_seed(0)
    x = torch.rand(batch, 3, 16, 16, generator=g)
    labels = x.mean((1, 2, 3)).mul(4).long().clamp(max=3)
    return x, nn.functional.one_hot(labels, 4).float()


def train(model, steps: int, mode=None):
    x, target = data()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        with mode or contextlib.nullcontext():
            loss = nn.functional.binary_cross_entropy(model(x), target)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20, help="training steps (default 20)")
    args = parser.parse_args(argv)

    torch.manual_seed(0)
    builtin = SECNN()
    swapped = st.swap_sigmoid(copy.deepcopy(builtin))  # nn.Sigmoid modules -> sigact.torch.Sigmoid
    print(swapped)

    losses_builtin = train(builtin, args.steps)
    losses_sigact = train(swapped, args.steps, mode=st.SigmoidMode())  # functional calls too
    print(f"\n{'step':>4} {'built-in loss':>16} {'sigact loss':>16}")
    for i, (a, b) in enumerate(zip(losses_builtin, losses_sigact, strict=True)):
        print(f"{i:>4} {a:>16.10f} {b:>16.10f}")
    identical = losses_builtin == losses_sigact and all(
        torch.equal(p, q) for p, q in zip(builtin.parameters(), swapped.parameters(), strict=True))
    print(f"\nlosses and trained weights bitwise identical: {identical}")

    x, _ = data(8)
    before = st.audit(builtin, x)
    with st.SigmoidMode():
        after = st.audit(swapped, x)
    print(f"\nkept for backward, built-in: {before.total_bytes} bytes in {len(before)} tensors")
    print(f"kept for backward, sigact:   {after.total_bytes} bytes in {len(after)} tensors")
    if not identical:
        raise SystemExit("the swap changed a number")


if __name__ == "__main__":
    main()
