"""CIFAR-style residual networks (He et al. 2016, section 4.2): resnet8, resnet14, resnet20.

A ResNet-(6n+2) has a 3x3 stem convolution and three stages of ``n`` basic blocks with
``w, 2w, 4w`` channels (``w`` = ``width``, 16 in the paper), the second and third stage halving
the spatial size; then global average pooling and a linear layer. resnet8 / 14 / 20 have
n = 1 / 2 / 3. The parameter count grows like ``w**2``. Works on any ``(C, H, W)`` input.
"""

from __future__ import annotations

from torch import Tensor, nn


class BasicBlock(nn.Module):
    """Two 3x3 conv-BN layers with an identity (or 1x1 projection) shortcut."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out)
            )

    def forward(self, x: Tensor) -> Tensor:
        out = self.bn1(self.conv1(x)).relu()
        out = self.bn2(self.conv2(out))
        shortcut: Tensor = self.shortcut(x)
        total: Tensor = out + shortcut
        return total.relu()


class CifarResNet(nn.Module):
    """ResNet-(6n+2) with base width ``width`` for inputs of shape ``in_shape = (C, H, W)``."""

    def __init__(
        self, in_shape: tuple[int, ...], num_classes: int, width: int, blocks: int
    ) -> None:
        super().__init__()
        channels = in_shape[0]
        self.stem = nn.Sequential(
            nn.Conv2d(channels, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU()
        )
        layers: list[nn.Module] = []
        c_in = width
        for stage, c_out in enumerate((width, 2 * width, 4 * width)):
            for i in range(blocks):
                stride = 2 if stage > 0 and i == 0 else 1
                layers.append(BasicBlock(c_in, c_out, stride))
                c_in = c_out
        self.stages = nn.Sequential(*layers)
        self.head = nn.Linear(c_in, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: Tensor) -> Tensor:
        out = self.stages(self.stem(x))
        logits: Tensor = self.head(out.mean(dim=(2, 3)))
        return logits


def resnet8(in_shape: tuple[int, ...], num_classes: int, width: int = 16) -> CifarResNet:
    """ResNet-8: one basic block per stage."""
    return CifarResNet(in_shape, num_classes, width, blocks=1)


def resnet14(in_shape: tuple[int, ...], num_classes: int, width: int = 16) -> CifarResNet:
    """ResNet-14: two basic blocks per stage."""
    return CifarResNet(in_shape, num_classes, width, blocks=2)


def resnet20(in_shape: tuple[int, ...], num_classes: int, width: int = 16) -> CifarResNet:
    """ResNet-20: three basic blocks per stage."""
    return CifarResNet(in_shape, num_classes, width, blocks=3)
