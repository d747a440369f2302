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
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[dev,ray,tensorboard]"
# Headless Chromium for tests/test_report_browser.py (the HTML report checked in a real browser):
# installed with apt-get where missing and possible; a no-op when present. Outside CI a failed
# install only makes the browser test skip; under CI (CI=true) it stops the set-up, so that the
# browser test always runs there.
if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
    installed=no
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
        for attempt in 1 2; do
            if (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
                >/dev/null 2>&1; then
                installed=yes
                break
            fi
        done
    fi
    if [ "$installed" = no ]; then
        echo "setup.sh: could not install chromium (needs root and apt-get); the browser test will skip" >&2
        if [ "${CI:-}" = "true" ]; then
            exit 1
        fi
    fi
fi
