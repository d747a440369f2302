"""``softhard theorem SPEC``: the reference-point width law, level by level (docs/theorem.md).

For each family and level: the certified margin (gamma, its dual standard error and fresh lower
bounds), the kernel teacher on its own K_teacher directions with kappa, the loss at the reference
point U for every width, seed and target (soft: s = beta; hard: s = lambda(eps), one per eps),
m*_ref per (level, eps) and the fitted width law per (family, mode) with seed-bootstrap intervals
and the identification check. Tables go through the one run-folder writer.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from softhard.report.rundir import write_run
from softhard.studies.theorem.curves import Target, reference_curves
from softhard.studies.theorem.families import Level, prepare_family
from softhard.studies.theorem.fit import CurveSet, fits_table, min_widths
from softhard.studies.theorem.plots import draw_figures
from softhard.studies.theorem.reference import hard_scale
from softhard.studies.theorem.spec import TheoremSpec
from softhard.studies.theorem.teacher import teacher_field

__all__ = ["TheoremResult", "run_theorem"]


@dataclass(frozen=True)
class TheoremResult:
    """What :func:`run_theorem` produced: the folder (None when not written) and its tables."""

    path: Path | None
    levels: pd.DataFrame
    curves: pd.DataFrame
    min_widths: pd.DataFrame
    fits: pd.DataFrame
    seconds: float


def _targets(level: Level, spec: TheoremSpec) -> list[Target]:
    out = [Target("soft", b, None, b) for b in level.betas] if "soft" in level.modes else []
    if "hard" in level.modes:
        c = spec.reference.hard_constant
        out += [Target("hard", hard_scale(level.gamma, e, c), e) for e in spec.eps["hard"]]
    return out


def _level_row(level: Level, teacher_k: int, spec: TheoremSpec) -> tuple[dict[str, object], object]:
    est = level.estimate
    field = teacher_field(
        level.x, level.y, est.q, gamma=est.gamma, num_directions=teacher_k,
        seed=spec.reference.teacher_seed,
    )  # fmt: skip
    row: dict[str, object] = {
        "family": level.family,
        "level": level.name,
        "n": int(level.x.shape[0]),
        "d": int(level.x.shape[1]),
        **est.summary(),
        "gamma_closed": level.gamma_closed,
        "teacher_directions": teacher_k,
        "teacher_fresh_lower": field.fresh_lower,
        "mc_error": est.gamma - field.fresh_lower,
        "kappa": field.kappa,
        "kappa_max": field.kappa_max,
        "betas": " ".join(f"{b:.4g}" for b in level.betas),
    }
    return row, field


def run_theorem(
    spec: TheoremSpec,
    *,
    out_dir: str | Path | None = "runs",
    cache: Path | None = None,
    announce: Callable[[str], None] | None = None,
) -> TheoremResult:
    """Run the reference-point study of ``spec``; write a run folder under ``out_dir`` (None:
    nothing is written). Every level is prepared (and certified) before any curve is computed,
    so a bad level stops the study before anything is written."""
    start = time.perf_counter()
    say = announce or (lambda _msg: None)
    levels = [
        lvl
        for fam in spec.families
        for lvl in prepare_family(
            fam, num_directions=spec.margin.num_directions, seed=spec.margin.seed, cache=cache
        )
    ]
    widths = spec.reference.widths()
    teacher_k = spec.reference.num_teacher_directions()
    level_rows, curve_parts = [], []
    for level in levels:
        t0 = time.perf_counter()
        row, field = _level_row(level, teacher_k, spec)
        part = reference_curves(
            level.x, level.y, level.estimate.q, field.h,  # type: ignore[attr-defined]
            targets=_targets(level, spec), widths=widths, seeds=spec.reference.seeds,
            init=spec.reference.init,
        )  # fmt: skip
        part.insert(0, "level", level.name)
        part.insert(0, "family", level.family)
        part["gamma"] = level.gamma
        level_rows.append(row)
        curve_parts.append(part)
        say(
            f"{level.family} {level.name}: gamma {level.gamma:.4g}, {time.perf_counter() - t0:.1f} s"
        )
    level_table = pd.DataFrame(level_rows)
    curves = pd.concat(curve_parts, ignore_index=True)
    sets, mins = curve_sets(curves, spec)
    fits = fits_table(sets, n_boot=spec.n_boot, seed=spec.boot_seed)
    seconds = time.perf_counter() - start
    path = None
    if out_dir is not None:
        tables = {
            "theorem_levels": level_table,
            "theorem_reference": curves,
            "theorem_min_widths": mins,
            "theorem_fits": fits,
        }
        path = write_run(
            out_dir, spec, name=spec.name, tables=tables,
            manifest={"kind": "theorem", "seconds": round(seconds, 2), "seeds": spec.reference.seeds},
            figures=lambda folder: draw_figures(folder, curves, mins, spec),
        )  # fmt: skip
    return TheoremResult(path, level_table, curves, mins, fits, seconds)


def _points(
    curves: pd.DataFrame, spec: TheoremSpec
) -> list[tuple[dict[str, object], pd.DataFrame]]:
    """One (key, curve rows) per m*_ref point: soft (level, beta, eps), hard (level, eps)."""
    out = []
    for (family, level, mode), part in curves.groupby(["family", "level", "mode"], sort=False):
        for eps in spec.eps[str(mode)]:
            if mode == "soft":
                for beta, sub in part.groupby("beta", sort=False):
                    key = {"family": family, "level": level, "mode": mode, "beta": beta}
                    out.append(({**key, "eps": eps}, sub))
            else:
                sub = part[np.isclose(part["eps"].astype(float), eps)]
                out.append(({"family": family, "level": level, "mode": mode, "eps": eps}, sub))
    return out


def curve_sets(
    curves: pd.DataFrame, spec: TheoremSpec
) -> tuple[dict[tuple[str, str], CurveSet], pd.DataFrame]:
    """The curve arrays per (family, mode) and the table of m*_ref with its status."""
    groups: dict[tuple[str, str], list[tuple[dict[str, object], np.ndarray]]] = {}
    widths = np.array(spec.reference.widths())
    for key, sub in _points(curves, spec):
        arr = sub.pivot_table(index="width", columns="seed", values="loss").loc[widths]
        gamma = float(sub["gamma"].iloc[0])
        eps = float(key["eps"])  # type: ignore[arg-type]
        if key["mode"] == "soft":
            key.update(x=float(key["beta"]), e=1.0 / eps)  # type: ignore[arg-type]
        else:
            key.update(x=1.0 / gamma, e=math.log(1.0 / eps))
        key["gamma"] = gamma
        groups.setdefault((str(key["family"]), str(key["mode"])), []).append((key, arr.to_numpy()))
    sets, rows = {}, []
    for gk, items in groups.items():
        keys = [k for k, _ in items]
        cs = CurveSet(
            loss=np.stack([a for _, a in items]),
            widths=widths,
            x=np.array([k["x"] for k in keys], dtype=float),
            e=np.array([k["e"] for k in keys], dtype=float),
            eps=np.array([k["eps"] for k in keys], dtype=float),
        )
        sets[gk] = cs
        mstar, status = min_widths(cs.loss.mean(axis=2), widths, cs.eps)
        for k, m, s in zip(keys, mstar, status, strict=True):
            rows.append({**k, "m_star": m, "status": {0: "ok", -1: "below", 1: "censored"}[int(s)]})
    return sets, pd.DataFrame(rows)
