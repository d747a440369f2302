"""Per-epoch metrics of many models at once, from their buffered logits.

The same quantities as :func:`softhard.train.evaluate`, vectorised over epochs and models:
reported loss ``(1 - w) mean logistic + w mean KL(p || sigmoid(f/T))``, train and test accuracy
and the KL to the teacher (NaN without one).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

METRICS = ("loss", "train_acc", "test_acc", "kl")


def bulk_metrics(
    f: torch.Tensor,
    n_train: int,
    tgt: dict[str, torch.Tensor],
    y_test: torch.Tensor | None,
    has_hard: bool = True,
) -> dict[str, torch.Tensor]:
    """Metrics of logits ``f`` ``(E, k, n_train + n_test)`` as ``(E, k)`` float64 CPU tensors.

    ``has_hard=False`` (every model has kd_weight 1) skips the logistic term, which then has
    weight 0, as the reference does.
    """
    f_tr = f[:, :, :n_train]
    kd = tgt["kd"].view(-1)
    z = torch.mul(f_tr, tgt["inv_t"])
    kl_each = F.softplus(-z).add_(z.mul_(tgt["one_minus_p"])).add_(tgt["neg_entropy"])
    kl = kl_each.mean(-1)
    zero = torch.zeros((), dtype=f.dtype, device=f.device)
    loss = torch.where(kd > 0.0, kd * kl, zero)
    if has_hard:
        logistic = F.softplus(torch.mul(tgt["neg_y"], f_tr)).mean(-1)
        loss = torch.where(kd < 1.0, (1.0 - kd) * logistic, zero) + loss
    train_acc = _agreement(f_tr, tgt["y"])
    if y_test is not None and f.shape[-1] > n_train:
        test_acc = _agreement(f[:, :, n_train:], y_test)
    else:
        test_acc = torch.full_like(train_acc, math.nan)
    kl = torch.where(tgt["has_p"], kl.double(), math.nan)
    out = {"loss": loss.double(), "train_acc": train_acc, "test_acc": test_acc, "kl": kl}
    return {k: v.cpu() for k, v in out.items()}


def _agreement(f: torch.Tensor, y_pm: torch.Tensor) -> torch.Tensor:
    """Fraction of examples with ``f > 0`` exactly when ``y > 0``, for labels ``y`` in {-1, +1}.

    With ``u = 1[f > 0]``: ``sum_j 1[u_j = 1[y_j > 0]] = sum_j u_j y_j + #{j: y_j < 0}``, exact
    in floating point (sums of small integers); float64 division as ``.double().mean()``.
    """
    u = (f > 0).to(f.dtype)
    negatives = (y_pm < 0).sum(-1).double()
    return (u.mul_(y_pm).sum(-1).double() + negatives) / f.shape[-1]
