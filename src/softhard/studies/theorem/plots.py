"""Figures of the theorem study: loss at U against width, and m*_ref against beta (or 1/gamma)
and against eps, one line per level or eps, censored points marked."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.axes import Axes

if TYPE_CHECKING:
    from softhard.studies.theorem.spec import TheoremSpec

__all__ = ["draw_figures"]


def draw_figures(
    folder: Path,
    curves: pd.DataFrame,
    mins: pd.DataFrame,
    spec: TheoremSpec,
    gd: dict[str, pd.DataFrame] | None = None,
) -> None:
    """``reference_<family>.png`` (loss at U vs width, whole and linearised) and
    ``mstar_<family>.png`` (m*_ref vs X and vs eps) for each family."""
    setting = (
        f"{spec.reference.init} init, {len(spec.reference.seeds)} seeds, "
        f"K_teacher={spec.reference.num_teacher_directions()}, c={spec.reference.hard_constant:g}"
    )
    for family, part in curves.groupby("family", sort=False):
        _loss_figure(folder / f"reference_{family}.png", part, f"{family}: loss at U ({setting})")
    for family, part in mins.groupby("family", sort=False):
        _mstar_figure(folder / f"mstar_{family}.png", part, f"{family}: m*_ref ({setting})")
    if gd and "theorem_inequality_curves" in gd:
        title = f"online-GD inequality terms over epochs (plain GD, lr={spec.gd.lr:g})"
        _inequality_figure(folder / "inequality.png", gd["theorem_inequality_curves"], title)


def _loss_figure(path: Path, part: pd.DataFrame, title: str) -> None:
    modes = list(dict.fromkeys(part["mode"]))
    fig, axes = plt.subplots(1, len(modes), figsize=(6 * len(modes), 4.2), squeeze=False)
    for ax, mode in zip(axes[0], modes, strict=True):
        sub = part[part["mode"] == mode]
        keys = ["level", "beta"] if mode == "soft" else ["level", "eps"]
        for key, line in sub.groupby(keys, sort=False):
            mean = line.groupby("width")[["loss", "loss_lin"]].mean()
            (h,) = ax.plot(mean.index, mean["loss"], marker="o", ms=3, label=_label(mode, key))
            ax.plot(mean.index, mean["loss_lin"], ls=":", color=h.get_color())
        ax.set(xscale="log", yscale="log", xlabel="width m", title=f"{mode} (dotted: linearised)")
        ax.set_ylabel("KL to the kernel teacher" if mode == "soft" else "logistic loss")
        ax.legend(fontsize=6)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _label(mode: str, key: tuple[Any, ...]) -> str:
    level, value = key
    what = "beta" if mode == "soft" else "eps"
    return f"{level} {what}={float(value):.3g}"


def _mstar_figure(path: Path, part: pd.DataFrame, title: str) -> None:
    modes = list(dict.fromkeys(part["mode"]))
    fig, axes = plt.subplots(2, len(modes), figsize=(6 * len(modes), 8), squeeze=False)
    for col, mode in enumerate(modes):
        sub = part[part["mode"] == mode]
        xlabel = "beta" if mode == "soft" else "1/gamma"
        for eps, line in sub.groupby("eps", sort=False):
            _plot_points(axes[0, col], line["x"], line, f"eps={eps:g}")
        for _x, line in sub.groupby("x", sort=False):
            _plot_points(axes[1, col], 1.0 / line["eps"], line, f"{xlabel}={_x:.3g}")
        axes[0, col].set(xlabel=xlabel, title=f"{mode}: m*_ref against {xlabel}")
        axes[1, col].set(xlabel="1/eps", title=f"{mode}: m*_ref against 1/eps")
        for ax in axes[:, col]:
            ax.set(xscale="log", yscale="log", ylabel="m*_ref (x: censored at the cap)")
            ax.legend(fontsize=6)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_points(ax: Axes, x: pd.Series, line: pd.DataFrame, label: str) -> None:
    ok = line["status"] == "ok"
    (h,) = ax.plot(x[ok], line["m_star"][ok], marker="o", ms=3, label=label)
    cens = line["status"] == "censored"
    if cens.any():
        cap = 2**15 if not ok.any() else max(line["m_star"][ok].max(), 1.0)
        ax.plot(x[cens], [cap] * int(cens.sum()), "x", color=h.get_color())


def _inequality_figure(path: Path, curves: pd.DataFrame, title: str) -> None:
    """One panel per run (level, mode, width): the average loss and the three bound terms."""
    runs = list(curves.groupby(["level", "mode", "width"], sort=False))
    cols = min(4, len(runs))
    rows = -(-len(runs) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3 * rows), squeeze=False)
    for ax, ((level, mode, width), run) in zip(axes.flat, runs, strict=False):
        for col in ("average_loss", "reference_term", "distance_term", "gradient_term"):
            ax.plot(run["epoch"], run[col], label=col.replace("_", " "))
        ax.set(xscale="log", yscale="log", xlabel="epochs T", title=f"{level} {mode} m={width}")
        ax.title.set_fontsize(7)
    axes.flat[0].legend(fontsize=6)
    for ax in list(axes.flat)[len(runs) :]:
        ax.axis("off")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
