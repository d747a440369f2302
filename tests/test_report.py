"""The report: claims judged by their written rules, inputs recognised, bad input named."""

from __future__ import annotations

import json
from pathlib import Path

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


@pytest.mark.parametrize(
    ("verdicts", "status"),
    [
        ({("soft", "b"): "matches", ("soft", "c"): "smaller (bound loose)"}, REPRODUCED),
        ({("soft", "b"): "matches", ("soft", "c"): "not identified"}, PARTLY),
        ({("soft", "b"): "LARGER (bound violated)", ("soft", "c"): "matches"}, NOT_REPRODUCED),
        ({("soft", "b"): "not identified", ("soft", "c"): "not identified"}, NOT_REPRODUCED),
        ({("hard", "b"): "matches"}, NOT_MEASURED),
    ],
)
def test_bound_claim_reads_verdicts(verdicts, status) -> None:
    assert bound_claim(2, fits_table(verdicts), "soft", "").status == status


def test_bound_claim_judges_the_theorem_loss_only() -> None:
    fits = fits_table({("soft", "b"): "matches", ("soft", "c"): "LARGER (bound violated)"})
    fits["loss"] = ["theorem", "yardstick"]
    claim = bound_claim(2, fits, "soft", "")
    assert claim.status == REPRODUCED and len(claim.table) == 1
    fits["loss"] = ["yardstick", "theorem"]
    assert bound_claim(2, fits, "soft", "").status == NOT_REPRODUCED


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
    assert [c.status for c in report.claims][1:3] == [REPRODUCED, NOT_REPRODUCED]
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


def test_bound_claim_evidence_never_prints_nan() -> None:
    fits = fits_table({("soft", "b"): "not identified", ("soft", "c"): "not identified"})
    fits.loc[0, ["ci_low", "ci_high"]] = float("nan")
    fits.loc[1, ["estimate", "ci_low", "ci_high"]] = float("nan")
    evidence = bound_claim(2, fits, "soft", "").evidence
    assert "nan" not in evidence.lower()
    assert "b = 1.5 (no interval)" in evidence and "c = not estimable" in evidence
    assert (
        "1.5 [1, 2]" in bound_claim(2, fits_table({("soft", "b"): "matches"}), "soft", "").evidence
    )
