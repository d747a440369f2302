"""Every shipped config, shrunk, still gives its golden tables, within float noise on any CPU.

``tests/golden/<config>/<table>.csv`` were written by ``scripts/result_digests.py --write``; that
script's docstring states the tolerances and how they were measured (vector units and threads).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pandas as pd
import pytest

_SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "result_digests.py"
_spec = importlib.util.spec_from_file_location("result_digests", _SCRIPT)
assert _spec is not None and _spec.loader is not None
golden = importlib.util.module_from_spec(_spec)
sys.modules["result_digests"] = golden  # dataclasses look their module up
_spec.loader.exec_module(golden)
tables = sys.modules["golden_tables"]  # the canonical form and tolerances (loaded by the above)


def test_every_shipped_config_has_golden_tables():
    from softhard.config import shipped_configs

    stored = sorted(p.name for p in tables.GOLDEN.iterdir() if any(p.glob("*.csv")))
    assert stored == sorted(shipped_configs()) == sorted(golden.CASES)


@pytest.mark.parametrize("name", sorted(golden.CASES))
def test_shipped_config_tables_match_golden(name):
    found = golden.run_isolated(name, golden.cli_invoker())
    diffs = tables.compare_tables(tables.load_golden(name), found, name)
    bad = [d.line() for d in diffs if not d.ok]
    assert not bad, f"{name}: " + "; ".join(bad)


def _frame(**changes: list[float]) -> pd.DataFrame:
    base = {
        "width": [2, 4],
        "label_mode": ["soft", "hard"],
        "lr": [0.5, 0.5],
        "avg_loss": [0.125, 0.25],
        "test_acc": [0.5, 0.75],
        "n_test": [100, 100],
        "seconds": [1.0, 2.0],
    }
    return tables.canonical(pd.DataFrame({**base, **changes}))


def _ok(found: pd.DataFrame) -> dict[str, bool]:
    diffs = tables.compare_tables({"t": _frame()}, {"t": found})
    return {d.column: d.ok for d in diffs}


def test_canonical_form_ignores_row_order_and_volatile_columns():
    a = _frame()
    b = tables.canonical(_frame(seconds=[9.0, 8.0]).iloc[::-1])
    pd.testing.assert_frame_equal(a, b)
    assert "seconds" not in a.columns


def test_tolerances_per_column_kind():
    noise = _frame(avg_loss=[0.125 * (1 + 1e-6), 0.25])  # float noise: passes
    assert all(_ok(noise).values())
    assert not _ok(_frame(avg_loss=[0.13, 0.25]))["avg_loss"]  # 4% off: fails
    one = _frame(test_acc=[0.51, 0.75])  # one test example of 100
    assert _ok(one)["test_acc"]
    assert not _ok(_frame(test_acc=[0.55, 0.75]))["test_acc"]  # five examples
    assert not _ok(_frame(lr=[0.5, 0.5 + 1e-12]))["lr"]  # a setting: exactly
    assert not _ok(_frame(width=[2, 8]))["width"]  # an integer: exactly


def test_a_missing_table_or_column_is_reported():
    diffs = tables.compare_tables(
        {"t": _frame(), "u": _frame()}, {"t": _frame().drop(columns="lr")}
    )
    assert not any(d.ok for d in diffs)
