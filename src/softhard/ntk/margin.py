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

Solver settings of :func:`estimate_margin`:

- ``tol``: stop when ``upper - lower <= tol * upper``; ``max_iter``: iteration cap
  (``converged`` is False if it is hit first).
- ``device``: where to compute ("cpu", "cuda", ...); ``dtype``: compute dtype (float64 by
  default: gaps of 1e-3 on margins of 1e-2 need it).
- ``chunk_size``: directions per chunk; memory besides the pattern cache is O(n * chunk_size).
  ``max_cache_bytes``: cache the (K, n) pattern if it fits, else recompute it block by block.
- ``directions``: explicit z_k, shape ``(K, d)``, instead of sampling them.
  ``fresh_directions``: number of fresh directions for ``fresh_lower``/``fresh_upper``
  (default K; 0 skips them and sets them to NaN).
- ``max_newton_steps``: cap on the projected Newton steps (each costs O(n^2 K); see
  docs/margin.md). With ``max_iter`` it bounds the work whatever the data.
- ``max_seconds``: optional wall-clock budget of the solver (checked once per iteration, so it
  may be overrun by one iteration). ``None`` (the default) keeps the answer deterministic; a
  budget makes it depend on the machine's speed.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from softhard.config import DEFAULT_MARGIN_SEED, DEFAULT_NUM_DIRECTIONS
from softhard.device import cpu_threads, resolve_device
from softhard.ntk._first_order import Limits, Solution, solve_dual
from softhard.ntk._inputs import check_settings, given_directions, signed_labels_and_inputs
from softhard.ntk._operator import PatternOperator, project_simplex, unit_rows
from softhard.ntk.separability import MarginStatus, has_exact_conflicts, margin_status

__all__ = [
    "SOLVER_VERSION",
    "MarginEstimate",
    "estimate_margin",
    "margin_directions",
    "project_simplex",
]

SOLVER_VERSION = 6
"""Bumped whenever the solver's answers may change (keys the cache of estimates)."""

_ABS_TOL = 1e-3  # times tol times max ||x_i||: the resolution (an upper bound below it: gamma = 0)
_ONE_THREAD_WORK = 2**21  # n * K up to this: the whole estimate runs on one torch thread


@dataclass(frozen=True)
class MarginEstimate:
    """The NTK margin of a dataset for K sampled directions, with its certificate.

    Attributes:
        gamma: the estimate of gamma_K, the midpoint of ``[lower, upper]``.
        lower: primal certificate: min_i y_i (1/K) sum_k <v_k, x_i> D_ki for the explicit point
            v = ``primal`` (a smoothed gradient's or g_k/||g_k||'s vectors of an iterate, or the
            best convex combination of recent ones; v = 0 gives 0): gamma_K >= lower.
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
        primal: the primal point v that certifies ``lower``, shape ``(K, d)`` (float64, CPU):
            ||v_k|| <= 1 and min_i y_i (1/K) sum_k <v_k, x_i> D_ki = ``lower`` (zeros when
            ``lower`` is 0), so anyone can check the lower bound.
        iterations: solver iterations run.
        seconds: wall-clock time of the whole estimate.
        num_directions: K.
        converged: whether the bracket reached ``upper - lower <= tol * upper`` with
            ``lower > 0``; never true with a relative gap of 1 (data that are not separable
            have ``status == "not_separable"`` and ``converged`` False).
        tol: the relative-gap tolerance asked for.
        seed: the seed of the directions (``None`` when directions were given).
        stopped_by: why the solver stopped: ``"converged"``, ``"max_iter"`` (the iteration cap),
            ``"max_newton_steps"`` (the cap on Newton steps), ``"max_seconds"`` (the time budget)
            ``"stalled"`` (the Newton phase stopped shrinking the gap) or ``"not_separable"``
            (the upper bound fell to the resolution). Whatever the reason, ``[lower, upper]``
            is a valid bracket of gamma_K.
        status: ``"separable"`` (lower > 0), ``"not_separable"`` (upper <= ``resolution``) or
            ``"not_certified"`` (neither): see :mod:`softhard.ntk.separability`. Only a
            separable estimate's gamma may be used as a number (``require_separable``).
        resolution: ``1e-3 * tol * max_i ||x_i||``: an upper bound at or below it means gamma = 0.
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
    primal: torch.Tensor = field(repr=False)
    iterations: int
    seconds: float
    num_directions: int
    converged: bool
    tol: float
    seed: int | None
    stopped_by: str = "converged"
    status: MarginStatus = "separable"
    resolution: float = 0.0

    @property
    def separable(self) -> bool:
        """Whether a positive margin is certified (``status == "separable"``)."""
        return self.status == "separable"

    @property
    def gap(self) -> float:
        """Relative gap ``(upper - lower) / upper`` (1 when upper is 0: nothing relative is certified)."""
        return (self.upper - self.lower) / self.upper if self.upper > 0 else 1.0

    @property
    def error(self) -> float:
        """One-sigma error of ``gamma`` as an estimate of gamma: ``stderr + (upper - lower) / 2``."""
        return self.stderr + (self.upper - self.lower) / 2

    def summary(self) -> dict[str, float | int | bool | str]:
        """The scalar fields, for one row of a results table (gamma NaN unless separable)."""
        return {
            "gamma": self.gamma if self.separable else math.nan,
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
            "gamma_stopped_by": self.stopped_by,
            "gamma_status": self.status,
        }


def estimate_margin(
    x: torch.Tensor | np.ndarray,
    y: torch.Tensor | np.ndarray,
    *,
    num_directions: int = DEFAULT_NUM_DIRECTIONS,
    seed: int = DEFAULT_MARGIN_SEED,
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
        seed: seed of the directions (drawn on CPU, so CPU and CUDA see the same z_k; default
            :data:`softhard.config.DEFAULT_MARGIN_SEED`, shared with configs and the CLI).
        tol, max_iter, device, dtype, ...: the solver settings (see the module docstring).

    Returns a :class:`MarginEstimate` (check its ``status`` before using gamma as a number).
    Raises DataError on bad ``x``/``y`` (shapes, NaN/inf, empty, labels, zero rows) and
    ConfigError on bad solver settings or a device torch cannot use.
    """
    start = time.perf_counter()
    settings = (num_directions, tol, max_iter, chunk_size, fresh_directions, max_newton_steps)
    check_settings(*settings, max_seconds, seed=seed)
    device = resolve_device(device)
    xt, yt = signed_labels_and_inputs(x, y, dtype=dtype, device=device)
    z_solve, z_fresh = _solve_and_fresh(
        directions, num_directions, xt.shape[1], seed, fresh_directions
    )
    deadline = math.inf if max_seconds is None else start + max_seconds
    limits = Limits(max_iter=max_iter, max_newton_steps=max_newton_steps, deadline=deadline)
    z = (z_solve.to(device, dtype), z_fresh.to(device, dtype))
    est, fresh = _solve_and_certify(
        xt, yt, z, tol=tol, chunk_size=chunk_size, max_cache_bytes=max_cache_bytes, limits=limits
    )
    return MarginEstimate(
        **est,
        fresh_lower=fresh[0],
        fresh_upper=fresh[1],
        directions=z_solve,
        seconds=time.perf_counter() - start,
        tol=tol,
        seed=seed if directions is None else None,
    )


