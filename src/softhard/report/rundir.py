"""Run folders: written under a temporary name and renamed only when complete.

:func:`write_run` is the one writer every study uses. A run folder holds ``config.yaml`` (the resolved config), ``manifest.json`` (versions, seeds,
device, git revision, time), ``results.parquet`` / ``results.csv`` (one row per trained student),
``curves.parquet`` (per-epoch metrics) and figures. While a run is in progress the folder is
``<name>.partial``; on an error it is removed, so a folder without that suffix is always complete.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import functools
import json
import platform
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy
import pandas as pd
import torch
import yaml
from pydantic import BaseModel

from softhard._about import __version__
from softhard.config import config_digest, json_digest

NO_CSV = ("curves",)  # tables written as parquet only (one row per student and epoch: large)


@functools.lru_cache(maxsize=1)
def environment() -> dict[str, Any]:
    """Package, torch and Python versions, the host and the git revision (if any); cached."""
    return {
        "softhard": __version__,
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cuda": torch.version.cuda if torch.cuda.is_available() else None,
        "git_revision": git_revision() or version_revision(__version__),
    }


def version_revision(version: str) -> str | None:
    """The git revision a setuptools-scm version names (``0.1.dev5+g1a2b3c4[.d20260101]``):
    ``1a2b3c4``, with ``-dirty`` for a build from a tree with changes; None if it names none."""
    match = re.search(r"[+.]g([0-9a-f]{7,40})(\.d\d{8})?", version)
    if match is None:
        return None
    return match.group(1) + ("-dirty" if match.group(2) else "")


def git_revision() -> str | None:
    """The git revision of softhard's source tree, ``-dirty`` if it has changes; None if not in git."""
    here = Path(__file__).parent
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
            cwd=here,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=here,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{rev}-dirty" if dirty else rev


def new_run_name(name: str, digest: str) -> str:
    """``<name>-<UTC timestamp>-<digest[:8]>``."""
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
    return f"{name}-{stamp}-{digest[:8]}"


def free_run_name(out_dir: str | Path, name: str) -> str:
    """``name``, or ``name-2``, ``name-3``... : the first that no folder (complete or partial) in
    ``out_dir`` has, so that two runs of one config within the same second both land."""
    folder = Path(out_dir)
    candidate, k = name, 1
    while (folder / candidate).exists() or (folder / f"{candidate}.partial").exists():
        k += 1
        candidate = f"{name}-{k}"
    return candidate


@contextlib.contextmanager
def run_folder(out_dir: str | Path, name: str) -> Iterator[Path]:
    """Yield ``out_dir/name.partial``; rename it to ``out_dir/name`` on success, remove on error."""
    final = Path(out_dir) / name
    partial = final.with_name(final.name + ".partial")
    if final.exists():
        raise FileExistsError(f"run folder {final} exists already")
    partial.mkdir(parents=True, exist_ok=False)
    try:
        yield partial
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    partial.rename(final)


def write_config(folder: Path, config: BaseModel | Mapping[str, Any]) -> None:
    """The resolved config as ``config.yaml`` (a model, or the plain settings of a result
    derived from other runs, such as a paired comparison)."""
    data = config.model_dump(mode="json") if isinstance(config, BaseModel) else dict(config)
    text = yaml.safe_dump(data, sort_keys=False)
    (folder / "config.yaml").write_text(text)


def settings_digest(config: BaseModel | Mapping[str, Any]) -> str:
    """:func:`~softhard.config.config_digest` of a model; the JSON digest of plain settings."""
    if isinstance(config, BaseModel):
        return config_digest(config)
    return json_digest(dict(config))


def write_manifest(folder: Path, **fields: Any) -> dict[str, Any]:
    """``manifest.json``: the environment plus the given fields (seeds, device, timings...)."""
    manifest = {
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        **environment(),
        **fields,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))
    return manifest


def write_table(folder: Path, stem: str, table: pd.DataFrame, *, csv: bool = True) -> None:
    """``<stem>.parquet`` (and ``<stem>.csv``)."""
    table.to_parquet(folder / f"{stem}.parquet", index=False)
    if csv:
        table.to_csv(folder / f"{stem}.csv", index=False)


def write_run(
    out_dir: str | Path,
    config: BaseModel | Mapping[str, Any],
    *,
    name: str,
    tables: Mapping[str, pd.DataFrame],
    manifest: Mapping[str, Any],
    figures: Callable[[Path], object] | None = None,
) -> Path:
    """Write one complete run folder, ``<out_dir>/<name>-<UTC time>-<digest[:8]>``; return it.

    The one run-folder writer of every study. In order: ``config.yaml`` (the resolved
    ``config``), each of ``tables`` as ``<stem>.parquet`` and ``<stem>.csv`` (parquet only for
    :data:`NO_CSV`), the figures ``figures(folder)`` draws, and ``manifest.json`` (the
    environment, ``config_digest`` and the ``manifest`` fields). The folder is written as
    ``<name>.partial`` and renamed when complete (see :func:`run_folder`).

    ``config`` is a study's config model, or (for a result derived from stored runs, such as
    a paired comparison or the margin table) the plain settings that made it, as JSON data.
    """
    digest = settings_digest(config)
    run_name = free_run_name(out_dir, new_run_name(name, digest))
    with run_folder(out_dir, run_name) as folder:
        write_config(folder, config)
        for stem, table in tables.items():
            write_table(folder, stem, table, csv=stem not in NO_CSV)
        if figures is not None:
            figures(folder)
        write_manifest(folder, config_digest=digest, **manifest)
    return Path(out_dir) / run_name
