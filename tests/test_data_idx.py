"""The IDX reader against files written here byte by byte in the real MNIST format."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from softhard.data import read_idx
from softhard.errors import DataError

CODES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def idx_bytes(a: np.ndarray, code: int = 0x08) -> bytes:
    """IDX encoding written independently of the reader: magic, big-endian sizes, data."""
    header = struct.pack(">BBBB", 0, 0, code, a.ndim) + struct.pack(f">{a.ndim}I", *a.shape)
    return header + np.ascontiguousarray(a, dtype=CODES[code]).tobytes()


def write(path: Path, data: bytes, gz: bool = False) -> Path:
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def test_mnist_magic_numbers_are_the_published_ones() -> None:
    images = idx_bytes(np.zeros((2, 28, 28), np.uint8))
    labels = idx_bytes(np.zeros(2, np.uint8))
    assert struct.unpack(">I", images[:4])[0] == 2051
    assert struct.unpack(">I", labels[:4])[0] == 2049
    assert struct.unpack(">3I", images[4:16]) == (2, 28, 28)


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("code", sorted(CODES))
def test_round_trip_every_type(tmp_path: Path, code: int, gz: bool) -> None:
    rng = np.random.default_rng(code)
    a = (rng.standard_normal((3, 4, 5)) * 50).astype(CODES[code])
    name = "a.idx.gz" if gz else "a.idx"
    out = read_idx(write(tmp_path / name, idx_bytes(a, code), gz))
    assert out.shape == (3, 4, 5)
    assert out.dtype == np.dtype(CODES[code]).newbyteorder("=")
    np.testing.assert_array_equal(out, a)


@settings(max_examples=40, deadline=None)
@given(
    shape=st.lists(st.integers(0, 5), min_size=1, max_size=4),
    gz=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_round_trip_any_shape(tmp_path_factory: pytest.TempPathFactory, shape, gz, seed) -> None:
    a = np.random.default_rng(seed).integers(0, 256, size=shape).astype(np.uint8)
    path = write(tmp_path_factory.mktemp("idx") / "x", idx_bytes(a), gz)
    np.testing.assert_array_equal(read_idx(path), a)


def test_gzip_detected_by_content_not_name(tmp_path: Path) -> None:
    a = np.arange(6, dtype=np.uint8).reshape(2, 3)
    np.testing.assert_array_equal(read_idx(write(tmp_path / "plain", idx_bytes(a), gz=True)), a)


def test_bad_magic(tmp_path: Path) -> None:
    path = write(tmp_path / "bad", b"\x01\x02\x08\x01" + struct.pack(">I", 1) + b"\x00")
    with pytest.raises(DataError, match=r"bad magic number") as err:
        read_idx(path)
    assert str(path) in str(err.value)


def test_unknown_type_code(tmp_path: Path) -> None:
    path = write(tmp_path / "t", b"\x00\x00\x0a\x01" + struct.pack(">I", 1) + b"\x00")
    with pytest.raises(DataError, match="unknown element type 0x0A"):
        read_idx(path)


@pytest.mark.parametrize("cut", [2, 6, 20])
def test_truncated(tmp_path: Path, cut: int) -> None:
    data = idx_bytes(np.ones((4, 3, 3), np.uint8))
    path = write(tmp_path / "short", data[: len(data) - cut if cut == 20 else cut])
    with pytest.raises(DataError, match="truncated") as err:
        read_idx(path)
    assert str(path) in str(err.value)


def test_too_long(tmp_path: Path) -> None:
    path = write(tmp_path / "long", idx_bytes(np.ones(5, np.uint8)) + b"\x00\x00")
    with pytest.raises(DataError, match=r"too long.*\(5,\)"):
        read_idx(path)


def test_corrupt_gzip(tmp_path: Path) -> None:
    good = gzip.compress(idx_bytes(np.ones((10, 10), np.uint8)))
    path = write(tmp_path / "x.gz", good[:-12])
    with pytest.raises(DataError, match="not valid gzip") as err:
        read_idx(path)
    assert str(path) in str(err.value)


def test_gz_name_without_gzip_data(tmp_path: Path) -> None:
    path = write(tmp_path / "x.gz", idx_bytes(np.ones(3, np.uint8)))
    with pytest.raises(DataError, match="not gzip"):
        read_idx(path)


def test_missing(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        read_idx(tmp_path / "nope")
