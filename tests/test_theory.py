"""The neuron bounds of docs/theory.md section 4: golden values, crossovers, validation."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from softhard import theory


def test_golden_values():
    assert theory.soft_neurons(0.1, 0.01) == pytest.approx(1 / (0.01 * 0.01))
    assert theory.soft_neurons(0.1, 0.01, C=3.0) == pytest.approx(30000.0)
    assert theory.hard_neurons(0.1, 0.01) == pytest.approx(math.log(100) / 1e-4)
    assert theory.hard_neurons(0.5, math.exp(-1), C=2.0) == pytest.approx(2.0 * 16)


def test_exponents():
    assert theory.soft_neurons(0.05, 0.01) / theory.soft_neurons(0.1, 0.01) == pytest.approx(4)
    assert theory.hard_neurons(0.05, 0.01) / theory.hard_neurons(0.1, 0.01) == pytest.approx(16)
    assert theory.soft_neurons(0.1, 0.001) / theory.soft_neurons(0.1, 0.01) == pytest.approx(10)
    assert theory.hard_neurons(0.1, 0.001) / theory.hard_neurons(0.1, 0.01) == pytest.approx(1.5)


@settings(max_examples=50, deadline=None)
@given(st.floats(1e-6, 0.3), st.floats(0.2, 5.0), st.floats(0.2, 5.0))
def test_crossover_gamma_equalises_the_bounds(eps, c_soft, c_hard):
    g = theory.crossover_gamma(eps, c_soft, c_hard)
    assert theory.soft_neurons(g, eps, c_soft) == pytest.approx(
        theory.hard_neurons(g, eps, c_hard), rel=1e-9
    )
    # soft labels need fewer neurons on harder problems (smaller gamma), hard labels on easier ones
    assert theory.soft_neurons(g / 2, eps, c_soft) < theory.hard_neurons(g / 2, eps, c_hard)
    assert theory.soft_neurons(g * 2, eps, c_soft) > theory.hard_neurons(g * 2, eps, c_hard)
    assert theory.crossover(eps=eps, C_soft=c_soft, C_hard=c_hard) == g


@settings(max_examples=50, deadline=None)
@given(st.floats(1e-3, 0.6))
def test_crossover_eps_equalises_the_bounds(gamma):
    eps = theory.crossover_eps(gamma)
    assert 0 < eps <= math.exp(-1)
    assert theory.soft_neurons(gamma, eps) == pytest.approx(
        theory.hard_neurons(gamma, eps), rel=1e-8
    )
    assert theory.crossover_gamma(eps) == pytest.approx(gamma, rel=1e-8)
    assert theory.crossover(gamma=gamma) == eps


def test_no_crossover_for_large_gamma_and_gamma_le_eps_is_sufficient():
    assert math.isnan(theory.crossover_eps(0.7))  # gamma^2 > 1/e
    for eps in (0.3, 0.1, 0.01, 1e-4):
        assert theory.crossover_gamma(eps) > eps  # docs/theory.md's "roughly gamma <= eps"


def test_ji_telgarsky_width_formula():
    gamma, eps, n, delta = 0.1, 0.01, 1000, 0.05
    lam = (math.sqrt(2 * math.log(4 * n / delta)) + math.log(4 / eps)) / (gamma / 4)
    assert theory.ji_telgarsky_width(gamma, eps, n, delta) == pytest.approx(
        4096 * lam**2 / gamma**6
    )
    assert "provisional" in theory.ji_telgarsky_width.__doc__.lower()


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: theory.soft_neurons(0.0, 0.1), "gamma"),
        (lambda: theory.soft_neurons(-0.1, 0.1), "gamma"),
        (lambda: theory.hard_neurons(0.1, 1.0), "eps"),
        (lambda: theory.hard_neurons(0.1, 0.0), "eps"),
        (lambda: theory.soft_neurons(0.1, 0.1, C=0.0), "C"),
        (lambda: theory.soft_neurons(float("nan"), 0.1), "gamma"),
        (lambda: theory.crossover_gamma(0.1, C_soft=-1.0), "C_soft"),
        (lambda: theory.crossover(), "exactly one"),
        (lambda: theory.crossover(gamma=0.1, eps=0.1), "exactly one"),
        (lambda: theory.ji_telgarsky_width(0.1, 0.1, 0, 0.1), "n must"),
        (lambda: theory.ji_telgarsky_width(0.1, 0.1, 10, 1.5), "delta"),
    ],
)
def test_validation(call, match):
    with pytest.raises(ValueError, match=match):
        call()
