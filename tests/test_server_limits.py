"""The live server against hostile or careless clients: idle and partial connections, the connection
cap, security headers, token guessing, foreign origins, TLS, shutdown with clients attached, and
``qa serve``'s start-up refusals. Real uvicorn processes on loopback (``test_server.Server``), real
sockets; the lock-out and header logic also have exact unit tests.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import websockets

from qa_pipeline.errors import StreamProtocolError
from qa_pipeline.live.protocol import StreamStart
from qa_pipeline.server.security import FailedAttempts, same_origin, token_problem
from test_server import CONSOLE, INGEST, REPO, Server, _free_port, _raw_stream, _start

REQUEST_TIMEOUT_S = 1.5
MAX_CONNECTIONS = 24


@pytest.fixture(scope="module")
def limited(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("limits"),
                 listen={"request_timeout_s": REQUEST_TIMEOUT_S, "keep_alive_s": 1, "max_connections": MAX_CONNECTIONS})
    yield srv
    srv.stop()


def _closed_within(sock: socket.socket, limit_s: float) -> float | None:
    """Seconds until the server closed ``sock`` (reads what it sends first), None if still open."""
    start = time.monotonic()
    sock.settimeout(limit_s)
    try:
        while sock.recv(4096):
            pass
    except socket.timeout:
        return None
    except ConnectionResetError:
        pass
    return time.monotonic() - start


# -- idle, partial and too many connections ---------------------------------------------------------


def test_silent_and_partial_connections_are_closed_within_the_request_timeout(limited):
    silent = [socket.create_connection(("127.0.0.1", limited.port)) for _ in range(8)]
    partial = []
    for i in range(8):
        sock = socket.create_connection(("127.0.0.1", limited.port))
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n" if i % 2 else b"GET /v1/calls/a/str")
        partial.append(sock)
    # A whole request, then half of the next one on the same keep-alive connection.
    kept = socket.create_connection(("127.0.0.1", limited.port))
    kept.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert b"200 OK" in kept.recv(4096)
    kept.sendall(b"GET /healthz HTTP/1.1\r\n")
    try:
        times = [_closed_within(sock, REQUEST_TIMEOUT_S + 5) for sock in silent + partial + [kept]]
    finally:
        for sock in silent + partial + [kept]:
            sock.close()
    assert None not in times, times
    assert max(times) < REQUEST_TIMEOUT_S + 3


def test_an_idle_keep_alive_connection_is_closed(limited):
    with socket.create_connection(("127.0.0.1", limited.port)) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert b"200 OK" in sock.recv(4096)
        assert _closed_within(sock, 6) is not None


def test_connections_past_the_cap_get_503_and_the_server_recovers(limited):
    held = [socket.create_connection(("127.0.0.1", limited.port)) for _ in range(MAX_CONNECTIONS)]
    try:
        time.sleep(0.3)
        with socket.create_connection(("127.0.0.1", limited.port)) as extra:
            extra.settimeout(5)
            assert extra.recv(4096).startswith(b"HTTP/1.1 503")
    finally:
        for sock in held:
            sock.close()
    time.sleep(0.5)
    assert httpx.get(limited.url + "/healthz").status_code == 200


def test_a_websocket_that_never_sends_its_start_message_is_closed(limited):
    async def run():
        url = limited.url.replace("http://", "ws://") + "/v1/calls/silent-1/stream"
        started = time.monotonic()
        async with websockets.connect(url, additional_headers={"Authorization": f"Bearer {INGEST}"}) as ws:
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 30)
        return closed.value.rcvd, time.monotonic() - started

    rcvd, waited_s = asyncio.run(run())
    assert rcvd.code == 1008 and "no start message" in rcvd.reason
    assert waited_s < 10.0 + 3  # ServerConfig.start_timeout_s


def test_a_10_kb_call_id_is_answered_400(limited):
    async def run():
        url = limited.url.replace("http://", "ws://") + "/v1/calls/" + "c" * 10_000 + "/stream"
        with pytest.raises(websockets.InvalidStatus) as refused:
            await asyncio.wait_for(websockets.connect(url, additional_headers={"Authorization": f"Bearer {INGEST}"}), 10)
        return refused.value.response.status_code

    assert asyncio.run(run()) == 400


def test_a_report_id_beyond_sqlite_integers_is_404(limited):
    for row_id in ("9223372036854775808", "9223372036854775807", "0", "-1", str(10**40)):
        response = httpx.get(limited.url + "/v1/reports/" + row_id, headers={"Authorization": f"Bearer {CONSOLE}"})
        assert response.status_code == 404, (row_id, response.text)


# -- headers, origins, token guessing ---------------------------------------------------------------


@pytest.mark.parametrize("path, auth", [("/", True), ("/console/console.js", True), ("/v1/calls", True),
                                        ("/", False), ("/healthz", False), ("/nowhere", False)])
def test_every_response_carries_the_security_headers(limited, path, auth):
    headers = {"Authorization": f"Bearer {CONSOLE}"} if auth else {}
    response = httpx.get(limited.url + path, headers=headers)
    csp = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp and "script-src 'self'" in csp
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cache-control"] == "no-store"
    assert "strict-transport-security" not in response.headers  # plain HTTP here
    assert "server" not in response.headers


def test_a_stored_report_allows_only_its_own_inline_script(limited):
    _raw_stream_call(limited, "csp-report")
    calls = httpx.get(limited.url + "/v1/calls", headers={"Authorization": f"Bearer {CONSOLE}"}).json()
    [url] = [c["report_url"] for c in calls["recent"] if c["call_id"] == "csp-report"]
    page = httpx.get(limited.url + url, headers={"Authorization": f"Bearer {CONSOLE}"})
    csp = page.headers["content-security-policy"]
    [script] = re.findall(r"<script>(.*?)</script>", page.text, re.DOTALL)
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
    assert f"script-src 'sha256-{digest}';" in csp
    assert "frame-ancestors 'none'" in csp and "'unsafe-inline'" not in csp.split("style-src")[0]


def _raw_stream_call(server, call_id: str) -> None:
    """One short call of silence and tone, ended normally, so a report is stored."""
    tone = b"".join(int(8000 * ((i // 8) % 2 * 2 - 1)).to_bytes(2, "little", signed=True) * 2 for i in range(8000))
    code, reason = asyncio.run(_raw_stream(server, call_id, [_start(), tone, json.dumps({"type": "end"})]))
    assert code == 1000, reason


def test_the_console_socket_refuses_a_page_of_another_origin(limited):
    async def run(origin: str):
        url = limited.url.replace("http://", "ws://") + "/v1/console/events"  # the token leaves URLs (issue 14)
        async with websockets.connect(url, origin=origin, additional_headers={"Authorization": f"Bearer {CONSOLE}"}) as ws:
            try:
                return json.loads(await asyncio.wait_for(ws.recv(), 5))["type"]
            except websockets.ConnectionClosed as closed:
                return closed.rcvd.code, closed.rcvd.reason

    code, reason = asyncio.run(run("https://evil.example"))
    assert code == 1008 and "origin" in reason
    assert asyncio.run(run(f"http://127.0.0.1:{limited.port}")) == "snapshot"


def test_repeated_wrong_tokens_lock_out_that_address_only(limited):
    # Another loopback address, so that the other tests (from 127.0.0.1) are not locked out.
    guesser = httpx.Client(base_url=limited.url, transport=httpx.HTTPTransport(local_address="127.0.0.2"))
    with guesser:
        codes = [guesser.get("/v1/calls", headers={"Authorization": f"Bearer guess-{i}"}).status_code for i in range(6)]
        assert codes == [401] * 6
        locked = guesser.get("/v1/calls", headers={"Authorization": f"Bearer {CONSOLE}"})
        assert locked.status_code == 429 and int(locked.headers["retry-after"]) >= 1
        assert "too many failed" in locked.json()["detail"]
        assert httpx.get(limited.url + "/v1/calls", headers={"Authorization": f"Bearer {CONSOLE}"}).status_code == 200
        time.sleep(float(locked.headers["retry-after"]) + 0.2)
        assert guesser.get("/v1/calls", headers={"Authorization": f"Bearer {CONSOLE}"}).status_code == 200


def test_repeated_wrong_ingest_tokens_lock_out_the_socket_too(limited):
    async def attempt(token: str):
        url = limited.url.replace("http://", "ws://") + "/v1/calls/guess/stream"
        async with websockets.connect(url, additional_headers={"Authorization": f"Bearer {token}"},
                                      local_addr=("127.0.0.3", 0)) as ws:
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 5)
        return closed.value.rcvd.reason

    reasons = [asyncio.run(attempt(f"wrong-{i}")) for i in range(6)] + [asyncio.run(attempt(INGEST))]
    assert all("unauthorized" in r for r in reasons[:6]), reasons
    assert "too many failed" in reasons[6]


def test_failed_attempts_double_the_lock_out_and_a_right_token_clears_it():
    now = [100.0]
    attempts = FailedAttempts(free_failures=3, first_lockout_s=1.0, max_lockout_s=8.0, clock=lambda: now[0])
    for _ in range(3):
        attempts.failed("10.0.0.1")
    assert attempts.retry_after_s("10.0.0.1") == 0.0
    waits = []
    for _ in range(6):
        attempts.failed("10.0.0.1")
        waits.append(attempts.retry_after_s("10.0.0.1"))
    assert waits == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert attempts.retry_after_s("10.0.0.2") == 0.0
    now[0] += 8.0
    assert attempts.retry_after_s("10.0.0.1") == 0.0
    attempts.failed("10.0.0.1")
    assert attempts.retry_after_s("10.0.0.1") == 8.0
    attempts.succeeded("10.0.0.1")
    attempts.failed("10.0.0.1")
    assert attempts.retry_after_s("10.0.0.1") == 0.0


def test_failed_attempts_forget_quiet_addresses_and_stay_bounded():
    now = [0.0]
    attempts = FailedAttempts(free_failures=0, forget_after_s=60.0, max_addresses=3, clock=lambda: now[0])
    for address in ("a", "b", "c", "d"):
        attempts.failed(address)
    assert attempts.retry_after_s("a") == 0.0 and attempts.retry_after_s("d") == 1.0
    now[0] += 61.0
    assert attempts.retry_after_s("d") == 0.0


@pytest.mark.parametrize("token, problem", [
    ("x", "too short"), ("a" * 15, "too short"), ("abababababababab", "too repetitive"),
    ("ingest-test-token", None), ("k3J9_fQ2-pLx8Wz0", None),
])
def test_token_strength(token, problem):
    found = token_problem("QA_INGEST_TOKEN", token)
    assert (found is None) if problem is None else (problem in found and "QA_INGEST_TOKEN" in found)


@pytest.mark.parametrize("headers, ok", [
    ({}, True),
    ({"origin": "http://127.0.0.1:8000", "host": "127.0.0.1:8000"}, True),
    ({"origin": "https://QA.bank.example", "host": "qa.bank.example"}, True),
    ({"origin": "http://127.0.0.1:8001", "host": "127.0.0.1:8000"}, False),
    ({"origin": "null", "host": "127.0.0.1:8000"}, False),
    ({"origin": "http://evil.example", "host": ""}, False),
])
def test_same_origin(headers, ok):
    assert same_origin(headers) is ok


def test_a_start_message_with_good_metadata_keeps_it():
    start = StreamStart.from_message("c1", json.loads(_start(rings=3, answer_delay_s=4.5, queue="信用卡",
                                                             started_at="2026-11-21T09:30:00+08:00")))
    assert (start.meta.rings, start.meta.answer_delay_s, start.meta.queue) == (3, 4.5, "信用卡")
    with pytest.raises(StreamProtocolError, match="answer_delay_s"):
        StreamStart.from_message("c1", {**json.loads(_start()), "answer_delay_s": float("nan")})
    with pytest.raises(StreamProtocolError, match="rings"):
        StreamStart.from_message("c1", {**json.loads(_start()), "rings": True})


# -- TLS and shutdown --------------------------------------------------------------------------------


def _self_signed(directory: Path) -> Path:
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(directory / "key.pem"),
         "-out", str(directory / "cert.pem")],
        check=True, capture_output=True, timeout=60,
    )
    return directory / "cert.pem"


def test_tls_serves_https_and_wss_with_hsts(tmp_path):
    cert = _self_signed(tmp_path)
    srv = Server(tmp_path, listen={"tls": True})
    try:
        response = httpx.get(srv.url + "/v1/calls", headers={"Authorization": f"Bearer {CONSOLE}"}, verify=ssl.create_default_context(cafile=str(cert)))
        assert response.status_code == 200 and srv.url.startswith("https://")
        assert response.headers["strict-transport-security"].startswith("max-age=")
        with pytest.raises(httpx.TransportError):
            httpx.get(srv.url.replace("https://", "http://") + "/healthz", timeout=5)

        async def snapshot():
            context = ssl.create_default_context(cafile=str(cert))
            url = srv.url.replace("https://", "wss://") + "/v1/console/events"
            async with websockets.connect(url, ssl=context, additional_headers={"Authorization": f"Bearer {CONSOLE}"}) as ws:
                return json.loads(await asyncio.wait_for(ws.recv(), 5))["type"]

        assert asyncio.run(snapshot()) == "snapshot"
    finally:
        srv.stop()


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_shutdown_with_clients_attached_logs_no_traceback(tmp_path, stop):
    srv = Server(tmp_path, delay_s=1.0)  # scoring is still under way when the signal comes

    async def attach_then_stop():
        base = srv.url.replace("http://", "ws://")
        auth = {"Authorization": f"Bearer {INGEST}"}
        calls = [await websockets.connect(f"{base}/v1/calls/shut-{i}/stream", additional_headers=auth) for i in range(2)]
        for ws in calls:
            await ws.send(_start())
            await ws.send(b"\x00\x10" * 16000)
        console = await websockets.connect(f"{base}/v1/console/events", additional_headers={"Authorization": f"Bearer {CONSOLE}"})
        await asyncio.sleep(1.0)
        srv.proc.send_signal(stop)
        await asyncio.sleep(0.05)
        for ws in calls + [console]:
            await ws.close()  # the clients leave while the server shuts down

    try:
        asyncio.run(attach_then_stop())
        assert srv.proc.wait(20) in (0, -signal.SIGTERM)  # uvicorn re-raises SIGTERM once it has shut down
    finally:
        srv.stop()
    log = (tmp_path / "server.log").read_text()
    assert "Traceback" not in log and "Exception" not in log, log


# -- qa serve refuses to start, in one line -----------------------------------------------------------


def _qa_serve(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {**os.environ, "QA_INGEST_TOKEN": "cli-ingest-token-1", "QA_CONSOLE_TOKEN": "cli-console-token-1",
                   **(env or {})}
    return subprocess.run([sys.executable, "-m", "qa_pipeline.cli", "serve", *args], capture_output=True,
                          text=True, timeout=120, cwd=REPO, env=environment)


def _one_line(result: subprocess.CompletedProcess) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2 and len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


@pytest.mark.parametrize("name, value, problem", [
    ("QA_INGEST_TOKEN", "x", "too short"), ("QA_CONSOLE_TOKEN", "0123456789", "too short"),
    ("QA_CONSOLE_TOKEN", "zzzzzzzzzzzzzzzzzzzz", "too repetitive"),
])
def test_qa_serve_refuses_a_weak_token(name, value, problem):
    line = _one_line(_qa_serve("--port", str(_free_port()), env={name: value}))
    assert name in line and problem in line and value not in line.replace(name, "")


def test_qa_serve_on_a_port_in_use_says_so_in_one_line():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        line = _one_line(_qa_serve("--port", str(port)))
    assert f"127.0.0.1:{port}" in line and "in use" in line


def test_qa_serve_checks_its_tls_files_before_starting(tmp_path):
    garbage = tmp_path / "cert.pem"
    garbage.write_text("not a certificate\n")
    assert "go together" in _one_line(_qa_serve("--tls-cert", str(garbage)))
    assert "TLS file not found" in _one_line(_qa_serve("--tls-cert", str(garbage), "--tls-key", str(tmp_path / "k.pem")))
    line = _one_line(_qa_serve("--tls-cert", str(garbage), "--tls-key", str(garbage), "--port", str(_free_port())))
    assert str(garbage) in line and "TLS certificate" in line


def test_qa_version():
    result = subprocess.run([sys.executable, "-m", "qa_pipeline.cli", "--version"], capture_output=True, text=True,
                            timeout=60, cwd=REPO)
    assert result.returncode == 0 and re.fullmatch(r"qa_pipeline \d+\.\d+\.\d+\n", result.stdout)


@pytest.mark.model
def test_qa_serve_starts_with_tls_names_the_console_without_a_token_and_stops_cleanly(tmp_path):
    cert = _self_signed(tmp_path)
    port = _free_port()
    env = {**os.environ, "QA_INGEST_TOKEN": "cli-ingest-token-1", "QA_CONSOLE_TOKEN": "cli-console-token-1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "qa_pipeline.cli", "serve", "--port", str(port), "--db", str(tmp_path / "r.sqlite"),
         "--tls-cert", str(cert), "--tls-key", str(tmp_path / "key.pem")],
        stderr=subprocess.PIPE, text=True, cwd=REPO, env=env,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"https://127.0.0.1:{port}/healthz", verify=ssl.create_default_context(cafile=str(cert)), timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stderr.read()
                time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode in (0, -signal.SIGTERM), stderr
    assert f"console: https://127.0.0.1:{port}/" in stderr
    assert "cli-console-token-1" not in stderr and "?token=" not in stderr and "Traceback" not in stderr


@pytest.mark.browser
def test_console_and_report_pages_run_under_their_csp_in_chromium(limited):
    from playwright.sync_api import sync_playwright

    from test_console_browser import CHROMIUM, CHROMIUM_ARGS

    if not Path(CHROMIUM).exists():
        pytest.fail("Debian chromium is required: apt-get install -y chromium")
    _raw_stream_call(limited, "csp-browser")
    calls = httpx.get(limited.url + "/v1/calls", headers={"Authorization": f"Bearer {CONSOLE}"}).json()
    [report_url] = [c["report_url"] for c in calls["recent"] if c["call_id"] == "csp-browser"]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page()
        messages: list[str] = []
        page.on("console", lambda m: messages.append(m.text))
        page.goto(f"{limited.url}/?token={CONSOLE}")
        page.wait_for_selector("#connection.conn.on", timeout=10_000)  # the WebSocket passed connect-src
        page.goto(limited.url + report_url)
        page.wait_for_load_state("load")
        script_ran = page.evaluate("document.querySelectorAll('script').length")
        browser.close()
    assert script_ran == 1
    assert not [m for m in messages if "Content Security Policy" in m], messages
