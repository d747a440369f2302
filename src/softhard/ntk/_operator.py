"""The activation-pattern operator behind the margin estimator and the kernel teacher.

For directions z_1..z_K and examples (x_i, y_i) the pattern matrix is D_ki = 1[<z_k, x_i> > 0]
(docs/theory.md section 3). The estimator needs two products with it per iteration:

    forward:  G(q)_k = sum_i q_i y_i D_ki x_i                      (K, d)   g_k(q) of the dual
    margins:  m_i(U) = y_i (1/K) sum_k D_ki <u_k, x_i>             (n,)     primal margins of v = U

``margins`` is the adjoint of ``forward`` (up to 1/K): for U_k = g_k/||g_k|| it is the gradient of
the dual objective, and its minimum is the primal lower bound. Both are computed chunk by chunk over
directions, so the working memory is O(n * chunk_size) besides an optional cache of the pattern.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

_SPARSE_FRACTION = 0.25  # forward on the support of q only when it holds fewer examples than this


class PatternOperator:
    """The products of the (K, n) pattern matrix of ``directions`` and ``x`` (see module docstring).

    Args:
        x: examples, shape ``(n, d)``.
        y: labels in {-1, +1}, shape ``(n,)``, same dtype and device as ``x``.
        directions: z_k, shape ``(K, d)``, same dtype and device as ``x``.
        chunk_size: directions per chunk.
        max_cache_bytes: keep the whole (n, K) pattern (as ``x.dtype``) when it fits in this many
            bytes; otherwise recompute one ``(n, chunk_size)`` block at a time from ``x @ z^T``.
    """

    def __init__(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        directions: torch.Tensor,
        *,
        chunk_size: int,
        max_cache_bytes: int,
    ) -> None:
        self.x = x
        self.yx = y[:, None] * x
        self.num_directions = int(directions.shape[0])
        self.chunks = list(torch.split(directions, chunk_size))
        n, itemsize = int(x.shape[0]), x.element_size()
        cache = n * self.num_directions * itemsize <= max_cache_bytes
        # cached: one (n, K) block, so each product is a single matmul; else one block per chunk
        self._cache = self._block(directions) if cache else None
        # the cache in other dtypes (the Hessian's); empty when nothing is cached
        self._cache_as: dict[torch.dtype, torch.Tensor] = (
            {x.dtype: self._cache} if self._cache is not None else {}
        )

    def _block(self, z: torch.Tensor) -> torch.Tensor:
        """The pattern block D^T for the directions ``z``: shape ``(n, len(z))``, 0/1 in x.dtype."""
        return (self.x @ z.T > 0).to(self.x.dtype)

    def _blocks(self, dtype: torch.dtype | None = None) -> Iterator[tuple[slice, torch.Tensor]]:
        """``(rows of the directions, pattern block (n, len))`` for the cache or each chunk, in
        ``dtype`` (default ``x.dtype``; a cached pattern keeps one copy per dtype asked for)."""
        dtype = dtype or self.x.dtype
        if self._cache is not None:
            if dtype not in self._cache_as:
                self._cache_as[dtype] = self._cache.to(dtype)
            yield slice(0, self.num_directions), self._cache_as[dtype]
            return
        start = 0
        for z in self.chunks:
            yield slice(start, start + len(z)), self._block(z).to(dtype)
            start += len(z)

    def forward(self, q: torch.Tensor) -> torch.Tensor:
        """G(q), shape ``(K, d)``: row k is g_k(q) = sum_i q_i y_i D_ki x_i.

        Linear in q, so it may be called with any real vector (not only points of the simplex).
        """
        support = torch.nonzero(q).squeeze(1)
        sparse = support.numel() < _SPARSE_FRACTION * q.numel()
        weighted = q[support, None] * self.yx[support] if sparse else q[:, None] * self.yx
        # (d, n) @ (n, K) then transposed: much faster than D^T @ W for skinny W (d << K)
        rows = [
            (weighted.T @ (block[support] if sparse else block)).T for _, block in self._blocks()
        ]
        return (rows[0] if len(rows) == 1 else torch.cat(rows)).contiguous()

    def margins(self, u: torch.Tensor) -> torch.Tensor:
        """m(U), shape ``(n,)``: m_i = y_i (1/K) sum_k D_ki <u_k, x_i> for directions' vectors U (K, d)."""
        acc = torch.zeros_like(self.x)
        for rows, block in self._blocks():
            acc += (u[rows].T @ block.T).T  # as in forward: the wide-output layout is faster
        return (acc * self.yx).sum(dim=1) / self.num_directions

    def hessian(
        self,
        g: torch.Tensor,
        s: torch.Tensor,
        active: torch.Tensor,
        dtype: torch.dtype | None = None,
    ) -> torch.Tensor:
        """Hessian of F_mu(q) = (1/K) sum_k s_k, s_k = sqrt(||g_k(q)||^2 + mu^2), on ``active``.

        d^2 F_mu / dq_i dq_j = (1/K) sum_k D_ki D_kj y_i y_j (<x_i, x_j> / s_k
        - <x_i, g_k> <x_j, g_k> / s_k^3), for the examples ``active`` (indices), from G = ``g``
        (K, d) and ``s`` (K,). Costs two (|A|, K) x (K, |A|) products, done in ``dtype`` (default
        ``x.dtype``; float32 halves the cost where only a model of F_mu is needed), returned in
        ``x.dtype``.
        """
        dtype = dtype or self.x.dtype
        yx = self.yx[active]
        k = self.num_directions
        curvature = torch.zeros(len(active), len(active), dtype=dtype, device=self.x.device)
        bend = torch.zeros_like(curvature)
        yx_low = yx.to(dtype)
        every = len(active) == self.x.shape[0]  # all examples (``active`` is sorted): no gather
        for rows, block in self._blocks(dtype):
            d_act = block if every else block.index_select(0, active)  # exact in any float dtype
            curvature += gram(d_act * torch.rsqrt(k * s[rows]).to(dtype))
            weighted = yx_low @ g[rows].T.to(dtype)  # <y_i x_i, g_k>
            weighted.mul_((k * s[rows] ** 3).rsqrt().to(dtype)).mul_(d_act)
            bend += gram(weighted)  # B_ik = D_ki <y_i x_i, g_k> / sqrt(K s_k^3)
        return (yx @ yx.T) * curvature.to(self.x.dtype) - bend.to(self.x.dtype)

    def fractions(self) -> torch.Tensor:
        """Shape ``(n,)``: the fraction of directions with <z_k, x_i> > 0 for each example."""
        total = torch.zeros(self.x.shape[0], dtype=self.x.dtype, device=self.x.device)
        for _, block in self._blocks():
            total += block.sum(dim=1)
        return total / self.num_directions


