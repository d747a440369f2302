"""The neuron bounds of soft-label and hard-label training (docs/theory.md section 4).

Source: S. Mandal, X. Lin, R. Srikant, "A Theoretical Analysis of Soft-Label vs Hard-Label Training in
Neural Networks", arXiv:2412.09579 (L4DC 2025). The bounds are O(.) statements: the constants are
unknown, so every function takes them as parameters (default 1) and the numbers are for comparing
shapes (exponents, crossovers), not absolute widths.

- soft labels (projected GD, kernel-limit teacher):   m_soft = C_soft / (gamma^2 eps)
- hard labels (adapted Ji-Telgarsky):                  m_hard = C_hard ln(1/eps) / gamma^4

Soft needs fewer neurons exactly when C_soft/(gamma^2 eps) < C_hard ln(1/eps)/gamma^4, i.e.
gamma^2 < (C_hard/C_soft) eps ln(1/eps): on hard problems (small gamma). docs/theory.md section 4 summarises this as
"roughly gamma <= eps", which is a sufficient condition (eps^2 < eps ln(1/eps) for eps < 0.56); the
exact crossover is :func:`crossover_gamma`.
"""

from __future__ import annotations

import math

from scipy.special import lambertw

__all__ = [
    "crossover",
    "crossover_eps",
    "crossover_gamma",
    "hard_neurons",
    "ji_telgarsky_width",
    "soft_neurons",
]


def soft_neurons(gamma: float, eps: float, C: float = 1.0) -> float:
    """Neurons sufficient for soft-label training to reach average KL loss <= eps.

    m_soft = C / (gamma^2 * eps)   (Mandal, Lin, Srikant 2024; docs/theory.md section 4). C defaults to 1:
    the theorem gives the order, not the constant.
    """
    _check(gamma=gamma, eps=eps, C=C)
    return C / (gamma**2 * eps)


def hard_neurons(gamma: float, eps: float, C: float = 1.0) -> float:
    """Neurons sufficient for hard-label training to reach average logistic loss <= eps.

    m_hard = C * ln(1/eps) / gamma^4   (Mandal, Lin, Srikant 2024, adapting Ji and Telgarsky 2020;
    docs/theory.md section 4). C defaults to 1.
    """
    _check(gamma=gamma, eps=eps, C=C)
    return C * math.log(1.0 / eps) / gamma**4


def crossover_gamma(eps: float, C_soft: float = 1.0, C_hard: float = 1.0) -> float:
    """The margin at which the soft and hard bounds are equal, for a given eps.

    gamma* = sqrt((C_hard / C_soft) * eps * ln(1/eps)). For gamma < gamma* soft labels need fewer
    neurons (soft_neurons < hard_neurons); for gamma > gamma* hard labels do (docs/theory.md section 4).
    """
    _check(eps=eps, C_soft=C_soft, C_hard=C_hard)
    return math.sqrt(C_hard / C_soft * eps * math.log(1.0 / eps))


def crossover_eps(gamma: float, C_soft: float = 1.0, C_hard: float = 1.0) -> float:
    """The smallest eps in (0, 1/e] at which the soft and hard bounds are equal, for a given gamma.

    Solves eps ln(1/eps) = c with c = (C_soft / C_hard) gamma^2: eps* = exp(W_{-1}(-c)), W_{-1} the
    lower branch of the Lambert W function. For eps < eps* hard labels need fewer neurons, for
    eps just above it soft labels do. Returns ``nan`` if c > 1/e (no crossover: eps ln(1/eps) <= 1/e,
    so hard labels need fewer neurons for every eps).
    """
    _check(gamma=gamma, C_soft=C_soft, C_hard=C_hard)
    c = C_soft / C_hard * gamma**2
    if c > 1.0 / math.e:
        return math.nan
    return math.exp(float(lambertw(-c, k=-1).real))


def crossover(
    *,
    gamma: float | None = None,
    eps: float | None = None,
    C_soft: float = 1.0,
    C_hard: float = 1.0,
) -> float:
    """The other coordinate of the soft/hard crossover: give exactly one of ``gamma`` or ``eps``.

    ``crossover(eps=e)`` is :func:`crossover_gamma`; ``crossover(gamma=g)`` is :func:`crossover_eps`.
    """
    if (gamma is None) == (eps is None):
        raise ValueError("crossover: give exactly one of gamma= or eps=.")
    if eps is not None:
        return crossover_gamma(eps, C_soft, C_hard)
    return crossover_eps(gamma, C_soft, C_hard)  # type: ignore[arg-type]


def ji_telgarsky_width(gamma: float, eps: float, n: int, delta: float) -> float:
    """Ji-Telgarsky width M = 4096 lambda^2 / gamma^6 (PROVISIONAL).

    lambda = (sqrt(2 ln(4n/delta)) + ln(4/eps)) / (gamma/4). From Z. Ji, M. Telgarsky, "Polylogarithmic
    width suffices for gradient descent to achieve arbitrarily small test error with shallow ReLU
    networks", ICLR 2020, Theorem 2.2 -- provisional: recalled, not re-read (docs/theory.md section 4), so
    the constants may be wrong. With probability 1 - delta over the initialisation, width >= M gives
    logistic loss <= eps on n examples.
    """
    _check(gamma=gamma, eps=eps, delta=delta)
    if not (isinstance(n, int) and n >= 1):
        raise ValueError(f"n must be a positive integer, got {n!r}.")
    lam = (math.sqrt(2.0 * math.log(4.0 * n / delta)) + math.log(4.0 / eps)) / (gamma / 4.0)
    return 4096.0 * lam**2 / gamma**6


def _check(**values: float) -> None:
    """gamma > 0 (the theory has ||x|| <= 1, so gamma <= 1/2), eps and delta in (0, 1), C > 0."""
    for name, value in values.items():
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"{name} must be a finite number, got {value!r}.")
        if name == "gamma" and not value > 0:
            raise ValueError(f"gamma must be > 0 (a separable problem), got {value}.")
        if name in ("eps", "delta") and not 0 < value < 1:
            raise ValueError(f"{name} must be in (0, 1), got {value}.")
        if name.startswith("C") and not value > 0:
            raise ValueError(f"{name} must be > 0, got {value}.")
