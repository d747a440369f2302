"""Docs that cannot drift: result blocks match their summaries, the index lists every page, and
every ``softhard.X`` and ``module.py`` a page names exists."""

from __future__ import annotations

import importlib
import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_SCRIPT = ROOT / "scripts" / "render_results.py"
_spec = importlib.util.spec_from_file_location("render_results", _SCRIPT)
assert _spec is not None and _spec.loader is not None
render_results = importlib.util.module_from_spec(_spec)
sys.modules["render_results"] = render_results  # dataclasses look their module up
_spec.loader.exec_module(render_results)

_NUMBERS = ROOT / "scripts" / "measured_numbers.py"
_spec = importlib.util.spec_from_file_location("measured_numbers", _NUMBERS)
assert _spec is not None and _spec.loader is not None
measured_numbers = importlib.util.module_from_spec(_spec)
sys.modules["measured_numbers"] = measured_numbers
_spec.loader.exec_module(measured_numbers)

PAGES = render_results.pages(ROOT)


def test_every_results_block_matches_its_summary() -> None:
    stale = render_results.check(ROOT)
    assert stale == [], "run: python scripts/render_results.py"


def test_every_summary_follows_the_contract_and_is_shown() -> None:
    shown = {m["name"] for p in PAGES for m in render_results.BLOCK.finditer(p.read_text())}
    for file in sorted((ROOT / "results").glob("*.json")):
        data = render_results.load_summary(file.stem, ROOT / "results")
        assert (ROOT / "results" / f"{file.stem}.md").is_file(), f"{file} has no template"
        assert all(isinstance(v, int | float | str) for v in data["values"].values())  # type: ignore[union-attr]
        assert file.stem in shown, f"{file} is shown on no page"


def test_the_check_catches_an_edited_number(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "results").mkdir()
    summary = {"command": "c", "git_revision": "r", "machine": "m", "date": "2026-12-01",
               "design": "current", "values": {"gap": "+0.021"}}  # fmt: skip
    (tmp_path / "results" / "x.json").write_text(json.dumps(summary))
    (tmp_path / "results" / "x.md").write_text("gap {gap} ({{braces}})\n")
    good = "intro\n<!-- results:x -->\ngap +0.021 ({braces})\n<!-- /results:x -->\nend\n"
    (tmp_path / "README.md").write_text(good)
    assert render_results.check(tmp_path) == []
    (tmp_path / "README.md").write_text(good.replace("+0.021", "+0.031"))
    (stale,) = render_results.check(tmp_path)
    assert stale.name == "x" and "differs" in stale.reason
    fixed = render_results.rewrite((tmp_path / "README.md").read_text(), tmp_path / "results")
    assert fixed == good
    summary["design"] = "old"
    (tmp_path / "results" / "x.json").write_text(json.dumps(summary))
    (stale,) = render_results.check(tmp_path)
    assert "superseded" in stale.reason


def test_the_index_lists_every_page() -> None:
    index = (ROOT / "docs" / "index.md").read_text()
    listed = set(re.findall(r"\]\(([\w-]+\.md)\)", index))
    pages = {p.name for p in (ROOT / "docs").glob("*.md")} - {"index.md"}
    assert pages - listed == set(), "add these pages to docs/index.md"
    assert listed - pages == set(), "docs/index.md links pages that do not exist"


def _resolves(dotted: str) -> bool:
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for name in parts[i:]:
            if not hasattr(obj, name):
                return False
            obj = getattr(obj, name)
        return True
    return False


NAMES = sorted(
    {
        (page.name, m)
        for page in PAGES
        for m in re.findall(r"`(softhard(?:\.[A-Za-z_]\w*)+)", page.read_text())
    }
)


@pytest.mark.parametrize(("page", "name"), NAMES)
def test_every_softhard_name_in_the_docs_exists(page: str, name: str) -> None:
    assert _resolves(name), f"{page} names {name}, which does not exist"


_FILES = {p.name for p in ROOT.rglob("*.py") if ".venv" not in p.parts} | {
    str(p.relative_to(ROOT)) for p in ROOT.rglob("*.py") if ".venv" not in p.parts
}
MODULES = sorted(
    {
        (page.name, m)
        for page in PAGES
        for m in re.findall(r"(?<![\w/.-])([\w/]+\.py)\b", page.read_text())
    }
)


