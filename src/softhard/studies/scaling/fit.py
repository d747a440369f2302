"""The scaling fit: least squares of log m* on the theory's regressors, with seed-bootstrap intervals.

docs/theory.md section 4 (the neuron bounds) gives two laws:

- soft labels: ``m = O(1 / (gamma^2 eps))``, fitted as ``log m* = a + b log(1/gamma) + c log(1/eps)``,
  theory ``b = 2``, ``c = 1``;
- hard labels: ``m = O(ln(1/eps) / gamma^4)``, fitted as
  ``log m* = a + b log(1/gamma) + c log(ln(1/eps))``, theory ``b = 4``, ``c = 1``.

A point is one (difficulty level, eps) with its minimum width ``m_star``. A *censored* point (eps
not reached within the width cap) has no value: it is kept out of the fit and listed in the result,
never dropped silently and never used as a number. Intervals come from bootstrap draws of m* (one
row per resample of seeds, paired across points; see
:func:`softhard.studies.min_width.search.resampled_min_widths`): each draw is refitted on the points the
estimate used that are not censored in it. A fit with too few distinct gamma or eps, or too few
points, is "not identified" rather than an error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

THEORY: dict[str, dict[str, float]] = {"soft": {"b": 2.0, "c": 1.0}, "hard": {"b": 4.0, "c": 1.0}}
"""The theory's exponents per label mode (``mixed`` is fitted with the soft form)."""

MATCHES = "matches"
SMALLER = "smaller (bound loose)"
LARGER = "LARGER (bound violated)"
NOT_IDENTIFIED = "not identified"
TERMS = ("a", "b", "c")


@dataclass(frozen=True)
class ScalingFit:
    """One fit of log m* (see the module docstring).

    Attributes:
        mode: the fitted form, ``soft`` or ``hard`` (``mixed`` uses ``soft``).
        estimate, ci_low, ci_high: per term (``a``, ``b``, ``c``); nan when not identified.
        theory: the theory's ``b`` and ``c`` for ``mode``.
        verdict: per term ``b`` and ``c``: matches, smaller (bound loose), LARGER (bound
            violated) or not identified.
        identified: False when the points cannot determine the three coefficients.
        used: the points in the fit (gamma, eps, m_star, ...), one row each.
        censored: the points kept out because eps was not reached within the cap.
        n_boot, n_boot_ok: bootstrap draws given and draws whose refit was determined.
        level: the interval's coverage (0.95).
    """

    mode: str
    estimate: dict[str, float]
    ci_low: dict[str, float]
    ci_high: dict[str, float]
    theory: dict[str, float]
    verdict: dict[str, str]
    identified: bool
    used: pd.DataFrame = field(repr=False)
    censored: pd.DataFrame = field(repr=False)
    n_boot: int = 0
    n_boot_ok: int = 0
    level: float = 0.95

    @property
    def n_used(self) -> int:
        return len(self.used)

    @property
    def n_censored(self) -> int:
        return len(self.censored)


def design(gamma: np.ndarray, eps: np.ndarray, mode: str) -> np.ndarray:
    """The regressors ``[1, log(1/gamma), log(1/eps)]`` (soft) or ``[.., log(ln(1/eps))]`` (hard)."""
    gamma, eps = np.asarray(gamma, float), np.asarray(eps, float)
    eps_term = np.log(np.log(1.0 / eps)) if mode == "hard" else np.log(1.0 / eps)
    return np.column_stack([np.ones_like(gamma), np.log(1.0 / gamma), eps_term])


def _solve(x: np.ndarray, y: np.ndarray) -> np.ndarray | None:
    """Least squares, or None when the columns are not independent or no residual is left."""
    if len(y) <= x.shape[1]:
        return None
    coef, _, rank, _ = np.linalg.lstsq(x, y, rcond=None)
    return coef if rank == x.shape[1] else None


