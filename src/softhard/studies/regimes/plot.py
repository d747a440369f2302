"""The regime heatmap: mean paired difference (soft - hard) over two chosen axes.

One panel per combination of the remaining cell columns (at most :data:`MAX_PANELS`); each cell
shows the mean difference and its interval; cells whose interval contains 0 are greyed and
hatched. The title names the horizon, the method, the unit of replication, the step sizes and
every setting that is constant across the figure.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.image import AxesImage
from matplotlib.patches import Rectangle

from softhard.errors import ConfigError
from softhard.report.rundir import write_run
from softhard.studies.regimes.compare import IN_TASK_NAME, OUTPUT_COLUMNS

MAX_PANELS = 12


def plot_paired_heatmap(
    frame: pd.DataFrame,
    path: str | Path,
    *,
    x: str,
    y: str,
    epoch: int | None = None,
    settings: dict[str, object] | None = None,
    title: str = "soft - hard test accuracy",
) -> Path:
    """Write the heatmap of ``frame`` (a :func:`~softhard.studies.regimes.compare.paired_compare` table)."""
    for axis in (x, y):
        if axis not in frame.columns:
            raise ConfigError(f"heatmap axis {axis!r} is not a column; choose from {_axes(frame)}")
    if x == y:
        raise ConfigError(f"the heatmap needs two different axes, got x = y = {x!r}")
    epoch = int(frame["epoch"].max()) if epoch is None else epoch
    data = frame[frame["epoch"] == epoch]
    implied = {"task"} if {x, y} & set(IN_TASK_NAME) else set()  # the task name holds x or y
    facets = [
        c for c in _axes(frame) if c not in (x, y, *implied) and data[c].nunique(dropna=False) > 1
    ]
    panels = list(data.groupby(facets, sort=True)) if facets else [((), data)]
    if len(panels) > MAX_PANELS:
        raise ConfigError(
            f"the heatmap over {x} x {y} would need {len(panels)} panels (one per {facets}); "
            f"at most {MAX_PANELS}: choose axes among {_axes(frame)}"
        )
    clash = data.duplicated(subset=[*facets, x, y])
    if clash.any():
        raise ConfigError(
            f"the heatmap over {x} x {y} has several cells at one point (tasks that differ in "
            f"more than {x} and {y}); choose axes among {_axes(frame)}"
        )
    limit = float(np.nanmax(np.abs(data["mean_diff"]))) or 1e-3
    ncols = min(3, len(panels))
    nrows = -(-len(panels) // ncols)
    fig, axs = plt.subplots(nrows, ncols, figsize=(5.2 * ncols, 4.6 * nrows), squeeze=False)
    image: AxesImage | None = None
    levels = (_levels(data[x]), _levels(data[y]))
    for k, (ax, (key, panel)) in enumerate(zip(axs.flat, panels, strict=False)):
        image = _panel(ax, panel, x, y, limit, levels)
        if k % ncols:
            ax.set_yticklabels([])
            ax.set_ylabel("")
        key = key if isinstance(key, tuple) else (key,)
        ax.set_title(", ".join(f"{f}={v}" for f, v in zip(facets, key, strict=True)), fontsize=8)
    for ax in list(axs.flat)[len(panels) :]:
        ax.axis("off")
    if image is not None:
        fig.colorbar(image, ax=axs, shrink=0.8, label="mean paired difference (soft - hard)")
    text = _title(data, epoch, title, settings)
    if implied and data["task"].nunique() > 1:  # say which tasks the x/y values stand for
        text += "\n" + _wrap("tasks: " + ", ".join(_levels(data["task"])))  # type: ignore[arg-type]
    fig.suptitle(text, fontsize=9, y=1.0, va="bottom")
    path = Path(path)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path


def _axes(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c not in OUTPUT_COLUMNS]


def _panel(
    ax: Axes,
    panel: pd.DataFrame,
    x: str,
    y: str,
    limit: float,
    levels: tuple[list[object], list[object]],
) -> AxesImage:
    xs, ys = levels
    grid = np.full((len(ys), len(xs)), np.nan)
    image = ax.imshow(grid, cmap="RdBu", vmin=-limit, vmax=limit, aspect="auto")
    for row in panel.itertuples(index=False):
        r = dict(zip(panel.columns, row, strict=True))
        i, j = ys.index(r[y]), xs.index(r[x])
        grid[i, j] = r["mean_diff"]
        if not r["significant"]:
            ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, hatch="///", lw=0))
        text = f"{r['mean_diff']:+.3f}\n[{r['ci_low']:+.3f}, {r['ci_high']:+.3f}]"
        color = "white" if abs(r["mean_diff"]) > 0.6 * limit and r["significant"] else "black"
        box = None if r["significant"] else {"facecolor": "white", "alpha": 0.8, "lw": 0}
        ax.text(j, i, text, ha="center", va="center", fontsize=7, color=color, bbox=box)
    image.set_data(np.ma.masked_invalid(grid))
    masked = ~panel["significant"].astype(bool)
    if masked.any():  # grey the non-significant cells beneath their hatching
        grey = np.full((*grid.shape, 4), 0.0)
        for row in panel[masked].itertuples(index=False):
            r = dict(zip(panel.columns, row, strict=True))
            grey[ys.index(r[y]), xs.index(r[x])] = (0.85, 0.85, 0.85, 0.75)
        ax.imshow(grey, aspect="auto")
    ax.set_xticks(range(len(xs)), [str(v) for v in xs], fontsize=7, rotation=20)
    ax.set_yticks(range(len(ys)), [str(v) for v in ys], fontsize=7)
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    return image


def _levels(values: pd.Series) -> list[object]:
    uniq = list(dict.fromkeys(values))
    try:
        return sorted(uniq)
    except TypeError:
        return uniq


def _title(data: pd.DataFrame, epoch: int, title: str, settings: dict[str, object] | None) -> str:
    first = data.iloc[0]
    units = ", ".join(sorted(set(data["unit"])))
    steps = ", ".join(sorted(set(data["steps"])))
    lines = [
        f"{title} after {epoch} epochs; {first['method']} 95% interval over {units}; "
        f"hatched grey: interval contains 0",
        f"step sizes soft vs hard: {steps}",
    ]
    if settings:
        lines.append(_wrap(", ".join(f"{k}={v}" for k, v in settings.items())))
    return "\n".join(lines)


def _wrap(text: str, width: int = 150) -> str:
    out, line = [], ""
    for word in text.split(", "):
        if line and len(line) + len(word) > width:
            out.append(line)
            line = ""
        line = f"{line}, {word}" if line else word
    return "\n".join([*out, line])


def write_comparison(
    frame: pd.DataFrame,
    out: Path,
    name: str,
    *,
    x: str,
    y: str,
    settings: dict[str, object] | None = None,
    **manifest: object,
) -> Path:
    """Write a paired comparison with :func:`softhard.report.rundir.write_run` (an atomic
    folder ``out/<name>-<UTC time>-<digest>``): ``config.yaml`` (what was compared: source,
    sweep, method, horizons, axes), ``paired.csv`` / ``paired.parquet``, the heatmap over ``x``
    and ``y`` (:func:`plot_paired_heatmap`) and ``manifest.json`` (with ``manifest``, the
    heatmap axes and the number of cells); returns the folder."""
    chosen = {k: manifest[k] for k in _COMPARED if k in manifest}
    config = json.loads(json.dumps({"kind": "comparison", **chosen, "x": x, "y": y}, default=str))

    def figures(folder: Path) -> None:
        plot_paired_heatmap(frame, folder / "paired_heatmap.png", x=x, y=y, settings=settings)

    return write_run(
        out,
        config,
        name=name,
        tables={"paired": frame},
        figures=figures,
        manifest={**manifest, "heatmap_axes": [x, y], "cells": len(frame)},
    )


_COMPARED = ("source", "sweep", "method", "epochs")  # the manifest fields that name the comparison


__all__: Sequence[str] = ["MAX_PANELS", "plot_paired_heatmap", "write_comparison"]
