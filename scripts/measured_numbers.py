"""List the measured-looking numbers written by hand in README.md and docs/*.md.

A measured number (a time, a speed-up, memory, an accuracy, a gap with its interval, an exponent,
a count of cells that came out one way) belongs in a results summary (``results/<name>.json``) and
reaches a page only through a rendered ``<!-- results:<name> -->`` block
(``scripts/render_results.py``). This script finds the numbers that look measured but sit outside
such blocks, fenced or indented code and inline code, so a person can move them into a summary, label them,
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
    "ratio": re.compile(rf"(?<![\w.^-]){_NUM}(?:x|×)(?![\w-])|\b\d+(?:\.\d+)? times\b"),
    "speed": re.compile(rf"(?<![\w.]){_NUM}\s*(?:[KMGT]?FLOP/s|[a-z]+/s)\b"),
    "faster": re.compile(
        r"\b(?:\d+(?:\.\d+)?|two|three|four|five|ten)\s*(?:x|×|times)\s+(?:faster|slower)\b"
        r"|\bspeed-?ups? (?:of )?\d",
        re.IGNORECASE,
    ),
    "interval": re.compile(rf"\[\s*[-+]?{_NUM}\s*,\s*[-+]?{_NUM}\s*\]"),
    "signed": re.compile(r"(?<![\w.=^)\]])[-+]\d*\.\d+"),
    "decimal": re.compile(r"(?<![\w.^=])\d+\.\d{3,}\b"),
    "scientific": re.compile(r"(?<![\w.^=])\d\.\d+e[-+]?\d+\b"),
    "instead": re.compile(r"\b\d+(?:\.\d+)? (?:\w+ ){0,2}instead of \d"),
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
# citations, not numbers: arXiv ids and numbered statements of a paper ("Assumption 2.1")
CITATION = re.compile(
    r"arXiv:\d{4}\.\d{4,5}|\b(?:Assumption|Theorem|Lemma|Corollary|Proposition|Definition)\s+\d+(?:\.\d+)*"
)


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
    """(line number, prose) for every line outside results blocks and fenced or indented code,
    with inline code, link targets, HTML comments and citations blanked out."""
    out = []
    fenced, block, indented, previous = False, None, False, ""
    for number, line in enumerate(text.splitlines(), start=1):
        if block is not None:
            block = None if line == f"<!-- /results:{block} -->" else block
            continue
        if FENCE.match(line):
            fenced = not fenced
            continue
        opened = BLOCK_OPEN.match(line)
        # an indented code block: 4 spaces after a blank line, up to the next unindented line
        indented = line.startswith("    ") and (indented or not previous.strip())
        previous = line
        if fenced or opened or indented:
            block = opened[1] if opened else None
            continue
        prose = INLINE_CODE.sub("`…`", CITATION.sub("cited", line))
        prose = COMMENT.sub(" ", LINK_TARGET.sub("]", prose))
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
    if hit.page in PENDING:
        return PENDING[hit.page]
    for (page, phrase), reason in {**ALLOWED, **PENDING_LINES}.items():
        if page == hit.page and phrase in hit.text:
            return reason
    return None


def unexplained(root: Path = ROOT) -> list[Hit]:
    """The hits that are neither in a results block nor on the allow-list."""
    return [h for h in find(root) if allowed(h) is None]


# (page, a phrase of the line) -> why the numbers on that line are not measurements.
# Every entry is one line of one page; keep each reason to what the number is.
ALLOWED: dict[tuple[str, str], str] = {
    ("README.md", "default 120 s). An estimate that"): "config default (margin --max-seconds)",
    ("README.md", "trains once per peak rate of"): "config (deep tune.lrs)",
    ("README.md", "over peak rates 0.025..0.4"): "config (cifar tune.lrs)",
    ("README.md", "default 300 s) that the driver renews"): "config default (sweep lease)",
    ("docs/config-kinds.md", "with a 300 s lease"): "config default (sweep lease)",
    ("docs/hardening.md", "51.2 GB, one float64 copy"): "arithmetic: 10^8 x 64 x 8 bytes",
    ("docs/hardening.md", "| curves | 128 bytes per student"): "the estimator's formula (bytes)",
    ("docs/hardening.md", "plus 300 MB per spawned worker"): "the estimator's constant per worker",
    ("docs/hardening.md", "(default 300 s,"): "config default (sweep lease)",
    ("docs/hardening.md", "with a 2 s lease keeps its claims"): "a test's settings, not a result",
    ("docs/margin.md", "deterministic; `…`, default 120 s)"): "config default (max_seconds)",
    ("docs/margin.md", "the time budget ran out (`…`, default 120 s"): "config default",
    ("docs/teachers-and-yardstick.md", "over log T_c in [-5, 5]"): "the search's bounds (code)",
    ("docs/reproduce.md", "K = 2048 directions instead of 8192"): "the quick mode's config",
    ("docs/teachers-and-yardstick.md", "WEAK TEACHER (data seed 1): teacher 0.867"): (
        "the format of the CLI's warning line, shown as an example"
    ),
    ("docs/teachers-and-yardstick.md", "< hard student 0.950 (width 64, seed 0; McNemar"): (
        "the same example line, continued"
    ),
}

# Pages and lines that other work of this round is moving into summaries; each entry says whose.
# Remove an entry once its numbers sit in results blocks (the test then guards them).
PENDING: dict[str, str] = {
    "docs/regimes.md": "the claim-1 regime pages' numbers (results/regimes_tuned and the rest)",
    "docs/theorem.md": "the theorem study's numbers (results/theorem_*)",
}
PENDING_LINES: dict[tuple[str, str], str] = {
    ("README.md", "**Workload A** (digits 3-8"): "the engine benchmark (bench_engine summary)",
    ("README.md", "plain autograd loop ("): "the engine benchmark (bench_engine summary)",
    ("README.md", "**Workload B** (n = 2000"): "the engine benchmark (bench_engine summary)",
    ("README.md", "same machine, gave 0.61 s"): "the engine benchmark, the tree before (ef59e85)",
    ("README.md", "did not make the engine slower. Widths up to"): "bench_engine_memory",
}


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
