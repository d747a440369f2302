"""Training of one range of students for all epochs (the range's models share only the data).

Per epoch t the logits of every model at ``W_t`` on the training and test examples are written
into a buffer before any update of that epoch (the reference's metric convention, see
:mod:`softhard.train`); full-batch gradient descent reuses those logits for its step, mini-batch
SGD steps through the shared :func:`softhard.train.batch_order`. Metrics are computed from the
buffer in bulk every few epochs. A model whose logits stop being finite at epoch t is frozen
there: its weights ``W_t`` are kept, its rows zeroed, and it stops updating; the others go on.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import torch

from softhard.engine._kernels import (
    TileStep,
    Workspace,
    apply_update,
    forward_tile,
    grad_tile,
    tile_targets,
)
from softhard.engine._layout import BankRange
from softhard.engine._metrics import METRICS, VAL_METRICS, bulk_metrics
from softhard.train import batch_order

_BUFFER_ELEMENTS = 1 << 20  # logits buffered between metric evaluations


class RangeTrainer:
    """Trains one :class:`BankRange` for ``epochs`` epochs; results per model afterwards."""

    def __init__(
        self,
        bank_range: BankRange,
        x_all: torch.Tensor,
        n_train: int,
        y_test: torch.Tensor | None,
        chunk_elements: int,
        chunk_examples: int,
        y_val: torch.Tensor | None = None,
    ) -> None:
        self.bank_range, self.x_all, self.n = bank_range, x_all, n_train
        self.y_test, self.y_val = y_test, y_val
        c, k = bank_range.num_neurons, bank_range.num_models
        self.block = max(1, min(chunk_examples, chunk_elements // c, x_all.shape[0]))
        self.ws = Workspace(bank_range, self.block)
        self.tiles = []  # (columns, inputs, training columns in the tile, their targets)
        for cols in _cuts(0, x_all.shape[0], self.block):
            train = slice(cols.start, max(cols.start, min(cols.stop, n_train)))
            size = train.stop - train.start
            tgt = tile_targets(bank_range, train if size else slice(0, 0))
            self.tiles.append((cols, x_all[cols], size, tgt))
        self.steps: list[TileStep] | None = None  # full-batch tiles, built on first use
        per_epoch = k * x_all.shape[0]
        self.buf = x_all.new_empty(max(1, _BUFFER_ELEMENTS // per_epoch), k, x_all.shape[0])
        self.filled = 0
        self.records: list[dict[str, torch.Tensor]] = []
        self.death: list[int | None] = [None] * k
        self.snapshot: dict[int, torch.Tensor] = {}
        self.inequality: list[torch.Tensor] = []  # per epoch (k, 3): L, L^(t)(U), ||grad||^2
        self.ref_inputs: torch.Tensor | None = None
        if bank_range.reference is not None:  # U x^T on the training examples, once
            self.ref_inputs = bank_range.reference @ x_all[:n_train].T

    # ----------------------------------------------------------------- epochs
    def gd_epoch(self, epoch: int) -> None:
        """Logits at ``W_t`` on every example (gradient from the training ones), then a step."""
        f = self.buf[self.filled]
        if self.steps is None:
            self.steps = [
                TileStep(self.bank_range, xb, size, tgt, self.ws) for _, xb, size, tgt in self.tiles
            ]
        if len(self.steps) == 1:
            f.copy_(self.steps[0].run(accumulate=False))
        else:
            for i, ((cols, _, _, _), step) in enumerate(zip(self.tiles, self.steps, strict=True)):
                f[:, cols].copy_(step.run(accumulate=i > 0))
        self._check(epoch, f)
        if self.ref_inputs is not None:
            self._log_inequality(f[:, : self.n])
        apply_update(self.bank_range, self.ws, self.n)
        self._advance()

    def _log_inequality(self, f_train: torch.Tensor) -> None:
        """L(W_t), L^(t)(U) and ||grad L(W_t)||^2 per model (softhard.inequality), before the
        step: ``ws.grad`` holds sum_i l'_i 1[<w_s, x_i> > 0] x_i, so the gradient of neuron s is
        (a_s / sqrt(m)) / n times its row."""
        bank_range, n = self.bank_range, self.n
        assert self.ref_inputs is not None
        active = (bank_range.weight @ self.x_all[:n].T > 0).to(f_train.dtype)
        moved = active.mul_(self.ref_inputs)
        f_ref = f_train.new_empty(bank_range.num_models, n)
        rows = (self.ws.grad * self.ws.grad).sum(1)
        grad_sq = f_train.new_empty(bank_range.num_models)
        for (r0, r1, j0, j1, w), r in zip(bank_range.groups, bank_range.readout, strict=True):
            torch.bmm(r, moved[r0:r1].view(j1 - j0, w, n), out=f_ref[j0:j1].view(j1 - j0, 1, n))
            grad_sq[j0:j1] = rows[r0:r1].view(j1 - j0, w).sum(1) / (w * n * n)
        loss = bank_range.tgt.reported(f_train[None])[0][0]
        ref = bank_range.tgt.reported(f_ref[None])[0][0]
        self.inequality.append(
            torch.stack([loss.double(), ref.double(), grad_sq.double()], 1).cpu()
        )

    def sgd_epoch(self, epoch: int, batch_size: int, shuffle_seed: int) -> None:
        """Logits at ``W_t`` on every example, then the epoch's mini-batch steps."""
        f = self.buf[self.filled]
        self._forward_all(f)
        self._check(epoch, f)
        device = self.x_all.device
        for idx in batch_order(self.n, batch_size, epoch, shuffle_seed):
            idx = idx.to(device)
            xb, tgt = self.x_all[idx], tile_targets(self.bank_range, idx)
            out = f.new_empty(self.bank_range.num_models, len(idx))
            for i, cols in enumerate(_cuts(0, len(idx), self.block)):
                sub = tgt.view(cols)
                grad_tile(self.bank_range, xb[cols], out[:, cols], sub, self.ws, accumulate=i > 0)
            apply_update(self.bank_range, self.ws, len(idx))
        self._advance()

    def finish(self) -> dict[str, torch.Tensor]:
        """Flush the buffer; metrics at the final weights, ``(k,)`` per metric."""
        self._flush()
        f = self.buf[:1]
        self._forward_all(f[0])
        metrics = bulk_metrics(f, self.n, self.bank_range.tgt, self.y_test, self.y_val)
        return {k: v[0] for k, v in metrics.items()}

    # ---------------------------------------------------------------- helpers
    def _forward_all(self, f: torch.Tensor) -> None:
        for cols, xb, _, _ in self.tiles:
            forward_tile(self.bank_range, xb, f[:, cols], self.ws)

    def _check(self, epoch: int, f: torch.Tensor) -> None:
        """Freeze every model whose training logits at ``W_t`` are not all finite."""
        if math.isfinite(float(f[:, : self.n].sum())):  # NaN and inf propagate into the sum
            return
        finite = torch.isfinite(f[:, : self.n]).all(dim=1)
        bank_range = self.bank_range
        for j in torch.nonzero(~finite).flatten().tolist():
            if self.death[j] is not None:
                continue
            rows = slice(bank_range.offsets[j], bank_range.offsets[j + 1])
            self.death[j] = epoch
            self.snapshot[j] = bank_range.weight[rows].clone()
            for t in (bank_range.weight, bank_range.coef, self.ws.grad):
                t[rows] = 0.0

    def _advance(self) -> None:
        self.filled += 1
        if self.filled == self.buf.shape[0]:
            self._flush()

    def _flush(self) -> None:
        if self.filled:
            buf, tgt = self.buf[: self.filled], self.bank_range.tgt
            rec = bulk_metrics(buf, self.n, tgt, self.y_test, self.y_val)
            self.records.append(rec)
            self.filled = 0

    def curves(self) -> dict[str, np.ndarray]:
        """Every epoch's metrics, ``(epochs, k)`` float64 per metric (with a validation set
        also :data:`~softhard.engine._metrics.VAL_METRICS`)."""
        names = METRICS if self.y_val is None else (*METRICS, *VAL_METRICS)
        if not self.records:
            k = self.bank_range.num_models
            return {m: np.zeros((0, k)) for m in names}
        return {m: torch.cat([r[m] for r in self.records]).numpy() for m in names}


def _cuts(start: int, stop: int, size: int) -> list[slice]:
    """``[start, stop)`` cut into near-equal contiguous slices of at most ``size``."""
    total = stop - start
    if total <= 0:
        return []
    pieces = math.ceil(total / size)
    bounds = [start + (total * i) // pieces for i in range(pieces + 1)]
    return [slice(a, b) for a, b in itertools.pairwise(bounds)]
