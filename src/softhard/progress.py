"""A rich progress bar over trained students."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


def progress_columns(label: str, *extra: ProgressColumn) -> tuple[ProgressColumn, ...]:
    """The columns of softhard's bars: label, bar, n/total, ``extra``, elapsed time and ETA."""
    return (
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        MofNCompleteColumn(),
        *extra,
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
    )


@contextlib.contextmanager
def student_progress(
    total: int, *, enabled: bool = True, label: str = "students"
) -> Iterator[Callable[[int], None]]:
    """Yield ``advance(k)``: a bar over ``total`` students (a no-op when not ``enabled``)."""
    if not enabled:
        yield lambda k: None
        return
    with Progress(*progress_columns(label), transient=False) as bar:
        task = bar.add_task(label, total=total)
        yield lambda k: bar.advance(task, k)
