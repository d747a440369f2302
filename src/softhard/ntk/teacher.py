"""The kernel-limit teacher of the theorem (docs/theory.md section 3).

With the margin solution q and directions z_1..z_K, take v_k = g_k(q)/||g_k(q)|| (the primal point of
the certificate) and define the teacher's logit

    F(x) = beta * (1/K) sum_k <v_k, x> 1[<z_k, x> > 0],

a finite-K estimate of beta E_z[<v(z), x> 1[<z, x> > 0]]. On the training set y_i F(x_i) >= beta *
(primal margin of v), so with the default beta = 1/gamma the training logits have margin about 1.
Soft targets sigmoid(F(x)/T) are built by the caller (``softhard.targets``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from softhard.config import DEFAULT_MARGIN_SEED, DEFAULT_NUM_DIRECTIONS
from softhard.errors import ConfigError, DataError
from softhard.ntk._inputs import signed_labels_and_inputs
from softhard.ntk._operator import PatternOperator, unit_rows
from softhard.ntk.margin import MarginEstimate, estimate_margin
from softhard.ntk.separability import require_separable

__all__ = ["KernelTeacher"]


@dataclass(frozen=True)
class KernelTeacher:
    """The kernel-limit teacher F(x) = beta (1/K) sum_k <v_k, x> 1[<z_k, x> > 0].

    Attributes:
        directions: z_k, shape ``(K, d)``.
        vectors: v_k with ||v_k|| <= 1, shape ``(K, d)``.
        beta: logit scale (default 1/gamma when fitted).
        estimate: the margin estimate the teacher was built from (``None`` if built by hand).
        chunk_size: directions per chunk when computing logits.
    """

    directions: torch.Tensor = field(repr=False)
    vectors: torch.Tensor = field(repr=False)
    beta: float
    estimate: MarginEstimate | None = field(default=None, repr=False)
    chunk_size: int = 1024

    @classmethod
    def fit(
        cls,
        x: torch.Tensor | np.ndarray,
        y: torch.Tensor | np.ndarray,
        *,
        num_directions: int = DEFAULT_NUM_DIRECTIONS,
        seed: int = DEFAULT_MARGIN_SEED,
        beta: float | None = None,
        tol: float = 1e-3,
        device: str | torch.device = "cpu",
        dtype: torch.dtype = torch.float64,
        chunk_size: int = 1024,
    ) -> KernelTeacher:
        """Solve the margin problem on ``(x, y)`` and build the teacher from its solution.

        Args:
            x: training inputs, shape ``(n, d)`` (used as given, like :func:`estimate_margin`).
            y: labels, shape ``(n,)``, {-1, +1} or {0, 1}.
            num_directions: K (``margin.num_directions`` of the experiment config).
            seed: seed of the directions (``margin.seed``).
            beta: logit scale (``teacher.beta``); ``None`` means 1/gamma.
        """
        est = estimate_margin(
            x,
            y,
            num_directions=num_directions,
            seed=seed,
            tol=tol,
            device=device,
            dtype=dtype,
            chunk_size=chunk_size,
            fresh_directions=0,
        )
        return cls.from_estimate(
            x, y, est, beta=beta, device=device, dtype=dtype, chunk_size=chunk_size
        )

    @classmethod
    def from_estimate(
        cls,
        x: torch.Tensor | np.ndarray,
        y: torch.Tensor | np.ndarray,
        estimate: MarginEstimate,
        *,
        beta: float | None = None,
        device: str | torch.device = "cpu",
        dtype: torch.dtype = torch.float64,
        chunk_size: int = 1024,
    ) -> KernelTeacher:
        """The teacher of an existing :class:`MarginEstimate` of the same ``(x, y)``."""
        xt, yt = signed_labels_and_inputs(x, y, dtype=dtype, device=device)
        if xt.shape[0] != estimate.q.shape[0] or xt.shape[1] != estimate.directions.shape[1]:
            raise DataError(
                f"the estimate was made for {estimate.q.shape[0]} examples of dimension "
                f"{estimate.directions.shape[1]}, got x of shape {tuple(xt.shape)}."
            )
        if beta is None:  # 1/gamma: only for a certified positive gamma
            beta = 1.0 / require_separable(
                estimate, where="teacher.beta (default 1/gamma; set it explicitly to go on)"
            )
        if not beta > 0:
            raise ConfigError(f"teacher.beta must be > 0, got {beta}.")
        directions = estimate.directions.to(device, dtype)
        op = PatternOperator(xt, yt, directions, chunk_size=chunk_size, max_cache_bytes=0)
        vectors, _ = unit_rows(op.forward(estimate.q.to(device, dtype)))
        return cls(
            directions=directions,
            vectors=vectors,
            beta=float(beta),
            estimate=estimate,
            chunk_size=chunk_size,
        )

    @property
    def num_directions(self) -> int:
        return int(self.directions.shape[0])

    def logits(self, x: torch.Tensor | np.ndarray) -> torch.Tensor:
        """F(x), shape ``(n,)``, for inputs of shape ``(n, d)`` or ``(n, *shape)`` (flattened).

        Computed in the teacher's dtype on the teacher's device, chunked over directions; the
        result is returned on the device of ``x``.
        """
        xt = torch.as_tensor(x) if not isinstance(x, torch.Tensor) else x
        xt = xt.detach().reshape(xt.shape[0], -1)
        if xt.shape[1] != self.directions.shape[1]:
            raise DataError(
                f"the kernel teacher was fitted on dimension {self.directions.shape[1]}, "
                f"got inputs of dimension {xt.shape[1]}."
            )
        xd = xt.to(self.directions.device, self.directions.dtype)
        out = torch.zeros(xd.shape[0], dtype=xd.dtype, device=xd.device)
        for z, v in zip(
            torch.split(self.directions, self.chunk_size),
            torch.split(self.vectors, self.chunk_size),
            strict=True,
        ):
            out += ((xd @ z.T > 0).to(xd.dtype) * (xd @ v.T)).sum(dim=1)
        return (self.beta / self.num_directions * out).to(xt.device)

    def __call__(self, x: torch.Tensor | np.ndarray) -> torch.Tensor:
        return self.logits(x)
