"""The scaling study: the fit, censoring, identification, spec errors, and a tiny CLI run."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

import softhard
from softhard.cli import app
from softhard.config import shipped_configs
from softhard.errors import ConfigError
from softhard.studies.min_width import resampled_min_widths
from softhard.studies.scaling import run as scaling_run
from softhard.studies.scaling import search as S
from softhard.studies.scaling.fit import (
    LARGER,
    MATCHES,
    NOT_IDENTIFIED,
    SMALLER,
    design,
    fit_scaling,
    identify,
    verdict_for,
)
from softhard.studies.scaling.report import exponents_text
from softhard.studies.scaling.run import _eps_grid, _reach, run_scaling
from softhard.studies.scaling.search import in_range, range_counts
from softhard.studies.scaling.spec import ScalingSpec, load_scaling_spec
from softhard.studies.scaling.tables import FITS_COLUMNS
from softhard.sweep.executor_config import ExecutorConfig
from softhard.sweep.store import RunStore

GAMMAS = np.array([0.2, 0.1, 0.05, 0.025])
EPS = np.array([0.2, 0.1, 0.05, 0.02])


def _synthetic(mode, b, c, rng, *, seeds=20, noise=0.3, cap=np.inf):
    """A power-law table: per point, per-seed log m* = a + b log(1/g) + c x(eps) + noise; m* is
    the geometric mean over seeds, bootstrap draws resample seeds (paired across points)."""
    g, e = (a.ravel() for a in np.meshgrid(GAMMAS, EPS))
    truth = design(g, e, mode) @ np.array([0.5, b, c])
    per_seed = truth[:, None] + noise * rng.standard_normal((len(g), seeds))
    m = np.exp(per_seed.mean(axis=1))
    idx = rng.integers(0, seeds, size=(100, seeds))
    draws = np.exp(np.stack([per_seed[:, r].mean(axis=1) for r in idx]))
    censored = m > cap
    draws = np.where(draws > cap, np.inf, draws)
    table = pd.DataFrame(
        {"gamma": g, "eps": e, "m_star": np.where(censored, np.nan, m), "censored": censored}
    )
    return table, draws


@pytest.mark.parametrize(("mode", "b", "c"), [("soft", 2.0, 1.0), ("hard", 4.0, 1.0)])
def test_fit_recovers_exponents_and_intervals_cover(mode, b, c):
    rng = np.random.default_rng(0)
    covered = {"b": 0, "c": 0}
    reps = 100
    for _ in range(reps):
        table, draws = _synthetic(mode, b, c, rng)
        fit = fit_scaling(table, mode=mode, draws=draws)
        assert fit.identified and fit.n_censored == 0 and fit.n_used == len(table)
        for term, true in (("b", b), ("c", c)):
            covered[term] += fit.ci_low[term] <= true <= fit.ci_high[term]
    for term in ("b", "c"):
        assert 0.85 <= covered[term] / reps <= 1.0, covered
    table, draws = _synthetic(mode, b, c, np.random.default_rng(1), noise=0.01)
    fit = fit_scaling(table, mode=mode, draws=draws)
    assert fit.estimate["b"] == pytest.approx(b, abs=0.05)
    assert fit.estimate["c"] == pytest.approx(c, abs=0.05)
    assert fit.verdict["b"] == verdict_for(fit.ci_low["b"], fit.ci_high["b"], b)


def test_censored_points_are_listed_and_kept_out():
    rng = np.random.default_rng(3)
    table, draws = _synthetic("soft", 2.0, 1.0, rng, noise=0.05, cap=2000.0)
    n_cens = int(table["censored"].sum())
    assert 0 < n_cens < len(table) - 4
    fit = fit_scaling(table, mode="soft", draws=draws)
    assert fit.n_censored == n_cens and fit.n_used == len(table) - n_cens
    assert fit.censored["m_star"].isna().all()  # never a value
    assert set(fit.censored["gamma"] * 1000 + fit.censored["eps"]).isdisjoint(
        set(fit.used["gamma"] * 1000 + fit.used["eps"])
    )
    assert fit.estimate["b"] == pytest.approx(2.0, abs=0.3)  # no bias from a cap-valued point


def test_underdetermined_fit_is_not_identified():
    one_gamma = pd.DataFrame(
        {
            "gamma": [0.1] * 4,
            "eps": [0.2, 0.1, 0.05, 0.02],
            "m_star": [4, 8, 16, 40],
            "censored": [False] * 4,
        }
    )
    fit = fit_scaling(one_gamma, mode="soft", draws=np.ones((10, 4)) * 8)
    assert not fit.identified and fit.verdict == {"b": NOT_IDENTIFIED, "c": NOT_IDENTIFIED}
    assert math.isnan(fit.estimate["b"])
    all_censored = one_gamma.assign(censored=True, gamma=[0.1, 0.2, 0.1, 0.2])
    fit = fit_scaling(all_censored, mode="hard")
    assert fit.n_used == 0 and fit.n_censored == 4 and not fit.identified


def test_verdicts_from_interval():
    assert verdict_for(1.5, 2.5, 2.0) == MATCHES
    assert verdict_for(0.5, 1.5, 2.0) == SMALLER
    assert verdict_for(4.5, 6.0, 4.0) == LARGER
    assert verdict_for(math.nan, 1.0, 2.0) == NOT_IDENTIFIED


def test_identification_fails_when_exponent_depends_on_horizon():
    """Two horizons whose tables follow b = 1 and b = 3: each fit is tight, the choice decides."""
    rng = np.random.default_rng(5)
    fits = [_fit(_synthetic("soft", b, 1.0, rng, noise=0.05)) for b in (1.0, 3.0)]
    for f in fits:
        assert f.ci_high["b"] - f.ci_low["b"] < 0.5
    ident = identify(fits, "b")
    assert not ident.identified and ident.verdict == NOT_IDENTIFIED
    assert ident.ci_low <= 1.0 + 0.2 and ident.ci_high >= 3.0 - 0.2  # covers the spread
    same = [_fit(_synthetic("soft", 2.0, 1.0, np.random.default_rng(7), noise=0.05))] * 2
    assert identify(same, "b").identified and identify(same, "b").verdict == MATCHES


def _fit(pair):
    table, draws = pair
    return fit_scaling(table, mode="soft", draws=draws)


def test_resampled_min_widths_paired_and_censored():
    values = {2: np.array([0.5, 0.5, 0.5]), 4: np.array([0.1, 0.25, 0.2]), 8: np.array([0.1] * 3)}
    res = np.array([[0, 1, 2], [0, 0, 0], [1, 1, 1]])
    assert list(resampled_min_widths(values, 0.2, res)) == [4.0, 4.0, 8.0]
    assert list(resampled_min_widths(values, 0.05, res)) == [np.inf] * 3


# --- spec and end to end ---------------------------------------------------------------

TINY = {
    "kind": "scaling",
    "name": "tiny",
    "levels": [
        "synthetic,n_samples=40,dim=4,separation=0.3",
        "synthetic,n_samples=40,dim=4,separation=0.1",
        "synthetic,n_samples=40,dim=4,separation=0.03",
    ],
    "seeds": [0, 1],
    "eps": {"soft": [0.3, 0.1], "hard": [0.5, 0.3], "yardstick": [0.5, 0.3]},
    "min_width": 2,
    "max_width": 8,
    "theorem": {"constants": {"soft": [4, 8], "hard": [8, 16], "yardstick": [8, 16]}},
    "capacity": {"epochs": 30},
    "quantiles": [0.3, 0.7],
    "n_boot": 20,
    "quick": {"max_width": 4},
    "base": {"teacher": {"kind": "kernel"}, "margin": {"num_directions": 32}},
}


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"eps": {"soft": [], "hard": [0.3], "yardstick": [0.3]}}, ["eps.soft", "empty"]),
        ({"eps": {"soft": [0.1, -0.1], "hard": [0.3], "yardstick": [0.3]}}, ["eps.soft", "(0, 1)"]),
        ({"eps": {"soft": [0.0], "hard": [0.3], "yardstick": [0.3]}}, ["(0, 1)"]),
        ({"levels": ["digits:3-8"]}, ["levels", "at least 2"]),
        ({"eps": {"soft": [0.1]}}, ["eps needs a grid", "hard"]),
        ({"base": {"train": {"epochs": 10}}}, ["train.epochs", "study sets"]),
        ({"max_width": 2**15}, ["max_width"]),
    ],
)
def test_bad_spec_is_a_clear_error(tmp_path, change, words):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({**TINY, **change}))
    with pytest.raises(ConfigError) as err:
        load_scaling_spec(path)
    for word in words:
        assert word in str(err.value)


def test_level_without_gamma_is_an_error_and_writes_nothing(tmp_path):
    data = {**TINY, "levels": ["digits:3-8,mix=0.5,max_train=60", *TINY["levels"][:1]]}
    spec = ScalingSpec.model_validate(data)
    with pytest.raises(ConfigError, match="levels.0.*gamma cannot be estimated"):
        run_scaling(spec, out_dir=tmp_path / "out", store_dir=tmp_path / "store", progress=False)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_quick_delta_and_shipped_configs_validate():
    spec = ScalingSpec.model_validate(TINY)
    assert spec.resolved(quick=True).max_width == 4 and spec.resolved(quick=False).max_width == 8
    assert spec.run_epochs() == max(30, math.ceil(8 / 0.1), math.ceil(16 / 0.3))
    assert spec.grid() == [2, 3, 4, 5, 6, 7, 8]
    for name in ("scaling_digits", "scaling_synthetic", "scaling_kernel"):
        for quick in (False, True):
            shipped = load_scaling_spec(shipped_configs()[name], quick=quick)
            assert len(shipped.levels) >= 5 and len(shipped.seeds) >= 5
            assert all(len(v) >= 4 for v in shipped.eps.values())


def test_tiny_cli_run(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY))
    args = [
        "scaling",
        str(path),
        "--quick",
        "--out",
        str(tmp_path / "out"),
        "--store",
        str(tmp_path / "store"),
        "--quiet",
        "--set",
        "n_boot=30",
        "--workers",
        "1",
    ]
    result = CliRunner().invoke(app, args, terminal_width=80)
    assert result.exit_code == 0, result.output
    assert "theorem view" in result.output and "capacity view" in result.output
    table = result.output.split("minimum widths")[0]  # the exponents tables fit 80 columns
    assert max(len(line) for line in table.splitlines()) <= 80
    folder = next((tmp_path / "out").iterdir())
    fits = pd.read_csv(folder / "fits.csv")
    assert list(fits.columns) == [
        "view",
        "loss",
        "mode",
        "term",
        "estimate",
        "ci_low",
        "ci_high",
        "theory",
        "verdict",
        "n_used",
        "n_censored",
        "n_in_range",
    ]
    assert "minimum widths in [4, 1] (cap/4)" in result.output  # the quick cap is 4
    widths = pd.read_csv(folder / "min_widths.csv")
    for col in (
        "level",
        "gamma",
        "mode",
        "view",
        "loss",
        "eps_rule",
        "eps",
        "horizon",
        "m_star",
        "ci_low",
        "ci_high",
        "censored",
        "n_seeds",
        "in_range",
    ):
        assert col in widths.columns
    assert not widths["in_range"].any()  # cap 4: [4, cap/4] is empty
    assert widths["m_star"].dropna().between(2, 4).all()  # the quick cap is 4
    assert widths.loc[widths["censored"], "m_star"].isna().all()
    assert set(fits["verdict"]) <= {MATCHES, SMALLER, LARGER, NOT_IDENTIFIED}
    for name in ("m_vs_gamma.png", "m_vs_eps.png", "config.yaml", "manifest.json"):
        assert (folder / name).is_file()
    theorem = widths[(widths["view"] == "theorem") & (widths["eps_rule"] == "fixed")]
    assert (theorem["horizon"] == np.ceil(theorem["constant"] / theorem["eps"] - 1e-9)).all()
    assert set(widths["constant"].dropna()) <= {4, 8, 16}
    again = CliRunner().invoke(app, [*args[:3], "--out", str(tmp_path / "out2"), *args[5:]])
    assert again.exit_code == 0 and "0 trained now" in again.output  # the store is reused


def test_public_api():
    assert softhard.fit_scaling is fit_scaling
    assert Path(softhard.run_scaling.__code__.co_filename).parent.name == "scaling"


def test_old_store_gains_curve_columns(tmp_path):
    import sqlite3

    from softhard.sweep.store import STORE_FILE, RunStore

    db = sqlite3.connect(tmp_path / STORE_FILE)
    db.execute(
        "CREATE TABLE curves (run_id TEXT NOT NULL, epoch INTEGER NOT NULL, loss REAL,"
        " avg_loss REAL, train_acc REAL, test_acc REAL, kl REAL, PRIMARY KEY (run_id, epoch))"
    )
    db.execute("INSERT INTO curves VALUES ('r', 0, 0.5, 0.5, 1, 1, 0)")
    db.commit()
    db.close()
    with RunStore(tmp_path) as store:
        assert store.curves_by_id(["r"], "loss") == {"r": [0.5]}
        assert math.isnan(store.curves_by_id(["r"], "yard_loss")["r"][0])  # added, empty


def _pair(curves: dict[int, np.ndarray]) -> S.PairCurves:
    """PairCurves of one loss (theorem and yardstick alike) from per-width (seeds, epochs)."""
    return S.PairCurves({w: {"loss": c, "yard_loss": c} for w, c in curves.items()})


def test_reach_is_the_fixed_point_at_each_eps_own_horizon():
    t_run, k = 400, 10.0
    t = np.arange(t_run)
    # per-epoch loss floor + 2/(t+1): the epoch average is floor + 2 H_T / T, above eps at short T
    narrow = np.tile(0.2 + 2.0 / (t + 1), (2, 1))
    wide = np.tile(0.05 + 2.0 / (t + 1), (2, 1))
    data = _pair({2: narrow, 8: wide})
    for width, curve in ((2, narrow[0]), (8, wide[0])):
        eps = _reach(data, width, "theorem", k, t_run)
        avg = np.cumsum(curve) / np.arange(1, t_run + 1)
        assert avg[S.horizon_for(k, eps) - 1] <= eps  # reached at its own horizon
        smaller = eps * 0.98
        assert S.horizon_for(k, smaller) > t_run or avg[S.horizon_for(k, smaller) - 1] > smaller
    lo, hi = _reach(data, 8, "theorem", k, t_run), _reach(data, 2, "theorem", k, t_run)
    assert k / t_run <= lo < hi
    assert math.isnan(_reach(data, 5, "theorem", k, t_run))  # a width not run
    flat = _pair({2: np.full((2, t_run), 2.0), 8: np.full((2, t_run), 2.0)})
    assert math.isnan(_reach(flat, 8, "theorem", k, t_run))  # no eps < 1 is reached

    spec = ScalingSpec.model_validate({**TINY, "min_width": 2, "max_width": 8})
    geo = _eps_grid(spec, "soft", "theorem", "quantile", "theorem", k, data, t_run)
    lin = _eps_grid(spec, "soft", "theorem", "linear", "theorem", k, data, t_run)
    assert geo == pytest.approx([lo**q * hi ** (1 - q) for q in (0.3, 0.7)])
    assert lin == pytest.approx([(1 - q) * hi + q * lo for q in (0.3, 0.7)])
    assert all(lo < e < hi for e in geo + lin)
    assert _eps_grid(spec, "soft", "theorem", "quantile", "theorem", k, flat, t_run) == []


def test_range_counts_say_how_many_points_speak_to_a_slope():
    m = [2.0, 3.0, 4.0, 128.0, 129.0, math.nan, 50.0]
    table = pd.DataFrame(
        {
            "view": ["theorem"] * 6 + ["capacity"],
            "mode": ["soft"] * 7,
            "m_star": m,
            "censored": [math.isnan(x) for x in m],
            "cap": [512] * 7,
        }
    )
    counts = range_counts(table).set_index("view")
    assert counts.loc["theorem", ["total", "in_range", "below", "above", "censored"]].tolist() == [
        6,
        2,
        2,
        1,
        1,
    ]
    assert counts.loc["capacity", "in_range"] == 1
    assert [in_range(x, 512) for x in m] == [False, False, True, True, False, False, True]


def test_a_fit_that_is_not_estimable_prints_dashes():
    fits = pd.DataFrame(
        [
            ["theorem", "theorem", "soft", "b", math.nan, math.nan, math.nan, 2.0, "x", 8, 0],
            ["theorem", "theorem", "soft", "c", 0.5, 0.1, 0.9, 1.0, MATCHES, 8, 0],
        ],
        columns=[c for c in FITS_COLUMNS if c != "n_in_range"],
    )
    (b, c) = exponents_text(fits.assign(verdict=[NOT_IDENTIFIED, MATCHES]))
    assert b[1:3] == ("-", "-") and b[4] == NOT_IDENTIFIED
    assert c[1:3] == ("0.50", "[0.10, 0.90]")
    at_floor = pd.DataFrame(
        {"gamma": GAMMAS, "eps": EPS, "m_star": 2.0, "censored": False, "cap": 512}
    )
    fit = fit_scaling(at_floor, mode="soft", draws=np.full((20, 4), 2.0))
    assert not fit.identified and math.isnan(fit.estimate["b"])  # not "0.00 [nan, nan]"
    assert fit.verdict == {"b": NOT_IDENTIFIED, "c": NOT_IDENTIFIED}


# --- the scaling study's runs go through the executors ------------------------------------


def _tiny_run(tmp_path: Path, store: str, **kwargs):
    spec = ScalingSpec.model_validate(TINY)
    return run_scaling(
        spec,
        out_dir=tmp_path / f"out-{store}",
        store_dir=tmp_path / store,
        quick=True,
        progress=False,
        **kwargs,
    )


@pytest.mark.slow
def test_workers_one_and_two_give_identical_min_widths(tmp_path, monkeypatch):
    """Two worker processes train the same banks as one (each level's runs fit one group):
    bitwise the same tables. Cut into groups of 3 runs, the banks change, and with them the
    float64 sums' rounding (bank composition sets the BLAS blocking): the same minimum widths,
    eps read off the curves equal to rounding."""
    monkeypatch.setenv("SOFTHARD_CACHE", str(tmp_path / "cache"))
    one = _tiny_run(tmp_path, "one", executor=ExecutorConfig(workers=1))
    two = _tiny_run(tmp_path, "two", executor=ExecutorConfig(workers=2))
    cut = _tiny_run(tmp_path, "cut", executor=ExecutorConfig(workers=2, group_size=3))
    assert one.trained == two.trained == cut.trained > 0
    pd.testing.assert_frame_equal(one.min_widths, two.min_widths, check_exact=True)
    pd.testing.assert_frame_equal(one.fits, two.fits, check_exact=True)
    exact = [c for c in one.min_widths.columns if c not in ("eps", "constant")]
    pd.testing.assert_frame_equal(one.min_widths[exact], cut.min_widths[exact], check_exact=True)
    np.testing.assert_allclose(cut.min_widths["eps"], one.min_widths["eps"], rtol=1e-12)
    with RunStore(tmp_path / "cut") as store:
        table = store.runs("tiny")
    assert (table["status"] == "done").all() and len(table) == cut.trained
    # every stored row carries its level's gamma (read back from the margin cache)
    levels = pd.read_csv(cut.path / "levels.csv") if (cut.path / "levels.csv").exists() else None
    assert table["gamma"].notna().all() and (table["gamma"] > 0).all()
    if levels is not None and "gamma" in levels:
        assert set(table["gamma"].round(12)) == set(levels["gamma"].round(12))


def test_interrupted_study_resumes_without_retraining(tmp_path, monkeypatch):
    monkeypatch.setenv("SOFTHARD_CACHE", str(tmp_path / "cache"))
    whole = _tiny_run(tmp_path, "whole", executor=ExecutorConfig(workers=1))
    real = scaling_run.execute_runs
    calls: list[int] = []

    def killed_in_round_two(store, runs, **kwargs):
        calls.append(len(runs))
        if len(calls) == 2:  # part of the second round is trained, then the driver dies
            real(store, runs[: len(runs) // 2], **kwargs)
            raise KeyboardInterrupt
        return real(store, runs, **kwargs)

    monkeypatch.setattr(scaling_run, "execute_runs", killed_in_round_two)
    with pytest.raises(KeyboardInterrupt):
        _tiny_run(tmp_path, "cut", executor=ExecutorConfig(workers=1))
    with RunStore(tmp_path / "cut") as store:
        table = store.runs("tiny")
    done_before = int((table["status"] == "done").sum())
    assert calls[0] + calls[1] // 2 == done_before and (table["status"] != "running").all()
    assert not (tmp_path / "out-cut").exists()
    monkeypatch.setattr(scaling_run, "execute_runs", real)
    resumed = _tiny_run(tmp_path, "cut", executor=ExecutorConfig(workers=1))
    assert resumed.trained == whole.trained - done_before  # no done run is trained again
    with RunStore(tmp_path / "cut") as store:
        assert (store.runs("tiny")["attempts"] == 1).all()
    pd.testing.assert_frame_equal(resumed.min_widths, whole.min_widths, check_exact=True)
    pd.testing.assert_frame_equal(resumed.fits, whole.fits, check_exact=True)