def _solve_and_certify(
    xt: torch.Tensor,
    yt: torch.Tensor,
    z: tuple[torch.Tensor, torch.Tensor],
    *,
    tol: float,
    chunk_size: int,
    max_cache_bytes: int,
    limits: Limits,
) -> tuple[dict[str, Any], tuple[float, float]]:
    """Solve the dual on the solve directions ``z[0]``, certify it, and bound it on ``z[1]``."""
    z_solve, z_fresh = z
    # small problems on one thread: see softhard.ntk._newton (parallel regions on a busy machine)
    with cpu_threads(1 if xt.shape[0] * len(z_solve) <= _ONE_THREAD_WORK else None):
        op = PatternOperator(
            xt, yt, z_solve, chunk_size=chunk_size, max_cache_bytes=max_cache_bytes
        )
        resolution = _ABS_TOL * tol * float(torch.linalg.vector_norm(xt, dim=1).max())
        sol = solve_dual(op, len(xt), tol=tol, atol=resolution, limits=limits)
        conflicts = has_exact_conflicts(xt, yt)
        est = _certify(op, sol, tol=tol, resolution=resolution, conflicts=conflicts)
        fresh = _fresh(xt, yt, sol.q, z_fresh, chunk_size, max_cache_bytes)
    return est, fresh


def _solve_and_fresh(
    directions: torch.Tensor | None, k: int, d: int, seed: int, fresh: int | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """The solve directions (drawn, or given) and the fresh ones."""
    if directions is None:
        return margin_directions(k, d, seed, fresh=fresh)
    z_solve = given_directions(directions, d)
    z_fresh = margin_directions(0, d, seed, fresh=len(z_solve) if fresh is None else fresh)[1]
    return z_solve, z_fresh


def _certify(
    op: PatternOperator, sol: Solution, *, tol: float, resolution: float, conflicts: bool
) -> dict[str, Any]:
    """The bracket at the solver's answer, its status and why the solver stopped."""
    u, norms = unit_rows(op.forward(sol.q))
    best = sol.lower
    best.offer(op.margins(u), u)
    lower = best.value
    primal = best.primal if best.primal is not None else torch.zeros_like(u)
    upper = min(sol.upper, float(norms.mean()))
    status = margin_status(lower, upper, resolution, conflicts=conflicts)
    converged = status == "separable" and upper - lower <= tol * upper
    stopped_by = "converged" if converged else sol.stopped_by
    if status == "not_separable":
        stopped_by = "not_separable"
    k = op.num_directions
    q = sol.q.detach().to("cpu", torch.float64)
    return {
        "gamma": (lower + upper) / 2,
        "lower": lower,
        "upper": upper,
        "stderr": float(norms.std()) / math.sqrt(k) if k > 1 else math.inf,
        "q": q,
        "primal": primal.detach().to("cpu", torch.float64),
        "hardest": torch.argsort(q, descending=True, stable=True),
        "iterations": sol.iterations,
        "num_directions": k,
        "converged": converged,
        "stopped_by": stopped_by,
        "status": status,
        "resolution": resolution,
    }


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
