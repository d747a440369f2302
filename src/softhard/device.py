"""Devices (``cpu``, ``cuda`` or ``auto``: CUDA when available), CPU threads and deterministic kernels:
the runtime helpers every study shares."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

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
    try:
        return torch.device(device)
    except RuntimeError:
        raise ConfigError(
            f"device {str(device)!r} is not a torch device; use 'cpu', 'cuda', 'cuda:N' or 'auto'"
        ) from None


@contextlib.contextmanager
def deterministic_mode(enabled: bool = True) -> Iterator[None]:
    """Deterministic torch kernels and no cudnn benchmark inside; restores the settings after."""
    saved = (
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
        torch.backends.cudnn.benchmark,
        torch.backends.cudnn.deterministic,
    )
    if enabled:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(saved[0], warn_only=saved[1])
        torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic = saved[2:]


@contextlib.contextmanager
def cpu_threads(threads: int | None) -> Iterator[None]:
    """``torch.set_num_threads(threads)`` inside (no change for None); restored after."""
    saved = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(saved)


def autocast(device: torch.device, amp: bool) -> contextlib.AbstractContextManager[None]:
    """bfloat16 autocast on CUDA when ``amp``; no change otherwise (CPU always runs float32)."""
    if amp and device.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()
