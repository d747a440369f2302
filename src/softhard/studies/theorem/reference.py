"""The proof's reference point U = W0 + s V-bar and the losses there (docs/theorem.md).

With the certified margin solution q of a task, the unit field

    v(z) = g(z; q) / ||g(z; q)||,   g(z; q) = sum_i q_i y_i 1[<z, x_i> > 0] x_i

(zero where g vanishes) gives each neuron a direction from its own initial weight:
V-bar_s = a_s v(w_s(0)) / sqrt(m). The reference point is U = W0 + s V-bar; soft labels take
s = beta (the kernel teacher's logit scale), hard labels s = lambda = c ln(1/eps) / gamma (after
Ji and Telgarsky; c is :data:`HARD_CONSTANT` unless set). At U the logit splits exactly into

    f(x; U) = f(x; W0) + s h_m(x) + flip_m(x),
    h_m(x) = (1/m) sum_s 1[<w_s(0), x> > 0] <v(w_s(0)), x>        (the linearised part)
    flip_m(x) = (1/sqrt m) sum_s a_s [relu(p_s + e_s) - 1[p_s > 0] (p_s + e_s)]
                with p_s = <w_s(0), x>, e_s = s a_s <v(w_s(0)), x> / sqrt(m)
                                                                   (the activation-pattern flips),

because a_s^2 = 1. y_i h_m(x_i) is a Monte-Carlo estimate of example i's margin with the m
initial weights as directions, so the linearised margin of U is s times the primal margin of q's
field on those directions. Every loss at U is reported whole and as its value at the linearised
logit plus the rest (the flip part).

The width grid is nested: width m uses the first m neurons of one draw of the largest width
(pairs stay pairs under the symmetric initialisation), so one matrix of pre-activations serves
every width, and the linearised parts are prefix sums.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from softhard.models.two_layer import Init, init_two_layer

__all__ = [
    "HARD_CONSTANT",
    "NeuronFeatures",
    "ReferencePoint",
    "field_directions",
    "hard_scale",
    "reference_point",
]

HARD_CONSTANT = 1.0
"""c in lambda = c ln(1/eps) / gamma, the hard-label scale of the reference point (ours; the
proof of Ji and Telgarsky uses a lambda of this order, with other constants and a log(n/delta)
term; see docs/theorem.md)."""

_CHUNK = 2048  # neurons per piece: memory O(n * _CHUNK), pieces stay in cache


def hard_scale(gamma: float, eps: float, c: float = HARD_CONSTANT) -> float:
    """lambda = c ln(1/eps) / gamma, the hard-label reference scale (eps in (0, 1), gamma > 0)."""
    if not 0 < eps < 1:
        raise ValueError(f"hard-label eps must be in (0, 1), got {eps}")
    if not gamma > 0:
        raise ValueError(f"gamma must be > 0, got {gamma}")
    return c * math.log(1.0 / eps) / gamma


def field_directions(
    z: torch.Tensor, x: torch.Tensor, y: torch.Tensor, q: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(v, active)``: v(z_k) = g(z_k; q)/||g(z_k; q)|| (rows; 0 where g = 0), shape ``(K, d)``,
    and the pattern ``active[k, i] = 1[<z_k, x_i> > 0]``, shape ``(K, n)``, in z's dtype."""
    active = (z @ x.T > 0).to(z.dtype)
    g = (active * (q * y).to(z.dtype)) @ x
    norms = torch.linalg.vector_norm(g, dim=1, keepdim=True)
    return g / norms.clamp_min(torch.finfo(z.dtype).tiny), active


@dataclass(frozen=True)
class ReferencePoint:
    """U = W0 + scale * V-bar for one network (see the module docstring).

    Attributes:
        weight0: W0, shape ``(m, d)``.
        a: output signs, shape ``(m,)``.
        direction: V-bar, rows a_s v(w_s(0)) / sqrt(m), shape ``(m, d)``; ||V-bar||_F <= 1.
        scale: s (beta for soft labels, lambda for hard labels).
    """

    weight0: torch.Tensor
    a: torch.Tensor
    direction: torch.Tensor
    scale: float

    @property
    def weight(self) -> torch.Tensor:
        """U itself, shape ``(m, d)``."""
        return self.weight0 + self.scale * self.direction

    def logits(self, x: torch.Tensor, *, linearised: bool = False) -> torch.Tensor:
        """f(x; U), or with ``linearised`` the model linearised at W0 and evaluated at U."""
        m = self.weight0.shape[0]
        if not linearised:
            return torch.relu(x @ self.weight.T) @ self.a / math.sqrt(m)
        pre = x @ self.weight0.T
        f0 = torch.relu(pre) @ self.a / math.sqrt(m)
        return f0 + ((pre > 0).to(x.dtype) * (x @ self.direction.T)) @ self.a * (
            self.scale / math.sqrt(m)
        )


