"""The scaling study's tables: minimum widths with their seed-bootstrap draws
(:func:`min_width_table`, ``min_widths.csv``) and the fits per choice and across choices
(:func:`fit_table`, ``fits_by_choice.csv`` and ``fits.csv``; moved out of :mod:`.run`)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from softhard.studies.min_width.search import resampled_min_widths
from softhard.studies.scaling import search as S
from softhard.studies.scaling.fit import ScalingFit, fit_scaling, identify
from softhard.studies.scaling.levels import Level
from softhard.studies.scaling.search import in_range
from softhard.studies.scaling.spec import ScalingSpec
from softhard.train import CURVE_COLUMNS


def studied_losses(spec: ScalingSpec) -> list[str]:
    """The losses studied that the stored curves carry (the yardstick needs ``yard_loss``)."""
    return [x for x in spec.losses if S.CURVE_OF_LOSS[x] in CURVE_COLUMNS]


def eps_choices(spec: ScalingSpec, view: str, mode: str, loss: str) -> list[float]:
    """Horizon choices of a view: constants k (theorem) or horizons T (capacity), primary first."""
    if view == "theorem":
        return spec.constants("yardstick" if loss == "yardstick" else mode)
    return [float(spec.capacity.epochs), float(spec.capacity.epochs // 2)]


def _resamples(spec: ScalingSpec) -> np.ndarray:
    """Seed resamples shared by every point (paired): ``(n_boot, n_seeds)`` seed indices."""
    rng = np.random.default_rng(spec.boot_seed)
    return rng.integers(0, len(spec.seeds), size=(spec.n_boot, len(spec.seeds)))


def _draws(
    target: S.Target, data: dict[tuple[int, str], S.PairCurves], resamples: np.ndarray
) -> np.ndarray:
    values = data[target.pair].table(target.view, target.loss, target.horizon)
    return resampled_min_widths(values, target.eps, resamples)


def min_width_table(
    spec: ScalingSpec,
    levels: list[Level],
    targets: list[S.Target],
    data: dict[tuple[int, str], S.PairCurves],
) -> pd.DataFrame:
    """One row per target: m* (smallest evaluated width whose mean reaches eps), its bootstrap
    interval over seeds, and whether it is censored (eps not reached within the cap)."""
    identity = np.arange(len(spec.seeds))[None, :]
    resamples = _resamples(spec)
    rows = []
    for t in targets:
        m_star = float(_draws(t, data, identity)[0])
        draws = _draws(t, data, resamples)
        censored = not math.isfinite(m_star)
        lo, hi = (
            (math.nan, math.nan)
            if censored
            else np.quantile(draws, [0.025, 0.975], method="inverted_cdf")
        )
        rows.append(
            {
                "level": levels[t.level].name,
                "gamma": levels[t.level].gamma,
                "mode": t.mode,
                "view": t.view,
                "loss": t.loss,
                "eps_rule": t.rule,
                "eps": t.eps,
                "horizon": t.horizon,
                "m_star": m_star if not censored else math.nan,
                "ci_low": float(lo),
                "ci_high": float(hi),
                "censored": censored,
                "n_seeds": len(spec.seeds),
                "constant": t.constant,
                "cap": spec.max_width,
                "in_range": in_range(m_star, spec.max_width),
            }
        )
    out: pd.DataFrame = pd.DataFrame(rows)  # pandas-stubs' constructor is Any here
    return out


def fit_table(
    spec: ScalingSpec,
    table: pd.DataFrame,
    targets: list[S.Target],
    data: dict[tuple[int, str], S.PairCurves],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fit every view x loss x mode x eps rule x horizon choice; combine the choices per term."""
    resamples = _resamples(spec)
    draws = np.column_stack([_draws(t, data, resamples) for t in targets]) if targets else None
    table = table.assign(
        _choice=[t.constant if t.view == "theorem" else t.horizon for t in targets]
    )
    rows, combined = [], []
    for view in spec.views:
        for loss in studied_losses(spec):
            for mode in spec.label_modes:
                fits = []
                for rule in spec.eps_rules:
                    for choice in eps_choices(spec, view, mode, loss):
                        sel = (
                            (table["view"] == view)
                            & (table["loss"] == loss)
                            & (table["mode"] == mode)
                            & (table["eps_rule"] == rule)
                            & (table["_choice"] == choice)
                        ).to_numpy()
                        fit = fit_scaling(
                            table[sel],
                            mode=mode,
                            draws=draws[:, sel] if draws is not None else None,
                        )
                        fits.append(fit)
                        rows += _choice_rows(view, loss, mode, rule, choice, fit)
                combined += _combined_rows(view, loss, mode, fits)
    return pd.DataFrame(rows), pd.DataFrame(combined, columns=FITS_COLUMNS)


FITS_COLUMNS = [
    "view",
    "loss",
    "mode",
    "term",
    "estimate",
    "ci_low",
    "ci_high",
    "theory",
    "verdict",
    "n_used",
    "n_censored",
    "n_in_range",
]


def _n_in_range(fit: ScalingFit) -> int:
    """Points of a fit whose m* is in ``[4, cap/4]`` (:func:`in_range`)."""
    used = fit.used
    if not len(used) or "cap" not in used:
        return 0
    return int(sum(in_range(m, c) for m, c in zip(used["m_star"], used["cap"], strict=True)))


def _choice_rows(
    view: str, loss: str, mode: str, rule: str, choice: float, fit: ScalingFit
) -> list[dict[str, Any]]:
    return [
        {
            "view": view,
            "loss": loss,
            "mode": mode,
            "eps_rule": rule,
            "choice": ("k=" if view == "theorem" else "T=") + f"{choice:g}",
            "term": term,
            "estimate": fit.estimate[term],
            "ci_low": fit.ci_low[term],
            "ci_high": fit.ci_high[term],
            "theory": fit.theory[term],
            "verdict": fit.verdict[term],
            "n_used": fit.n_used,
            "n_censored": fit.n_censored,
            "n_in_range": _n_in_range(fit),
            "n_boot_ok": fit.n_boot_ok,
        }
        for term in ("b", "c")
    ]


def _combined_rows(view: str, loss: str, mode: str, fits: list[ScalingFit]) -> list[dict[str, Any]]:
    head = fits[0]
    out = []
    for term in ("b", "c"):
        ident = identify(fits, term)
        out.append(
            {
                "view": view,
                "loss": loss,
                "mode": mode,
                "term": term,
                "estimate": ident.estimate,
                "ci_low": ident.ci_low,
                "ci_high": ident.ci_high,
                "theory": head.theory[term],
                "verdict": ident.verdict,
                "n_used": head.n_used,
                "n_censored": head.n_censored,
                "n_in_range": _n_in_range(head),
            }
        )
    return out
