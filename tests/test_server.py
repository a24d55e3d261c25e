"""End-to-end tests of the live server: a real uvicorn process on loopback, real WebSockets.

The server process uses a fake recognizer (every clip reads "这个不行，你错了。") so these tests
run in seconds; the real model drives the same path in test_console_browser.py and
test_streaming.py. The store is a real SQLite file.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import websockets

from qa_pipeline.store.results import ResultStore
from qa_pipeline.cli.tap import TapRefused, load_recording, tap_call
from qa_pipeline.types import CallMeta

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples"
INGEST, CONSOLE = "ingest-test-token", "console-test-token"

# The server process: the real app with a fake recognizer standing in for Whisper.
SERVER_SCRIPT = r"""
import json, sys, time
from pathlib import Path
from qa_pipeline.policy.policy import load_policy
from qa_pipeline.asr.recognizer import ClipText
from qa_pipeline.server.app import ServerConfig, create_app
from qa_pipeline.server.listen import ListenOptions, bind_socket, run_server
from qa_pipeline.types import Word

class FakeRecognizer:
    model_id = "fake-asr"
    def __init__(self, delay_s):
        self.delay_s = delay_s
    def transcribe(self, clips, hook=None):
        time.sleep(self.delay_s)
        words = (Word("这个", 0.0, 0.3), Word("不行", 0.3, 0.6), Word("，", 0.6, 0.6),
                 Word("你", 0.6, 0.8), Word("错了", 0.8, 1.1), Word("。", 1.1, 1.1))
        return [ClipText("这个不行，你错了。", words) for _ in clips]

class FastTalker:
    # Every clip reads as 7 characters a second: 420 chars/min, far too fast.
    model_id = "fake-fast"
    def transcribe(self, clips, hook=None):
        out = []
        for clip in clips:
            n = max(1, int(len(clip.samples) / clip.sample_rate_hz * 7))
            words = tuple(Word("好", i / 7, (i + 1) / 7) for i in range(n))
            out.append(ClipText("好" * n, words))
        return out

port, db, max_calls, delay_s = int(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
listen_overrides = json.loads(sys.argv[5]) if len(sys.argv) > 5 else {}
config = ServerConfig(ingest_token="ingest-test-token", console_token="console-test-token", db_path=db,
                      max_calls=max_calls, idle_timeout_s=5.0, max_message_bytes=64 * 1024)
recognizer = FastTalker() if listen_overrides.pop("talker", "fixed") == "fast" else FakeRecognizer(delay_s)
app = create_app(config, recognizer, load_policy(None))
if listen_overrides.pop("tls", False):
    listen_overrides.update(tls_cert=Path(sys.argv[2]).parent / "cert.pem", tls_key=Path(sys.argv[2]).parent / "key.pem")
listen = ListenOptions(host="127.0.0.1", port=port, ws_max_message_bytes=1 << 20, **listen_overrides)
run_server(app, listen, bind_socket(listen))
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """The server script in its own process; ``listen`` overrides ListenOptions fields ("tls": True
    serves HTTPS with ``cert.pem``/``key.pem`` from ``tmp``; "talker": "fast" swaps the recognizer
    for one that reads every clip at 420 chars/min)."""

    def __init__(self, tmp: Path, max_calls: int = 2, delay_s: float = 0.0, listen: dict | None = None) -> None:
        self.port = _free_port()
        self.db = tmp / "results.sqlite"
        self.url = f"{'https' if (listen or {}).get('tls') else 'http'}://127.0.0.1:{self.port}"
        self.log = open(tmp / "server.log", "w+")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", SERVER_SCRIPT, str(self.port), str(self.db), str(max_calls), str(delay_s),
             json.dumps(listen or {})],
            stdout=self.log, stderr=subprocess.STDOUT, cwd=REPO,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/healthz", timeout=1, verify=False).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        self.stop()
        self.log.seek(0)
        raise RuntimeError("server did not start:\n" + self.log.read())

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()

    def stored(self) -> list:
        with ResultStore(self.db) as store:
            return list(store.iter_calls(latest_only=False))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("live"))
    yield srv
    srv.stop()


def _tap(server, name: str, call_id: str, speed: float = 50.0, **kwargs):
    recording = load_recording(SAMPLES / f"{name}.wav")
    meta = CallMeta.load(SAMPLES / f"{name}.meta.json")
    return asyncio.run(tap_call(server.url, kwargs.pop("token", INGEST), recording, meta, call_id, speed, **kwargs))