def reference_point(
    x: torch.Tensor | np.ndarray,
    y: torch.Tensor | np.ndarray,
    q: torch.Tensor | np.ndarray,
    *,
    width: int,
    scale: float,
    seed: int = 0,
    init: Init = "symmetric",
) -> ReferencePoint:
    """The reference point U = W0 + scale * V-bar of the proof (float64, CPU).

    Args:
        x: inputs ``(n, d)`` (unit rows in the theory); y: labels in {-1, +1}, shape ``(n,)``.
        q: the margin solution on the simplex, shape ``(n,)`` (``MarginEstimate.q``).
        width: m (even for the symmetric initialisation).
        scale: s: ``beta`` for soft labels, :func:`hard_scale` for hard labels.
        seed: initialisation seed (:func:`softhard.models.two_layer.init_two_layer`).
        init: ``"symmetric"`` (f(x; W0) = 0, the default here) or ``"plain"``.
    """
    xt = torch.as_tensor(x, dtype=torch.float64)
    yt, qt = torch.as_tensor(y, dtype=torch.float64), torch.as_tensor(q, dtype=torch.float64)
    w0, a = init_two_layer(width, xt.shape[1], seed=seed, init=init, signs="balanced")
    v, _ = field_directions(w0, xt, yt, qt)
    return ReferencePoint(w0, a, v * a[:, None] / math.sqrt(width), float(scale))


