"""Per-epoch metrics of many models at once, from their buffered logits.

The same quantities as :func:`softhard.train.evaluate`, vectorised over epochs and models:
the reported loss (:meth:`softhard.targets.StackedTargets.reported`), train and test accuracy
the KL to the teacher (NaN without one) and the yardstick: mean logistic loss against the
training labels (``yard_loss``) and on the test set (``test_loss``), for every model.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from softhard.targets import StackedTargets
from softhard.train import VAL_COLUMNS

METRICS = ("loss", "train_acc", "test_acc", "kl", "yard_loss", "test_loss")
VAL_METRICS = VAL_COLUMNS  # with a validation set (its examples between training and test ones)


def bulk_metrics(
    f: torch.Tensor,
    n_train: int,
    tgt: StackedTargets,
    y_test: torch.Tensor | None,
    y_val: torch.Tensor | None = None,
) -> dict[str, torch.Tensor]:
    """Metrics of logits ``f`` ``(E, k, n_train [+ n_val] + n_test)`` as ``(E, k)`` float64 CPU
    tensors; with ``y_val`` also :data:`VAL_METRICS` of the ``n_val`` columns after training.

    The reported loss, the KL and the yardstick come from :meth:`StackedTargets.reported`.
    """
    f_tr = f[:, :, :n_train]
    loss, kl, yard = tgt.reported(f_tr)
    train_acc = _agreement(f_tr, tgt.y)
    extra: dict[str, torch.Tensor] = {}
    if y_val is not None:
        f_va = f[:, :, n_train : n_train + len(y_val)]
        extra["val_acc"] = _agreement(f_va, y_val)
        extra["val_loss"] = F.softplus(torch.mul(f_va, y_val).neg_()).mean(-1).double()
        n_train += len(y_val)
    if y_test is not None and f.shape[-1] > n_train:
        f_te = f[:, :, n_train:]
        test_acc = _agreement(f_te, y_test)
        test_loss = F.softplus(torch.mul(f_te, y_test).neg_()).mean(-1).double()
    else:
        test_acc = torch.full_like(train_acc, math.nan)
        test_loss = torch.full_like(train_acc, math.nan)
    kl = torch.where(tgt.has_p, kl.double(), math.nan)
    out = {
        "loss": loss.double(),
        "train_acc": train_acc,
        "test_acc": test_acc,
        "kl": kl,
        "yard_loss": yard.double(),
        "test_loss": test_loss,
        **extra,
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
