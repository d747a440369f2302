"""Reading user data files: ``(X, y)`` arrays from an ``.npz`` or a ``.csv`` file, checked.

Every bad file raises a :class:`~softhard.errors.DataError` that names the file and the fix.
Used by the ``file`` source of :mod:`softhard.data.sources` (which re-exports both readers).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from softhard.errors import ConfigError, DataError

__all__ = ["read_csv", "read_npz"]


def read_npz(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """``(X, y)`` from an ``.npz`` file with arrays ``X`` (n, ...) and ``y`` (n,)."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = [k for k in ("X", "y") if k not in archive.files]
            if missing:
                raise DataError(
                    f"file {path} lacks the array(s) {', '.join(missing)}; a .npz dataset needs "
                    f"arrays 'X' (n, features) and 'y' (n,); it holds {archive.files}."
                )
            x, y = archive["X"], archive["y"]
    except (zipfile.BadZipFile, OSError, ValueError) as err:
        raise DataError(f"file {path} is not a readable .npz archive ({err}).") from None
    if not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
        raise DataError(f"file {path}: array 'X' must be real numbers, not {x.dtype}.")
    if x.ndim == 0 or x.size == 0:
        what = "no examples" if x.ndim == 0 or len(x) == 0 else "no features"
        raise DataError(
            f"file {path} holds {what}: array 'X' has shape {x.shape}; a .npz dataset needs "
            "arrays 'X' (n, features) and 'y' (n,) with n >= 1 and at least one feature."
        )
    return _check_xy(x.reshape(len(x), -1) if x.ndim < 2 else x, y.reshape(-1), path)


def read_csv(path: str | Path, label_column: str | None) -> tuple[np.ndarray, np.ndarray]:
    """``(X, y)`` from a ``.csv`` file with a header; ``label_column`` names the label column."""
    path = Path(path)
    if not label_column:
        raise ConfigError(
            f"file {path} is a .csv: set label_column to the name of its label column."
        )
    if path.stat().st_size == 0:
        raise DataError(_no_rows(path, "it is empty: zero bytes"))
    try:
        frame = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise DataError(_no_rows(path, "it holds neither a header nor rows")) from None
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise DataError(f"file {path} is not a readable CSV file ({err}).") from None
    if label_column not in frame.columns:
        raise DataError(
            f"file {path} has no label column '{label_column}'; its columns are "
            f"{list(frame.columns)}. Set label_column to one of them."
        )
    if len(frame) == 0:
        raise DataError(_no_rows(path, f"only the header: {', '.join(map(str, frame.columns))}"))
    features = frame.drop(columns=[label_column])
    text = [c for c in features.columns if not pd.api.types.is_numeric_dtype(features[c])]
    if text:
        raise DataError(
            f"file {path}: feature column(s) {text} are not numeric; every column except the "
            f"label column '{label_column}' must hold numbers."
        )
    if features.shape[1] == 0:
        raise DataError(f"file {path} has no feature columns besides '{label_column}'.")
    return _check_xy(features.to_numpy(np.float64), frame[label_column].to_numpy(), path)


def _no_rows(path: Path, what: str) -> str:
    return (
        f"file {path} has no data rows ({what}); a .csv dataset needs a header line and one row per "
        "example (numeric feature columns and the label column)."
    )


def _check_xy(x: np.ndarray, y: np.ndarray, path: Path) -> tuple[np.ndarray, np.ndarray]:
    if len(x) != len(y):
        raise DataError(f"file {path}: X has {len(x)} rows but y has {len(y)} labels.")
    if len(x) == 0:
        raise DataError(f"file {path} holds no examples.")
    finite = np.isfinite(x.astype(np.float64)).reshape(len(x), -1).all(axis=1)
    if not finite.all():
        bad = np.flatnonzero(~finite)
        raise DataError(
            f"file {path}: X holds missing (NaN) or infinite values in {len(bad)} row(s) "
            f"(first: row {bad[0]}); drop or impute those rows before loading the file."
        )
    if y.dtype == object and any(v is None or v != v for v in y):
        raise DataError(f"file {path}: the labels hold missing values.")
    if np.issubdtype(y.dtype, np.floating) and np.isnan(y).any():
        raise DataError(f"file {path}: the labels hold missing (NaN) values.")
    return x.astype(np.float64), y
