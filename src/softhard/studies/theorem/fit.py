"""m*_ref from loss-versus-width curves, and the fitted width law with seed-bootstrap intervals.

m*_ref(level, eps) is the smallest width whose mean loss (over seeds) at the reference point is at
most eps, interpolated linearly in (log m, log loss) between the two grid widths around the first
crossing; "below" when the smallest width already reaches eps (left-censored), "censored" when the
largest does not. Both kinds are left out of the fit and counted.

The law: log m*_ref = a + b log X + c log E, with X = beta and E = 1/eps for soft labels, X = 1/gamma
and E = ln(1/eps) for hard labels; the theory's exponents are (2, 1) and (4, 1). Intervals: 95%
percentiles over a bootstrap of the seeds (the same resampled seeds for every point). The
identification check refits on the even- and the odd-exponent halves of the width grid and on each
half of the seeds: an exponent is identified when every refit lies inside its interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["THEORY", "CurveSet", "fit_law", "min_widths"]

THEORY = {"soft": (2.0, 1.0), "hard": (4.0, 1.0)}
"""The bounds' exponents (b on X, c on E) per label mode (docs/theory.md section 4)."""


@dataclass(frozen=True)
class CurveSet:
    """The curves of one (family, mode): ``loss[p, w, s]`` for point p (a level and an eps),
    grid width w and seed s; ``x``, ``e`` the regressors of each point."""

    loss: np.ndarray
    widths: np.ndarray
    x: np.ndarray
    e: np.ndarray
    eps: np.ndarray


