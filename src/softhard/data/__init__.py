"""Datasets: sources (digits, mnist1d, mnist, synthetic, file, cifar10), tasks, difficulty transforms.

The entry point is :func:`load_dataset`; the steps are public for tests and reuse.
"""

from softhard.data._dataset import Dataset
from softhard.data.idx import read_idx
from softhard.data.pipeline import load_dataset, resolve_task, student_subset
from softhard.data.sources import (
    MNIST_FILES,
    SOURCES,
    RawData,
    load_source,
    mnist1d_arrays,
    read_csv,
    read_mnist,
    read_npz,
    synthetic_arrays,
)
from softhard.data.tasks import TASK_HELP, Task, digit_task, label_task
from softhard.data.transforms import (
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

__all__ = [
    "MNIST_FILES",
    "SOURCES",
    "TASK_HELP",
    "Dataset",
    "RawData",
    "Task",
    "add_noise",
    "centre",
    "digit_task",
    "flip_labels",
    "label_task",
    "load_dataset",
    "load_source",
    "mix_classes",
    "mnist1d_arrays",
    "normalize",
    "pair_other_class",
    "project_to_sphere",
    "read_csv",
    "read_idx",
    "read_mnist",
    "read_npz",
    "resolve_task",
    "seeded_rng",
    "stratified_split",
    "stratified_subsample",
    "student_subset",
    "synthetic_arrays",
]
