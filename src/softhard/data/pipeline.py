"""``load_dataset``: a :class:`~softhard.config.DataConfig` in, a :class:`Dataset` out.

The pipeline, in this order, every random step seeded by ``cfg.seed`` (an independent stream per
step and split):

1. load the raw source (:mod:`softhard.data.sources`) and pick the task's classes
   (:mod:`softhard.data.tasks`);
2. split train/test: the official split of mnist, mnist1d and cifar10; otherwise a stratified
   split with ``test_fraction``; ``max_train`` then subsamples the training set (stratified);
3. class mixing ``x' = (1 - mix) x + mix x_partner`` with a partner of the other class from the
   same split (binary tasks only);
4. additive Gaussian input noise of std ``noise`` per coordinate, on train and test;
5. ``normalize``: centre with the training mean and project onto the unit sphere;
6. flip each TRAINING label with probability ``flip`` (test labels stay clean, so test accuracy
   measures the true task).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from softhard.config import DataConfig
from softhard.data._dataset import Dataset
from softhard.data.sources import RawData, load_source
from softhard.data.tasks import Task, digit_task, label_task
from softhard.data.transforms import (
    add_noise,
    flip_labels,
    mix_classes,
    nested_subsample,
    normalize,
    pair_other_class,
    seeded_rng,
    stratified_split,
    stratified_subsample,
)
from softhard.errors import ConfigError, DataError

__all__ = ["load_dataset", "resolve_task", "student_subset"]

_SPLIT, _SUBSAMPLE, _MIX, _NOISE, _FLIP = 1, 2, 3, 4, 5
_STUDENT = 6
_TRAIN, _TEST = 0, 1

Arrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def load_dataset(cfg: DataConfig) -> Dataset:
    """Build the dataset ``cfg`` describes (float64 CPU tensors; deterministic given ``cfg``).

    Raises :class:`~softhard.errors.ConfigError` for an unknown task or a setting that does not
    fit the data (mixing a 10-class task) and :class:`~softhard.errors.DataError` for a missing or
    corrupt file, a class with no examples, or an example that cannot be normalised.
    """
    raw = load_source(cfg)
    task = resolve_task(cfg, raw)
    x_train, y_train, x_test, y_test = _split(cfg, raw, task)
    if cfg.mix > 0:
        if task.num_classes != 2:
            raise ConfigError(
                f"mix={cfg.mix:g} pairs each example with one of the other class and needs a "
                f"binary task; task '{task.spec}' has {task.num_classes} classes."
            )
        x_train = _mix(x_train, y_train, cfg.mix, seeded_rng(cfg.seed, _MIX, _TRAIN))
        x_test = _mix(x_test, y_test, cfg.mix, seeded_rng(cfg.seed, _MIX, _TEST))
    if cfg.noise > 0:
        x_train = add_noise(x_train, cfg.noise, seeded_rng(cfg.seed, _NOISE, _TRAIN))
        x_test = add_noise(x_test, cfg.noise, seeded_rng(cfg.seed, _NOISE, _TEST))
    if cfg.normalize:
        x_train, x_test = normalize(x_train, x_test)
    n_flipped = 0
    if cfg.flip > 0:
        rng = seeded_rng(cfg.seed, _FLIP)
        y_train, flipped = flip_labels(y_train, cfg.flip, rng, task.num_classes)
        n_flipped = int(flipped.sum())
    meta = _meta(cfg, raw, task, x_train, x_test, n_flipped)
    return Dataset(
        name=cfg.display,
        x_train=_tensor(x_train),
        y_train=torch.from_numpy(np.ascontiguousarray(y_train, dtype=np.int64)),
        x_test=_tensor(x_test),
        y_test=torch.from_numpy(np.ascontiguousarray(y_test, dtype=np.int64)),
        num_classes=task.num_classes,
        meta=meta,
    )


def student_subset(cfg: DataConfig, y_train: np.ndarray) -> np.ndarray:
    """Sorted indices of the student's training examples within the (teacher's) training split.

    ``cfg.student_max_train`` examples drawn by :func:`~softhard.data.transforms.nested_subsample`
    with ``cfg.seed`` (its own stream): class proportions kept, and nested, so the subset for a
    smaller size is contained in the subset for a larger one with the same seed. All indices
    when ``student_max_train`` is None or not smaller than the split.
    """
    y = np.asarray(y_train)
    if cfg.student_max_train is None:
        return np.arange(len(y))
    return nested_subsample(y, cfg.student_max_train, seeded_rng(cfg.seed, _STUDENT))


def resolve_task(cfg: DataConfig, raw: RawData) -> Task:
    """The task ``cfg.task`` over ``raw``'s labels, every class checked to have examples."""
    labels = raw.y if raw.y_test is None else np.concatenate([raw.y, raw.y_test])
    if not raw.digit_labels:
        chosen = "task" in cfg.model_fields_set  # the default task names digits, not these labels
        example = f"file:{cfg.path}" if cfg.source == "file" else cfg.source
        return label_task(cfg.task if chosen else None, labels, raw.origin, example=example)
    task = digit_task(cfg.task, raw.label_names)
    task.check_present(
        raw.y, raw.origin if raw.y_test is None else f"the training split of {raw.origin}"
    )
    if raw.y_test is not None:
        task.check_present(raw.y_test, f"the test split of {raw.origin}")
    return task


