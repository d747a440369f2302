"""load_dataset end to end: every source, every task, the pipeline's order, determinism, errors."""

from __future__ import annotations

import gzip
import random
import struct
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.datasets import load_digits

from softhard.config import DataConfig
from softhard.data import Dataset, load_dataset, mnist1d_arrays, synthetic_arrays
from softhard.errors import ConfigError, DataError

DIGITS = load_digits()
GROUPS = {
    "3-8": ([3], [8]),
    "0-1": ([0], [1]),
    "4-9": ([4], [9]),
    "odd-even": ([1, 3, 5, 7, 9], [0, 2, 4, 6, 8]),
    "even-odd": ([0, 2, 4, 6, 8], [1, 3, 5, 7, 9]),
    "low-high": ([0, 1, 2, 3, 4], [5, 6, 7, 8, 9]),
}


def load(spec: str, **fields) -> Dataset:
    cfg = DataConfig.parse(spec)
    return load_dataset(cfg.model_copy(update=fields) if fields else cfg)


def digit_of_image() -> dict[bytes, int]:
    table: dict[bytes, int] = {}
    for image, d in zip(DIGITS.images, DIGITS.target, strict=True):
        table.setdefault((image / 16.0).tobytes(), int(d))
    return table


# --- digits ------------------------------------------------------------------------------------


@pytest.mark.parametrize("task", sorted(GROUPS))
def test_digits_binary_tasks_map_first_group_to_0(task: str) -> None:
    data = load(f"digits:{task}", normalize=False)
    first, second = GROUPS[task]
    table = digit_of_image()
    for x, y in ((data.x_train, data.y_train), (data.x_test, data.y_test)):
        digits = np.array([table[img.numpy().reshape(8, 8).tobytes()] for img in x])
        assert set(digits[y.numpy() == 0]) <= set(first)
        assert set(digits[y.numpy() == 1]) <= set(second)
    n_expected = np.isin(DIGITS.target, first + second).sum()
    assert data.n_train + data.n_test == n_expected
    assert data.num_classes == 2


def test_digits_shape_scale_and_types() -> None:
    data = load("digits:3-8", normalize=False)
    assert data.x_train.shape[1:] == (1, 8, 8) and data.x_test.shape[1:] == (1, 8, 8)
    assert data.x_train.dtype == torch.float64 and data.y_train.dtype == torch.int64
    assert data.x_train.min() >= 0 and data.x_train.max() == 1.0
    assert torch.equal(data.x_train * 16, torch.round(data.x_train * 16))


def test_digits_split_is_stratified() -> None:
    data = load("digits:odd-even", test_fraction=0.3)
    labels = np.concatenate([data.y_train.numpy(), data.y_test.numpy()])
    for c in (0, 1):
        n_c = (labels == c).sum()
        assert (data.y_test.numpy() == c).sum() == round(n_c * 0.3)


def test_digits_all_has_ten_classes() -> None:
    data = load("digits:all")
    assert data.num_classes == 10
    assert data.meta["class_names"] == [str(d) for d in range(10)]
    assert set(data.y_train.tolist()) == set(range(10))
    assert data.n_train + data.n_test == len(DIGITS.target)


def test_meta_and_name() -> None:
    data = load("digits:3-8,mix=0.2,noise=0.1,flip=0.05,seed=4")
    assert data.name == "digits:3-8 mix=0.2 noise=0.1 flip=0.05"
    m = data.meta
    assert (m["source"], m["task"], m["class_names"]) == ("digits", "3-8", ["3", "8"])
    assert (m["noise"], m["flip"], m["mix"], m["normalize"], m["seed"]) == (0.1, 0.05, 0.2, True, 4)
    assert (m["n_train"], m["n_test"], m["dim"]) == (data.n_train, data.n_test, 64)


def test_max_train_subsamples_stratified() -> None:
    full = load("digits:odd-even")
    small = load("digits:odd-even,max_train=40")
    assert small.n_train == 40 and small.n_test == full.n_test
    share = full.y_train.double().mean().item()
    assert abs(small.y_train.double().mean().item() - share) <= 1 / 40


# --- determinism and the pipeline's steps ------------------------------------------------------


