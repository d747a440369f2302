"""The online-gradient-descent inequality of the proofs, term by term (docs/theorem.md).

For full-batch gradient descent W_{t+1} = W_t - eta grad L(W_t) (projected or not, onto a convex
set that contains U) and any reference point U:

    (1/T) sum_t L(W_t) <= (1/T) sum_t L^(t)(U) + ||U - W0||^2 / (2 eta T) + (eta / 2T) sum_t ||grad L(W_t)||^2,

where L^(t)(U) is the loss at U of the model linearised at W_t: its logits are
f^(t)(x; U) = (1/sqrt m) sum_s a_s 1[<w_s(t), x> > 0] <u_s, x>. ReLU homogeneity makes
f^(t)(x; W_t) = f(x; W_t), and the loss is convex in the logit, so L^(t) is convex with
L^(t)(W_t) = L(W_t); expanding ||W_{t+1} - U||^2 gives the bound. L is the training objective
(the loss whose gradient is followed). :func:`softhard.train.train_two_layer` logs the three
per-epoch quantities when given ``reference=U``; :func:`inequality_terms` adds them up.
"""

from __future__ import annotations

import math

import numpy as np
import torch

__all__ = ["INEQUALITY_COLUMNS", "inequality_terms", "linearised_logits"]

INEQUALITY_COLUMNS = ("gd_objective", "gd_reference", "gd_grad_sq")
"""Per-epoch curves logged with a reference point: L(W_t), L^(t)(U) and ||grad L(W_t)||^2."""


def linearised_logits(
    x: torch.Tensor, weight: torch.Tensor, a: torch.Tensor, reference: torch.Tensor
) -> torch.Tensor:
    """f^(t)(x; U): the model linearised at ``weight`` (W_t), evaluated at ``reference`` (U)."""
    active = (x @ weight.T > 0).to(x.dtype)
    return (active * (x @ reference.T)) @ a / math.sqrt(weight.shape[0])


def inequality_terms(
    curves: dict[str, np.ndarray], *, lr: float, distance_sq: float
) -> dict[str, float | bool | str]:
    """The terms of the inequality over the T epochs logged, whether it holds, and the slack.

    Args:
        curves: the per-epoch ``gd_objective``, ``gd_reference``, ``gd_grad_sq`` of one run.
        lr: the step eta.
        distance_sq: ||U - W0||^2.
    """
    t = len(curves["gd_objective"])
    lhs = float(np.mean(curves["gd_objective"]))
    ref = float(np.mean(curves["gd_reference"]))
    dist = distance_sq / (2 * lr * t)
    grad = lr / (2 * t) * float(np.sum(curves["gd_grad_sq"]))
    rhs = ref + dist + grad
    terms = {"reference": ref, "distance": dist, "gradient": grad}
    return {
        "average_loss": lhs,
        "reference_term": ref,
        "distance_term": dist,
        "gradient_term": grad,
        "bound": rhs,
        "holds": lhs <= rhs * (1 + 1e-9) + 1e-12,
        "largest_term": max(terms, key=lambda k: terms[k]),
    }
