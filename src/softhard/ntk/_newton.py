"""Projected Newton steps for the smoothed margin dual, for near-zero margins (issue 13).

The dual min_{q in simplex} F(q), F(q) = (1/K) sum_k ||g_k(q)||, is smoothed to
F_mu(q) = (1/K) sum_k (sqrt(||g_k||^2 + mu^2) - mu) (F - mu <= F_mu <= F). First-order methods
need O(1/(tol * gamma)) iterations on it, which is what stalls them when gamma is 1e-3. Here
each step minimises the second-order model of F_mu over the simplex,

    p = argmin_{p in simplex} <grad, p - q> + 1/2 (p - q)^T H (p - q),

with the exact Hessian H (:meth:`PatternOperator.hessian`) restricted to the examples that can
carry weight (those with q_i > 0 or a gradient not far above its minimum: by the KKT conditions
the others have q*_i = 0), then minimises F_mu exactly along q + t (p - q) and shrinks mu. The
line search is cheap: G(q) is linear in q, so one product G(p - q) gives
F_mu(q + t (p - q)) = (1/K) sum_k (sqrt(||g_k + t h_k||^2 + mu^2) - mu) at O(K) per t (bisection
on its derivative, t up to the first example reaching zero weight, at most 64).

On near-zero margins F_mu is nearly non-smooth (mu is a fraction of tol * gamma) and the
quadratic model is too flat along the step: the best t is about 0.5 for many steps, and a step
with t < 1 leaves every example that the model puts at zero with a (1 - t) share of its weight,
so the active set stays at n. The model's Hessian is therefore scaled by a stiffness: divided by
the last best t when t != 1 (so the next model step is about the length the line search found),
halved towards 1 after a full step t = 1, between 1/16 and 16. Steps then reach the model's
support (zero weights outside it) and the active set shrinks early (measured on n = 2000,
d = 64: 11 Newton steps instead of 13, and smaller Hessians; docs/margin.md). The stiffness may
fall below 1 (solver 6): on low-dimensional real data (breast cancer, d = 30) many g_k(q*)
vanish and the model is too stiff along the step (best t of 1.2 to 4, the support alternating
between two sets); with a stiffness of at least 1 and mu down to 0.25 tol * upper the lower
bound crept and the stall rule stopped it at a relative gap of 1.2e-2 (issue 18).

H of more than 512 active examples is accumulated in float32 (it only shapes the model; F_mu,
the line search and the certificates stay in the compute dtype), which halves its cost; smaller
ones in the compute dtype (float32 rounding of the 1/mu curvature of vanishing g_k kept the
breast-cancer case from converging). The lower bound also takes the best convex combination of
the last primal points (:mod:`softhard.ntk._bundle`). The model is solved by
accelerated projected gradient with restarts, which finds the support approximately, then by a
primal-dual active-set method warm-started at the previous model solution's support, whose
rounds solve the KKT system on the support by Cholesky (a handful of rounds). Each step costs
O(|A|^2 K) for H, against O(n K d) for a first-order step, and typically 10 to 25 steps reach a
relative gap of 1e-3 where first-order methods run thousands of iterations.

Bounded work: at most ``max_iter`` steps, an optional wall-clock deadline, and a stall rule (the
gap upper - max(lower, 0) did not shrink by 10 % over 10 steps: on data whose margin is far
below the tolerance's reach, e.g. gamma ~ 1e-5, the lower bound can stay at 0).

Certificates are those of :mod:`softhard.ntk.margin`: every q gives the upper bound F(q); every
gradient of F_mu (and every g/||g||) is a primal point whose minimum margin is a lower bound.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import torch

from softhard.device import cpu_threads
from softhard.ntk._bundle import BestLower, Bundle
from softhard.ntk._operator import PatternOperator, project_simplex, unit_rows

_MU_SHRINK = 0.2  # mu_{t+1} = this * min(mu_t, smoothing * gap)
_MU_FLOOR = 1.0  # times tol * upper: mu never goes below this (F_mu differs from F by <= mu;
# the smoothed optimum's own gap is about 0.3 mu; 0.25 until solver 4: breast cancer stalled)
_STALL_WINDOW = 10  # stop when the gap upper - lower did not shrink by _STALL_RATIO over this many
_STALL_RATIO = 0.9  # Newton steps (progress that slow would not reach the tolerance in time)
_INNER_ITERATIONS = 30
_ACTIVE_SET_ROUNDS = 50
_RIDGE = 1e-9  # first ridge of the KKT factorisations, times the largest diagonal entry
_MAX_STEP = 64.0  # the line search looks up to this multiple of the model's step
_BISECTIONS = 40
_MAX_STIFFNESS = 16.0  # the model's Hessian is scaled by at most this
_MIN_STIFFNESS = 1.0 / 16.0  # ... and at least this
_RELAX = 2.0
_HESSIAN_DTYPE = torch.float32
_ONE_THREAD_HESSIAN = 512  # Hessians of at most this many active examples are built on one thread
# One torch thread (softhard.device.cpu_threads(1)) for the model QP (a long sequence of small
# dense operations: matrix-vector products, Cholesky factorisations of a few hundred to a few
# thousand rows), for Hessians of at most _ONE_THREAD_HESSIAN active examples, and (in
# softhard.ntk.margin) for whole problems with n * K <= 2**21. With two threads on a busy 2-core
# machine each parallel region waits for a descheduled thread: a 120-example estimate took 1.44 s
# with 2 threads against 0.085 s with 1 at a load average of 3.8. One thread also makes these
# parts' float32 rounding independent of the thread count. torch's thread count is global to the
# process: torch work in other Python threads gets one thread for that time too.


@dataclass(frozen=True)
class NewtonResult:
    q: torch.Tensor
    lower: BestLower
    upper: float
    iterations: int
    converged: bool
    stopped_by: str


def newton_solve(
    op: PatternOperator,
    q: torch.Tensor,
    *,
    mu: float,
    lower: BestLower,
    upper: float,
    tol: float,
    atol: float,
    smoothing: float,
    max_iter: int,
    deadline: float = math.inf,
) -> NewtonResult:
    """Projected Newton on F_mu from ``q`` with decreasing mu; keeps the best certificates.

    Stops when converged, after ``max_iter`` steps, when ``time.perf_counter()`` passes
    ``deadline``, or when stalled: the gap upper - max(lower, 0) did not shrink by
    ``_STALL_RATIO`` over the last ``_STALL_WINDOW`` steps (``stopped_by`` says which).
    """
    g = op.forward(q)
    best_q, best_up, best = q, upper, lower
    it, stopped_by, gaps = 0, "max_iter", []
    model = _Model(support=q > 0)
    bundle = Bundle()
    for it in range(1, max_iter + 1):  # noqa: B007  (used after the loop)
        s = torch.sqrt((g * g).sum(dim=1) + mu * mu)
        smooth = g / s[:, None]
        grad = op.margins(smooth)  # gradient of F_mu; also the margins of the primal point smooth
        best.offer(grad, smooth)
        bundle.add(grad, q, mu)
        q, g = model.step(op, q, g, s, grad, mu)
        u, norms = unit_rows(g)
        upper_q = float(norms.mean())
        unit_margins = op.margins(u)
        bundle.add(unit_margins, q, 0.0)
        best.offer(unit_margins, u)
        bundle.offer_best(op, best)  # the best convex combination of recent primal points
        if upper_q < best_up:
            best_q, best_up = q, upper_q
        gap = best_up - best.value
        gaps.append(gap)
        reason = _stop_reason(gaps, best_up, tol=tol, atol=atol, deadline=deadline)
        if reason is not None:
            stopped_by = reason
            break
        mu = max(_MU_SHRINK * min(mu, smoothing * gap), _MU_FLOOR * tol * best_up)
    return NewtonResult(best_q, best, best_up, it, stopped_by == "converged", stopped_by)


def _stop_reason(
    gaps: list[float], upper: float, *, tol: float, atol: float, deadline: float
) -> str | None:
    """``converged``, ``stalled`` (the gap did not shrink by ``_STALL_RATIO`` over the last
    ``_STALL_WINDOW`` steps), ``max_seconds`` (past ``deadline``) or None: go on."""
    if gaps[-1] <= tol * upper or upper <= atol:
        return "converged"
    if len(gaps) > _STALL_WINDOW and gaps[-1] > _STALL_RATIO * gaps[-1 - _STALL_WINDOW]:
        return "stalled"
    if time.perf_counter() > deadline:
        return "max_seconds"
    return None


@dataclass
class _Model:
    """The quadratic model's state between steps: its stiffness and its last solution's support."""

    support: torch.Tensor  # the last model solution's support warm-starts the next model QP
    stiffness: float = 1.0  # the model's Hessian is H times this (see the module docstring)

    def step(
        self,
        op: PatternOperator,
        q: torch.Tensor,
        g: torch.Tensor,
        s: torch.Tensor,
        grad: torch.Tensor,
        mu: float,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One projected Newton step from ``q`` (G = ``g``, s = sqrt(||g_k||^2 + mu^2), gradient
        ``grad`` of F_mu): the model's minimiser on the simplex, then the exact line search."""
        f = float((s - mu).mean())
        active = _active(q, grad, f)
        small = len(active) <= _ONE_THREAD_HESSIAN  # exact (compute dtype) when cheap
        with cpu_threads(1 if small else None):
            hess = op.hessian(g, s, active, dtype=None if small else _HESSIAN_DTYPE)
        if self.stiffness != 1.0:
            hess = hess * self.stiffness
        with cpu_threads(1):  # the model QP: small dense steps (see _ONE_THREAD_HESSIAN)
            p = simplex_qp(
                hess, grad[active] - hess @ q[active], q[active], support=self.support[active]
            )
        self.support = torch.zeros_like(q, dtype=torch.bool)
        self.support[active] = p > 0
        direction = -q.clone()
        direction[active] += p
        q, g, t = _line_search(op, q, g, direction, f, float(grad @ direction), mu)
        if t > 0:  # the best step t: the model was too flat (t < 1) or too stiff (t > 1) by ~1/t
            if t == 1.0:  # a full step: relax toward 1 (halve a stiffness above 1)
                stiffness = max(self.stiffness / _RELAX, min(self.stiffness, 1.0))
            else:
                stiffness = self.stiffness / t
            self.stiffness = min(max(stiffness, _MIN_STIFFNESS), _MAX_STIFFNESS)
        return q, g


