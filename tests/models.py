"""Small models that use the sigmoid every way real models do, shared by tests and examples."""

import torch
from torch import nn


class SqueezeExcite(nn.Module):
    """A squeeze-and-excitation gate: the functional ``torch.sigmoid`` on pooled channels."""

    def __init__(self, channels: int, reduced: int) -> None:
        super().__init__()
        self.reduce = nn.Conv2d(channels, reduced, 1)
        self.expand = nn.Conv2d(reduced, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = x.mean((2, 3), keepdim=True)
        scale = self.expand(torch.relu(self.reduce(scale)))
        return x * torch.sigmoid(scale)


class SENet(nn.Module):
    """Conv → SiLU written by hand (``x * x.sigmoid()``) → SE gate → head with ``nn.Sigmoid``."""

    def __init__(self, channels: int = 8, classes: int = 3) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, channels, 3, padding=1)
        self.se = SqueezeExcite(channels, channels // 2)
        self.gate = nn.Sigmoid()
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(channels * 8 * 8, classes), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.stem(x)
        h = h * h.sigmoid()
        h = self.se(h) * self.gate(h)
        return self.head(h)
