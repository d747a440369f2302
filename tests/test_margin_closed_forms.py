"""The margin estimator against every closed form of docs/theory.md section 3, within its reported error.

Tolerance: 4 * stderr (Monte-Carlo) + (upper - lower) (optimisation), with K = 2^15 directions.
"""

import math

import pytest
import torch
from scipy.stats import binom

from softhard.ntk import estimate_margin

K = 2**15


def _close(est, exact):
    tol = 4 * est.stderr + (est.upper - est.lower) + 1e-12
    assert est.converged
    assert abs(est.gamma - exact) <= tol, (est, exact, tol)


def two_vectors_gamma(theta, s):
    """docs/theory.md section 3, closed form 4."""
    return (math.pi - theta) / (2 * math.pi) * math.sqrt((1 + s * math.cos(theta)) / 2) + theta / (
        2 * math.pi
    )


def orthonormal_gamma(n):
    """docs/theory.md section 3, closed form 5: (1/n) E[sqrt(B)], B ~ Binomial(n, 1/2)."""
    return sum(binom.pmf(b, n, 0.5) * math.sqrt(b) for b in range(n + 1)) / n


@pytest.mark.parametrize(
    ("theta", "s", "value"),
    [
        (math.pi / 2, 1, 0.426777),
        (math.pi / 2, -1, 0.426777),
        (math.pi / 6, 1, 0.485802),
        (math.pi / 6, -1, 0.191175),
        (2 * math.pi / 3, 1, 0.416667),
        (2 * math.pi / 3, -1, 0.477671),
    ],
)
def test_reference_values_of_the_formulas(theta, s, value):
    assert two_vectors_gamma(theta, s) == pytest.approx(value, abs=1e-6)


@pytest.mark.parametrize(
    ("n", "value"), [(1, 0.5), (2, 0.426777), (3, 0.373945), (5, 0.304367), (8, 0.245309)]
)
def test_reference_values_orthonormal(n, value):
    assert orthonormal_gamma(n) == pytest.approx(value, abs=1e-6)


@pytest.mark.parametrize("scale", [1.0, 0.3])
def test_one_point(scale):
    x = scale * torch.tensor([[0.6, -0.8, 0.0]], dtype=torch.float64)
    _close(estimate_margin(x, [1], num_directions=K, seed=1), scale / 2)


@pytest.mark.parametrize("labels", [[1, 1], [1, -1], [-1, 1]])
def test_antipodal_points(labels):
    u = torch.tensor([0.0, 1.0, 0.0, 0.0], dtype=torch.float64)
    _close(estimate_margin(torch.stack([u, -u]), labels, num_directions=K, seed=2), 0.5)


def test_identical_points_opposite_labels():
    x = torch.tensor([[0.3, 0.4], [0.3, 0.4]], dtype=torch.float64)
    est = estimate_margin(x, [1, -1], num_directions=4096, seed=3)
    # gamma = 0: not separable, and never "converged" with a relative gap of 1 (issue 18)
    assert est.status == "not_separable" and not est.separable
    assert not est.converged and est.gap == 1.0 and est.stopped_by == "not_separable"
    assert est.lower == 0.0
    assert est.upper <= 1e-9
    torch.testing.assert_close(est.q, torch.tensor([0.5, 0.5], dtype=torch.float64))


@pytest.mark.parametrize("theta", [math.pi / 6, math.pi / 2, 2 * math.pi / 3, 0.05])
@pytest.mark.parametrize("s", [1, -1])
def test_two_vectors_at_angle(theta, s):
    x = torch.tensor([[1.0, 0.0], [math.cos(theta), math.sin(theta)]], dtype=torch.float64)
    est = estimate_margin(x, [1, s], num_directions=K, seed=4)
    _close(est, two_vectors_gamma(theta, s))
    assert est.q.tolist() == pytest.approx([0.5, 0.5], abs=0.05)  # F is flat near q*


def test_small_angle_difficulty_knob():
    """s = -1, small theta: gamma ~ (1/4 + 1/(2 pi)) theta (docs/theory.md section 3)."""
    theta = 0.02
    x = torch.tensor([[1.0, 0.0], [math.cos(theta), math.sin(theta)]], dtype=torch.float64)
    est = estimate_margin(x, [1, -1], num_directions=K, seed=5)
    assert est.gamma == pytest.approx((0.25 + 1 / (2 * math.pi)) * theta, rel=0.05)


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8])
def test_orthonormal_points(n):
    labels = [1 if i % 3 else -1 for i in range(n)]
    est = estimate_margin(torch.eye(n, dtype=torch.float64), labels, num_directions=K, seed=6)
    _close(est, orthonormal_gamma(n))
    # rotated into a higher dimension: same gamma
    q, _ = torch.linalg.qr(torch.randn(n + 3, n + 3, generator=torch.Generator().manual_seed(n)))
    rotated = q[:n].to(torch.float64)
    _close(estimate_margin(rotated, labels, num_directions=K, seed=7), orthonormal_gamma(n))
