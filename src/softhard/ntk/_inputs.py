"""Validation of the inputs of the margin estimator and the kernel teacher (clear DataErrors) and of
the estimator's settings (ConfigErrors)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from softhard.errors import ConfigError, DataError


def signed_labels(y: torch.Tensor | np.ndarray) -> torch.Tensor:
    """Labels as float64 {-1, +1}: accepts {-1, +1} or {0, 1} (also bool); anything else is a DataError."""
    yt = torch.as_tensor(np.asarray(y) if not isinstance(y, torch.Tensor) else y).detach().cpu()
    if yt.dtype == torch.bool:
        yt = yt.to(torch.int64)
    if yt.ndim != 1:
        raise DataError(f"labels y must have shape (n,), got {tuple(yt.shape)}.")
    yf = yt.to(torch.float64)
    if not torch.isfinite(yf).all():
        raise DataError("labels y contain NaN or inf; allowed labels are {-1, +1} or {0, 1}.")
    values = set(torch.unique(yf).tolist())
    if values <= {-1.0, 1.0}:
        return yf
    if values <= {0.0, 1.0}:
        return 2.0 * yf - 1.0
    raise DataError(
        f"labels y take the values {sorted(values)[:10]}; the margin needs two classes given as "
        "{-1, +1} or {0, 1}."
    )


def signed_labels_and_inputs(
    x: torch.Tensor | np.ndarray,
    y: torch.Tensor | np.ndarray,
    *,
    dtype: torch.dtype = torch.float64,
    device: str | torch.device = "cpu",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate ``(x, y)`` and return them as ``(n, d)`` and ``(n,)`` tensors of ``dtype`` on ``device``."""
    xt = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x).detach()
    if xt.ndim != 2:
        raise DataError(
            f"inputs x must have shape (n, d), got {tuple(xt.shape)}; flatten them first."
        )
    if xt.shape[0] == 0 or xt.shape[1] == 0:
        raise DataError(f"inputs x are empty (shape {tuple(xt.shape)}); need n >= 1 and d >= 1.")
    yt = signed_labels(y)
    if yt.shape[0] != xt.shape[0]:
        raise DataError(f"x has {xt.shape[0]} examples but y has {yt.shape[0]} labels.")
    xt = xt.to(device=device, dtype=dtype)
    if not torch.isfinite(xt).all():
        bad = torch.nonzero(~torch.isfinite(xt).all(dim=1)).squeeze(1)[:5].tolist()
        raise DataError(f"inputs x contain NaN or inf (rows {bad}...); remove or impute them.")
    zero = torch.nonzero((xt == 0).all(dim=1)).squeeze(1)
    if zero.numel():
        raise DataError(
            f"examples {zero[:5].tolist()} are all-zero; the NTK margin of a zero input is 0 "
            "(no direction activates it). Remove them or centre/normalise differently."
        )
    return xt, yt.to(device=device, dtype=dtype)


def given_directions(directions: torch.Tensor, d: int) -> torch.Tensor:
    z = torch.as_tensor(directions).detach().to("cpu", torch.float64)
    if z.ndim != 2 or z.shape[1] != d or z.shape[0] == 0:
        raise ConfigError(f"directions must have shape (K, {d}) with K >= 1, got {tuple(z.shape)}.")
    if not torch.isfinite(z).all():
        raise ConfigError("directions contain NaN or inf.")
    return z


SETTING_BOUNDS: dict[str, tuple[Callable[[float], bool], str]] = {
    "num_directions": (lambda v: v >= 1, ">= 1"),
    "seed": (lambda v: v >= 0, ">= 0"),
    "tol": (lambda v: 0 < v < 1, "a relative gap in (0, 1)"),
    "max_iter": (lambda v: v >= 1, ">= 1"),
    "chunk_size": (lambda v: v >= 1, ">= 1"),
    "fresh_directions": (lambda v: v >= 0, ">= 0"),
    "max_newton_steps": (lambda v: v >= 0, ">= 0"),
    "max_seconds": (lambda v: v > 0, "a positive number of seconds"),
}
"""The one table of the margin estimator's setting bounds: ``name -> (holds, allowed)``, read by
:func:`check_settings` (the Python API) and ``softhard margin``'s option check."""


def bound_problems(values: dict[str, float | None], label: Callable[[str], str] = str) -> list[str]:
    """``'<label> must be <allowed> (got <value>)'`` for each value outside its
    :data:`SETTING_BOUNDS` (a None value is not set and is skipped)."""
    problems = []
    for name, value in values.items():
        holds, allowed = SETTING_BOUNDS[name]
        if value is not None and not holds(value):
            shown = f"{value:g}" if isinstance(value, float) else value
            problems.append(f"{label(name)} must be {allowed} (got {shown})")
    return problems


def check_settings(
    num_directions: int,
    tol: float,
    max_iter: int,
    chunk_size: int,
    fresh: int | None,
    max_newton_steps: int,
    max_seconds: float | None,
    seed: int = 0,
) -> None:
    problems = bound_problems(
        {
            "num_directions": num_directions,
            "seed": seed,
            "tol": tol,
            "max_iter": max_iter,
            "chunk_size": chunk_size,
            "fresh_directions": fresh,
            "max_newton_steps": max_newton_steps,
            "max_seconds": max_seconds,
        }
    )
    if problems:
        raise ConfigError("estimate_margin: " + "; ".join(problems) + ".")