def min_widths(
    mean: np.ndarray, widths: np.ndarray, eps: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``(m*, status)`` for mean curves ``mean[p, w, ...]`` and targets ``eps[p]``.

    status: 0 ok, -1 below (the smallest width reaches eps), 1 censored (m* is NaN for both)."""
    e = eps.reshape((-1,) + (1,) * (mean.ndim - 1))
    below = mean <= e
    reached = below.any(axis=1)
    j = np.argmax(below, axis=1)
    logm = np.log(widths.astype(float))
    logl = np.log(np.maximum(mean, 1e-300))
    jm = np.maximum(j - 1, 0)
    l_hi = np.take_along_axis(logl, jm[:, None], 1)[:, 0]
    l_lo = np.take_along_axis(logl, j[:, None], 1)[:, 0]
    le = np.log(np.broadcast_to(e[:, 0], l_hi.shape))
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(l_hi > l_lo, (l_hi - le) / (l_hi - l_lo), 1.0)
    logstar = logm[jm] + np.clip(frac, 0.0, 1.0) * (logm[j] - logm[jm])
    status = np.where(~reached, 1, np.where(j == 0, -1, 0))
    mstar = np.where(status == 0, np.exp(logstar), np.nan)
    return mstar, status


def _ols(logm: np.ndarray, cols: list[np.ndarray]) -> np.ndarray:
    """Least squares coefficients of log m on [1, *cols] over finite points; NaN if too few."""
    ok = np.isfinite(logm)
    design = np.column_stack([np.ones(ok.sum())] + [c[ok] for c in cols])
    if ok.sum() <= design.shape[1] or np.linalg.matrix_rank(design) < design.shape[1]:
        return np.full(design.shape[1], np.nan)
    coef: np.ndarray = np.linalg.lstsq(design, logm[ok], rcond=None)[0]
    return coef


def _regressors(cs: CurveSet) -> tuple[list[np.ndarray], list[str]]:
    """The regressors that vary across the points (a constant one cannot be fitted)."""
    cols, names = [], []
    for name, v in (("b", cs.x), ("c", cs.e)):
        if np.ptp(np.log(v)) > 1e-9:
            cols.append(np.log(v))
            names.append(name)
    return cols, names


def _coef(cs: CurveSet, loss: np.ndarray, widths: np.ndarray) -> dict[str, float]:
    mstar, _ = min_widths(loss.mean(axis=2), widths, cs.eps)
    cols, names = _regressors(cs)
    coef = _ols(np.log(mstar), cols)
    return {n: float(c) for n, c in zip(names, coef[1:], strict=True)}


def fit_law(cs: CurveSet, *, n_boot: int = 1000, seed: int = 0) -> dict[str, object]:
    """The fitted exponents with intervals, counts and the identification check (one row)."""
    cols, names = _regressors(cs)
    _, status = min_widths(cs.loss.mean(axis=2), cs.widths, cs.eps)
    main = _coef(cs, cs.loss, cs.widths)
    rng = np.random.default_rng(seed)
    n_seeds = cs.loss.shape[2]
    idx = rng.integers(0, n_seeds, size=(n_boot, n_seeds))
    boots = np.full((n_boot, len(names)), np.nan)
    for b in range(n_boot):
        ms, _ = min_widths(cs.loss[:, :, idx[b]].mean(axis=2), cs.widths, cs.eps)
        boots[b] = _ols(np.log(ms), cols)[1:]
    exps = np.log2(cs.widths).round().astype(int)
    alts = [
        _coef(cs, cs.loss[:, exps % 2 == 0], cs.widths[exps % 2 == 0]),
        _coef(cs, cs.loss[:, exps % 2 == 1], cs.widths[exps % 2 == 1]),
        _coef(cs, cs.loss[:, :, : n_seeds // 2], cs.widths),
        _coef(cs, cs.loss[:, :, n_seeds // 2 :], cs.widths),
    ]
    row: dict[str, object] = {
        "points": int((status == 0).sum()),
        "below": int((status == -1).sum()),
        "censored": int((status == 1).sum()),
    }
    for name in ("b", "c"):
        if name not in names:
            row.update({name: math.nan, f"{name}_lo": math.nan, f"{name}_hi": math.nan})
            row[f"{name}_identified"] = False
            row[f"{name}_refits"] = ""
            continue
        col = boots[:, names.index(name)]
        finite = col[np.isfinite(col)]
        lo, hi = np.percentile(finite, [2.5, 97.5]) if len(finite) >= 10 else (math.nan,) * 2
        refits = [a.get(name, math.nan) for a in alts]
        ok = np.isfinite(main.get(name, math.nan)) and all(
            np.isfinite(r) and lo <= r <= hi for r in refits
        )
        row.update(
            {name: main.get(name, math.nan), f"{name}_lo": float(lo), f"{name}_hi": float(hi)}
        )
        row[f"{name}_identified"] = bool(ok)
        row[f"{name}_refits"] = " ".join(f"{r:.2f}" for r in refits)
    return row


def verdict(est: float, lo: float, hi: float, identified: bool, theory: float) -> str:
    """matches / differs (smaller or larger) / not identified, for one exponent."""
    if not (math.isfinite(est) and math.isfinite(lo) and identified):
        return "not identified"
    if lo <= theory <= hi:
        return "matches"
    return "differs (smaller)" if hi < theory else "differs (larger)"


def fits_table(sets: dict[tuple[str, str], CurveSet], *, n_boot: int, seed: int) -> pd.DataFrame:
    """One row per (family, mode): exponents, intervals, the check and the verdicts."""
    rows = []
    for (family, mode), cs in sets.items():
        row: dict[str, object] = {"family": family, "mode": mode}
        row.update(fit_law(cs, n_boot=n_boot, seed=seed))
        for name, theory in zip(("b", "c"), THEORY[mode], strict=True):
            row[f"{name}_theory"] = theory
            row[f"{name}_verdict"] = verdict(
                float(row[name]),  # type: ignore[arg-type]
                float(row[f"{name}_lo"]),  # type: ignore[arg-type]
                float(row[f"{name}_hi"]),  # type: ignore[arg-type]
                bool(row[f"{name}_identified"]),
                theory,
            )
        rows.append(row)
    table: pd.DataFrame = pd.DataFrame(rows)
    return table
