"""``softhard margin SPEC``: the NTK margin gamma of a dataset, its hardest examples, neuron bounds."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from softhard import theory
from softhard.cli._app import app, console, friendly_errors
from softhard.config import DataConfig, validate
from softhard.data import Dataset, load_dataset
from softhard.errors import ConfigError
from softhard.ntk import MarginEstimate, estimate_margin


def resolve_spec(spec: str, label_column: str | None = None) -> DataConfig:
    """A dataset spec string (``digits:3-8,mix=0.3``) or the path of a ``.npz``/``.csv`` file."""
    if Path(spec).suffix.lower() in (".npz", ".csv") and "," not in spec and ":" not in spec:
        fields = {"source": "file", "path": spec, "label_column": label_column}
        data: DataConfig = validate(DataConfig, fields, where=f"data file {spec!r}")
        return data
    if label_column and "label_column=" not in spec:
        spec = f"{spec},label_column={label_column}"
    return DataConfig.parse(spec)


DEFAULT_MAX_SECONDS = 120.0
"""Default time budget of ``softhard margin`` (``--max-seconds``)."""


@app.command("margin")
@friendly_errors
def margin(
    spec: Annotated[
        str,
        typer.Argument(help="dataset spec (e.g. 'digits:3-8,mix=0.3') or a .npz/.csv file"),
    ],
    eps: Annotated[float, typer.Option(help="target loss for the neuron bounds")] = 0.01,
    num_directions: Annotated[int, typer.Option(help="directions K")] = 4096,
    seed: Annotated[int, typer.Option(help="seed of the directions")] = 0,
    tol: Annotated[float, typer.Option(help="relative gap (upper-lower)/upper")] = 1e-3,
    device: Annotated[str, typer.Option(help="cpu, cuda, ...")] = "cpu",
    top: Annotated[int, typer.Option(help="how many of the hardest examples to list")] = 10,
    label_column: Annotated[str | None, typer.Option(help=".csv files: the label column")] = None,
    max_seconds: Annotated[
        float,
        typer.Option(
            help="time budget of the solver in seconds; when it runs out, the bracket reached "
            "so far is printed (not converged)"
        ),
    ] = DEFAULT_MAX_SECONDS,
) -> None:
    """NTK margin gamma with its certificate, the hardest examples, and soft/hard neuron bounds.

    The data are loaded (and by default centred and projected onto the unit sphere) exactly as an
    experiment would load them; gamma is computed on the training split.
    """
    if not max_seconds > 0:
        raise ConfigError(
            f"--max-seconds must be a positive number of seconds (got {max_seconds:g})."
        )
    cfg = resolve_spec(spec, label_column)
    ds = load_dataset(cfg)
    x, _ = ds.flat()
    with console.status(
        f"estimating gamma (n={ds.n_train}, K={num_directions}; at most {max_seconds:g} s)"
    ):
        est = estimate_margin(
            x,
            ds.y_train,
            num_directions=num_directions,
            seed=seed,
            tol=tol,
            device=device,
            max_seconds=max_seconds,
        )
    console.print(_margin_table(ds, est))
    console.print(_hardest_table(ds, est, top))
    console.print(_neurons_table(est, eps))
    note = fresh_note(est)
    if note:
        console.print(f"[yellow]note:[/yellow] {note}")
    if not est.converged:
        console.print(f"[yellow]warning:[/yellow] {not_converged_note(est, max_seconds)}")


_STOP_REASONS = {
    "max_seconds": "the time budget (--max-seconds {budget:g}) ran out",
    "max_iter": "the iteration cap was reached",
    "max_newton_steps": "the cap on Newton steps was reached",
    "stalled": "the Newton phase stopped making progress",
}


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
            "(no positive lower bound was found; the data may be barely or not separable "
            "by the NTK)"
        )
    looser = f"accept a looser gap (--tol {max(10 * est.tol, 1e-2):g})"
    fewer = "use fewer directions for a first look (--num-directions 1024; the cost is linear in K)"
    if est.stopped_by == "stalled":
        advice = (
            "More time will not help: this is what a margin far below the tolerance's reach "
            "looks like (gamma ~ 1e-4 or less), and the upper bound is the answer (the NTK margin "
            f"of these data with K directions is below {est.upper:.3g}). To try for a lower "
            f"bound, {looser} or {fewer}."
        )
    elif est.stopped_by == "max_seconds":
        advice = (
            f"To tighten it: allow more time (--max-seconds {4 * max_seconds:g}), {looser}, "
            f"or {fewer}."
        )
    else:
        advice = (
            "To tighten it: raise the caps (Python: estimate_margin(..., max_iter=..., "
            f"max_newton_steps=...)), {looser}, or {fewer}."
        )
    return (
        f"not converged: {reason} after {est.iterations} iterations and {est.seconds:.1f} s; "
        f"{bracket}. The bracket is valid as it stands. {advice} See docs/margin.md, "
        "'When it does not converge'."
    )


FRESH_RATIO = 0.5
"""``fresh_lower`` below this fraction of ``lower`` gets a note (see :func:`fresh_note`)."""


def fresh_note(est: MarginEstimate) -> str | None:
    """What a ``fresh_lower`` far below ``lower`` means and what to do, or None when it is not."""
    if not est.lower > 0 or est.fresh_lower != est.fresh_lower:  # no margin, or no fresh run
        return None
    if est.fresh_lower >= FRESH_RATIO * est.lower:
        return None
    more = 4 * est.num_directions
    return (
        f"fresh lower {est.fresh_lower:.3g} is far below lower {est.lower:.3g}: the solution v "
        f"found with K = {est.num_directions} directions does not carry over to fresh directions "
        "(on new directions some examples lose their margin), so gamma_K over-fits these K "
        "directions and overstates the margin. Use more directions "
        f"(--num-directions {more}) until fresh lower comes close to lower."
    )


def _margin_table(ds: Dataset, est: MarginEstimate) -> Table:
    table = Table(title=f"NTK margin gamma of {ds.name} (train: n={ds.n_train}, d={ds.dim})")
    table.add_column("quantity")
    table.add_column("value", justify="right")
    table.add_column("meaning")
    rows = [
        ("gamma", f"{est.gamma:.6g}", f"+- {est.error:.2g} (stderr + half gap)"),
        ("lower", f"{est.lower:.6g}", "primal certificate (explicit v)"),
        ("upper", f"{est.upper:.6g}", "dual certificate (weights q)"),
        ("relative gap", f"{est.gap:.2e}", "(upper - lower) / upper"),
        ("stderr", f"{est.stderr:.2g}", "Monte-Carlo error over draws of directions"),
        ("fresh lower", f"{est.fresh_lower:.6g}", "primal v on fresh directions"),
        ("fresh upper", f"{est.fresh_upper:.6g}", "dual q on fresh directions"),
        ("directions K", str(est.num_directions), f"seed {est.seed}"),
        ("iterations", str(est.iterations), f"{est.seconds:.2f} s, converged: {est.converged}"),
    ]
    for row in rows:
        table.add_row(*row)
    return table


def _hardest_table(ds: Dataset, est: MarginEstimate, top: int) -> Table:
    table = Table(title=f"the {top} hardest training examples (largest dual weight q)")
    for col in ("rank", "index", "class", "weight q"):
        table.add_column(col, justify="right")
    names = ds.meta.get("class_names") or ["0", "1"]
    for rank, i in enumerate(est.hardest[:top].tolist(), start=1):
        label = names[int(ds.y_train[i])]
        table.add_row(str(rank), str(i), label, f"{float(est.q[i]):.4g}")
    return table


def _neurons_table(est: MarginEstimate, eps: float) -> Table:
    table = Table(title=f"neurons sufficient for average loss <= eps = {eps:g} (constants C = 1)")
    for col in ("labels", "bound", "neurons"):
        table.add_column(col, justify="right" if col == "neurons" else "left")
    if est.gamma <= 0:
        table.add_row("-", "gamma = 0: not separable by the NTK, no bound", "-")
        return table
    table.add_row("soft", "1 / (gamma^2 eps)", f"{theory.soft_neurons(est.gamma, eps):.4g}")
    table.add_row("hard", "ln(1/eps) / gamma^4", f"{theory.hard_neurons(est.gamma, eps):.4g}")
    cross = theory.crossover_gamma(eps)
    better = "soft" if est.gamma < cross else "hard"
    table.add_row("crossover", f"gamma* = sqrt(eps ln(1/eps)) = {cross:.4g}", f"{better} fewer")
    return table
