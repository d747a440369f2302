"""CIFAR-10 binary reader on generated files in the official format (3073-byte records)."""

import numpy as np
import pytest

from softhard.config import DataConfig
from softhard.data.cifar import (
    RECORD_BYTES,
    TEST_FILE,
    TRAIN_FILES,
    read_cifar10,
    read_cifar10_file,
    write_cifar10_file,
)
from softhard.errors import DataError


def _make_folder(tmp_path, per_file=6, seed=0):
    rng = np.random.default_rng(seed)
    written = {}
    for name in (*TRAIN_FILES, TEST_FILE):
        images = rng.integers(0, 256, size=(per_file, 3, 32, 32), dtype=np.uint8)
        labels = rng.integers(0, 10, size=per_file)
        write_cifar10_file(tmp_path / name, images, labels)
        written[name] = (images, labels)
    return written


def test_record_layout_label_byte_then_rgb_planes(tmp_path):
    record = np.zeros(RECORD_BYTES, dtype=np.uint8)
    record[0] = 7
    record[1 + 5] = 255  # red plane, row 0, column 5
    record[1 + 1024 + 32 * 2 + 3] = 51  # green plane, row 2, column 3
    record[1 + 2048 + 32 * 31 + 31] = 102  # blue plane, last pixel
    (tmp_path / "one.bin").write_bytes(record.tobytes())
    x, y = read_cifar10_file(tmp_path / "one.bin")
    assert x.shape == (1, 3, 32, 32) and x.dtype == np.float64
    assert y.tolist() == [7] and y.dtype == np.int64
    assert x[0, 0, 0, 5] == 1.0
    assert x[0, 1, 2, 3] == pytest.approx(0.2)
    assert x[0, 2, 31, 31] == pytest.approx(0.4)
    assert x.sum() == pytest.approx(1.6)


def test_read_folder_round_trip(tmp_path):
    written = _make_folder(tmp_path)
    x_train, y_train, x_test, y_test = read_cifar10(tmp_path)
    assert x_train.shape == (30, 3, 32, 32) and x_test.shape == (6, 3, 32, 32)
    assert x_train.min() >= 0.0 and x_train.max() <= 1.0
    expected = np.concatenate([written[n][0] for n in TRAIN_FILES]) / 255.0
    np.testing.assert_array_equal(x_train, expected)
    np.testing.assert_array_equal(y_train, np.concatenate([written[n][1] for n in TRAIN_FILES]))
    np.testing.assert_array_equal(x_test, written[TEST_FILE][0] / 255.0)
    np.testing.assert_array_equal(y_test, written[TEST_FILE][1])


def test_missing_file_names_file_and_where_to_get_it(tmp_path):
    _make_folder(tmp_path)
    (tmp_path / "data_batch_3.bin").unlink()
    with pytest.raises(DataError, match="data_batch_3.bin") as err:
        read_cifar10(tmp_path)
    assert "CIFAR-10 binary version" in str(err.value)
    assert "cs.toronto.edu/~kriz/cifar.html" in str(err.value)


def test_missing_folder(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        read_cifar10(tmp_path / "nowhere")


def test_truncated_file_is_malformed(tmp_path):
    _make_folder(tmp_path)
    path = tmp_path / TEST_FILE
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(DataError, match=r"test_batch.bin is malformed.*multiple of the 3073"):
        read_cifar10(tmp_path)


def test_empty_file_is_malformed(tmp_path):
    (tmp_path / "empty.bin").write_bytes(b"")
    with pytest.raises(DataError, match="malformed"):
        read_cifar10_file(tmp_path / "empty.bin")


def test_label_above_nine_is_malformed(tmp_path):
    _make_folder(tmp_path)
    path = tmp_path / "data_batch_2.bin"
    raw = bytearray(path.read_bytes())
    raw[2 * RECORD_BYTES] = 10  # label byte of record 2
    path.write_bytes(bytes(raw))
    with pytest.raises(
        DataError, match=r"data_batch_2.bin is malformed: record 2 has label byte 10"
    ):
        read_cifar10(tmp_path)


def test_load_dataset_cifar10_source(tmp_path):
    from softhard.data import load_dataset

    _make_folder(tmp_path, per_file=20)
    ds = load_dataset(
        DataConfig(source="cifar10", task="all", path=str(tmp_path), normalize=False, noise=0.1)
    )
    assert ds.num_classes == 10
    assert tuple(ds.x_train.shape[1:]) == (3, 32, 32)
    assert ds.n_train + ds.n_test <= 120
