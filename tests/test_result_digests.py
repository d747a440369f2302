"""Every shipped config, shrunk, still gives the tables it gave before the package was reorganised.

The digests in ``tests/result_digests.json`` were computed by ``scripts/result_digests.py --write`` on
the tree before the move (issue 11); see that script for the overrides and what is hashed.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

_SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "result_digests.py"
_spec = importlib.util.spec_from_file_location("result_digests", _SCRIPT)
assert _spec is not None and _spec.loader is not None
digests = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(digests)

STORED = json.loads(digests.DIGESTS.read_text())


def test_every_shipped_config_has_a_digest():
    from softhard.config import shipped_configs

    assert sorted(STORED) == sorted(shipped_configs()) == sorted(digests.CASES)


@pytest.mark.parametrize("name", sorted(digests.CASES))
def test_shipped_config_tables_are_unchanged(name, tmp_path):
    found = digests.run_case(name, tmp_path, digests.cli_invoker())
    assert digests.by_table(found) == digests.by_table(STORED[name])


def test_canonical_form_ignores_order_and_volatile_columns_but_not_values():
    import pandas as pd

    a = pd.DataFrame({"width": [2, 4], "loss": [0.1, 0.2], "seconds": [1.0, 2.0]})
    b = pd.DataFrame({"seconds": [9.0, 8.0], "loss": [0.2, 0.1], "width": [4, 2]})
    assert digests.canonical(a) == digests.canonical(b)
    c = a.assign(loss=[0.1, 0.2 + 1e-15])
    assert digests.canonical(a) != digests.canonical(c)
