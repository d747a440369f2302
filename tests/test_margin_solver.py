"""The margin solver: independent solvers, the certificate on digit tasks, Monte-Carlo error, inputs."""

import math

import numpy as np
import pytest
import torch
from scipy.optimize import minimize

from softhard.config import DataConfig
from softhard.data import load_dataset
from softhard.errors import ConfigError, DataError
from softhard.ntk import estimate_margin, project_simplex


def _problem(seed, n, d):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return torch.from_numpy(x), torch.from_numpy(rng.choice([-1.0, 1.0], size=n))


def _scipy_dual(x, y, z):
    """min_q (1/K) sum_k ||sum_i q_i y_i D_ki x_i|| on the simplex, by SLSQP (numpy, own gradient)."""
    d_mat = (x @ z.T > 0).double().numpy().T  # (K, n)
    yx = (y[:, None] * x).numpy()
    n = len(y)

    def fun(q):
        g = d_mat @ (q[:, None] * yx)
        norms = np.linalg.norm(g, axis=1)
        u = g / np.maximum(norms, 1e-300)[:, None]
        return norms.mean(), ((d_mat.T @ u) * yx).sum(axis=1) / len(d_mat)

    res = minimize(
        fun,
        np.full(n, 1.0 / n),
        jac=True,
        bounds=[(0, 1)] * n,
        constraints=[{"type": "eq", "fun": lambda q: q.sum() - 1, "jac": lambda q: np.ones(n)}],
        method="SLSQP",
        options={"ftol": 1e-15, "maxiter": 1000},
    )
    q = np.clip(res.x, 0, None)
    return fun(q / q.sum())[0]


def _scipy_primal(x, y, z):
    """max_{t, ||v_k|| <= 1} t s.t. y_i (1/K) sum_k D_ki <v_k, x_i> >= t, by SLSQP."""
    d_mat = (x @ z.T > 0).double().numpy()  # (n, K)
    xs, ys = x.numpy(), y.numpy()
    k, d = z.shape

    def margins(w):
        v = w[1:].reshape(k, d)
        return ys * ((d_mat @ v) * xs).sum(axis=1) / k

    res = minimize(
        lambda w: -w[0],
        np.zeros(1 + k * d),
        jac=lambda w: np.r_[-1.0, np.zeros(k * d)],
        constraints=[
            {"type": "ineq", "fun": lambda w: margins(w) - w[0]},
            {"type": "ineq", "fun": lambda w: 1.0 - (w[1:].reshape(k, d) ** 2).sum(axis=1)},
        ],
        method="SLSQP",
        options={"ftol": 1e-12, "maxiter": 500},
    )
    v = res.x[1:].reshape(k, d)
    v /= np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1.0)  # make it exactly feasible
    return float(margins(np.r_[0.0, v.reshape(-1)]).min())


