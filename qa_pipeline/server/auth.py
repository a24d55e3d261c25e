"""Who is asking: server-side sessions for the workbench and the live console, CSRF, roles.

One session mechanism for people and for the live console: a person logs in with a password at
``/login``; the console token is exchanged once (``/?token=…`` or ``POST /console/session`` with a
Bearer header) for the same kind of cookie, so the token leaves the address bar. The cookie is
HttpOnly, SameSite=Lax, Secure when the request came over TLS, and expires with its session.
Every POST form carries the session's CSRF token. Machine endpoints keep their bearer tokens.
"""

from __future__ import annotations

import hmac
import secrets
import sqlite3
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterator
from urllib.parse import parse_qsl

from fastapi import Request, WebSocket
from fastapi.responses import Response

from qa_pipeline.store.call_index import sync_index
from qa_pipeline.store.users import LoginPolicy, Role, Session, User, create_session, find_session
from qa_pipeline.store.workbench_db import connect, open_workbench

if TYPE_CHECKING:
    from qa_pipeline.policy.policy import Policy

SESSION_COOKIE = "qa_session"
LOGIN_CSRF_COOKIE = "qa_login_csrf"
CONSOLE_USER = User("console", Role.CONSOLE, None)
CONSOLE_ROLES = frozenset({Role.CONSOLE, Role.ADMIN, Role.SUPERVISOR, Role.REVIEWER})
MAX_FORM_BYTES = 64 * 1024


class Denied(Exception):
    """Refuse the request: ``status`` 401 (log in), 403 (wrong role or CSRF), 404, 400 or 429."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


@dataclass
class Workbench:
    """The workbench's shared state: the store path, the policy (reviewed scores), login rules."""

    db_path: Path
    policy: "Policy"
    login: LoginPolicy = field(default_factory=LoginPolicy)
    audio_dir: Path | None = None
    _ready: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @contextmanager
    def db(self) -> Iterator[sqlite3.Connection]:
        """A connection for one request (sqlite connections are cheap; threads never share one)."""
        with self._lock:
            if not self._ready:
                open_workbench(self.db_path).close()
                self._ready = True
        db = connect(self.db_path)
        try:
            yield db
        finally:
            db.close()


    def sync(self) -> int:
        """Bring the call index up to date (at start-up, so the first list of a big store is quick)."""
        with self.db() as db:
            return sync_index(db)


def session_of(workbench: Workbench, request: Request | WebSocket) -> Session | None:
    session_id = request.cookies.get(SESSION_COOKIE)
    if not session_id:
        return None
    with workbench.db() as db:
        return find_session(db, session_id)


def require(workbench: Workbench, request: Request, roles: frozenset[Role] | None = None) -> Session:
    """The session of a logged-in user with one of ``roles`` (any role when None), else ``Denied``."""
    session = session_of(workbench, request)
    if session is None:
        raise Denied(401, "login required")
    if roles is not None and session.user.role not in roles:
        raise Denied(403, f"forbidden for role {session.user.role.value}")
    return session


def start_session(workbench: Workbench, request: Request, response: Response, user: User) -> Session:
    with workbench.db() as db:
        session_id, session = create_session(db, user, workbench.login)
    response.set_cookie(SESSION_COOKIE, session_id, max_age=int(workbench.login.session_ttl_s), httponly=True,
                        samesite="lax", secure=request.url.scheme in ("https", "wss"), path="/")
    return session


async def read_form(request: Request) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body (the workbench's only form encoding)."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise Denied(400, "form too large")
    if "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
        raise Denied(400, "expected a form (application/x-www-form-urlencoded)")
    try:
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=50))
    except (UnicodeDecodeError, ValueError):
        raise Denied(400, "malformed form") from None


def check_csrf(session: Session, form: dict[str, str]) -> None:
    given = form.get("csrf", "")
    if not given or not hmac.compare_digest(given.encode(), session.csrf.encode()):
        raise Denied(403, "missing or wrong CSRF token: reload the page and try again")


def login_csrf(request: Request) -> str:
    """The pre-login CSRF value (double-submit cookie): the cookie's, or a fresh one."""
    return request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)


def check_login_csrf(request: Request, form: dict[str, str]) -> None:
    cookie, given = request.cookies.get(LOGIN_CSRF_COOKIE, ""), form.get("csrf", "")
    if not cookie or not given or not hmac.compare_digest(cookie.encode(), given.encode()):
        raise Denied(403, "missing or wrong CSRF token: reload the login page and try again")


def console_allowed(workbench: Workbench, request: Request | WebSocket, bearer_ok: bool) -> bool:
    """The live console: a Bearer console token (scripts) or a session of a console role."""
    if bearer_ok:
        return True
    session = session_of(workbench, request)
    return session is not None and session.user.role in CONSOLE_ROLES
