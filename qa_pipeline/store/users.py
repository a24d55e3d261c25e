"""People of the review workbench, their passwords, sessions and login throttling.

Passwords are hashed with the standard library's scrypt (memory-hard, per-user random salt;
``scrypt$N$r$p$salt$hash``), so no extra dependency is needed. Sessions live server-side: the
cookie carries a random id, the table keeps only its sha256, its role and its CSRF token, and
every session expires. Repeated wrong passwords lock the account for a while.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum

from qa_pipeline.errors import QAError
from qa_pipeline.store.workbench_db import transaction

_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1
_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


class Role(str, Enum):
    ADMIN = "admin"
    SUPERVISOR = "supervisor"  # 班组长: rules on appeals
    REVIEWER = "reviewer"  # 质检员: confirms or overturns findings
    AGENT = "agent"  # 座席: sees only calls with their own agent_id, appeals
    CONSOLE = "console"  # the live console token exchanged for a session; not a person

    @property
    def label_zh(self) -> str:
        return {"admin": "管理员", "supervisor": "班组长", "reviewer": "质检员", "agent": "座席",
                "console": "实时监控"}[self.value]


@dataclass(frozen=True)
class User:
    name: str
    role: Role
    agent_id: str | None


@dataclass(frozen=True)
class Session:
    """Who is logged in behind a cookie, and the CSRF token their forms carry."""

    user: User
    csrf: str
    expires_at: float


@dataclass(frozen=True)
class LoginOutcome:
    """``user`` on success; otherwise why not, and until when the account is locked."""

    user: User | None
    locked_until: float = 0.0
    failures: int = 0


@dataclass(frozen=True)
class LoginPolicy:
    lock_after_failures: int = 5
    lock_s: float = 300.0
    session_ttl_s: float = 8 * 3600.0


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32)
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    got = hashlib.scrypt(password.encode("utf-8"), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p),
                         dklen=len(digest) // 2)
    return hmac.compare_digest(got.hex(), digest)


def add_user(db: sqlite3.Connection, name: str, role: Role, password: str, agent_id: str | None = None) -> User:
    """Create a user; bad names, roles or passwords raise ``QAError`` with one line."""
    if not name or len(name) > 64 or not set(name) <= _NAME_CHARS:
        raise QAError(f"bad user name {name!r}: use 1-64 letters, digits, '.', '_' or '-'")
    if role is Role.CONSOLE:
        raise QAError("role 'console' is for the live console token, not for people")
    if role is Role.AGENT and not agent_id:
        raise QAError("an agent needs --agent-id (the agent_id their calls carry)")
    if len(password) < 8:
        raise QAError("the password must have at least 8 characters")
    stored = hash_password(password)
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    try:
        with transaction(db):
            db.execute("INSERT INTO wb_users (name, role, agent_id, password_hash, created_at) VALUES (?, ?, ?, ?, ?)",
                       (name, role.value, agent_id if role is Role.AGENT else None, stored, now))
    except sqlite3.IntegrityError:
        raise QAError(f"user {name!r} exists already") from None
    return User(name, role, agent_id if role is Role.AGENT else None)


def list_users(db: sqlite3.Connection) -> list[User]:
    rows = db.execute("SELECT name, role, agent_id FROM wb_users ORDER BY name").fetchall()
    return [User(name, Role(role), agent_id) for name, role, agent_id in rows]


def authenticate(db: sqlite3.Connection, name: str, password: str, policy: LoginPolicy,
                 now: float | None = None) -> LoginOutcome:
    """Check a password; failures are counted per name, and a locked name is refused unchecked."""
    now = time.time() if now is None else now
    state = db.execute("SELECT failures, locked_until FROM wb_logins WHERE user_name=?", (name,)).fetchone()
    failures, locked_until = state if state else (0, 0.0)
    if locked_until > now:
        return LoginOutcome(None, locked_until, failures)
    row = db.execute("SELECT role, agent_id, password_hash FROM wb_users WHERE name=?", (name,)).fetchone()
    # An unknown name costs the same hash as a known one, so timing tells nothing.
    ok = verify_password(password, row[2] if row else _DUMMY_HASH) and row is not None
    with transaction(db):
        if ok:
            db.execute("DELETE FROM wb_logins WHERE user_name=?", (name,))
            return LoginOutcome(User(name, Role(row[0]), row[1]))
        failures += 1
        locked_until = now + policy.lock_s if failures >= policy.lock_after_failures else 0.0
        db.execute("INSERT OR REPLACE INTO wb_logins (user_name, failures, locked_until) VALUES (?, ?, ?)",
                   (name, 0 if locked_until else failures, locked_until))
    return LoginOutcome(None, locked_until, failures)


def create_session(db: sqlite3.Connection, user: User, policy: LoginPolicy, now: float | None = None) -> tuple[str, Session]:
    """A new session: (the cookie value, the session). Expired sessions are swept on the way."""
    now = time.time() if now is None else now
    session_id, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    session = Session(user, csrf, now + policy.session_ttl_s)
    with transaction(db):
        db.execute("DELETE FROM wb_sessions WHERE expires_at <= ?", (now,))
        db.execute("INSERT INTO wb_sessions (id_sha256, user_name, role, agent_id, csrf, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
                   (_sha(session_id), user.name, user.role.value, user.agent_id, csrf, session.expires_at))
    return session_id, session


def find_session(db: sqlite3.Connection, session_id: str | None, now: float | None = None) -> Session | None:
    if not session_id:
        return None
    now = time.time() if now is None else now
    row = db.execute("SELECT user_name, role, agent_id, csrf, expires_at FROM wb_sessions WHERE id_sha256=?",
                     (_sha(session_id),)).fetchone()
    if row is None or row[4] <= now:
        return None
    return Session(User(row[0], Role(row[1]), row[2]), row[3], row[4])


def end_session(db: sqlite3.Connection, session_id: str | None) -> None:
    if session_id:
        db.execute("DELETE FROM wb_sessions WHERE id_sha256=?", (_sha(session_id),))


def _sha(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


# A well-formed hash no password produces: unknown names are checked against it.
_DUMMY_HASH = "scrypt$16384$8$1$" + "00" * 16 + "$" + "00" * 32
