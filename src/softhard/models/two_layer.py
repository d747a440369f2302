"""The two-layer ReLU network of docs/theory.md section 1.

``f(x; W) = (1/sqrt(m)) * sum_s a_s relu(<w_s, x>)`` with fixed output signs ``a_s`` in {-1, +1},
``w_s(0) ~ N(0, I_d)`` and no biases; only the first layer ``W`` (shape ``(m, d)``) is trained.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import nn

Init = Literal["plain", "symmetric"]
Signs = Literal["random", "balanced"]


def init_two_layer(
    width: int,
    dim: int,
    *,
    seed: int,
    init: Init = "plain",
    signs: Signs = "balanced",
    dtype: torch.dtype = torch.float64,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Initial weights ``W0`` (m, d) and output signs ``a`` (m,), deterministic in ``seed``.

    * ``init="plain"``: every ``w_s`` i.i.d. N(0, I) (the theory's initialisation).
    * ``init="symmetric"``: neurons come in pairs with equal ``w`` and opposite ``a``, so
      ``f(x; W0) = 0`` for every x (``width`` must be even).
    * ``signs="random"``: ``a_s`` uniform on {-1, +1}; ``"balanced"``: alternating +1, -1 (half each;
      with random signs a width-2 network has equal signs half of the time and predicts one class).

    Draws are made on the CPU in float64 with a private generator and then cast, so the same seed
    gives the same network in every dtype and on every device.
    """
    if width < 1:
        raise ValueError(f"width must be >= 1, got {width}")
    gen = torch.Generator().manual_seed(int(seed))
    if init == "symmetric":
        if width % 2:
            raise ValueError(f"the symmetric initialisation needs an even width, got {width}")
        half = torch.randn(width // 2, dim, generator=gen, dtype=torch.float64)
        weights = half.repeat_interleave(2, dim=0)
        a_half = _signs(width // 2, signs, gen)
        a = torch.stack([a_half, -a_half], dim=1).reshape(-1)
    elif init == "plain":
        weights = torch.randn(width, dim, generator=gen, dtype=torch.float64)
        a = _signs(width, signs, gen)
    else:
        raise ValueError(f"init must be 'plain' or 'symmetric', got {init!r}")
    return weights.to(dtype), a.to(dtype)


def _signs(width: int, signs: Signs, gen: torch.Generator) -> torch.Tensor:
    if signs == "random":
        return torch.randint(0, 2, (width,), generator=gen).to(torch.float64) * 2 - 1
    if signs == "balanced":
        return torch.tensor([1.0 if s % 2 == 0 else -1.0 for s in range(width)])
    raise ValueError(f"signs must be 'random' or 'balanced', got {signs!r}")


class TwoLayerReLU(nn.Module):
    """Two-layer ReLU network with NTK scaling and a fixed readout (docs/theory.md section 1).

    Attributes:
        weight: trained first layer ``W``, shape ``(m, d)``.
        a: fixed output signs, shape ``(m,)``.
        weight0: the initial weights ``W(0)``, kept for projections, shape ``(m, d)``.
    """

    a: torch.Tensor  # buffers (registered in __init__), declared for the type checker
    weight0: torch.Tensor

    def __init__(
        self,
        dim: int,
        width: int,
        *,
        seed: int = 0,
        init: Init = "plain",
        signs: Signs = "balanced",
        dtype: torch.dtype = torch.float64,
    ) -> None:
        super().__init__()
        w0, a = init_two_layer(width, dim, seed=seed, init=init, signs=signs, dtype=dtype)
        self.weight = nn.Parameter(w0.clone())
        self.register_buffer("a", a)
        self.register_buffer("weight0", w0)

    @property
    def width(self) -> int:
        return int(self.weight.shape[0])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``f(x)``, shape ``(n,)``, for inputs of shape ``(n, d)``."""
        return torch.relu(x @ self.weight.T) @ self.a / math.sqrt(self.width)

    @torch.no_grad()
    def explicit_grad(self, x: torch.Tensor, dloss_df: torch.Tensor) -> torch.Tensor:
        """Gradient of ``(1/n) sum_i l_i(f(x_i))`` with respect to ``W``, written out.

        ``G_s = (a_s / sqrt(m)) (1/n) sum_i l_i'(f_i) 1[<w_s, x_i> > 0] x_i``
        (docs/theory.md section 1): two matrix products, ``X W^T`` forward and ``D^T X`` backward.
        """
        active = (x @ self.weight.T > 0).to(x.dtype)  # (n, m)
        coeff = active * (dloss_df / x.shape[0])[:, None]  # (n, m)
        return (coeff.T @ x) * (self.a / math.sqrt(self.width))[:, None]

    @torch.no_grad()
    def project_(self, rho: float) -> None:
        """Project every ``w_s`` onto the ball ``||w_s - w_s(0)|| <= rho / sqrt(m)``, in place."""
        project_rows_(self.weight.data, self.weight0, rho / math.sqrt(self.width))


def project_rows_(weight: torch.Tensor, center: torch.Tensor, radius: float | torch.Tensor) -> None:
    """Project each row of ``weight`` onto the ball of ``radius`` around the row of ``center``."""
    delta = weight - center
    norms = delta.norm(dim=-1, keepdim=True)
    radius_t = torch.as_tensor(radius, dtype=weight.dtype, device=weight.device)
    if radius_t.ndim == 1:
        radius_t = radius_t[:, None]
    scale = torch.clamp(radius_t / norms.clamp_min(torch.finfo(weight.dtype).tiny), max=1.0)
    weight.copy_(center + delta * scale)
