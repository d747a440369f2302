"""``softhard margin SPEC`` end to end on CPU."""

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from softhard.cli import app
from softhard.cli.margin import resolve_spec

runner = CliRunner()


def _invoke(*args):
    return runner.invoke(app, ["margin", *args], env={"COLUMNS": "200"})


def test_digits_spec_prints_gamma_hardest_and_neurons():
    result = _invoke("digits:3-8,mix=0.2", "--num-directions", "512", "--top", "3", "--eps", "0.05")
    assert result.exit_code == 0, result.output
    out = result.output
    for text in ("NTK margin gamma of digits:3-8 mix=0.2", "lower", "upper", "stderr"):
        assert text in out
    assert "3 hardest" in out and "weight q" in out
    assert "soft" in out and "hard" in out and "eps = 0.05" in out
    gamma = float(next(line for line in out.splitlines() if "│ gamma " in line).split("│")[2])
    assert 0.01 < gamma < 0.2


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 3))
    y = (x[:, 0] > 0).astype(np.int64)
    npz = tmp_path / "data.npz"
    np.savez(npz, X=x, y=y)
    csv = tmp_path / "data.csv"
    rows = ["a,b,c,target", *(f"{r[0]},{r[1]},{r[2]},{t}" for r, t in zip(x, y, strict=True))]
    csv.write_text("\n".join(rows) + "\n")
    return npz, csv


def test_npz_and_csv_files(files):
    npz, csv = files
    for args in ([str(npz)], [str(csv), "--label-column", "target"]):
        result = _invoke(*args, "--num-directions", "256")
        assert result.exit_code == 0, result.output
        assert "NTK margin gamma of" in result.output and "converged: True" in result.output


def test_resolve_spec():
    assert resolve_spec("data/x.npz").source == "file"
    assert resolve_spec("data/x.csv", "y").label_column == "y"
    cfg = resolve_spec("digits:3-8,mix=0.3")
    assert (cfg.source, cfg.task, cfg.mix) == ("digits", "3-8", 0.3)
    assert resolve_spec("file:d.csv", "lab").label_column == "lab"


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["nosuch:1-2"], "source"),
        (["missing.npz"], "does not exist"),
        (["digits:3-8", "--num-directions", "0"], "num_directions"),
        (["digits:3-8", "--max-seconds", "0"], "--max-seconds"),
    ],
)
def test_errors_are_one_paragraph_with_exit_code_2(args, match):
    result = _invoke(*args)
    assert result.exit_code == 2
    assert match in result.output
    assert "Traceback" not in result.output


def test_three_class_file_is_refused_not_cut(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "three.npz", X=rng.standard_normal((30, 3)), y=np.arange(30) % 3)
    result = _invoke(str(tmp_path / "three.npz"), "--num-directions", "64")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "3 classes (labels 0, 1, 2)" in result.output and "task=0-1" in result.output
    ok = _invoke(f"file:{tmp_path / 'three.npz'},task=0-2", "--num-directions", "64")
    assert ok.exit_code == 0, ok.output


def test_hardest_table_names_classes_and_fresh_note_says_what_to_do():
    result = _invoke("digits:3-8", "--num-directions", "16", "--top", "4")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    start = next(i for i, line in enumerate(lines) if "hardest training examples" in line)
    rows = [line.split("│") for line in lines[start:] if line.count("│") == 5][1:5]
    classes = {r[3].strip() for r in rows}
    assert classes and classes <= {"3", "8"}, rows  # digits, not 0/1
    text = " ".join(result.output.split())
    assert "does not carry over to fresh directions" in text
    assert "--num-directions 64" in text


def test_fresh_note_only_when_far_below():
    from dataclasses import replace

    from softhard.cli.margin import fresh_note
    from softhard.ntk import estimate_margin

    x = torch.eye(3, dtype=torch.float64)
    est = estimate_margin(x, torch.tensor([1.0, -1.0, 1.0]), num_directions=64)
    assert fresh_note(replace(est, fresh_lower=0.9 * est.lower)) is None
    assert fresh_note(replace(est, fresh_lower=float("nan"))) is None
    note = fresh_note(replace(est, fresh_lower=0.1 * est.lower))
    assert "K = 64" in note and "--num-directions 256" in note


def test_time_budget_ends_with_the_bracket_and_what_to_do():
    result = _invoke("digits:3-8,mix=0.2", "--num-directions", "256", "--max-seconds", "1e-9")
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "converged: False" in text and "not converged" in text
    assert "time budget (--max-seconds 1e-09) ran out after 1 iterations" in text
    assert "certified" in text and "valid as it stands" in text
    assert "--max-seconds 4e-09" in text and "--tol 0.01" in text


def test_not_converged_note_gives_the_bracket_or_only_the_upper_bound():
    from dataclasses import replace

    from softhard.cli.margin import not_converged_note
    from softhard.ntk import estimate_margin

    x = torch.eye(3, dtype=torch.float64)
    est = estimate_margin(x, torch.tensor([1.0, -1.0, 1.0]), num_directions=64)
    stalled = replace(est, converged=False, stopped_by="stalled", lower=0.25, upper=0.5)
    note = not_converged_note(stalled, 120.0)
    assert "stopped making progress" in note and "[0.25, 0.5]" in note and "5.00e-01" in note
    assert "More time will not help" in note and "--max-seconds" not in note
    none = not_converged_note(replace(stalled, lower=-0.1, stopped_by="max_newton_steps"), 60.0)
    assert "Newton steps" in none and "only an upper bound" in none and "<= 0.5" in none
    assert "max_newton_steps=" in none and "--tol 0.01" in none
