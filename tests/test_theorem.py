"""The theorem study: the reference point, its loss split, the m*_ref fit and the command."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

import softhard
from softhard.cli import app
from softhard.errors import ConfigError
from softhard.models.two_layer import init_two_layer
from softhard.ntk import estimate_margin
from softhard.studies.theorem.curves import Target, reference_curves
from softhard.studies.theorem.families import (
    _orthonormal,
    _two_point,
    certified,
    orthonormal_gamma,
    two_point_gamma,
)
from softhard.studies.theorem.fit import CurveSet, fit_law, min_widths
from softhard.studies.theorem.reference import NeuronFeatures, ReferencePoint, field_directions
from softhard.studies.theorem.spec import TheoremSpec
from softhard.studies.theorem.teacher import teacher_field

CLOSED = [("orthonormal", 8), ("two_point", 0.4)]


def _data(kind: str, value: float) -> tuple[torch.Tensor, torch.Tensor]:
    return _orthonormal(int(value)) if kind == "orthonormal" else _two_point(float(value))


@pytest.mark.parametrize(("kind", "value"), CLOSED)
def test_linearised_margin_of_u_is_s_gamma_k(kind: str, value: float) -> None:
    """With the solver's K directions as W0 (symmetric pairs), the linearised margin of U is
    s times the certified gamma_K, to the solver's tolerance (and gamma_K is near the closed form)."""
    x, y = _data(kind, value)
    est = estimate_margin(x, y, num_directions=2048, seed=1, tol=1e-3)
    closed = orthonormal_gamma(int(value)) if kind == "orthonormal" else two_point_gamma(value)
    assert abs(est.gamma - closed) < 4 * est.stderr + 0.01
    width, s = 2 * 2048, 7.0
    feats = NeuronFeatures.draw(
        x, y, est.q, widths=[width], seed=0, scales=[s], weight0=est.directions
    )
    _, lin, _ = feats.parts(width, s)
    margin = float((y * lin).min()) / s
    assert est.lower - 1e-5 <= margin <= est.upper + 1e-5
    assert abs(margin - est.gamma) <= 2e-3 * est.gamma + 1e-5


@pytest.mark.parametrize("init", ["symmetric", "plain"])
def test_split_matches_the_network_at_u(init: str) -> None:
    """f0 + s h_m + flip_m (nested widths, bucketed flips) equals f(x; U) computed directly."""
    x, y = _orthonormal(6)
    q = torch.full((6,), 1 / 6, dtype=torch.float64)
    widths = [8, 32, 128]
    feats = NeuronFeatures.draw(x, y, q, widths=widths, seed=4, scales=[0.5, 9.0], init=init)
    w0, a = init_two_layer(128, 6, seed=4, init=init, signs="balanced")
    for m in widths:
        v, _ = field_directions(w0[:m], x, y, q)
        for s in (0.5, 9.0):
            point = ReferencePoint(w0[:m], a[:m], v * a[:m, None] / math.sqrt(m), s)
            f0, lin, flip = feats.parts(m, s)
            assert torch.allclose(f0 + lin, point.logits(x, linearised=True), atol=1e-5)
            assert torch.allclose(f0 + lin + flip, point.logits(x), atol=1e-5)
    with pytest.raises(ValueError, match="scales"):
        feats.parts(8, 1.0)


def test_public_reference_point() -> None:
    x, y = _orthonormal(4)
    q = torch.full((4,), 0.25, dtype=torch.float64)
    point = softhard.reference_point(x, y, q, width=16, scale=3.0, seed=0)
    assert point.weight.shape == (16, 4)
    assert float(torch.linalg.matrix_norm(point.direction)) <= 1 + 1e-9
    assert torch.allclose(point.logits(x, linearised=True) / 3.0 * y > 0, torch.ones(4) > 0)


def test_flip_part_shrinks_with_width() -> None:
    x, y = _orthonormal(8)
    q = torch.full((8,), 1 / 8, dtype=torch.float64)
    h = teacher_field(x, y, q, gamma=orthonormal_gamma(8), num_directions=4096).h
    widths = [16, 256, 4096]
    df = reference_curves(
        x, y, q, h, targets=[Target("hard", 20.0, 0.1)], widths=widths, seeds=[0, 1, 2]
    )
    size = df.groupby("width")["flip_size"].mean().to_numpy()
    assert size[0] > size[1] > size[2]
    assert size[2] < 0.3 * size[0]


def test_planted_soft_kl_scales_as_beta_squared_over_m() -> None:
    """One unit point: h_m is a binomial fraction (variance 1/(4 m') for m' = m/2 distinct
    directions), so for small beta the soft reference KL is ~ p(1-p) beta^2 / (4 m): the fit
    must find exponent 2 on beta and 1 on 1/eps (and not 1 and 1)."""
    x = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    y = torch.tensor([1.0], dtype=torch.float64)
    q = torch.ones(1, dtype=torch.float64)
    h = teacher_field(x, y, q, gamma=0.5, num_directions=1 << 16).h
    betas, eps = [0.25, 0.5, 1.0], [3e-4, 1e-4, 3e-5]
    widths = [2**k for k in range(3, 14)]
    targets = [Target("soft", b, None, b) for b in betas]
    df = reference_curves(x, y, q, h, targets=targets, widths=widths, seeds=list(range(24)))
    lin = df.groupby(["beta", "width"])["loss_lin"].mean().unstack()
    slope_m = np.polyfit(np.log(widths[3:]), np.log(lin.loc[1.0].to_numpy()[3:]), 1)[0]
    assert slope_m == pytest.approx(-1.0, abs=0.15)
    arrays, xs, es, ep = [], [], [], []
    for b in betas:
        pivot = df[df["beta"] == b].pivot_table(index="width", columns="seed", values="loss")
        for e in eps:
            arrays.append(pivot.to_numpy())
            xs.append(b)
            es.append(1 / e)
            ep.append(e)
    cs = CurveSet(np.stack(arrays), np.array(widths), np.array(xs), np.array(es), np.array(ep))
    row = fit_law(cs, n_boot=100)
    assert row["b"] == pytest.approx(2.0, abs=0.3)
    assert row["c"] == pytest.approx(1.0, abs=0.2)
    assert row["b_lo"] > 1.4  # an exponent of 1 is told apart


