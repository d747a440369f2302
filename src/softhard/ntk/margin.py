"""The NTK separation margin gamma with a primal/dual certificate (docs/theory.md section 3).

With K directions z_k ~ N(0, I_d) and the pattern D_ki = 1[<z_k, x_i> > 0]:

    primal  gamma_K = max_{||v_k|| <= 1} min_i y_i (1/K) sum_k <v_k, x_i> D_ki
    dual    gamma_K = min_{q in simplex_n} F(q),   F(q) = (1/K) sum_k ||g_k(q)||,
            g_k(q) = sum_i q_i y_i D_ki x_i.

F is convex and 1-homogeneous; its gradient dF/dq_i = y_i (1/K) sum_k D_ki <x_i, g_k/||g_k||> is
exactly the vector of primal margins of v_k = g_k(q)/||g_k(q)||. So every gradient gives a lower bound
(min_i of it; v = 0 gives 0) and every feasible q an upper bound F(q); we stop when the gap is below
``tol`` relative to the upper bound. The dual is solved in two phases. First accelerated projected
gradient (FISTA with backtracking on the smoothness constant, function-value restart and Euclidean
projection onto the simplex); G(q) is linear in q, so the extrapolated point costs no extra product.
Each iteration costs one product with the (K, n) pattern each way, chunked over directions. Easy
problems converge there. If not converged after ``_FIRST_ORDER_ITERATIONS`` (200), or earlier once
the first-order phase stalls (the relative gap did not halve over the last 20 iterations, or no
positive lower bound after 5 iterations: the signatures of a near-zero margin), projected Newton steps on the smoothed dual
(:mod:`softhard.ntk._newton`) finish the job: near-zero margins (gamma ~ 1e-3) need thousands of
first-order iterations but tens of Newton steps (see docs/margin.md).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from softhard.device import cpu_threads
from softhard.errors import ConfigError
from softhard.ntk._inputs import signed_labels_and_inputs
from softhard.ntk._newton import newton_solve
from softhard.ntk._operator import PatternOperator, project_simplex, unit_rows

__all__ = [
    "SOLVER_VERSION",
    "MarginEstimate",
    "estimate_margin",
    "margin_directions",
    "project_simplex",
]

SOLVER_VERSION = 4
"""Bumped whenever the solver's answers may change (keys the cache of estimates)."""

_ABS_TOL = 1e-3  # times tol times max ||x_i||: below this the upper bound counts as gamma = 0
_MAX_BACKTRACK = 60
_SMOOTHING = 0.25  # mu = this * tol * upper: the smoothing of ||g_k|| (see _solve_dual)
_FIRST_ORDER_ITERATIONS = 200  # then projected Newton (softhard.ntk._newton) takes over
_STALL_WINDOW = 20  # ... or earlier, when the relative gap did not shrink by _STALL_RATIO
_STALL_RATIO = 0.5  # over the last _STALL_WINDOW first-order iterations
_ONE_THREAD_WORK = 2**21  # n * K up to this: the whole estimate runs on one torch thread
_NO_LOWER_ITERATIONS = 5  # ... or when no positive lower bound was found after this many


