"""The hard/soft width ratio of the theorem study: planted slopes, relative targets, pairings,
and the beta sweep sharing the digits family's teacher (docs/theorem.md section 3)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from softhard.studies.theorem.gd import GDSettings, gd_pairs
from softhard.studies.theorem.ratio import Pair, ratio_tables
from softhard.studies.theorem.spec import TheoremSpec

GAMMAS = [0.1, 0.05, 0.025, 0.0125]
WIDTHS = [2**k for k in range(2, 10)]


def _planted(slope: float, seeds: int = 6, noise: float = 0.1) -> pd.DataFrame:
    """Runs whose seed-mean curves reach eps = 0.1 at m* = 16 (soft) and
    16 (0.1/gamma)^slope (hard): loss = eps (m*/m)^(1/2) times per-seed noise."""
    rng = np.random.default_rng(0)
    rows = []
    for level, gamma in enumerate(GAMMAS):
        for mode, m_star in (("soft", 16.0), ("hard", 16.0 * (0.1 / gamma) ** slope)):
            for seed in range(seeds):
                jitter = math.exp(noise * rng.standard_normal())
                for m in WIDTHS:
                    loss = 0.1 * math.sqrt(m_star / m) * jitter
                    rows.append({"level": f"L{level}", "gamma": gamma, "mode": mode, "eps": 0.1,
                                 "width": m, "seed": seed, "avg_loss": loss})  # fmt: skip
    return pd.DataFrame(rows)


def test_planted_slope_is_recovered_and_excludes_zero() -> None:
    per_level, slopes = ratio_tables(_planted(1.0), [Pair(0.1, 0.1)], n_boot=200)
    row = slopes.iloc[0]
    assert row["levels"] == 4
    assert row["slope"] == pytest.approx(1.0, abs=0.15)
    assert 0 < row["slope_lo"] <= 1.0 <= row["slope_hi"]
    assert (per_level["soft_status"] == "ok").all() and (per_level["hard_status"] == "ok").all()


def test_flat_ratio_gives_an_interval_around_zero() -> None:
    _, slopes = ratio_tables(_planted(0.0), [Pair(0.1, 0.1)], n_boot=200)
    row = slopes.iloc[0]
    assert row["slope_lo"] < 0 < row["slope_hi"]
    assert abs(row["slope"]) < 0.2


def test_relative_target_matches_its_closed_form() -> None:
    """loss = 1 + c/m: within (1 + delta) of the widest width M at m* = c / (delta + (1+delta) c/M),
    up to the log-log interpolation between grid widths (a few percent)."""
    rows = []
    for mode, c in (("soft", 8.0), ("hard", 32.0)):
        for seed in (0, 1):
            for m in WIDTHS:
                rows.append({"level": "L", "gamma": 0.1, "mode": mode, "eps": 0.1, "width": m,
                             "seed": seed, "avg_loss": 1 + c / m})  # fmt: skip
    per_level, slopes = ratio_tables(pd.DataFrame(rows), [Pair(0.1, 0.1, 0.1)], n_boot=20)
    big = WIDTHS[-1]
    for mode, c in (("soft", 8.0), ("hard", 32.0)):
        closed = c / (0.1 + 1.1 * c / big)
        assert per_level[f"m_{mode}"].iloc[0] == pytest.approx(closed, rel=0.06)
    assert math.isnan(slopes["slope"].iloc[0])  # one level: no slope, and no pretence of one


def test_censored_level_is_marked_and_left_out() -> None:
    runs = _planted(1.0)
    hardest = (runs["gamma"] == GAMMAS[-1]) & (runs["mode"] == "hard")
    runs.loc[hardest, "avg_loss"] = 1.0  # never reaches eps
    per_level, slopes = ratio_tables(runs, [Pair(0.1, 0.1)], n_boot=50)
    row = per_level[per_level["gamma"] == GAMMAS[-1]].iloc[0]
    assert row["hard_status"] == "censored" and math.isnan(row["ratio"])
    assert slopes["levels"].iloc[0] == 3


def test_pairs_default_to_common_eps_with_each_delta() -> None:
    eps = {"soft": [0.1, 0.03, 0.003], "hard": [0.3, 0.1, 0.03]}
    pairs = gd_pairs(eps, GDSettings(relative=[0.2]))
    assert [(p.soft_eps, p.hard_eps, p.delta) for p in pairs] == [
        (0.1, 0.1, None), (0.03, 0.03, None), (0.1, 0.1, 0.2), (0.03, 0.03, 0.2)
    ]  # fmt: skip
    explicit = gd_pairs(eps, GDSettings(pairs=[(0.003, 0.3)], relative=[]))
    assert [p.label for p in explicit] == ["soft 0.003 / hard 0.3, absolute"]


def test_a_pair_outside_the_eps_grids_is_refused() -> None:
    data = {
        "families": [{"name": "o", "kind": "orthonormal", "sizes": [2, 4]}],
        "gd": {"pairs": [[0.1, 0.2]]},
    }
    with pytest.raises(ValueError, match=r"gd\.pairs: \(0\.1, 0\.2\) must pair"):
        TheoremSpec.model_validate(data)
    with pytest.raises(ValueError, match="relative"):
        TheoremSpec.model_validate({**data, "gd": {"relative": [0.0]}})


def test_beta_sweep_reuses_the_digits_teacher(monkeypatch: pytest.MonkeyPatch) -> None:
    """The beta family's task is a digits level: its teacher field (kappa, fresh margin, h) is
    computed once and the two families report the same numbers."""
    import softhard.studies.theorem.run as run_module
    from softhard.studies.theorem.teacher import teacher_field

    calls: list[int] = []

    def counting(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return teacher_field(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(run_module, "teacher_field", counting)
    spec = TheoremSpec.model_validate({
        "families": [
            {"name": "digits", "kind": "tasks", "levels": ["digits:3-8", "digits:0-1"]},
            {"name": "beta", "kind": "beta_sweep", "task": "digits:3-8", "betas": [2, 4],
             "modes": ["soft"]},
        ],
        "reference": {"min_log2_width": 3, "max_log2_width": 5, "seeds": [0, 1],
                      "teacher_directions": 2048},
        "margin": {"num_directions": 256}, "n_boot": 10,
    })  # fmt: skip
    result = run_module.run_theorem(spec, out_dir=None)
    assert len(calls) == 2  # two distinct data sets, three levels
    levels = result.levels.set_index(["family", "level"])
    same = levels.loc[("digits", "digits:3-8")], levels.loc[("beta", "digits:3-8")]
    for col in ("kappa", "kappa_max", "teacher_fresh_lower", "mc_error", "gamma"):
        assert same[0][col] == pytest.approx(same[1][col], rel=1e-12)


def test_claim_3c_reads_every_pairing() -> None:
    from softhard.report.bound_claims import practical

    def table(*intervals: tuple[float, float, float]) -> pd.DataFrame:
        return pd.DataFrame([
            {"pair": f"p{i}", "slope": s, "slope_lo": lo, "slope_hi": hi, "levels": 4}
            for i, (s, lo, hi) in enumerate(intervals)
        ])  # fmt: skip

    assert practical(table((1.0, 0.5, 1.5), (0.8, 0.1, 1.2)))[0] == "grows"
    verdict, text = practical(table((1.0, 0.5, 1.5), (-0.2, -0.5, 0.1)))
    assert verdict == "not shown" and "p1: slope -0.2 [-0.5, 0.1] (not shown, 4 levels)" in text
    assert practical(table((-1.0, -1.5, -0.5)))[0] == "shrinks"
    assert practical(table((math.nan, math.nan, math.nan)))[0] == "not measured"
