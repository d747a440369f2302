"""Tasks: which raw classes form each class of the learning problem.

A task string names the groups of raw labels; the group named first becomes class 0 and the
group named second class 1 (the binary label +1 of docs/theory.md section 1):

* ``a-b``: two different digits, e.g. ``3-8`` (3 -> 0, 8 -> 1);
* ``odd-even``: odd digits -> 0, even digits -> 1 (``even-odd`` the other way round);
* ``low-high``: digits < 5 -> 0, digits >= 5 -> 1 (``high-low`` the other way round);
* ``all``: the ten classes as they are (``num_classes = 10``).

Digit sources (digits, mnist1d, mnist, cifar10) have raw labels 0-9. For ``file`` and
``synthetic`` data the task is ignored when the data have exactly two labels (sorted, the smaller
-> 0); with more labels ``a-b`` picks two label values, ``all`` keeps them all, and the grouping
tasks apply to integer labels.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from softhard.errors import ConfigError, DataError

__all__ = ["DIGITS", "TASK_HELP", "Task", "digit_task", "label_task"]

DIGITS: tuple[int, ...] = tuple(range(10))

TASK_HELP = (
    "allowed tasks: 'a-b' with two different classes a and b in 0-9 (e.g. '3-8': a -> label 0, "
    "b -> label 1), 'odd-even' (odd -> 0, even -> 1), 'even-odd', 'low-high' (<5 -> 0, "
    ">=5 -> 1), 'high-low', or 'all' (the 10 classes)"
)

_GROUPS: dict[str, tuple[str, Callable[[float], bool]]] = {
    "odd": ("odd", lambda v: int(v) % 2 == 1),
    "even": ("even", lambda v: int(v) % 2 == 0),
    "low": ("<5", lambda v: v < 5),
    "high": (">=5", lambda v: v >= 5),
}
_PAIRS = {("odd", "even"), ("even", "odd"), ("low", "high"), ("high", "low")}


@dataclass(frozen=True)
class Task:
    """A resolved task.

    Attributes:
        spec: the task as written (``"3-8"``, ``"odd-even"``, ``"all"``, ...).
        groups: ``groups[k]`` holds the raw label values that become class ``k``.
        class_names: a display name per class (``("3", "8")``, ``("odd", "even")``, ...).
    """

    spec: str
    groups: tuple[tuple[Any, ...], ...]
    class_names: tuple[str, ...]

    @property
    def num_classes(self) -> int:
        return len(self.groups)

    def select(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(index, label)``: the examples whose raw label is in a group, and their class (int64)."""
        label = np.full(len(y), -1, dtype=np.int64)
        for k, group in enumerate(self.groups):
            label[np.isin(y, np.asarray(group, dtype=y.dtype))] = k
        index = np.flatnonzero(label >= 0)
        return index, label[index]

    def check_present(self, y: np.ndarray, origin: str) -> None:
        """Raise :class:`DataError` naming the first class with no example in ``y``."""
        for k, group in enumerate(self.groups):
            if not np.isin(y, np.asarray(group, dtype=y.dtype)).any():
                raise DataError(
                    f"class '{self.class_names[k]}' (raw labels {list(group)}) of task "
                    f"'{self.spec}' has no examples in {origin}; pick a task whose classes are "
                    "present, or check the file."
                )


def digit_task(spec: str, names: Sequence[str] | None = None) -> Task:
    """Resolve a task over the raw classes 0-9; raise :class:`ConfigError` for an unknown one.

    ``names`` gives a display name per raw class (default the digits themselves).
    """
    names = tuple(names) if names is not None else tuple(str(d) for d in DIGITS)
    text = spec.strip().lower()
    if text == "all":
        return Task(spec, tuple((d,) for d in DIGITS), names)
    a, sep, b = text.partition("-")
    if sep and (a, b) in _PAIRS:
        return _grouped_task(spec, (a, b), DIGITS)
    if sep and a.isdigit() and b.isdigit() and a != b and int(a) in DIGITS and int(b) in DIGITS:
        return Task(spec, ((int(a),), (int(b),)), (names[int(a)], names[int(b)]))
    raise ConfigError(f"unknown task '{spec}' for a source with classes 0-9; {TASK_HELP}.")


