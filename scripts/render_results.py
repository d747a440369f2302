"""Render the measured results in README.md and docs/*.md from the committed summaries.

Every measured number in those pages lives in a summary, ``results/<name>.json``::

    {"command": "...", "git_revision": "...", "machine": "...", "date": "YYYY-MM-DD",
     "design": "current" | "superseded: <why>", "values": {"flat_key": number or string, ...}}

with its Markdown template ``results/<name>.md`` (``{flat_key}`` placeholders, filled with
``str.format_map(values)``; literal braces are written ``{{ }}``). A page holds the rendered text
between the lines ``<!-- results:<name> -->`` and ``<!-- /results:<name> -->``.

    python scripts/render_results.py            # rewrite every block from its summary
    python scripts/render_results.py --check    # exit 1, naming each stale block, if any differs

``tests/test_results_docs.py`` runs the check, so a page cannot drift from its summary.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"
KEYS = ("command", "git_revision", "machine", "date", "design", "values")
BLOCK = re.compile(
    r"^<!-- results:(?P<name>[A-Za-z0-9_.-]+) -->\n(?P<body>.*?)^<!-- /results:(?P=name) -->$",
    re.DOTALL | re.MULTILINE,
)


@dataclass(frozen=True)
class Stale:
    """A block whose text is not its summary's rendering (or names no summary)."""

    page: Path
    name: str
    reason: str


def pages(root: Path = ROOT) -> list[Path]:
    """The pages that may hold result blocks: README.md and docs/*.md."""
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def load_summary(name: str, results: Path = RESULTS) -> dict[str, object]:
    """``results/<name>.json``, checked for the contract's keys; ValueError naming the file."""
    file = results / f"{name}.json"
    if not file.is_file():
        raise ValueError(f"{file} does not exist (a page has a block <!-- results:{name} -->)")
    data = json.loads(file.read_text())
    missing = [k for k in KEYS if k not in data]
    if missing:
        raise ValueError(f"{file} lacks {', '.join(missing)} (needs {', '.join(KEYS)})")
    design = str(data["design"])
    if design != "current" and not design.startswith("superseded: "):
        raise ValueError(f"{file}: design must be 'current' or 'superseded: <why>', got {design!r}")
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(data["date"])):
        raise ValueError(f"{file}: date must be YYYY-MM-DD, got {data['date']!r}")
    return dict(data)


def render(name: str, results: Path = RESULTS) -> str:
    """The text of block ``name``: its template filled with its summary's values."""
    values = load_summary(name, results)["values"]
    assert isinstance(values, dict)
    template = (results / f"{name}.md").read_text()
    try:
        return template.format_map(values).strip("\n")
    except KeyError as err:
        raise ValueError(f"{results / name}.md names {err}, not a key of its values") from None


def rewrite(text: str, results: Path = RESULTS) -> str:
    """``text`` with every block replaced by its rendering."""

    def fill(match: re.Match[str]) -> str:
        name = match["name"]
        return f"<!-- results:{name} -->\n{render(name, results)}\n<!-- /results:{name} -->"

    return BLOCK.sub(fill, text)


def check(root: Path = ROOT) -> list[Stale]:
    """Every block of every page that differs from its rendering, or cannot be rendered."""
    results = root / "results"
    stale = []
    for page in pages(root):
        for match in BLOCK.finditer(page.read_text()):
            name = match["name"]
            try:
                want = render(name, results)
            except (OSError, ValueError) as err:
                stale.append(Stale(page, name, str(err)))
                continue
            if match["body"].strip("\n") != want:
                stale.append(Stale(page, name, "differs from its summary"))
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if a block is stale")
    args = parser.parse_args(argv)
    if args.check:
        stale = check()
        for s in stale:
            print(f"{s.page.relative_to(ROOT)}: results:{s.name}: {s.reason}")
        print(f"{len(stale)} stale block(s)" if stale else "every results block is up to date")
        return 1 if stale else 0
    for page in pages():
        text = page.read_text()
        new = rewrite(text)
        if new != text:
            page.write_text(new)
            print(f"rewrote {page.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
