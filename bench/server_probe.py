"""Hostile clients against the live server (issue 14): idle/partial connections, odd report and call ids,
bad start messages, deep nesting, missing security headers, token guessing, foreign origins.

    python bench/server_probe.py [TREE]    # TREE: a checkout to probe (default: this one)

Starts the server of ``TREE/tests/test_server.py`` (fake recognizer, real uvicorn on loopback) and
prints one count per probe; every count should be 0 except the guesses evaluated (5 free, then locked).
"""
import asyncio, json, socket, sys, tempfile, time
from pathlib import Path
import httpx, websockets
root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1]
sys.path.insert(0, str(root / "tests"))
import test_server as ts
tmp = Path(tempfile.mkdtemp(prefix="server-probe-"))
srv = ts.Server(tmp)
ws_base = srv.url.replace("http://", "ws://")
auth = {"Authorization": f"Bearer {ts.INGEST}"}
counts = {}
def add(key, n=1): counts[key] = counts.get(key, 0) + n

async def stream(call_id, messages, origin=None):
    """'accepted' | ('closed', code, reason) | 'hang' | 'no-close-frame'"""
    try:
        async with asyncio.timeout(12):
            ws = await websockets.connect(f"{ws_base}/v1/calls/{call_id}/stream", additional_headers=auth)
            async with ws:
                for m in messages:
                    await ws.send(m)
                while True:
                    msg = await ws.recv()
                    if json.loads(msg).get("type") == "accepted":
                        return "accepted"
    except websockets.ConnectionClosed as closed:
        return ("closed", closed.rcvd.code, closed.rcvd.reason) if closed.rcvd else "no-close-frame"
    except websockets.InvalidStatus as exc:
        return ("http", exc.response.status_code, "")
    except TimeoutError:
        return "hang"

def start(**kw):
    base = {"type": "start", "agent_id": "6619", "direction": "inbound", "sample_rate_hz": 8000, "channels": 2, "encoding": "pcm16"}
    return json.dumps({**base, **kw})
raw = lambda extra: start()[:-1] + ", " + extra + "}"

try:
    # 1. silent and partial connections
    socks = [socket.create_connection(("127.0.0.1", srv.port)) for _ in range(20)]
    for i in range(20):
        s = socket.create_connection(("127.0.0.1", srv.port)); s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n"); socks.append(s)
    time.sleep(15)
    for s in socks:
        s.setblocking(False)
        try:
            open_ = s.recv(1) != b""
        except BlockingIOError:
            open_ = True
        except OSError:
            open_ = False
        add("connections still open after 15 s (of 40)", open_); s.close()
    # 2. report ids
    for rid in ["9223372036854775808", str(10**30), "-1", "0", "abc", "1e3"]:
        r = httpx.get(srv.url + "/v1/reports/" + rid, headers={"Authorization": f"Bearer {ts.CONSOLE}"})
        add("report ids answered 500 (of 6)", r.status_code >= 500)
    # 3. call ids
    for cid in ["c" * 10_000, "c" * 5000, "c" * 200, "a.b-c_d" * 20]:
        got = asyncio.run(stream(cid, [start()]))
        add("long call ids with no answer (of 4)", got in ("hang", "no-close-frame"))
    # 4. start messages
    bad = [start(rings=-1), start(rings=1.5), raw('"rings": 1e999'), start(rings=10**400), start(rings="3"), start(rings=True),
           start(started_at="garbage"), start(started_at=12), start(agent_id={}), start(agent_id=[1]), start(agent_id=5),
           start(agent_id="x" * 1000), raw('"answer_delay_s": NaN'), raw('"answer_delay_s": Infinity'), start(answer_delay_s=-1),
           start(answer_delay_s="1"), start(direction=5), start(direction={}), start(queue={}), start(queue="q\x00")]
    for i, m in enumerate(bad):
        got = asyncio.run(stream(f"bad-{i}", [m]))
        add(f"bad start messages accepted (of {len(bad)})", got == "accepted")
        add(f"bad start messages without a close frame or answer (of {len(bad)})", got in ("hang", "no-close-frame"))
    # 5. deep nesting
    for i, m in enumerate(["[" * 60_000, '{"a":' * 30_000]):
        got = asyncio.run(stream(f"deep-{i}", [m]))
        add("deeply nested messages without a clear close (of 2)", not (isinstance(got, tuple) and got[1] in (1007, 1009)))
    # 6. headers
    for path in ["/", "/healthz", "/v1/calls", "/console/console.js", "/nowhere"]:
        r = httpx.get(srv.url + path, headers={"Authorization": f"Bearer {ts.CONSOLE}"})
        add("responses without CSP+X-Frame-Options+nosniff (of 5)", not all(h in r.headers for h in ("content-security-policy", "x-frame-options", "x-content-type-options")))
    # 7. guessing
    with httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.9")) as c:
        for i in range(50):
            add("wrong-token guesses evaluated (of 50)", c.get(srv.url + "/v1/calls", headers={"Authorization": f"Bearer g{i}"}).status_code == 401)
    # 8. origin
    async def foreign():
        async with websockets.connect(f"{ws_base}/v1/console/events?token={ts.CONSOLE}", origin="https://evil.example") as ws:
            try:
                return json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "snapshot"
            except websockets.ConnectionClosed:
                return False
    add("foreign-origin console sockets served (of 1)", asyncio.run(foreign()))
finally:
    srv.stop()
log = (tmp / "server.log").read_text()
counts["server tracebacks"] = log.count("Traceback")
for k, v in counts.items():
    print(f"{v:4d}  {k}")
