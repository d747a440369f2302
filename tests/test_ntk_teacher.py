"""The kernel-limit teacher F(x) = beta (1/K) sum_k <v_k, x> 1[<z_k, x> > 0]."""

import numpy as np
import pytest
import torch

from softhard.errors import ConfigError, DataError
from softhard.ntk import KernelTeacher, estimate_margin


def _data(seed=0, n=60, d=5):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    y = np.where(x[:, 0] * x[:, 1] > 0, 1, 0)  # not linearly separable
    return torch.from_numpy(x), torch.from_numpy(y)


def test_training_margin_is_beta_times_the_certificate():
    x, y = _data()
    teacher = KernelTeacher.fit(x, y, num_directions=1024, seed=1)
    est = teacher.estimate
    assert teacher.beta == pytest.approx(1.0 / est.gamma)
    f = teacher.logits(x)
    assert f.shape == (60,) and f.dtype == torch.float64
    signs = y.double() * 2 - 1
    # on the training set y_i F(x_i) = beta * (margins of v) >= beta * lower (up to the gap): ~1
    assert float((signs * f).min()) >= teacher.beta * est.lower * (1 - 2 * est.tol)
    assert float((signs * f).min()) == pytest.approx(1.0, abs=2e-3)
    assert torch.all(torch.linalg.vector_norm(teacher.vectors, dim=1) <= 1 + 1e-12)


def test_logits_formula_and_beta():
    x, y = _data(1, 20, 3)
    est = estimate_margin(x, y, num_directions=300, seed=2)
    teacher = KernelTeacher.from_estimate(x, y, est, beta=2.5, chunk_size=7)
    xt = torch.randn(9, 3, dtype=torch.float64)
    z, v = teacher.directions, teacher.vectors
    expected = 2.5 * torch.tensor(
        [sum(float(v[k] @ xi) * float(z[k] @ xi > 0) for k in range(300)) / 300 for xi in xt],
        dtype=torch.float64,
    )
    torch.testing.assert_close(teacher(xt), expected)
    assert teacher.num_directions == 300
    # test inputs with extra dimensions are flattened; float32 inputs are computed in float64
    torch.testing.assert_close(teacher(xt.reshape(9, 3, 1).float()), expected, rtol=1e-6, atol=1e-6)


def test_teacher_generalises_on_a_smooth_rule():
    x, y = _data(2, 400, 4)
    teacher = KernelTeacher.fit(x[:300], y[:300], num_directions=2048, seed=0)
    accuracy = float(((teacher(x[300:]) > 0).long() == y[300:]).double().mean())
    assert accuracy > 0.8


def test_errors():
    x, y = _data(3, 10, 3)
    teacher = KernelTeacher.fit(x, y, num_directions=64)
    with pytest.raises(DataError, match="dimension 3"):
        teacher(torch.ones(2, 4))
    with pytest.raises(ConfigError, match="beta"):
        KernelTeacher.fit(x, y, num_directions=64, beta=-1.0)
    same = torch.tensor([[1.0, 0.0], [1.0, 0.0]], dtype=torch.float64)
    with pytest.raises(ConfigError, match="teacher.beta.*not separable by the NTK"):
        KernelTeacher.fit(same, [0, 1], num_directions=64)
    with pytest.raises(DataError, match="estimate was made"):
        KernelTeacher.from_estimate(x[:5], y[:5], teacher.estimate)
