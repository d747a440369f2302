"""How a bank of students is laid out: ranges of whole models, per-neuron readout, stacked targets.

The bank is one wide hidden layer. Students are sorted by (width, kd_weight, temperature) and cut
into *ranges* of whole models of near-equal size, at most about ``chunk_neurons`` neurons each;
every range is trained on its own (its models share nothing with the others but the data), so its
weights, gradient and intermediates stay in cache. Inside a range the models are sorted by width
and cut into *width groups* (``M`` models of one width ``w``, contiguous rows): the readout
``r_i = a_i / sqrt(m)`` (docs/theory.md section 1) of a group is an ``(M, 1, w)`` tensor, so
``f = r relu(W x)`` is one batched matrix product per group and the gradient's
``1[H > 0] D[model]`` a broadcast over ``(M, w, b)``, with no gather or scatter.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from softhard.engine.entry import BankEntry
from softhard.models.two_layer import Init, Signs, init_two_layer
from softhard.targets import StackedTargets, stack_targets

_MODEL_OVERHEAD = 8  # see model_cost


@dataclass
class BankRange:
    """The tensors of one range of whole models (``c`` neurons, ``k`` models, ``n`` examples).

    Attributes:
        students: index into the caller's student list of each model, in range order.
        widths: width ``m`` of each model.
        offsets: first neuron of each model inside the range (length ``k + 1``).
        weight: trained first layer, ``(c, d)``; ``weight0`` its initial value.
        groups: width groups ``(r0, r1, j0, j1, w)``: rows ``r0:r1`` hold models ``j0:j1``,
            each of width ``w``.
        readout: per group, ``a / sqrt(w)`` of its models as an ``(M, 1, w)`` tensor.
        sqrt_m: ``sqrt(m)`` per model, ``(k, 1)``.
        coef: update coefficient ``lr_k a_i / sqrt(m_k)`` per neuron, ``(c, 1)``.
        radius: projection radius ``rho / sqrt(m_k)`` per neuron ``(c, 1)``, or None.
        tgt: stacked targets of the models (:func:`softhard.targets.stack_targets`).
        reference: the rows of each model's point U for the GD inequality ``(c, d)`` (W0's rows
            for a model without one), or None when no model logs it; ``logged``: which do.
    """

    students: list[int]
    widths: list[int]
    offsets: list[int]
    weight: torch.Tensor
    weight0: torch.Tensor
    groups: list[tuple[int, int, int, int, int]]
    readout: list[torch.Tensor]
    sqrt_m: torch.Tensor
    coef: torch.Tensor
    radius: torch.Tensor | None
    tgt: StackedTargets
    reference: torch.Tensor | None = None
    logged: list[bool] | None = None

    @property
    def num_neurons(self) -> int:
        return int(self.weight.shape[0])

    @property
    def num_models(self) -> int:
        return len(self.students)


def plan_ranges(
    keys: Sequence[tuple[int, float, float]], chunk_neurons: int, multiple: int = 1
) -> list[list[int]]:
    """Student indices per range: sorted by their ``keys`` ``(width, kd_weight, temperature)``
    (:func:`plan_key`), cut greedily.

    Width first keeps the number of width groups per range (and so of kernel calls) small.

    The number of ranges is ``ceil(sum m / chunk_neurons)`` rounded up to a multiple of
    ``multiple`` (the number of workers, so that they share the work evenly) and the cut
    targets equal costs (:func:`model_cost`); a model costlier than that forms its own range.
    """
    parts = max(1, math.ceil(sum(key[0] for key in keys) / chunk_neurons))
    total = sum(model_cost(key[0]) for key in keys)
    parts = min(len(keys), multiple * math.ceil(parts / multiple))
    target = total / parts
    order = sorted(range(len(keys)), key=lambda s: keys[s])
    ranges: list[list[int]] = []
    current: list[int] = []
    done = 0  # cost placed so far; cut where the running total passes a multiple of target
    for s in order:
        cost = model_cost(keys[s][0])
        if current and done + cost / 2 > (len(ranges) + 1) * target:
            ranges.append(current)
            current = []
        current.append(s)
        done += cost
    if current:
        ranges.append(current)
    return ranges


def plan_key(entry: BankEntry) -> tuple[int, float, float]:
    """The key :func:`plan_ranges` sorts a student by: ``(width, kd_weight, temperature)``."""
    return (entry.width, entry.targets.soft_weight, entry.targets.temperature)


def model_cost(width: int) -> int:
    """Work of one model per epoch in neuron units: its neurons plus a per-model share (the
    logits, losses and metrics of each model cost about as much as 8 neurons on CPU)."""
    return width + _MODEL_OVERHEAD


def build_range(
    students: Sequence[BankEntry],
    members: list[int],
    dim: int,
    *,
    lr: float,
    rho: float | None,
    dtype: torch.dtype,
    device: torch.device,
) -> BankRange:
    """Initialise the members' networks (as :func:`init_two_layer` does) and stack their targets.

    The members are put in order of width (stable), so that each width is one group.
    """
    members = sorted(members, key=lambda s: students[s].width)
    specs = [students[s] for s in members]
    inits = [_initial(sp.width, dim, sp.seed, sp.init, sp.signs) for sp in specs]
    inits = [
        (w0 if sp.weight is None else sp.weight.detach().to("cpu", torch.float64), a)
        for (w0, a), sp in zip(inits, specs, strict=True)
    ]
    widths = [sp.width for sp in specs]
    offsets = [0, *itertools.accumulate(widths)]
    signs = [a for _, a in inits]
    counts = torch.tensor(widths)
    root = torch.tensor([math.sqrt(m) for m in widths], dtype=torch.float64)
    lrs = torch.tensor([lr if sp.lr is None else sp.lr for sp in specs], dtype=torch.float64)
    # per neuron (lr_k a_i) / sqrt(m_k) and rho / sqrt(m_k), as the reference computes them
    coef = torch.cat(signs).mul_(lrs.repeat_interleave(counts)).div_(root.repeat_interleave(counts))
    radii = torch.full((len(widths),), rho or 0.0, dtype=torch.float64).div_(root)
    weight = torch.cat([w0 for w0, _ in inits]).to(dtype=dtype, device=device)
    groups = _width_groups(widths, offsets)
    readout = [
        (torch.stack(signs[j0:j1]) / math.sqrt(w))[:, None, :].to(dtype=dtype, device=device)
        for _, _, j0, j1, w in groups
    ]

    def put(t: torch.Tensor) -> torch.Tensor:
        return t.to(device=device)

    logged = [sp.reference is not None for sp in specs]
    reference = _stacked_reference(specs, [w0 for w0, _ in inits], dtype, device)
    return BankRange(
        students=list(members),
        widths=widths,
        offsets=offsets,
        weight=weight,
        weight0=weight.clone(),
        groups=groups,
        readout=readout,
        sqrt_m=put(torch.tensor([[math.sqrt(m)] for m in widths], dtype=dtype)),
        coef=put(coef.to(dtype)[:, None]).contiguous(),
        radius=None if rho is None else put(radii.repeat_interleave(counts).to(dtype)[:, None]),
        tgt=stack_targets([sp.targets for sp in specs], dtype, device),
        reference=reference,
        logged=logged if reference is not None else None,
    )


def _stacked_reference(
    specs: Sequence[BankEntry],
    weights0: list[torch.Tensor],
    dtype: torch.dtype,
    device: torch.device,
) -> torch.Tensor | None:
    """The logged reference points U stacked like the weights (a member without one: its
    initial weights), or None when no member logs the inequality."""
    if all(sp.reference is None for sp in specs):
        return None
    rows = [
        w0 if sp.reference is None else sp.reference.detach().to("cpu", torch.float64)
        for w0, sp in zip(weights0, specs, strict=True)
    ]
    return torch.cat(rows).to(dtype=dtype, device=device)


_CACHED_ENTRIES = 4096  # small initialisations only: at most 2048 x 4096 float64 (64 MiB)


def _initial(
    width: int, dim: int, seed: int, init: Init, signs: Signs
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`init_two_layer` in float64; small ones memoised (a bank's (width, seed) pairs
    recur across calls: sweeps over learning rates, epochs or targets; each draw costs ~0.1 ms,
    which dominates for tiny students). Callers must not modify the returned tensors."""
    if width * dim <= _CACHED_ENTRIES:
        return _initial_cached(width, dim, seed, init, signs)
    return init_two_layer(width, dim, seed=seed, init=init, signs=signs, dtype=torch.float64)


@functools.lru_cache(maxsize=2048)
def _initial_cached(
    width: int, dim: int, seed: int, init: Init, signs: Signs
) -> tuple[torch.Tensor, torch.Tensor]:
    return init_two_layer(width, dim, seed=seed, init=init, signs=signs, dtype=torch.float64)


def _width_groups(widths: list[int], offsets: list[int]) -> list[tuple[int, int, int, int, int]]:
    """Runs of equal width as ``(first row, end row, first model, end model, width)``."""
    groups = []
    start = 0
    for j in range(1, len(widths) + 1):
        if j == len(widths) or widths[j] != widths[start]:
            groups.append((offsets[start], offsets[j], start, j, widths[start]))
            start = j
    return groups
