"""Security of the review workbench on a real server on loopback (real SQLite store, real HTTP).

Every page, API and audio URL refuses anonymous users and the wrong role; an agent cannot reach
another agent's call or audio by changing the URL; every POST needs the session's CSRF token;
wrong passwords are slowed and then locked; pages and search show customer numbers masked.
"""

from __future__ import annotations

import sqlite3
import time

import httpx
import pytest

from qa_pipeline.store.users import Role
from workbench_fakes import PHONE, fill_store
from workbench_server import CONSOLE, PASSWORDS, WorkbenchServer, add_people, csrf_of, login

PEOPLE = {"admin": (Role.ADMIN, None), "rita": (Role.REVIEWER, None), "sam": (Role.SUPERVISOR, None),
          "ann": (Role.AGENT, "1001"), "bob": (Role.AGENT, "2002")}


@pytest.fixture(scope="module")
def wb(tmp_path_factory):
    from qa_pipeline.policy.policy import load_policy

    tmp = tmp_path_factory.mktemp("workbench")
    db = tmp / "results.sqlite"
    rows = fill_store(db, tmp / "recordings", load_policy(None))
    add_people(db, PEOPLE)
    server = WorkbenchServer(db, tmp / "server.log")
    clients = {name: login(server.url, name) for name in ("admin", "rita", "sam", "ann")}
    yield server, rows, clients, tmp
    for client in clients.values():
        client.close()
    server.stop()


def _urls(rows):
    a, c = rows["call_a"], rows["call_c"]
    return ["/calls", f"/calls/{a}", f"/calls/{a}/audio", "/api/calls", "/calibration", "/admin/users",
            f"/calls/{c}", f"/calls/{c}/audio"]


def test_every_page_api_and_audio_refuses_anonymous_users(wb):
    server, rows, _, _ = wb
    for path in _urls(rows):
        response = httpx.get(server.url + path)
        if path.startswith("/api/") or path.endswith("/audio"):
            assert response.status_code == 401, path
        else:  # pages send the browser to the login form
            assert response.status_code == 303 and response.headers["location"].startswith("/login"), path
    a = rows["call_a"]
    for path in (f"/calls/{a}/findings/0", f"/calls/{a}/added", f"/calls/{a}/appeal", "/appeals/1/rule",
                 "/admin/users", "/logout"):
        assert httpx.post(server.url + path, data={"csrf": "x"}).status_code == 401, path


def test_an_agent_sees_only_their_calls_and_cannot_reach_others_by_url(wb):
    server, rows, clients, _ = wb
    ann = clients["ann"]
    listing = ann.get("/calls").text
    assert "WB-A-0001" in listing and "WB-B-0002" in listing and "WB-C-0003" not in listing
    assert {c["agent_id"] for c in ann.get("/api/calls").json()["calls"]} == {"1001"}
    assert ann.get("/api/calls", params={"agent": "2002"}).json()["total"] == 0
    assert ann.get(f"/calls/{rows['call_c']}").status_code == 404
    assert ann.get(f"/calls/{rows['call_c']}/audio").status_code == 404
    assert ann.get(f"/calls/{rows['call_a']}/audio").status_code == 200
    for path in ("/calibration", "/admin/users"):
        assert ann.get(path).status_code == 403, path
    assert ann.get("/").status_code == 401  # the live console is for staff


def test_wrong_roles_cannot_act(wb):
    server, rows, clients, _ = wb
    a = rows["call_a"]

    def post(name, path, **data):
        client = clients[name]
        token = csrf_of(client.get(f"/calls/{a}").text)
        return client.post(path, data={"csrf": token, **data})

    assert post("ann", f"/calls/{a}/findings/0", verdict="overturned", reason="mine").status_code == 403
    assert post("ann", f"/calls/{a}/added", check="closing", at_s="3", note="x").status_code == 403
    assert post("rita", f"/calls/{a}/appeal", text="not mine to appeal").status_code == 403
    assert post("rita", "/appeals/1/rule", ruling="upheld", note="x").status_code == 403
    assert post("sam", "/admin/users", username="eve", role="admin", password="eve-pass-1").status_code == 403
    assert clients["rita"].get("/admin/users").status_code == 403
    # An agent cannot appeal another agent's call either: it does not exist for them.
    bob = login(server.url, "bob")
    token = csrf_of(bob.get("/calls").text)
    assert bob.post(f"/calls/{a}/appeal", data={"csrf": token, "text": "x"}).status_code == 404
    bob.close()


