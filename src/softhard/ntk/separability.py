"""Whether a margin estimate says the data are separable by the NTK, and what studies may do with it.

A :class:`~softhard.ntk.MarginEstimate` carries a ``status`` (docs/margin.md, "Data the kernel
cannot separate"):

- ``"separable"``: the certified lower bound is positive: gamma_K >= lower > 0.
- ``"not_separable"``: the certified upper bound is at or below the estimate's ``resolution``,
  ``1e-3 * tol * max_i ||x_i||`` (1e-6 for unit-norm data at the default tol = 1e-3): gamma_K is 0
  to within what the solver can resolve (a margin that small would need more than 1e12
  neurons in either bound), or the data hold identical feature rows with opposite labels,
  which force gamma = 0 exactly (docs/theory.md, closed form 3) whatever the solver reached.
- ``"not_certified"``: the solver stopped with an upper bound above the resolution but no
  positive lower bound: the margin may be positive, but nothing certifies it.

Only a ``"separable"`` estimate's gamma is a number a study may use: :func:`certified_gamma`
gives NaN otherwise, and :func:`require_separable` refuses it with a one-paragraph error.
"""

from __future__ import annotations

import math
from typing import Any, Literal, Protocol

import torch

from softhard.errors import ConfigError, DataError, SofthardError

__all__ = [
    "STATUSES",
    "MarginStatus",
    "NotSeparableError",
    "certified_gamma",
    "conflicting_pairs",
    "has_exact_conflicts",
    "margin_info",
    "margin_row",
    "margin_status",
    "require_separable",
]

MarginStatus = Literal["separable", "not_separable", "not_certified"]
STATUSES: tuple[MarginStatus, ...] = ("separable", "not_separable", "not_certified")

DUPLICATE_DISTANCE = 1e-6
"""Rows closer than this times max_i ||x_i|| count as the same input (:func:`conflicting_pairs`)."""


class _HasStatus(Protocol):
    @property
    def gamma(self) -> float: ...
    @property
    def lower(self) -> float: ...
    @property
    def upper(self) -> float: ...
    @property
    def status(self) -> str: ...


class _Estimate(_HasStatus, Protocol):  # the fields of MarginEstimate that tables record
    @property
    def stderr(self) -> float: ...
    @property
    def gap(self) -> float: ...
    @property
    def fresh_lower(self) -> float: ...
    @property
    def converged(self) -> bool: ...
    @property
    def stopped_by(self) -> str: ...
    @property
    def seed(self) -> int | None: ...
    @property
    def num_directions(self) -> int: ...


def margin_status(
    lower: float, upper: float, resolution: float, *, conflicts: bool = False
) -> MarginStatus:
    """The status of a bracket ``[lower, upper]`` of gamma_K (see the module docstring);
    ``conflicts``: the data hold identical rows with opposite labels (gamma = 0 exactly)."""
    if conflicts or not upper > resolution:
        return "not_separable"
    return "separable" if lower > 0 else "not_certified"


def certified_gamma(estimate: _HasStatus | None) -> float:
    """gamma of a separable estimate, NaN for any other (or for None): what a table may store."""
    if estimate is None or estimate.status != "separable":
        return math.nan
    return float(estimate.gamma)


class NotSeparableError(DataError, ConfigError):
    """gamma was needed as a number, but the estimate is not separable (:func:`require_separable`).

    Both a :class:`DataError` (the data) and a :class:`ConfigError` (the setting that needs gamma,
    e.g. ``teacher.beta``'s default 1/gamma, which raised a ConfigError before)."""


def require_separable(
    estimate: _HasStatus | None, *, where: str, error: type[SofthardError] = NotSeparableError
) -> float:
    """gamma of ``estimate``, or a :class:`DataError` (one paragraph naming ``where``) if not separable.

    For every use of gamma as a number: the theorem's neuron bounds, a scaling level's x axis,
    a kernel teacher's default scale 1/gamma. ``error``: the class raised (a study whose config
    chose the data raises :class:`~softhard.errors.ConfigError`).
    """
    if estimate is not None and estimate.status == "separable":
        return float(estimate.gamma)
    if estimate is None:
        raise error(f"{where}: needs the NTK margin gamma, but it was not estimated.")
    what = (
        f"the data are not separable by the NTK: the certified upper bound on gamma_K is "
        f"{estimate.upper:.3g}, at the solver's resolution of zero"
        if estimate.status == "not_separable"
        else f"the NTK margin is not certified: gamma_K <= {estimate.upper:.3g} but no positive "
        "lower bound was found"
    )
    raise error(
        f"{where}: {what}, so gamma is not a number the theory can use (its neuron bounds need "
        "gamma > 0). Check the data with `softhard margin` (it names duplicate rows with opposite "
        "labels), lower the class mixing or label flips, or drop this level."
    )


