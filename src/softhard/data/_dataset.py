"""The one dataset type of softhard."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import torch


@dataclass(frozen=True)
class Dataset:
    """A train/test split with integer class labels.

    Attributes:
        name: human-readable name including difficulty settings, e.g. ``"digits:3-8 mix=0.3"``.
        x_train: inputs, shape ``(n_train, *feature_shape)``, float64 on CPU.
        y_train: class indices, shape ``(n_train,)``, int64 in ``[0, num_classes)``.
        x_test: inputs, shape ``(n_test, *feature_shape)``.
        y_test: class indices, shape ``(n_test,)``.
        num_classes: number of classes (2 for the binary tasks of the two-layer study).
        meta: settings that produced the data (source, task, noise, flip, mix, seeds, ...).
    """

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    num_classes: int = 2
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def n_train(self) -> int:
        return int(self.x_train.shape[0])

    @property
    def n_test(self) -> int:
        return int(self.x_test.shape[0])

    @property
    def dim(self) -> int:
        """Number of input features once flattened."""
        return int(self.x_train[0].numel())

    @staticmethod
    def signs(y: torch.Tensor) -> torch.Tensor:
        """Binary class indices {0, 1} as labels {-1.0, +1.0} (float64)."""
        return y.to(torch.float64) * 2.0 - 1.0

    @property
    def y_train_pm(self) -> torch.Tensor:
        """Training labels in {-1, +1} (binary tasks only)."""
        return self.signs(self.y_train)

    @property
    def y_test_pm(self) -> torch.Tensor:
        """Test labels in {-1, +1} (binary tasks only)."""
        return self.signs(self.y_test)

    def flat(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(x_train, x_test)`` flattened to shape ``(n, dim)``."""
        return self.x_train.reshape(self.n_train, -1), self.x_test.reshape(self.n_test, -1)

    def fingerprint(self) -> str:
        """A content hash of the arrays (sha256, 16 hex digits): keys caches of teachers."""
        return tensor_digest(self.x_train, self.y_train, self.x_test, self.y_test)[:16]


def tensor_digest(*tensors: torch.Tensor, shapes: bool = True) -> str:
    """sha256 (hex) of the tensors' bytes in order, each preceded by its shape if ``shapes``."""
    h = hashlib.sha256()
    for t in tensors:
        if shapes:
            h.update(str(tuple(t.shape)).encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()