def test_posts_need_the_sessions_csrf_token(wb):
    server, rows, clients, _ = wb
    rita, sam = clients["rita"], clients["sam"]
    path = f"/calls/{rows['call_b']}/findings/0"
    form = {"verdict": "confirmed", "reason": "ok"}
    assert rita.post(path, data=form).status_code == 403
    assert rita.post(path, data={**form, "csrf": "forged"}).status_code == 403
    sams_token = csrf_of(sam.get(f"/calls/{rows['call_b']}").text)
    assert rita.post(path, data={**form, "csrf": sams_token}).status_code == 403  # another session's token
    # With no CSRF cookie and field, the login form refuses too.
    response = httpx.post(server.url + "/login", data={"username": "rita", "password": PASSWORDS["rita"]})
    assert response.status_code == 403


def test_wrong_passwords_are_slowed_then_locked(wb):
    server, _, _, _ = wb
    client = httpx.Client(base_url=server.url)
    token = csrf_of(client.get("/login").text)
    elapsed = []
    for _ in range(5):
        started = time.monotonic()
        response = client.post("/login", data={"username": "bob", "password": "guess-123", "csrf": token})
        elapsed.append(time.monotonic() - started)
        assert response.status_code in (401, 429)
    assert response.status_code == 429 and "locked" in response.text
    assert elapsed[-1] > elapsed[0] + 0.5  # each failure waits longer
    right = client.post("/login", data={"username": "bob", "password": PASSWORDS["bob"], "csrf": token})
    assert right.status_code == 429 and "qa_session" not in right.headers.get("set-cookie", "")
    client.close()


def test_session_cookie_flags_logout_and_console_exchange(wb):
    server, _, _, _ = wb
    client = httpx.Client(base_url=server.url)
    token = csrf_of(client.get("/login").text)
    response = client.post("/login", data={"username": "sam", "password": PASSWORDS["sam"], "csrf": token})
    cookie = response.headers["set-cookie"].lower()
    assert "qa_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie and "max-age=" in cookie
    assert "secure" not in cookie  # plain http on loopback; over TLS the cookie is Secure
    assert client.get("/").status_code == 200  # a supervisor may watch the live console
    page_token = csrf_of(client.get("/calls").text)
    assert client.post("/logout", data={"csrf": page_token}).status_code == 303
    assert client.get("/api/calls").status_code == 401
    client.close()
    console = httpx.Client(base_url=server.url)
    exchanged = console.get("/", params={"token": CONSOLE})
    assert exchanged.status_code == 303 and exchanged.headers["location"] == "/"
    assert "httponly" in exchanged.headers["set-cookie"].lower() and CONSOLE not in exchanged.headers["set-cookie"]
    assert console.get("/").status_code == 200 and console.get("/v1/calls").json()["type"] == "snapshot"
    assert console.get("/calls").status_code == 403  # a console session is not a workbench user
    assert httpx.get(server.url + "/", params={"token": "wrong"}).status_code == 401
    console.close()


