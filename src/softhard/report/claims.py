"""The paper's four claims, each judged from measured tables by a written rule (docs/theory.md section 6).

Nothing here is hard-coded to an outcome: every status is computed from the tables a run folder,
sweep store or reproduce folder holds, by the rules below (also printed in every report).

Claim 1 (two-layer students) and claim 4 (deep students) use :func:`accuracy_gaps`: for each
difficulty level, the soft-minus-hard test accuracy, paired by data seed and student seed (and by
every other setting), averaged over widths per pair and over student seeds per data seed, then a 95%
t-interval over data seeds (over student seeds where there is one data seed): the units of
:mod:`softhard.replication`, as ``softhard compare`` uses them. Claims 2 and 3 are three statements
each (:mod:`softhard.report.bound_claims`): the mechanism at the proof's reference point, the bound
against projected GD and the practical ratio, from the theorem study's tables; the plain-GD scaling
study's exponents (``fits.csv``) are shown beside them as GD's own minimum widths, not judged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from softhard.replication import PAIR_KEYS, paired_interval, unit_means, with_data_seed
from softhard.report.bound_claims import BOUND_RULE, bound_statements

REPRODUCED, NOT_REPRODUCED, PARTLY, NOT_MEASURED = (
    "reproduced",
    "not reproduced",
    "partly",
    "not measured in this folder",
)

STATEMENTS = {
    1: "Soft labels beat hard labels on test accuracy, and the gap grows with the difficulty of the task.",
    2: "With soft labels, O(1/(gamma^2 eps)) neurons suffice for average loss eps.",
    3: "With hard labels, O(ln(1/eps)/gamma^4) neurons suffice for average loss eps.",
    4: "Deep students (CNNs) behave alike: soft beats hard, more so on harder tasks.",
}

GAP_RULE = (
    "Per difficulty level: soft minus hard test accuracy, paired by data seed, student seed and "
    "setting, averaged over widths per pair and over student seeds per data seed, 95% t-interval "
    "over data seeds (over student seeds if there is one data seed; no interval if they all agree). A level is a *win* if the interval lies above 0, a "
    "*loss* if below. *Grows*: the per-seed gap at the hardest level minus the gap at the easiest "
    "has a 95% interval above 0. Reproduced: a win at the hardest level, grows, and no loss at any "
    "level. Not reproduced: no win at any level and no growth (or a loss at the hardest level). "
    "Partly: anything in between. Needs two or more levels, both label modes and two or more seeds."
)
PLAIN_GD = "plain GD (softhard scaling: GD's own minimum widths, not the theorem's)"


@dataclass(frozen=True)
class Claim:
    """One claim with its status, the evidence behind it and the rule that gave the status."""

    number: int
    statement: str
    status: str
    evidence: str
    rule: str
    source: str = ""
    table: pd.DataFrame | None = field(default=None, compare=False)


def _interval(values: np.ndarray) -> tuple[float, float, float]:
    """Mean and 95% t-interval of ``values`` (:func:`softhard.replication.paired_interval`, the
    interval ``softhard compare`` uses: NaN for fewer than two values or zero variance)."""
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return math.nan, math.nan, math.nan
    low, high = paired_interval(values, "t")
    return float(values.mean()), low, high


def _per_seed_gap(table: pd.DataFrame, level: str) -> pd.Series:
    """Soft minus hard test accuracy per unit of replication at one level: paired on data seed,
    student seed and setting, averaged over widths and settings per pair, then over the student
    seeds within each data seed (:func:`softhard.replication.unit_means`, as ``softhard
    compare`` does)."""
    # a tuned student's lr is its chosen rate (an outcome, different per arm), not a setting
    tuned = "steps" in table.columns and bool((table["steps"] == "tuned").any())
    settings = [
        c
        for c in ("width", "temperature", "lr", "epochs", "optimizer", "noise", "mix", "flip")
        if c in table.columns and not (c == "lr" and tuned)
    ]
    keys = [*PAIR_KEYS, *settings]
    sub = with_data_seed(table[table["_level"] == level])
    wide = sub.pivot_table(index=keys, columns="label_mode", values="test_acc", aggfunc="mean")
    if "soft" not in wide or "hard" not in wide:
        return pd.Series(dtype=float)
    diff = (wide["soft"] - wide["hard"]).dropna()
    if diff.empty:
        return pd.Series(dtype=float)
    per_unit, _ = unit_means(diff.groupby(level=list(PAIR_KEYS)).mean())
    return per_unit


def accuracy_gaps(table: pd.DataFrame, difficulty: str = "gamma") -> pd.DataFrame:
    """One row per difficulty level, easiest first: gap (soft - hard test acc) with its interval.

    ``difficulty``: ``gamma`` (smaller is harder; levels with no gamma keep the table's order,
    taken as easiest first) or ``noise`` (larger is harder). Columns: ``level``, the difficulty
    column, ``n_seeds, gap, ci_low, ci_high, verdict`` (``win``, ``loss`` or ``tie``).
    """
    frame = table[table["label_mode"].isin(["soft", "hard"])].copy()
    frame["_level"] = frame["task"].astype(str)
    order = list(dict.fromkeys(frame["_level"]))
    rows = []
    for rank, level in enumerate(order):
        sub = frame[frame["_level"] == level]
        value = float(sub[difficulty].mean()) if difficulty in sub else math.nan
        gaps = _per_seed_gap(frame, level)
        mean, low, high = _interval(gaps.to_numpy(dtype=float))
        verdict = "win" if low > 0 else "loss" if high < 0 else "tie"
        rows.append(
            {
                "level": level,
                "difficulty": value,
                "_rank": rank,
                "n_seeds": len(gaps),
                "gap": mean,
                "ci_low": low,
                "ci_high": high,
                "verdict": verdict,
            }
        )
    out: pd.DataFrame = pd.DataFrame(rows)
    if out.empty:
        return out
    if difficulty == "gamma" and out["difficulty"].notna().all():
        out = out.sort_values("difficulty", ascending=False, kind="stable")
    elif difficulty == "noise":
        out = out.sort_values("difficulty", ascending=True, kind="stable")
    out.attrs["per_seed"] = {lvl: _per_seed_gap(frame, lvl) for lvl in out["level"]}
    table_out: pd.DataFrame = (
        out.drop(columns="_rank").rename(columns={"difficulty": difficulty}).reset_index(drop=True)
    )
    return table_out


def gap_claim(number: int, table: pd.DataFrame | None, difficulty: str, source: str) -> Claim:
    """Claim 1 or 4 from a tidy results table (one row per student), by :data:`GAP_RULE`."""
    statement = STATEMENTS[number]
    if table is None or table.empty or not {"soft", "hard"} <= set(table["label_mode"]):
        return Claim(number, statement, NOT_MEASURED, "no soft and hard students here", GAP_RULE)
    gaps = accuracy_gaps(table, difficulty)
    if len(gaps) < 2 or (gaps["n_seeds"] < 2).any():
        return Claim(
            number, statement, NOT_MEASURED,
            f"{len(gaps)} difficulty level(s), seeds per level {list(gaps['n_seeds'])}: too few",
            GAP_RULE, source, gaps,
        )  # fmt: skip
    per_seed = gaps.attrs["per_seed"]
    easy, hard = gaps["level"].iloc[0], gaps["level"].iloc[-1]
    growth = (per_seed[hard] - per_seed[easy]).dropna()
    g_mean, g_low, g_high = _interval(growth.to_numpy(dtype=float))
    grows = g_low > 0
    win_hardest = gaps["verdict"].iloc[-1] == "win"
    any_win = (gaps["verdict"] == "win").any()
    any_loss = (gaps["verdict"] == "loss").any()
    if win_hardest and grows and not any_loss:
        status = REPRODUCED
    elif (not any_win and not grows) or gaps["verdict"].iloc[-1] == "loss":
        status = NOT_REPRODUCED
    else:
        status = PARTLY
    lines = [
        f"{r.level}: gap {r.gap:+.4f} [{r.ci_low:+.4f}, {r.ci_high:+.4f}] ({r.verdict})"
        for r in gaps.itertuples()
    ]
    lines.append(
        f"hardest minus easiest: {g_mean:+.4f} [{g_low:+.4f}, {g_high:+.4f}] "
        f"({'grows' if grows else 'growth not shown'})"
    )
    lines.append(_steps_note(table))
    return Claim(number, statement, status, "; ".join(lines), GAP_RULE, source, gaps)


def _steps_note(table: pd.DataFrame) -> str:
    """How the arms' learning rates were set: tuned on validation data, or fixed (the
    comparison is then at one rate per arm, which issue 19 found can decide the answer)."""
    if "steps" in table.columns and (table["steps"] == "tuned").all():
        return "steps: each arm's learning rate and stopping epoch chosen on validation data"
    return (
        "steps: fixed learning rates, not tuned per arm (a fixed-rate comparison is not a verdict)"
    )


def bound_claim(
    number: int,
    mode: str,
    *,
    theorem: pd.DataFrame | None = None,
    theorem_gd: dict[str, pd.DataFrame] | None = None,
    fits: pd.DataFrame | None = None,
    source: str = "",
) -> Claim:
    """Claim 2 (``mode='soft'``) or 3 (``'hard'``) by :data:`BOUND_RULE`; the scaling study's
    ``fits`` (plain GD) are appended to the evidence, not judged."""
    statement = STATEMENTS[number]
    word, evidence = bound_statements(mode, theorem, theorem_gd)
    status = {"not measured": NOT_MEASURED, "partly": PARTLY}.get(word, word)
    rows = None if fits is None else fits[fits["mode"].astype(str) == mode]
    if rows is not None and "loss" in rows and (rows["loss"] == "theorem").any():
        rows = rows[rows["loss"] == "theorem"]
    if rows is not None and not rows.empty:
        evidence += f"; {PLAIN_GD}: " + ", ".join(
            f"{r.view} {r.term} = {_estimate_text(r.estimate, r.ci_low, r.ci_high)}"
            for r in rows.itertuples()
        )
    return Claim(number, statement, status, evidence, BOUND_RULE, source, theorem)


def _estimate_text(estimate: object, low: object, high: object) -> str:
    """``"1.02 [0.8, 1.3]"``; ``"not estimable"`` without an estimate, and the estimate alone
    (``"no interval"``) when the bootstrap gave no interval (e.g. too few points)."""
    est, lo, hi = _finite(estimate), _finite(low), _finite(high)
    if est is None:
        return "not estimable"
    if lo is None or hi is None:
        return f"{est:.3g} (no interval)"
    return f"{est:.3g} [{lo:.3g}, {hi:.3g}]"


def _finite(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def evaluate_claims(
    two_layer: pd.DataFrame | None = None,
    fits: pd.DataFrame | None = None,
    deep: pd.DataFrame | None = None,
    sources: dict[str, str] | None = None,
    theorem: pd.DataFrame | None = None,
    theorem_gd: dict[str, pd.DataFrame] | None = None,
) -> list[Claim]:
    """The four claims, in order, from whatever evidence is present (None: not measured)."""
    src = sources or {}
    where = src.get("theorem", src.get("fits", ""))
    bound = {"theorem": theorem, "theorem_gd": theorem_gd, "fits": fits, "source": where}
    return [
        gap_claim(1, two_layer, "gamma", src.get("two_layer", "")),
        bound_claim(2, "soft", **bound),  # type: ignore[arg-type]
        bound_claim(3, "hard", **bound),  # type: ignore[arg-type]
        gap_claim(4, deep, "noise", src.get("deep", "")),
    ]