def fit_scaling(
    table: pd.DataFrame,
    *,
    mode: str = "soft",
    draws: np.ndarray | None = None,
    level: float = 0.95,
) -> ScalingFit:
    """Fit the theory's law for ``mode`` to a table of minimum widths.

    Args:
        table: one row per point with columns ``gamma`` (> 0), ``eps`` (in (0, 1) for hard),
            ``m_star`` and ``censored`` (bool; a censored row's ``m_star`` is ignored).
        mode: ``soft`` (``mixed`` too) or ``hard``: which law (module docstring).
        draws: optional ``(n_boot, len(table))`` bootstrap draws of m* (``inf`` where censored).
        level: interval coverage.

    Returns:
        A :class:`ScalingFit`; underdetermined fits come back "not identified", not raised.
    """
    form = "hard" if mode == "hard" else "soft"
    table = table.reset_index(drop=True)
    cens = table["censored"].astype(bool).to_numpy()
    used, censored = table[~cens], table[cens]
    x = design(used["gamma"].to_numpy(), used["eps"].to_numpy(), form)
    y = np.log(used["m_star"].to_numpy(float))
    coef = _solve(x, y)
    if coef is not None and np.ptp(y) == 0:
        coef = None  # every point at one m* (e.g. all at the search's floor, 2): nothing to fit
    nan = {t: math.nan for t in TERMS}
    lo, hi, n_ok = dict(nan), dict(nan), 0
    if coef is not None and draws is not None and len(draws):
        boots = _bootstrap(x, np.asarray(draws, float)[:, ~cens])
        n_ok = len(boots)
        if n_ok:
            q = np.nanquantile(boots, [(1 - level) / 2, (1 + level) / 2], axis=0)
            lo, hi = dict(zip(TERMS, q[0], strict=True)), dict(zip(TERMS, q[1], strict=True))
    estimate = dict(zip(TERMS, coef, strict=True)) if coef is not None else nan
    theory = THEORY[form]
    verdict = {
        t: verdict_for(lo[t], hi[t], theory[t]) if coef is not None else NOT_IDENTIFIED
        for t in ("b", "c")
    }
    return ScalingFit(
        form,
        {k: float(v) for k, v in estimate.items()},
        {k: float(v) for k, v in lo.items()},
        {k: float(v) for k, v in hi.items()},
        dict(theory),
        verdict,
        coef is not None,
        used.reset_index(drop=True),
        censored.reset_index(drop=True),
        0 if draws is None else len(draws),
        n_ok,
        level,
    )


def _bootstrap(x: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """Refit each draw on its finite points; the coefficients of the determined refits."""
    out = []
    for row in draws:
        ok = np.isfinite(row)
        coef = _solve(x[ok], np.log(row[ok]))
        if coef is not None:
            out.append(coef)
    return np.asarray(out).reshape(-1, len(TERMS))


def verdict_for(low: float, high: float, theory: float) -> str:
    """The interval against the theory's exponent: inside, below, above, or no interval."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return NOT_IDENTIFIED
    if high < theory:
        return SMALLER
    if low > theory:
        return LARGER
    return MATCHES


@dataclass(frozen=True)
class Identification:
    """A term's estimates across analysis choices (horizons, eps rules) and what they allow.

    ``estimate`` is the primary choice's; ``ci_low``/``ci_high`` cover every choice's interval
    and estimate; ``identified`` is False when the estimates spread more than the primary
    interval's width (then the verdict is "not identified") or the primary fit is undetermined.
    """

    estimate: float
    ci_low: float
    ci_high: float
    spread: float
    width: float
    identified: bool
    verdict: str


def identify(fits: list[ScalingFit], term: str) -> Identification:
    """Combine one term across fits of the same data under different choices (first = primary)."""
    head = fits[0]
    est = np.array([f.estimate[term] for f in fits], float)
    lows = np.array([f.ci_low[term] for f in fits] + list(est), float)
    highs = np.array([f.ci_high[term] for f in fits] + list(est), float)
    width = head.ci_high[term] - head.ci_low[term]
    finite = bool(np.all(np.isfinite(est)) and np.isfinite(width))
    spread = float(np.max(est) - np.min(est)) if finite else math.nan
    low = float(np.min(lows)) if finite and np.all(np.isfinite(lows)) else math.nan
    high = float(np.max(highs)) if finite and np.all(np.isfinite(highs)) else math.nan
    ok = finite and spread <= width and all(f.identified for f in fits)
    verdict = verdict_for(low, high, head.theory[term]) if ok else NOT_IDENTIFIED
    return Identification(head.estimate[term], low, high, spread, width, ok, verdict)


__all__ = [
    "LARGER",
    "MATCHES",
    "NOT_IDENTIFIED",
    "SMALLER",
    "THEORY",
    "Identification",
    "ScalingFit",
    "design",
    "fit_scaling",
    "identify",
    "verdict_for",
]
