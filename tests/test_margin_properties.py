"""Property-based tests of the margin estimator (docs/theory.md section 3, properties).

Exact invariances are tested on the finite-K problem with the same (transformed) directions: the two
certified intervals [lower, upper] bound the same number gamma_K, so they must intersect. The bounds
are tested in their exact finite-K form and, for the limit, within the reported error.
"""

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize

from softhard.ntk import empirical_ntk, estimate_margin, limiting_ntk

K = 256
SLACK = 1e-10
problems = st.tuples(
    st.integers(0, 2**31 - 1), st.integers(1, 7), st.integers(2, 5)
)  # (seed, n, d)
common = settings(max_examples=12, deadline=None)  # each example solves two small problems


def _data(seed, n, d):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    x *= rng.uniform(0.5, 2.0, size=(n, 1)) / np.linalg.norm(x, axis=1, keepdims=True)
    y = rng.choice([-1.0, 1.0], size=n)
    z = torch.from_numpy(rng.standard_normal((K, d)))
    return torch.from_numpy(x), torch.from_numpy(y), z


def _est(x, y, z, **kw):
    return estimate_margin(x, y, directions=z, fresh_directions=0, max_iter=300, **kw)


def _intersect(a_lo, a_up, b_lo, b_up):
    scale = max(abs(a_up), abs(b_up), 1.0)
    return a_lo <= b_up + SLACK * scale and b_lo <= a_up + SLACK * scale


def _fractions(x, z):
    return (x @ z.T > 0).double().mean(dim=1)


@common
@given(problems, st.floats(0.01, 100.0))
def test_scaling(problem, c):
    x, y, z = _data(*problem)
    a, b = _est(x, y, z), _est(c * x, y, z)
    assert _intersect(c * a.lower, c * a.upper, b.lower, b.upper)


@common
@given(problems)
def test_rotation(problem):
    x, y, z = _data(*problem)
    rot, _ = torch.linalg.qr(torch.randn(x.shape[1], x.shape[1], dtype=torch.float64))
    a, b = _est(x, y, z), _est(x @ rot, y, z @ rot)  # <z R, x R> = <z, x>
    assert _intersect(a.lower, a.upper, b.lower, b.upper)


def test_rotation_with_independent_directions():
    """Rotating the data (directions not rotated) changes gamma only within the Monte-Carlo error."""
    x, y, _ = _data(11, 6, 4)
    rot, _ = torch.linalg.qr(torch.randn(4, 4, generator=torch.Generator().manual_seed(0)).double())
    a = estimate_margin(x, y, num_directions=8192, seed=1)
    b = estimate_margin(x @ rot, y, num_directions=8192, seed=2)
    assert abs(a.gamma - b.gamma) <= 4 * np.hypot(a.error, b.error)


@common
@given(problems, st.randoms(use_true_random=False))
def test_permutation(problem, rnd):
    x, y, z = _data(*problem)
    perm = list(range(len(y)))
    rnd.shuffle(perm)
    a, b = _est(x, y, z), _est(x[perm], y[perm], z)
    assert _intersect(a.lower, a.upper, b.lower, b.upper)


@common
@given(problems, st.integers(0, 6))
def test_duplication(problem, j):
    x, y, z = _data(*problem)
    j = j % len(y)
    a = _est(x, y, z)
    b = _est(torch.cat([x, x[j : j + 1]]), torch.cat([y, y[j : j + 1]]), z)
    assert _intersect(a.lower, a.upper, b.lower, b.upper)


@common
@given(problems)
def test_at_most_half_the_smallest_norm(problem):
    x, y, z = _data(*problem)
    est = _est(x, y, z)
    norms = x.norm(dim=1)
    # finite K, exact: any v gives margin_i <= ||x_i|| * (fraction of directions activating x_i)
    assert est.lower <= float((norms * _fractions(x, z)).min()) + SLACK
    # the limit, within the reported error
    assert est.gamma <= float(norms.min()) / 2 + 4 * est.error


@common
@given(problems)
def test_at_least_half_the_linear_margin(problem):
    seed, n, d = problem
    x, _, z = _data(seed, n, d)
    u = torch.from_numpy(np.random.default_rng(seed + 1).standard_normal(d))
    u = u / u.norm()
    y = torch.where(x @ u >= 0, 1.0, -1.0).double()
    margin = float((y * (x @ u)).min())
    est = _est(x, y, z)
    # finite K, exact: v_k = u for all k gives margin_i = y_i <u, x_i> * fraction_i
    assert est.upper >= margin * float(_fractions(x, z).min()) - SLACK
    assert est.gamma >= margin / 2 - 4 * est.error


def _kernel_margin(x, y, kernel):
    """min_q sqrt(q^T (y y^T o K) q) on the simplex, by scipy SLSQP."""
    m = (y[:, None] * y[None, :] * kernel).numpy()
    n = len(y)
    res = minimize(
        lambda q: q @ m @ q,
        np.full(n, 1.0 / n),
        jac=lambda q: 2 * m @ q,
        bounds=[(0, 1)] * n,
        constraints=[{"type": "eq", "fun": lambda q: q.sum() - 1, "jac": lambda q: np.ones(n)}],
        method="SLSQP",
        options={"ftol": 1e-14, "maxiter": 500},
    )
    q = np.clip(res.x, 0, None)
    q /= q.sum()
    return float(np.sqrt(max(q @ m @ q, 0.0)))


@common
@given(problems)
def test_at_most_the_kernel_norm_margin(problem):
    x, y, z = _data(*problem)
    est = _est(x, y, z)
    # finite K, exact (Jensen): F(q) <= sqrt(q^T (yy^T o K_K) q) for every q, K_K the directions' NTK
    assert est.lower <= _kernel_margin(x, y, empirical_ntk(x, weight=z)) + 1e-7
    # the limit, within the reported error
    assert est.gamma <= _kernel_margin(x, y, limiting_ntk(x)) + 4 * est.error
