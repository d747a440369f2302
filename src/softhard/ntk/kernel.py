"""The neural tangent kernel of the two-layer model (docs/theory.md sections 1 and 3).

For f(x; W) = (1/sqrt(m)) sum_s a_s relu(<w_s, x>) with only W trained, the gradient is
df/dw_s = (a_s/sqrt(m)) 1[<w_s, x> > 0] x, so the empirical NTK of a finite network is

    K_m(x, x') = <grad_W f(x), grad_W f(x')> = (1/m) sum_s a_s^2 1[<w_s,x> > 0] 1[<w_s,x'> > 0] <x, x'>,

and for w_s ~ N(0, I), a_s = +-1, it converges as m -> infinity to the limiting NTK

    K(x, x') = <x, x'> P_z(<z,x> > 0, <z,x'> > 0) = <x, x'> (pi - theta) / (2 pi),

theta the angle between x and x' (the probability is the orthant probability of two correlated
Gaussians). The same finite sum with the margin estimator's directions z_k is the kernel whose
norm bounds gamma_K (docs/theory.md section 3, properties).
"""

from __future__ import annotations

import math

import torch

__all__ = ["empirical_ntk", "limiting_ntk"]


def limiting_ntk(x1: torch.Tensor, x2: torch.Tensor | None = None) -> torch.Tensor:
    """Closed-form limiting NTK Gram matrix K(x1_i, x2_j) = <x,x'> (pi - theta)/(2 pi).

    Args:
        x1: shape ``(n1, d)``.
        x2: shape ``(n2, d)``; ``None`` means ``x1``.

    Returns:
        Shape ``(n1, n2)``, dtype of ``x1``. Rows involving a zero vector are 0 (theta undefined,
        <x, x'> = 0).
    """
    x2 = x1 if x2 is None else x2
    inner = x1 @ x2.T
    norms = torch.linalg.vector_norm(x1, dim=1)[:, None] * torch.linalg.vector_norm(x2, dim=1)[None]
    cos = torch.where(norms > 0, inner / torch.where(norms > 0, norms, 1.0), 0.0)
    theta = torch.arccos(cos.clamp(-1.0, 1.0))
    return inner * (math.pi - theta) / (2.0 * math.pi)


def empirical_ntk(
    x1: torch.Tensor,
    x2: torch.Tensor | None = None,
    *,
    weight: torch.Tensor,
    a: torch.Tensor | None = None,
    chunk_size: int = 16384,
) -> torch.Tensor:
    """Empirical NTK Gram matrix of a finite two-layer network with first-layer weights ``weight``.

    K_m(x, x') = (1/m) sum_s a_s^2 1[<w_s, x> > 0] 1[<w_s, x'> > 0] <x, x'>  (module docstring),
    computed in chunks of ``chunk_size`` neurons (memory O((n1 + n2) * chunk_size)).

    Args:
        x1: shape ``(n1, d)``.
        x2: shape ``(n2, d)``; ``None`` means ``x1``.
        weight: W, shape ``(m, d)`` (e.g. ``TwoLayerReLU.weight``, or the margin's directions).
        a: output weights, shape ``(m,)``; ``None`` means all +-1 (a_s^2 = 1).

    Returns:
        Shape ``(n1, n2)``, dtype of ``x1``.
    """
    x2 = x1 if x2 is None else x2
    weight = weight.to(x1.dtype)
    a2 = None if a is None else a.to(x1.dtype) ** 2
    both = torch.zeros(x1.shape[0], x2.shape[0], dtype=x1.dtype, device=x1.device)
    for start in range(0, weight.shape[0], chunk_size):
        w = weight[start : start + chunk_size]
        act1 = (x1 @ w.T > 0).to(x1.dtype)
        act2 = (x2 @ w.T > 0).to(x1.dtype)
        if a2 is not None:
            act1 = act1 * a2[start : start + chunk_size]
        both += act1 @ act2.T
    return (x1 @ x2.T) * both / weight.shape[0]
