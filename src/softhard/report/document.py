"""Gather what a report shows from a run folder, a sweep store or a reproduce folder.

:func:`collect` recognises the input, checks that it is complete (a ``*.partial`` folder, a
folder without ``manifest.json`` or without its results table, a reproduce folder with an
unfinished stage: :class:`softhard.errors.DataError` naming what is missing), and returns a
:class:`Report`: sections (text, figures, the tables behind them, manifest, rerun command) and
the four claims judged by :mod:`softhard.report.claims`.
"""

from __future__ import annotations

import json
import shlex
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from softhard.errors import DataError
from softhard.replication import replication_text, unit_summary
from softhard.report.claims import Claim, evaluate_claims
from softhard.report.plots import plot_width_sweep
from softhard.sweep.rows import current_columns
from softhard.sweep.store import STORE_FILE, RunStore

PLAN_FILE = "reproduce-plan.json"
STAGE_MARKER = "stage.json"
MAX_ROWS = 400


@dataclass
class Section:
    """One part of a report: a run folder, a stage, a sweep."""

    title: str
    text: str = ""
    figures: list[Path] = field(default_factory=list)
    tables: list[tuple[str, pd.DataFrame]] = field(default_factory=list)
    manifest: dict[str, Any] | None = None
    rerun: str | None = None


@dataclass
class Report:
    """Everything a report shows; rendered by :mod:`softhard.report.html`."""

    title: str
    source: Path
    kind: str
    sections: list[Section]
    claims: list[Claim]
    rerun: str | None = None


@dataclass
class Evidence:
    """The tables the claims are judged on (:func:`softhard.report.claims.evaluate_claims`)."""

    two_layer: pd.DataFrame | None = None
    fits: pd.DataFrame | None = None
    deep: pd.DataFrame | None = None
    theorem: pd.DataFrame | None = None
    theorem_gd: dict[str, pd.DataFrame] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)


Handler = Callable[["Section", pd.DataFrame, dict[str, Any], Path, Evidence], None]
"""Fills a section from one table of a run folder: (section, table, config, folder, evidence)."""

FOLDER_TABLES: dict[str, Handler] = {}
"""Table stem (``results`` for results.parquet or results.csv) -> its handler. Each study names
its tables in the study table (:mod:`softhard.studies.table`), which fills this; the report itself
knows no study."""


def collect(path: str | Path, *, scratch: Path | None = None) -> Report:
    """Read ``path`` (run folder, sweep store folder or file, reproduce folder) into a Report.

    ``scratch`` is where figures drawn for the report (sweep stores have none) are written;
    without it, a temporary folder is made for a sweep store only (run and reproduce folders
    draw nothing, so nothing is left behind).
    """
    path = require_exists(path)
    if path.is_file() and path.name == STORE_FILE:
        path = path.parent
    if path.name.endswith(".partial"):
        raise DataError(
            f"report: {path} is a half-written run (a '.partial' folder: the run was interrupted "
            "or is still running); rerun it, or report on the completed folder without '.partial'"
        )
    evidence = Evidence()
    if (path / PLAN_FILE).is_file():
        sections, rerun, kind = _reproduce(path, evidence), _rerun_reproduce(path), "reproduce"
    elif (path / STORE_FILE).is_file():
        scratch = scratch or Path(tempfile.mkdtemp(prefix="softhard-report-"))
        sections, rerun, kind = _store(path, evidence, scratch), None, "sweep store"
    else:
        section = _folder(path, evidence)
        sections, rerun, kind = [section], section.rerun, "run folder"
    claims = evaluate_claims(
        evidence.two_layer, evidence.fits, evidence.deep, evidence.sources,
        theorem=evidence.theorem, theorem_gd=evidence.theorem_gd,
    )  # fmt: skip
    return Report(f"softhard report: {path.name}", path, kind, sections, claims, rerun)


def require_exists(path: str | Path) -> Path:
    """``path`` as a Path; DataError if it does not exist."""
    path = Path(path)
    if not path.exists():
        raise DataError(
            f"report: {path} does not exist; give a run folder, sweep store or reproduce folder"
        )
    return path


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise DataError(f"report: {path} is not readable JSON ({err})") from None
    return data


def _read_table(folder: Path, stem: str) -> pd.DataFrame | None:
    for suffix, reader in ((".parquet", pd.read_parquet), (".csv", pd.read_csv)):
        file = folder / f"{stem}{suffix}"
        if file.is_file():
            try:
                return current_columns(reader(file))  # older folders: renamed columns
            except Exception as err:  # corrupt table: name the file
                raise DataError(f"report: cannot read {file} ({err})") from None
    return None


