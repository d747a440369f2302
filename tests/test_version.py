"""Provenance: the version is stamped from git at build time and recorded in every manifest."""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

import softhard
from softhard.cli import app
from softhard.report.rundir import environment, version_revision

ROOT = Path(softhard.__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("version", "revision"),
    [
        ("0.1.1.dev50+gfa45a7fbc", "fa45a7fbc"),
        ("0.1.1.dev50+gfa45a7fbc.d20261129", "fa45a7fbc-dirty"),
        ("0.1.0+unknown.g1234abcd", "1234abcd"),
        ("0.1.0", None),
        ("0.0.0+unknown", None),
    ],
)
def test_revision_from_a_version(version, revision):
    assert version_revision(version) == revision


def test_version_option():
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.startswith(f"softhard {softhard.__version__} (git revision ")
    assert environment()["softhard"] == softhard.__version__


def _run(cmd, **kwargs):
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, **kwargs)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


@pytest.mark.slow
@pytest.mark.skipif(not (ROOT / ".git").exists(), reason="needs softhard's git checkout")
@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_wheel_outside_a_checkout_records_the_built_revision(tmp_path):
    pytest.importorskip("setuptools_scm")
    head = _run(["git", "-C", str(ROOT), "rev-parse", "HEAD"]).strip()
    src = tmp_path / "src"
    _run(["git", "clone", "-q", "--no-checkout", str(ROOT), str(src)])
    _run(["git", "-C", str(src), "checkout", "-q", head])
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    _run([*pip, "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), str(src)])
    (wheel,) = tmp_path.glob("softhard-*.whl")
    version = wheel.name.split("-")[1]
    assert f"+g{head[:7]}" in version and not version.endswith(".d")  # clean tree, its commit
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    purelib = _run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
        ]
    )
    # the venv sees this interpreter's packages (torch...) but not its softhard (plain path,
    # so the editable finder of this environment is not activated)
    Path(purelib.strip(), "_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run([*pip, "--python", str(venv / "bin" / "python"), "install", "-q", "--no-deps", str(wheel)])
    cfg = tmp_path / "tiny.yaml"
    tiny = {
        "name": "tiny",
        "tasks": ["synthetic,n_samples=40,dim=4"],
        "widths": [2],
        "seeds": [0],
        "train": {"epochs": 2},
        "teacher": {"width": 8, "epochs": 2},
        "margin": {"estimate": False},
    }
    cfg.write_text(yaml.safe_dump(tiny))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["OMP_NUM_THREADS"] = "1"
    assert (venv / "bin" / "softhard").is_file()  # the console script
    # one interpreter for both commands (importing torch twice would double the test's time)
    code = (
        "import sys; from typer.testing import CliRunner; from softhard.cli import app; "
        "r = CliRunner(); print(r.invoke(app, ['--version']).output.strip()); "
        "res = r.invoke(app, ['run', sys.argv[1], '-o', sys.argv[2], '-q']); "
        "sys.exit(0 if res.exit_code == 0 else res.output)"
    )
    python = str(venv / "bin" / "python")
    out = _run([python, "-c", code, str(cfg), str(tmp_path / "runs")], cwd=tmp_path, env=env)
    revision = version_revision(version)
    assert out.splitlines()[0] == f"softhard {version} (git revision {revision})"
    (folder,) = (tmp_path / "runs").iterdir()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["softhard"] == version and head.startswith(manifest["git_revision"])
    assert manifest["git_revision"] == revision