@dataclass(frozen=True)
class MarginEstimate:
    """The NTK margin of a dataset for K sampled directions, with its certificate.

    Attributes:
        gamma: the estimate of gamma_K, the midpoint of ``[lower, upper]``.
        lower: primal certificate: min_i y_i (1/K) sum_k <v_k, x_i> D_ki for an explicit
            v_k = g_k(q')/||g_k(q')|| (q' an iterate of the solver; v = 0 gives 0): gamma_K >= lower.
        upper: dual certificate F(q) at the returned ``q``: gamma_K <= upper.
        stderr: Monte-Carlo standard error of gamma_K over independent draws of the K directions,
            std_k ||g_k(q)|| / sqrt(K) (first order, by the envelope theorem; see ``tests``).
        fresh_lower: the primal min_i margin of v(z) = g(z; q)/||g(z; q)|| on fresh directions
            (an honest out-of-sample lower estimate; biased low by the minimum over n examples).
        fresh_upper: F(q) on fresh directions, an unbiased estimate of E_z ||g(z; q)|| >= gamma.
        q: example weights of the dual, shape ``(n,)``, on the simplex (float64, CPU). Large
            weights mark the hard examples (the support of q*).
        hardest: example indices sorted by decreasing ``q``, shape ``(n,)``, int64.
        directions: the z_k used, shape ``(K, d)`` (float64, CPU).
        iterations: solver iterations run.
        seconds: wall-clock time of the whole estimate.
        num_directions: K.
        converged: whether ``upper - lower <= tol * upper`` (or gamma is numerically 0) was reached.
        tol: the relative-gap tolerance asked for.
        seed: the seed of the directions (``None`` when directions were given).
        stopped_by: why the solver stopped: ``"converged"``, ``"max_iter"`` (the iteration cap),
            ``"max_newton_steps"`` (the cap on Newton steps), ``"max_seconds"`` (the time budget)
            or ``"stalled"`` (the Newton phase stopped shrinking the gap). Whatever the reason,
            ``[lower, upper]`` is a valid bracket of gamma_K.
    """

    gamma: float
    lower: float
    upper: float
    stderr: float
    fresh_lower: float
    fresh_upper: float
    q: torch.Tensor = field(repr=False)
    hardest: torch.Tensor = field(repr=False)
    directions: torch.Tensor = field(repr=False)
    iterations: int
    seconds: float
    num_directions: int
    converged: bool
    tol: float
    seed: int | None
    stopped_by: str = "converged"

    @property
    def gap(self) -> float:
        """Relative gap ``(upper - lower) / upper`` (0 when upper is 0)."""
        return (self.upper - self.lower) / self.upper if self.upper > 0 else 0.0

    @property
    def error(self) -> float:
        """One-sigma error of ``gamma`` as an estimate of gamma: ``stderr + (upper - lower) / 2``."""
        return self.stderr + (self.upper - self.lower) / 2

    def summary(self) -> dict[str, float | int | bool]:
        """The scalar fields, for one row of a results table."""
        return {
            "gamma": self.gamma,
            "gamma_lower": self.lower,
            "gamma_upper": self.upper,
            "gamma_stderr": self.stderr,
            "gamma_fresh_lower": self.fresh_lower,
            "gamma_fresh_upper": self.fresh_upper,
            "gamma_gap": self.gap,
            "gamma_iterations": self.iterations,
            "gamma_seconds": self.seconds,
            "gamma_num_directions": self.num_directions,
            "gamma_converged": self.converged,
        }


