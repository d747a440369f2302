"""How a bank of students is laid out: ranges of whole models, per-neuron readout, stacked targets.

The bank is one wide hidden layer. Students are sorted by (kd_weight, temperature, width) and cut
greedily into *ranges* of whole models holding about ``chunk_neurons`` neurons; every range is
trained on its own (its models share nothing with the others but the data), so its weights,
gradient and intermediates stay in cache. Inside a range neuron ``i`` belongs to model
``model[i]``; its readout ``r_i = a_i / sqrt(m)`` (THEORY.md section 1) enters the forward pass
through a segment sum over *half-models* (the neurons of a model with ``a = +1``, then ``a = -1``):
``f_k = (S_k^+ - S_k^-) / sqrt(m_k)`` with ``S^{+/-}`` sums of ``relu(<w_i, x>)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from softhard.models.two_layer import init_two_layer


@dataclass
class Range:
    """The tensors of one range of whole models (``c`` neurons, ``k`` models, ``n`` examples).

    Attributes:
        students: index into the caller's student list of each model, in range order.
        widths: width ``m`` of each model.
        offsets: first neuron of each model inside the range (length ``k + 1``).
        weight: trained first layer, ``(c, d)``; ``weight0`` its initial value.
        half: half-model index ``2 k + [a_i < 0]`` of each neuron, ``(c,)``.
        model: model index of each neuron, ``(c,)``.
        sqrt_m: ``sqrt(m)`` per model, ``(k, 1)``.
        coef: update coefficient ``lr_k a_i / sqrt(m_k)`` per neuron, ``(c, 1)``.
        radius: projection radius ``rho / sqrt(m_k)`` per neuron ``(c, 1)``, or None.
        tgt: stacked targets of the models (see :func:`stack_targets`).
    """

    students: list[int]
    widths: list[int]
    offsets: list[int]
    weight: torch.Tensor
    weight0: torch.Tensor
    half: torch.Tensor
    model: torch.Tensor
    sqrt_m: torch.Tensor
    coef: torch.Tensor
    radius: torch.Tensor | None
    tgt: dict[str, torch.Tensor]
    has_hard: bool
    has_soft: bool

    @property
    def num_neurons(self) -> int:
        return int(self.weight.shape[0])

    @property
    def num_models(self) -> int:
        return len(self.students)


def plan_ranges(students: Sequence, chunk_neurons: int) -> list[list[int]]:
    """Student indices per range: sorted by (kd_weight, temperature, width), cut greedily."""
    order = sorted(
        range(len(students)),
        key=lambda s: (
            students[s].targets.kd_weight,
            students[s].targets.temperature,
            students[s].width,
        ),
    )
    ranges: list[list[int]] = []
    current: list[int] = []
    size = 0
    for s in order:
        width = students[s].width
        if current and size + width > chunk_neurons:
            ranges.append(current)
            current, size = [], 0
        current.append(s)
        size += width
    if current:
        ranges.append(current)
    return ranges


def build_range(
    students: Sequence,
    members: list[int],
    dim: int,
    *,
    lr: float,
    rho: float | None,
    dtype: torch.dtype,
    device: torch.device,
) -> Range:
    """Initialise the members' networks (as :func:`init_two_layer` does) and stack their targets."""
    weights, halves, models, coefs, radii, widths, offsets = [], [], [], [], [], [], [0]
    for j, s in enumerate(members):
        spec = students[s]
        w0, a = init_two_layer(
            spec.width, dim, seed=spec.seed, init=spec.init, signs=spec.signs, dtype=torch.float64
        )
        m = spec.width
        model_lr = lr if spec.lr is None else spec.lr
        weights.append(w0)
        halves.append(2 * j + (a < 0).long())
        models.append(torch.full((m,), j, dtype=torch.long))
        coefs.append(model_lr * a / math.sqrt(m))
        radii.append(torch.full((m,), (rho or 0.0) / math.sqrt(m), dtype=torch.float64))
        widths.append(m)
        offsets.append(offsets[-1] + m)
    specs = [students[s] for s in members]
    weight = torch.cat(weights).to(dtype=dtype, device=device)

    def put(t: torch.Tensor) -> torch.Tensor:
        return t.to(device=device)

    return Range(
        students=list(members),
        widths=widths,
        offsets=offsets,
        weight=weight,
        weight0=weight.clone(),
        half=put(torch.cat(halves)),
        model=put(torch.cat(models)),
        sqrt_m=put(torch.tensor([[math.sqrt(m)] for m in widths], dtype=dtype)),
        coef=put(torch.cat(coefs).to(dtype)[:, None]).contiguous(),
        radius=None if rho is None else put(torch.cat(radii).to(dtype)[:, None]),
        tgt=stack_targets([sp.targets for sp in specs], dtype, device),
        has_hard=any(sp.targets.kd_weight < 1.0 for sp in specs),
        has_soft=any(sp.targets.kd_weight > 0.0 for sp in specs),
    )


def stack_targets(targets: Sequence, dtype: torch.dtype, device: torch.device) -> dict:
    """Targets of ``k`` models as ``(k, n)`` / ``(k, 1)`` tensors for vectorised losses.

    With ``w`` = kd_weight, ``s`` = T^2 or 1 (``t2_scaling``) and ``T`` the temperature, the
    objective's derivative (see :meth:`softhard.targets.Targets.objective_grad`) is
    ``D = a1 * sigmoid(-y f) + b1 * sigmoid(f / T) + a3`` with ``a1 = -(1 - w) y``,
    ``b1 = w s / T`` and ``a3 = -b1 p``.
    """

    def col(values: list[float]) -> torch.Tensor:
        return torch.tensor(values, dtype=torch.float64)[:, None]

    y = torch.stack([t.y_pm.to(torch.float64).cpu() for t in targets])
    has_p = [t.p is not None for t in targets]
    p = torch.stack(
        [
            t.p.to(torch.float64).cpu() if t.p is not None else torch.zeros_like(y[0])
            for t in targets
        ]
    )
    kd = col([t.kd_weight for t in targets])
    inv_t = col([1.0 / t.temperature for t in targets])
    scale = col([t.temperature**2 if t.t2_scaling else 1.0 for t in targets])
    b1 = kd * scale * inv_t
    out = {
        "y": y,
        "neg_y": -y,
        "a1": -(1.0 - kd) * y,
        "a3": -b1 * p,
        "b1": b1,
        "inv_t": inv_t,
        "one_minus_p": 1.0 - p,
        "neg_entropy": torch.xlogy(p, p) + torch.xlogy(1.0 - p, 1.0 - p),
        "kd": kd,
    }
    res = {k: v.to(dtype=dtype, device=device).contiguous() for k, v in out.items()}
    res["has_p"] = torch.tensor(has_p, device=device)
    return res
