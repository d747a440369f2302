"""Training targets: soft versus hard is a choice of target, consumed by one training loop.

A :class:`Targets` holds the hard labels, the teacher's soft labels (if any) and how to weigh
them. It knows the per-example *reported* loss (the quantity the theorem bounds: KL for soft
labels, logistic for hard labels, their kd_weight mixture for mixed) and the derivative of the
*training objective* with respect to the logits (with Hinton's T^2 factor on the KL term when
``t2_scaling`` is on; see :mod:`softhard.losses`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from softhard import losses
from softhard.student import LabelMode, resolve_kd_weight

__all__ = ["LabelMode", "Targets", "make_targets"]


@dataclass(frozen=True)
class Targets:
    """Targets for a binary two-layer student.

    Attributes:
        y_pm: hard labels in {-1, +1}, shape ``(n,)``.
        p: teacher soft labels ``sigmoid(F / T)``, shape ``(n,)``, or None (no teacher).
        kd_weight: weight of the soft term: 0 = hard labels, 1 = soft labels.
        temperature: T of both ``p`` and the student's ``sigmoid(f / T)``.
        t2_scaling: multiply the KL term of the objective by ``T**2``.
    """

    y_pm: torch.Tensor
    p: torch.Tensor | None
    kd_weight: float
    temperature: float = 1.0
    t2_scaling: bool = True

    def __post_init__(self) -> None:
        if not 0.0 <= self.kd_weight <= 1.0:
            raise ValueError(f"kd_weight must be in [0, 1], got {self.kd_weight}")
        if self.kd_weight > 0 and self.p is None:
            raise ValueError("soft or mixed targets (kd_weight > 0) need teacher soft labels p")

    @property
    def _kl_scale(self) -> float:
        return self.temperature**2 if self.t2_scaling else 1.0

    def loss(self, f: torch.Tensor) -> torch.Tensor:
        """Per-example reported loss: ``w KL(p || sigmoid(f/T)) + (1 - w) logistic(f, y)``."""
        out = torch.zeros_like(f)
        if self.kd_weight < 1.0:
            out = out + (1.0 - self.kd_weight) * losses.logistic(f, self.y_pm)
        if self.kd_weight > 0.0:
            assert self.p is not None
            out = out + self.kd_weight * losses.binary_kl(f, self.p, self.temperature)
        return out

    def objective_grad(self, f: torch.Tensor) -> torch.Tensor:
        """Per-example derivative of the training objective with respect to the logit f."""
        out = torch.zeros_like(f)
        if self.kd_weight < 1.0:
            out = out + (1.0 - self.kd_weight) * losses.logistic_grad(f, self.y_pm)
        if self.kd_weight > 0.0:
            assert self.p is not None
            grad = losses.binary_kl_grad(f, self.p, self.temperature)
            out = out + (self.kd_weight * self._kl_scale) * grad
        return out

    def objective(self, f: torch.Tensor) -> torch.Tensor:
        """Per-example training objective (the reported loss with the T^2 factor on KL)."""
        out = torch.zeros_like(f)
        if self.kd_weight < 1.0:
            out = out + (1.0 - self.kd_weight) * losses.logistic(f, self.y_pm)
        if self.kd_weight > 0.0:
            assert self.p is not None
            kl = losses.binary_kl(f, self.p, self.temperature)
            out = out + (self.kd_weight * self._kl_scale) * kl
        return out

    def to(self, dtype: torch.dtype, device: torch.device | str = "cpu") -> Targets:
        """A copy with tensors cast to ``dtype`` on ``device``."""
        p = None if self.p is None else self.p.to(dtype=dtype, device=device)
        return Targets(
            self.y_pm.to(dtype=dtype, device=device),
            p,
            self.kd_weight,
            self.temperature,
            self.t2_scaling,
        )


def make_targets(
    label_mode: LabelMode,
    y_pm: torch.Tensor,
    teacher_logits: torch.Tensor | None,
    *,
    temperature: float = 1.0,
    kd_weight: float = 0.5,
    t2_scaling: bool = True,
) -> Targets:
    """Targets for a label mode: ``hard`` (kd_weight 0), ``soft`` (1) or ``mixed`` (kd_weight).

    The soft labels are ``sigmoid(teacher_logits / T)``; they are kept for hard targets too, so
    the KL to the teacher can be recorded for every run.
    """
    weight = resolve_kd_weight(label_mode, kd_weight)
    p = None if teacher_logits is None else losses.soft_targets(teacher_logits, temperature)
    return Targets(y_pm, p, weight, temperature, t2_scaling)
