"""Raw data sources: the arrays as the source has them, before any task, split or transform.

Each loader returns a :class:`RawData` in the source's natural shape: ``digits`` ``(n, 1, 8, 8)``
in [0, 1] (pixel / 16); ``mnist`` ``(n, 1, 28, 28)`` in [0, 1] (pixel / 255); ``mnist1d``
``(n, 40)`` as generated; ``synthetic`` ``(n, dim)`` on the unit sphere; ``file`` ``(n, features)``
(an ``.npz`` X keeps its shape); ``cifar10`` ``(n, 3, 32, 32)`` in [0, 1]. Nothing is ever
downloaded.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from mnist1d.data import get_dataset_args, make_dataset
from scipy import stats
from sklearn.datasets import load_digits

from softhard.config import DataConfig, Source
from softhard.data import cifar
from softhard.data.files import read_csv, read_npz
from softhard.data.idx import read_idx
from softhard.data.transforms import seeded_rng
from softhard.errors import ConfigError, DataError

__all__ = [
    "MNIST1D_SEED",
    "MNIST_FILES",
    "SOURCES",
    "RawData",
    "load_source",
    "mnist1d_arrays",
    "read_csv",
    "read_mnist",
    "read_npz",
    "synthetic_arrays",
]

MNIST_FILES: tuple[str, ...] = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
MNIST1D_SEED = 42
"""Seed of the published MNIST-1D (``mnist1d.data.get_dataset_args().seed``)."""

_CIFAR10_NAMES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip
_STREAM_SYNTHETIC = 6


@dataclass(frozen=True)
class RawData:
    """A source's examples. ``x[i] / divisor`` is example ``i`` in float64.

    Attributes:
        x, y: all examples, or the official training split when ``x_test`` is given.
        x_test, y_test: the source's official test split, or ``None`` (split by seed).
        divisor: turns the stored values into the natural scale (255 for MNIST bytes, 16 digits).
        origin: where the data came from, for error messages (``"MNIST folder data/mnist"``).
        digit_labels: raw labels are the classes 0-9 (digit tasks apply).
        label_names: a display name per raw class 0-9, or ``None`` for the digits themselves.
    """

    x: np.ndarray
    y: np.ndarray
    x_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    divisor: float = 1.0
    origin: str = ""
    digit_labels: bool = True
    label_names: tuple[str, ...] | None = None

    @property
    def official_split(self) -> bool:
        return self.x_test is not None


def load_source(cfg: DataConfig) -> RawData:
    """Load ``cfg.source`` through the :data:`SOURCES` table."""
    return SOURCES[cfg.source](cfg)


# --- digits -----------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    bunch = load_digits()
    x = np.asarray(bunch.images, dtype=np.float64)[:, None, :, :]
    return _frozen(x), _frozen(np.asarray(bunch.target, dtype=np.int64))


def _load_digits(cfg: DataConfig) -> RawData:
    x, y = _digits_arrays()
    return RawData(x, y, divisor=16.0, origin="scikit-learn's digits")


# --- mnist1d ----------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def mnist1d_arrays(
    seed: int = MNIST1D_SEED,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(x_train, y_train, x_test, y_test)`` of MNIST-1D generated locally (never downloaded).

    Uses ``mnist1d.data.make_dataset(get_dataset_args())`` with ``seed`` (default: the published
    dataset's 42): 4000 training and 1000 test examples of length 40. The generator seeds the
    global ``random`` and ``numpy.random`` states; both are saved and restored around it.
    The arrays are cached in-process and read-only.
    """
    args = get_dataset_args()
    args.seed = seed
    np_state, py_state = np.random.get_state(), random.getstate()
    try:
        data = make_dataset(args)
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)
    return tuple(  # type: ignore[return-value]
        _frozen(np.asarray(data[k], dtype=dtype))
        for k, dtype in (
            ("x", np.float64),
            ("y", np.int64),
            ("x_test", np.float64),
            ("y_test", np.int64),
        )
    )


