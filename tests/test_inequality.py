"""The online-GD inequality logged by the reference loop, term by term (softhard.inequality)."""

from __future__ import annotations

import math

import torch

from softhard.config import TrainConfig
from softhard.inequality import inequality_terms
from softhard.models.two_layer import TwoLayerReLU
from softhard.studies.theorem.reference import reference_point
from softhard.targets import Targets
from softhard.train import train_two_layer


def _problem(scale: float, epochs: int = 25, rho: float | None = None):  # type: ignore[no-untyped-def]
    x = torch.eye(4, dtype=torch.float64)
    y = torch.tensor([1.0, -1.0, 1.0, -1.0], dtype=torch.float64)
    q = torch.full((4,), 0.25, dtype=torch.float64)
    model = TwoLayerReLU(4, 8, seed=2, init="symmetric")
    point = reference_point(x, y, q, width=8, scale=scale, seed=2, init="symmetric")
    assert torch.equal(point.weight0, model.weight0)
    cfg = TrainConfig(optimizer="gd", lr=0.5, epochs=epochs, rho=rho)
    targets = Targets(y, None, 0.0)
    return x, y, model, point, cfg, targets


def test_each_term_matches_a_direct_computation() -> None:
    x, y, model, point, cfg, targets = _problem(3.0)
    result = train_two_layer(model, x, targets, cfg, reference=point.weight)
    w = point.weight0.clone().requires_grad_(True)
    u, a = point.weight, point.a
    for t in range(cfg.epochs):  # type: ignore[arg-type]
        f = torch.relu(x @ w.T) @ a / math.sqrt(8)
        loss = torch.nn.functional.softplus(-y * f).mean()
        (grad,) = torch.autograd.grad(loss, w)
        lin = ((x @ w.T > 0).double() * (x @ u.T)) @ a / math.sqrt(8)
        ref = torch.nn.functional.softplus(-y * lin).mean()
        assert math.isclose(result.curves["gd_objective"][t], float(loss.detach()), rel_tol=1e-9)
        assert math.isclose(result.curves["gd_reference"][t], float(ref), rel_tol=1e-9)
        assert math.isclose(result.curves["gd_grad_sq"][t], float((grad**2).sum()), rel_tol=1e-9)
        with torch.no_grad():
            w -= cfg.lr * grad
    assert math.isclose(result.curves["gd_objective"][0], result.curves["loss"][0], rel_tol=1e-12)


def test_inequality_holds_and_fails_without_a_term() -> None:
    x, _y, model, point, cfg, targets = _problem(6.0)
    result = train_two_layer(model, x, targets, cfg, reference=point.weight)
    dist = float(((point.weight - point.weight0) ** 2).sum())
    terms = inequality_terms(result.curves, lr=cfg.lr, distance_sq=dist)
    assert terms["holds"]
    lhs = terms["average_loss"]
    assert lhs > terms["reference_term"] + terms["gradient_term"]  # the distance term is needed
    assert lhs <= terms["bound"]


def test_inequality_holds_under_projection_containing_u() -> None:
    x, _y, model, point, cfg, targets = _problem(2.0, rho=2.0)  # ||u_s - w_s(0)|| <= 2/sqrt(m)
    result = train_two_layer(model, x, targets, cfg, reference=point.weight)
    dist = float(((point.weight - point.weight0) ** 2).sum())
    assert inequality_terms(result.curves, lr=cfg.lr, distance_sq=dist)["holds"]


def test_no_reference_logs_nothing() -> None:
    x, _y, model, _point, cfg, targets = _problem(1.0)
    result = train_two_layer(model, x, targets, cfg)
    assert "gd_objective" not in result.curves
