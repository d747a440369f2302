"""The IDX file format of MNIST (raw or gzip-compressed), read with every size checked.

Format (LeCun, Cortes and Burges, "The MNIST database", the "FILE FORMATS" section):

    bytes 0-1   0x00 0x00
    byte  2     element type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
                0x0D float32, 0x0E float64 (all big-endian)
    byte  3     number of dimensions k
    4k bytes    the k sizes, each a big-endian uint32
    the rest    prod(sizes) elements in C (row-major) order

So MNIST's image files start with the magic number 2051 (0x00000803: uint8, 3 dims) and its label
files with 2049 (0x00000801: uint8, 1 dim).
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from softhard.errors import DataError

__all__ = ["IDX_DTYPES", "read_idx"]

IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
"""IDX element-type code -> big-endian numpy dtype (0x0A is not defined by the format)."""

_GZIP_MAGIC = b"\x1f\x8b"


def read_idx(path: str | Path) -> np.ndarray:
    """Read one IDX file (raw, or gzip-compressed: detected by content, not by the name).

    Returns an array of shape ``sizes`` in native byte order with the file's element type
    (``uint8`` for MNIST). Raises :class:`~softhard.errors.DataError` naming the file and the
    problem when it is missing, not valid gzip, has a bad magic number, an unknown element type,
    or holds fewer or more data bytes than its header declares.
    """
    path = Path(path)
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise DataError(f"IDX file {path} is truncated: {len(raw)} bytes, shorter than a header.")
    if raw[0] != 0 or raw[1] != 0:
        raise DataError(
            f"IDX file {path} has a bad magic number {raw[:4].hex()}: an IDX file starts with two "
            "zero bytes, a type code (0x08-0x0E) and the number of dimensions (MNIST images: "
            "00000803, labels: 00000801). Is it an MNIST file, and not corrupted?"
        )
    code, ndim = raw[2], raw[3]
    if code not in IDX_DTYPES:
        codes = ", ".join(f"0x{c:02X}" for c in IDX_DTYPES)
        raise DataError(f"IDX file {path} has unknown element type 0x{code:02X}; known: {codes}.")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(
            f"IDX file {path} is truncated: its header declares {ndim} dimensions "
            f"({header} header bytes) but the file has {len(raw)} bytes."
        )
    shape = tuple(int(s) for s in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = IDX_DTYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    actual = len(raw) - header
    if actual != expected:
        what = "truncated" if actual < expected else "too long"
        raise DataError(
            f"IDX file {path} is {what}: its header declares shape {shape} of {dtype.name} "
            f"({expected} data bytes) but it holds {actual} data bytes."
        )
    data = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, gunzipped when they start with the gzip magic number."""
    if not path.is_file():
        raise DataError(f"IDX file {path} does not exist.")
    raw = path.read_bytes()
    if raw[:2] != _GZIP_MAGIC:
        if path.suffix == ".gz":
            raise DataError(f"IDX file {path} is named .gz but is not gzip data (bad gzip header).")
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as err:
        raise DataError(
            f"IDX file {path} is not valid gzip data ({err}); is it corrupted?"
        ) from None
