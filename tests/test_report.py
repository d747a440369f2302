"""The report: claims judged by their written rules, inputs recognised, bad input named."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from _report_data import (
    fits_table,
    make_run_folder,
    make_scaling_folder,
    results_table,
)
from softhard.cli import app
from softhard.errors import DataError
from softhard.report.claims import (
    NOT_MEASURED,
    NOT_REPRODUCED,
    PARTLY,
    REPRODUCED,
    accuracy_gaps,
    bound_claim,
    evaluate_claims,
    gap_claim,
)
from softhard.report.document import PLAN_FILE, STAGE_MARKER, collect
from softhard.report.html import write_report
from softhard.sweep.executor_config import ExecutorConfig


@pytest.mark.parametrize(
    ("gaps", "status"),
    [
        ((0.0, 0.03, 0.08), REPRODUCED),  # wins at the hardest level, grows
        ((0.05, 0.05, 0.05), PARTLY),  # wins everywhere, no growth
        ((0.0, 0.0, 0.0), NOT_REPRODUCED),  # no win, no growth
        ((0.0, -0.03, -0.08), NOT_REPRODUCED),  # hard beats soft
    ],
)
def test_gap_claim_follows_the_rule(gaps, status) -> None:
    claim = gap_claim(1, results_table(gaps=gaps), "gamma", "here")
    assert claim.status == status, claim.evidence


def test_levels_are_ordered_by_gamma_hardest_last() -> None:
    table = results_table(gaps=(0.08, 0.03, 0.0), gammas=(0.01, 0.1, 0.3))
    gaps = accuracy_gaps(table, "gamma")
    assert list(gaps["level"]) == ["level2", "level1", "level0"]
    assert gaps["gap"].iloc[-1] == pytest.approx(0.08, abs=0.01)
    assert gap_claim(1, table, "gamma", "").status == REPRODUCED


def test_gap_claim_needs_two_levels_and_seeds() -> None:
    one_level = results_table(gaps=(0.1,), gammas=(0.1,))
    assert gap_claim(1, one_level, "gamma", "").status == NOT_MEASURED
    one_seed = results_table(seeds=1)
    assert gap_claim(1, one_seed, "gamma", "").status == NOT_MEASURED
    assert gap_claim(1, None, "gamma", "").status == NOT_MEASURED


def theorem_fits(b: str, c: str, mode: str = "soft") -> pd.DataFrame:
    """theorem_fits rows for one mode: the family 'digits' with the given verdicts."""
    est = {"matches": 2.0, "differs (smaller)": 0.5, "not identified": float("nan")}
    row = {"family": "digits", "mode": mode, "points": 8, "below": 0, "censored": 2,
           "b": est[b], "b_lo": 1.5, "b_hi": 2.5, "b_theory": 2.0, "b_verdict": b,
           "c": est[c], "c_lo": 0.8, "c_hi": 1.2, "c_theory": 1.0, "c_verdict": c}  # fmt: skip
    return pd.DataFrame([row])


def gd_mins(m_star: float, status: str = "ok") -> dict[str, pd.DataFrame]:
    row = {"family": "digits", "level": "l", "mode": "soft", "eps": 0.1, "gamma": 0.1,
           "readout": "avg_loss", "m_star": m_star, "status": status, "at_radius": 0.5,
           "epochs": 100}  # fmt: skip
    return {"theorem_gd_min_widths": pd.DataFrame([row])}


@pytest.mark.parametrize(
    ("b", "c", "m_star", "status"),
    [
        ("matches", "matches", 50.0, REPRODUCED),  # bound 1/(0.01 * 0.1) = 1000 >= 50
        ("matches", "matches", 5000.0, NOT_REPRODUCED),  # GD needs more than the bound
        ("differs (smaller)", "matches", 50.0, NOT_REPRODUCED),  # smaller is never reproduced
        ("matches", "not identified", 50.0, PARTLY),
        ("matches", "matches", float("nan"), PARTLY),  # bound not measured
    ],
)
def test_bound_claim_three_statements(b: str, c: str, m_star: float, status: str) -> None:
    gd = gd_mins(m_star, "ok" if m_star == m_star else "censored")
    claim = bound_claim(2, "soft", theorem=theorem_fits(b, c), theorem_gd=gd)
    assert claim.status == status, claim.evidence
    assert "(a) mechanism" in claim.evidence and "(b) bound" in claim.evidence
    assert "(c)" in claim.evidence and "nan" not in claim.evidence.lower()


def test_bound_claim_shows_plain_gd_without_judging_it() -> None:
    fits = fits_table({("soft", "b"): "matches", ("soft", "c"): "matches"})
    claim = bound_claim(2, "soft", fits=fits)
    assert claim.status == NOT_MEASURED
    assert "plain GD" in claim.evidence and "1.5 [1, 2]" in claim.evidence
    assert bound_claim(3, "hard", fits=fits).status == NOT_MEASURED


def test_deep_claim_uses_noise_as_difficulty() -> None:
    table = results_table(gaps=(0.0, 0.03, 0.08), gammas=(1.0, 1.0, 1.0), noise_key=True)
    claims = evaluate_claims(deep=table.drop(columns="gamma"))
    assert [c.status for c in claims] == [NOT_MEASURED, NOT_MEASURED, NOT_MEASURED, REPRODUCED]


def test_report_of_a_run_folder(tmp_path: Path) -> None:
    folder = make_run_folder(tmp_path)
    html_path, md_path, report = write_report(folder, tmp_path / "out")
    text = html_path.read_text()
    assert text.count('<tr class="claim"') == 4
    assert (
        "data:image/png;base64," in text and "http" not in text.split("<body>")[1].split("<pre>")[0]
    )
    assert "abc123" in text  # the manifest's git revision
    assert "softhard run" in text and "config.yaml" in text  # the rerun command
    assert next(c.status for c in report.claims) == REPRODUCED
    md = md_path.read_text()
    assert "| 1 |" in md and "**reproduced**" in md and "soft_vs_hard.png" in md


def test_report_reads_scaling_fits(tmp_path: Path) -> None:
    fits = fits_table({("soft", "b"): "matches", ("hard", "b"): "LARGER (bound violated)"})
    report = collect(make_scaling_folder(tmp_path, fits))
    # plain GD's own minimum widths are shown, never judged as the theorem (issue 20)
    assert [c.status for c in report.claims][1:3] == [NOT_MEASURED, NOT_MEASURED]
    assert "plain GD" in report.claims[1].evidence
    assert report.rerun == "softhard scaling scaling_digits"


def test_report_of_a_reproduce_folder(tmp_path: Path) -> None:
    stage = tmp_path / "01-motivating"
    run = make_run_folder(stage)
    (tmp_path / PLAN_FILE).write_text(
        json.dumps({"stages": ["01-motivating", "02-deep"], "command": "softhard reproduce"})
    )
    (stage / STAGE_MARKER).write_text(json.dumps({"run": run.name}))
    with pytest.raises(DataError, match="02-deep"):
        collect(tmp_path)
    deep = tmp_path / "02-deep"
    run = make_run_folder(deep, kind="deep")
    (deep / STAGE_MARKER).write_text(json.dumps({"run": run.name}))
    report = collect(tmp_path)
    assert [c.status for c in report.claims] == [REPRODUCED, NOT_MEASURED, NOT_MEASURED, REPRODUCED]
    assert report.rerun == "softhard reproduce"


def test_bad_inputs_name_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        collect(tmp_path / "nope")
    with pytest.raises(DataError, match="manifest.json is missing"):
        collect(tmp_path)
    partial = tmp_path / "run.partial"
    partial.mkdir()
    with pytest.raises(DataError, match="half-written"):
        collect(partial)
    folder = make_run_folder(tmp_path / "x")
    for name in ("results.csv", "results.parquet"):
        (folder / name).unlink()
    with pytest.raises(DataError, match="no results"):
        collect(folder)


def test_cli_report_and_its_error(tmp_path: Path) -> None:
    folder = make_run_folder(tmp_path)
    result = CliRunner().invoke(app, ["report", str(folder)])
    assert result.exit_code == 0, result.output
    assert (folder / "report.html").is_file() and "reproduced" in result.output
    bad = CliRunner().invoke(app, ["report", str(tmp_path / "missing")])
    assert bad.exit_code == 2 and "does not exist" in bad.output


def test_report_of_a_sweep_store(tmp_path: Path) -> None:
    from softhard.sweep import load_sweep_spec, run_sweep

    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "kind: sweep\nname: small\nbase: {tasks: [digits:0-1, digits:3-8], widths: [2],"
        " seeds: [0, 1], train: {epochs: 4}, teacher: {width: 16, epochs: 5}, margin: {estimate: false}}\n"
        "grid: {temperature: [1.0]}\n"
    )
    store = tmp_path / "store"
    run_sweep(
        load_sweep_spec(spec), store_dir=store, executor=ExecutorConfig(workers=1), progress=False
    )
    html_path, md_path, report = write_report(store / "softhard.sqlite")
    assert html_path.parent == store and (store / "sweep-small.png").is_file()
    assert report.kind == "sweep store"
    assert report.claims[0].status != NOT_MEASURED  # two levels, two seeds, soft and hard
    assert "sweep-small.png" in md_path.read_text()
