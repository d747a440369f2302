"""Devices: ``cpu``, ``cuda`` or ``auto`` (CUDA when available)."""

from __future__ import annotations

import torch

from softhard.errors import ConfigError


def resolve_device(device: str | torch.device) -> torch.device:
    """``auto`` -> CUDA if available else CPU; ``cuda`` without a GPU is a :class:`ConfigError`."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(
            f"device {str(device)!r} was asked for but torch sees no CUDA device; use 'cpu' or 'auto'"
        )
    return torch.device(device)