def _active(q: torch.Tensor, grad: torch.Tensor, f: float) -> torch.Tensor:
    """Examples that may carry weight: q_i > 0, or grad_i <= f + (f - min grad).

    For 1-homogeneous F, <q, grad> = F(q): the q-weighted mean of the gradient is f, and at the
    optimum every example with weight has the minimal gradient. Those far above it stay at 0.
    """
    low = float(grad.min())
    return torch.nonzero((q > 0) | (grad <= 2 * f - low)).squeeze(1)


def _line_search(
    op: PatternOperator,
    q: torch.Tensor,
    g: torch.Tensor,
    direction: torch.Tensor,
    f: float,
    slope: float,
    mu: float,
) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Exact line search on F_mu along ``direction`` (the point itself if it does not descend).

    G is linear in q, so G(q + t d) = G + t H with H = G(d): one product, after which
    phi(t) = F_mu(q + t d) costs O(K) per value. phi is convex; its minimiser on [0, t_max]
    (t_max: the largest step that keeps q + t d >= 0, at least 1 since d = p - q with p on the
    simplex) is found by bisection on phi'. The new G is recomputed from the new q.
    """
    if not slope < 0:
        return q, g, 0.0
    h = op.forward(direction)
    a, b, c = (g * g).sum(dim=1), (g * h).sum(dim=1), (h * h).sum(dim=1)
    falling = direction < 0
    t_max = float((q[falling] / -direction[falling]).min()) if falling.any() else 1.0
    t_max = min(max(t_max, 1.0), _MAX_STEP)

    def slope_at(t: float) -> float:
        return float(((b + t * c) / torch.sqrt(a + t * (2 * b + t * c) + mu * mu)).mean())

    lo, hi = 0.0, t_max
    if slope_at(hi) <= 0:
        lo = hi
    else:
        for _ in range(_BISECTIONS):
            mid = 0.5 * (lo + hi)
            if slope_at(mid) <= 0:
                lo = mid
            else:
                hi = mid
    if lo <= 0:
        return q, g, 0.0
    q_new = torch.clamp(q + lo * direction, min=0.0)
    g_new = op.forward(q_new)
    f_new = float((torch.sqrt((g_new * g_new).sum(dim=1) + mu * mu) - mu).mean())
    if not f_new < f:
        return q, g, 0.0
    return q_new, g_new, lo


def simplex_qp(
    hess: torch.Tensor,
    c: torch.Tensor,
    start: torch.Tensor,
    support: torch.Tensor | None = None,
) -> torch.Tensor:
    """argmin_{p in simplex} <c, p> + 1/2 p^T hess p (hess symmetric PSD).

    Accelerated projected gradient (step 1/L, L from power iteration, adaptive restart) from
    ``start`` finds the support approximately; a primal-dual active-set method (:func:`_active_set`)
    then solves the problem on it exactly. The answer is kept only when it lowers the objective.
    """

    lip = 1.1 * _largest_eigenvalue(hess)
    if not lip > 0:
        return start
    p, p_prev, t = start.clone(), start.clone(), 1.0
    for _ in range(_INNER_ITERATIONS):
        t_next = (1.0 + math.sqrt(1.0 + 4.0 * t * t)) / 2.0
        w = p + ((t - 1.0) / t_next) * (p - p_prev)
        p_new = project_simplex(w - (c + hess @ w) / lip)
        if float((p_new - p) @ (p - p_prev)) < 0:
            t_next = 1.0  # restart the momentum
        p_prev, p, t = p, p_new, t_next
        if float(torch.linalg.vector_norm(p - p_prev, ord=1)) <= 1e-13:
            break
    if support is None or not support.any():
        support = p > 0
    return _active_set(hess, c, p, support)


def _active_set(
    hess: torch.Tensor, c: torch.Tensor, p: torch.Tensor, support: torch.Tensor
) -> torch.Tensor:
    """Primal-dual active-set method for the simplex QP, warm-started at the support of ``p``.

    On the support S solve hess_SS p_S + c_S = lambda 1, sum p_S = 1 (KKT, by Cholesky); then
    the next support keeps the examples of S with positive weight and adds those outside S whose
    multiplier (hess p + c - lambda)_i is negative. A support that does not change gives the
    exact minimiser. Each round's solution, clipped to the simplex, is a candidate; the best
    candidate (or ``p`` itself) is returned, so the answer never has a higher objective than ``p``.
    """

    def objective(v: torch.Tensor) -> float:
        return float(c @ v + 0.5 * v @ (hess @ v))

    best, best_value = p, objective(p)
    scale = float(torch.linalg.vector_norm(c, ord=math.inf)) + float(hess.abs().max())
    ridge = _RIDGE
    for _ in range(_ACTIVE_SET_ROUNDS):
        solved = _kkt(hess, c, support, ridge)
        if solved is None:
            break
        target, lam, ridge = solved  # the next round starts at the ridge that factored
        candidate = torch.clamp(target, min=0.0)
        candidate = candidate / candidate.sum()
        value = objective(candidate)
        if value < best_value:
            best, best_value = candidate, value
        multipliers = hess @ target + c - lam
        entering = ~support & (multipliers < -1e-12 * scale)
        leaving = support & (target <= 0)
        if not (entering.any() or leaving.any()):
            break  # optimal
        support = (support & ~leaving) | entering
    return best


def _kkt(
    hess: torch.Tensor, c: torch.Tensor, support: torch.Tensor, ridge: float = 1e-9
) -> tuple[torch.Tensor, float, float] | None:
    """Minimiser on {p_S: sum = 1} (zero off S), its multiplier and the ridge used; None if it fails.

    p_S = a + lambda b with hess_SS a = -c_S, hess_SS b = 1 (Cholesky of hess_SS plus a ridge of
    ``ridge`` times its largest diagonal entry, raised tenfold until it factors: the Hessian is
    accumulated in float32, whose rounding alone can make it slightly indefinite).
    """
    idx = torch.nonzero(support).squeeze(1)
    m = len(idx)
    if m == 0:
        return None
    sub = hess[idx[:, None], idx]  # a copy: the ridge goes onto its diagonal in place
    top = max(float(sub.diagonal().max()), 1e-300)
    added = 0.0
    for _ in range(40):
        sub.diagonal().add_(ridge * top - added)
        added = ridge * top
        chol, info = torch.linalg.cholesky_ex(sub)
        if int(info) == 0:
            break
        ridge *= 10.0
    else:
        return None
    rhs = torch.stack([-c[idx], torch.ones_like(c[idx])], dim=1)
    ab = torch.cholesky_solve(rhs, chol)
    a, b = ab[:, 0], ab[:, 1]
    lam = (1.0 - float(a.sum())) / float(b.sum())
    sol = a + lam * b
    if not (torch.isfinite(sol).all() and math.isfinite(lam)):
        return None
    full = torch.zeros_like(c)
    full[idx] = sol
    return full, lam, ridge


def _largest_eigenvalue(hess: torch.Tensor, iterations: int = 20) -> float:
    """Power iteration for the largest eigenvalue of a symmetric PSD matrix."""
    v = torch.ones(hess.shape[0], dtype=hess.dtype, device=hess.device)
    v = v / torch.linalg.vector_norm(v)
    value = 0.0
    for _ in range(iterations):
        w = hess @ v
        value = float(torch.linalg.vector_norm(w))
        if value == 0:
            return 0.0
        v = w / value
    return value
