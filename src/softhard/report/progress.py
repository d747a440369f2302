"""A rich progress bar over trained students."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


@contextlib.contextmanager
def student_progress(
    total: int, *, enabled: bool = True, label: str = "students"
) -> Iterator[Callable[[int], None]]:
    """Yield ``advance(k)``: a bar over ``total`` students (a no-op when not ``enabled``)."""
    if not enabled:
        yield lambda k: None
        return
    columns = (
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, transient=False) as bar:
        task = bar.add_task(label, total=total)
        yield lambda k: bar.advance(task, k)