@pytest.mark.parametrize(("seed", "n", "d"), [(0, 3, 3), (1, 5, 4), (2, 6, 3), (3, 8, 5)])
def test_agrees_with_scipy_on_the_same_directions(seed, n, d):
    x, y = _problem(seed, n, d)
    z = torch.randn(48, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    est = estimate_margin(x, y, directions=z, tol=1e-5, fresh_directions=0)
    dual, primal = _scipy_dual(x, y, z), _scipy_primal(x, y, z)
    # certificates: any dual value >= gamma_K >= any primal value
    assert est.lower <= dual + 1e-9
    assert primal <= est.upper + 1e-9
    # agreement: both solvers find gamma_K
    assert est.converged
    assert est.upper == pytest.approx(dual, rel=1e-4)
    assert est.lower == pytest.approx(primal, rel=1e-3)


@pytest.fixture(scope="module", params=["digits:3-8", "digits:0-1"])
def digits(request):
    ds = load_dataset(DataConfig.parse(request.param))
    return ds.flat()[0], ds.y_train


def test_certificate_on_digit_tasks(digits):
    x, y = digits
    assert torch.allclose(x.norm(dim=1), torch.ones(len(x), dtype=x.dtype))  # centred, unit sphere
    est = estimate_margin(x, y, num_directions=4096, seed=0)
    assert est.converged
    assert est.gap <= 1e-3
    assert 0 < est.lower <= est.gamma <= est.upper
    assert est.fresh_lower <= est.gamma + 4 * est.error  # out of sample: not better than in sample
    # four times more (independent) directions agree within the reported error
    big = estimate_margin(x, y, num_directions=4 * 4096, seed=1)
    assert big.converged
    assert abs(big.gamma - est.gamma) <= 3 * math.hypot(est.error, big.error)
    assert big.stderr == pytest.approx(est.stderr / 2, rel=0.2)  # O(1/sqrt(K))


def test_stderr_matches_the_spread_over_independent_draws():
    x, y = _problem(5, 12, 4)
    draws = [estimate_margin(x, y, num_directions=512, seed=s) for s in range(24)]
    spread = float(np.std([e.gamma for e in draws], ddof=1))
    reported = float(np.mean([e.stderr for e in draws]))
    assert 0.6 < spread / reported < 1.6, (spread, reported)


def test_same_seed_same_numbers_and_chunking_does_not_matter():
    x, y = _problem(6, 40, 6)
    a = estimate_margin(x, y, num_directions=1000, seed=3)
    b = estimate_margin(x, y, num_directions=1000, seed=3)
    c = estimate_margin(x, y, num_directions=1000, seed=3, chunk_size=64, max_cache_bytes=0)
    assert (a.gamma, a.lower, a.upper, a.iterations) == (b.gamma, b.lower, b.upper, b.iterations)
    # this problem is finished by the Newton phase, whose float32 Hessian is summed chunk by
    # chunk: q moves at the float32 level, the certified bounds far below the tolerance
    assert a.stopped_by == c.stopped_by == "converged"
    torch.testing.assert_close(a.q, c.q, rtol=0, atol=1e-6)
    assert c.upper == pytest.approx(a.upper, rel=1e-9)
    assert c.lower == pytest.approx(a.lower, rel=1e-6)
    assert a.directions.shape == (1000, 6)
    assert estimate_margin(x, y, num_directions=1000, seed=4).gamma != a.gamma


def test_result_fields():
    x, y = _problem(7, 30, 5)
    est = estimate_margin(x, y, num_directions=512, seed=0)
    assert est.q.shape == (30,) and est.q.dtype == torch.float64
    assert est.q.min() >= 0 and float(est.q.sum()) == pytest.approx(1.0)
    assert sorted(est.hardest.tolist()) == list(range(30))
    assert torch.all(est.q[est.hardest][:-1] >= est.q[est.hardest][1:])
    assert est.num_directions == 512 and est.iterations >= 1 and est.seconds > 0
    row = est.summary()
    assert row["gamma"] == est.gamma and row["gamma_converged"] is True
    assert est.error == pytest.approx(est.stderr + (est.upper - est.lower) / 2)


def test_labels_zero_one_equal_minus_one_plus_one_and_numpy_input():
    x, y = _problem(8, 20, 4)
    a = estimate_margin(x, y, num_directions=256)
    b = estimate_margin(x.numpy(), ((y.numpy() + 1) / 2).astype(np.int64), num_directions=256)
    c = estimate_margin(x.float(), y > 0, num_directions=256)
    assert a.gamma == b.gamma
    assert c.gamma == pytest.approx(a.gamma, rel=1e-5)  # float32 input, computed in float64


def test_not_converged_is_reported():
    x, y = _problem(9, 300, 8)
    est = estimate_margin(x, y, num_directions=512, max_iter=1)
    assert not est.converged and est.iterations == 1
    assert est.lower <= est.upper


def test_project_simplex():
    v = torch.tensor([0.5, 2.0, -1.0, 0.7], dtype=torch.float64)
    p = project_simplex(v)
    assert float(p.sum()) == pytest.approx(1.0) and p.min() >= 0
    torch.testing.assert_close(p, torch.tensor([0.0, 1.0, 0.0, 0.0], dtype=torch.float64))
    inside = torch.tensor([0.2, 0.3, 0.5], dtype=torch.float64)
    torch.testing.assert_close(project_simplex(inside), inside)


@pytest.mark.parametrize(
    ("x", "y", "match"),
    [
        ([[1.0, 0.0], [0.0, 1.0]], [0, 2], "two classes"),
        ([[1.0, 0.0], [0.0, 1.0]], [0.5, 1.0], "two classes"),
        ([[1.0, float("nan")], [0.0, 1.0]], [0, 1], "NaN or inf"),
        ([[1.0, float("inf")], [0.0, 1.0]], [0, 1], "NaN or inf"),
        ([[1.0, 0.0], [0.0, 1.0]], [0, float("nan")], "NaN or inf"),
        (np.zeros((0, 3)), np.zeros(0), "empty"),
        ([[1.0, 0.0], [0.0, 1.0]], [0, 1, 1], "2 examples but y has 3"),
        ([[1.0, 0.0], [0.0, 0.0]], [0, 1], "all-zero"),
        ([1.0, 0.0], [0, 1], "shape \\(n, d\\)"),
        ([[1.0, 0.0], [0.0, 1.0]], [[0, 1]], "shape \\(n,\\)"),
    ],
)
def test_bad_input_is_a_clear_data_error(x, y, match):
    with pytest.raises(DataError, match=match):
        estimate_margin(np.asarray(x, dtype=float), np.asarray(y), num_directions=16)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"num_directions": 0},
        {"tol": 0.0},
        {"tol": 1.5},
        {"max_iter": 0},
        {"chunk_size": 0},
        {"max_newton_steps": -1},
        {"max_seconds": 0.0},
        {"max_seconds": float("nan")},
    ],
)
def test_bad_settings_are_config_errors(kwargs):
    with pytest.raises(ConfigError):
        estimate_margin(torch.eye(2, dtype=torch.float64), [0, 1], **kwargs)