def _load_mnist1d(cfg: DataConfig) -> RawData:
    x, y, x_test, y_test = mnist1d_arrays(MNIST1D_SEED)
    return RawData(x, y, x_test, y_test, origin=f"MNIST-1D (generated, seed {MNIST1D_SEED})")


# --- mnist ------------------------------------------------------------------------------------


def read_mnist(folder: str | Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(x_train, y_train, x_test, y_test)`` from the four MNIST IDX files in ``folder``.

    Each file may be raw or gzip-compressed (``NAME`` or ``NAME.gz``). Images come back as
    ``uint8`` of shape ``(n, 1, rows, cols)``, labels as ``int64``. Raises
    :class:`~softhard.errors.DataError` naming the file(s) when one is missing or corrupt, when
    images and labels disagree in number, or when a label is outside 0-9.
    """
    folder = Path(folder)
    paths = _mnist_paths(folder)
    stamp = tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in paths)
    return _read_mnist_cached(stamp)


def _mnist_paths(folder: Path) -> list[Path]:
    found, missing = [], []
    for name in MNIST_FILES:
        candidates = [folder / name, folder / f"{name}.gz"]
        hit = next((p for p in candidates if p.is_file()), None)
        if hit is None:
            missing.append(name)
        else:
            found.append(hit)
    if missing:
        where = f"folder {folder}" if folder.is_dir() else f"folder {folder} (it does not exist)"
        raise DataError(
            f"MNIST files missing in {where}: {', '.join(missing)} (each raw or as .gz). "
            "softhard never downloads data: download the four files "
            f"{', '.join(MNIST_FILES)} (.gz is fine) from the MNIST page "
            "(yann.lecun.com/exdb/mnist, or a mirror such as ossci-datasets.s3.amazonaws.com/mnist)"
            f" into {folder}."
        )
    return found


@functools.lru_cache(maxsize=2)
def _read_mnist_cached(
    stamp: tuple[tuple[str, int, int], ...],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    paths = [Path(s[0]) for s in stamp]
    x_train, y_train = _mnist_pair(paths[0], paths[1])
    x_test, y_test = _mnist_pair(paths[2], paths[3])
    if x_train.shape[1:] != x_test.shape[1:]:
        raise DataError(
            f"MNIST images in {paths[0]} have shape {x_train.shape[2:]} but those in {paths[2]} "
            f"have {x_test.shape[2:]}; the two files must hold images of one size."
        )
    return _frozen(x_train), _frozen(y_train), _frozen(x_test), _frozen(y_test)


def _mnist_pair(images_path: Path, labels_path: Path) -> tuple[np.ndarray, np.ndarray]:
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise DataError(
            f"IDX file {images_path} should hold uint8 images of shape (n, rows, cols) but holds "
            f"{images.dtype} of shape {images.shape}."
        )
    if labels.ndim != 1 or labels.dtype != np.uint8:
        raise DataError(
            f"IDX file {labels_path} should hold uint8 labels of shape (n,) but holds "
            f"{labels.dtype} of shape {labels.shape}."
        )
    if len(images) != len(labels):
        raise DataError(
            f"MNIST count mismatch: {images_path} holds {len(images)} images but {labels_path} "
            f"holds {len(labels)} labels."
        )
    if labels.size and labels.max() > 9:
        raise DataError(f"IDX file {labels_path} holds label {labels.max()}; MNIST labels are 0-9.")
    return images[:, None, :, :], labels.astype(np.int64)


def _load_mnist(cfg: DataConfig) -> RawData:
    folder = _need_path(cfg, "the folder holding the four MNIST IDX files")
    x, y, x_test, y_test = read_mnist(folder)
    return RawData(x, y, x_test, y_test, divisor=255.0, origin=f"MNIST folder {folder}")


# --- cifar10 ----------------------------------------------------------------------------------


def _load_cifar10(cfg: DataConfig) -> RawData:
    folder = _need_path(cfg, "the CIFAR-10 folder")
    x, y, x_test, y_test = cifar.read_cifar10(folder)
    return RawData(
        x, y, x_test, y_test, origin=f"CIFAR-10 folder {folder}", label_names=_CIFAR10_NAMES
    )


# --- synthetic --------------------------------------------------------------------------------


def synthetic_arrays(
    n_samples: int, dim: int, separation: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(x, y, u)``: ``n_samples`` points on the unit sphere of R^dim, ``|<u, x>| >= separation``.

    A unit vector ``u`` is drawn uniformly; each point is uniform on the sphere conditioned on
    ``|<u, x>| >= separation`` and labelled ``y = 1`` if ``<u, x> > 0`` else ``0``. So
    ``y_pm * <u, x> >= separation`` for every point: the data are linearly separable, every point
    at least ``separation`` from the hyperplane; it is the difficulty knob (smaller is harder; 0
    is the plain sphere cut by a hyperplane). By docs/theory.md section 3 the NTK margin gamma is then at least
    ``separation / 2``. Sampled exactly, not by rejection: ``t = <u, x>`` has
    ``t^2 ~ Beta(1/2, (dim-1)/2)``, drawn truncated to ``t^2 >= separation^2``; the component
    orthogonal to ``u`` is uniform on the sphere of radius ``sqrt(1 - t^2)``.
    """
    if not 0.0 <= separation < 1.0:
        raise ConfigError(f"synthetic separation must lie in [0, 1), got {separation}.")
    rng = seeded_rng(seed, _STREAM_SYNTHETIC)
    u = _unit_rows(rng.standard_normal((1, dim)))[0]
    sign = rng.choice(np.array([-1.0, 1.0]), size=n_samples)
    if dim == 1:
        t = sign
    else:
        tail = stats.beta.sf(separation**2, 0.5, (dim - 1) / 2.0)
        q = rng.uniform(0.0, 1.0, size=n_samples)
        t2 = stats.beta.isf((1.0 - q) * tail, 0.5, (dim - 1) / 2.0)
        t = sign * np.sqrt(np.clip(t2, separation**2, 1.0))
    v = rng.standard_normal((n_samples, dim))
    v -= np.outer(v @ u, u)
    v = _unit_rows(v) if dim > 1 else np.zeros_like(v)
    x = t[:, None] * u[None, :] + np.sqrt(1.0 - t**2)[:, None] * v
    return x, (t > 0).astype(np.int64), u


def _load_synthetic(cfg: DataConfig) -> RawData:
    x, y, _ = synthetic_arrays(cfg.n_samples, cfg.dim, cfg.separation, cfg.seed)
    origin = f"synthetic data (dim={cfg.dim}, separation={cfg.separation:g}, seed={cfg.seed})"
    return RawData(x, y, origin=origin, digit_labels=False)


# --- file -------------------------------------------------------------------------------------


def _load_file(cfg: DataConfig) -> RawData:
    path = Path(_need_path(cfg, "the .npz or .csv data file"))
    if not path.is_file():
        raise DataError(f"data file {path} does not exist.")
    readers: dict[str, Callable[[], tuple[np.ndarray, np.ndarray]]] = {
        ".npz": lambda: read_npz(path),
        ".csv": lambda: read_csv(path, cfg.label_column),
    }
    reader = readers.get(path.suffix.lower())
    if reader is None:
        raise DataError(f"data file {path} must end in .npz (arrays X, y) or .csv (with a header).")
    x, y = reader()
    return RawData(x, y, origin=f"file {path}", digit_labels=False)


# --- the table --------------------------------------------------------------------------------


def _need_path(cfg: DataConfig, what: str) -> str:
    if not cfg.path:
        raise ConfigError(f"dataset source '{cfg.source}' needs path= {what}.")
    return cfg.path


def _frozen(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


def _unit_rows(a: np.ndarray) -> np.ndarray:
    unit: np.ndarray = a / np.linalg.norm(a, axis=1, keepdims=True)
    return unit


SOURCES: dict[Source, Callable[[DataConfig], RawData]] = {
    "digits": _load_digits,
    "mnist1d": _load_mnist1d,
    "mnist": _load_mnist,
    "synthetic": _load_synthetic,
    "file": _load_file,
    "cifar10": _load_cifar10,
}
"""Source name (``DataConfig.source``) -> loader."""
