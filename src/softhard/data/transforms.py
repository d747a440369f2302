"""Split, subsample and the difficulty transforms, each a pure function of arrays and a seeded RNG.

Random draws do not depend on the strength of a transform: the same seed gives the same noise
direction for every sigma, the same partners for every lambda and nested flip sets as the rate
grows. Difficulty levels of one experiment are thus coupled (common random numbers).
"""

from __future__ import annotations

import numpy as np

from softhard.errors import DataError

__all__ = [
    "add_noise",
    "centre",
    "flip_labels",
    "mix_classes",
    "nested_order",
    "nested_subsample",
    "normalize",
    "pair_other_class",
    "project_to_sphere",
    "seeded_rng",
    "stratified_split",
    "stratified_subsample",
]

_ZERO_NORM = 1e-12


def seeded_rng(seed: int, *stream: int) -> np.random.Generator:
    """An independent numpy generator for ``(seed, *stream)`` (any integer seed, negative too)."""
    return np.random.default_rng([seed % 2**64, *stream])


def stratified_split(
    y: np.ndarray, test_fraction: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``(train_index, test_index)``, each sorted: per class ``round(n_c * f)`` test examples.

    Every class keeps at least one example on each side, so a class needs two examples
    (:class:`DataError` otherwise).
    """
    train, test = [], []
    for c in np.unique(y):
        members = np.flatnonzero(y == c)
        if len(members) < 2:
            raise DataError(
                f"class {c} has {len(members)} example(s); a train/test split needs at least 2."
            )
        n_test = int(np.clip(round(len(members) * test_fraction), 1, len(members) - 1))
        chosen = rng.permutation(members)
        test.append(chosen[:n_test])
        train.append(chosen[n_test:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def stratified_subsample(y: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted indices of ``n`` examples, class proportions kept (largest remainder), each >= 1.

    Returns all indices when ``n >= len(y)``.
    """
    if n >= len(y):
        return np.arange(len(y))
    classes, counts = np.unique(y, return_counts=True)
    if n < len(classes):
        raise DataError(f"max_train={n} is smaller than the number of classes ({len(classes)}).")
    quota = counts * (n / len(y))
    take = np.maximum(np.floor(quota).astype(np.int64), 1)
    order = np.argsort(-(quota - np.floor(quota)), kind="stable")
    i = 0
    while take.sum() < n:  # hand the rest to the largest remainders
        k = order[i % len(order)]
        if take[k] < counts[k]:
            take[k] += 1
        i += 1
    while take.sum() > n:  # only when the floor of 1 per class overshot
        k = int(np.argmax(take))
        take[k] -= 1
    picked = [
        rng.choice(np.flatnonzero(y == c), size=t, replace=False)
        for c, t in zip(classes, take, strict=True)
    ]
    return np.sort(np.concatenate(picked))


def pair_other_class(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """For binary labels, ``partner[i]``: an example of the other class.

    The classes are shuffled and matched one to one (``partner[partner[i]] == i``) for
    ``min(n_0, n_1)`` pairs; each left-over example of the larger class gets a random partner of
    the smaller class.
    """
    a, b = (rng.permutation(np.flatnonzero(y == c)) for c in (0, 1))
    if len(a) == 0 or len(b) == 0 or len(a) + len(b) != len(y):
        raise DataError("class mixing needs binary labels 0/1 with both classes present.")
    if len(a) < len(b):
        a, b = b, a
    k = len(b)
    partner = np.empty(len(y), dtype=np.int64)
    partner[a[:k]], partner[b] = b, a[:k]
    partner[a[k:]] = rng.choice(b, size=len(a) - k)
    return partner


def mix_classes(x: np.ndarray, partner: np.ndarray, lam: float) -> np.ndarray:
    """Class mixing ``x'_i = (1 - lambda) x_i + lambda x_{partner[i]}`` (issue 2, "Data").

    With ``lambda = 1/2`` the matched pairs become one point with two opposite labels, so the
    classes are inseparable.
    """
    mixed: np.ndarray = (1.0 - lam) * x + lam * x[partner]
    return mixed


def add_noise(x: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """``x + sigma * z`` with ``z`` standard normal per coordinate, drawn once per example."""
    noisy: np.ndarray = x + sigma * rng.standard_normal(x.shape)
    return noisy


def centre(x: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """``x - mean`` (``mean`` the training mean, computed once and applied to both splits)."""
    centred: np.ndarray = x - mean
    return centred


def project_to_sphere(x: np.ndarray, what: str = "example") -> np.ndarray:
    """Rows divided by their Euclidean norm: ``x_i / ||x_i||`` (docs/theory.md section 1: ||x|| = 1).

    A row of norm zero (to 1e-12 of the largest norm) cannot be projected: :class:`DataError`
    naming it (``what`` says which split).
    """
    norms = np.linalg.norm(x, axis=1)
    zero = np.flatnonzero(norms <= _ZERO_NORM * max(float(norms.max(initial=0.0)), 1.0))
    if len(zero):
        raise DataError(
            f"{what} {int(zero[0])} (of {len(x)}; {len(zero)} such) has norm 0 after centring: "
            "it equals the training mean and cannot be projected onto the unit sphere. Remove "
            "it, add noise, or set normalize=false."
        )
    unit: np.ndarray = x / norms[:, None]
    return unit


def normalize(x_train: np.ndarray, x_test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flatten, centre both splits with the TRAINING mean, project onto the unit sphere, reshape.

    docs/theory.md section 1 assumes ``||x_i|| <= 1``; softhard puts every example on the sphere.
    """
    flat_train = x_train.reshape(len(x_train), -1)
    flat_test = x_test.reshape(len(x_test), -1)
    mean = flat_train.mean(axis=0)
    out_train = project_to_sphere(centre(flat_train, mean), "training example")
    out_test = project_to_sphere(centre(flat_test, mean), "test example")
    return out_train.reshape(x_train.shape), out_test.reshape(x_test.shape)


def flip_labels(
    y: np.ndarray, rate: float, rng: np.random.Generator, num_classes: int = 2
) -> tuple[np.ndarray, np.ndarray]:
    """``(y_flipped, flipped)``: each label flipped independently with probability ``rate``.

    A flipped binary label becomes ``1 - y``; with more classes it becomes a uniformly drawn
    other class. ``flipped = u < rate`` for one uniform ``u`` per example, so flip sets are
    nested as ``rate`` grows.
    """
    u = rng.uniform(size=len(y))
    shift = rng.integers(1, max(num_classes, 2), size=len(y))
    flipped = u < rate
    out = np.where(flipped, (y + shift) % num_classes, y).astype(np.int64)
    return out, flipped


def nested_order(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A seeded order of all examples whose every prefix keeps the class proportions.

    Each class is shuffled; its j-th member (of n_c) gets the key ``(j + u_c) / n_c`` with one
    uniform offset ``u_c`` per class, and the examples are sorted by key. Any prefix of length
    n therefore holds about ``n * n_c / len(y)`` members of class c, and the prefix for n1 < n2
    is contained in the prefix for n2 (nested subsets; see :func:`nested_subsample`).
    """
    keys = np.empty(len(y), dtype=np.float64)
    for c in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == c))
        keys[members] = (np.arange(len(members)) + rng.uniform()) / len(members)
    return np.argsort(keys, kind="stable")


def nested_subsample(y: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted indices of the first ``n`` examples of :func:`nested_order` (all when n >= len(y)).

    With the same generator seed the subset for n1 < n2 is a subset of the one for n2. Every
    class of ``y`` must appear (:class:`DataError` otherwise).
    """
    if n >= len(y):
        return np.arange(len(y))
    keep = np.sort(nested_order(y, rng)[:n])
    missing = np.setdiff1d(np.unique(y), np.unique(y[keep]))
    if len(missing):
        raise DataError(
            f"student_max_train={n} leaves class(es) {missing.tolist()} without an example; "
            "use a larger student_max_train."
        )
    return keep