async def _raw_stream(server, call_id: str, messages: list, token: str | None = INGEST, hold_s: float = 0.0):
    """Send ``messages`` (str or bytes) and return (close code, close reason)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    url = server.url.replace("http://", "ws://") + f"/v1/calls/{call_id}/stream"
    async with websockets.connect(url, additional_headers=headers) as ws:
        try:
            for message in messages:
                await ws.send(message)
            await asyncio.sleep(hold_s)
            while True:
                await asyncio.wait_for(ws.recv(), 10)
        except websockets.ConnectionClosed as closed:
            return closed.rcvd.code, closed.rcvd.reason
    return ws.close_code, ws.close_reason


def _start(**overrides) -> str:
    message = {"type": "start", "agent_id": "6619", "direction": "inbound",
               "sample_rate_hz": 8000, "channels": 2, "encoding": "pcm16"}
    return json.dumps({**message, **overrides})


def test_tap_with_a_wrong_token_fails_with_the_close_reason(server):
    with pytest.raises(TapRefused) as refused:
        _tap(server, "dev_call_04", "tap-wrong-token", token="nope")
    assert "1008" in refused.value.one_line() and "unauthorized" in refused.value.one_line()


def test_healthz_needs_no_token_and_tells_nothing(server):
    response = httpx.get(server.url + "/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.parametrize("path", ["/", "/console/console.js", "/v1/calls", "/v1/reports/1"])
def test_console_endpoints_refuse_without_the_console_token(server, path):
    assert httpx.get(server.url + path).status_code == 401
    assert httpx.get(server.url + path, headers={"Authorization": f"Bearer {INGEST}"}).status_code == 401


def test_console_page_sets_a_cookie_that_opens_the_assets(server):
    # The token is exchanged once for a session cookie and the browser is sent back to "/" (issue 12).
    with httpx.Client(base_url=server.url, follow_redirects=True) as client:
        page = client.get("/", params={"token": CONSOLE})
        assert page.status_code == 200 and 'id="transcript"' in page.text
        assert "token" not in str(page.url) and CONSOLE not in client.cookies.get("qa_session", "")
        assert client.get("/console/console.js").status_code == 200  # via the cookie
        assert client.get("/v1/calls").json()["type"] == "snapshot"


def test_console_events_socket_refuses_a_wrong_token(server):
    async def run():
        url = server.url.replace("http://", "ws://") + "/v1/console/events?token=" + INGEST
        async with websockets.connect(url) as ws:
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 5)
        return closed.value.rcvd

    rcvd = asyncio.run(run())
    assert rcvd.code == 1008 and "unauthorized" in rcvd.reason


@pytest.mark.parametrize("token", [None, "wrong", CONSOLE])
def test_ingest_refuses_without_the_ingest_token(server, token):
    code, reason = asyncio.run(_raw_stream(server, "auth-test", [_start()], token=token))
    assert code == 1008 and "unauthorized" in reason
    assert not [c for c in server.stored() if c.call_id == "auth-test"]


def test_tap_a_sample_call_receives_alerts_and_stores_the_report(server):
    result = _tap(server, "dev_call_04", "e2e-04")
    alerts = result.of_type("alert")
    forbidden = [a for a in alerts if a["check"] == "forbidden_phrases"]
    assert forbidden, alerts
    assert {a["phrase"] for a in forbidden} <= {"不行", "你错了"}
    # Alerts come from agent utterances only: the customer said the same words (fake ASR).
    utterances = result.of_type("utterance")
    agent_spans = [(u["start_s"], u["end_s"]) for u in utterances if u["role"] == "agent"]
    assert all(any(s - 0.05 <= a["start_s"] <= e + 0.05 for s, e in agent_spans) for a in forbidden)
    scored = result.scored
    assert scored["incomplete"] is False and scored["report_url"]
    assert result.close_code == 1000
    [stored] = [c for c in server.stored() if c.call_id == "e2e-04"]
    assert stored.ok and stored.key.model_id == "fake-asr/beam5-customer1"  # the live beams are part of the key
    assert abs(stored.duration_s - 74.0) < 0.1
    report = stored.report
    assert report["incomplete"] is False
    assert report["checks"]["forbidden_phrases"]["passed"] is False
    assert report["checks"]["hangup"]["hangup_by"] == "customer"  # signalled by the tap (meta)
    assert len(report["utterances"]) == len(utterances)
    page = httpx.get(server.url + scored["report_url"], headers={"Authorization": f"Bearer {CONSOLE}"})
    assert page.status_code == 200 and "你错了" in page.text


def test_a_fast_talking_agent_who_hangs_up_first_is_alerted_while_the_call_runs(tmp_path):
    """dev_call_10 ends with the disconnect tone on the agent's channel; every clip reads at 420
    chars/min. Both alerts must come while the call runs: before the score, from call time the
    call had not reached its end."""
    fast = Server(tmp_path, listen={"talker": "fast"})
    try:
        result = _tap(fast, "dev_call_10", "fast-10", speed=15.0)
    finally:
        fast.stop()
    kinds = [m["type"] for m in result.messages]
    scored_at = kinds.index("scored")
    alerts = {m["check"]: (i, m) for i, m in enumerate(result.messages) if m["type"] == "alert"}
    assert {"speaking_rate", "hangup"} <= set(alerts), [m for m in result.messages if m["type"] == "alert"]
    rate_index, rate = alerts["speaking_rate"]
    hangup_index, hangup = alerts["hangup"]
    assert rate_index < scored_at and hangup_index < scored_at
    assert rate["rule_id"] == "speaking_rate.out_of_band" and "too fast" in rate["message"]
    assert hangup["rule_id"] == "hangup.agent_first"
    assert rate["ref_end_s"] < 58.0  # while the agent was still talking
    assert hangup["ref_end_s"] < 61.0  # the tone starts ~3 s before the recording ends at 61.5 s


def test_client_vanishing_mid_call_leaves_a_scored_incomplete_call(server):
    dropped = _tap(server, "dev_call_01", "drop-01", speed=10.0, stop_after_s=15.0)
    assert dropped.scored is None
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not [c for c in server.stored() if c.call_id == "drop-01"]:
        time.sleep(0.2)
    [stored] = [c for c in server.stored() if c.call_id == "drop-01"]
    assert stored.report["incomplete"] is True
    # What reached the server before the connection vanished (unread socket buffers are lost).
    assert 3.0 <= stored.duration_s <= 15.01
    assert stored.report["utterances"], "utterances before the drop are kept"


@pytest.mark.parametrize(
    "messages, code, reason",
    [
        (["{not json"], 1007, "malformed JSON"),
        ([b"\x00\x01"], 1008, "expected a JSON text message"),
        ([json.dumps({"type": "end"})], 1007, "first message must be"),
        ([_start(sample_rate_hz=44100)], 1007, "sample_rate_hz"),
        ([_start(encoding="opus")], 1007, "encoding"),
        ([_start(channels=3)], 1007, "channels"),
        ([_start(), json.dumps({"type": "mute"})], 1003, "unknown message type 'mute'"),
        ([_start(), json.dumps({"type": "hangup", "party": "nobody"})], 1007, "hangup party"),
        ([_start(), b"\x00" * (64 * 1024 + 2)], 1009, "exceeds"),
        ([_start(), _start()], 1008, "start sent twice"),
        # The start message's metadata is checked field by field (issue 14).
        ([_start(rings=-1)], 1007, "rings must be a whole number"),
        ([_start(rings=1.5)], 1007, "rings must be a whole number"),
        ([_start(rings=10**400)], 1007, "rings must be a whole number"),
        ([_start(answer_delay_s=-2.0)], 1007, "answer_delay_s must be a number"),
        ([_start(started_at="yesterday-ish")], 1007, "started_at must be an ISO 8601 time"),
        ([_start(agent_id={"name": "x"})], 1007, "agent_id must be a string"),
        ([_start(agent_id="9" * 65)], 1007, "agent_id must be a string"),
        ([_start()[:-1] + ', "answer_delay_s": NaN}'], 1007, "NaN is not a JSON number"),
        ([_start()[:-1] + ', "rings": Infinity}'], 1007, "Infinity is not a JSON number"),
        ([_start()[:-1] + ', "rings": 1e999}'], 1007, "rings must be a whole number"),
        (["[" * 60_000], 1007, "nested too deeply"),
        ([_start(), '{"type": "hangup", "party": ' + "[" * 60_000], 1007, "nested too deeply"),
    ],
)
def test_malformed_streams_are_closed_with_a_reason(server, messages, code, reason):
    got_code, got_reason = asyncio.run(_raw_stream(server, "bad-stream", messages))
    assert got_code == code
    assert reason in got_reason


def test_bad_streams_do_not_disturb_a_good_call_and_admission_is_enforced(server):
    async def run():
        good = asyncio.create_task(asyncio.to_thread(_tap, server, "dev_call_10", "good-10", 15.0))
        await asyncio.sleep(0.5)
        bad = await _raw_stream(server, "bad-during-good", [_start(), json.dumps({"type": "mute"})])
        # Two live calls at most: the good one plus one holding a slot; a third is refused.
        holder = asyncio.create_task(_raw_stream(server, "holder", [_start()], hold_s=2.0))
        await asyncio.sleep(0.5)
        full = await _raw_stream(server, "third", [_start()])
        return await good, bad, full, await holder

    good, bad, full, holder = asyncio.run(run())
    assert bad[0] == 1003
    assert full[0] == 1013 and "server full" in full[1]
    assert good.scored is not None and good.scored["incomplete"] is False
    assert holder[0] in (1000, 1008)  # ended by the idle timeout or scored as incomplete


def test_a_scored_live_call_keeps_its_recording_beside_the_store(server):
    import soundfile as sf

    result = _tap(server, "dev_call_01", "keep-audio-01")  # audio no other test taps whole
    assert result.scored is not None
    [stored] = [c for c in server.stored() if c.call_id == "keep-audio-01"]
    kept = server.db.with_name(server.db.stem + ".audio") / f"{stored.key.audio_sha256}.wav"
    info = sf.info(str(kept))
    assert info.channels == 2 and abs(info.duration - stored.duration_s) < 0.05
    assert not list(kept.parent.glob("*.part"))  # no raw leftovers once the call is stored
