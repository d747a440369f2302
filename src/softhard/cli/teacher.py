"""``softhard teacher-logits CONFIG --out FILE``: write a config's teacher logits to a file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from softhard.cli._app import app, console, friendly_errors
from softhard.cli._options import SetOption
from softhard.config import ExperimentConfig
from softhard.errors import ConfigError
from softhard.kinds import load_any
from softhard.studies.teacher_file import export_teacher_logits


@app.command("teacher-logits")
@friendly_errors
def teacher_logits(
    config: Annotated[str, typer.Argument(help="two-layer YAML config file or shipped name")],
    out: Annotated[Path, typer.Option("--out", "-o", help="the .npz file to write")],
    set_: SetOption = None,
) -> None:
    """Train (or read from the cache) a two-layer config's teacher for its one task and write
    its logits on the training and test splits, with the data's fingerprint, to --out; use it
    with teacher: {kind: logits, path: FILE}."""
    cfg = load_any(config, set_)
    if not isinstance(cfg, ExperimentConfig):
        raise ConfigError(
            f"teacher-logits takes a two-layer config (kind two_layer), not kind '{cfg.kind}'"
        )
    path, info = export_teacher_logits(cfg, out)
    acc = info.get("test_acc", float("nan"))
    console.print(
        f"wrote [bold]{path}[/bold]: {info.get('kind')} teacher, test acc {acc:.4f}",
        soft_wrap=True,
    )
