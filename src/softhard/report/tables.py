"""Terminal tables a person can read at 80 columns: every command prints its tables here.

:func:`print_table` never cuts a number or a task name: numbers are rounded to significant
digits, long task names become short labels (``T1``, ``T2``...) with a legend under the table,
and when the terminal is still too narrow, secondary columns are left out (listed in a note;
the files a command writes keep every column). Cells are folded, never ellipsised.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import pandas as pd
from rich.console import Console
from rich.table import Table

TASK_COLUMNS = ("task",)
LONG_TASK = 24  # a task name longer than this is always shown by a short label
_FOLD_WIDTH = 12  # the narrowest a free-text column (reason, path) may be folded to


def format_value(value: Any, digits: int = 3) -> str:
    """A cell: integers as they are, other numbers to ``digits`` significant digits, NaN as -."""
    if value is None:
        return ""
    if isinstance(value, bool | str):
        return str(value)
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        v = float(value)
        if math.isnan(v):
            return "-"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        if v.is_integer() and abs(v) < 1e6:
            return str(int(v))
        return f"{v:.{digits}g}"
    return str(value)


def _width(header: str, cells: Sequence[str], fold: bool) -> int:
    """Narrowest column that cuts nothing: headers wrap at spaces, cells stay whole."""
    word = max((len(w) for w in header.split()), default=1)
    longest = max((len(c) for c in cells), default=0)
    return max(word, min(longest, _FOLD_WIDTH) if fold else longest)


def _needed(widths: dict[str, int]) -> int:
    return sum(widths.values()) + 3 * len(widths) + 1  # padding 1 each side, one rule between


def _fit(narrow: dict[str, int], natural: dict[str, int], limit: int) -> dict[str, int]:
    """Column widths: natural if the table fits, else the narrowest plus the room left,
    given to the columns whose headers wrap (the narrowest first)."""
    if _needed(natural) <= limit:
        return natural
    sizes = dict(narrow)
    room = limit - _needed(sizes)
    while room > 0:
        short = [c for c in sizes if sizes[c] < natural[c]]
        if not short:
            break
        col = min(short, key=lambda c: natural[c] - sizes[c])
        step = min(room, natural[col] - sizes[col])
        sizes[col] += step
        room -= step
    return sizes


def task_labels(tasks: Sequence[str]) -> dict[str, str]:
    """``T1``, ``T2``... for the distinct task names, in order of first appearance."""
    out: dict[str, str] = {}
    for task in tasks:
        out.setdefault(task, f"T{len(out) + 1}")
    return out


def print_table(
    frame: pd.DataFrame,
    title: str,
    *,
    console: Console | None = None,
    secondary: Sequence[str] = (),
    fold: Sequence[str] = ("reason", "path"),
    digits: int = 3,
    where_full: str | None = None,
) -> None:
    """Print ``frame`` so that it fits ``console.width`` with nothing truncated.

    Args:
        secondary: columns that may be left out when the terminal is narrow, the first one
            first.
        fold: free-text columns whose cells may be folded over lines.
        where_full: where the full table lives (named in the note on left-out columns).
    """
    console = console or Console()
    limit = console.width
    headers = {c: str(c).replace("_", " ") for c in frame.columns}
    cells = {c: [format_value(v, digits) for v in frame[c]] for c in frame.columns}
    legend: dict[str, str] = {}
    tasks = [c for c in frame.columns if c in TASK_COLUMNS]

    def widths() -> dict[str, int]:
        return {c: _width(headers[c], cells[c], c in fold) for c in cells}

    def shorten() -> None:
        for col in tasks:
            labels = task_labels(cells[col])
            legend.update({v: k for k, v in labels.items()})
            cells[col] = [labels[v] for v in cells[col]]

    if any(len(v) > LONG_TASK for col in tasks for v in cells[col]):
        shorten()
    dropped = []
    for col in secondary:
        if _needed(widths()) <= limit:
            break
        if col in cells:
            dropped.append(col)
            del cells[col]
    if _needed(widths()) > limit and not legend:
        shorten()
    sizes = _fit(widths(), {c: max(len(headers[c]), *map(len, cells[c])) for c in cells}, limit)
    text_columns = {c for c in cells if c in tasks or c in fold}
    console.print(_rich_table(frame, title, headers, cells, sizes, text_columns))
    for label, task in legend.items():
        console.print(f"{label} = {task}", soft_wrap=True, highlight=False, markup=False)
    if dropped:
        left_out = ", ".join(headers[c] for c in dropped)
        text = f"left out at {limit} columns: {left_out}"
        if where_full:
            text += f" (all columns in {where_full})"
        console.print(text, soft_wrap=True, highlight=False, markup=False)


def _rich_table(
    frame: pd.DataFrame,
    title: str,
    headers: dict[Any, str],
    cells: dict[Any, list[str]],
    sizes: dict[Any, int],
    text_columns: set[Any],
) -> Table:
    """The rich table of ``cells`` at column widths ``sizes``; text columns left-justified
    (``text_columns`` and every non-numeric column of ``frame``), numbers right-justified."""
    table = Table(title=title)
    for col in cells:
        is_text = col in text_columns or not pd.api.types.is_numeric_dtype(frame[col])
        table.add_column(
            headers[col],
            justify="left" if is_text else "right",
            overflow="fold",
            width=sizes[col],
        )
    for i in range(len(frame)):
        table.add_row(*[cells[c][i] for c in cells])
    return table