@dataclass(frozen=True)
class NeuronFeatures:
    """Per-neuron quantities of one initialisation at the largest width, shared by all widths.

    The flip part needs, for each example and width m, the neurons s < m whose pre-activation
    changes sign between W0 and U. With k = s/sqrt(m), p_s + k a_s t_s (t_s = <v(w_s(0)), x>)
    vanishes at k = u_s = -p_s / (a_s t_s), so neuron s flips exactly when 0 < u_s < k, and then
    a_s [relu(p_s + e_s) - 1[p_s > 0](p_s + e_s)] = a_s sigma_s p_s + k sigma_s t_s with
    sigma_s = -1 if p_s > 0 else +1. So flip_m = (A + k B) / sqrt(m), A and B the sums of
    a sigma p and sigma t over the flipped neurons. Neurons are grouped in the blocks between
    consecutive grid widths; the scales are known in advance, so each block's entries are
    bucketed once by the thresholds k its queries use (``torch.bucketize``) and summed per
    bucket: no sort, and every (width, scale) query is a cumulative sum per block.

    Attributes:
        widths: the nested grid (the largest is M).
        lin_prefix: prefix sums over s of 1[p > 0] t at each grid width, ``(n, len(widths))``.
        f0_prefix: prefix sums of a_s relu(p) at each grid width (None: symmetric init, f0 = 0).
        blocks: per block, (thresholds k, cumulative A, cumulative B), the sums ``(n, #k)``:
            column i sums the block's entries with u < k[i].
    """

    widths: tuple[int, ...]
    lin_prefix: torch.Tensor
    f0_prefix: torch.Tensor | None
    blocks: tuple[tuple[torch.Tensor, torch.Tensor, torch.Tensor], ...]

    @classmethod
    def draw(
        cls,
        x: torch.Tensor,
        y: torch.Tensor,
        q: torch.Tensor,
        *,
        widths: list[int],
        seed: int,
        scales: list[float],
        init: Init = "symmetric",
        weight0: torch.Tensor | None = None,
    ) -> NeuronFeatures:
        """Draw W0 of ``max(widths)`` neurons (or take ``weight0``, rows paired with opposite
        signs under the symmetric init) and compute the features in float32 blocks."""
        grid = sorted(widths)
        if weight0 is None:
            w0, a = init_two_layer(grid[-1], x.shape[1], seed=seed, init=init, signs="balanced")
        else:
            w0, a = _given_init(weight0, init)
        xf, yf, qf = (t.to(torch.float32) for t in (x, y, q))
        wf, af = w0.to(torch.float32), a.to(torch.float32)
        lin, f0, blocks = [], [], []
        for j, (lo, hi) in enumerate(zip([0, *grid[:-1]], grid, strict=True)):
            ks = _thresholds(grid, scales, j)
            block = _block(wf[lo:hi], af[lo:hi], xf, yf, qf, ks, plain=init != "symmetric")
            lin.append(block[0])
            f0.append(block[1])
            blocks.append((ks, block[2], block[3]))
        f0_prefix = None if init == "symmetric" else torch.stack(f0, 1).cumsum(1)
        return cls(tuple(grid), torch.stack(lin, 1).cumsum(1), f0_prefix, tuple(blocks))

    def parts(self, width: int, scale: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(f0, s h_m, flip_m)`` at grid width ``width`` (the first ``width`` neurons), each
        ``(n,)`` float64: the logit at W0, the linearised increment and the pattern-flip part."""
        j = self.widths.index(width)
        root = math.sqrt(width)
        n = self.lin_prefix.shape[0]
        f0 = torch.zeros(n, dtype=torch.float64)
        if self.f0_prefix is not None:
            f0 = self.f0_prefix[:, j] / root
        lin = scale * self.lin_prefix[:, j] / width
        k = scale / root
        total_a = torch.zeros(n, dtype=torch.float64)
        total_b = torch.zeros(n, dtype=torch.float64)
        for ks, cum_a, cum_b in self.blocks[: j + 1]:
            i = int(torch.searchsorted(ks, torch.tensor([k], dtype=torch.float64)))
            if i >= len(ks) or not math.isclose(float(ks[i]), k, rel_tol=1e-12):
                raise ValueError(
                    f"scale {scale} was not among the scales the features were drawn for"
                )
            total_a += cum_a[:, i]
            total_b += cum_b[:, i]
        return f0, lin, (total_a + k * total_b) / root


def _given_init(weight0: torch.Tensor, init: Init) -> tuple[torch.Tensor, torch.Tensor]:
    """Given first-layer rows with balanced signs; under the symmetric init each row is paired
    with a copy of opposite sign (so the width doubles)."""
    w0 = weight0.to(torch.float64)
    a = torch.tensor([1.0 if s % 2 == 0 else -1.0 for s in range(len(w0))], dtype=torch.float64)
    if init == "symmetric":
        return w0.repeat_interleave(2, dim=0), torch.stack([a, -a], 1).reshape(-1)
    return w0, a


def _thresholds(grid: list[int], scales: list[float], j: int) -> torch.Tensor:
    """The k = s/sqrt(m) that queries of block j use (m a grid width >= grid[j]), sorted."""
    ks = {s / math.sqrt(m) for s in scales for m in grid[j:]}
    return torch.tensor(sorted(ks), dtype=torch.float64)


def _block(
    w: torch.Tensor,
    a: torch.Tensor,
    x: torch.Tensor,
    y: torch.Tensor,
    q: torch.Tensor,
    ks: torch.Tensor,
    *,
    plain: bool,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """One block of neurons (float32, in pieces of ``_CHUNK``): the sums over its neurons of
    1[p > 0] t and a relu(p) (float64, ``(n,)``), and the cumulative sums of a sigma p and
    sigma t over its entries with u below each threshold of ``ks`` (``(n, len(ks))``)."""
    n = x.shape[0]
    lin = torch.zeros(n, dtype=torch.float64)
    f0 = torch.zeros(n, dtype=torch.float64)
    acc_a = torch.zeros(n, len(ks) + 2, dtype=torch.float32)
    acc_b = torch.zeros(n, len(ks) + 2, dtype=torch.float32)
    # bucket 0 holds u <= 0 (no flip at any k), bucket len(ks) + 1 holds u >= max k and inf
    bounds = torch.cat([torch.zeros(1), ks.to(torch.float32)])
    for w_c, a_c in zip(torch.split(w, _CHUNK), torch.split(a, _CHUNK), strict=True):
        v, _ = field_directions(w_c, x, y, q)
        pre, fld = x @ w_c.T, x @ v.T  # (n, c)
        active = pre > 0
        lin += (fld * active).sum(1, dtype=torch.float64)
        if plain:
            f0 += (torch.relu(pre) * a_c).sum(1, dtype=torch.float64)
        at = a_c * fld
        idx = torch.bucketize(-pre / at, bounds, right=True)  # u = -p / (a t)
        acc_a.scatter_add_(1, idx, pre.abs().mul_(-a_c))  # a sigma p = -a |p|
        acc_b.scatter_add_(1, idx, torch.where(active, -fld, fld))  # sigma t
    return lin, f0, acc_a[:, 1:-1].double().cumsum(1), acc_b[:, 1:-1].double().cumsum(1)
