"""Fuzzing the options of ``softhard margin`` (issue 18 item 4): any mix of option values ends in
a result (exit 0) or in one paragraph with exit status 2, never in a traceback. Kept apart from
tests/test_fuzz.py (same settings) so that the CLI fuzzers of each command stay small files."""

import os
import string
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from softhard.cli import app

FUZZ = settings(
    max_examples=int(os.environ.get("SOFTHARD_FUZZ_EXAMPLES", "25")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

_DIR = Path(tempfile.mkdtemp(prefix="softhard-fuzz-margin-"))


def _data_files() -> list[str]:
    """A separable table, one with a duplicated row of the other label, and one of 3 classes."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((24, 3))
    y = (x[:, 0] > 0).astype(np.int64)
    np.savez(_DIR / "ok.npz", X=x, y=y)
    dup_x, dup_y = x.copy(), y.copy()
    dup_x[5], dup_y[5] = x[2], 1 - y[2]
    np.savez(_DIR / "dup.npz", X=dup_x, y=dup_y)
    np.savez(_DIR / "three.npz", X=x, y=np.arange(24) % 3)
    return [str(_DIR / name) for name in ("ok.npz", "dup.npz", "three.npz")]


SPECS = [*_data_files(), "digits:3-8,max_train=40", "digits:0-1,mix=0.5,max_train=40", "nope:1"]

numbers = st.one_of(
    st.integers(-5, 64).map(str),
    st.floats(-2.0, 3.0).map(repr),
    st.sampled_from(["nan", "inf", "-inf", "1e-300", "0", "", "x"]),
)
OPTIONS = {
    "--eps": numbers,
    "--num-directions": st.integers(-3, 48).map(str) | st.sampled_from(["1.5", "x"]),
    "--seed": st.integers(-(2**40), 2**70).map(str),
    "--tol": numbers,
    "--device": st.sampled_from(["cpu", "cuda", "cuda:3", "auto", "tpu", "", "meta", "cpu:0"]),
    "--top": st.integers(-5, 40).map(str) | st.sampled_from(["-1", "1e9", "x"]),
    "--max-seconds": numbers,
    "--label-column": st.text(string.ascii_letters, max_size=3),
}


@FUZZ
@given(
    st.sampled_from(SPECS),
    st.dictionaries(st.sampled_from(sorted(OPTIONS)), st.just(None), max_size=5).flatmap(
        lambda keys: st.fixed_dictionaries({k: OPTIONS[k] for k in keys})
    ),
)
def test_random_margin_options_end_in_a_result_or_one_paragraph(spec, options):
    options.setdefault("--num-directions", "32")
    args = ["margin", spec, *(part for pair in options.items() for part in pair)]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code in (0, 2), (args, result.output, result.exception)
    assert "Traceback" not in result.output, (args, result.output)
    if result.exception is not None:
        assert isinstance(result.exception, SystemExit), (args, repr(result.exception))
    if result.exit_code == 0:
        assert "NTK margin gamma of" in result.output
        if "not separable by the NTK" in result.output:
            assert "neurons sufficient" not in result.output
    else:
        assert result.output.strip(), args
