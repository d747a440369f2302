"""The two-matrix-product step of a range of students (docs/theory.md section 1), written out.

For a range of ``c`` neurons (``k`` whole models) and a block of ``b`` examples ``X_b``:

1. ``H = W X_b^T`` (``(c, b)``, one matrix product), ``H <- relu(H)`` in place;
2. per width group (``M`` models of width ``w``, see :mod:`softhard.engine._layout`):
   ``f = r H`` with ``r = a / sqrt(w)``, one batched product ``(M, 1, w) x (M, w, b)``;
3. ``D = dl/df`` of every model at once from its stacked targets (``(k, b)``,
   :meth:`softhard.targets.ObjectiveGrad.into`: the formula lives there);
4. ``C = 1[H > 0] * D[model]`` in place over ``H`` (per group, ``D`` broadcast over the
   group's ``w`` neurons; only the training columns), ``G += C X_b`` (the second product).

The readout sign and ``1/sqrt(m)``, the learning rate and ``1/b`` are folded into the update
``W <- W - (lr a / sqrt(m)) / b * G``. Every intermediate has ``c * b`` entries: memory and
cache use grow with the chunk sizes, not with ``n * sum(m)``.
"""

from __future__ import annotations

import torch

from softhard.engine._layout import BankRange
from softhard.models.two_layer import project_rows_
from softhard.targets import ObjectiveGrad

_relu_mask = torch.ops.aten.threshold_backward.grad_input  # out = where(self > 0, grad, 0)


class Workspace:
    """Reusable buffers for the ``(c, b)`` intermediates of one range (no allocation per step)."""

    def __init__(self, bank_range: BankRange, block: int) -> None:
        c, k = bank_range.num_neurons, bank_range.num_models
        like = bank_range.weight
        self.h = like.new_empty(c * block)
        self.f = like.new_empty(k * block)
        self.grad = torch.zeros_like(bank_range.weight)

    def hidden(self, c: int, b: int) -> torch.Tensor:
        return self.h[: c * b].view(c, b)


def forward_tile(
    bank_range: BankRange, xb: torch.Tensor, out: torch.Tensor, ws: Workspace
) -> torch.Tensor:
    """Logits of the range's models on ``xb`` into ``out`` ``(k, b)``; returns ``relu(W xb^T)``."""
    c, k, b = bank_range.num_neurons, bank_range.num_models, xb.shape[0]
    h = ws.hidden(c, b)
    torch.mm(bank_range.weight, xb.T, out=h)
    h.clamp_(min=0)
    f = out if out.is_contiguous() else ws.f[: k * b].view(k, b)
    for (r0, r1, j0, j1, w), r in zip(bank_range.groups, bank_range.readout, strict=True):
        torch.bmm(r, h[r0:r1].view(j1 - j0, w, b), out=f[j0:j1].view(j1 - j0, 1, b))
    if f is not out:
        out.copy_(f)
    return h


def grad_tile(
    bank_range: BankRange,
    xb: torch.Tensor,
    out: torch.Tensor,
    tgt: ObjectiveGrad,
    ws: Workspace,
    accumulate: bool,
    n_train: int | None = None,
) -> None:
    """Forward on ``xb`` (logits into ``out``), then add ``C xb`` to the workspace gradient.

    Only the first ``n_train`` examples of the tile (default: all) enter the gradient; ``tgt``
    holds their targets. With ``n_train = 0`` this is :func:`forward_tile`.
    """
    b = xb.shape[0] if n_train is None else n_train
    h = forward_tile(bank_range, xb, out, ws)
    if b == 0:
        return
    d = tgt.into(out[:, :b])
    h = h[:, :b]
    for r0, r1, j0, j1, w in bank_range.groups:
        hg = h[r0:r1].view(j1 - j0, w, b)
        _relu_mask(d[j0:j1, None, :].expand(j1 - j0, w, b), hg, 0.0, grad_input=hg)
    if accumulate:
        ws.grad.addmm_(h, xb[:b])
    else:
        torch.mm(h, xb[:b], out=ws.grad)


class TileStep:
    """:func:`grad_tile` for one fixed tile of full-batch training, every view built once.

    Same operations in the same order (so the same numbers), but the per-group views, the
    broadcast ``D`` and the buffers of ``D`` are made at construction: an epoch then issues
    only the arithmetic kernels, which matters when several ranges run in Python threads
    (every torch call, a view included, releases and retakes the GIL).
    """

    def __init__(
        self,
        bank_range: BankRange,
        xb: torch.Tensor,
        n_train: int,
        tgt: ObjectiveGrad,
        ws: Workspace,
    ) -> None:
        c, k, b = bank_range.num_neurons, bank_range.num_models, xb.shape[0]
        self.bank_range, self.ws, self.b, self.tgt = bank_range, ws, n_train, tgt
        self.xb_t, self.x_train = xb.T, xb[:n_train]
        self.h = ws.hidden(c, b)
        self.f = xb.new_empty(k, b)
        sizes = [(r0, r1, j0, j1, w) for r0, r1, j0, j1, w in bank_range.groups]
        self.fwd = [
            (r, self.h[r0:r1].view(j1 - j0, w, b), self.f[j0:j1].view(j1 - j0, 1, b))
            for (r0, r1, j0, j1, w), r in zip(sizes, bank_range.readout, strict=True)
        ]
        self.h_train = self.h[:, :n_train]
        self.f_train = self.f[:, :n_train]
        self.d = xb.new_empty(k, n_train)
        self.z = xb.new_empty(k, n_train) if tgt.has_soft else None
        self.mask = [
            (
                self.d[j0:j1, None, :].expand(j1 - j0, w, n_train),
                self.h_train[r0:r1].view(j1 - j0, w, n_train),
            )
            for r0, r1, j0, j1, w in sizes
        ]

    def run(self, accumulate: bool) -> torch.Tensor:
        """Logits ``(k, b)`` of the tile (a buffer reused next call); adds ``C x_train``."""
        bank_range, h, f = self.bank_range, self.h, self.f
        torch.mm(bank_range.weight, self.xb_t, out=h)
        h.clamp_(min=0)
        for r, hg, fg in self.fwd:
            torch.bmm(r, hg, out=fg)
        if self.b == 0:
            return f
        self.tgt.into(self.f_train, out=self.d, work=self.z)
        for dg, hg in self.mask:
            _relu_mask(dg, hg, 0.0, grad_input=hg)
        if accumulate:
            self.ws.grad.addmm_(self.h_train, self.x_train)
        else:
            torch.mm(self.h_train, self.x_train, out=self.ws.grad)
        return f


def apply_update(bank_range: BankRange, ws: Workspace, batch: int) -> None:
    """``W <- W - coef / batch * G``, then the projection onto the balls of radius rho/sqrt(m)."""
    bank_range.weight.addcmul_(ws.grad, bank_range.coef, value=-1.0 / batch)
    if bank_range.radius is not None:
        project_rows_(bank_range.weight, bank_range.weight0, bank_range.radius)


def tile_targets(bank_range: BankRange, cols: torch.Tensor | slice) -> ObjectiveGrad:
    """The range's objective derivative restricted to some examples (contiguous)."""
    return bank_range.tgt.grad.columns(cols)