def estimate_margin(
    x: torch.Tensor | np.ndarray,
    y: torch.Tensor | np.ndarray,
    *,
    num_directions: int = 4096,
    seed: int = 0,
    tol: float = 1e-3,
    max_iter: int = 5000,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float64,
    chunk_size: int = 1024,
    directions: torch.Tensor | None = None,
    fresh_directions: int | None = None,
    max_cache_bytes: int = 2**30,
    max_newton_steps: int = 100,
    max_seconds: float | None = None,
) -> MarginEstimate:
    """Estimate the NTK margin gamma of ``(x, y)`` with K = ``num_directions`` directions.

    Formulas: docs/theory.md section 3 (see the module docstring). The inputs are used as given: no
    centring or normalisation here (``softhard.data`` does it for datasets).

    Args:
        x: examples, shape ``(n, d)``; no NaN/inf and no all-zero row.
        y: labels, shape ``(n,)``, in {-1, +1} or {0, 1} (0 means -1).
        num_directions: K, the number of directions z_k ~ N(0, I_d) (ignored if ``directions``).
        seed: seed of the directions (drawn on CPU, so CPU and CUDA see the same z_k).
        tol: stop when ``upper - lower <= tol * upper``.
        max_iter: iteration cap; ``converged`` is False if it is hit first.
        device: where to compute ("cpu", "cuda", ...).
        dtype: compute dtype (float64 by default: gaps of 1e-3 on margins of 1e-2 need it).
        chunk_size: directions per chunk; memory besides the pattern cache is O(n * chunk_size).
        directions: explicit z_k, shape ``(K, d)``, instead of sampling them.
        fresh_directions: number of fresh directions for ``fresh_lower``/``fresh_upper``
            (default K; 0 skips them and sets them to NaN).
        max_cache_bytes: cache the (K, n) pattern if it fits, else recompute it block by block.
        max_newton_steps: cap on the projected Newton steps (each costs O(n^2 K); see
            docs/margin.md). With ``max_iter`` it bounds the work whatever the data.
        max_seconds: optional wall-clock budget of the solver (checked once per iteration, so
            it may be overrun by one iteration). ``None`` (the default) keeps the answer
            deterministic; a budget makes it depend on the machine's speed.

    Returns:
        A :class:`MarginEstimate`.

    Raises:
        DataError: bad ``x``/``y`` (shapes, NaN/inf, empty, labels, zero rows).
        ConfigError: bad solver settings.
    """
    start = time.perf_counter()
    _check_settings(
        num_directions, tol, max_iter, chunk_size, fresh_directions, max_newton_steps, max_seconds
    )
    xt, yt = signed_labels_and_inputs(x, y, dtype=dtype, device=device)
    n, d = xt.shape
    if directions is None:
        z_solve, z_fresh = margin_directions(num_directions, d, seed, fresh=fresh_directions)
    else:
        z_solve = _given_directions(directions, d)
        fresh = len(z_solve) if fresh_directions is None else fresh_directions
        z_fresh = margin_directions(0, d, seed, fresh=fresh)[1]
    # small problems on one thread: see softhard.ntk._newton (parallel regions on a busy machine)
    with cpu_threads(1 if n * len(z_solve) <= _ONE_THREAD_WORK else None):
        op = PatternOperator(
            xt,
            yt,
            z_solve.to(device, dtype),
            chunk_size=chunk_size,
            max_cache_bytes=max_cache_bytes,
        )
        scale = float(torch.linalg.vector_norm(xt, dim=1).max())
        limits = _Limits(
            max_iter=max_iter,
            max_newton_steps=max_newton_steps,
            deadline=math.inf if max_seconds is None else start + max_seconds,
        )
        sol = _solve_dual(op, n, tol=tol, atol=_ABS_TOL * tol * scale, limits=limits)
        u, norms = unit_rows(op.forward(sol.q))
        lower = max(sol.lower, float(op.margins(u).min()))
        upper = min(sol.upper, float(norms.mean()))
        converged = _converged(upper, lower, tol, _ABS_TOL * tol * scale)
        k = op.num_directions
        stderr = float(norms.std()) / math.sqrt(k) if k > 1 else math.inf
        fresh_lower, fresh_upper = _fresh(
            xt, yt, sol.q, z_fresh.to(device, dtype), chunk_size, max_cache_bytes
        )
    q = sol.q.detach().to("cpu", torch.float64)
    return MarginEstimate(
        gamma=(lower + upper) / 2,
        lower=lower,
        upper=upper,
        stderr=stderr,
        fresh_lower=fresh_lower,
        fresh_upper=fresh_upper,
        q=q,
        hardest=torch.argsort(q, descending=True, stable=True),
        directions=z_solve,
        iterations=sol.iterations,
        seconds=time.perf_counter() - start,
        num_directions=k,
        converged=converged,
        tol=tol,
        seed=seed if directions is None else None,
        stopped_by="converged" if converged else sol.stopped_by,
    )


