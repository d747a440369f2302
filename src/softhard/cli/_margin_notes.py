"""The paragraphs ``softhard margin`` prints under its tables: not separable, not converged, fresh.

The advice of the three is written together so that it never contradicts itself: when the
fresh-direction note asks for more directions, no other note suggests fewer (docs/margin.md).
"""

from __future__ import annotations

from softhard.ntk import MarginEstimate

__all__ = ["FRESH_RATIO", "fresh_note", "not_converged_note", "not_separable_note"]

FRESH_RATIO = 0.5
"""``fresh_lower`` below this fraction of ``lower`` gets a note (see :func:`fresh_note`)."""

_STOP_REASONS = {
    "max_seconds": "the time budget (--max-seconds {budget:g}) ran out",
    "max_iter": "the iteration cap was reached",
    "max_newton_steps": "the cap on Newton steps was reached",
    "stalled": "the Newton phase stopped making progress",
}


def overfits(est: MarginEstimate) -> bool:
    """Whether ``fresh_lower`` is far below a positive ``lower`` (the K directions are too few)."""
    if not est.lower > 0 or est.fresh_lower != est.fresh_lower:  # no margin, or no fresh run
        return False
    return est.fresh_lower < FRESH_RATIO * est.lower


def fresh_note(est: MarginEstimate) -> str | None:
    """What a ``fresh_lower`` far below ``lower`` means and what to do, or None when it is not."""
    if not overfits(est):
        return None
    more = 4 * est.num_directions
    return (
        f"fresh lower {est.fresh_lower:.3g} is far below lower {est.lower:.3g}: the solution v "
        f"found with K = {est.num_directions} directions does not carry over to fresh directions "
        "(on new directions some examples lose their margin), so gamma_K over-fits these K "
        "directions and overstates the margin. Use more directions "
        f"(--num-directions {more}) until fresh lower comes close to lower."
    )


def not_separable_note(est: MarginEstimate, pairs: list[tuple[int, int, float]]) -> str:
    """Why no neuron bound is printed for data the kernel does not separate (status not_separable)."""
    if pairs:
        named = "; ".join(f"{i} and {j} (distance {dist:.2g})" for i, j, dist in pairs)
        why = (
            f"Training examples with identical inputs and opposite labels force gamma = 0: "
            f"{named}{' (the first few)' if len(pairs) >= 5 else ''}. Remove or relabel them."
        )
    else:
        why = (
            "No two training examples with opposite labels have identical inputs, so the classes "
            "overlap in a way the kernel cannot separate (e.g. class mixing 0.5 or heavy label "
            "flips)."
        )
    return (
        f"the data are not separable by the NTK: the certified upper bound gamma_K <= "
        f"{est.upper:.3g} is at or below the solver's resolution ({est.resolution:.2g} = 1e-3 x "
        f"tol x the largest input norm), so gamma = 0 and the theory's neuron bounds do not "
        f"apply (none are printed). {why} See docs/margin.md, 'Data the kernel cannot separate'."
    )


def not_converged_note(est: MarginEstimate, max_seconds: float) -> str:
    """What a non-converged estimate means and what to do about it (docs/margin.md)."""
    reason = _STOP_REASONS.get(est.stopped_by, est.stopped_by).format(budget=max_seconds)
    lower = max(est.lower, 0.0)
    if lower > 0:
        bracket = (
            f"gamma_K is certified to lie in [{lower:.3g}, {est.upper:.3g}] "
            f"(relative gap {est.gap:.2e}, asked for {est.tol:g})"
        )
    else:
        bracket = (
            f"only an upper bound is certified: gamma_K <= {est.upper:.3g} "
            "(no positive lower bound was found, so no neuron bound is printed; the data may "
            "be barely or not separable by the NTK)"
        )
    return (
        f"not converged: {reason} after {est.iterations} iterations and {est.seconds:.1f} s; "
        f"{bracket}. The bracket is valid as it stands. {_advice(est, max_seconds)} See "
        "docs/margin.md, 'When it does not converge'."
    )


def _advice(est: MarginEstimate, max_seconds: float) -> str:
    """One consistent set of levers for why it stopped (never "fewer directions" when the
    fresh-direction note asks for more)."""
    levers = [f"accept a looser gap (--tol {max(10 * est.tol, 1e-2):g})"]
    if not overfits(est) and est.num_directions >= 64:
        levers.append(
            f"use fewer directions for a first look (--num-directions "
            f"{max(est.num_directions // 4, 16)}; the cost is linear in K)"
        )
    if est.stopped_by == "stalled":
        if est.lower > 0:
            return (
                "More time will not help: the solver stopped shrinking the gap, and the bracket "
                f"is the answer at this precision. To stop earlier next time, {_join(levers)}."
            )
        return (
            "More time will not help: this is what a margin far below the tolerance's reach "
            "looks like (gamma ~ 1e-4 or less), and the upper bound is the answer (the NTK margin "
            f"of these data with K directions is below {est.upper:.3g}). To try for a lower "
            f"bound, {_join(levers)}."
        )
    if est.stopped_by == "max_seconds":
        levers.insert(0, f"allow more time (--max-seconds {4 * max_seconds:g})")
    else:
        levers.insert(
            0,
            "raise the caps (Python: estimate_margin(..., max_iter=..., max_newton_steps=...))",
        )
    return f"To tighten it: {_join(levers)}."


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f", or {items[-1]}"
