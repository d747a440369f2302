#!/usr/bin/env bash
# Create .venv (if missing) and install softhard with its test and Ray extras.
# torch is pinned here, in the set-up path only, to the CPU build that lies on the
# project machines' disk; the package itself accepts any torch>=2.1.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check "torch==2.13.0"
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[dev,ray]"
