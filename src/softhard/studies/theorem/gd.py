"""The theorem's own algorithm where width binds: projected GD with the radius of the bound.

Per level and target: soft labels (the kernel teacher on its own directions, sigmoid(beta h))
with rho = c beta, one run serving every soft eps; hard labels with rho = c ln(1/eps)/gamma, one
run per eps. Symmetric initialisation, full-batch GD with step ``lr``, each step projected onto
||w_s - w_s(0)|| <= rho / sqrt(m). The horizon is T(eps) = min(cap, ceil(k rho^2 / eps)).
Readouts at T(eps): the epoch average (1/T) sum_t L(W_t) (the theorem's) and the best loss over
those epochs; the fraction of neurons at the radius tells whether the projection binds.
m*_gd(level, eps) is the smallest width whose mean readout is <= eps (:func:`fit.min_widths`);
the ratio m*_hard/m*_soft for each configured pairing (:mod:`.ratio`) is regressed on
log(1/gamma) with a seed bootstrap.

Beside it, the online-GD inequality of the proof (:mod:`softhard.inequality`) is logged with the
reference loop for a few widths (plain GD, no projection, so it holds for any U).
"""

from __future__ import annotations

import math
from typing import Annotated

import numpy as np
import pandas as pd
import torch
from pydantic import Field

from softhard.config import ConfigModel, TrainConfig
from softhard.engine import BankEntry, train_bank
from softhard.inequality import inequality_terms
from softhard.losses import soft_targets
from softhard.models.two_layer import TwoLayerReLU
from softhard.student import Student
from softhard.studies.theorem.families import Level
from softhard.studies.theorem.fit import min_widths
from softhard.studies.theorem.ratio import Pair
from softhard.studies.theorem.reference import hard_scale, reference_point
from softhard.targets import Targets
from softhard.train import train_two_layer

__all__ = ["GDSettings", "gd_pairs", "gd_runs", "inequality_runs"]

_AT_RADIUS = 1e-4  # a neuron within this relative distance of the radius is at it (float32)


class GDSettings(ConfigModel):
    """Projected GD (the theorem's algorithm) and the inequality log; ``families: []`` skips it."""

    families: list[str] = Field(default_factory=list, description="families to train")
    min_log2_width: int = Field(2, ge=1, le=14)
    max_log2_width: int = Field(9, ge=2, le=14)
    seeds: list[int] = Field(default_factory=lambda: [0, 1, 2], min_length=2)
    radius_constant: float = Field(1.0, gt=0, description="c in rho = c beta, c ln(1/eps)/gamma")
    horizon_constant: float = Field(1.0, gt=0, description="k in T = ceil(k rho^2 / eps)")
    max_epochs: int = Field(2000, ge=1, description="the cap on T")
    lr: float = Field(1.0, gt=0)
    inequality_widths: list[int] = Field(default_factory=lambda: [16, 256])
    inequality_epochs: int = Field(300, ge=1)
    inequality_lr: float | None = Field(
        None, gt=0, description="the inequality runs' step; None: lr"
    )
    pairs: list[tuple[float, float]] | None = Field(
        None, description="(soft eps, hard eps) pairs of the hard/soft ratio; None: common eps"
    )
    relative: list[Annotated[float, Field(gt=0)]] = Field(
        default_factory=lambda: [0.2, 0.1],
        description="deltas of the relative targets (1 + delta) x the widest width's loss",
    )

    def widths(self) -> list[int]:
        return [2**k for k in range(self.min_log2_width, self.max_log2_width + 1)]

    def horizon(self, rho: float, eps: float) -> int:
        return min(self.max_epochs, math.ceil(self.horizon_constant * rho * rho / eps))


def _runs(
    level: Level, mode: str, rho: float, eps_list: list[float], logits: torch.Tensor | None,
    gd: GDSettings,
) -> list[dict[str, object]]:  # fmt: skip
    """Train every width and seed once at horizon max T(eps); read each eps at its own T."""
    horizons = {e: gd.horizon(rho, e) for e in eps_list}
    cfg = TrainConfig(optimizer="gd", lr=gd.lr, epochs=max(horizons.values()), rho=rho)
    students = [Student(w, s, mode) for w in gd.widths() for s in gd.seeds]  # type: ignore[arg-type]
    entries = [BankEntry.of(st, level.y, logits, init="symmetric") for st in students]
    results = train_bank(level.x, entries, cfg)
    rows = []
    for st, res in zip(students, results, strict=True):
        net = TwoLayerReLU(level.x.shape[1], st.width, seed=st.seed, init="symmetric")
        moved = torch.linalg.vector_norm(res.weight - net.weight0, dim=1) * math.sqrt(st.width)
        at_radius = float((moved >= rho * (1 - _AT_RADIUS)).double().mean())
        for eps, horizon in horizons.items():
            loss = res.curves["loss"][:horizon]
            rows.append({
                "family": level.family, "level": level.name, "gamma": level.gamma,
                "mode": mode, "eps": eps, "rho": rho, "epochs": horizon,
                "capped": horizon == gd.max_epochs, "width": st.width, "seed": st.seed,
                "avg_loss": float(np.mean(loss)) if len(loss) == horizon else math.nan,
                "best_loss": float(np.min(loss)) if len(loss) else math.nan,
                "at_radius": at_radius, "max_moved": float(moved.max()),
            })  # fmt: skip
    return rows