def test_bad_directions():
    with pytest.raises(ConfigError, match="directions"):
        estimate_margin(torch.eye(2, dtype=torch.float64), [0, 1], directions=torch.ones(5, 3))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.cuda
def test_cuda_matches_cpu():
    x, y = _problem(10, 200, 16)
    a = estimate_margin(x, y, num_directions=2048, seed=0)
    b = estimate_margin(x, y, num_directions=2048, seed=0, device="cuda")
    assert b.q.device.type == "cpu"
    assert b.upper == pytest.approx(a.upper, rel=1e-3)
    assert b.lower == pytest.approx(a.lower, rel=2e-3)


def test_newton_phase_agrees_with_first_order_phase(monkeypatch):
    """Forcing the projected Newton phase early gives a bracket consistent with FISTA's."""
    from softhard.ntk import _first_order

    x, y = _problem(7, 40, 5)
    full = estimate_margin(x, y, num_directions=256, tol=1e-4, fresh_directions=0)
    monkeypatch.setattr(_first_order, "FIRST_ORDER_ITERATIONS", 2)
    newton = estimate_margin(x, y, num_directions=256, tol=1e-4, fresh_directions=0)
    assert full.converged and newton.converged
    assert newton.lower <= full.upper + 1e-12 and full.lower <= newton.upper + 1e-12
    assert newton.gap <= 1e-4 and abs(newton.gamma - full.gamma) <= 1e-4 * full.upper
    assert abs(float(newton.q.sum()) - 1.0) < 1e-12 and float(newton.q.min()) >= 0.0


def _heavy_tailed(n, d, seed, sigma):
    """benchmarks/bench_margin.py's "heavy" data: heavy-tailed feature scales, a tiny margin."""
    from softhard.data.transforms import normalize

    rng = np.random.default_rng(seed)
    scales = rng.lognormal(0.0, sigma, size=d)
    values = rng.standard_t(3, size=(n, d))
    y = np.where(values @ rng.standard_normal(d) > 0, 1.0, -1.0)
    raw = (values + rng.standard_normal(d)) * scales
    x, _ = normalize(raw, raw[:1])
    return torch.from_numpy(x), torch.from_numpy(y)


