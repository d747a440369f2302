"""The HTML report in a real browser: headless Chromium driven over the DevTools protocol.

Chromium is started with ``--remote-debugging-pipe`` (commands on fd 3, replies on fd 4, JSON
messages ended by NUL), so no Python package beyond the standard library is needed. The test is
skipped only where no Chromium is installed; ``scripts/setup.sh`` installs it with apt-get.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from _report_data import make_run_folder
from softhard.report.html import write_report

BROWSER = next(
    (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)),
    None,
)
pytestmark = pytest.mark.skipif(BROWSER is None, reason="no Chromium installed")


class DevTools:
    """A minimal DevTools-protocol client over Chromium's debugging pipe."""

    def __init__(self, browser: str, profile: Path) -> None:
        cmd_r, self._cmd_w = os.pipe()
        self._out_r, out_w = os.pipe()

        def child_fds() -> None:  # fd 3: commands in, fd 4: replies out
            high_r, high_w = os.dup(cmd_r), os.dup(out_w)
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)

        self.proc = subprocess.Popen(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--remote-debugging-pipe", f"--user-data-dir={profile}", "about:blank"],
            pass_fds=(3, 4), preexec_fn=child_fds,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        os.close(cmd_r)
        os.close(out_w)
        self._buffer = b""
        self._next = 0
        self.events: list[dict] = []

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self._next += 1
        message = {"id": self._next, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._cmd_w, json.dumps(message).encode() + b"\0")
        reply = self.wait(lambda m: m.get("id") == self._next)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def wait(self, match, timeout: float = 30.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            while b"\0" in self._buffer:
                raw, self._buffer = self._buffer.split(b"\0", 1)
                message = json.loads(raw)
                if "method" in message:
                    self.events.append(message)
                if match(message):
                    return message
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._out_r], [], [], left)[0]:
                raise TimeoutError("no reply from Chromium")
            chunk = os.read(self._out_r, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed the pipe")
            self._buffer += chunk

    def close(self) -> None:
        with contextlib.suppress(RuntimeError, TimeoutError, OSError):
            self.send("Browser.close")
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        os.close(self._cmd_w)
        os.close(self._out_r)


PROBE = """JSON.stringify({
  textLength: document.body.innerText.trim().length,
  height: document.body.scrollHeight,
  images: Array.from(document.images).map(i => [i.complete, i.naturalWidth]),
  claimRows: document.querySelectorAll('#claims tbody tr.claim').length,
  statuses: Array.from(document.querySelectorAll('#claims tbody tr.claim'))
              .map(r => r.dataset.status),
  external: Array.from(document.querySelectorAll('[src],[href]'))
              .map(e => e.getAttribute('src') || e.getAttribute('href'))
              .filter(u => !u.startsWith('data:') && !u.startsWith('#')),
})"""


def open_page(path: Path, profile: Path) -> tuple[dict, list[str], bytes]:
    """Load ``path``; return the probe's result, the console errors and a PNG screenshot."""
    tools = DevTools(BROWSER, profile)
    try:
        target = tools.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = tools.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        for domain in ("Page", "Runtime", "Log"):
            tools.send(f"{domain}.enable", session=session)
        tools.send("Page.navigate", {"url": path.resolve().as_uri()}, session=session)
        tools.wait(lambda m: m.get("method") == "Page.loadEventFired")
        value = tools.send(
            "Runtime.evaluate", {"expression": PROBE, "returnByValue": True}, session=session
        )["result"]["value"]
        shot = tools.send("Page.captureScreenshot", {"format": "png"}, session=session)["data"]
        errors = [_error_text(e) for e in tools.events if _is_error(e)]
    finally:
        tools.close()
    return json.loads(value), errors, base64.b64decode(shot)


def _is_error(event: dict) -> bool:
    method, params = event["method"], event.get("params", {})
    if method == "Runtime.exceptionThrown":
        return True
    if method == "Runtime.consoleAPICalled":
        return params.get("type") in ("error", "assert")
    if method == "Log.entryAdded":
        return params.get("entry", {}).get("level") == "error"
    return False


def _error_text(event: dict) -> str:
    return json.dumps(event.get("params", {}))[:300]


@pytest.fixture(scope="module")
def report_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = make_run_folder(tmp_path_factory.mktemp("run"))
    html_path, _, _ = write_report(folder)
    return html_path


def test_report_renders_in_chromium(report_page: Path, tmp_path: Path) -> None:
    probe, errors, shot = open_page(report_page, tmp_path / "profile")
    assert probe["textLength"] > 500, probe
    assert probe["height"] > 600
    assert probe["images"], "the report should embed the run's figure"
    assert all(complete and width > 0 for complete, width in probe["images"]), probe["images"]
    assert probe["claimRows"] == 4
    assert all(s for s in probe["statuses"])
    assert probe["external"] == [], "the report must not load anything from outside"
    assert errors == []
    assert shot.startswith(b"\x89PNG")


def test_broken_image_is_caught(report_page: Path, tmp_path: Path) -> None:
    """The checks can fail: a page with a broken figure gives naturalWidth 0 and a console error."""
    text = report_page.read_text()
    broken = tmp_path / "broken.html"
    start = text.index("data:image/png;base64,") + len("data:image/png;base64,")
    broken.write_text(text[:start] + "AAAA" + text[start + 200 :])
    probe, _errors, _ = open_page(broken, tmp_path / "profile")
    assert any(width == 0 for _, width in probe["images"])
