"""The best convex combination of the solver's primal points: a lower bound that iterates share.

Every primal point the solver visits is a set of vectors u_k with ||u_k|| <= 1 (the smoothed
gradient's g_k / sqrt(||g_k||^2 + mu^2), or g_k / ||g_k||), and its margins
m_i(u) = y_i (1/K) sum_k D_ki <u_k, x_i> are linear in u. A convex combination
v = sum_j alpha_j u^(j) is again a primal point (||v_k|| <= 1), with margins sum_j alpha_j m(u^(j)).
So the best combination of the last J points is the small matrix game

    max_{alpha in simplex_J} min_i (M alpha)_i,   M = [m(u^(1)) ... m(u^(J))]  (n x J),

a linear program solved by HiGHS (scipy). On near-zero margins of low-dimensional data (the
breast-cancer and wine sets of ``benchmarks/bench_margin.py``) many g_k(q*) vanish, the
primal vectors of those directions are ill-determined and each Newton iterate's own margins
carry errors of a few times the gap in different examples; their combination cancels them (see
docs/margin.md). The certificate does not trust the LP: the combination is rebuilt from the
stored (q, mu) of each point with alpha_j > 0 and its margins are recomputed in the compute dtype.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from scipy.optimize import linprog

from softhard.ntk._operator import PatternOperator

_MAX_POINTS = 48  # the most recent primal points kept


@dataclass
class BestLower:
    """The best lower bound so far and the primal point V (K, d) that certifies it (None: v = 0)."""

    value: float = 0.0
    primal: torch.Tensor | None = None

    def offer(self, margins: torch.Tensor, v: torch.Tensor) -> None:
        """Keep ``v`` if its smallest margin (``margins`` = m(v)) beats the best so far."""
        value = float(margins.min())
        if value > self.value:
            self.value, self.primal = value, v


@dataclass
class Bundle:
    """The last ``_MAX_POINTS`` primal points (their margins, and the q and mu that rebuild them)."""

    margins: list[torch.Tensor] = field(default_factory=list)
    points: list[tuple[torch.Tensor, float]] = field(default_factory=list)

    def add(self, margins: torch.Tensor, q: torch.Tensor, mu: float) -> None:
        """A primal point u = G(q) / sqrt(||G(q)||^2 + mu^2) (mu = 0: G / ||G||) and its margins."""
        self.margins.append(margins.detach())
        self.points.append((q.detach(), mu))
        if len(self.margins) > _MAX_POINTS:
            del self.margins[0], self.points[0]

    def offer_best(self, op: PatternOperator, best: BestLower) -> None:
        """Offer the best combination of the points to ``best`` (its margins recomputed)."""
        if len(self.margins) < 2:
            return
        alpha = _best_weights(torch.stack(self.margins, dim=1).cpu().double().numpy())
        if alpha is None:
            return
        v = torch.zeros_like(op.forward(self.points[0][0]))
        for weight, (q, mu) in zip(alpha.tolist(), self.points, strict=True):
            if weight > 0:
                g = op.forward(q)
                s = torch.sqrt((g * g).sum(dim=1) + mu * mu)
                v += weight * (g / torch.where(s > 0, s, 1.0)[:, None])
        # rounding can push a row's norm a hair above 1: scale such rows back (still a lower bound)
        norms = torch.linalg.vector_norm(v, dim=1)
        v = v / torch.clamp(norms, min=1.0)[:, None]
        best.offer(op.margins(v), v)


def _best_weights(m: np.ndarray) -> np.ndarray | None:
    """argmax_{alpha in simplex} min_i (m alpha)_i by linear programming (None if it fails)."""
    n, j = m.shape
    scale = float(np.abs(m).max()) or 1.0
    cost = np.zeros(j + 1)
    cost[-1] = -1.0  # maximise t
    a_ub = np.hstack([-m / scale, np.ones((n, 1))])  # t - (m alpha)_i <= 0
    a_eq = np.hstack([np.ones((1, j)), np.zeros((1, 1))])
    bounds = [(0.0, None)] * j + [(None, None)]
    res = linprog(cost, A_ub=a_ub, b_ub=np.zeros(n), A_eq=a_eq, b_eq=[1.0], bounds=bounds)
    if res.status != 0:
        return None
    alpha = np.clip(res.x[:j], 0.0, None)
    total = alpha.sum()
    return alpha / total if total > 0 else None
