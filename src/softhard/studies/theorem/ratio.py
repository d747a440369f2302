"""m*_hard / m*_soft of projected GD against gamma: paired targets and a seed-bootstrap slope.

The soft loss (KL to the kernel teacher) and the hard loss (logistic loss on the labels) have
different scales, so a hard/soft ratio needs a stated pairing. A :class:`Pair` names the soft
run's eps_s (its horizon T(eps_s)) and the hard run's eps_h (its radius and horizon), and the
target each curve must reach:

- ``absolute``: eps_s for the soft curve and eps_h for the hard one (the theorem's targets);
- ``relative`` delta: (1 + delta) x the curve's own loss at the widest grid width, for both labels
  (unit-free: the width at which the algorithm comes within delta of what a wide network reaches
  at the same radius and horizon; m* < the widest width by construction unless the curve rises).

m* per (level, label) is :func:`softhard.studies.theorem.fit.min_widths` on the seed-mean curve;
the slope of log(m*_hard / m*_soft) on log(1/gamma) over the levels where both exist comes with a
95% interval from a bootstrap over seeds (the same resampled seeds for every level and label, as
in the reference-point fits).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from softhard.studies.theorem.fit import min_widths

__all__ = ["Pair", "ratio_slope", "ratio_tables"]

_STATUS = {0: "ok", -1: "below", 1: "censored"}

Pivots = dict[tuple[str, float, str, float], tuple[np.ndarray, np.ndarray]]
"""(level, gamma, mode, eps) -> (grid widths, readout[width, seed position])."""


@dataclass(frozen=True)
class Pair:
    """One hard/soft pairing: the runs (soft eps_s, hard eps_h) and the target (delta None:
    absolute eps; else (1 + delta) x the widest width's loss)."""

    soft_eps: float
    hard_eps: float
    delta: float | None = None

    @property
    def label(self) -> str:
        what = "absolute" if self.delta is None else f"relative {self.delta:g}"
        return f"soft {self.soft_eps:g} / hard {self.hard_eps:g}, {what}"

    def eps_of(self, mode: str) -> float:
        return self.soft_eps if mode == "soft" else self.hard_eps


def pivots(runs: pd.DataFrame, readout: str = "avg_loss") -> Pivots:
    """Per (level, gamma, mode, eps): the widths and the width x seed array of ``readout``
    (seeds in sorted order, so a bootstrap draw of seed positions serves every key)."""
    out: Pivots = {}
    for (level, mode, eps), sub in runs.groupby(["level", "mode", "eps"], sort=False):
        key = (str(level), float(sub["gamma"].iloc[0]), str(mode), float(eps))  # type: ignore[arg-type]
        table = sub.pivot_table(index="width", columns="seed", values=readout).sort_index()
        out[key] = (table.index.to_numpy(), table[sorted(table.columns)].to_numpy(dtype=float))
    return out


def _mstar(
    pivot: tuple[np.ndarray, np.ndarray], seeds: np.ndarray, pair: Pair, mode: str
) -> tuple[float, int]:
    widths, values = pivot
    curve = values[:, seeds].mean(axis=1)
    target = pair.eps_of(mode) if pair.delta is None else (1 + pair.delta) * curve[-1]
    m, status = min_widths(curve[None, :], widths, np.array([target]))
    return float(m[0]), int(status[0])


def level_rows(pivs: Pivots, pair: Pair, seeds: np.ndarray) -> list[dict[str, object]]:
    """Per level with both runs: m*_soft, m*_hard, their status and the ratio (NaN unless both);
    ``seeds`` are positions in the sorted seeds (a bootstrap draw repeats some)."""
    levels = {(lv, g) for (lv, g, _, _) in pivs}
    rows = []
    for level, gamma in sorted(levels, key=lambda k: -k[1]):
        soft = pivs.get((level, gamma, "soft", pair.soft_eps))
        hard = pivs.get((level, gamma, "hard", pair.hard_eps))
        if soft is None or hard is None:
            continue
        ms, ss = _mstar(soft, seeds, pair, "soft")
        mh, sh = _mstar(hard, seeds, pair, "hard")
        rows.append({
            "pair": pair.label, "level": level, "gamma": gamma,
            "m_soft": ms, "soft_status": _STATUS[ss], "m_hard": mh, "hard_status": _STATUS[sh],
            "ratio": mh / ms if ss == 0 and sh == 0 else math.nan,
        })  # fmt: skip
    return rows


def ratio_slope(rows: list[dict[str, object]]) -> float:
    """Least-squares slope of log ratio on log(1/gamma); NaN with fewer than 2 distinct levels."""
    ok = [r for r in rows if np.isfinite(float(r["ratio"]))]  # type: ignore[arg-type]
    xs = np.array([math.log(1 / float(r["gamma"])) for r in ok])  # type: ignore[arg-type]
    ys = np.array([math.log(float(r["ratio"])) for r in ok])  # type: ignore[arg-type]
    if len(xs) < 2 or np.ptp(xs) == 0:
        return math.nan
    return float(np.polyfit(xs, ys, 1)[0])


def ratio_tables(
    runs: pd.DataFrame, pairs: list[Pair], *, readout: str = "avg_loss", n_boot: int = 500,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:  # fmt: skip
    """(per-level ratios, one slope row per pair with its 95% seed-bootstrap interval)."""
    pivs = pivots(runs, readout)
    seeds = np.arange(runs["seed"].nunique())  # positions in the sorted seeds
    rng = np.random.default_rng(seed)
    draws = [rng.choice(seeds, len(seeds)) for _ in range(n_boot)]
    per_level, slopes = [], []
    for pair in pairs:
        rows = level_rows(pivs, pair, seeds)
        per_level += rows
        boots = np.array([ratio_slope(level_rows(pivs, pair, d)) for d in draws])
        fin = boots[np.isfinite(boots)]
        lo, hi = np.percentile(fin, [2.5, 97.5]) if len(fin) >= 10 else (math.nan, math.nan)
        slopes.append({
            "pair": pair.label, "soft_eps": pair.soft_eps, "hard_eps": pair.hard_eps,
            "target": "absolute" if pair.delta is None else "relative",
            "delta": math.nan if pair.delta is None else pair.delta, "readout": readout,
            "slope": ratio_slope(rows), "slope_lo": float(lo), "slope_hi": float(hi),
            "levels": int(sum(np.isfinite(float(r["ratio"])) for r in rows)),  # type: ignore[arg-type]
            "boot_estimable": len(fin) / n_boot,
        })  # fmt: skip
    return pd.DataFrame(per_level), pd.DataFrame(slopes)
