"""``train.epochs: auto``: a training horizon T that has converged for the quantity compared.

The theorem's quantity is the epoch-averaged loss ``A(T) = (1/T) sum_{t<T} L(W_t)``. Its
optimisation term shrinks like ``1/(lr T)`` whatever the width, so at a short horizon every
width looks alike. :func:`choose_epochs` doubles T from ``start`` until ``A`` of the widest
students (mean over seeds, per label mode) moves by less than ``rtol`` relative from ``T/2``
to ``T``, for every label mode, or T reaches ``cap``.

Both values come from one training of length T: the running-average curve holds ``A(T/2)``
at index ``T/2 - 1`` and ``A(T)`` at index ``T - 1``. Each doubling therefore trains the widest
students once; the caller then trains every student at the chosen T.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from softhard.config import AutoEpochs


@dataclass(frozen=True)
class Horizon:
    """The number of epochs T used for a task, and how it was chosen.

    Attributes:
        epochs: the T every student of the task was trained for.
        auto: True when chosen by ``train.epochs: auto``; False for a fixed ``train.epochs``.
        converged: auto only: the tolerance held at ``epochs`` (False: stopped at the cap);
            None for a fixed horizon.
        rtol, cap: the auto settings (None for a fixed horizon).
        history: auto only: per horizon tried, ``{"epochs": T, "modes": {mode: {"avg":
            A(T), "avg_half": A(T/2), "change": |A(T) - A(T/2)| / |A(T)|}}}``.
    """

    epochs: int
    auto: bool = False
    converged: bool | None = None
    rtol: float | None = None
    cap: int | None = None
    history: list[dict[str, Any]] = field(default_factory=list)

    def info(self) -> dict[str, Any]:
        """Plain data for the manifest."""
        return {
            "epochs": self.epochs,
            "auto": self.auto,
            "converged": self.converged,
            "rtol": self.rtol,
            "cap": self.cap,
            "history": self.history,
        }


def relative_change(avg_curve: np.ndarray) -> tuple[float, float, float]:
    """``(A(T), A(T/2), |A(T) - A(T/2)| / |A(T)|)`` from a running-average curve of length T.

    NaN anywhere (a diverged student) gives an infinite change: not converged.
    """
    curve = np.asarray(avg_curve, dtype=np.float64)
    t = len(curve)
    if t < 2:
        return math.nan, math.nan, math.inf
    now, half = float(curve[t - 1]), float(curve[t // 2 - 1])
    if not (math.isfinite(now) and math.isfinite(half)):
        return now, half, math.inf
    if now == half:
        return now, half, 0.0
    return now, half, abs(now - half) / abs(now) if now else math.inf


def choose_epochs(avg_curves: Callable[[int], dict[str, np.ndarray]], auto: AutoEpochs) -> Horizon:
    """Double T from ``auto.start`` (capped at ``auto.cap``) until every curve has settled.

    Args:
        avg_curves: ``T -> {label mode: running-average loss curve of length T}`` (mean over
            seeds of the widest students trained for T epochs).
        auto: start, cap and relative tolerance.
    """
    history: list[dict[str, Any]] = []
    epochs = min(auto.start, auto.cap)
    while True:
        modes = {}
        for mode, curve in avg_curves(epochs).items():
            now, half, change = relative_change(curve)
            modes[mode] = {"avg": now, "avg_half": half, "change": change}
        history.append({"epochs": epochs, "modes": modes})
        converged = all(m["change"] < auto.rtol for m in modes.values())
        if converged or epochs >= auto.cap:
            return Horizon(epochs, True, converged, auto.rtol, auto.cap, history)
        epochs = min(2 * epochs, auto.cap)


def mean_curve(curves: list[np.ndarray], length: int) -> np.ndarray:
    """Mean over seeds of curves of length ``length`` (a shorter, diverged one counts as NaN)."""
    out = np.full((len(curves), length), math.nan)
    for i, c in enumerate(curves):
        out[i, : len(c)] = c[:length]
    mean: np.ndarray = out.mean(axis=0)
    return mean
