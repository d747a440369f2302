"""Paired soft-vs-hard comparison (softhard.studies.regimes.compare) and the knobs it needs."""

import json
import math

import numpy as np
import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

import softhard
from softhard import ConfigError, DataConfig, ExperimentConfig, paired_compare
from softhard.cli import app
from softhard.config import MarginConfig, TrainConfig, validate
from softhard.data import load_dataset, student_subset
from softhard.engine import BankEntry, train_bank
from softhard.student import Student
from softhard.studies.regimes import run as regimes_run
from softhard.studies.regimes.compare import load_results, paired_interval
from softhard.studies.regimes.run import compare_runs
from softhard.studies.two_layer import prepare_task, run_experiment
from softhard.sweep import SweepSpec, run_sweep
from softhard.sweep.executor_config import ExecutorConfig
from softhard.sweep.spec import expand

runner = CliRunner()


def _table(diffs: dict[tuple[int, int], float], **extra: object) -> pd.DataFrame:
    """Result rows: hard at 0.5, soft at 0.5 + diff, per (data seed, student seed)."""
    rows = []
    for (data_seed, seed), d in diffs.items():
        for mode, acc in (("soft", 0.5 + d), ("hard", 0.5)):
            rows.append(
                {
                    "task": "t",
                    "width": 4,
                    "seed": seed,
                    "data_seed": data_seed,
                    "label_mode": mode,
                    "test_acc": acc,
                    "epochs": 10,
                    "lr": 1.0,
                    "temperature": 1.0,
                    **extra,
                }
            )
    return pd.DataFrame(rows)


# data seed means 0.1, 0.2, 0.3 (student seeds 0.0/0.2, 0.2/0.2, 0.4/0.2)
_HAND = {(0, 0): 0.0, (0, 1): 0.2, (1, 0): 0.2, (1, 1): 0.2, (2, 0): 0.4, (2, 1): 0.2}


def test_t_interval_matches_hand_computation():
    out = paired_compare(_table(_HAND), method="t")
    row = out.iloc[0]
    # mean 0.2, sd 0.1, t_{0.975, 2} = 4.302653: half-width 4.302653 * 0.1 / sqrt(3)
    half = 4.302653 * 0.1 / math.sqrt(3)
    assert row["mean_diff"] == pytest.approx(0.2)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((0.2 - half, 0.2 + half), abs=1e-6)
    assert row["n_seeds"] == 3 and row["n_pairs"] == 6 and row["unit"] == "data seeds"
    assert not row["significant"] and row["sign"] == "0" and row["method"] == "t"
    assert row["steps"] == "matched"


def test_bootstrap_interval_matches_hand_computation():
    # two units 0.1 and 0.3: resample means 0.1 (1/4), 0.2 (1/2), 0.3 (1/4) -> [0.1, 0.3]
    out = paired_compare(_table({(0, 0): 0.1, (1, 0): 0.3}), method="bootstrap")
    row = out.iloc[0]
    assert row["mean_diff"] == pytest.approx(0.2)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((0.1, 0.3))
    assert row["significant"] and row["sign"] == "+"
    assert all(math.isnan(v) for v in paired_interval(np.array([0.1]), "t"))


@pytest.mark.parametrize("method", ["t", "bootstrap"])
def test_zero_variance_over_data_seeds_is_not_significant(method):
    # every data seed's pair differs by exactly +0.05: the t statistic is undefined and a
    # bootstrap is a single point, so no interval is claimed (main marked this cell "+")
    assert all(math.isnan(v) for v in paired_interval(np.array([0.05] * 5), method))
    out = paired_compare(_table({(0, 0): 0.05, (1, 0): 0.05, (2, 0): 0.05}), method=method)
    row = out.iloc[0]
    assert row["mean_diff"] == pytest.approx(0.05) and row["n_seeds"] == 3
    assert not row["significant"] and row["sign"] == "0"


def test_one_data_seed_uses_student_seeds_and_says_so():
    out = paired_compare(_table({(0, 0): 0.1, (0, 1): 0.3, (0, 2): 0.2}), method="t")
    assert out["unit"].iloc[0] == "student seeds (1 data seed)" and out["n_seeds"].iloc[0] == 3


def test_step_ratio_reports_unmatched_lrs():
    table = _table(_HAND)
    table.loc[table["label_mode"] == "soft", "lr"] = 0.25
    row = paired_compare(table, method="t").iloc[0]
    assert row["step_ratio"] == pytest.approx(0.25) and row["steps"] == "soft x0.25"