def test_min_widths_interpolates_and_censors() -> None:
    widths = np.array([8, 16, 32])
    mean = np.array([[1.0, 0.5, 0.25], [0.1, 0.05, 0.01], [1.0, 0.9, 0.8]])
    m, status = min_widths(mean, widths, np.array([0.5 * math.sqrt(0.5), 0.2, 0.5]))
    assert m[0] == pytest.approx(16 * math.sqrt(2))
    assert status.tolist() == [0, -1, 1]
    assert math.isnan(m[1]) and math.isnan(m[2])


def test_not_separable_level_is_refused() -> None:
    x = torch.tensor([[1.0, 0.0], [1.0, 0.0]], dtype=torch.float64)
    est = estimate_margin(x, torch.tensor([1.0, -1.0]), num_directions=256)
    with pytest.raises(ConfigError, match="not separable by the kernel"):
        certified(est, "fam", "twins")


SPEC = """
kind: theorem
name: tiny
families:
  - {name: ortho, kind: orthonormal, sizes: [2, 4, 8]}
  - {name: pair, kind: two_point, angles: [1.2, 0.6, 0.3]}
reference: {min_log2_width: 3, max_log2_width: 7, seeds: [0, 1, 2, 3], teacher_directions: 4096}
eps: {soft: [0.1, 0.03], hard: [0.3, 0.1]}
margin: {num_directions: 512}
n_boot: 20
"""


@pytest.mark.parametrize(
    ("override", "message"),
    [("eps.soft=[0.1,0]", "eps > 0"), ("eps.hard=[0.5,1.0]", "< 1"), ("eps.hard=[-0.1]", "> 0")],
)
def test_bad_eps_is_refused_and_writes_nothing(tmp_path: Path, override: str, message: str) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["theorem", str(spec), "--set", override, "--out", str(out)])
    assert result.exit_code == 2
    assert message in result.output
    assert not out.exists()


def test_command_writes_tables_and_figures(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["theorem", str(spec), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    (folder,) = out.iterdir()
    for stem in ("theorem_levels", "theorem_reference", "theorem_min_widths", "theorem_fits"):
        assert (folder / f"{stem}.csv").is_file()
    assert (folder / "mstar_ortho.png").is_file() and (folder / "reference_pair.png").is_file()
    fits = pd.read_csv(folder / "theorem_fits.csv")
    assert set(fits["family"]) == {"ortho", "pair"}
    levels = pd.read_csv(folder / "theorem_levels.csv")
    assert (levels["kappa"] > 0).all() and levels["gamma_closed"].notna().all()
    from softhard.report.document import collect

    claims = collect(folder).claims
    assert all("(a) mechanism" in c.evidence for c in claims[1:3])
    assert claims[1].status != "not measured in this folder"


def test_shipped_config_validates() -> None:
    from softhard.config import shipped_configs
    from softhard.studies.theorem import load_theorem_spec

    spec = load_theorem_spec(shipped_configs()["theorem_digits"])
    assert isinstance(spec, TheoremSpec)
    assert spec.reference.widths()[-1] == 2**15 and len(spec.reference.seeds) >= 10
    assert spec.reference.num_teacher_directions() >= 32 * 2**15
    quick = load_theorem_spec(shipped_configs()["theorem_digits"], quick=True)
    assert quick.reference.widths()[-1] < spec.reference.widths()[-1]


def test_projected_gd_stays_inside_and_reports_the_fraction_at_the_radius() -> None:
    from softhard.config import TrainConfig
    from softhard.models.two_layer import TwoLayerReLU
    from softhard.studies.theorem.families import Level
    from softhard.studies.theorem.gd import GDSettings, gd_runs
    from softhard.targets import Targets
    from softhard.train import train_two_layer

    x, y = _orthonormal(4)
    est = estimate_margin(x, y, num_directions=512)
    level = Level("f", "n=4", x, y, est, (1 / est.gamma,), ("hard",))
    gd = GDSettings(min_log2_width=2, max_log2_width=4, seeds=[0, 1], radius_constant=0.05,
                    max_epochs=40, lr=1.0)  # fmt: skip
    runs = gd_runs(level, torch.zeros(4), {"hard": [0.1]}, gd)
    rho = float(runs["rho"].iloc[0])
    f32 = torch.float32
    assert (runs["max_moved"] <= rho * (1 + 1e-5)).all()
    assert runs["at_radius"].max() > 0  # the projection binds
    for row in runs.itertuples():
        net = TwoLayerReLU(4, int(row.width), seed=int(row.seed), init="symmetric", dtype=f32)
        cfg = TrainConfig(optimizer="gd", lr=1.0, epochs=int(row.epochs), rho=rho)
        train_two_layer(net, x.to(f32), Targets(y.to(f32), None, 0.0), cfg)  # the bank's dtype
        moved = torch.linalg.vector_norm(net.weight - net.weight0, dim=1) * math.sqrt(row.width)
        assert float((moved >= rho * (1 - 1e-4)).double().mean()) == pytest.approx(row.at_radius)
