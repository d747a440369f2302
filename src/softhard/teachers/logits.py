"""Bring your own teacher: teacher logits read from a ``.npz`` file, checked against the data.

``teacher: {kind: logits, path: teacher_logits.npz}`` makes the two-layer study read the soft
labels' logits F(x) from a file instead of training a teacher. The file holds

* ``train_logits``: one logit per training example, shape ``(n_train,)`` (binary; ``(n, 1)``
  too), or one row per example, ``(n_train, k)``; for a binary task a row of two class logits
  gives ``F = row[1] - row[0]`` (class 1 is the label +1);
* ``test_logits`` (optional): the same for the test split (without it the teacher's test
  accuracy is unknown and the weak-teacher check skips the task);
* ``fingerprint``: the dataset's :meth:`~softhard.data.Dataset.fingerprint`, so that logits
  written for other data (another split, data seed, difficulty or source) are refused.

The examples are in the order of :func:`softhard.load_dataset`'s training (and test) split.
:func:`write_teacher_logits` writes such a file from any logits; :func:`export_teacher_logits`
(``softhard teacher-logits CONFIG --out FILE``) from the teacher softhard trains for a config.
"""

from __future__ import annotations

import hashlib
import math
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from softhard.data import Dataset
from softhard.errors import DataError

FORMAT = 1
_FIX = (
    "write the file for this data with softhard.teachers.write_teacher_logits(path, dataset, "
    "train_logits, test_logits) or `softhard teacher-logits CONFIG --out FILE`, the examples "
    "in the order of softhard.load_dataset(task)"
)


def write_teacher_logits(
    path: str | Path,
    dataset: Dataset,
    train_logits: torch.Tensor | np.ndarray,
    test_logits: torch.Tensor | np.ndarray | None = None,
) -> Path:
    """Write teacher logits for ``dataset`` (its training split, optionally its test split)."""
    train = np.asarray(train_logits, dtype=np.float64)
    entries: dict[str, Any] = {
        "train_logits": train,
        "fingerprint": np.array(dataset.fingerprint()),
        "dataset": np.array(dataset.name),
        "format": np.array(FORMAT),
    }
    if test_logits is not None:
        entries["test_logits"] = np.asarray(test_logits, dtype=np.float64)
    path = Path(path)
    _check_rows(path, "train_logits", train, dataset.n_train, dataset)
    if test_logits is not None:
        _check_rows(path, "test_logits", entries["test_logits"], dataset.n_test, dataset)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        np.savez(f, **entries)
    return path


def read_teacher_logits(
    path: str | Path, dataset: Dataset
) -> tuple[torch.Tensor, torch.Tensor | None, dict[str, Any]]:
    """The binary teacher logits F of ``path`` on ``dataset``'s training and test split.

    Returns ``(train_logits, test_logits or None, description)``; raises
    :class:`~softhard.errors.DataError` naming the file and the fix when the file is missing,
    unreadable, lacks ``train_logits`` or ``fingerprint``, was written for other data, or has
    the wrong number of examples or classes.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError(f"teacher logits file {path} does not exist; {_FIX}.")
    try:
        with np.load(path, allow_pickle=False) as npz:
            entries = {k: npz[k] for k in npz.files}
    except (OSError, ValueError, zipfile.BadZipFile) as err:
        raise DataError(
            f"teacher logits file {path} is not a readable .npz ({err}); {_FIX}."
        ) from None
    missing = [k for k in ("train_logits", "fingerprint") if k not in entries]
    if missing:
        raise DataError(
            f"teacher logits file {path} has no {' or '.join(missing)} (it holds "
            f"{', '.join(sorted(entries)) or 'nothing'}); {_FIX}."
        )
    found, expected = str(entries["fingerprint"]), dataset.fingerprint()
    if found != expected:
        written = str(entries.get("dataset", "unknown data"))
        raise DataError(
            f"teacher logits file {path} was written for other data (fingerprint {found}, "
            f"'{written}'), not for {dataset.name} (fingerprint {expected}): the task, split, "
            f"data seed or difficulty differ; {_FIX}."
        )
    train = _binary(path, "train_logits", entries["train_logits"], dataset.n_train, dataset)
    test = None
    if "test_logits" in entries:
        test = _binary(path, "test_logits", entries["test_logits"], dataset.n_test, dataset)
    info = {"path": str(path), "sha256": _sha256(path), "has_test": test is not None}
    return train, test, info


def logits_teacher_output(
    path: str | Path, dataset: Dataset
) -> tuple[torch.Tensor, torch.Tensor, dict[str, Any]]:
    """Train and test logits of a logits file with its description (kind, accuracies).

    Without test logits, the test logits are NaN and ``test_acc`` is NaN.
    """
    train, test, info = read_teacher_logits(path, dataset)
    y, yt = dataset.y_train_pm, dataset.y_test_pm
    test_logits = test if test is not None else torch.full((dataset.n_test,), math.nan)
    test_acc = math.nan if test is None else float(((test > 0) == (yt > 0)).double().mean())
    info = {
        "kind": "logits",
        **info,
        "train_acc": float(((train > 0) == (y > 0)).double().mean()),
        "test_acc": test_acc,
    }
    return train, test_logits.to(torch.float64), info


def _check_rows(path: Path, name: str, arr: np.ndarray, n: int, dataset: Dataset) -> None:
    if arr.ndim == 0 or arr.shape[0] != n:
        got = "a scalar" if arr.ndim == 0 else f"{arr.shape[0]} rows"
        split = name.removesuffix("_logits")
        raise DataError(
            f"teacher logits file {path}: {name} has {got}, but {dataset.name} has {n} "
            f"{split} examples; {_FIX}."
        )
    k = 1 if arr.ndim == 1 else int(np.prod(arr.shape[1:]))
    if k not in (1, dataset.num_classes):
        raise DataError(
            f"teacher logits file {path}: {name} has {k} logits per example, but "
            f"{dataset.name} has {dataset.num_classes} classes (give one logit per example "
            f"for a binary task, or one per class); {_FIX}."
        )
    if not np.isfinite(arr).all():
        raise DataError(f"teacher logits file {path}: {name} holds NaN or infinite values.")


def _binary(path: Path, name: str, arr: np.ndarray, n: int, dataset: Dataset) -> torch.Tensor:
    """The binary logit F per example (one column, or class 1 minus class 0)."""
    arr = np.asarray(arr, dtype=np.float64)
    _check_rows(path, name, arr, n, dataset)
    flat = arr.reshape(n, -1)
    logit = flat[:, 0] if flat.shape[1] == 1 else flat[:, 1] - flat[:, 0]
    if dataset.num_classes != 2:
        raise DataError(
            f"teacher logits file {path}: the two-layer study needs a binary task, "
            f"{dataset.name} has {dataset.num_classes} classes."
        )
    return torch.from_numpy(np.ascontiguousarray(logit))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]