def test_same_config_same_tensors_and_seed_changes_them() -> None:
    spec = "digits:4-9,mix=0.3,noise=0.2,flip=0.1,max_train=100"
    a, b = load(spec), load(spec)
    for name in ("x_train", "y_train", "x_test", "y_test"):
        assert torch.equal(getattr(a, name), getattr(b, name))
    assert a.fingerprint() == b.fingerprint()
    assert load(spec, seed=1).fingerprint() != a.fingerprint()


def test_flips_touch_training_labels_only() -> None:
    clean, noisy = load("digits:odd-even"), load("digits:odd-even,flip=0.2")
    assert torch.equal(clean.x_train, noisy.x_train) and torch.equal(clean.x_test, noisy.x_test)
    assert torch.equal(clean.y_test, noisy.y_test)
    changed = (clean.y_train != noisy.y_train).sum().item()
    assert changed == noisy.meta["n_flipped"]
    rate = changed / clean.n_train
    assert abs(rate - 0.2) < 4 * np.sqrt(0.2 * 0.8 / clean.n_train)


def test_noise_std_on_train_and_test() -> None:
    clean = load("digits:odd-even", normalize=False)
    noisy = load("digits:odd-even,noise=0.25", normalize=False)
    for split in ("x_train", "x_test"):
        delta = (getattr(noisy, split) - getattr(clean, split)).numpy()
        assert abs(delta.std() / 0.25 - 1) < 0.03
    assert torch.equal(clean.y_train, noisy.y_train)


def test_half_mixing_makes_classes_inseparable() -> None:
    data = load("digits:3-8,mix=0.5", normalize=False)
    x, y = data.x_train.reshape(data.n_train, -1).numpy(), data.y_train.numpy()
    n_pairs = min((y == 0).sum(), (y == 1).sum())
    rows = {}
    clashes = 0
    for row, label in zip(x, y, strict=True):
        key = row.tobytes()
        clashes += key in rows and rows[key] != label
        rows.setdefault(key, label)
    assert clashes == n_pairs


def test_mixing_lambda_formula_on_pipeline_data() -> None:
    clean = load("digits:3-8", normalize=False)
    mixed = load("digits:3-8,mix=0.3", normalize=False)
    x0, x1 = clean.x_train.reshape(clean.n_train, -1), mixed.x_train.reshape(clean.n_train, -1)
    y = clean.y_train
    # every mixed example is (1 - lambda) x_i + lambda x_j for some j of the other class
    for i in range(0, clean.n_train, 17):
        others = x0[y != y[i]]
        err = ((0.7 * x0[i] + 0.3 * others) - x1[i]).abs().amax(dim=1).min()
        assert err < 1e-12


def test_mixing_needs_a_binary_task() -> None:
    with pytest.raises(ConfigError, match="binary task"):
        load("digits:all,mix=0.2")


def test_normalized_data_lie_on_the_sphere() -> None:
    data = load("digits:3-8,noise=0.1")
    x_train, x_test = data.flat()
    torch.testing.assert_close(x_train.norm(dim=1), torch.ones(data.n_train, dtype=torch.float64))
    torch.testing.assert_close(x_test.norm(dim=1), torch.ones(data.n_test, dtype=torch.float64))
    assert data.x_train.shape[1:] == (1, 8, 8)


# --- errors of tasks ---------------------------------------------------------------------------


@pytest.mark.parametrize("task", ["3-12", "3-3", "x-y", "banana", "odd-low", "-1-2"])
def test_unknown_task_lists_the_allowed_ones(task: str) -> None:
    with pytest.raises(ConfigError, match="allowed tasks") as err:
        load("digits", task=task)
    assert task in str(err.value) and "odd-even" in str(err.value)


# --- mnist1d -----------------------------------------------------------------------------------


def test_mnist1d_official_split_and_global_rng_untouched() -> None:
    np.random.seed(123)
    random.seed(123)
    np_before, py_before = np.random.get_state()[1].copy(), random.getstate()
    data = load("mnist1d:0-1", normalize=False)
    assert np.array_equal(np.random.get_state()[1], np_before) and random.getstate() == py_before
    x, y, x_test, y_test = mnist1d_arrays()
    assert x.shape == (4000, 40) and x_test.shape == (1000, 40)
    assert mnist1d_arrays() is mnist1d_arrays()  # cached
    assert data.n_train == np.isin(y, [0, 1]).sum() and data.n_test == np.isin(y_test, [0, 1]).sum()
    np.testing.assert_array_equal(data.x_train.numpy(), x[np.isin(y, [0, 1])])
    assert data.meta["official_split"] and data.x_train.shape[1:] == (40,)


