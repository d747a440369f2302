"""VGG-style networks (Simonyan & Zisserman 2015) as in the CIFAR KD baselines: vgg8, vgg11.

Five stages of 3x3 conv-BN-ReLU layers with ``w, 2w, 4w, 8w, 8w`` channels (``w`` = ``width``,
64 in VGG; the channel multiplier is ``w / 64``), a 2x2 max-pool after each stage while the
feature map is larger than 1x1, global average pooling and a linear layer. Layers per stage:
vgg8 ``1, 1, 1, 1, 1`` (5 convs + 1 linear, counted with pools as in RepDistiller),
vgg11 ``1, 1, 2, 2, 2`` (8 convs). The parameter count grows like ``w**2``.
"""

from __future__ import annotations

from torch import Tensor, nn

_LAYERS = {"vgg8": (1, 1, 1, 1, 1), "vgg11": (1, 1, 2, 2, 2)}
_MULTIPLIERS = (1, 2, 4, 8, 8)


class VGG(nn.Module):
    """A VGG-style network for inputs of shape ``in_shape = (C, H, W)``."""

    def __init__(
        self, in_shape: tuple[int, ...], num_classes: int, width: int, layers: tuple[int, ...]
    ) -> None:
        super().__init__()
        c_in, size = in_shape[0], min(in_shape[1:])
        body: list[nn.Module] = []
        for count, mult in zip(layers, _MULTIPLIERS, strict=True):
            c_out = width * mult
            for _ in range(count):
                body += [nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU()]
                c_in = c_out
            if size >= 2:
                body.append(nn.MaxPool2d(2))
                size //= 2
        self.body = nn.Sequential(*body)
        self.head = nn.Linear(c_in, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        logits: Tensor = self.head(self.body(x).mean(dim=(2, 3)))
        return logits


def vgg8(in_shape: tuple[int, ...], num_classes: int, width: int = 64) -> VGG:
    """VGG-8: one conv per stage."""
    return VGG(in_shape, num_classes, width, _LAYERS["vgg8"])


def vgg11(in_shape: tuple[int, ...], num_classes: int, width: int = 64) -> VGG:
    """VGG-11 (configuration A): 1, 1, 2, 2, 2 convs per stage."""
    return VGG(in_shape, num_classes, width, _LAYERS["vgg11"])
