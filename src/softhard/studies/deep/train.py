"""One training loop for deep students and teachers: mini-batch SGD, momentum, cosine schedule.

Soft versus hard is a choice of *target*, not of trainer: the loop minimises the objective of a
:class:`~softhard.targets.ClassTargets`, ``w [T^2] KL(softmax(F/T) || softmax(f/T)) +
(1 - w) CE(f, y)`` (docs/theory.md section 2), with the soft weight ``w`` 0 for hard labels and
1 for soft labels. Reported losses are unscaled (no T^2).

Reproducible: the initial weights come from :func:`~softhard.models.table.build_model`'s seed;
batch order and augmentation use their own ``torch.Generator`` seeded from ``seed``; inside
:func:`deterministic_mode` torch uses deterministic kernels and no cudnn benchmark search. On
CPU the same seed gives the same numbers; on CUDA, ``amp`` uses bfloat16 autocast.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from softhard.device import autocast
from softhard.models.table import predict_logits
from softhard.studies.deep.config import DeepTrainConfig
from softhard.targets import ClassTargets
from softhard.teachers.selection import CheckTracker


@dataclass(frozen=True)
class DeepTrainResult:
    """The outcome of one deep training run (scalar summaries and a per-epoch history).

    Distinct from :class:`softhard.train.TrainResult`, which holds a two-layer student's
    weights and per-epoch curve arrays; a deep run keeps no weights.

    Attributes:
        test_acc: final test accuracy (eval mode).
        train_acc: final accuracy on the clean training inputs (eval mode, no augmentation).
        final_loss: mean training loss of the last epoch (unscaled, see module docstring).
        avg_loss: the mean over epochs of the epoch losses, ``(1/E) sum_e L_e`` (docs/theory.md section 2).
        seconds: wall time of the training.
        history: one dict per epoch: ``epoch, lr, loss, avg_loss, train_acc`` (running accuracy
            over the epoch's training batches, train mode, augmented inputs), ``test_acc`` and,
            with a validation set, ``val_acc`` and ``val_loss``.
        best_epoch: the kept checkpoint's epoch (``keep_best``), else None (the last epoch).
        grid: a tuned student's per-rate histories (:mod:`softhard.studies.deep.tune`), else ().
    """

    test_acc: float
    train_acc: float
    final_loss: float
    avg_loss: float
    seconds: float
    history: tuple[dict[str, float], ...]
    best_epoch: int | None = None
    grid: tuple[tuple[dict[str, float], ...], ...] = ()


def standardize(x_train: Tensor, x_test: Tensor) -> tuple[Tensor, Tensor]:
    """Subtract the training mean and divide by the training std, per channel (axis 1).

    Flat inputs ``(n, d)`` use one mean and std over all features.
    """
    dims = [0, *range(2, x_train.dim())] if x_train.dim() > 2 else [0, 1]
    mean = x_train.mean(dim=dims, keepdim=True)
    std = x_train.std(dim=dims, keepdim=True).clamp_min(1e-8)
    return (x_train - mean) / std, (x_test - mean) / std


def augment(x: Tensor, generator: torch.Generator, pad: int = 4) -> Tensor:
    """Random crop after zero padding by ``pad`` and random horizontal flip, per image.

    Random numbers come from the CPU ``generator``; the work is batched on ``x``'s device.
    """
    n, _, h, w = x.shape
    shifts = torch.randint(0, 2 * pad + 1, (2, n), generator=generator).to(x.device)
    flips = (torch.rand(n, generator=generator) < 0.5).to(x.device)
    padded = nn.functional.pad(x, (pad, pad, pad, pad))
    rows = shifts[0][:, None] + torch.arange(h, device=x.device)
    cols = shifts[1][:, None] + torch.arange(w, device=x.device)
    cols = torch.where(flips[:, None], cols.flip(1), cols)
    idx = torch.arange(n, device=x.device)[:, None, None]
    out = padded.permute(0, 2, 3, 1)[idx, rows[:, :, None], cols[:, None, :]]
    return out.permute(0, 3, 1, 2).contiguous()


def accuracy(logits: Tensor, labels: Tensor) -> float:
    """Fraction of rows whose arg-max is the label."""
    return float((logits.argmax(dim=1) == labels).float().mean())


def train_model(
    model: nn.Module,
    data: tuple[Tensor, Tensor, Tensor, Tensor],
    cfg: DeepTrainConfig,
    *,
    seed: int,
    targets: ClassTargets | None = None,
    epochs: int | None = None,
    amp: bool = False,
    val: tuple[Tensor, Tensor] | None = None,
    keep_best: bool = False,
) -> DeepTrainResult:
    """Train ``model`` in place on ``data = (x_train, y_train, x_test, y_test)``.

    ``targets`` are the training targets (labels ``y_train`` and, for soft or mixed students,
    the teacher's logits on ``x_train``); None means hard labels ``y_train``. All tensors must
    already be on the model's device. ``epochs`` overrides ``cfg.epochs`` (the teacher's own
    count). ``val = (x_val, y_val)`` adds ``val_acc`` and ``val_loss`` (cross-entropy on the
    labels) to every epoch of the history; with ``keep_best`` the model ends at the checkpoint
    with the best validation accuracy, ties broken by the lower validation loss
    (:class:`softhard.teachers.selection.CheckTracker`, rule ``val_acc``), and ``best_epoch``
    names it (the final values then describe that checkpoint).
    """
    x_train, y_train = data[0], data[1]
    targets = ClassTargets(y_train, None) if targets is None else targets
    epochs = epochs or cfg.epochs
    optimiser, schedule = _optimiser(model, cfg, epochs, x_train.shape[0])
    order_gen = torch.Generator().manual_seed(seed)
    aug_gen = torch.Generator().manual_seed(seed + 7919)
    do_augment = cfg.augment and x_train.dim() == 4 and tuple(x_train.shape[2:]) == (32, 32)
    tracker = CheckTracker("val_acc", patience=epochs + 1)
    history: list[dict[str, float]] = []
    start = time.perf_counter()
    loss_sum = 0.0
    for epoch in range(1, epochs + 1):
        lr = optimiser.param_groups[0]["lr"]
        loss, run_acc = _epoch(
            model, optimiser, schedule, (x_train, targets),
            cfg.batch_size, order_gen, aug_gen if do_augment else None, amp=amp,
        )  # fmt: skip
        loss_sum += loss
        row = {"epoch": epoch, "lr": lr, "loss": loss, "avg_loss": loss_sum / epoch,
               "train_acc": run_acc, **_evaluate(model, data, val, cfg, amp)}  # fmt: skip
        history.append(row)
        if keep_best and val is not None and tracker.improves({**row, "epochs_used": epoch}):
            tracker.offer({**row, "epochs_used": epoch, "state": copy.deepcopy(model.state_dict())})
    best_epoch = _restore_best(model, tracker) if keep_best else None
    end = history[(best_epoch or epochs) - 1]
    train_logits = predict_logits(model, x_train, batch_size=cfg.eval_batch_size, amp=amp)
    return DeepTrainResult(
        test_acc=end["test_acc"],
        train_acc=accuracy(train_logits, y_train),
        final_loss=end["loss"],
        avg_loss=loss_sum / epochs,
        seconds=time.perf_counter() - start,
        history=tuple(history),
        best_epoch=best_epoch,
    )


def _restore_best(model: nn.Module, tracker: CheckTracker) -> int | None:
    """Load the tracker's kept checkpoint into ``model``; its epoch (None if none was kept)."""
    if not tracker.best:
        return None
    model.load_state_dict(tracker.best["state"])
    return int(tracker.best["epoch"])


def _optimiser(
    model: nn.Module, cfg: DeepTrainConfig, epochs: int, n: int
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]:
    """SGD (momentum, weight decay, optional Nesterov) and its per-step schedule."""
    steps_per_epoch = max(1, n // cfg.batch_size + (n % cfg.batch_size >= 2))
    optimiser = torch.optim.SGD(
        model.parameters(),
        lr=cfg.lr,
        momentum=cfg.momentum,
        weight_decay=cfg.weight_decay,
        nesterov=cfg.nesterov and cfg.momentum > 0,
    )
    total = epochs * steps_per_epoch
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda step: _lr_factor(step, total, cfg.warmup_epochs * steps_per_epoch, cfg)
    )
    return optimiser, schedule


def _evaluate(
    model: nn.Module,
    data: tuple[Tensor, Tensor, Tensor, Tensor],
    val: tuple[Tensor, Tensor] | None,
    cfg: DeepTrainConfig,
    amp: bool,
) -> dict[str, float]:
    """Test accuracy and, with ``val``, validation accuracy and cross-entropy (eval mode)."""
    test_logits = predict_logits(model, data[2], batch_size=cfg.eval_batch_size, amp=amp)
    out = {"test_acc": accuracy(test_logits, data[3])}
    if val is not None:
        logits = predict_logits(model, val[0], batch_size=cfg.eval_batch_size, amp=amp).float()
        out["val_acc"] = accuracy(logits, val[1])
        out["val_loss"] = float(nn.functional.cross_entropy(logits, val[1]))
    return out


def _epoch(
    model: nn.Module,
    optimiser: torch.optim.Optimizer,
    schedule: torch.optim.lr_scheduler.LRScheduler,
    batch_data: tuple[Tensor, ClassTargets],
    batch_size: int,
    order_gen: torch.Generator,
    aug_gen: torch.Generator | None,
    *,
    amp: bool,
) -> tuple[float, float]:
    """One pass over the shuffled training set; returns (mean reported loss, running accuracy)."""
    x_all, targets_all = batch_data
    model.train()
    perm = torch.randperm(x_all.shape[0], generator=order_gen).to(x_all.device)
    loss_sum = torch.zeros((), device=x_all.device)
    correct = torch.zeros((), dtype=torch.long, device=x_all.device)
    seen = 0
    for begin in range(0, x_all.shape[0], batch_size):
        idx = perm[begin : begin + batch_size]
        if idx.numel() < 2:  # batch norm needs two examples
            continue
        x, targets = x_all[idx], targets_all.rows(idx)
        if aug_gen is not None:
            x = augment(x, aug_gen)
        with autocast(x.device, amp):
            logits = model(x).float()
        objective = targets.objective(logits)
        optimiser.zero_grad(set_to_none=True)
        objective.backward()  # type: ignore[no-untyped-call]
        optimiser.step()
        schedule.step()
        with torch.no_grad():
            reported = targets.loss(logits) if targets.scaled else objective
            loss_sum += reported.detach() * idx.numel()  # summed on the device: no sync
            correct += (logits.argmax(dim=1) == targets.labels).sum()
            seen += idx.numel()
    return float(loss_sum) / max(seen, 1), int(correct) / max(seen, 1)


def _lr_factor(step: int, total: int, warmup: int, cfg: DeepTrainConfig) -> float:
    """Multiplier of the peak learning rate at ``step``: linear warm-up, then cosine or constant.

    Cosine (Loshchilov & Hutter 2017, no restarts): ``0.5 (1 + cos(pi t / T))`` over the steps
    after the warm-up.
    """
    if step < warmup:
        return (step + 1) / warmup
    if cfg.schedule == "constant":
        return 1.0
    t = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1.0 + math.cos(math.pi * min(t, 1.0)))
