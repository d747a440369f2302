"""``train_bank``: many two-layer students (widths, seeds, targets, learning rates) in one pass.

The bank holds every student's first layer as rows of one wide hidden layer and trains them with
the explicit two-matrix-product gradient of docs/theory.md section 1 (see
:mod:`softhard.engine._kernels`), chunked over neurons (ranges of whole models) and examples.
Each student gets the same :class:`~softhard.train.TrainResult` as the one-model reference
:func:`softhard.train.train_two_layer` (same metric convention, same initialisation, same batch
order); ``tests/test_engine.py`` holds the two against each other.

Chunking and threading settings of :func:`train_bank`:

- ``chunk_neurons``: neurons per range (whole models; a wider model forms its own range);
  default 2048 on CPU, 65536 on CUDA.
- ``chunk_examples``: examples per tile; a tile never exceeds ``chunk_neurons *
  chunk_examples`` entries. Default 512 on CPU, 16384 on CUDA.
- ``workers``: CPU only: ranges trained side by side in this many threads, each running
  single-threaded torch ops (torch's thread count is set to 1 meanwhile and restored after).
  Default ``torch.get_num_threads()``. Results do not depend on it, bit for bit: ranges are cut
  in a multiple of ``RANGE_MULTIPLE`` whatever ``workers`` is, every range uses the same example
  block, and several ranges always run single-threaded (``tests/test_determinism.py``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numpy as np
import torch

from softhard.config import TrainConfig
from softhard.device import cpu_threads
from softhard.engine._layout import build_range, model_cost, plan_key, plan_ranges
from softhard.engine._loop import RangeTrainer
from softhard.engine._metrics import METRICS, VAL_METRICS
from softhard.engine.entry import BankEntry
from softhard.errors import ConfigError
from softhard.inequality import INEQUALITY_COLUMNS
from softhard.train import CURVE_COLUMNS, TrainResult, epoch_summaries

_T = TypeVar("_T")
RANGE_MULTIPLE = 4  # CPU: ranges per bank are a multiple of this (threads share them)
_DEFAULT_CHUNKS = {"cpu": (2048, 512), "cuda": (1 << 16, 1 << 14)}


def train_bank(
    x: torch.Tensor,
    students: Sequence[BankEntry],
    cfg: TrainConfig,
    *,
    x_test: torch.Tensor | None = None,
    y_test_pm: torch.Tensor | None = None,
    x_val: torch.Tensor | None = None,
    y_val_pm: torch.Tensor | None = None,
    shuffle_seed: int = 0,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
    chunk_neurons: int | None = None,
    chunk_examples: int | None = None,
    workers: int | None = None,
) -> list[TrainResult]:
    """Train every entry's student on ``(x, entry.targets)``; one result per entry, in order.

    Supports ``cfg.optimizer`` ``gd`` (full batch) and ``sgd`` (mini-batches of
    ``cfg.batch_size`` in the order of :func:`softhard.train.batch_order`, shared by the bank),
    each optionally projected (``cfg.rho``: ``||w_s - w_s(0)|| <= rho / sqrt(m)``).
    ``cfg.t2_scaling`` is ignored: each student's :class:`Targets` carries its own.

    Args:
        x: training inputs ``(n, d)``.
        students: the bank entries (a student with its targets, which must have ``n`` labels).
        x_test, y_test_pm: optional test set for ``test_acc``.
        x_val, y_val_pm: optional validation set: adds the curves and final values
            ``val_acc`` and ``val_loss`` (logistic), as :func:`softhard.train.train_two_layer`.
        chunk_neurons, chunk_examples, workers: the chunking and threading settings (see the
            module docstring).

    Raises:
        ConfigError: Adam (train it with the reference loop, engine ``loop``) or bad shapes.
    """
    device = torch.device(device)
    epochs = _check_inputs(x, students, cfg, x_test, y_test_pm)
    _check_val(x, x_val, y_val_pm)
    default_neurons, default_examples = _DEFAULT_CHUNKS.get(device.type, _DEFAULT_CHUNKS["cpu"])
    chunk_neurons = chunk_neurons or default_neurons
    n = x.shape[0]
    parts = [p for p in (x, x_val, x_test) if p is not None]  # train | validation | test
    x_all = torch.cat([p.to(dtype=dtype, device=device) for p in parts]).contiguous()
    y_test, y_val = (
        None if y is None else y.to(dtype=dtype, device=device) for y in (y_test_pm, y_val_pm)
    )
    block = _example_block(students, chunk_neurons, chunk_examples or default_examples, x_all)

    def train_range(members: list[int]) -> list[tuple[int, TrainResult]]:
        bank_range = build_range(
            students, members, x.shape[1], lr=cfg.lr, rho=cfg.rho, dtype=dtype, device=device
        )
        trainer = RangeTrainer(
            bank_range, x_all, n, y_test, block * bank_range.num_neurons, block, y_val
        )
        _run_epochs(trainer, epochs, cfg, n, shuffle_seed)
        final = trainer.finish()
        return list(zip(bank_range.students, _results(trainer, final, epochs), strict=True))

    return _train_ranges(train_range, students, chunk_neurons, device, workers)


def _run_epochs(
    trainer: RangeTrainer, epochs: int, cfg: TrainConfig, n: int, shuffle_seed: int
) -> None:
    """``epochs`` epochs of full-batch GD (``gd``, or a batch of all ``n``), else of SGD."""
    full_batch = cfg.optimizer == "gd" or cfg.batch_size is None or cfg.batch_size >= n
    for epoch in range(epochs):
        if full_batch:
            trainer.gd_epoch(epoch)
        else:
            assert cfg.batch_size is not None
            trainer.sgd_epoch(epoch, cfg.batch_size, shuffle_seed)


def _example_block(
    students: Sequence[BankEntry], chunk_neurons: int, chunk_examples: int, x_all: torch.Tensor
) -> int:
    """Examples per tile, one block for every range, whatever the ranges hold: the order of the
    sums over examples then does not depend on how students are cut into ranges (so not on
    ``workers``)."""
    widest = max(chunk_neurons, max(s.width for s in students))
    return max(1, min(chunk_examples, chunk_neurons * chunk_examples // widest, x_all.shape[0]))


def _check_val(x: torch.Tensor, x_val: torch.Tensor | None, y_val_pm: torch.Tensor | None) -> None:
    """A ConfigError unless the validation set is given whole (with ``x``'s features) or not at all."""
    if (x_val is None) != (y_val_pm is None) or (
        x_val is not None and x_val.shape[1:] != x.shape[1:]
    ):
        raise ConfigError("train_bank: give x_val (n_val, d) and y_val_pm together, or neither")


def _train_ranges(
    train_range: Callable[[list[int]], list[tuple[int, TrainResult]]],
    students: Sequence[BankEntry],
    chunk_neurons: int,
    device: torch.device,
    workers: int | None,
) -> list[TrainResult]:
    """Cut ``students`` into ranges, train each with ``train_range``; results in student order."""
    workers = workers or torch.get_num_threads()
    # ranges are cut in a fixed multiple, not for `workers`: the same students always form the
    # same ranges, so results are bitwise the same whatever the number of workers or cores
    multiple = RANGE_MULTIPLE if device.type == "cpu" else 1
    ranges = plan_ranges([plan_key(s) for s in students], chunk_neurons, multiple)
    ranges = sorted(ranges, key=_range_cost(students), reverse=True)
    results: list[TrainResult | None] = [None] * len(students)
    for done in _map_ranges(train_range, ranges, device, workers):
        for s, result in done:
            results[s] = result
    return [r for r in results if r is not None]


def _range_cost(students: Sequence[BankEntry]) -> Callable[[list[int]], int]:
    return lambda members: sum(model_cost(students[s].width) for s in members)


def _map_ranges(
    fn: Callable[[list[int]], _T],
    ranges: list[list[int]],
    device: torch.device,
    workers: int | None,
) -> list[_T]:
    """``fn`` over the ranges: in a pool of single-threaded workers on CPU, else in turn."""
    workers = workers or torch.get_num_threads()
    if device.type != "cpu" or len(ranges) <= 1:
        return [fn(r) for r in ranges]
    with cpu_threads(1):  # one worker or many, each range runs single-threaded (same sums)
        if workers <= 1:
            return [fn(r) for r in ranges]
        with ThreadPoolExecutor(workers, initializer=_single_threaded) as pool:
            return list(pool.map(fn, ranges))


def _single_threaded() -> None:
    """Worker initialiser: OpenMP's thread count is per thread, so set it in each worker too
    (else every worker's kernels may use all cores and the workers oversubscribe them)."""
    torch.set_num_threads(1)


def _results(
    trainer: RangeTrainer, final: dict[str, torch.Tensor], epochs: int
) -> list[TrainResult]:
    """Per-model :class:`TrainResult` from a finished range (curves sliced from whole arrays)."""
    bank_range, curves = trainer.bank_range, trainer.curves()
    loss = curves["loss"][:epochs]
    whole = {
        "loss": loss,
        "avg_loss": np.cumsum(loss, axis=0) / np.arange(1, epochs + 1)[:, None],
        **{m: curves[m][:epochs] for m in METRICS if m != "loss"},
    }
    columns = _columns(curves)
    whole |= {m: curves[m][:epochs] for m in VAL_METRICS if m in curves}
    whole = {c: np.ascontiguousarray(whole[c].T, dtype=np.float64) for c in columns}
    ends = {m: final[m].tolist() for m in final}
    weights = torch.split(bank_range.weight.clone(), bank_range.widths)
    finite = np.isfinite(loss).all(axis=0) if epochs else np.ones(bank_range.num_models, bool)
    out = []
    for j in range(bank_range.num_models):
        if trainer.death[j] is not None or not finite[j]:
            out.append(_result_slow(trainer, curves, final, epochs, j))
            continue
        end = {m: ends[m][j] for m in ends}
        reason = None
        if not math.isfinite(end["loss"]):
            reason = f"loss became {end['loss']} after epoch {epochs}"
        model_curves = {c: whole[c][j] for c in columns}
        if bank_range.logged is not None and bank_range.logged[j] and trainer.inequality:
            terms = torch.stack(trainer.inequality).numpy()[:epochs, j]
            model_curves.update({c: terms[:, i] for i, c in enumerate(INEQUALITY_COLUMNS)})
        end.update(epoch_summaries(model_curves, end))
        out.append(TrainResult(weights[j], model_curves, end, reason is not None, reason, epochs))
    return out


def _result_slow(
    trainer: RangeTrainer,
    curves: dict[str, np.ndarray],
    final: dict[str, torch.Tensor],
    epochs: int,
    j: int,
) -> TrainResult:
    """One model's result when it diverged (frozen at a non-finite epoch or overflowed loss)."""
    bank_range = trainer.bank_range
    death = trainer.death[j]
    run = epochs if death is None else death
    loss = curves["loss"][:run, j]
    bad = np.flatnonzero(~np.isfinite(loss))
    if len(bad):  # loss overflowed with finite logits: stop the record there
        death, run, loss = int(bad[0]), int(bad[0]), loss[: bad[0]]
    total = np.cumsum(loss)
    model_curves = {
        "loss": loss,
        "avg_loss": total / np.arange(1, run + 1),
        **{m: curves[m][:run, j] for m in (*METRICS, *VAL_METRICS) if m != "loss" and m in curves},
    }
    if death is None:
        end = {m: float(final[m][j]) for m in final}
        weight = bank_range.weight[bank_range.offsets[j] : bank_range.offsets[j + 1]].clone()
        reason = None
        if not math.isfinite(end["loss"]):
            reason = f"loss became {end['loss']} after epoch {run}"
    else:
        end = {m: float(curves[m][death, j]) for m in curves}
        weight = trainer.snapshot.get(
            j, bank_range.weight[bank_range.offsets[j] : bank_range.offsets[j + 1]]
        )
        reason = f"loss became {end['loss']} at epoch {death}"
    ordered = {c: np.asarray(model_curves[c], dtype=np.float64) for c in _columns(curves)}
    end.update(epoch_summaries(ordered, end))
    return TrainResult(weight, ordered, end, reason is not None, reason, run)


def _columns(curves: dict[str, np.ndarray]) -> tuple[str, ...]:
    """The curve columns of a result: :data:`CURVE_COLUMNS`, then the validation ones if any."""
    return (*CURVE_COLUMNS, *(m for m in VAL_METRICS if m in curves))


def _check_inputs(
    x: torch.Tensor,
    students: Sequence[BankEntry],
    cfg: TrainConfig,
    x_test: torch.Tensor | None,
    y_test_pm: torch.Tensor | None,
) -> int:
    """Raise a ConfigError for unsupported settings or mismatched shapes; the epoch count."""
    if cfg.optimizer not in ("gd", "sgd"):
        raise ConfigError(
            f"train.optimizer={cfg.optimizer!r} is not supported by the bank engine, which trains "
            "'gd' and 'sgd' (each optionally projected with train.rho); train Adam students with "
            "the one-model reference loop (engine: loop)."
        )
    if not isinstance(cfg.epochs, int):
        raise ConfigError(
            f"train_bank needs a whole number of epochs, got train.epochs={cfg.epochs!r} "
            "('auto' is resolved per task by softhard.studies.two_layer.task_horizon)"
        )
    if x.ndim != 2:
        raise ConfigError(f"train_bank needs inputs of shape (n, d), got {tuple(x.shape)}")
    if (x_test is None) != (y_test_pm is None):
        raise ConfigError("train_bank: give both x_test and y_test_pm, or neither")
    if x_test is not None and (x_test.ndim != 2 or x_test.shape[1] != x.shape[1]):
        raise ConfigError(f"x_test must be (n_test, {x.shape[1]}), got {tuple(x_test.shape)}")
    logging = [s for s in students if s.reference is not None]
    if logging and (cfg.optimizer != "gd" or any(s.targets.temperature != 1 for s in logging)):
        raise ConfigError(
            "the GD inequality (BankEntry.reference) is logged for full-batch gd at temperature "
            f"1 only, got train.optimizer={cfg.optimizer!r}"
        )
    for i, s in enumerate(students):
        if s.reference is not None and tuple(s.reference.shape) != (s.width, x.shape[1]):
            raise ConfigError(f"student {i}: its reference point must be ({s.width}, {x.shape[1]})")
        if s.weight is not None and tuple(s.weight.shape) != (s.width, x.shape[1]):
            raise ConfigError(
                f"student {i}: its start weight has shape {tuple(s.weight.shape)}, expected "
                f"({s.width}, {x.shape[1]})"
            )
        if s.targets.y_pm.shape[0] != x.shape[0]:
            raise ConfigError(
                f"student {i}: its targets have {s.targets.y_pm.shape[0]} labels but x has "
                f"{x.shape[0]} examples"
            )
    return cfg.epochs