def test_near_zero_margin_converges_with_a_valid_certificate():
    """Issue 13: gamma ~ 1.5e-3 on heavy-tailed data; the bracket is checked independently."""
    x, y = _heavy_tailed(120, 8, seed=2, sigma=3.0)
    est = estimate_margin(x, y, num_directions=256, seed=0, fresh_directions=0)
    assert est.converged and est.gap <= 1e-3
    assert 5e-4 < est.lower <= est.upper < 3e-3  # a near-zero margin indeed
    # the certificate recomputed from scratch in numpy: F(q) for the returned q, and the primal
    # margins of v_k = g_k(q) / ||g_k(q)|| (a feasible point, so its min margin is <= gamma_K)
    primal, dual = _certificate(x, y, est)
    assert dual == pytest.approx(est.upper, rel=1e-9)
    assert primal == pytest.approx(est.lower, rel=1e-9)
    assert primal <= dual and (dual - primal) <= 1e-3 * dual
    # an independent solver (SLSQP on the dual) lands inside the bracket
    dual = _scipy_dual(x, y, est.directions)
    assert est.lower <= dual + 1e-12
    assert dual == pytest.approx(est.upper, rel=1e-3)


@pytest.mark.parametrize(("seed", "m", "rank"), [(0, 30, 30), (1, 60, 8), (2, 120, 200), (3, 5, 1)])
def test_newton_model_qp_satisfies_the_kkt_conditions(seed, m, rank):
    """The Newton step's simplex QP (also rank-deficient Hessians) returns the exact minimiser."""
    from softhard.ntk._newton import simplex_qp

    gen = torch.Generator().manual_seed(seed)
    a = torch.randn(m, rank, generator=gen, dtype=torch.float64)
    hess = a @ a.T / rank
    c = torch.randn(m, generator=gen, dtype=torch.float64)
    p = simplex_qp(hess, c, torch.full((m,), 1.0 / m, dtype=torch.float64))
    assert float(p.min()) >= 0 and float(p.sum()) == pytest.approx(1.0, abs=1e-12)
    w = hess @ p + c  # KKT: w_i = lambda on the support, w_i >= lambda off it
    lam = float(w[p > 0].mean())
    scale = float(w.abs().max())
    assert float((w[p > 0] - lam).abs().max()) <= 1e-8 * scale
    off = w[p == 0]
    assert off.numel() == 0 or float(off.min()) >= lam - 1e-8 * scale


def _certificate(x, y, est):
    """The bracket recomputed from scratch in numpy: F(q) for the returned q (an upper bound) and
    the min margin of the returned primal point v (||v_k|| <= 1: a feasible point, a lower bound)."""
    d_mat = (x @ est.directions.T > 0).double().numpy().T  # (K, n)
    yx, q, v = (y[:, None] * x).numpy(), est.q.numpy(), est.primal.numpy()
    assert q.min() >= 0 and q.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.linalg.norm(v, axis=1).max() <= 1 + 1e-12
    g = d_mat @ (q[:, None] * yx)
    primal = float((((d_mat.T @ v) * yx).sum(axis=1) / len(g)).min())
    return primal, float(np.linalg.norm(g, axis=1).mean())


def test_gamma_below_1e3_is_certified_by_the_newton_phase():
    """Issue 13: gamma ~ 6e-4 (heavy-tailed features), to a relative gap of 1e-3."""
    x, y = _heavy_tailed(200, 8, seed=2, sigma=3.0)
    est = estimate_margin(x, y, num_directions=256, seed=0, fresh_directions=0)
    assert est.converged and est.stopped_by == "converged" and est.gap <= 1e-3
    assert 3e-4 < est.lower <= est.upper < 1e-3
    primal, dual = _certificate(x, y, est)
    assert dual == pytest.approx(est.upper, rel=1e-9)
    assert primal == pytest.approx(est.lower, rel=1e-9)
    assert primal <= dual and dual - primal <= 1e-3 * dual


