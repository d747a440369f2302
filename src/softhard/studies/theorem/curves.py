"""Loss at the reference point against width, for one level: the training-free width law.

For every initialisation seed one draw of the largest width serves every width of the (nested)
grid (:class:`~softhard.studies.theorem.reference.NeuronFeatures`). Each target is a pair (loss,
scale): soft labels at s = beta against the kernel teacher's soft labels sigmoid(beta h), hard
labels at s = lambda(eps) against the labels. Rows: one per (target, width, seed), with the loss
at U, its linearised part (the loss at f(W0) + s h_m) and the flip part (the difference).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import torch

from softhard.losses import binary_kl, logistic, soft_targets
from softhard.models.two_layer import Init
from softhard.studies.theorem.reference import NeuronFeatures

__all__ = ["Target", "reference_curves"]


@dataclass(frozen=True)
class Target:
    """One curve: ``mode`` soft (KL to sigmoid(beta h)) or hard (logistic), at scale ``scale``.

    ``eps`` is the hard target the scale was set for (None for soft: beta does not depend on eps);
    ``beta`` the soft target's teacher scale (the soft scale s is beta itself).
    """

    mode: str
    scale: float
    eps: float | None = None
    beta: float | None = None


def reference_curves(
    x: torch.Tensor,
    y: torch.Tensor,
    q: torch.Tensor,
    teacher_h: torch.Tensor,
    *,
    targets: list[Target],
    widths: list[int],
    seeds: list[int],
    init: Init = "symmetric",
) -> pd.DataFrame:
    """The loss at U for every target, width and seed (see the module docstring).

    Columns: mode, eps, scale, width, seed, loss, loss_lin, loss_flip, lin_margin (min_i y_i
    times the linearised increment s h_m(x_i): s times the Monte-Carlo margin of the m initial
    directions), flip_size (mean |flip_m(x_i)|).
    """
    h = teacher_h.to(torch.float64)
    yd = y.to(torch.float64)
    rows: list[dict[str, object]] = []
    for seed in seeds:
        feats = NeuronFeatures.draw(
            x, y, q, widths=widths, seed=seed, scales=[t.scale for t in targets], init=init
        )
        for target in targets:
            for width in widths:
                f0, lin, flip = feats.parts(width, target.scale)
                f_lin, f_u = f0 + lin, f0 + lin + flip
                if target.mode == "soft":
                    p = soft_targets(target.scale * h)
                    loss, loss_lin = binary_kl(f_u, p).mean(), binary_kl(f_lin, p).mean()
                else:
                    loss, loss_lin = logistic(f_u, yd).mean(), logistic(f_lin, yd).mean()
                rows.append(
                    {
                        "mode": target.mode,
                        "eps": target.eps,
                        "beta": target.beta,
                        "scale": target.scale,
                        "width": width,
                        "seed": seed,
                        "loss": float(loss),
                        "loss_lin": float(loss_lin),
                        "loss_flip": float(loss - loss_lin),
                        "lin_margin": float((yd * lin).min()),
                        "flip_size": float(flip.abs().mean()),
                    }
                )
    table: pd.DataFrame = pd.DataFrame(rows)
    return table