def _folder(folder: Path, evidence: Evidence, title: str | None = None) -> Section:
    """A run folder of any study: each table of :data:`FOLDER_TABLES` it holds is a part of it."""
    leftovers = sorted(p.name for p in folder.glob("*.partial"))
    if not (folder / "manifest.json").is_file():
        tables = [f"{t}{x}" for t in FOLDER_TABLES for x in (".parquet", ".csv")]
        known = (*tables, STORE_FILE, PLAN_FILE)
        present = [n for n in known if (folder / n).exists()]
        raise DataError(
            f"report: {folder} is not a complete run folder: manifest.json is missing"
            + (f" (found {', '.join(present)})" if present else "; it holds no results either")
            + (f"; half-written runs inside: {', '.join(leftovers)}" if leftovers else "")
            + f". A run folder holds manifest.json plus one of the study tables ({_stems()});"
            f" a sweep store holds {STORE_FILE}; a reproduce folder holds {PLAN_FILE}."
        )
    manifest = _read_json(folder / "manifest.json")
    section = Section(title or folder.name, manifest=manifest, rerun=manifest.get("command"))
    section.figures = sorted(folder.glob("*.png"))
    config = _config(folder)
    found = False
    for stem, handler in FOLDER_TABLES.items():
        table = _read_table(folder, stem)
        if table is not None:
            handler(section, table, config, folder, evidence)
            found = True
    if not found:
        raise DataError(
            f"report: {folder} has manifest.json but no results: expected one of the study "
            f"tables ({_stems()})"
        )
    return section


def _stems() -> str:
    """The tables a run folder may hold, each as .parquet or .csv: ``results``, ``fits``, ..."""
    return ", ".join(f"{stem}.parquet/.csv" for stem in FOLDER_TABLES)


def _config(folder: Path) -> dict[str, Any]:
    file = folder / "config.yaml"
    if not file.is_file():
        return {}
    try:
        return yaml.safe_load(file.read_text()) or {}
    except yaml.YAMLError as err:
        raise DataError(f"report: {file} is not valid YAML ({err})") from None


def results_section(
    section: Section, table: pd.DataFrame, config: dict[str, Any], folder: Path, ev: Evidence
) -> None:
    need = {"task", "width", "seed", "label_mode", "test_acc"}
    missing = need - set(table.columns)
    if missing:
        raise DataError(f"report: {folder}/results lacks columns {sorted(missing)}")
    deep = config.get("kind") == "deep"
    if section.rerun is None and (folder / "config.yaml").is_file():
        section.rerun = f"softhard run {shlex.quote(str(folder / 'config.yaml'))}"
    section.text = (
        f"{'Deep' if deep else 'Two-layer'} students: {table['task'].nunique()} difficulty levels, "
        f"widths {sorted(table['width'].unique().tolist())}, {replication_text(table)}, "
        f"label modes {sorted(table['label_mode'].unique().tolist())}."
    )
    section.tables.append(
        ("Mean, min and max over units (data seeds; student seeds if one)", _summary(table))
    )
    if deep:
        ev.deep, ev.sources["deep"] = table, str(folder)
    else:
        ev.two_layer, ev.sources["two_layer"] = table, str(folder)


