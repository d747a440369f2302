"""``softhard margin SPEC``: the NTK margin gamma of a dataset, its hardest examples, neuron bounds."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import torch
import typer
from rich.table import Table

from softhard import theory
from softhard.cli._app import app, console, friendly_errors
from softhard.cli._margin_notes import fresh_note, not_converged_note, not_separable_note
from softhard.config import DEFAULT_MARGIN_SEED, DEFAULT_NUM_DIRECTIONS, DataConfig, validate
from softhard.data import Dataset, load_dataset
from softhard.device import resolve_device
from softhard.errors import ConfigError
from softhard.ntk import MarginEstimate, bound_problems, estimate_margin
from softhard.ntk.separability import conflicting_pairs

__all__ = ["check_options", "fresh_note", "margin", "not_converged_note", "resolve_spec"]


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
    eps: Annotated[float, typer.Option(help="target loss for the neuron bounds, in (0, 1)")] = 0.01,
    num_directions: Annotated[int, typer.Option(help="directions K")] = DEFAULT_NUM_DIRECTIONS,
    seed: Annotated[
        int, typer.Option(help="seed of the directions (the configs' margin.seed default)")
    ] = DEFAULT_MARGIN_SEED,
    tol: Annotated[float, typer.Option(help="relative gap (upper-lower)/upper, in (0, 1)")] = 1e-3,
    device: Annotated[str, typer.Option(help="cpu, cuda, auto, ...")] = "cpu",
    top: Annotated[int, typer.Option(help="how many of the hardest examples to list (>= 0)")] = 10,
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
    experiment would load them; gamma is computed on the training split. Data the kernel does
    not separate get no neuron bounds, and the examples that conflict are named.
    """
    check_options(
        eps=eps,
        num_directions=num_directions,
        tol=tol,
        top=top,
        max_seconds=max_seconds,
        seed=seed,
        device=device,
    )
    resolved = resolve_device(device)
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
            device=resolved,
            max_seconds=max_seconds,
        )
    console.print(_margin_table(ds, est))
    if top > 0:
        console.print(_hardest_table(ds, est, top))
    _print_notes(ds, x, est, eps, max_seconds)


def check_options(
    *,
    eps: float,
    num_directions: int,
    tol: float,
    top: int,
    max_seconds: float,
    seed: int = 0,
    device: str = "cpu",
) -> None:
    """Every option checked before anything is loaded or solved; all problems in one paragraph."""
    problems = []
    if not 0 < eps < 1:
        problems.append(f"--eps must be a target loss in (0, 1) (got {eps:g})")
    if top < 0:
        problems.append(f"--top must be >= 0 (got {top}; 0 lists none)")
    problems += bound_problems(  # the estimator's own bounds, one table with the Python API
        {"num_directions": num_directions, "tol": tol, "max_seconds": max_seconds, "seed": seed},
        label=_flag,
    )
    if device != "auto" and device.split(":")[0] not in ("cpu", "cuda"):
        problems.append(f"--device must be cpu, cuda, cuda:N or auto (got {device!r})")
    if problems:
        raise ConfigError("softhard margin: " + "; ".join(problems) + ".")


def _flag(name: str) -> str:
    """The option of a setting: ``--tol``; ``--num-directions (num_directions)``."""
    flag = "--" + name.replace("_", "-")
    return f"{flag} ({name})" if "_" in name else flag


def _print_notes(
    ds: Dataset, x: torch.Tensor, est: MarginEstimate, eps: float, budget: float
) -> None:
    """The neuron bounds (only for a certified margin) and the notes under the tables."""
    if est.status == "not_separable":
        pairs = conflicting_pairs(x.reshape(len(x), -1), ds.y_train_pm)
        console.print(f"[yellow]not separable:[/yellow] {not_separable_note(est, pairs)}")
        return
    if est.separable:
        console.print(_neurons_table(est, eps))
    note = fresh_note(est)
    if note:
        console.print(f"[yellow]note:[/yellow] {note}")
    if not est.converged:
        console.print(f"[yellow]warning:[/yellow] {not_converged_note(est, budget)}")


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
        ("stopped by", est.stopped_by, f"status: {est.status.replace('_', ' ')}"),
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
    table.add_row("soft", "1 / (gamma^2 eps)", f"{theory.soft_neurons(est.gamma, eps):.4g}")
    table.add_row("hard", "ln(1/eps) / gamma^4", f"{theory.hard_neurons(est.gamma, eps):.4g}")
    cross = theory.crossover_gamma(eps)
    better = "soft" if est.gamma < cross else "hard"
    table.add_row("crossover", f"gamma* = sqrt(eps ln(1/eps)) = {cross:.4g}", f"{better} fewer")
    return table