def has_exact_conflicts(x: torch.Tensor, y: torch.Tensor) -> bool:
    """Whether two rows of ``x`` are bitwise identical with opposite labels (O(n log n) sort)."""
    _, groups = torch.unique(x, dim=0, return_inverse=True)
    low = torch.full((int(groups.max()) + 1,), math.inf, dtype=y.dtype, device=y.device)
    high = torch.full_like(low, -math.inf)
    low.scatter_reduce_(0, groups, y, reduce="amin")
    high.scatter_reduce_(0, groups, y, reduce="amax")
    return bool((low != high).any())


def margin_row(estimate: _Estimate | None) -> dict[str, Any]:
    """The margin's columns of a result row: gamma (NaN unless separable) and how far to trust it.

    ``gamma_gap`` is the relative gap, ``gamma_fresh_lower`` the primal solution's margin on fresh
    directions, ``gamma_stopped_by`` why the solver stopped, ``gamma_status`` the status above.
    """
    if estimate is None:
        nan = math.nan
        return dict.fromkeys(("gamma", "gamma_stderr", "gamma_gap", "gamma_fresh_lower"), nan) | {
            "gamma_converged": False,
            "gamma_stopped_by": "",
            "gamma_status": "",
        }
    return {
        "gamma": certified_gamma(estimate),
        "gamma_stderr": float(estimate.stderr),
        "gamma_gap": float(estimate.gap),
        "gamma_fresh_lower": float(estimate.fresh_lower),
        "gamma_converged": bool(estimate.converged),
        "gamma_stopped_by": estimate.stopped_by,
        "gamma_status": estimate.status,
    }


def margin_info(estimate: _Estimate) -> dict[str, Any]:
    """The margin's entry in a run's manifest: the bracket, the gap, the fresh lower bound, the
    stop reason, the status and the directions' seed (gamma NaN unless separable)."""
    return {
        "gamma": certified_gamma(estimate),
        **{k: float(getattr(estimate, k)) for k in ("lower", "upper", "stderr", "gap")},
        "fresh_lower": float(estimate.fresh_lower),
        "converged": bool(estimate.converged),
        "stopped_by": estimate.stopped_by,
        "status": estimate.status,
        "seed": estimate.seed,
        "num_directions": estimate.num_directions,
    }


def conflicting_pairs(
    x: torch.Tensor, y: torch.Tensor, *, limit: int = 5, chunk: int = 2048
) -> list[tuple[int, int, float]]:
    """Pairs ``(i, j, distance)`` of examples with opposite labels and (nearly) identical rows.

    "Nearly": ``||x_i - x_j|| <= DUPLICATE_DISTANCE * max_k ||x_k||``. Such a pair forces
    gamma = 0 (docs/theory.md, closed form 3). At most ``limit`` pairs, closest first; the work
    is chunked (memory O(chunk * n)).
    """
    xt = torch.as_tensor(x).detach().to("cpu", torch.float64)
    yt = torch.as_tensor(y).detach().to("cpu", torch.float64)
    scale = float(torch.linalg.vector_norm(xt, dim=1).max()) if len(xt) else 0.0
    pos, neg = torch.nonzero(yt > 0).squeeze(1), torch.nonzero(yt <= 0).squeeze(1)
    if len(pos) == 0 or len(neg) == 0:
        return []
    found: list[tuple[int, int, float]] = []
    for start in range(0, len(pos), chunk):
        rows = pos[start : start + chunk]
        dist = torch.cdist(xt[rows], xt[neg], compute_mode="donot_use_mm_for_euclid_dist")
        hit = torch.nonzero(dist <= DUPLICATE_DISTANCE * scale)
        found += [
            (int(rows[a]), int(neg[b]), float(dist[a, b])) for a, b in hit.tolist()[: 4 * limit]
        ]
    found.sort(key=lambda p: (p[2], min(p[0], p[1])))
    return [(min(i, j), max(i, j), d) for i, j, d in found[:limit]]
