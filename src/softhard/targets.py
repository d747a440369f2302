"""Training targets: soft versus hard is a choice of target, consumed by one training loop.

A :class:`Targets` holds the hard labels, the teacher's soft labels (if any) and how to weigh
them. It knows the per-example *reported* loss (the quantity the theorem bounds: KL for soft
labels, logistic for hard labels, their soft_weight mixture for mixed) and the derivative of the
*training objective* with respect to the logits (with Hinton's T^2 factor on the KL term when
``t2_scaling`` is on; see :mod:`softhard.losses`).

:class:`StackedTargets` is the same formula for ``k`` students at once, as ``(k, n)`` tensors: the
student-bank engine (:mod:`softhard.engine`) builds one per range of students with
:func:`stack_targets` and takes its gradients (:meth:`ObjectiveGrad.into`) and reported losses
(:meth:`StackedTargets.reported`) from it, so the loss formula lives in this module only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F

from softhard import losses
from softhard.student import LabelMode, Student, resolve_kd_weight

__all__ = [
    "ClassTargets",
    "LabelMode",
    "ObjectiveGrad",
    "StackedTargets",
    "Targets",
    "make_targets",
    "stack_targets",
    "student_targets",
]


@dataclass(frozen=True)
class Targets:
    """Targets for a binary two-layer student.

    Attributes:
        y_pm: hard labels in {-1, +1}, shape ``(n,)``.
        p: teacher soft labels ``sigmoid(F / T)``, shape ``(n,)``, or None (no teacher).
        soft_weight: weight of the soft term: 0 = hard labels, 1 = soft labels.
        temperature: T of both ``p`` and the student's ``sigmoid(f / T)``.
        t2_scaling: multiply the KL term of the objective by ``T**2``.
    """

    y_pm: torch.Tensor
    p: torch.Tensor | None
    soft_weight: float
    temperature: float = 1.0
    t2_scaling: bool = True

    def __post_init__(self) -> None:
        if not 0.0 <= self.soft_weight <= 1.0:
            raise ValueError(f"soft_weight must be in [0, 1], got {self.soft_weight}")
        if self.soft_weight > 0 and self.p is None:
            raise ValueError("soft or mixed targets (soft_weight > 0) need teacher soft labels p")

    @property
    def _kl_scale(self) -> float:
        return self.temperature**2 if self.t2_scaling else 1.0

    def loss(self, f: torch.Tensor) -> torch.Tensor:
        """Per-example reported loss: ``w KL(p || sigmoid(f/T)) + (1 - w) logistic(f, y)``."""
        out = torch.zeros_like(f)
        if self.soft_weight < 1.0:
            out = out + (1.0 - self.soft_weight) * losses.logistic(f, self.y_pm)
        if self.soft_weight > 0.0:
            assert self.p is not None
            out = out + self.soft_weight * losses.binary_kl(f, self.p, self.temperature)
        return out

    def objective_grad(self, f: torch.Tensor) -> torch.Tensor:
        """Per-example derivative of the training objective with respect to the logit f."""
        out = torch.zeros_like(f)
        if self.soft_weight < 1.0:
            out = out + (1.0 - self.soft_weight) * losses.logistic_grad(f, self.y_pm)
        if self.soft_weight > 0.0:
            assert self.p is not None
            grad = losses.binary_kl_grad(f, self.p, self.temperature)
            out = out + (self.soft_weight * self._kl_scale) * grad
        return out

    def objective(self, f: torch.Tensor) -> torch.Tensor:
        """Per-example training objective (the reported loss with the T^2 factor on KL)."""
        out = torch.zeros_like(f)
        if self.soft_weight < 1.0:
            out = out + (1.0 - self.soft_weight) * losses.logistic(f, self.y_pm)
        if self.soft_weight > 0.0:
            assert self.p is not None
            kl = losses.binary_kl(f, self.p, self.temperature)
            out = out + (self.soft_weight * self._kl_scale) * kl
        return out

    def to(self, dtype: torch.dtype, device: torch.device | str = "cpu") -> Targets:
        """A copy with tensors cast to ``dtype`` on ``device``."""
        p = None if self.p is None else self.p.to(dtype=dtype, device=device)
        return Targets(
            self.y_pm.to(dtype=dtype, device=device),
            p,
            self.soft_weight,
            self.temperature,
            self.t2_scaling,
        )


@dataclass(frozen=True)
class ClassTargets:
    """Targets for a k-class (deep) student: :class:`Targets`' formula with softmax for sigmoid.

    The objective is ``w [T^2] KL(softmax(F/T) || softmax(f/T)) + (1 - w) CE(f, y)``, averaged
    over the examples (Hinton's convention; docs/theory.md section 2).

    Attributes:
        labels: class indices, shape ``(n,)``.
        teacher_logits: the teacher's logits F, shape ``(n, k)``, or None (no teacher).
        soft_weight: the resolved weight of the soft term: 0 = hard labels, 1 = soft labels.
        temperature: T of both the teacher's and the student's softmax.
        t2_scaling: multiply the KL term of the objective by ``T**2``.
    """

    labels: torch.Tensor
    teacher_logits: torch.Tensor | None
    soft_weight: float = 0.0
    temperature: float = 1.0
    t2_scaling: bool = True

    def __post_init__(self) -> None:
        if not 0.0 <= self.soft_weight <= 1.0:
            raise ValueError(f"soft_weight must be in [0, 1], got {self.soft_weight}")
        if self.soft_weight > 0 and self.teacher_logits is None:
            raise ValueError("soft or mixed targets (soft_weight > 0) need teacher logits")

    @property
    def scaled(self) -> bool:
        """Whether the objective differs from the reported loss (a T^2 factor other than 1)."""
        return self.t2_scaling and self.temperature != 1.0 and self.soft_weight > 0

    def rows(self, idx: torch.Tensor) -> ClassTargets:
        """The targets of the examples ``idx`` (a mini-batch)."""
        teacher = None if self.teacher_logits is None else self.teacher_logits[idx]
        return replace(self, labels=self.labels[idx], teacher_logits=teacher)

    def objective(self, logits: torch.Tensor) -> torch.Tensor:
        """Mean training objective of ``logits`` ``(n, k)`` (with the T^2 factor on KL)."""
        scale = self.temperature**2 if self.t2_scaling else 1.0
        return self._mean(logits, scale)

    def loss(self, logits: torch.Tensor) -> torch.Tensor:
        """Mean reported loss ``w KL + (1 - w) CE`` (no T^2 factor)."""
        return self._mean(logits, 1.0)

    def _mean(self, logits: torch.Tensor, scale: float) -> torch.Tensor:
        w = self.soft_weight
        out = torch.zeros((), dtype=logits.dtype, device=logits.device)
        if w < 1.0:
            out = out + (1.0 - w) * losses.cross_entropy(logits, self.labels).mean()
        if w > 0.0:
            assert self.teacher_logits is not None
            kl = losses.softmax_kl(logits, self.teacher_logits, self.temperature)
            out = out + w * scale * kl.mean()
        return out


def make_targets(
    label_mode: LabelMode,
    y_pm: torch.Tensor,
    teacher_logits: torch.Tensor | None,
    *,
    temperature: float = 1.0,
    kd_weight: float = 0.5,
    t2_scaling: bool = True,
) -> Targets:
    """Targets for a label mode: ``hard`` (soft_weight 0), ``soft`` (1) or ``mixed`` (kd_weight).

    The soft labels are ``sigmoid(teacher_logits / T)``; they are kept for hard targets too, so
    the KL to the teacher can be recorded for every run.
    """
    weight = resolve_kd_weight(label_mode, kd_weight)
    p = None if teacher_logits is None else losses.soft_targets(teacher_logits, temperature)
    return Targets(y_pm, p, weight, temperature, t2_scaling)


def student_targets(
    student: Student,
    y_pm: torch.Tensor,
    teacher_logits: torch.Tensor | None,
    *,
    t2_scaling: bool = True,
) -> Targets:
    """The targets of a :class:`~softhard.student.Student`: :func:`make_targets` with its label
    mode, temperature and kd_weight."""
    return make_targets(
        student.label_mode,
        y_pm,
        teacher_logits,
        temperature=student.temperature,
        kd_weight=student.kd_weight,
        t2_scaling=t2_scaling,
    )


@dataclass(frozen=True)
class ObjectiveGrad:
    """The derivative of ``k`` students' training objectives on ``b`` examples, stacked.

    With ``w`` = soft_weight, ``s`` = T^2 or 1 (``t2_scaling``) and ``T`` the temperature,
    :meth:`Targets.objective_grad` is ``(1 - w) (-y sigmoid(-y f)) + w s (sigmoid(f/T) - p) / T``,
    that is ``D = a1 sigmoid(-y f) + b1 sigmoid(f / T) + a3`` with ``a1 = -(1 - w) y``,
    ``b1 = w s / T`` and ``a3 = -b1 p``.

    Attributes:
        neg_y, a1, a3: ``-y``, ``a1`` and ``a3`` per student and example, ``(k, b)``.
        b1, inv_t: ``b1`` and ``1 / T`` per student, ``(k, 1)``.
        has_hard: some student has ``w < 1`` (else the logistic term is skipped).
        has_soft: some student has ``w > 0`` (else the KL term is skipped).
    """

    neg_y: torch.Tensor
    a1: torch.Tensor
    a3: torch.Tensor
    b1: torch.Tensor
    inv_t: torch.Tensor
    has_hard: bool
    has_soft: bool

    def columns(self, cols: torch.Tensor | slice) -> ObjectiveGrad:
        """The same students on some of the examples (a slice gives contiguous copies)."""
        if isinstance(cols, slice):
            return replace(
                self,
                neg_y=self.neg_y[:, cols].contiguous(),
                a1=self.a1[:, cols].contiguous(),
                a3=self.a3[:, cols].contiguous(),
            )
        return replace(
            self,
            neg_y=self.neg_y.index_select(1, cols),
            a1=self.a1.index_select(1, cols),
            a3=self.a3.index_select(1, cols),
        )

    def view(self, cols: slice) -> ObjectiveGrad:
        """The same students on a slice of the examples, as views (no copy)."""
        return replace(self, neg_y=self.neg_y[:, cols], a1=self.a1[:, cols], a3=self.a3[:, cols])

    def into(
        self,
        f: torch.Tensor,
        out: torch.Tensor | None = None,
        work: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``D`` of logits ``f`` ``(k, b)``; into the buffer ``out`` if given (``work``: a
        second ``(k, b)`` buffer for ``sigmoid(f / T)``)."""
        if self.has_hard:
            d = torch.mul(self.neg_y, f) if out is None else torch.mul(self.neg_y, f, out=out)
            d.sigmoid_().mul_(self.a1)
        else:
            d = torch.zeros_like(f) if out is None else out.zero_()
        if self.has_soft:
            z = torch.mul(f, self.inv_t) if work is None else torch.mul(f, self.inv_t, out=work)
            d.addcmul_(z.sigmoid_(), self.b1).add_(self.a3)
        return d


@dataclass(frozen=True)
class StackedTargets:
    """The targets of ``k`` students on ``n`` training examples as tensors (one bank range).

    Attributes:
        grad: the objective's derivative (:class:`ObjectiveGrad`) on all ``n`` examples.
        y: hard labels, ``(k, n)``.
        one_minus_p, neg_entropy: ``1 - p`` and ``p ln p + (1 - p) ln(1 - p)``, ``(k, n)``
            (p = 0 for a student without soft labels).
        kd: the soft weight per student, ``(k, 1)``.
        has_p: whether each student has soft labels, ``(k,)`` bool.
    """

    grad: ObjectiveGrad
    y: torch.Tensor
    one_minus_p: torch.Tensor
    neg_entropy: torch.Tensor
    kd: torch.Tensor
    has_p: torch.Tensor

    @property
    def has_hard(self) -> bool:
        return self.grad.has_hard

    @property
    def has_soft(self) -> bool:
        return self.grad.has_soft

    def reported(self, f: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Mean reported loss, KL and logistic loss of training logits ``f`` ``(E, k, n)``.

        The reported loss is :meth:`Targets.loss` averaged over examples,
        ``(1 - w) mean logistic(f, y) + w mean KL(p || sigmoid(f/T))``, each ``(E, k)`` in
        ``f``'s dtype. The KL is returned for every student (NaN-free; the caller masks it with
        ``has_p``); the logistic loss is returned for every student too (the yardstick). Without
        a student with ``w < 1`` the logistic term is left out of the loss, as the reference
        does.
        """
        kd = self.kd.view(-1)
        inv_t = self.grad.inv_t
        z = f if bool((inv_t == 1.0).all()) else torch.mul(f, inv_t)
        # KL(p || sigmoid(z)) = softplus(-z) + (1 - p) z + p log p + (1 - p) log(1 - p), and
        # softplus(-z) = -softplus(z, beta=-1) (the same threshold, an exact sign flip)
        kl_each = torch.mul(z, self.one_minus_p).sub_(F.softplus(z, beta=-1.0))
        kl = kl_each.mean(-1).add_(self.neg_entropy.mean(-1))
        zero = torch.zeros((), dtype=f.dtype, device=f.device)
        loss = torch.where(kd > 0.0, kd * kl, zero)
        logistic = F.softplus(torch.mul(self.grad.neg_y, f)).mean(-1)
        if self.has_hard:
            hard = torch.nonzero(kd < 1.0).flatten()
            every = len(hard) == len(kd)
            hard_logistic = logistic if every else logistic.index_select(1, hard)
            hard_loss = (1.0 - kd[hard]) * hard_logistic
            loss = loss + (
                hard_loss if every else torch.zeros_like(loss).index_copy_(1, hard, hard_loss)
            )
        return loss, kl, logistic


def stack_targets(
    targets: Sequence[Targets], dtype: torch.dtype, device: torch.device
) -> StackedTargets:
    """The targets of ``k`` students stacked (see :class:`StackedTargets`), computed in float64
    and cast to ``dtype`` on ``device``."""

    def col(values: list[float]) -> torch.Tensor:
        return torch.tensor(values, dtype=torch.float64)[:, None]

    y = torch.stack([t.y_pm.to(torch.float64).cpu() for t in targets])
    p = torch.stack(
        [
            t.p.to(torch.float64).cpu() if t.p is not None else torch.zeros_like(y[0])
            for t in targets
        ]
    )
    kd = col([t.soft_weight for t in targets])
    inv_t = col([1.0 / t.temperature for t in targets])
    scale = col([t._kl_scale for t in targets])
    b1 = kd * scale * inv_t

    def put(t: torch.Tensor) -> torch.Tensor:
        return t.to(dtype=dtype, device=device).contiguous()

    grad = ObjectiveGrad(
        neg_y=put(-y),
        a1=put(-(1.0 - kd) * y),
        a3=put(-b1 * p),
        b1=put(b1),
        inv_t=put(inv_t),
        has_hard=any(t.soft_weight < 1.0 for t in targets),
        has_soft=any(t.soft_weight > 0.0 for t in targets),
    )
    return StackedTargets(
        grad=grad,
        y=put(y),
        one_minus_p=put(1.0 - p),
        neg_entropy=put(torch.xlogy(p, p) + torch.xlogy(1.0 - p, 1.0 - p)),
        kd=put(kd),
        has_p=torch.tensor([t.p is not None for t in targets], device=device),
    )
