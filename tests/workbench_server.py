"""A real ``qa serve`` app on loopback for workbench tests, and an httpx login helper.

The server process runs the real app (live console, workbench) with a recognizer that is never
called (no live call is streamed in these tests), so it starts in about a second.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from qa_pipeline.store.users import Role, add_user
from qa_pipeline.store.workbench_db import open_workbench

REPO = Path(__file__).resolve().parents[1]
INGEST, CONSOLE = "wb-ingest-token-0001", "wb-console-token-001"
PASSWORDS = {"admin": "admin-pass-1", "rita": "rita-pass-11", "sam": "sam-pass-111",
             "ann": "ann-pass-111", "bob": "bob-pass-111"}

SERVER_SCRIPT = r"""
import sys, uvicorn
from pathlib import Path
from qa_pipeline.policy.policy import load_policy
from qa_pipeline.server.app import ServerConfig, create_app

class UnusedRecognizer:
    model_id = "unused"
    def transcribe(self, clips, hook=None):
        raise RuntimeError("no live call in workbench tests")

config = ServerConfig(ingest_token="wb-ingest-token-0001", console_token="wb-console-token-001", db_path=Path(sys.argv[2]))
app = create_app(config, UnusedRecognizer(), load_policy(None))
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def add_people(db: Path, people: dict[str, tuple[Role, str | None]]) -> None:
    connection = open_workbench(db)
    try:
        for name, (role, agent_id) in people.items():
            add_user(connection, name, role, PASSWORDS[name], agent_id)
    finally:
        connection.close()


class WorkbenchServer:
    def __init__(self, db: Path, log_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(log_path, "w+")
        self.proc = subprocess.Popen([sys.executable, "-c", SERVER_SCRIPT, str(self.port), str(db)],
                                     stdout=self.log, stderr=subprocess.STDOUT, cwd=REPO)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("server did not start:\n" + open(log_path).read())

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.log.close()


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    if match is None:
        raise AssertionError("no CSRF field in the page")
    return match.group(1)


def login(url: str, name: str, password: str | None = None) -> httpx.Client:
    """A client holding the session cookie of ``name`` (logged in through the real form)."""
    client = httpx.Client(base_url=url)
    form = client.get("/login")
    response = client.post("/login", data={"username": name, "password": password or PASSWORDS[name],
                                           "csrf": csrf_of(form.text), "next": "/calls"})
    if response.status_code != 303:
        raise AssertionError(f"login of {name} failed: {response.status_code} {response.text[:200]}")
    return client
