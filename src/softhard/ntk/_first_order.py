"""The two phases of the margin dual's solver: FISTA on the smoothed dual, then projected Newton.

See :mod:`softhard.ntk.margin` (the problem, the certificate) and :mod:`softhard.ntk._newton`
(the second phase). :func:`solve_dual` runs FISTA for up to ``FIRST_ORDER_ITERATIONS``, or
until it stalls (the relative gap did not halve over the last 20 iterations, or no positive
lower bound after 5 iterations: the signatures of a near-zero margin), then Newton from its
best point.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace

import torch

from softhard.ntk._bundle import BestLower
from softhard.ntk._newton import newton_solve
from softhard.ntk._operator import PatternOperator, project_simplex, unit_rows

_MAX_BACKTRACK = 60
SMOOTHING = 0.25  # mu = this * tol * upper: the smoothing of ||g_k|| (see _fista)
FIRST_ORDER_ITERATIONS = 200  # then projected Newton (softhard.ntk._newton) takes over
_STALL_WINDOW = 20  # ... or earlier, when the relative gap did not shrink by _STALL_RATIO
_STALL_RATIO = 0.5  # over the last _STALL_WINDOW first-order iterations
_NO_LOWER_ITERATIONS = 5  # ... or when no positive lower bound was found after this many


@dataclass(frozen=True)
class Solution:
    q: torch.Tensor
    lower: BestLower  # the lower bound and the primal point that certifies it
    upper: float
    iterations: int
    stopped_by: str


@dataclass(frozen=True)
class Limits:
    max_iter: int
    max_newton_steps: int
    deadline: float  # time.perf_counter() value; inf: none


def solve_dual(op: PatternOperator, n: int, *, tol: float, atol: float, limits: Limits) -> Solution:
    """FISTA for up to ``FIRST_ORDER_ITERATIONS``, then projected Newton from its best point.

    Easy problems (a margin of a few 1e-2) converge in the first phase; near-zero margins
    (1e-3), where first-order methods need thousands of iterations, are finished by Newton.
    """
    max_iter = limits.max_iter
    first = _fista(
        op,
        n,
        tol=tol,
        atol=atol,
        max_iter=min(max_iter, FIRST_ORDER_ITERATIONS),
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
        smoothing=SMOOTHING,
        max_iter=newton_steps,
        deadline=limits.deadline,
    )
    stopped_by = cap if second.stopped_by == "max_iter" else second.stopped_by
    return Solution(
        q=second.q,
        lower=second.lower,
        upper=second.upper,
        iterations=sol.iterations + second.iterations,
        stopped_by=stopped_by,
    )


def _fista(
    op: PatternOperator, n: int, *, tol: float, atol: float, max_iter: int, deadline: float
) -> tuple[Solution, float]:
    """FISTA on min_{q in simplex} F_mu(q) with backtracking and restart; tracks the best bounds.

    F_mu(q) = (1/K) sum_k (sqrt(||g_k||^2 + mu^2) - mu) is F smoothed (F - mu <= F_mu <= F), with
    mu = SMOOTHING * tol * (best upper bound): where some g_k(q*) = 0 (cancellation; common with few
    examples in low dimension) F is not differentiable, and the smoothed gradient's vectors
    u_k = g_k / sqrt(||g_k||^2 + mu^2) (||u_k|| < 1) are still a good primal point. The smoothing
    costs at most mu, a fraction of the tolerance, in both bounds.
    """
    x = op.x
    q = torch.full((n,), 1.0 / n, dtype=x.dtype, device=x.device)
    g = op.forward(q)
    best_q, best_up, best = q, _value(g, 0.0), BestLower()  # v = 0 certifies gamma_K >= 0
    mu = SMOOTHING * best_up
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
        best.offer(grad, u)
        best_lo = best.value
        f_ext = float((norms - mu).mean())
        q_new, g_new, lip = _backtrack(op, q_ext, f_ext, grad, lip, mu)
        f_true = _value(g_new, 0.0)
        if f_true < best_up:
            best_q, best_up = q_new, f_true
        if converged(best_up, best_lo, tol, atol):
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
        mu_next = min(mu, SMOOTHING * max(best_up - best_lo, tol * best_up))
        f, f_new, mu = _value(g, mu_next), _value(g_new, mu_next), mu_next
        if f_new > f:  # restart the momentum
            q_prev, g_prev, t = q_new, g_new, 1.0
        else:
            q_prev, g_prev, t = q, g, t_next
        q, g = q_new, g_new
        lip *= 0.9
    sol = Solution(q=best_q, lower=best, upper=best_up, iterations=it, stopped_by=stopped_by)
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


def converged(upper: float, lower: float, tol: float, atol: float) -> bool:
    gap = upper - max(lower, 0.0)
    return gap <= tol * upper or upper <= atol