def _summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per task x width x label mode: the number of units of replication and each metric's mean,
    min and max over them (:func:`softhard.replication.unit_summary`)."""
    metrics = [m for m in ("test_acc", "avg_loss") if m in table.columns]
    keys = ["task", "width", "label_mode"]
    out = unit_summary(table, keys, metrics)
    columns = {m: f"{m}_mean" for m in metrics}
    order = [*keys, "n_units", *[f"{m}_{s}" for m in metrics for s in ("mean", "min", "max")]]
    summary: pd.DataFrame = out.rename(columns=columns)[order]
    return summary


def fits_section(
    section: Section, table: pd.DataFrame, config: dict[str, Any], folder: Path, ev: Evidence
) -> None:
    section.text = "Scaling study: fitted exponents of the smallest width reaching eps."
    section.tables.append(("Fitted exponents (fits.csv)", table))
    widths = folder / "min_widths.csv"
    if widths.is_file():
        section.tables.append(("Smallest widths (min_widths.csv)", pd.read_csv(widths)))
    ev.fits, ev.sources["fits"] = table, str(folder)


def theorem_section(
    section: Section, table: pd.DataFrame, config: dict[str, Any], folder: Path, ev: Evidence
) -> None:
    section.text = (
        "Theorem study: the smallest width m*_ref whose loss at the proof's reference point "
        "U = W0 + s V-bar reaches eps (no training), its fitted law and the levels' kappa. "
        "The orders of the bounds are the paper's; provisional, our reading: the classification "
        "loss read as KL, beta = 1/gamma, the symmetric initialisation and every constant "
        "(docs/theorem.md section 5)."
    )
    section.tables.append(("Fitted m*_ref law (theorem_fits.csv)", table))
    for stem in ("theorem_levels", "theorem_min_widths", "theorem_gd_min_widths",
                 "theorem_gd_ratio", "theorem_gd_ratio_levels", "theorem_inequality"):  # fmt: skip
        extra = _read_table(folder, stem)
        if extra is not None:
            section.tables.append((f"{stem}.csv", extra))
            ev.theorem_gd[stem] = extra
    ev.theorem, ev.sources["theorem"] = table, str(folder)


def paired_section(
    section: Section, table: pd.DataFrame, config: dict[str, Any], folder: Path, ev: Evidence
) -> None:
    section.text = "Regime map: paired soft-minus-hard differences over seeds per setting."
    if "sign" in table.columns:
        counts = table["sign"].astype(str).value_counts().to_dict()
        section.text += f" Cells by sign: {counts}."
    section.tables.append(("Paired differences (paired.csv)", table))


def margins_section(
    section: Section, table: pd.DataFrame, config: dict[str, Any], folder: Path, ev: Evidence
) -> None:
    section.text = "NTK margin gamma per difficulty level, with its primal/dual certificate."
    section.tables.append(("Margins (margins.csv)", table))


def min_width_section(
    section: Section, table: pd.DataFrame, config: dict[str, Any], folder: Path, ev: Evidence
) -> None:
    reached = int(table["reached"].astype(bool).sum()) if "reached" in table.columns else 0
    section.text = (
        "Minimum-width search: the smallest width whose average loss (mean over seeds) reaches "
        f"eps, per task, label mode and eps; {reached} of {len(table)} reached within the grid."
    )
    section.tables.append(("Smallest widths (min_width.csv)", table))
    evaluated = _read_table(folder, "evaluated")
    if evaluated is not None:
        section.tables.append(("Widths evaluated (evaluated.csv)", evaluated))


def _store(folder: Path, ev: Evidence, scratch: Path) -> list[Section]:
    """A sweep store: one section per sweep (summary table and a figure drawn here)."""
    sections = []
    with RunStore(folder) as store:
        sweeps = store.sweeps()
        if sweeps.empty:
            raise DataError(f"report: the run store {folder / STORE_FILE} holds no sweep")
        specs = dict(store._db.execute("SELECT name, spec FROM sweeps").fetchall())
        frames = []
        for name in sweeps["sweep"]:
            runs = store.runs(name, status="done")
            section = Section(f"sweep {name}", manifest={"spec": json.loads(specs[name] or "{}")})
            section.rerun = f"softhard sweep SPEC.yaml --store {shlex.quote(str(folder))}"
            section.text = f"{len(runs)} runs done (status counts: {_counts(sweeps, name)})."
            if not runs.empty and "test_acc" in runs:
                figure = scratch / f"sweep-{name}.png"
                metrics = [m for m in ("test_acc", "avg_loss") if m in runs]
                plot_width_sweep(runs, figure, metrics=metrics, title=f"sweep {name}")
                section.figures.append(figure)
                section.tables.append(("Mean, min and max over seeds", _summary(runs)))
                frames.append(runs)
            sections.append(section)
    if frames:
        ev.two_layer, ev.sources["two_layer"] = pd.concat(frames, ignore_index=True), str(folder)
    return sections


def _counts(sweeps: pd.DataFrame, name: str) -> str:
    row = sweeps[sweeps["sweep"] == name].iloc[0]
    return ", ".join(f"{s} {int(row[s] or 0)}" for s in ("done", "failed", "pending", "running"))


def _reproduce(folder: Path, ev: Evidence) -> list[Section]:
    """A reproduce folder: every planned stage must be complete (its marker present)."""
    plan = _read_json(folder / PLAN_FILE)
    stages = plan.get("stages", [])
    missing = [s for s in stages if not (folder / s / STAGE_MARKER).is_file()]
    if missing:
        raise DataError(
            f"report: the reproduce folder {folder} is not complete: stage(s) {', '.join(missing)} "
            f"have no {STAGE_MARKER} marker (interrupted or not run yet); run "
            f"`softhard reproduce --out {folder}` again to finish them"
        )
    sections = [
        Section("reproduce", text=plan.get("note", ""), manifest=plan, rerun=plan.get("command"))
    ]
    for stage in stages:
        marker = _read_json(folder / stage / STAGE_MARKER)
        run = folder / stage / marker.get("run", ".")
        sections.append(_folder(run, ev, title=f"stage {stage}"))
    return sections


def _rerun_reproduce(folder: Path) -> str | None:
    return _read_json(folder / PLAN_FILE).get("command")
