"""Data paths in config files: resolved against the file's folder, and checked to exist.

A config names data files in three ways: a ``path`` key (a task, ``{source: file, path:
data.csv}``), a ``data_path`` key (deep configs) and a dataset spec string (``file:data.csv``,
``mnist:0-1,path=data/mnist``). A relative one is taken relative to the folder of the config
file that holds it, not the working directory, so a config and its data move together and the
resolved config a run folder stores (absolute paths) reruns from anywhere. ``--set`` overrides
are typed on the command line and stay relative to the working directory.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

PATH_KEYS = ("path", "data_path")
_NO_FILE = ("digits", "synthetic", "mnist1d")  # sources that are embedded or generated
# the file of a "file:" spec, or the value of a "path=" option, in a dataset spec string
_SPEC_PATH = re.compile(r"(?P<head>^file:|,\s*path=)(?P<path>[^,]+)")


def _absolute(value: str, folder: Path) -> str:
    path = Path(value).expanduser()
    return str(path if path.is_absolute() else folder / path)


def resolve_data_paths(node: Any, folder: Path) -> Any:
    """``node`` (config data read from a file in ``folder``) with every relative data path made
    absolute against ``folder``; everything else unchanged."""
    if isinstance(node, dict):
        return {
            key: _absolute(value, folder)
            if key in PATH_KEYS and isinstance(value, str)
            else resolve_data_paths(value, folder)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [resolve_data_paths(value, folder) for value in node]
    if isinstance(node, str):
        return _SPEC_PATH.sub(
            lambda m: m.group("head") + _absolute(m.group("path").strip(), folder), node
        )
    return node


def data_paths(node: Any) -> list[str]:
    """Every data path that config data names (``path`` / ``data_path`` keys, spec strings),
    except the ``path`` of a task whose source reads no file (digits, synthetic, mnist1d)."""
    if isinstance(node, dict):
        reads = node.get("source") not in _NO_FILE
        found = [v for k, v in node.items() if k in PATH_KEYS and isinstance(v, str) and reads]
        rest = [data_paths(v) for k, v in node.items() if k not in PATH_KEYS]
        return found + [p for sub in rest for p in sub]
    if isinstance(node, list):
        return [p for value in node for p in data_paths(value)]
    if isinstance(node, str):
        return [m.group("path").strip() for m in _SPEC_PATH.finditer(node)]
    return []


def missing_data_paths(node: Any) -> list[str]:
    """The data paths of :func:`data_paths` that do not exist (relative ones against the
    working directory: resolve a file's paths with :func:`resolve_data_paths` first)."""
    return [p for p in dict.fromkeys(data_paths(node)) if not Path(p).expanduser().exists()]


def file_digest(path: str | Path) -> str:
    """sha256 of a file's bytes, the first 16 hex digits."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def resolve_teacher_paths(data: Any, folder: Path) -> Any:
    """Make every relative ``teacher: {path: ...}`` in config data absolute against ``folder``
    (the config file's), in place, so that a run's stored config works from anywhere; and
    record an existing file's digest as ``teacher.sha256`` unless the data give one."""
    if isinstance(data, dict):
        for key, value in data.items():
            teacher = value if key == "teacher" and isinstance(value, dict) else {}
            path = teacher.get("path")
            if isinstance(path, str):
                full = (folder / Path(path).expanduser()).absolute()
                teacher["path"] = str(full)
                if full.is_file() and teacher.get("sha256") is None:
                    teacher["sha256"] = file_digest(full)
            resolve_teacher_paths(value, folder)
    elif isinstance(data, list):
        for item in data:
            resolve_teacher_paths(item, folder)
    return data


__all__ = [
    "PATH_KEYS",
    "data_paths",
    "file_digest",
    "missing_data_paths",
    "resolve_data_paths",
    "resolve_teacher_paths",
]