# --- mnist from tiny IDX files -----------------------------------------------------------------

MNIST_NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")
MNIST_TEST = ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def idx(a: np.ndarray) -> bytes:
    header = struct.pack(">BBBB", 0, 0, 0x08, a.ndim) + struct.pack(f">{a.ndim}I", *a.shape)
    return header + a.astype(np.uint8).tobytes()


def write_mnist(folder: Path, gz: bool, per_class=(3, 2), skip: int | None = None) -> dict:
    rng = np.random.default_rng(0)
    arrays = {}
    for (img_name, lab_name), k in zip((MNIST_NAMES, MNIST_TEST), per_class, strict=True):
        labels = np.repeat([d for d in range(10) if d != skip], k).astype(np.uint8)
        images = rng.integers(0, 256, size=(len(labels), 28, 28)).astype(np.uint8)
        for name, a in ((img_name, images), (lab_name, labels)):
            data = idx(a)
            (folder / (name + ".gz" if gz else name)).write_bytes(
                gzip.compress(data) if gz else data
            )
            arrays[name] = a
    return arrays


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_reads_tiny_idx_files(tmp_path: Path, gz: bool) -> None:
    arrays = write_mnist(tmp_path, gz)
    data = load(f"mnist:2-7,path={tmp_path}", normalize=False)
    assert data.x_train.shape == (6, 1, 28, 28) and data.x_test.shape == (4, 1, 28, 28)
    train_labels = arrays["train-labels-idx1-ubyte"]
    expected = arrays["train-images-idx3-ubyte"][np.isin(train_labels, [2, 7])] / 255.0
    np.testing.assert_array_equal(data.x_train.numpy()[:, 0], expected)
    assert data.y_train.tolist() == [0, 0, 0, 1, 1, 1]
    assert data.meta["official_split"]


def test_mnist_missing_file_names_it_and_the_source(tmp_path: Path) -> None:
    write_mnist(tmp_path, gz=True)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError) as err:
        load(f"mnist:0-1,path={tmp_path}")
    msg = str(err.value)
    assert "t10k-labels-idx1-ubyte" in msg and str(tmp_path) in msg
    assert "yann.lecun.com/exdb/mnist" in msg and "train-images-idx3-ubyte" in msg
    with pytest.raises(DataError, match="does not exist"):
        load(f"mnist:0-1,path={tmp_path / 'nowhere'}")
    with pytest.raises(ConfigError, match="needs path"):
        load("mnist:0-1")


def test_mnist_corrupt_magic_names_the_file(tmp_path: Path) -> None:
    write_mnist(tmp_path, gz=False)
    bad = tmp_path / "train-images-idx3-ubyte"
    bad.write_bytes(b"\xff\xff" + bad.read_bytes()[2:])
    with pytest.raises(DataError, match="bad magic") as err:
        load(f"mnist:0-1,path={tmp_path}")
    assert str(bad) in str(err.value)


def test_mnist_truncated_file(tmp_path: Path) -> None:
    write_mnist(tmp_path, gz=False)
    bad = tmp_path / "t10k-images-idx3-ubyte"
    bad.write_bytes(bad.read_bytes()[:-100])
    with pytest.raises(DataError, match="truncated") as err:
        load(f"mnist:0-1,path={tmp_path}")
    assert str(bad) in str(err.value)


def test_mnist_count_mismatch_and_wrong_dims(tmp_path: Path) -> None:
    write_mnist(tmp_path, gz=False)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(idx(np.zeros(7, np.uint8)))
    with pytest.raises(DataError, match="30 images but .* 7 labels"):
        load(f"mnist:0-1,path={tmp_path}")
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(idx(np.zeros((30, 2), np.uint8)))
    with pytest.raises(DataError, match=r"shape \(n,\)"):
        load(f"mnist:0-1,path={tmp_path}")


def test_mnist_class_without_examples(tmp_path: Path) -> None:
    write_mnist(tmp_path, gz=True, skip=8)
    assert load(f"mnist:3-5,path={tmp_path}").n_train == 6
    with pytest.raises(DataError, match="class '8'.*no examples") as err:
        load(f"mnist:3-8,path={tmp_path}")
    assert str(tmp_path) in str(err.value)


