"""Fuzzing the CLI options of ``softhard compare`` and ``softhard report``: any option value ends
in exit status 0 or in one paragraph with exit status 2, never a traceback (issue 18 item 4;
``tests/test_fuzz.py`` fuzzes configs, data files and dataset specs)."""

from __future__ import annotations

import os
import string
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from _report_data import make_run_folder, results_table
from softhard.cli import app

runner = CliRunner()
FUZZ = settings(
    max_examples=int(os.environ.get("SOFTHARD_FUZZ_EXAMPLES", "12")),  # each draws a figure
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
_text = st.text(string.printable, max_size=12)
_epochs = st.one_of(
    _text,
    st.lists(st.one_of(st.integers(-5, 10**6).map(str), st.just("last"), _text), max_size=4).map(
        ",".join
    ),
)
_columns = st.sampled_from(["task", "width", "seed", "temperature", "lr", "label_mode", "zzz"])


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("fuzzcli")
    folder = make_run_folder(root, results_table().assign(epochs=50, data_seed=0))
    curves = results_table()[["task", "width", "seed", "label_mode", "test_acc"]].assign(epoch=10)
    curves.to_parquet(folder / "curves.parquet", index=False)
    return folder


def _clean(args: list[str]) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code in (0, 2), (args, result.output, result.exception)
    assert "Traceback" not in result.output
    if result.exit_code == 2:
        assert isinstance(result.exception, SystemExit) and "error" in result.output.lower()


@FUZZ
@given(
    epochs=_epochs,
    method=st.one_of(st.sampled_from(["t", "bootstrap"]), _text),
    x=st.one_of(st.none(), _columns, _text),
    y=st.one_of(st.none(), _columns, _text),
    sweep=st.one_of(st.none(), _text),
)
def test_random_compare_options(run_folder, epochs, method, x, y, sweep):
    with tempfile.TemporaryDirectory() as out:
        args = ["compare", str(run_folder), "--epochs", epochs, "--method", method, "-o", out]
        args += [*(["--x", x] if x is not None else []), *(["--y", y] if y is not None else [])]
        _clean([*args, *(["--sweep", sweep] if sweep is not None else [])])


@FUZZ
@given(
    name=st.sampled_from(["run", "missing", "file", "empty", "partial", "text"]),
    content=_text,
)
def test_random_report_paths_and_outputs(run_folder, name, content):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        paths = {
            "run": run_folder,
            "missing": root / "nope",
            "file": root / "manifest.json",
            "empty": root / "empty",
            "partial": root / "x.partial",
            "text": root / "bad",
        }
        paths["file"].write_text(content)
        paths["empty"].mkdir()
        paths["partial"].mkdir()
        paths["text"].mkdir()
        (paths["text"] / "manifest.json").write_text(content)
        (paths["text"] / "results.csv").write_text(content)
        out = root / "out" if content[:1] != "/" else paths["file"]  # an output that is a file
        _clean(["report", str(paths[name]), "--out", str(out)])


def test_report_out_that_is_a_file_is_a_clean_error(run_folder, tmp_path):
    # found by the fuzz test above: --out naming an existing file ended in FileExistsError (exit 1)
    target = tmp_path / "taken.txt"
    target.write_text("not a folder")
    result = runner.invoke(app, ["report", str(run_folder), "--out", str(target)])
    assert result.exit_code == 2, result.output
    assert "--out a folder" in result.output and "Traceback" not in result.output
    assert target.read_text() == "not a folder"
