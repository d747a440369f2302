"""The model table of the deep study: architecture name -> constructor ``(in_shape, num_classes, width)``.

========== ====================== ======================= ===================
name       family                 input                   ``width`` means
========== ====================== ======================= ===================
resnet8    :mod:`.resnet` (n = 1) ``(C, H, W)``           base width (16)
resnet14   :mod:`.resnet` (n = 2) ``(C, H, W)``           base width (16)
resnet20   :mod:`.resnet` (n = 3) ``(C, H, W)``           base width (16)
vgg8       :mod:`.vgg`            ``(C, H, W)``           first-stage channels (64)
vgg11      :mod:`.vgg`            ``(C, H, W)``           first-stage channels (64)
cnn8x8     :mod:`.cnn`            ``(C, 8, 8)``           first-layer channels
cnn1d      :mod:`.cnn`            ``(L,)`` or ``(C, L)``  first-layer channels
========== ====================== ======================= ===================
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch
from torch import Tensor, nn

from softhard.device import autocast
from softhard.errors import ConfigError
from softhard.models.cnn import cnn1d, cnn8x8
from softhard.models.resnet import resnet8, resnet14, resnet20
from softhard.models.vgg import vgg8, vgg11

Arch = Literal["resnet8", "resnet14", "resnet20", "vgg8", "vgg11", "cnn8x8", "cnn1d"]

MODELS: dict[Arch, Callable[[tuple[int, ...], int, int], nn.Module]] = {
    "resnet8": resnet8,
    "resnet14": resnet14,
    "resnet20": resnet20,
    "vgg8": vgg8,
    "vgg11": vgg11,
    "cnn8x8": cnn8x8,
    "cnn1d": cnn1d,
}

_INPUT_RANK = {"cnn1d": (1, 2)}  # every other model takes (C, H, W)


def build_model(
    arch: str, in_shape: tuple[int, ...], num_classes: int, width: int, *, seed: int
) -> nn.Module:
    """Construct ``MODELS[arch](in_shape, num_classes, width)`` with its initial weights drawn
    from a private RNG seeded with ``seed`` (the global RNG state is left as it was).

    Raises:
        ConfigError: unknown ``arch``, or an input shape the architecture cannot take.
    """
    if arch not in MODELS:
        raise ConfigError(f"unknown architecture {arch!r}; allowed: {', '.join(MODELS)}")
    ranks = _INPUT_RANK.get(arch, (3,))
    if len(in_shape) not in ranks:
        raise ConfigError(
            f"architecture {arch!r} takes inputs with {' or '.join(map(str, ranks))} axes per "
            f"example, but the data has shape {tuple(in_shape)}; use cnn1d for signals "
            f"(mnist1d), cnn8x8 for digits (1x8x8) and resnet*/vgg* for larger images, and "
            f"set normalize: false for image tasks"
        )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return MODELS[arch](tuple(in_shape), num_classes, width)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


@torch.no_grad()
def predict_logits(
    model: nn.Module, x: Tensor, *, batch_size: int = 1024, amp: bool = False
) -> Tensor:
    """Eval-mode logits of ``model`` on ``x`` (on ``x``'s device), float32."""
    model.eval()
    out = []
    for start in range(0, x.shape[0], batch_size):
        with autocast(x.device, amp):
            out.append(model(x[start : start + batch_size]).float())
    return torch.cat(out)
