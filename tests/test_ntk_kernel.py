"""The NTK: closed form vs a wide network's empirical NTK, and the empirical NTK vs autograd."""

import math

import pytest
import torch

from softhard.models import TwoLayerReLU
from softhard.ntk import empirical_ntk, limiting_ntk


def _unit(n, d, seed):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=gen, dtype=torch.float64)
    return x / x.norm(dim=1, keepdim=True)


def test_limiting_ntk_known_values():
    e1, e2 = torch.tensor([1.0, 0.0], dtype=torch.float64), torch.tensor([0.0, 1.0])
    x = torch.stack([2 * e1, e2.double(), -e1])
    k = limiting_ntk(x)
    # same point: <x,x> / 2; orthogonal: 0 (inner product 0); antipodal: theta = pi -> 0
    assert k[0, 0] == pytest.approx(4.0 / 2)
    assert k[1, 1] == pytest.approx(0.5)
    assert k[0, 1] == pytest.approx(0.0)
    assert k[0, 2] == pytest.approx(0.0, abs=1e-15)
    # angle pi/3 between unit vectors: cos/2pi * (pi - pi/3) = 0.5 * (2/3) / 2 = 1/6
    u = torch.tensor([[1.0, 0.0], [0.5, math.sqrt(3) / 2]], dtype=torch.float64)
    assert limiting_ntk(u)[0, 1] == pytest.approx(1 / 6, rel=1e-12)


def test_limiting_ntk_is_symmetric_psd_and_handles_zero_rows():
    x = torch.cat([_unit(20, 5, 0) * 3, torch.zeros(1, 5, dtype=torch.float64)])
    k = limiting_ntk(x)
    torch.testing.assert_close(k, k.T)
    assert torch.linalg.eigvalsh(k).min() > -1e-12
    assert torch.all(k[-1] == 0)
    assert torch.isfinite(k).all()


def test_closed_form_matches_empirical_ntk_of_wide_network():
    """m = 2^17 neurons, float64: each entry is <x,x'> times a mean of m Bernoullis, std <= 0.5/sqrt(m)."""
    x = _unit(12, 6, 1)
    m = 2**17
    model = TwoLayerReLU(6, m, seed=7, signs="random")
    emp = empirical_ntk(x, weight=model.weight.detach(), a=model.a)
    lim = limiting_ntk(x)
    tol = 5 * 0.5 / math.sqrt(m)  # 5 sigma of one entry: 0.0069
    assert (emp - lim).abs().max() < tol
    # and it is not trivially close: a narrow network is visibly off
    narrow = TwoLayerReLU(6, 16, seed=7, signs="random")
    emp16 = empirical_ntk(x, weight=narrow.weight.detach())
    assert (emp16 - lim).abs().max() > 10 * tol


def test_empirical_ntk_equals_jacobian_product():
    """K_m(x, x') = <grad_W f(x), grad_W f(x')> for the student network (autograd)."""
    x = _unit(5, 4, 2)
    model = TwoLayerReLU(4, 33, seed=3, signs="random")
    rows = []
    for xi in x:
        model.zero_grad()
        model(xi[None]).sum().backward()
        rows.append(model.weight.grad.detach().reshape(-1).clone())
    jac = torch.stack(rows)
    torch.testing.assert_close(
        empirical_ntk(x, weight=model.weight.detach(), a=model.a, chunk_size=7), jac @ jac.T
    )


def test_empirical_ntk_cross_gram_and_chunking():
    x1, x2 = _unit(4, 3, 4), _unit(6, 3, 5)
    w = torch.randn(1000, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    full = empirical_ntk(x1, x2, weight=w, chunk_size=1000)
    torch.testing.assert_close(empirical_ntk(x1, x2, weight=w, chunk_size=37), full)
    assert full.shape == (4, 6)
