"""Split, subsample, class mixing, noise, normalisation and label flips, one function at a time."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from softhard.data import (
    add_noise,
    centre,
    flip_labels,
    mix_classes,
    normalize,
    pair_other_class,
    project_to_sphere,
    seeded_rng,
    stratified_split,
    stratified_subsample,
)
from softhard.errors import DataError

labels_st = st.lists(st.integers(0, 3), min_size=8, max_size=200).map(np.array)
binary_st = st.tuples(st.integers(1, 40), st.integers(1, 40), st.integers(0, 2**16)).map(
    lambda t: np.random.default_rng(t[2]).permutation(np.repeat([0, 1], [t[0], t[1]]))
)


def test_seeded_streams_are_reproducible_and_independent() -> None:
    a = seeded_rng(3, 1).standard_normal(5)
    assert np.array_equal(a, seeded_rng(3, 1).standard_normal(5))
    assert not np.array_equal(a, seeded_rng(3, 2).standard_normal(5))
    assert not np.array_equal(a, seeded_rng(4, 1).standard_normal(5))
    assert seeded_rng(-1, 1).standard_normal(1).shape == (1,)


@settings(max_examples=60, deadline=None)
@given(y=labels_st, frac=st.floats(0.05, 0.95), seed=st.integers(0, 1000))
def test_stratified_split_partitions_every_class(y: np.ndarray, frac: float, seed: int) -> None:
    counts = {c: int((y == c).sum()) for c in np.unique(y)}
    if min(counts.values()) < 2:
        with pytest.raises(DataError, match="at least 2"):
            stratified_split(y, frac, seeded_rng(seed))
        return
    train, test = stratified_split(y, frac, seeded_rng(seed))
    assert np.array_equal(np.sort(np.concatenate([train, test])), np.arange(len(y)))
    for c, n in counts.items():
        n_test = int((y[test] == c).sum())
        assert n_test == int(np.clip(round(n * frac), 1, n - 1))
        assert (y[train] == c).sum() == n - n_test


def test_stratified_split_depends_on_seed() -> None:
    y = np.repeat([0, 1], 50)
    assert not np.array_equal(
        stratified_split(y, 0.3, seeded_rng(0))[1], stratified_split(y, 0.3, seeded_rng(1))[1]
    )


@settings(max_examples=60, deadline=None)
@given(y=labels_st, data=st.data())
def test_stratified_subsample_size_and_proportions(y: np.ndarray, data: st.DataObject) -> None:
    classes, counts = np.unique(y, return_counts=True)
    n = data.draw(st.integers(len(classes), len(y) + 5))
    keep = stratified_subsample(y, n, seeded_rng(0))
    assert len(keep) == min(n, len(y))
    assert len(np.unique(keep)) == len(keep)
    for c, count in zip(classes, counts, strict=True):
        got = int((y[keep] == c).sum())
        assert got >= 1
        assert abs(got - count * min(n, len(y)) / len(y)) < len(classes)


def test_stratified_subsample_needs_one_per_class() -> None:
    with pytest.raises(DataError, match="max_train=2"):
        stratified_subsample(np.arange(10) % 3, 2, seeded_rng(0))


@settings(max_examples=60, deadline=None)
@given(y=binary_st, seed=st.integers(0, 1000))
def test_partners_are_of_the_other_class_and_matched(y: np.ndarray, seed: int) -> None:
    partner = pair_other_class(y, seeded_rng(seed))
    assert np.all(y[partner] != y)
    mutual = partner[partner] == np.arange(len(y))
    assert mutual.sum() == 2 * min((y == 0).sum(), (y == 1).sum())


@settings(max_examples=40, deadline=None)
@given(y=binary_st, lam=st.floats(0.0, 0.5), seed=st.integers(0, 1000))
def test_mixing_formula(y: np.ndarray, lam: float, seed: int) -> None:
    x = np.random.default_rng(seed).standard_normal((len(y), 2, 3))
    partner = pair_other_class(y, seeded_rng(seed))
    mixed = mix_classes(x, partner, lam)
    for i in range(len(y)):
        np.testing.assert_allclose(mixed[i], (1 - lam) * x[i] + lam * x[partner[i]], atol=1e-12)


def test_half_mixing_makes_matched_pairs_identical() -> None:
    y = np.repeat([0, 1], [30, 20])
    x = np.random.default_rng(0).standard_normal((50, 4))
    partner = pair_other_class(y, seeded_rng(1))
    mixed = mix_classes(x, partner, 0.5)
    mutual = np.flatnonzero(partner[partner] == np.arange(50))
    assert len(mutual) == 40
    np.testing.assert_array_equal(mixed[mutual], mixed[partner[mutual]])
    assert np.all(y[mutual] != y[partner[mutual]])
    assert np.array_equal(mix_classes(x, partner, 0.0), x)


def test_noise_std_and_coupling_across_sigma() -> None:
    x = np.random.default_rng(0).standard_normal((2000, 50))
    for sigma in (0.05, 0.3, 2.0):
        delta = add_noise(x, sigma, seeded_rng(7)) - x
        assert abs(delta.std() / sigma - 1) < 0.01
        assert abs(delta.mean()) < 4 * sigma / np.sqrt(delta.size)
    d1 = add_noise(x, 0.1, seeded_rng(7)) - x
    d2 = add_noise(x, 0.2, seeded_rng(7)) - x
    np.testing.assert_allclose(d2, 2 * d1, atol=1e-12)
    assert np.array_equal(add_noise(x, 0.0, seeded_rng(7)), x)


def test_centre_uses_the_given_mean() -> None:
    x = np.random.default_rng(0).normal(3.0, 1.0, size=(100, 5))
    centred = centre(x, x.mean(axis=0))
    np.testing.assert_allclose(centred.mean(axis=0), 0.0, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(3, 30),
    shape=st.sampled_from([(4,), (1, 3, 3), (2, 2)]),
    seed=st.integers(0, 1000),
    offset=st.floats(-5, 5),
)
def test_normalize_unit_norms_and_train_mean(
    n: int, shape: tuple, seed: int, offset: float
) -> None:
    rng = np.random.default_rng(seed)
    x_train = rng.standard_normal((n, *shape)) + offset
    x_test = rng.standard_normal((7, *shape)) + offset
    out_train, out_test = normalize(x_train, x_test)
    assert out_train.shape == x_train.shape and out_test.shape == x_test.shape
    flat_train, flat_test = out_train.reshape(n, -1), out_test.reshape(7, -1)
    np.testing.assert_allclose(np.linalg.norm(flat_train, axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(flat_test, axis=1), 1.0, atol=1e-12)
    mean = x_train.reshape(n, -1).mean(axis=0)
    before = x_test.reshape(7, -1) - mean  # the test split is centred with the TRAINING mean
    np.testing.assert_allclose(flat_test, before / np.linalg.norm(before, axis=1)[:, None])
    # before projection the training data have mean zero: the norms rebuild it
    norms = np.linalg.norm(x_train.reshape(n, -1) - mean, axis=1)
    np.testing.assert_allclose((flat_train * norms[:, None]).mean(axis=0), 0.0, atol=1e-9)


def test_zero_norm_after_centring_is_named() -> None:
    x_train = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 0.0]])
    with pytest.raises(DataError, match=r"training example 2 \(of 3"):
        normalize(x_train, np.ones((2, 2)))
    with pytest.raises(DataError, match="test example 1"):
        normalize(np.eye(2), np.array([[1.0, 0.0], [0.5, 0.5]]))
    with pytest.raises(DataError, match="example 0"):
        project_to_sphere(np.zeros((1, 3)))


def test_flip_rate_and_binary_flip() -> None:
    y = np.repeat([0, 1], 5000)
    for rate in (0.0, 0.1, 0.3, 0.5):
        out, flipped = flip_labels(y, rate, seeded_rng(2))
        assert np.array_equal(out[flipped], 1 - y[flipped])
        assert np.array_equal(out[~flipped], y[~flipped])
        # binomial: 4 standard deviations
        assert abs(flipped.mean() - rate) <= 4 * np.sqrt(rate * (1 - rate) / len(y)) + 1e-12


def test_flip_sets_are_nested_and_multiclass_changes_class() -> None:
    y = np.arange(3000) % 10
    _, low = flip_labels(y, 0.1, seeded_rng(5), num_classes=10)
    out, high = flip_labels(y, 0.3, seeded_rng(5), num_classes=10)
    assert np.all(high[low])
    assert np.all(out[high] != y[high]) and np.all((out >= 0) & (out < 10))
