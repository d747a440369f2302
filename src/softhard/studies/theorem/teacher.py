"""The kernel teacher with its own directions, and the margin's Monte-Carlo diagnostics.

The kernel-limit teacher F(x) = beta E_z[<v(z), x> 1[<z, x> > 0]] is estimated here with
``K_teacher`` directions of its own (a seed stream apart from the margin solver's), so that it is
not itself a width-K network of the same size as the students it judges (issue 20). The same
pass gives, per example i, the mean and spread over z of the margin integrand

    phi_i(z) = y_i 1[<z, x_i> > 0] <v(z), x_i>,

whose mean is example i's margin (>= gamma for the optimal q); the spread decides how many
directions (neurons) a Monte-Carlo average needs: kappa = sqrt(sum_i q_i Var phi_i) / gamma.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from softhard.studies.theorem.reference import field_directions

__all__ = ["TeacherField", "teacher_field"]

_CHUNK = 16384
_SEED_STREAM = 20  # the teacher's directions: numpy SeedSequence((seed, _SEED_STREAM))


@dataclass(frozen=True)
class TeacherField:
    """h(x_i) = E_z[<v(z), x_i> 1[<z, x_i> > 0]] on K_teacher fresh directions, with spreads.

    Attributes:
        h: the teacher's unscaled logit per example, shape ``(n,)`` (float64); F = beta h.
        integrand_std: per-example standard deviation of phi_i(z) over the directions.
        num_directions: K_teacher.
        fresh_lower: min_i y_i h(x_i): the margin of q's field on these fresh directions (a
            lower estimate of gamma, biased low by the minimum over examples).
        kappa: sqrt(sum_i q_i Var phi_i) / gamma (the q-weighted spread over the margin).
        kappa_max: max over the support of q (q_i > 1e-3 max q) of std phi_i / gamma.
    """

    h: torch.Tensor
    integrand_std: torch.Tensor
    num_directions: int
    fresh_lower: float
    kappa: float
    kappa_max: float


def teacher_directions(num: int, dim: int, seed: int, start: int, stop: int) -> torch.Tensor:
    """Directions ``start..stop`` of the teacher's stream (float32), drawn block by block."""
    block = start // _CHUNK
    ss = np.random.SeedSequence((seed, _SEED_STREAM, block))
    gen = torch.Generator().manual_seed(int(ss.generate_state(1)[0]))
    return torch.randn(stop - start, dim, generator=gen, dtype=torch.float32)


def teacher_field(
    x: torch.Tensor,
    y: torch.Tensor,
    q: torch.Tensor,
    *,
    gamma: float,
    num_directions: int,
    seed: int = 0,
) -> TeacherField:
    """Estimate h, the integrand spreads and kappa with ``num_directions`` fresh directions.

    Float32 products in blocks of directions, sums in float64: memory O(n * block).
    """
    if num_directions < 2:
        raise ValueError(f"teacher directions must be >= 2, got {num_directions}")
    xf, yf, qf = (t.to(torch.float32) for t in (x, y, q))
    n = x.shape[0]
    total = torch.zeros(n, dtype=torch.float64)
    square = torch.zeros(n, dtype=torch.float64)
    for start in range(0, num_directions, _CHUNK):
        stop = min(start + _CHUNK, num_directions)
        z = teacher_directions(num_directions, x.shape[1], seed, start, stop)
        v, active = field_directions(z, xf, yf, qf)
        phi = (active * (v @ xf.T)).to(torch.float64)  # (block, n): 1[z.x > 0] <v, x>
        total += phi.sum(0)
        square += (phi * phi).sum(0)
    h = total / num_directions
    var = (square / num_directions - h * h).clamp_min(0.0) * num_directions / (num_directions - 1)
    std = var.sqrt()
    yd, qd = y.to(torch.float64), q.to(torch.float64)
    support = qd > 1e-3 * float(qd.max())
    return TeacherField(
        h=h,
        integrand_std=std,
        num_directions=num_directions,
        fresh_lower=float((yd * h).min()),
        kappa=math.sqrt(float((qd * var).sum())) / gamma,
        kappa_max=float(std[support].max()) / gamma,
    )
