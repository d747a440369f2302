"""Per-epoch metrics of many models at once, from their buffered logits.

The same quantities as :func:`softhard.train.evaluate`, vectorised over epochs and models:
reported loss ``(1 - w) mean logistic + w mean KL(p || sigmoid(f/T))``, train and test accuracy
the KL to the teacher (NaN without one) and the yardstick: mean logistic loss against the
training labels (``yard_loss``) and on the test set (``test_loss``), for every model.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

METRICS = ("loss", "train_acc", "test_acc", "kl", "yard_loss", "test_loss")


def bulk_metrics(
    f: torch.Tensor,
    n_train: int,
    tgt: dict[str, torch.Tensor],
    y_test: torch.Tensor | None,
    has_hard: bool = True,
) -> dict[str, torch.Tensor]:
    """Metrics of logits ``f`` ``(E, k, n_train + n_test)`` as ``(E, k)`` float64 CPU tensors.

    ``has_hard=False`` (every model has kd_weight 1): the logistic term has weight 0 in the
    reported loss and is left out of it, as the reference does (it is still the yardstick).
    """
    f_tr = f[:, :, :n_train]
    kd = tgt["kd"].view(-1)
    inv_t = tgt["inv_t"]
    z = f_tr if bool((inv_t == 1.0).all()) else torch.mul(f_tr, inv_t)
    # KL(p || sigmoid(z)) = softplus(-z) + (1 - p) z + p log p + (1 - p) log(1 - p), and
    # softplus(-z) = -softplus(z, beta=-1) (the same threshold, an exact sign flip)
    kl_each = torch.mul(z, tgt["one_minus_p"]).sub_(F.softplus(z, beta=-1.0))
    kl = kl_each.mean(-1).add_(tgt["neg_entropy"].mean(-1))
    zero = torch.zeros((), dtype=f.dtype, device=f.device)
    loss = torch.where(kd > 0.0, kd * kl, zero)
    yard = F.softplus(torch.mul(tgt["neg_y"], f_tr)).mean(-1)
    if has_hard:
        hard = torch.nonzero(kd < 1.0).flatten()
        every = len(hard) == len(kd)
        logistic = yard if every else yard.index_select(1, hard)
        hard_loss = (1.0 - kd[hard]) * logistic
        loss = loss + (
            hard_loss if every else torch.zeros_like(loss).index_copy_(1, hard, hard_loss)
        )
    train_acc = _agreement(f_tr, tgt["y"])
    if y_test is not None and f.shape[-1] > n_train:
        f_te = f[:, :, n_train:]
        test_acc = _agreement(f_te, y_test)
        test_loss = F.softplus(torch.mul(f_te, y_test).neg_()).mean(-1).double()
    else:
        test_acc = torch.full_like(train_acc, math.nan)
        test_loss = torch.full_like(train_acc, math.nan)
    kl = torch.where(tgt["has_p"], kl.double(), math.nan)
    out = {
        "loss": loss.double(),
        "train_acc": train_acc,
        "test_acc": test_acc,
        "kl": kl,
        "yard_loss": yard.double(),
        "test_loss": test_loss,
    }
    return {k: v.cpu() for k, v in out.items()}


def _agreement(f: torch.Tensor, y_pm: torch.Tensor) -> torch.Tensor:
    """Fraction of examples with ``f > 0`` exactly when ``y > 0``, for labels ``y`` in {-1, +1}.

    With ``u = 1[f > 0]``: ``sum_j 1[u_j = 1[y_j > 0]] = sum_j u_j y_j + #{j: y_j < 0}``, exact
    in floating point (sums of small integers); float64 division as ``.double().mean()``.
    ``u`` is written in ``f``'s dtype directly (much faster than a bool tensor and a cast).
    """
    u = torch.gt(f, 0, out=torch.empty_like(f))
    negatives = (y_pm < 0).sum(-1).double()
    return (u.mul_(y_pm).sum(-1).double() + negatives) / f.shape[-1]