def test_pages_and_search_show_customer_numbers_masked(wb):
    server, rows, clients, tmp = wb
    rita = clients["rita"]
    page = rita.get(f"/calls/{rows['call_a']}").text
    assert PHONE not in page and "*******5678" in page
    found = rita.get("/calls", params={"q": "5678"}).text
    assert "WB-A-0001" in found and "WB-C-0003" not in found and PHONE not in found
    assert "*******5678" in found  # the snippet
    # A full number is masked before the search, so it matches the masked form and is never echoed.
    full = rita.get("/calls", params={"q": PHONE})
    assert "WB-A-0001" in full.text and PHONE not in full.text
    with sqlite3.connect(tmp / "results.sqlite") as db:
        bodies = " ".join(r[0] for r in db.execute("SELECT body FROM wb_text"))
    assert "*******5678" in bodies and PHONE not in bodies
    api = rita.get("/api/calls", params={"q": "积分"}).json()
    assert [c["call_id"] for c in api["calls"]] == ["WB-A-0001"]
    assert PHONE not in str(api)


def test_audio_streams_ranges_from_the_stored_recording(wb):
    server, rows, clients, tmp = wb
    rita = clients["rita"]
    import io

    import soundfile as sf

    recording = tmp / "recordings" / "call_a.wav"
    whole = rita.get(f"/calls/{rows['call_a']}/audio", params={"path": "/etc/passwd"})
    assert whole.status_code == 200 and whole.headers["accept-ranges"] == "bytes"
    # call_a's customer reads a phone number: the recording is served redacted (issue 14), as FLAC
    # of the same length, never the original file.
    served = whole.content
    assert served.startswith(b"fLaC") and served != recording.read_bytes()
    assert sf.info(io.BytesIO(served)).frames == sf.info(str(recording)).frames
    part = rita.get(f"/calls/{rows['call_a']}/audio", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == served[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(served)}"
    tail = rita.get(f"/calls/{rows['call_a']}/audio", headers={"Range": "bytes=-10"})
    assert tail.content == served[-10:]
    beyond = rita.get(f"/calls/{rows['call_a']}/audio", headers={"Range": f"bytes={len(served)}-"})
    assert beyond.status_code == 416


def test_the_browser_test_fails_instead_of_skipping_when_chromium_is_required(monkeypatch):
    import test_workbench_browser as browser_test

    monkeypatch.setattr(browser_test, "CHROMIUM", "/nonexistent/chromium")
    monkeypatch.setenv("QA_REQUIRE_BROWSER", "1")
    with pytest.raises(pytest.fail.Exception, match="QA_REQUIRE_BROWSER=1"):
        browser_test._chromium_or_fail()
    monkeypatch.delenv("QA_REQUIRE_BROWSER")
    with pytest.raises(pytest.skip.Exception):
        browser_test._chromium_or_fail()


def test_a_supervisor_assigns_a_days_calls_on_the_page(wb):
    server, rows, clients, _ = wb
    sam, rita = clients["sam"], clients["rita"]
    page = sam.get("/calls").text
    assert 'id="assign"' in page and 'id="assign"' not in rita.get("/calls").text
    form = {"csrf": csrf_of(page), "date": "2026-11-20", "failed": "1", "sample": "5%", "reviewer": "rita"}
    assert rita.post("/assign", data={**form, "csrf": csrf_of(rita.get("/calls").text)}).status_code == 403
    assert sam.post("/assign", data={**form, "csrf": "forged"}).status_code == 403
    assert sam.post("/assign", data={**form, "reviewer": "ann"}).status_code == 400  # an agent reviews nothing
    done = sam.post("/assign", data=form)
    assert done.status_code == 303 and "assigned=rita" in done.headers["location"]
    queued = rita.get("/api/calls", params={"assigned": "rita"}).json()["calls"]
    assert [c["row_id"] for c in queued] == [rows["call_a"]]  # the day's only call, and it failed


def test_verbose_access_logs_never_show_the_console_token():
    import logging

    from qa_pipeline.cli.live import _HideTokens

    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5000", "GET", f"/?token={CONSOLE}&x=1", "1.1", 303), None)
    assert _HideTokens().filter(record)
    assert CONSOLE not in record.getMessage() and "/?token=***&x=1" in record.getMessage()