@pytest.fixture(scope="module")
def near_zero():
    x, y = _heavy_tailed(200, 8, seed=2, sigma=3.0)
    return x, y, estimate_margin(x, y, num_directions=256, seed=0, fresh_directions=0)


def _valid_bracket(est, full):
    assert not est.converged and est.lower <= est.upper
    # gamma_K (bracketed tightly by the converged run) lies inside the early stop's bracket
    assert est.lower <= full.upper + 1e-15 and full.lower <= est.upper + 1e-15
    assert est.gap > full.gap


def test_newton_step_cap_stops_with_a_valid_bracket(near_zero):
    x, y, full = near_zero
    est = estimate_margin(x, y, num_directions=256, fresh_directions=0, max_newton_steps=1)
    assert est.stopped_by == "max_newton_steps"
    assert est.iterations < full.iterations
    _valid_bracket(est, full)
    none = estimate_margin(x, y, num_directions=256, fresh_directions=0, max_newton_steps=0)
    assert none.stopped_by == "max_newton_steps" and none.iterations < est.iterations
    _valid_bracket(none, full)


def test_time_budget_stops_with_a_valid_bracket(near_zero):
    x, y, full = near_zero
    est = estimate_margin(x, y, num_directions=256, fresh_directions=0, max_seconds=1e-9)
    assert est.stopped_by == "max_seconds" and est.iterations == 1  # checked once per iteration
    _valid_bracket(est, full)


def test_iteration_cap_is_reported_as_such():
    x, y = _problem(9, 300, 8)
    est = estimate_margin(x, y, num_directions=512, max_iter=3)
    assert not est.converged and est.stopped_by == "max_iter" and est.iterations == 3


def test_newton_phase_that_makes_no_progress_stops_as_stalled(monkeypatch, near_zero):
    """A useless model (a huge multiple of the identity: steps of almost nothing) must not run on
    to the step cap: the stall rule stops it after about _STALL_WINDOW steps, bracket intact."""
    from softhard.ntk import _newton
    from softhard.ntk._operator import PatternOperator

    def useless(self, g, s, active, dtype=None):
        return 1e12 * torch.eye(len(active), dtype=self.x.dtype)

    x, y, full = near_zero
    monkeypatch.setattr(PatternOperator, "hessian", useless)
    est = estimate_margin(x, y, num_directions=256, fresh_directions=0, max_newton_steps=1000)
    assert est.stopped_by == "stalled"
    assert est.iterations <= _FIRST_ORDER + _newton._STALL_WINDOW + 1
    _valid_bracket(est, full)


_FIRST_ORDER = 200  # softhard.ntk._first_order.FIRST_ORDER_ITERATIONS: the most first-order ones


def test_gamma_does_not_depend_on_the_thread_count(near_zero):
    """Issue 13 item 4: the Newton phase of a small problem (model QP and Hessian on one thread)
    gives the same numbers, to the last digit, with 1 and 2 torch threads."""
    x, y, _ = near_zero
    before = torch.get_num_threads()
    try:
        runs = []
        for threads in (1, 2):
            torch.set_num_threads(threads)
            est = estimate_margin(x, y, num_directions=256, seed=0, fresh_directions=0)
            runs.append((est.gamma, est.lower, est.upper, est.iterations, est.q))
    finally:
        torch.set_num_threads(before)
    (g1, lo1, up1, it1, q1), (g2, lo2, up2, it2, q2) = runs
    assert (
        it1 > 5
    )  # the Newton phase ran (the first-order phase hands over after 5 without a lower bound)
    assert (g1, lo1, up1, it1) == (g2, lo2, up2, it2)
    assert torch.equal(q1, q2)
    assert torch.get_num_threads() == before
