"""Data seeds are the unit of replication everywhere (softhard.replication): a run with 3 data
seeds x 2 student seeds, every summary checked against a hand computation from its results."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from softhard.cli._app import console
from softhard.cli.run import print_horizons_and_teachers
from softhard.config import ExperimentConfig, validate
from softhard.horizon import Horizon
from softhard.replication import paired_interval, unit_means, unit_summary
from softhard.report.claims import accuracy_gaps
from softhard.report.document import collect
from softhard.studies.regimes.compare import load_results, paired_compare
from softhard.studies.two_layer import _task_titles, run_experiment, summarize

TASKS = ["digits:0-1,student_max_train=40", "digits:3-8,student_max_train=40"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    cfg = validate(
        ExperimentConfig,
        {
            "name": "three_data_seeds",
            "tasks": TASKS,
            "widths": [2],
            "seeds": [0, 1],
            "data_seeds": [0, 1, 2],
            "teacher": {"width": 16, "epochs": 5},
            "train": {"epochs": 12},
            "margin": {"estimate": False},
        },
    )
    return run_experiment(cfg, out_dir=tmp_path_factory.mktemp("runs"), progress=False)


def _hand_units(results: pd.DataFrame, task: str) -> np.ndarray:
    """Soft - hard test accuracy per data seed, each the mean over its 2 student seeds."""
    sub = results[results["task"] == task]
    units = []
    for data_seed in (0, 1, 2):
        one = sub[sub["data_seed"] == data_seed]
        diffs = [
            one[(one["seed"] == s) & (one["label_mode"] == "soft")]["test_acc"].item()
            - one[(one["seed"] == s) & (one["label_mode"] == "hard")]["test_acc"].item()
            for s in (0, 1)
        ]
        units.append(sum(diffs) / 2)
    return np.array(units)


def _hand_t(units: np.ndarray) -> tuple[float, float]:
    half = stats.t.ppf(0.975, len(units) - 1) * units.std(ddof=1) / math.sqrt(len(units))
    return units.mean() - half, units.mean() + half


def test_unit_means_average_student_seeds_within_data_seeds():
    index = pd.MultiIndex.from_tuples([(0, 0), (0, 1), (1, 0), (1, 1)], names=["data_seed", "seed"])
    units, name = unit_means(pd.Series([0.1, 0.3, 0.5, 0.5], index=index))
    assert units.tolist() == pytest.approx([0.2, 0.5]) and name == "data seeds"
    one = pd.MultiIndex.from_tuples([(3, 0), (3, 1)], names=["data_seed", "seed"])
    units, name = unit_means(pd.Series([0.1, 0.3], index=one))
    assert units.tolist() == pytest.approx([0.1, 0.3]) and name == "student seeds (1 data seed)"


def test_compare_and_report_give_the_hand_interval(run):
    results, curves = load_results(run.path)
    paired = paired_compare(results, curves=curves, method="t")
    gaps = accuracy_gaps(run.results).set_index("level")
    for task in run.results["task"].unique():
        units = _hand_units(run.results, task)
        low, high = _hand_t(units) if np.ptp(units) > 0 else (math.nan, math.nan)
        row = paired[paired["task"] == task].iloc[0]
        assert row["n_seeds"] == 3 and row["unit"] == "data seeds"
        assert row["mean_diff"] == pytest.approx(units.mean())
        assert [row["ci_low"], row["ci_high"]] == pytest.approx([low, high], nan_ok=True)
        # claim 1 (one width): the same units, so the same interval as compare's cell
        gap = gaps.loc[task]
        assert gap["n_seeds"] == 3 and gap["gap"] == pytest.approx(units.mean())
        assert [gap["ci_low"], gap["ci_high"]] == pytest.approx([low, high], nan_ok=True)


def test_report_header_and_summary_count_units(run):
    report = collect(run.path)
    (section,) = report.sections
    assert "3 data seeds x 2 student seeds" in section.text
    summary = next(t for title, t in section.tables if "Mean, min and max" in title)
    assert (summary["n_units"] == 3).all() and len(summary) == 2 * 2  # tasks x modes
    task = TASKS[0].replace(",student_max_train=40", " student_n=40")
    soft = run.results[(run.results["task"] == task) & (run.results["label_mode"] == "soft")]
    per_data = soft.groupby("data_seed")["test_acc"].mean()
    row = summary[(summary["task"] == task) & (summary["label_mode"] == "soft")].iloc[0]
    assert row["test_acc_mean"] == pytest.approx(per_data.mean())
    assert (row["test_acc_min"], row["test_acc_max"]) == pytest.approx(
        (per_data.min(), per_data.max())
    )


def test_terminal_summary_has_one_row_per_task_and_width(run):
    summary = summarize(run.results)
    assert len(summary) == 2 and list(summary["task"]) == list(run.results["task"].unique())
    for task, row in summary.set_index("task").iterrows():
        hard = run.results[(run.results["task"] == task) & (run.results["label_mode"] == "hard")]
        assert row["test_acc_hard"] == pytest.approx(
            hard.groupby("data_seed")["test_acc"].mean().mean()
        )


def test_teacher_lines_name_their_data_seed(run):
    with console.capture() as captured:
        print_horizons_and_teachers(run)
    lines = [line for line in captured.get().splitlines() if "teacher test acc" in line]
    assert len(lines) == 6 and len(set(lines)) == 6  # one per (task, data seed), all distinct
    assert sum("(data seed 2)" in line for line in lines) == 2


def test_export_tb_writes_one_event_run_per_student(run, tmp_path):
    pytest.importorskip("tensorboard")
    from softhard.report.tensorboard import export_run_folder

    folders = export_run_folder(run.path, tmp_path / "tb")
    students = [f for f in folders if "role=student" in f.name]
    assert len(students) == len(run.results) == 2 * 3 * 2 * 2
    assert len(set(students)) == len(students)
    assert sum("data_seed=1" in f.name for f in students) == 2 * 2 * 2


def test_plot_title_gives_mean_gamma_and_its_range_over_data_seeds():
    gammas = [0.02, 0.05, 0.08]
    tasks = [
        SimpleNamespace(
            name="t", margin=SimpleNamespace(gamma=g, status="separable", separable=True)
        )
        for g in gammas
    ]
    horizon = Horizon(epochs=100, auto=False, converged=True)
    title = _task_titles(tasks, [horizon] * 3, {})["t"]  # type: ignore[arg-type]
    assert (
        "gamma = 0.0500, 0.0200..0.0800 over 3 data seeds" in title
        and "horizon 100 epochs" in title
    )


def test_unit_summary_and_interval_edge_cases():
    table = pd.DataFrame({"g": ["a"] * 4, "seed": [0, 1, 0, 1], "data_seed": [0, 0, 1, 1],
                          "m": [1.0, 3.0, 5.0, 7.0]})  # fmt: skip
    row = unit_summary(table, ["g"], ["m"]).iloc[0]
    assert (row["m"], row["m_min"], row["m_max"], row["n_units"]) == (4.0, 2.0, 6.0, 2)
    assert all(math.isnan(v) for v in paired_interval(np.array([0.2, 0.2, 0.2]), "t"))