@pytest.mark.parametrize(("method", "units"), [("t", 8), ("bootstrap", 30)])
def test_null_effect_is_rarely_significant(method, units):
    """Under a null (no planted effect) about 5% of cells come out significant, not more.

    The percentile bootstrap is liberal with few units (24 of these 200 null cells at 8 data
    seeds), hence the t interval is the default; at 30 units it is calibrated."""
    rng = np.random.default_rng(2024)
    hits = 0
    for _ in range(200):
        per_data_seed = rng.normal(0, 0.02, size=(units, 2)).mean(axis=1)
        low, high = paired_interval(per_data_seed, method, n_boot=2000, seed=_)
        hits += bool(low > 0 or high < 0)
    assert hits <= 20  # 200 x 5% = 10 expected


def _planted(flip_hard: float, *, null: bool = False) -> pd.DataFrame:
    """Real students on digits 0-1; soft targets from the true labels; the hard arm's labels
    flipped at rate ``flip_hard`` by construction (fresh flips per data seed). ``null``: the
    "soft" arm trains on the hard arm's targets, so nothing but the name differs."""
    rows = []
    for data_seed in range(8):
        ds = load_dataset(DataConfig.parse(f"digits:0-1,seed={data_seed},max_train=120"))
        x, x_test = ds.flat()
        y = ds.y_train_pm
        gen = torch.Generator().manual_seed(data_seed)
        flipped = torch.where(torch.rand(len(y), generator=gen) < flip_hard, -y, y)
        students = [
            BankEntry.of(Student(8, s, m), flipped if m == "hard" else y, 4.0 * y)
            for s in range(2)
            for m in ("soft", "hard")
        ]
        if null:
            students = [
                BankEntry(Student(8, s.seed, "hard"), students[1].targets) for s in students
            ]
        cfg = TrainConfig(epochs=60)
        res = train_bank(x, students, cfg, x_test=x_test, y_test_pm=ds.y_test_pm)
        for i, (spec, r) in enumerate(zip(students, res, strict=True)):
            mode = ("soft", "hard")[i % 2]
            rows.append(
                {"task": "digits:0-1", "width": 8, "seed": spec.seed, "data_seed": data_seed}
                | {"label_mode": mode, "test_acc": r.final["test_acc"], "epochs": 60}
            )
    return pd.DataFrame(rows)


def test_planted_effect_is_detected_and_null_is_not():
    planted = paired_compare(_planted(0.45), method="t").iloc[0]
    assert planted["significant"] and planted["sign"] == "+" and planted["mean_diff"] > 0.1
    assert planted["n_seeds"] == 8 and planted["n_pairs"] == 16
    null = paired_compare(_planted(0.45, null=True), method="bootstrap").iloc[0]
    assert null["mean_diff"] == 0.0 and not null["significant"] and null["sign"] == "0"


def test_student_subsets_are_nested_and_seeded():
    y = load_dataset(DataConfig.parse("digits:3-8")).y_train.numpy()
    base = DataConfig.parse("digits:3-8,seed=3")
    small = student_subset(base.model_copy(update={"student_max_train": 20}), y)
    large = student_subset(base.model_copy(update={"student_max_train": 80}), y)
    assert len(small) == 20 and len(large) == 80 and set(small) <= set(large)
    again = student_subset(base.model_copy(update={"student_max_train": 80}), y)
    other = student_subset(base.model_copy(update={"student_max_train": 80, "seed": 4}), y)
    assert (again == large).all() and set(other) != set(large)
    assert abs(y[large].mean() - y.mean()) < 0.05  # class proportions kept
    assert len(student_subset(base, y)) == len(y)