def gram(a: torch.Tensor, leaf: int = 256) -> torch.Tensor:
    """``a @ a.T``, symmetric: each off-diagonal block is computed once (recursive halving down to
    ``leaf`` rows), which saves about a third of the time of the plain product at m ~ 1500."""
    m = a.shape[0]
    if m <= leaf:
        return a @ a.T
    h = m // 2
    top, bottom = a[:h], a[h:]
    out = torch.empty(m, m, dtype=a.dtype, device=a.device)
    out[:h, :h] = gram(top, leaf)
    out[h:, h:] = gram(bottom, leaf)
    cross = bottom @ top.T
    out[h:, :h] = cross
    out[:h, h:] = cross.T
    return out


def unit_rows(g: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(U, norms)``: rows of ``g`` scaled to unit length (a zero row stays zero) and their norms."""
    norms = torch.linalg.vector_norm(g, dim=1)
    safe = torch.where(norms > 0, norms, torch.ones_like(norms))
    return g / safe[:, None], norms


def project_simplex(v: torch.Tensor) -> torch.Tensor:
    """Euclidean projection of ``v`` (shape ``(n,)``) onto {q >= 0, sum q = 1} (sort-based)."""
    u, _ = torch.sort(v, descending=True)
    css = torch.cumsum(u, 0) - 1.0
    idx = torch.arange(1, v.numel() + 1, dtype=v.dtype, device=v.device)
    rho = int(torch.nonzero(u - css / idx > 0)[-1])
    return torch.clamp(v - css[rho] / (rho + 1), min=0.0)
