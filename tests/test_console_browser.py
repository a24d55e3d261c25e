"""The supervisor console in real headless Chromium, fed by a real server running the real model.

A sample call is tapped into the server while the page is open; the page must show the live
transcript by role and the forbidden-phrase alert (dev_call_04: the agent says 你错了 and 不行).
A screenshot is kept in test-artifacts/.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from qa_pipeline.cli.tap import load_recording, tap_call
from qa_pipeline.types import CallMeta

pytestmark = [pytest.mark.browser, pytest.mark.model]

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
INGEST, CONSOLE = "browser-ingest-token-1", "browser-console-token-1"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]

SERVER_SCRIPT = r"""
import sys, uvicorn
from pathlib import Path
from qa_pipeline.asr.packed import FasterWhisperRecognizer
from qa_pipeline.config import PipelineOptions
from qa_pipeline.policy.policy import load_policy
from qa_pipeline.server.app import ServerConfig, create_app

options = PipelineOptions()
config = ServerConfig(ingest_token="browser-ingest-token-1", console_token="browser-console-token-1",
                      db_path=Path(sys.argv[2]), max_calls=2, options=options)
app = create_app(config, FasterWhisperRecognizer(options.asr), load_policy(None))
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture()
def model_server(tmp_path):
    port = _free_port()
    log = open(tmp_path / "server.log", "w+")
    proc = subprocess.Popen([sys.executable, "-c", SERVER_SCRIPT, str(port), str(tmp_path / "results.sqlite")],
                            stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180  # first use joins the bundled model into the cache
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    else:
        proc.kill()
        log.seek(0)
        pytest.fail("server did not come up:\n" + log.read())
    yield url
    proc.terminate()
    proc.wait(15)
    log.seek(0)
    print("server log:\n" + log.read())
    log.close()


def test_console_shows_live_transcript_and_forbidden_alert(model_server, tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian chromium is required: apt-get install -y chromium")
    from playwright.sync_api import expect, sync_playwright

    recording = load_recording(REPO / "samples" / "dev_call_04.wav")
    meta = CallMeta.load(REPO / "samples" / "dev_call_04.meta.json")
    tap_result = {}

    def run_tap() -> None:
        tap_result["result"] = asyncio.run(tap_call(model_server, INGEST, recording, meta, "browser-04", speed=2.0))

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        page = context.new_page()
        external = []
        page.on("request", lambda r: external.append(r.url) if not r.url.startswith(model_server.replace("http", "ws")) and not r.url.startswith(model_server) else None)
        page.on("console", lambda m: print("page console:", m.type, m.text))
        page.goto(f"{model_server}/?token={CONSOLE}")
        expect(page.locator("#connection")).to_have_class("conn on", timeout=10_000)
        assert "token" not in page.url  # the token leaves the address bar once the cookie is set
        tapper = threading.Thread(target=run_tap)
        tapper.start()
        try:
            expect(page.locator("#calls tbody tr[data-call='browser-04']")).to_be_visible(timeout=15_000)
            expect(page.locator("#transcript .utt.agent").first).to_be_visible(timeout=60_000)
            expect(page.locator("#transcript .utt.customer").first).to_be_visible(timeout=60_000)
            alert = page.locator("#alerts .alert[data-check='forbidden_phrases']").first
            expect(alert).to_be_visible(timeout=60_000)
            expect(alert).to_contain_text("「")
            assert any(p in alert.inner_text() for p in ("你错了", "不行"))
            expect(page.locator("#transcript .utt.flagged").first).to_be_visible()
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "console_live.png"), full_page=True)
        except AssertionError:
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "console_failure.png"), full_page=True)
            raise
        finally:
            tapper.join(120)
        row = page.locator("#recent tbody tr[data-call='browser-04']")
        expect(row).to_be_visible(timeout=30_000)
        expect(row.locator("a")).to_have_attribute("href", tap_result["result"].scored["report_url"])
        page.screenshot(path=str(ARTIFACTS / "console_finished.png"), full_page=True)
        with page.context.expect_page() as report_page:
            row.locator("a").click()
        report = report_page.value
        report.wait_for_load_state()
        assert "你错了" in report.content() or "不行" in report.content()
        context.close()
        browser.close()
    assert not external, f"the console must work offline, it fetched {external}"
