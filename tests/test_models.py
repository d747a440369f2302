import math

import pytest
import torch

from softhard.models import TwoLayerReLU, init_two_layer


@pytest.mark.parametrize("width", [1, 2, 7, 64])
@pytest.mark.parametrize("signs", ["random", "balanced"])
def test_explicit_gradient_equals_autograd(width, signs):
    gen = torch.Generator().manual_seed(width)
    x = torch.randn(50, 5, generator=gen, dtype=torch.float64)
    y = torch.sign(torch.randn(50, generator=gen, dtype=torch.float64))
    model = TwoLayerReLU(5, width, seed=3, signs=signs)
    loss = torch.nn.functional.softplus(-y * model(x)).mean()
    loss.backward()
    f = model(x).detach()
    dloss_df = -y * torch.sigmoid(-y * f)
    explicit = model.explicit_grad(x, dloss_df)
    torch.testing.assert_close(explicit, model.weight.grad, rtol=1e-12, atol=1e-14)


def test_forward_matches_formula():
    model = TwoLayerReLU(3, 4, seed=1, signs="random")
    x = torch.randn(6, 3, dtype=torch.float64)
    expected = torch.stack(
        [
            sum(model.a[s] * torch.relu(model.weight[s] @ xi) for s in range(4)) / math.sqrt(4)
            for xi in x
        ]
    )
    torch.testing.assert_close(model(x), expected)


@pytest.mark.parametrize("width", [2, 8, 100])
def test_symmetric_initialisation_gives_zero_output(width):
    model = TwoLayerReLU(10, width, seed=5, init="symmetric", signs="random")
    x = torch.randn(20, 10, dtype=torch.float64)
    assert torch.count_nonzero(model(x)) == 0
    assert model.a.sum() == 0


def test_symmetric_needs_even_width():
    with pytest.raises(ValueError, match="even width"):
        init_two_layer(3, 4, seed=0, init="symmetric")


@pytest.mark.parametrize("width", [2, 3, 10])
def test_balanced_signs_are_half_and_half(width):
    _, a = init_two_layer(width, 4, seed=0, signs="balanced")
    assert abs(float(a.sum())) <= 1
    assert set(a.tolist()) <= {-1.0, 1.0}


def test_random_signs_and_weights_depend_on_seed_only():
    w1, a1 = init_two_layer(50, 3, seed=9, signs="random")
    w2, a2 = init_two_layer(50, 3, seed=9, signs="random")
    w3, _ = init_two_layer(50, 3, seed=10, signs="random")
    assert torch.equal(w1, w2) and torch.equal(a1, a2)
    assert not torch.equal(w1, w3)
    w32, _ = init_two_layer(50, 3, seed=9, dtype=torch.float32)
    torch.testing.assert_close(w32, w1.float())


@pytest.mark.parametrize("rho", [0.01, 0.5, 3.0])
def test_projection_keeps_every_neuron_in_its_ball(rho):
    width = 16
    model = TwoLayerReLU(4, width, seed=0)
    with torch.no_grad():
        model.weight.add_(
            torch.randn(width, 4, dtype=torch.float64) * torch.linspace(0, 2, width)[:, None]
        )
    inside_before = (model.weight - model.weight0).norm(dim=1) <= rho / math.sqrt(width)
    before = model.weight.detach().clone()
    model.project_(rho)
    dist = (model.weight - model.weight0).norm(dim=1)
    assert torch.all(dist <= rho / math.sqrt(width) * (1 + 1e-12))
    # neurons that were inside are untouched
    assert torch.equal(model.weight[inside_before], before[inside_before])