def label_task(spec: str | None, y: np.ndarray, origin: str, *, example: str = "") -> Task:
    """Resolve a task over the labels present in ``y`` (``file`` and ``synthetic`` sources).

    Two distinct labels: the task is ignored and the sorted labels map to 0 and 1. More labels:
    ``a-b`` picks the two label values named (matched as text or as numbers), ``all`` keeps every
    label (sorted), and ``odd-even`` / ``low-high`` group integer labels. ``spec=None`` (no task
    was chosen) with more than two labels raises :class:`DataError` listing the labels and how to
    choose; ``example`` is the dataset spec to show in that message (``file:data.npz``).
    """
    values = np.unique(y)
    if len(values) < 2:
        raise DataError(
            f"{origin} has a single class (label {values.tolist()}); a task needs two classes."
        )
    if len(values) == 2:
        a, b = values.tolist()
        return Task(f"{a}-{b}", ((a,), (b,)), (str(a), str(b)))
    if spec is None:
        raise DataError(_choose_message(values, origin, example))
    text = spec.strip().lower()
    if text == "all":
        return Task(spec, tuple((v,) for v in values.tolist()), tuple(str(v) for v in values))
    a, sep, b = text.partition("-")
    if sep and (a, b) in _PAIRS:
        if not np.issubdtype(values.dtype, np.number):
            raise ConfigError(f"task '{spec}' needs numeric labels; {origin} has text labels.")
        return _grouped_task(spec, (a, b), tuple(values.tolist()), origin)
    if not sep or a == b or not a or not b:
        raise ConfigError(
            f"unknown task '{spec}' for {origin} with {len(values)} labels "
            f"{values.tolist()[:20]}; allowed: 'a-b' naming two different labels, 'all', "
            "'odd-even' or 'low-high' (numeric labels)."
        )
    pa, pb = _find_label(a, values, spec, origin), _find_label(b, values, spec, origin)
    return Task(spec, ((pa,), (pb,)), (str(pa), str(pb)))


def _choose_message(values: np.ndarray, origin: str, example: str) -> str:
    labels = values.tolist()
    shown = ", ".join(map(str, labels[:20])) + (", ..." if len(labels) > 20 else "")
    a, b = labels[0], labels[1]
    spec = f"'{example},task={a}-{b}'" if example else f"task={a}-{b}"
    return (
        f"{origin} has {len(labels)} classes (labels {shown}) and no task picks two of them; "
        f"softhard will not drop classes silently. Choose two with task=a-b, e.g. {spec} "
        f"(in a config: task: '{a}-{b}'), or task=all to keep every class (multi-class use only)."
    )


def _grouped_task(
    spec: str, pair: tuple[str, str], universe: tuple[Any, ...], origin: str = ""
) -> Task:
    groups, names = [], []
    for key in pair:
        name, member = _GROUPS[key]
        group = tuple(v for v in universe if member(v))
        if not group:
            raise DataError(f"group '{name}' of task '{spec}' has no examples in {origin}.")
        groups.append(group)
        names.append(name)
    return Task(spec, tuple(groups), tuple(names))


def _find_label(text: str, values: np.ndarray, spec: str, origin: str) -> Any:
    for v in values.tolist():
        if str(v).lower() == text or _same_number(text, v):
            return v
    raise DataError(
        f"class '{text}' of task '{spec}' has no examples in {origin}; its labels are "
        f"{values.tolist()[:20]}."
    )


def _same_number(text: str, value: Any) -> bool:
    try:
        return float(text) == float(value)
    except (TypeError, ValueError):
        return False
