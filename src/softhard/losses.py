"""Losses for hard and soft labels (docs/theory.md section 2), binary and k-class.

Conventions (tested in ``tests/test_losses.py``):

* Hard labels, binary: logistic loss ``l(f, y) = ln(1 + exp(-y f))`` with y in {-1, +1}.
  k classes: cross-entropy of softmax(f).
* Soft labels: the teacher's target is ``p = sigmoid(F / T)`` (binary) or ``softmax(F / T)``
  (k classes); the student's is ``q = sigmoid(f / T)`` or ``softmax(f / T)``; the soft loss is
  ``KL(p || q)`` (0 at a perfect match). KL equals the cross-entropy to p minus the entropy of p,
  so both have the same gradient.
* Temperature scaling (Hinton et al. 2015): the *training objective* multiplies the KL term by
  ``T**2`` when ``t2_scaling`` is true (the default), so gradients keep their scale as T changes.
  *Reported* losses are always the plain, unscaled KL.
* Mixed: ``kd_weight * [T^2] KL + (1 - kd_weight) * hard``.

Every binary function also returns, where it says so, the derivative with respect to the logit f,
which the explicit-gradient trainers use.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def logistic(f: torch.Tensor, y_pm: torch.Tensor) -> torch.Tensor:
    """Per-example logistic loss ``ln(1 + exp(-y f))``, y in {-1, +1}."""
    return F.softplus(-y_pm * f)


def logistic_grad(f: torch.Tensor, y_pm: torch.Tensor) -> torch.Tensor:
    """d/df of the logistic loss: ``-y sigmoid(-y f)``."""
    return -y_pm * torch.sigmoid(-y_pm * f)


def binary_kl(f: torch.Tensor, p: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """Per-example ``KL(p || sigmoid(f / T))`` for Bernoulli targets p in [0, 1].

    ``KL = p ln(p/q) + (1-p) ln((1-p)/(1-q))`` with ``q = sigmoid(f/T)``, computed stably as
    ``softplus(-z) + (1-p) z + p ln p + (1-p) ln(1-p)`` with ``z = f/T`` (0 ln 0 = 0).
    """
    z = f / temperature
    cross = F.softplus(-z) + (1.0 - p) * z  # -p ln q - (1-p) ln(1-q)
    neg_entropy = torch.xlogy(p, p) + torch.xlogy(1.0 - p, 1.0 - p)
    return cross + neg_entropy


def binary_kl_grad(f: torch.Tensor, p: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """d/df of :func:`binary_kl`: ``(sigmoid(f/T) - p) / T``."""
    return (torch.sigmoid(f / temperature) - p) / temperature


def soft_targets(teacher_logits: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """Binary soft labels ``sigmoid(F / T)`` from teacher logits F."""
    return torch.sigmoid(teacher_logits / temperature)


def cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Per-example k-class cross-entropy of ``softmax(logits)`` against class indices."""
    return F.cross_entropy(logits, labels, reduction="none")


def softmax_kl(
    logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float = 1.0
) -> torch.Tensor:
    """Per-example ``KL(softmax(F/T) || softmax(f/T))`` for k classes (unscaled)."""
    log_q = F.log_softmax(logits / temperature, dim=-1)
    log_p = F.log_softmax(teacher_logits / temperature, dim=-1)
    return (log_p.exp() * (log_p - log_q)).sum(dim=-1)
