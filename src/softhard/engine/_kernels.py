"""The two-matrix-product step of a range of students (THEORY.md section 1), written out.

For a range of ``c`` neurons (``k`` whole models) and a block of ``b`` examples ``X_b``:

1. ``H = W X_b^T`` (``(c, b)``, one matrix product), ``H <- relu(H)`` in place;
2. ``f_k = (S_k^+ - S_k^-) / sqrt(m_k)``, ``S^{+/-}`` segment sums of ``H`` over half-models
   (``index_add_``: every width in one call);
3. ``D = dl/df`` of every model at once from its stacked targets (``(k, b)``);
4. ``C = 1[H > 0] * D[model]`` in place, ``G += C X_b`` (the second matrix product).

The readout sign and ``1/sqrt(m)``, the learning rate and ``1/b`` are folded into the update
``W <- W - (lr a / sqrt(m)) / b * G``. Every intermediate has ``c * b`` entries: memory and
cache use grow with the chunk sizes, not with ``n * sum(m)``.
"""

from __future__ import annotations

import torch

from softhard.engine._layout import Range
from softhard.models.two_layer import project_rows_


class Workspace:
    """Reusable buffers for the ``(c, b)`` intermediates of one range (no allocation per step)."""

    def __init__(self, rng: Range, block: int) -> None:
        c, k = rng.num_neurons, rng.num_models
        like = rng.weight
        self.h = like.new_empty(c * block)
        self.d_exp = like.new_empty(c * block)
        self.halves = like.new_empty(2 * k * block)
        self.grad = torch.zeros_like(rng.weight)

    def views(self, c: int, k: int, b: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return (
            self.h[: c * b].view(c, b),
            self.d_exp[: c * b].view(c, b),
            self.halves[: 2 * k * b].view(k, 2, b),
        )


def forward_tile(rng: Range, xb: torch.Tensor, out: torch.Tensor, ws: Workspace) -> torch.Tensor:
    """Logits of the range's models on ``xb`` into ``out`` ``(k, b)``; returns ``relu(W xb^T)``."""
    c, k, b = rng.num_neurons, rng.num_models, xb.shape[0]
    h, _, halves = ws.views(c, k, b)
    torch.mm(rng.weight, xb.T, out=h)
    h.clamp_(min=0)
    halves.zero_()
    halves.view(2 * k, b).index_add_(0, rng.half, h)
    torch.sub(halves[:, 0], halves[:, 1], out=out)
    out.div_(rng.sqrt_m)
    return h


def dloss_df(rng: Range, f: torch.Tensor, tgt: dict[str, torch.Tensor]) -> torch.Tensor:
    """``D = a1 sigmoid(-y f) + b1 sigmoid(f / T) + a3`` for every model (see ``stack_targets``)."""
    if rng.has_hard:
        d = torch.mul(tgt["neg_y"], f).sigmoid_().mul_(tgt["a1"])
    else:
        d = torch.zeros_like(f)
    if rng.has_soft:
        z = torch.mul(f, rng.tgt["inv_t"]).sigmoid_()
        d.addcmul_(z, rng.tgt["b1"]).add_(tgt["a3"])
    return d


def grad_tile(
    rng: Range,
    xb: torch.Tensor,
    out: torch.Tensor,
    tgt: dict[str, torch.Tensor],
    ws: Workspace,
    accumulate: bool,
) -> None:
    """Forward on ``xb`` (logits into ``out``), then add ``C xb`` to the workspace gradient."""
    c, k, b = rng.num_neurons, rng.num_models, xb.shape[0]
    h = forward_tile(rng, xb, out, ws)
    d = dloss_df(rng, out, tgt)
    _, d_exp, _ = ws.views(c, k, b)
    torch.index_select(d, 0, rng.model, out=d_exp)
    h.sign_().mul_(d_exp)
    if accumulate:
        ws.grad.addmm_(h, xb)
    else:
        torch.mm(h, xb, out=ws.grad)


def apply_update(rng: Range, ws: Workspace, batch: int) -> None:
    """``W <- W - coef / batch * G``, then the projection onto the balls of radius rho/sqrt(m)."""
    rng.weight.addcmul_(ws.grad, rng.coef, value=-1.0 / batch)
    if rng.radius is not None:
        project_rows_(rng.weight, rng.weight0, rng.radius)


def tile_targets(rng: Range, cols: torch.Tensor | slice) -> dict[str, torch.Tensor]:
    """The per-example target tensors of the range restricted to some examples (contiguous)."""
    keys = [k for k in ("neg_y", "a1", "a3") if k in rng.tgt]
    if isinstance(cols, slice):
        return {k: rng.tgt[k][:, cols].contiguous() for k in keys}
    return {k: rng.tgt[k].index_select(1, cols) for k in keys}
