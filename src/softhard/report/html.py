"""Render a :class:`~softhard.report.document.Report` as one self-contained HTML file and Markdown.

The HTML embeds every figure as a base64 ``data:`` URI and carries its own CSS: no network, no
external file. ``report.md`` links the figures by relative path (it lives beside them or names
their folder).
"""

from __future__ import annotations

import base64
import html
import json
import os
import shlex
from pathlib import Path
from typing import Any

import pandas as pd

from softhard.errors import ConfigError
from softhard.report.claims import Claim
from softhard.report.document import MAX_ROWS, Report, Section, collect, require_exists

CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1150px; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; }
table { border-collapse: collapse; margin: .6em 0 1.2em; font-size: .85em; }
th, td { border: 1px solid #ccc; padding: .25em .5em; text-align: right; vertical-align: top; }
th { background: #f2f2f2; } td.text { text-align: left; }
img { max-width: 100%; border: 1px solid #ddd; }
.status { font-weight: bold; white-space: nowrap; }
.reproduced { color: #146c2e; } .partly { color: #9a6700; }
.not-reproduced { color: #b3261e; } .not-measured { color: #666; }
pre, code { background: #f6f6f6; } pre { padding: .6em; overflow-x: auto; }
details { margin: .4em 0; }
"""


def _cls(status: str) -> str:
    return "not-measured" if status.startswith("not measured") else status.replace(" ", "-")


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _table_html(frame: pd.DataFrame, table_id: str | None = None) -> str:
    shown = frame.head(MAX_ROWS)
    ident = f' id="{table_id}"' if table_id else ""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in shown.columns)
    body = "".join(
        "<tr>" + "".join(_td(v) for v in row) + "</tr>" for row in shown.itertuples(index=False)
    )
    note = f"<p>first {MAX_ROWS} of {len(frame)} rows</p>" if len(frame) > MAX_ROWS else ""
    return f"<table{ident}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{note}"


def _td(value: Any) -> str:
    kind = ' class="text"' if isinstance(value, str) else ""
    return f"<td{kind}>{html.escape(_cell(value))}</td>"


def _image(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    alt = html.escape(path.name)
    return f'<figure><img alt="{alt}" src="data:image/png;base64,{data}"><figcaption>{alt}</figcaption></figure>'


def _manifest_html(manifest: dict[str, Any]) -> str:
    rows = "".join(
        f'<tr><th>{html.escape(str(k))}</th><td class="text">{html.escape(_plain(v))}</td></tr>'
        for k, v in manifest.items()
    )
    return f"<details><summary>manifest</summary><table>{rows}</table></details>"


def _plain(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)


def _claims_html(claims: list[Claim]) -> str:
    rows = "".join(
        f'<tr class="claim" data-status="{html.escape(c.status)}"><td>{c.number}</td>'
        f'<td class="text">{html.escape(c.statement)}</td>'
        f'<td class="status {_cls(c.status)}">{html.escape(c.status)}</td>'
        f'<td class="text">{html.escape(c.evidence)}<br><small>source: '
        f"{html.escape(c.source or '-')}</small></td></tr>"
        for c in claims
    )
    rules = "".join(f"<li>claim {c.number}: {html.escape(c.rule)}</li>" for c in claims)
    return (
        '<table id="claims"><thead><tr><th>#</th><th>claim</th><th>status</th><th>measured evidence'
        f"</th></tr></thead><tbody>{rows}</tbody></table>"
        f"<details><summary>how each status is decided</summary><ul>{rules}</ul></details>"
    )


def _section_html(section: Section) -> str:
    parts = [f"<h2>{html.escape(section.title)}</h2>"]
    if section.text:
        parts.append(f"<p>{html.escape(section.text)}</p>")
    parts += [_image(f) for f in section.figures]
    for caption, table in section.tables:
        parts.append(f"<h3>{html.escape(caption)}</h3>{_table_html(table)}")
    if section.rerun:
        parts.append(f"<p>rerun:</p><pre><code>{html.escape(section.rerun)}</code></pre>")
    if section.manifest:
        parts.append(_manifest_html(section.manifest))
    return "\n".join(parts)


def render_html(report: Report, command: str) -> str:
    """The whole report as one HTML page (figures inline)."""
    claim_tables = "".join(
        f"<h3>claim {c.number}: evidence table</h3>{_table_html(c.table)}"
        for c in report.claims
        if c.table is not None and not c.table.empty
    )
    body = [
        f"<h1>{html.escape(report.title)}</h1>",
        f"<p>{html.escape(report.kind)}: <code>{html.escape(str(report.source))}</code></p>",
        "<h2>Claims</h2>",
        _claims_html(report.claims),
        claim_tables,
        *(_section_html(s) for s in report.sections),
        "<h2>Commands</h2>",
        f"<p>this report:</p><pre><code>{html.escape(command)}</code></pre>",
    ]
    if report.rerun:
        body.append(f"<p>rerun the study:</p><pre><code>{html.escape(report.rerun)}</code></pre>")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(report.title)}</title><style>{CSS}</style></head><body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def _md_cell(value: Any) -> str:
    return _cell(value).replace("|", "\\|").replace("\n", " ")


def _table_md(frame: pd.DataFrame) -> str:
    shown = frame.head(MAX_ROWS)
    lines = [
        "| " + " | ".join(_md_cell(c) for c in shown.columns) + " |",
        "|" + "---|" * len(shown.columns),
    ]
    lines += [
        "| " + " | ".join(_md_cell(v) for v in row) + " |" for row in shown.itertuples(index=False)
    ]
    if len(frame) > MAX_ROWS:
        lines.append(f"\nfirst {MAX_ROWS} of {len(frame)} rows")
    return "\n".join(lines)


def render_markdown(report: Report, command: str, where: Path) -> str:
    """The report as Markdown; figures linked relative to ``where`` (the report's folder)."""
    out = [f"# {report.title}", "", f"{report.kind}: `{report.source}`", "", "## Claims", ""]
    out.append("| # | claim | status | measured evidence |\n|---|---|---|---|")
    out += [
        f"| {c.number} | {_md_cell(c.statement)} | **{c.status}** | {_md_cell(c.evidence)} |"
        for c in report.claims
    ]
    out += ["", "How each status is decided:", ""]
    out += [f"- claim {c.number}: {c.rule}" for c in report.claims]
    for c in report.claims:
        if c.table is not None and not c.table.empty:
            out += ["", f"### claim {c.number}: evidence table", "", _table_md(c.table)]
    for section in report.sections:
        out += ["", f"## {section.title}", "", section.text, ""]
        out += [f"![{f.name}]({os.path.relpath(f, where)})" for f in section.figures]
        for caption, table in section.tables:
            out += ["", f"### {caption}", "", _table_md(table)]
        if section.rerun:
            out += ["", "rerun:", "", "```bash", section.rerun, "```"]
        if section.manifest:
            out += [
                "",
                "manifest:",
                "",
                "```json",
                json.dumps(section.manifest, indent=1, default=str),
                "```",
            ]
    out += ["", "## Commands", "", "```bash", command, "```"]
    if report.rerun:
        out += ["", "rerun the study:", "", "```bash", report.rerun, "```"]
    return "\n".join(out) + "\n"


def write_report(path: str | Path, out: str | Path | None = None) -> tuple[Path, Path, Report]:
    """Write ``report.html`` and ``report.md`` for ``path`` into ``out`` (default: ``path``).

    Returns both paths and the :class:`Report` (its claims, sections).

    Each file is written under a temporary name and renamed, so a report is whole or absent.
    """
    source = require_exists(path)
    folder = Path(out) if out is not None else (source.parent if source.is_file() else source)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as exc:
        raise ConfigError(
            f"the report folder {folder} cannot be created: {(exc.strerror or 'exists').lower()} ({exc.filename}). "
            "Pass --out a folder path (new or existing), not a file."
        ) from None
    report = collect(source, scratch=folder)
    command = shlex.join(["softhard", "report", str(source), *(["--out", str(out)] if out else [])])
    pages = {
        "report.html": render_html(report, command),
        "report.md": render_markdown(report, command, folder),
    }
    written = []
    for name, text in pages.items():
        tmp = folder / f".{name}.tmp"
        tmp.write_text(text)
        tmp.replace(folder / name)
        written.append(folder / name)
    return written[0], written[1], report