def _split(cfg: DataConfig, raw: RawData, task: Task) -> Arrays:
    """Select the task's examples, split train/test, subsample the training set."""
    index, y = task.select(raw.y)
    if raw.x_test is not None and raw.y_test is not None:
        test_index, y_test = task.select(raw.y_test)
        x_train, x_test = _features(raw, raw.x, index), _features(raw, raw.x_test, test_index)
    else:
        try:
            tr, te = stratified_split(y, cfg.test_fraction, seeded_rng(cfg.seed, _SPLIT))
        except DataError as err:
            raise DataError(f"{raw.origin}, task '{task.spec}': {err}") from None
        x_all = _features(raw, raw.x, index)
        x_train, y, x_test, y_test = x_all[tr], y[tr], x_all[te], y[te]
    if cfg.max_train is not None and cfg.max_train < len(y):
        keep = stratified_subsample(y, cfg.max_train, seeded_rng(cfg.seed, _SUBSAMPLE))
        x_train, y = x_train[keep], y[keep]
    return x_train, y, x_test, y_test


def _features(raw: RawData, x: np.ndarray, index: np.ndarray) -> np.ndarray:
    out = np.asarray(x[index], dtype=np.float64)
    return out / raw.divisor if raw.divisor != 1.0 else out


def _mix(x: np.ndarray, y: np.ndarray, lam: float, rng: np.random.Generator) -> np.ndarray:
    return mix_classes(x, pair_other_class(y, rng), lam)


def _tensor(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64))


def _meta(
    cfg: DataConfig,
    raw: RawData,
    task: Task,
    x_train: np.ndarray,
    x_test: np.ndarray,
    n_flipped: int,
) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "source": cfg.source,
        "task": task.spec,
        "class_names": list(task.class_names),
        "noise": cfg.noise,
        "flip": cfg.flip,
        "mix": cfg.mix,
        "normalize": cfg.normalize,
        "seed": cfg.seed,
        "n_train": len(x_train),
        "n_test": len(x_test),
        "dim": int(np.prod(x_train.shape[1:], dtype=np.int64)),
        "feature_shape": list(x_train.shape[1:]),
        "official_split": raw.official_split,
        "test_fraction": None if raw.official_split else cfg.test_fraction,
        "max_train": cfg.max_train,
        "n_flipped": n_flipped,
        "origin": raw.origin,
    }
    if cfg.path is not None:
        meta["path"] = cfg.path
    if cfg.source == "synthetic":
        meta.update(n_samples=cfg.n_samples, separation=cfg.separation)
    return meta
