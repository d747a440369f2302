"""Claims 2 and 3 (the neuron bounds) as three statements each (issue 20; docs/theorem.md).

(a) the mechanism: the exponents of m*_ref at the proof's reference point (``softhard theorem``)
against the bound's; (b) the bound: whether projected GD at the bound's radius reaches eps with
no more than the bound's width; (c) the practical claim: whether m*_hard / m*_soft grows as
gamma falls. The plain-GD scaling study (``softhard scaling``) measures GD's own minimum widths
in practice: shown beside, never judged as the theorem.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from softhard.theory import hard_neurons, soft_neurons

__all__ = ["BOUND_RULE", "bound_statements"]

BOUND_RULE = (
    "Three statements, each with its numbers. (a) Mechanism: the fitted exponents of m*_ref, the "
    "smallest width whose loss at the proof's reference point U = W0 + s V-bar reaches eps "
    "(softhard theorem; family 'digits' judged, every family listed), against the bound's (soft: "
    "2 on beta = 1/gamma and 1 on 1/eps; hard: 4 on 1/gamma and 1 on ln 1/eps): matches (the "
    "theory inside the 95% seed-bootstrap interval and the identification check passed), differs, "
    "or not identified. (b) Bound: projected GD at the bound's radius, each (level, eps) whose "
    "epoch-averaged loss reaches eps at a measured width m*_gd, beside the bound's width "
    "1/(gamma^2 eps) or ln(1/eps)/gamma^4 (constant 1): holds if every m*_gd <= bound (loose by "
    "X = bound/m*_gd: geometric mean, [min, max] over points), violated if one exceeds it, not "
    "measured if no point reached eps. (c) Practical: the slope of log(m*_hard/m*_soft) on "
    "log(1/gamma) with its 95% seed-bootstrap interval, per hard/soft pairing (absolute: each "
    "label's own eps; relative: within a factor 1 + delta of the widest width's loss): grows "
    "(shrinks) if every estimable pairing's interval lies above (below) 0. Status: reproduced "
    "only when (a) matches both exponents and (b) holds; not reproduced when (a) differs or (b) is "
    "violated; partly otherwise. An exponent that is only smaller than the bound's is never "
    "reproduced."
)


def _est(row: pd.Series, name: str) -> str:
    est, lo, hi = (float(row[k]) for k in (name, f"{name}_lo", f"{name}_hi"))
    if not math.isfinite(est):
        return "not estimable"
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return f"{est:.3g} (no interval)"
    return f"{est:.3g} [{lo:.3g}, {hi:.3g}]"


def mechanism(fits: pd.DataFrame | None, mode: str) -> tuple[str, str]:
    """(verdict, text) of statement (a) from ``theorem_fits``."""
    rows = None if fits is None else fits[fits["mode"].astype(str) == mode]
    if rows is None or rows.empty:
        return "not measured", "(a) mechanism: no reference-point fits here"
    primary = rows[rows["family"].astype(str) == "digits"]
    primary = primary if len(primary) else rows.iloc[:1]
    verdicts = [str(primary[f"{n}_verdict"].iloc[0]) for n in ("b", "c")]
    if all(v == "matches" for v in verdicts):
        verdict = "matches"
    elif any(v.startswith("differs") for v in verdicts):
        verdict = "differs"
    else:
        verdict = "not identified"
    parts = [
        f"{r['family']}: b = {_est(r, 'b')} vs {r['b_theory']:g} ({r['b_verdict']}), "
        f"c = {_est(r, 'c')} vs {r['c_theory']:g} ({r['c_verdict']}); "
        f"{r['points']} points, {r['censored']} censored"
        for _, r in rows.iterrows()
    ]
    return verdict, f"(a) mechanism {verdict}: " + "; ".join(parts)


def bound_check(mins: pd.DataFrame | None, mode: str) -> tuple[str, str]:
    """(verdict, text) of statement (b) from ``theorem_gd_min_widths`` (epoch-average readout)."""
    if mins is None or mins.empty:
        return "not measured", "(b) bound: no projected-GD runs here"
    rows = mins[(mins["mode"].astype(str) == mode) & (mins["readout"] == "avg_loss")]
    ok = rows[rows["status"] == "ok"]
    if ok.empty:
        capped = int((rows["epochs"] > 0).sum())
        return "not measured", (
            f"(b) bound not measured: GD reached eps at no measured width in {capped} (level, "
            "eps) points (horizons capped; see theorem_gd_min_widths)"
        )
    bound_fn = soft_neurons if mode == "soft" else hard_neurons
    bounds = np.array(
        [bound_fn(float(g), float(e)) for g, e in zip(ok["gamma"], ok["eps"], strict=True)]
    )
    ratio = bounds / ok["m_star"].to_numpy(dtype=float)
    verdict = "holds" if (ratio >= 1).all() else "violated"
    geo = float(np.exp(np.log(ratio).mean()))
    return verdict, (
        f"(b) bound {verdict} at {len(ok)} of {len(rows)} (level, eps) points: loose by "
        f"X = {geo:.3g} [{ratio.min():.3g}, {ratio.max():.3g}]"
    )


def practical(ratio: pd.DataFrame | None) -> tuple[str, str]:
    """(verdict, text) of statement (c) from ``theorem_gd_ratio``: one slope per hard/soft
    pairing (``pair``); 'grows' (or 'shrinks') only when every estimable pairing's interval lies
    above (below) 0, 'not shown' otherwise, 'not measured' when no pairing is estimable."""
    if ratio is None or ratio.empty or not np.isfinite(ratio["slope"]).any():
        return "not measured", "(c) practical: m*_hard/m*_soft not measured at two levels"
    parts, words = [], []
    for _, r in ratio.iterrows():
        label = str(r["pair"]) if "pair" in r else f"eps {r['eps']:g}"
        if not np.isfinite(float(r["slope"])):
            parts.append(f"{label}: not estimable")
            continue
        lo, hi = float(r["slope_lo"]), float(r["slope_hi"])
        word = "grows" if lo > 0 else "shrinks" if hi < 0 else "not shown"
        words.append(word)
        levels = f", {int(r['levels'])} levels" if "levels" in r else ""
        parts.append(f"{label}: slope {r['slope']:.3g} [{lo:.3g}, {hi:.3g}] ({word}{levels})")
    verdict = words[0] if len(set(words)) == 1 and words[0] != "not shown" else "not shown"
    return verdict, "(c) m*_hard/m*_soft against log(1/gamma): " + "; ".join(parts)


def bound_statements(
    mode: str,
    fits: pd.DataFrame | None,
    gd: dict[str, pd.DataFrame] | None,
) -> tuple[str, str]:
    """(status word, evidence) for claim 2 (``soft``) or 3 (``hard``): 'reproduced',
    'not reproduced', 'partly' or 'not measured'."""
    gd = gd or {}
    a, a_text = mechanism(fits, mode)
    b, b_text = bound_check(gd.get("theorem_gd_min_widths"), mode)
    _, c_text = practical(gd.get("theorem_gd_ratio"))
    if a == "not measured" and b == "not measured":
        status = "not measured"
    elif a == "matches" and b == "holds":
        status = "reproduced"
    elif a == "differs" or b == "violated":
        status = "not reproduced"
    else:
        status = "partly"
    return status, "; ".join((a_text, b_text, c_text))