def gd_runs(
    level: Level, teacher_h: torch.Tensor, eps: dict[str, list[float]], gd: GDSettings
) -> pd.DataFrame:
    """Projected-GD readouts of one level: soft (one run) and hard (one run per eps)."""
    rows = []
    if "soft" in level.modes:
        beta = level.betas[0]
        rho = gd.radius_constant * beta
        rows += _runs(level, "soft", rho, eps["soft"], beta * teacher_h.to(torch.float64), gd)
    if "hard" in level.modes:
        for e in eps["hard"]:
            rho = gd.radius_constant * hard_scale(level.gamma, e)
            rows += _runs(level, "hard", rho, [e], None, gd)
    table: pd.DataFrame = pd.DataFrame(rows)
    return table


def gd_min_widths(runs: pd.DataFrame, readout: str = "avg_loss") -> pd.DataFrame:
    """m*_gd per (family, level, mode, eps) from the seed-mean ``readout`` curve."""
    rows = []
    for key, part in runs.groupby(["family", "level", "mode", "eps"], sort=False):
        curve = part.groupby("width")[readout].mean()
        m, status = min_widths(
            curve.to_numpy()[None, :], curve.index.to_numpy(), np.array([key[3]])
        )
        rows.append({
            "family": key[0], "level": key[1], "mode": key[2], "eps": key[3],
            "gamma": float(part["gamma"].iloc[0]), "readout": readout, "m_star": float(m[0]),
            "status": {0: "ok", -1: "below", 1: "censored"}[int(status[0])],
            "at_radius": float(part["at_radius"].mean()), "epochs": int(part["epochs"].iloc[0]),
        })  # fmt: skip
    table: pd.DataFrame = pd.DataFrame(rows)
    return table


def gd_pairs(eps: dict[str, list[float]], gd: GDSettings) -> list[Pair]:
    """The hard/soft pairings of the ratio: ``gd.pairs`` (soft eps, hard eps), else every eps
    common to both grids; each with absolute targets and with each relative delta."""
    common = sorted(set(eps.get("soft", [])) & set(eps.get("hard", [])), reverse=True)
    runs = gd.pairs if gd.pairs is not None else [(e, e) for e in common]
    deltas: list[float | None] = [None, *gd.relative]
    return [Pair(s, h, d) for d in deltas for s, h in runs]


def inequality_runs(
    level: Level, teacher_h: torch.Tensor, eps: float, gd: GDSettings
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The online-GD inequality per run (reference loop, plain GD, U the reference point):
    one row per run, and the running terms over epochs (for the figure)."""
    q = level.estimate.q
    lr = gd.inequality_lr or gd.lr
    rows, curves = [], []
    p = soft_targets(level.betas[0] * teacher_h.to(torch.float64))
    for mode in level.modes:
        scale = level.betas[0] if mode == "soft" else hard_scale(level.gamma, eps)
        targets = Targets(level.y, p, 1.0) if mode == "soft" else Targets(level.y, None, 0.0)
        cfg = TrainConfig(optimizer="gd", lr=lr, epochs=gd.inequality_epochs)
        for width in gd.inequality_widths:
            u = reference_point(level.x, level.y, q, width=width, scale=scale, seed=0)
            net = TwoLayerReLU(level.x.shape[1], width, seed=0, init="symmetric")
            res = train_two_layer(net, level.x, targets, cfg, reference=u.weight)
            dist = float(((u.weight - u.weight0) ** 2).sum())
            terms = inequality_terms(res.curves, lr=lr, distance_sq=dist)
            key = {"family": level.family, "level": level.name, "gamma": level.gamma,
                   "mode": mode, "width": width, "scale": scale}  # fmt: skip
            rows.append({**key, **terms, "distance_sq": dist})
            curves.append(pd.DataFrame({**key, **_running(res.curves, lr, dist)}))
    return width_terms(pd.DataFrame(rows)), pd.concat(curves, ignore_index=True)


def width_terms(table: pd.DataFrame) -> pd.DataFrame:
    """Add ``width_term``: per (level, mode), the bound term that changes most (in absolute
    value) from the smallest to the largest width logged: the one carrying the width dependence."""
    out: pd.DataFrame = table.copy()
    out["width_term"] = ""
    for _, part in table.groupby(["family", "level", "mode"], sort=False):
        ordered = part.sort_values("width")
        first, last = ordered.iloc[0], ordered.iloc[-1]
        change = {
            t: abs(float(last[f"{t}_term"]) - float(first[f"{t}_term"]))
            for t in ("reference", "distance", "gradient")
        }
        out.loc[part.index, "width_term"] = max(change, key=lambda k: change[k])
    return out


def _running(curves: dict[str, np.ndarray], lr: float, dist: float) -> dict[str, np.ndarray]:
    """The four terms of the inequality after t = 1..T epochs."""
    t = np.arange(1, len(curves["gd_objective"]) + 1)
    return {
        "epoch": t,
        "average_loss": np.cumsum(curves["gd_objective"]) / t,
        "reference_term": np.cumsum(curves["gd_reference"]) / t,
        "distance_term": dist / (2 * lr * t),
        "gradient_term": lr / 2 * np.cumsum(curves["gd_grad_sq"]) / t,
    }
