"""CIFAR-10 from the official binary files: no pickle, no download.

The "CIFAR-10 binary version" (https://www.cs.toronto.edu/~kriz/cifar.html, file
``cifar-10-binary.tar.gz``) unpacks to ``cifar-10-batches-bin/`` holding ``data_batch_1.bin`` ..
``data_batch_5.bin`` (10,000 images each) and ``test_batch.bin`` (10,000). Each file is a sequence
of 3073-byte records: one label byte in 0..9, then 3072 pixel bytes, the 1024 red values, then the
1024 green, then the 1024 blue, each plane in row-major order (32 x 32).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from softhard.errors import DataError

TRAIN_FILES = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
TEST_FILE = "test_batch.bin"
RECORD_BYTES = 1 + 3 * 32 * 32
NUM_CLASSES = 10
CLASS_NAMES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)
_WHERE = (
    "download the 'CIFAR-10 binary version' (cifar-10-binary.tar.gz) from "
    "https://www.cs.toronto.edu/~kriz/cifar.html, unpack it and name the folder "
    "'cifar-10-batches-bin' that holds the .bin files (for example with "
    "--set tasks.0.path=/data/cifar-10-batches-bin)"
)


def read_cifar10(folder: str | Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Read the five training batches and the test batch from ``folder``.

    Returns:
        ``(x_train, y_train, x_test, y_test)``: images float64 in [0, 1] of shape
        ``(n, 3, 32, 32)`` (channels red, green, blue) and labels int64 in 0..9.

    Raises:
        DataError: the folder or a file is missing, or a file is malformed (its size is not a
            multiple of 3073 bytes, or a label byte is above 9).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"CIFAR-10 folder {folder} does not exist; {_WHERE}.")
    parts = [read_cifar10_file(folder / name) for name in TRAIN_FILES]
    x_train = np.concatenate([x for x, _ in parts])
    y_train = np.concatenate([y for _, y in parts])
    x_test, y_test = read_cifar10_file(folder / TEST_FILE)
    return x_train, y_train, x_test, y_test


def read_cifar10_file(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """One binary batch file: ``(images float64 (n, 3, 32, 32) in [0, 1], labels int64 (n,))``."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"CIFAR-10 file {path} is missing; {_WHERE}.")
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size == 0 or raw.size % RECORD_BYTES:
        raise DataError(
            f"CIFAR-10 file {path} is malformed: its size, {raw.size} bytes, is not a positive "
            f"multiple of the {RECORD_BYTES}-byte record (1 label byte + 3072 pixel bytes); "
            f"is it the binary version, complete and unpacked? {_WHERE}."
        )
    records = raw.reshape(-1, RECORD_BYTES)
    labels = records[:, 0].astype(np.int64)
    bad = np.flatnonzero(labels >= NUM_CLASSES)
    if bad.size:
        raise DataError(
            f"CIFAR-10 file {path} is malformed: record {int(bad[0])} has label byte "
            f"{int(labels[bad[0]])}, but labels must be 0..9 ({bad.size} bad records); "
            f"is it the CIFAR-10 (not CIFAR-100) binary version?"
        )
    images = records[:, 1:].reshape(-1, 3, 32, 32).astype(np.float64) / 255.0
    return images, labels


def write_cifar10_file(path: str | Path, images: np.ndarray, labels: np.ndarray) -> None:
    """Write images (uint8 ``(n, 3, 32, 32)``) and labels in the official binary format.

    The inverse of :func:`read_cifar10_file` (used by tests and to make small fixtures).
    """
    images = np.asarray(images, dtype=np.uint8).reshape(len(labels), -1)
    records = np.concatenate([np.asarray(labels, dtype=np.uint8)[:, None], images], axis=1)
    Path(path).write_bytes(records.tobytes())
