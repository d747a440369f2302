"""Small CNNs for the embedded data: 1x8x8 digit images and 40-dimensional MNIST-1D signals.

``cnn8x8``: conv3x3(w) - conv3x3(w) - maxpool - conv3x3(2w) - maxpool - global average pool -
linear, each conv followed by batch norm and ReLU (8x8 -> 4x4 -> 2x2).
``cnn1d``: the same pattern with 1-D convolutions of size 5 on a signal of length L (an input
of shape ``(n, L)`` gets a channel axis), L -> L/2 -> L/4. The parameter count grows like ``w**2``.
"""

from __future__ import annotations

from torch import Tensor, nn


def _block(
    conv: type[nn.Conv1d] | type[nn.Conv2d], c_in: int, c_out: int, k: int
) -> list[nn.Module]:
    norm = nn.BatchNorm2d if conv is nn.Conv2d else nn.BatchNorm1d
    return [conv(c_in, c_out, k, padding=k // 2, bias=False), norm(c_out), nn.ReLU()]


class SmallCNN(nn.Module):
    """Three conv layers (w, w, 2w channels) with two max-pools, for 1-D or 2-D inputs."""

    def __init__(self, in_shape: tuple[int, ...], num_classes: int, width: int) -> None:
        super().__init__()
        self.flat_signal = len(in_shape) == 1
        two_d = len(in_shape) == 3
        conv = nn.Conv2d if two_d else nn.Conv1d
        pool = nn.MaxPool2d(2) if two_d else nn.MaxPool1d(2)
        channels = 1 if self.flat_signal else in_shape[0]
        k = 3 if two_d else 5
        self.body = nn.Sequential(
            *_block(conv, channels, width, k),
            *_block(conv, width, width, k),
            pool,
            *_block(conv, width, 2 * width, k),
            nn.MaxPool2d(2) if two_d else nn.MaxPool1d(2),
        )
        self.head = nn.Linear(2 * width, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        if self.flat_signal:
            x = x.unsqueeze(1)
        out = self.body(x)
        logits: Tensor = self.head(out.flatten(2).mean(dim=2))
        return logits


def cnn8x8(in_shape: tuple[int, ...], num_classes: int, width: int = 16) -> SmallCNN:
    """The small CNN for ``(C, 8, 8)`` images (sklearn digits as 1x8x8)."""
    if len(in_shape) != 3:
        raise ValueError(f"cnn8x8 needs images of shape (C, H, W), got {in_shape}")
    return SmallCNN(in_shape, num_classes, width)


def cnn1d(in_shape: tuple[int, ...], num_classes: int, width: int = 16) -> SmallCNN:
    """The 1-D CNN for signals of shape ``(L,)`` (MNIST-1D, L = 40) or ``(C, L)``."""
    if len(in_shape) not in (1, 2):
        raise ValueError(f"cnn1d needs signals of shape (L,) or (C, L), got {in_shape}")
    return SmallCNN(in_shape, num_classes, width)