def margin_directions(
    num_directions: int, dim: int, seed: int, *, fresh: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(z_solve, z_fresh)``: independent N(0, I_dim) directions, float64 on CPU.

    Two independent streams spawned from ``seed`` (numpy SeedSequence), so that the fresh
    directions never overlap the solve directions of any K. ``fresh`` defaults to ``num_directions``.
    """
    solve_seed, fresh_seed = (
        int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(2)
    )
    fresh = num_directions if fresh is None else fresh
    gens = (torch.Generator().manual_seed(solve_seed), torch.Generator().manual_seed(fresh_seed))
    return tuple(  # type: ignore[return-value]
        torch.randn(k, dim, generator=g, dtype=torch.float64)
        for k, g in zip((num_directions, fresh), gens, strict=True)
    )


@dataclass(frozen=True)
class _Solution:
    q: torch.Tensor
    lower: float
    upper: float
    iterations: int
    stopped_by: str


@dataclass(frozen=True)
class _Limits:
    max_iter: int
    max_newton_steps: int
    deadline: float  # time.perf_counter() value; inf: none


def _solve_dual(
    op: PatternOperator, n: int, *, tol: float, atol: float, limits: _Limits
) -> _Solution:
    """FISTA for up to ``_FIRST_ORDER_ITERATIONS``, then projected Newton from its best point.

    Easy problems (a margin of a few 1e-2) converge in the first phase; near-zero margins
    (1e-3), where first-order methods need thousands of iterations, are finished by Newton.
    """
    max_iter = limits.max_iter
    first = _fista(
        op,
        n,
        tol=tol,
        atol=atol,
        max_iter=min(max_iter, _FIRST_ORDER_ITERATIONS),
        deadline=limits.deadline,
    )
    sol, mu = first
    if sol.stopped_by in ("converged", "max_seconds"):
        return sol
    newton_steps = min(max_iter - sol.iterations, limits.max_newton_steps)
    cap = "max_iter" if max_iter - sol.iterations <= limits.max_newton_steps else "max_newton_steps"
    if newton_steps <= 0:
        return replace(sol, stopped_by=cap)
    second = newton_solve(
        op,
        sol.q,
        mu=mu,
        lower=sol.lower,
        upper=sol.upper,
        tol=tol,
        atol=atol,
        smoothing=_SMOOTHING,
        max_iter=newton_steps,
        deadline=limits.deadline,
    )
    stopped_by = cap if second.stopped_by == "max_iter" else second.stopped_by
    return _Solution(
        q=second.q,
        lower=second.lower,
        upper=second.upper,
        iterations=sol.iterations + second.iterations,
        stopped_by=stopped_by,
    )


def _fista(
    op: PatternOperator, n: int, *, tol: float, atol: float, max_iter: int, deadline: float
) -> tuple[_Solution, float]:
    """FISTA on min_{q in simplex} F_mu(q) with backtracking and restart; tracks the best bounds.

    F_mu(q) = (1/K) sum_k (sqrt(||g_k||^2 + mu^2) - mu) is F smoothed (F - mu <= F_mu <= F), with
    mu = _SMOOTHING * tol * (best upper bound): where some g_k(q*) = 0 (cancellation; common with few
    examples in low dimension) F is not differentiable, and the smoothed gradient's vectors
    u_k = g_k / sqrt(||g_k||^2 + mu^2) (||u_k|| < 1) are still a good primal point. The smoothing
    costs at most mu, a fraction of the tolerance, in both bounds.
    """
    x = op.x
    q = torch.full((n,), 1.0 / n, dtype=x.dtype, device=x.device)
    g = op.forward(q)
    best_q, best_up, best_lo = q, _value(g, 0.0), 0.0  # v = 0 certifies gamma_K >= 0
    mu = _SMOOTHING * best_up
    f = _value(g, mu)
    q_prev, g_prev, t = q, g, 1.0
    lip = float(torch.linalg.vector_norm(x, dim=1).max())  # scale-equivariant start, adapted below
    it, gaps, stopped_by = 0, [1.0], "max_iter"
    for it in range(1, max_iter + 1):
        t_next = (1.0 + math.sqrt(1.0 + 4.0 * t * t)) / 2.0
        theta = (t - 1.0) / t_next
        q_ext, g_ext = q + theta * (q - q_prev), g + theta * (g - g_prev)
        u, norms = _smoothed_unit_rows(g_ext, mu)
        grad = op.margins(u)  # gradient of F_mu at q_ext = margins of the primal point v = u
        best_lo = max(best_lo, float(grad.min()))
        f_ext = float((norms - mu).mean())
        q_new, g_new, lip = _backtrack(op, q_ext, f_ext, grad, lip, mu)
        f_true = _value(g_new, 0.0)
        if f_true < best_up:
            best_q, best_up = q_new, f_true
        if _converged(best_up, best_lo, tol, atol):
            stopped_by = "converged"
            break
        gaps.append((best_up - max(best_lo, 0.0)) / best_up)
        no_lower = it >= _NO_LOWER_ITERATIONS and best_lo <= 0
        if no_lower or (it > _STALL_WINDOW and gaps[-1] > _STALL_RATIO * gaps[-1 - _STALL_WINDOW]):
            stopped_by = "stalled"
            break  # slow progress is what near-zero margins look like; Newton takes over
        if time.perf_counter() > deadline:
            stopped_by = "max_seconds"
            break
        mu_next = min(mu, _SMOOTHING * max(best_up - best_lo, tol * best_up))
        f, f_new, mu = _value(g, mu_next), _value(g_new, mu_next), mu_next
        if f_new > f:  # restart the momentum
            q_prev, g_prev, t = q_new, g_new, 1.0
        else:
            q_prev, g_prev, t = q, g, t_next
        q, g = q_new, g_new
        lip *= 0.9
    sol = _Solution(q=best_q, lower=best_lo, upper=best_up, iterations=it, stopped_by=stopped_by)
    return sol, mu


def _value(g: torch.Tensor, mu: float) -> float:
    """F_mu for G = g: (1/K) sum_k (sqrt(||g_k||^2 + mu^2) - mu); mu = 0 gives F."""
    norms = torch.linalg.vector_norm(g, dim=1)
    if mu == 0:
        return float(norms.mean())
    return float((torch.sqrt(norms * norms + mu * mu) - mu).mean())


def _smoothed_unit_rows(g: torch.Tensor, mu: float) -> tuple[torch.Tensor, torch.Tensor]:
    """``(g_k / s_k, s_k)`` with s_k = sqrt(||g_k||^2 + mu^2) (a zero row with mu = 0 stays zero)."""
    if mu == 0:
        return unit_rows(g)
    s = torch.sqrt((g * g).sum(dim=1) + mu * mu)
    return g / s[:, None], s


def _backtrack(
    op: PatternOperator,
    q_ext: torch.Tensor,
    f_ext: float,
    grad: torch.Tensor,
    lip: float,
    mu: float,
) -> tuple[torch.Tensor, torch.Tensor, float]:
    """One projected gradient step on F_mu from ``q_ext``, doubling ``lip`` until the quadratic
    upper bound F_mu(q_new) <= F_mu(q_ext) + <grad, step> + lip/2 ||step||^2 holds."""
    for _ in range(_MAX_BACKTRACK):
        q_new = project_simplex(q_ext - grad / lip)
        g_new = op.forward(q_new)
        step = q_new - q_ext
        model = f_ext + float(grad @ step) + 0.5 * lip * float(step @ step)
        if _value(g_new, mu) <= model + 1e-12 * abs(f_ext):
            break
        lip *= 2.0
    return q_new, g_new, lip


def _converged(upper: float, lower: float, tol: float, atol: float) -> bool:
    gap = upper - max(lower, 0.0)
    return gap <= tol * upper or upper <= atol


def _fresh(
    x: torch.Tensor,
    y: torch.Tensor,
    q: torch.Tensor,
    z: torch.Tensor,
    chunk_size: int,
    max_cache_bytes: int,
) -> tuple[float, float]:
    """Primal min-margin and dual value of q's v(z) = g(z; q)/||g(z; q)|| on fresh directions."""
    if len(z) == 0:
        return math.nan, math.nan
    op = PatternOperator(x, y, z, chunk_size=chunk_size, max_cache_bytes=max_cache_bytes)
    u, norms = unit_rows(op.forward(q))
    return float(op.margins(u).min()), float(norms.mean())


def _given_directions(directions: torch.Tensor, d: int) -> torch.Tensor:
    z = torch.as_tensor(directions).detach().to("cpu", torch.float64)
    if z.ndim != 2 or z.shape[1] != d or z.shape[0] == 0:
        raise ConfigError(f"directions must have shape (K, {d}) with K >= 1, got {tuple(z.shape)}.")
    if not torch.isfinite(z).all():
        raise ConfigError("directions contain NaN or inf.")
    return z


def _check_settings(
    num_directions: int,
    tol: float,
    max_iter: int,
    chunk_size: int,
    fresh: int | None,
    max_newton_steps: int,
    max_seconds: float | None,
) -> None:
    problems = []
    if num_directions < 1:
        problems.append(f"num_directions must be >= 1 (got {num_directions})")
    if not 0 < tol < 1:
        problems.append(f"tol must be in (0, 1) (got {tol})")
    if max_iter < 1:
        problems.append(f"max_iter must be >= 1 (got {max_iter})")
    if chunk_size < 1:
        problems.append(f"chunk_size must be >= 1 (got {chunk_size})")
    if fresh is not None and fresh < 0:
        problems.append(f"fresh_directions must be >= 0 (got {fresh})")
    if max_newton_steps < 0:
        problems.append(f"max_newton_steps must be >= 0 (got {max_newton_steps})")
    if max_seconds is not None and not max_seconds > 0:
        problems.append(f"max_seconds must be > 0 or None (got {max_seconds})")
    if problems:
        raise ConfigError("estimate_margin: " + "; ".join(problems) + ".")