@pytest.mark.parametrize(("page", "path"), MODULES)
def test_every_module_file_in_the_docs_exists(page: str, path: str) -> None:
    suffixes = {path, path.split("/")[-1]}
    known = _FILES | {f"src/softhard/{f}" for f in _FILES}
    found = path in _FILES or any(f.endswith("/" + path) for f in _FILES) or path in known
    assert found or (not suffixes.isdisjoint(_FILES) and "/" not in path), (
        f"{page} names {path}, which is no file of the repository"
    )


def test_no_measured_number_outside_a_results_block() -> None:
    hits = measured_numbers.unexplained(ROOT)
    listing = "\n".join(f"{h.page}:{h.line}: {h.kind} {h.match!r}" for h in hits)
    assert hits == [], (
        "measured-looking numbers outside <!-- results:... --> blocks (move them into a "
        "summary, or justify them in scripts/measured_numbers.py ALLOWED):\n" + listing
    )


def test_every_allow_list_entry_names_a_line_that_exists() -> None:
    lines = {(h.page, h.text) for h in measured_numbers.find(ROOT)}
    for page, phrase in measured_numbers.ALLOWED:
        assert any(p == page and phrase in text for p, text in lines), (
            f"ALLOWED entry ({page!r}, {phrase!r}) matches no measured-looking line: remove it"
        )


def test_the_number_guard_catches_a_planted_line(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    page = (
        "# x\n\nThe demo took 1 min 2 s.\n\n<!-- results:x -->\nIt took 12.3 s.\n"
        "<!-- /results:x -->\n\n```bash\nsleep 12.5 s\n```\n\n    took 9.9 s (indented code)\n"
        "\nSoft wins by +0.031 [+0.010, +0.052] in 3 of 24 cells, 2.6x faster, 476 MiB.\n"
    )
    (tmp_path / "README.md").write_text("# fine\n")
    (tmp_path / "docs" / "page.md").write_text(page)
    hits = measured_numbers.unexplained(tmp_path)
    assert {h.line for h in hits} == {3, 15}  # not the block, the fence or the indented code
    assert {h.kind for h in hits if h.line == 15} >= {
        "interval",
        "signed",
        "count",
        "ratio",
        "memory",
    }
    (tmp_path / "docs" / "page.md").write_text("Lease: default 300 s, `--lease 12.5`.\n")
    (hit,) = measured_numbers.unexplained(tmp_path)
    assert hit.match == "300 s"  # code spans are skipped, prose is not


LINKS = sorted(
    {
        (page.name, target)
        for page in PAGES
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text())
    }
)


@pytest.mark.parametrize(("page", "target"), LINKS)
def test_every_link_stays_inside_the_repository(page: str, target: str) -> None:
    folder = ROOT if page == "README.md" else ROOT / "docs"
    path = (folder / target.split("#")[0]).resolve()
    assert "://" not in target, f"{page} links {target}, outside the repository"
    assert path.exists() and path.is_relative_to(ROOT), f"{page} links {target}, which is missing"


def _superseded_blocks() -> list[tuple[str, str, str]]:
    """(page, block name, rendered text plus the three lines above it) of superseded summaries."""
    out = []
    for page in PAGES:
        text = page.read_text()
        for m in render_results.BLOCK.finditer(text):
            design = render_results.load_summary(m["name"], ROOT / "results")["design"]
            if str(design).startswith("superseded"):
                above = "\n".join(text[: m.start()].splitlines()[-3:])
                out.append((page.name, m["name"], above + "\n" + m.group(0)))
    return out


@pytest.mark.parametrize(("page", "name", "near"), _superseded_blocks())
def test_every_superseded_result_is_labelled_where_it_is_shown(
    page: str, name: str, near: str
) -> None:
    # issue 21 item 7: a result measured under an older design is labelled so where a reader sees it
    assert "superseded" in near.lower(), (
        f"{page}: block {name} shows a superseded summary unlabelled"
    )
