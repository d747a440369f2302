"""List the measured-looking numbers written by hand in README.md and docs/*.md.

A measured number (a time, a speed-up, memory, an accuracy, a gap with its interval, an exponent,
a count of cells that came out one way) belongs in a results summary (``results/<name>.json``) and
reaches a page only through a rendered ``<!-- results:<name> -->`` block
(``scripts/render_results.py``). This script finds the numbers that look measured but sit outside
such blocks, fenced code and inline code, so a person can move them into a summary, label them,
or justify them in the allow-list ``ALLOWED`` below (config values, theory constants, sizes).

    python scripts/measured_numbers.py           # list every hit not on the allow-list
    python scripts/measured_numbers.py --all     # list allowed hits too, marked "allowed"

``tests/test_results_docs.py`` fails on any hit not on the allow-list.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_NUM = r"\d+(?:\.\d+)?"
# Each pattern names one kind of measured-looking number.
PATTERNS: dict[str, re.Pattern[str]] = {
    "time": re.compile(
        rf"(?<![\w.^]){_NUM}\s*(?:ms|s|min|h|seconds?|minutes?|hours?|CPU[- ]?s|CPU[- ]seconds?)\b"
        r"(?![-/]\w)"
    ),
    "memory": re.compile(rf"(?<![\w.]){_NUM}\s*(?:[KMGT]i?B|bytes)\b"),
    "ratio": re.compile(rf"(?<![\w.]){_NUM}\s*(?:x|×)(?![\w-])"),
    "speed": re.compile(rf"(?<![\w.]){_NUM}\s*(?:[KMGT]?FLOP/s|[a-z]+/s)\b"),
    "faster": re.compile(r"\b(?:faster|slower|speed-?ups?)\b", re.IGNORECASE),
    "interval": re.compile(rf"\[\s*[-+]?{_NUM}\s*,\s*[-+]?{_NUM}\s*\]"),
    "signed": re.compile(r"(?<![\w.=^)\]])[-+]\d*\.\d+|(?<![\w.])\+\d+"),
    "decimal": re.compile(r"(?<![\w.^=])\d+\.\d{3,}\b"),
    "count": re.compile(r"\b\d+ of \d+\b(?! (?:the )?(?:grid|levels?|widths?|seeds?)\b)"),
    "accuracy": re.compile(
        r"\b(?:accuracy|test|loss|gap|exponent|slope|gamma|margin|kappa)\b[^.;:\d]{0,20}?"
        r"(?:of |is |= |at |reaches )?\d\.\d+"
    ),
}
FENCE = re.compile(r"^\s*(```|~~~)")
BLOCK_OPEN = re.compile(r"^<!-- results:([\w.-]+) -->$")
INLINE_CODE = re.compile(r"`[^`]*`")
LINK_TARGET = re.compile(r"\]\([^)]*\)")
COMMENT = re.compile(r"<!--.*?-->")


@dataclass(frozen=True)
class Hit:
    """One measured-looking number: where it is, what kind, and the line it sits on."""

    page: str
    line: int
    kind: str
    match: str
    text: str


def pages(root: Path = ROOT) -> list[Path]:
    """README.md and docs/*.md."""
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def prose_lines(text: str) -> list[tuple[int, str]]:
    """(line number, prose) for every line outside fenced code and results blocks, with inline
    code, link targets and HTML comments blanked out."""
    out = []
    fenced, block = False, None
    for number, line in enumerate(text.splitlines(), start=1):
        if block is not None:
            block = None if line == f"<!-- /results:{block} -->" else block
            continue
        if FENCE.match(line):
            fenced = not fenced
            continue
        opened = BLOCK_OPEN.match(line)
        if fenced or opened:
            block = opened[1] if opened else None
            continue
        prose = COMMENT.sub(" ", LINK_TARGET.sub("]", INLINE_CODE.sub("`…`", line)))
        if not prose.lstrip().startswith("|---") and not prose.lstrip().startswith("| ---"):
            out.append((number, prose))
    return out


def find(root: Path = ROOT) -> list[Hit]:
    """Every measured-looking number in the pages, allowed or not, one hit per kind and line."""
    hits = []
    for page in pages(root):
        name = str(page.relative_to(root))
        for number, prose in prose_lines(page.read_text()):
            for kind, pattern in PATTERNS.items():
                found = pattern.search(prose)
                if found:
                    hits.append(Hit(name, number, kind, found[0], prose.strip()))
    return hits


def allowed(hit: Hit) -> str | None:
    """The reason a hit is not a measurement, or None when it must live in a summary."""
    for (page, phrase), reason in ALLOWED.items():
        if page == hit.page and phrase in hit.text:
            return reason
    return None


def unexplained(root: Path = ROOT) -> list[Hit]:
    """The hits that are neither in a results block nor on the allow-list."""
    return [h for h in find(root) if allowed(h) is None]


# (page, a phrase of the line) -> why the numbers on that line are not measurements.
# Every entry is one line of one page; keep each reason to what the number is.
ALLOWED: dict[tuple[str, str], str] = {}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--all", action="store_true", help="list allowed hits too")
    args = parser.parse_args(argv)
    hits = find() if args.all else unexplained()
    for h in hits:
        why = allowed(h)
        mark = f"  [allowed: {why}]" if why else ""
        print(f"{h.page}:{h.line}: {h.kind} {h.match!r}: {h.text[:150]}{mark}")
    lines = {(h.page, h.line) for h in hits}
    print(f"{len(hits)} hit(s) on {len(lines)} line(s)")
    return 1 if any(allowed(h) is None for h in hits) else 0


if __name__ == "__main__":
    sys.exit(main())