# --- synthetic ---------------------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(dim=st.integers(1, 60), separation=st.floats(0.0, 0.95), seed=st.integers(0, 10**6))
def test_synthetic_separation_is_honoured(dim: int, separation: float, seed: int) -> None:
    x, y, u = synthetic_arrays(200, dim, separation, seed)
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(u), 1.0)
    t = x @ u
    assert np.all(np.abs(t) >= separation - 1e-12)
    assert np.array_equal(y, (t > 0).astype(np.int64))


def test_synthetic_is_not_harder_than_asked_and_seeded() -> None:
    x, _, u = synthetic_arrays(4000, 10, 0.0, 0)
    # separation 0: <u, x> is that of a uniform point, t^2 ~ Beta(1/2, 9/2), mean 1/10
    assert abs(np.mean((x @ u) ** 2) - 0.1) < 0.01
    a = load("synthetic,n_samples=300,dim=7,separation=0.3", normalize=False)
    b = load("synthetic,n_samples=300,dim=7,separation=0.3,seed=1", normalize=False)
    assert a.n_train + a.n_test == 300 and a.x_train.shape[1:] == (7,)
    assert a.fingerprint() != b.fingerprint()
    assert a.meta["separation"] == 0.3


# --- files -------------------------------------------------------------------------------------