def test_teacher_trains_on_the_full_split_and_never_on_test(monkeypatch, tmp_path):
    import softhard.teachers.two_layer as teacher_mod

    seen = []
    real = teacher_mod.train_bank  # teachers train as one-student banks

    def spy(x, students, cfg, **kwargs):
        seen.append((x.clone(), kwargs))
        return real(x, students, cfg, **kwargs)

    monkeypatch.setattr(teacher_mod, "train_bank", spy)
    cfg = DataConfig.parse("digits:3-8,student_max_train=30,seed=1")
    tcfg = softhard.config.TeacherConfig(width=16, epochs=3)
    task = prepare_task(cfg, tcfg, margin=MarginConfig(estimate=False), cache=tmp_path)
    (x_teacher, kwargs) = seen[0]
    full_x, full_test = task.dataset.flat()
    assert x_teacher.shape[0] == task.dataset.n_train == task.n_train_teacher
    assert kwargs.get("x_test") is None and kwargs.get("y_test_pm") is None
    assert torch.equal(x_teacher, full_x)  # exactly the training split, in order
    same = (x_teacher[:, None, :] == full_test[None, :, :]).all(-1)
    assert not same.any()  # no test example among the teacher's inputs
    in_teacher = (task.x[:, None, :] == x_teacher[None, :, :]).all(-1).any(1)
    assert task.x.shape[0] == 30 and in_teacher.all()
    keep = torch.from_numpy(student_subset(cfg, task.dataset.y_train.numpy()))
    assert torch.equal(task.y_pm, task.dataset.y_train_pm[keep])


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"tasks": [{"student_max_train": 1}]}, "student_max_train"),
        ({"tasks": [{"max_train": 50, "student_max_train": 60}]}, "student_max_train"),
        ({"train": {"lr_by_mode": {"soft": -1.0}}}, "lr_by_mode.soft"),
        ({"train": {"lr_by_mode": {"teacher": 1.0}}}, "lr_by_mode"),
        ({"train": {"match_steps": True, "lr_by_mode": {"soft": 0.5}}}, "match_steps"),
        ({"data_seeds": []}, "data_seeds"),
    ],
)
def test_bad_knob_values_give_one_paragraph(data, field):
    with pytest.raises(ConfigError) as err:
        validate(ExperimentConfig, data)
    assert field in str(err.value) and "\n" not in str(err.value)


def test_knobs_are_sweepable_and_lrs_resolve():
    spec = SweepSpec(
        name="knobs",
        base={"widths": [2], "seeds": [0], "data_seeds": [0, 1], "train": {"epochs": 2}},
        grid={
            "tasks.0.student_max_train": [None, 40],
            "train.lr_by_mode.soft": [0.5, 1.0],
            "teacher.epochs": [5, 10],
        },
    )
    runs = expand(spec)
    assert len(runs) == 2 * 2 * 2 * 2 * 2  # grid x data seeds x modes
    assert {r.config.tasks[0].seed for r in runs} == {0, 1}
    assert all(r.config.data_seeds is None for r in runs)
    cfg = TrainConfig(lr=0.5, match_steps=True, t2_scaling=False)
    assert cfg.student_lr("soft", 2.0) == pytest.approx(2.0) and cfg.student_lr("hard", 2.0) == 0.5
    assert TrainConfig(lr=0.5, match_steps=True).student_lr("soft", 4.0) == 0.5
    assert TrainConfig(lr_by_mode={"soft": 0.1}).student_lr("soft", 1.0) == 0.1


def _tiny_config(**update: object) -> ExperimentConfig:
    data = {
        "name": "tiny",
        "tasks": ["digits:3-8,student_max_train=40"],
        "widths": [2],
        "seeds": [0, 1],
        "data_seeds": [0, 1, 2],
        "teacher": {"width": 16, "epochs": 5},
        "train": {"epochs": 12},
        "margin": {"estimate": False},
        **update,
    }
    return validate(ExperimentConfig, data)


def test_compare_cli_end_to_end(tmp_path):
    run = run_experiment(_tiny_config(), out_dir=tmp_path / "runs", progress=False)
    table = run.results
    assert sorted(set(table["data_seed"])) == [0, 1, 2] and (table["n_train"] == 40).all()
    assert set(table["task"]) == {"digits:3-8 student_n=40"}  # no data seed in the name
    args = ["compare", str(run.path), "--epochs", "5,last", "--method", "t"]
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "cmp")])
    assert result.exit_code == 0, result.output
    (folder,) = (tmp_path / "cmp").iterdir()
    assert not folder.name.endswith(".partial")
    paired = pd.read_csv(folder / "paired.csv")
    assert list(paired["epoch"]) == [5, 12] and (paired["n_seeds"] == 3).all()
    for col in ("mean_diff", "ci_low", "ci_high", "n_pairs", "method", "significant", "sign"):
        assert col in paired.columns
    assert (folder / "paired_heatmap.png").stat().st_size > 0
    # the same numbers from the Python API, with the curves
    results, curves = load_results(run.path)
    api = paired_compare(results, curves=curves, epochs=[5, "last"], method="t")
    assert api["mean_diff"].to_numpy() == pytest.approx(paired["mean_diff"].to_numpy())
    bad = runner.invoke(app, ["compare", str(run.path), "--epochs", "fifty"])
    assert bad.exit_code == 2 and "--epochs" in bad.output
    _same_as_the_driver(run.path, folder, tmp_path)


