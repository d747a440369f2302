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
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from softhard.report.rundir import write_run
from softhard.studies.theorem.curves import Target, reference_curves
from softhard.studies.theorem.families import Level, prepare_family
from softhard.studies.theorem.fit import CurveSet, fits_table, min_widths
from softhard.studies.theorem.gd import gd_min_widths, gd_pairs, gd_runs, inequality_runs
from softhard.studies.theorem.plots import draw_figures
from softhard.studies.theorem.ratio import ratio_tables
from softhard.studies.theorem.reference import hard_scale
from softhard.studies.theorem.spec import TheoremSpec
from softhard.studies.theorem.teacher import TeacherField, teacher_field

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
    gd: dict[str, pd.DataFrame] = field(default_factory=dict)


def _targets(level: Level, spec: TheoremSpec) -> list[Target]:
    out = [Target("soft", b, None, b) for b in level.betas] if "soft" in level.modes else []
    if "hard" in level.modes:
        c = spec.reference.hard_constant
        out += [Target("hard", hard_scale(level.gamma, e, c), e) for e in spec.eps["hard"]]
    return out


def _level_row(
    level: Level, teacher_k: int, spec: TheoremSpec, shared: dict[tuple[str, float], TeacherField]
) -> tuple[dict[str, object], TeacherField]:
    """The level's row and teacher field; a level whose data (task name) and margin (gamma) a
    level of an earlier family already had reuses that field (the beta sweep's task is one of
    the digits levels): the same inputs give the same field, computed once."""
    est = level.estimate
    key = (level.name, est.gamma)
    if key not in shared:
        shared[key] = teacher_field(
            level.x, level.y, est.q, gamma=est.gamma, num_directions=teacher_k,
            seed=spec.reference.teacher_seed,
        )  # fmt: skip
    teacher = shared[key]
    row: dict[str, object] = {
        "family": level.family,
        "level": level.name,
        "n": int(level.x.shape[0]),
        "d": int(level.x.shape[1]),
        **est.summary(),
        "gamma_closed": level.gamma_closed,
        "teacher_directions": teacher_k,
        "teacher_fresh_lower": teacher.fresh_lower,
        "mc_error": est.gamma - teacher.fresh_lower,
        "kappa": teacher.kappa,
        "kappa_max": teacher.kappa_max,
        "betas": " ".join(f"{b:.4g}" for b in level.betas),
    }
    return row, teacher


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
    level_table, curves, fields = _reference_part(levels, spec, say)
    sets, mins = curve_sets(curves, spec)
    fits = fits_table(sets, n_boot=spec.n_boot, seed=spec.boot_seed)
    reference_seconds = time.perf_counter() - start
    gd = _gd_part([lv for lv in levels if lv.family in spec.gd.families], fields, spec, say)
    seconds = time.perf_counter() - start
    path = None
    if out_dir is not None:
        tables = {
            "theorem_levels": level_table,
            "theorem_reference": curves,
            "theorem_min_widths": mins,
            "theorem_fits": fits,
            **gd,
        }
        manifest = {
            "kind": "theorem",
            "seconds": round(seconds, 2),
            "reference_seconds": round(reference_seconds, 2),
            "seeds": spec.reference.seeds,
        }
        path = write_run(
            out_dir, spec, name=spec.name, tables=tables, manifest=manifest,
            figures=lambda folder: draw_figures(folder, curves, mins, spec, gd),
        )  # fmt: skip
    return TheoremResult(path, level_table, curves, mins, fits, seconds, gd)


def _reference_part(
    levels: list[Level], spec: TheoremSpec, say: Callable[[str], None]
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, TeacherField]]:
    """The levels table, the loss-at-U rows and each level's teacher field."""
    widths = spec.reference.widths()
    teacher_k = spec.reference.num_teacher_directions()
    level_rows, curve_parts, fields = [], [], {}
    shared: dict[tuple[str, float], TeacherField] = {}
    for level in levels:
        t0 = time.perf_counter()
        row, teacher = _level_row(level, teacher_k, spec, shared)
        part = reference_curves(
            level.x, level.y, level.estimate.q, teacher.h,
            targets=_targets(level, spec), widths=widths, seeds=spec.reference.seeds,
            init=spec.reference.init,
        )  # fmt: skip
        part.insert(0, "level", level.name)
        part.insert(0, "family", level.family)
        part["gamma"] = level.gamma
        level_rows.append(row)
        curve_parts.append(part)
        fields[f"{level.family}/{level.name}"] = teacher
        say(
            f"{level.family} {level.name}: gamma {level.gamma:.4g}, {time.perf_counter() - t0:.1f} s"
        )
    return pd.DataFrame(level_rows), pd.concat(curve_parts, ignore_index=True), fields


def _gd_part(
    levels: list[Level], fields: dict[str, TeacherField], spec: TheoremSpec,
    say: Callable[[str], None],
) -> dict[str, pd.DataFrame]:  # fmt: skip
    """Projected GD (m*_gd, the hard/soft ratio) and the inequality runs; {} when no family."""
    if not levels:
        return {}
    runs, ineq, ineq_curves = [], [], []
    for level in levels:
        t0 = time.perf_counter()
        h = fields[f"{level.family}/{level.name}"].h
        runs.append(gd_runs(level, h, spec.eps, spec.gd))
        summary, curves = inequality_runs(level, h, spec.eps["hard"][0], spec.gd)
        ineq.append(summary)
        ineq_curves.append(curves)
        say(f"gd {level.family} {level.name}: {time.perf_counter() - t0:.1f} s")
    table = pd.concat(runs, ignore_index=True)
    mins = pd.concat(
        [gd_min_widths(table, "avg_loss"), gd_min_widths(table, "best_loss")], ignore_index=True
    )
    per_level, slopes = ratio_tables(
        table, gd_pairs(spec.eps, spec.gd), n_boot=spec.n_boot, seed=spec.boot_seed
    )
    return {
        "theorem_gd": table,
        "theorem_gd_min_widths": mins,
        "theorem_gd_ratio": slopes,
        "theorem_gd_ratio_levels": per_level,
        "theorem_inequality": pd.concat(ineq, ignore_index=True),
        "theorem_inequality_curves": pd.concat(ineq_curves, ignore_index=True),
    }


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