def test_npz_binary_labels_sorted(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((40, 3)), np.repeat([1, -1], 20)
    np.savez(tmp_path / "d.npz", X=x, y=y)
    data = load(f"file:{tmp_path / 'd.npz'}", normalize=False)
    assert data.meta["class_names"] == ["-1", "1"] and data.x_train.shape[1:] == (3,)
    x_all = np.concatenate([data.x_train.numpy(), data.x_test.numpy()])
    y_all = np.concatenate([data.y_train.numpy(), data.y_test.numpy()])
    for row, label in zip(x_all, y_all, strict=True):
        i = np.flatnonzero((x == row).all(axis=1))[0]
        assert label == (y[i] == 1)


def test_npz_many_classes_task_picks_labels(tmp_path: Path) -> None:
    x, y = np.random.default_rng(0).standard_normal((60, 4)), np.arange(60) % 6
    np.savez(tmp_path / "d.npz", X=x, y=y)
    path = tmp_path / "d.npz"
    pair = load(f"file:{path},task=5-2")
    assert pair.meta["class_names"] == ["5", "2"] and pair.n_train + pair.n_test == 20
    assert load(f"file:{path},task=all").num_classes == 6
    grouped = load(f"file:{path},task=odd-even", normalize=False)
    assert grouped.meta["class_names"] == ["odd", "even"] and grouped.n_train + grouped.n_test == 60
    # class 1 (even) holds exactly the rows whose label is even
    for row, label in zip(grouped.x_train.numpy(), grouped.y_train.numpy(), strict=True):
        assert label == (y[(x == row).all(axis=1)][0] % 2 == 0)
    with pytest.raises(DataError, match=r"class '7'.*no examples in file .*d\.npz"):
        load(f"file:{path},task=2-7")


def test_npz_without_x(tmp_path: Path) -> None:
    np.savez(tmp_path / "d.npz", features=np.zeros((4, 2)), y=np.arange(4) % 2)
    with pytest.raises(DataError, match=r"lacks the array\(s\) X.*'features'"):
        load(f"file:{tmp_path / 'd.npz'}")


def test_file_with_one_class(tmp_path: Path) -> None:
    np.savez(tmp_path / "d.npz", X=np.random.default_rng(0).standard_normal((8, 2)), y=np.ones(8))
    with pytest.raises(DataError, match=r"d\.npz has a single class"):
        load(f"file:{tmp_path / 'd.npz'}")


def test_csv_with_text_labels(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(rng.standard_normal((30, 2)), columns=["a", "b"])
    frame["kind"] = np.where(np.arange(30) < 12, "dog", "cat")
    frame.to_csv(tmp_path / "d.csv", index=False)
    data = load(f"file:{tmp_path / 'd.csv'},label_column=kind")
    assert data.meta["class_names"] == ["cat", "dog"]
    assert (data.y_train == 1).sum() + (data.y_test == 1).sum() == 12
    assert data.x_train.shape[1:] == (2,)


def test_csv_errors(tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": np.arange(10.0), "b": np.arange(10) % 2})
    frame.to_csv(tmp_path / "d.csv", index=False)
    path = tmp_path / "d.csv"
    with pytest.raises(DataError, match=r"no label column 'y'.*\['a', 'b'\]"):
        load(f"file:{path},label_column=y")
    with pytest.raises(ConfigError, match="label_column"):
        load(f"file:{path}")
    frame.assign(c=["x"] * 10).to_csv(path, index=False)
    with pytest.raises(DataError, match=r"\['c'\] are not numeric"):
        load(f"file:{path},label_column=b")
    with pytest.raises(DataError, match="does not exist"):
        load(f"file:{tmp_path / 'none.csv'},label_column=b")
    (tmp_path / "d.txt").write_text("1,2\n")
    with pytest.raises(DataError, match=r"\.npz .* or \.csv"):
        load(f"file:{tmp_path / 'd.txt'}")


def test_zero_norm_example_after_centring(tmp_path: Path) -> None:
    # constant features: every example equals the training mean
    np.savez(tmp_path / "d.npz", X=np.ones((10, 3)), y=np.arange(10) % 2)
    with pytest.raises(DataError, match=r"training example 0 \(of 8; 8 such\) has norm 0"):
        load(f"file:{tmp_path / 'd.npz'}")
    assert load(f"file:{tmp_path / 'd.npz'}", normalize=False).n_train == 8


# --- cifar10 through the registry --------------------------------------------------------------


def test_cifar10_source_uses_read_cifar10(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)

    def fake(folder):
        assert Path(folder) == tmp_path
        y, y_test = np.arange(20) % 10, np.arange(10) % 10
        return rng.uniform(size=(20, 3, 32, 32)), y, rng.uniform(size=(10, 3, 32, 32)), y_test

    monkeypatch.setattr("softhard.data.cifar.read_cifar10", fake)
    data = load(f"cifar10:3-5,path={tmp_path}")
    assert data.meta["class_names"] == ["cat", "dog"]
    assert data.x_train.shape == (4, 3, 32, 32) and data.x_test.shape == (2, 3, 32, 32)


@pytest.mark.parametrize(
    ("text", "detail"),
    [("", "zero bytes"), ("a,b\n", "only the header: a, b"), ("a,b\n\n\n", "only the header")],
)
def test_csv_without_rows_says_so(tmp_path: Path, text: str, detail: str) -> None:
    path = tmp_path / "d.csv"
    path.write_text(text)
    with pytest.raises(DataError, match="has no data rows") as err:
        load(f"file:{path},label_column=b")
    assert detail in str(err.value) and "not numeric" not in str(err.value)


def test_nan_rows_are_named_with_the_fix(tmp_path: Path) -> None:
    x = np.ones((6, 2))
    x[4, 1] = np.inf
    np.savez(tmp_path / "d.npz", X=x, y=np.arange(6) % 2)
    with pytest.raises(DataError, match=r"1 row\(s\) \(first: row 4\); drop or impute"):
        load(f"file:{tmp_path / 'd.npz'}")
    np.savez(tmp_path / "e.npz", X=np.zeros((0, 3)), y=np.zeros(0))
    with pytest.raises(DataError, match=r"holds no examples: array 'X' has shape \(0, 3\)"):
        load(f"file:{tmp_path / 'e.npz'}")


@pytest.mark.parametrize("suffix", [".npz", ".csv"])
def test_three_classes_without_a_task_fail_and_list_them(tmp_path: Path, suffix: str) -> None:
    x, y = np.random.default_rng(0).standard_normal((30, 2)), np.arange(30) % 3
    path = tmp_path / f"d{suffix}"
    if suffix == ".npz":
        np.savez(path, X=x, y=y)
    else:
        frame = pd.DataFrame(x, columns=["a", "b"]).assign(label=y)
        frame.to_csv(path, index=False)
    extra = ",label_column=label" if suffix == ".csv" else ""
    with pytest.raises(DataError, match=r"3 classes \(labels 0, 1, 2\)") as err:
        load(f"file:{path}{extra}")
    assert f"'file:{path},task=0-1'" in str(err.value) and "task=all" in str(err.value)
    picked = load(f"file:{path}{extra},task=2-0")  # an explicit task picks two of them
    assert picked.meta["class_names"] == ["2", "0"] and picked.n_train + picked.n_test == 20
    assert (
        load(f"file:{path}{extra},task=0-1").n_train + load(f"file:{path}{extra},task=0-1").n_test
        == 20
    )