def _same_as_the_driver(source, cli_folder, tmp_path):
    """``softhard compare`` writes what the regime map's one driver, compare_runs, writes."""
    _, folder = compare_runs(
        source, tmp_path / "api", "compare-api", method="t", epochs=[5, "last"]
    )
    for table in ("paired.csv", "config.yaml"):
        assert (folder / table).read_text() == (cli_folder / table).read_text()
    api, cli = (json.loads((f / "manifest.json").read_text()) for f in (folder, cli_folder))
    assert list(api) == list(cli)  # the same keys in the same order
    for key in ("constant_settings", "pairing", "intervals", "heatmap_axes", "cells", "epochs"):
        assert api[key] == cli[key]
    assert cli["constant_settings"]["student_max_train"] == 40
    assert cli["heatmap_axes"] == ["width", "task"]


def test_regimes_stage_uses_the_driver(tmp_path, monkeypatch):
    """Reproduce's regimes stage compares through compare_runs (no second assembly)."""
    calls = []

    def fake_compare(source, out, name, **kw):
        calls.append((name, kw))
        return pd.DataFrame(), out / name

    monkeypatch.setattr(regimes_run, "run_sweep", lambda *a, **k: None)
    monkeypatch.setattr(regimes_run, "compare_runs", fake_compare)
    path = regimes_run.regimes_stage(tmp_path, quick=True, progress=False)
    ((name, kw),) = calls
    assert path == tmp_path / name and kw["sweep"] == "regimes_digits" and kw["kind"] == "regimes"


def test_compare_reads_a_sweep_store(tmp_path):
    spec = SweepSpec(
        name="tiny_regimes",
        base=_tiny_config(data_seeds=[0, 1]).model_dump(mode="json", exclude={"name"}),
        grid={"temperature": [1.0, 2.0]},
    )
    done = run_sweep(
        spec, store_dir=tmp_path / "store", executor=ExecutorConfig(workers=1), progress=False
    )
    assert done.counts["done"] == 16
    results, curves = load_results(tmp_path / "store", "tiny_regimes")
    out = paired_compare(results, curves=curves, epochs=[4, "last"], method="t")
    assert set(out["temperature"]) == {1.0, 2.0} and (out["n_seeds"] == 2).all()
    args = ["compare", str(tmp_path / "store"), "--sweep", "tiny_regimes", "--x", "temperature"]
    result = runner.invoke(app, [*args, "--epochs", "last", "--out", str(tmp_path / "cmp")])
    assert result.exit_code == 0, result.output


def test_shipped_regime_sweep_has_levels_and_data_seeds():
    from softhard.config import shipped_configs
    from softhard.sweep import load_sweep_spec

    runs = expand(load_sweep_spec(shipped_configs()["regimes_digits"]))
    levels = {(r.config.tasks[0].mix, r.config.tasks[0].flip) for r in runs}
    cells: dict[tuple, set[int]] = {}
    for r in runs:
        c = r.config
        key = (c.tasks[0].display, c.widths[0], c.temperature)
        cells.setdefault(key, set()).add(c.tasks[0].seed)
    assert len(levels) >= 3 and min(len(s) for s in cells.values()) >= 8
    # each knob on its own against the clean pair, at the smallest widths too, arms tuned
    tasks = {r.config.tasks[0].model_copy(update={"seed": 0}) for r in runs}
    turned = [
        sum(bool(getattr(t, k)) for k in ("flip", "mix", "noise", "student_max_train"))
        for t in tasks
    ]
    assert max(turned) == 1 and turned.count(0) == 1
    assert {t.flip for t in tasks} >= {0.1, 0.2, 0.3}
    assert {r.config.widths[0] for r in runs} == {1, 2, 4, 32}
    assert all(r.config.tune is not None and len(r.config.tune.lrs) >= 4 for r in runs)


def test_shipped_regime_configs_train_teachers_to_the_stopping_rule():
    from softhard.config import ExperimentConfig, load_config, shipped_configs
    from softhard.sweep import load_sweep_spec

    runs = expand(load_sweep_spec(shipped_configs()["regimes_digits"]))
    soft_wins = load_config(shipped_configs()["soft_wins"])
    assert isinstance(soft_wins, ExperimentConfig)
    for teacher in [r.config.teacher for r in runs] + [soft_wins.teacher]:
        assert teacher.kind == "network" and teacher.stop.rule == "val_acc"
        assert teacher.width == 512 and [c.width for c in teacher.candidates] == [None, 1024]
