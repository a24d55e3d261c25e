"""The review workbench's tables, kept in the results store's SQLite file beside ``calls``.

People (``wb_users``), server-side sessions (``wb_sessions``), login throttling (``wb_logins``),
a list index with full-text search over the masked transcripts (``wb_calls``, ``wb_text``),
review decisions (``wb_verdicts``, ``wb_added``), appeals (``wb_appeals``), assignments
(``wb_assignments``) and the append-only audit trail (``wb_audit``: triggers refuse UPDATE and
DELETE). ``open_workbench`` opens a connection and creates whatever is missing.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Iterator

from qa_pipeline.errors import StoreError
from qa_pipeline.store.results import ResultStore
from qa_pipeline.store.sqlite_file import transaction

__all__ = ["connect", "open_workbench", "transaction"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS wb_users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('admin', 'supervisor', 'reviewer', 'agent')),
    agent_id TEXT,
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS wb_sessions (
    id_sha256 TEXT PRIMARY KEY,
    user_name TEXT NOT NULL,
    role TEXT NOT NULL,
    agent_id TEXT,
    csrf TEXT NOT NULL,
    expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS wb_logins (
    user_name TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    locked_until REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS wb_calls (
    row_id INTEGER PRIMARY KEY,
    audio_sha256 TEXT NOT NULL,
    current INTEGER NOT NULL DEFAULT 1,
    status TEXT NOT NULL,
    call_id TEXT,
    agent_id TEXT,
    queue TEXT,
    direction TEXT,
    call_date TEXT NOT NULL,
    started_at TEXT,
    duration_s REAL,
    score REAL,
    failed_checks TEXT NOT NULL,
    review_status TEXT NOT NULL DEFAULT 'new',
    reviewed_score REAL
);
CREATE INDEX IF NOT EXISTS wb_calls_by_date ON wb_calls (current, call_date);
CREATE INDEX IF NOT EXISTS wb_calls_by_agent ON wb_calls (agent_id, call_date);
CREATE INDEX IF NOT EXISTS wb_calls_by_sha ON wb_calls (audio_sha256);
CREATE VIRTUAL TABLE IF NOT EXISTS wb_text USING fts5(body, tokenize='trigram');
CREATE TABLE IF NOT EXISTS wb_verdicts (
    row_id INTEGER NOT NULL,
    finding INTEGER NOT NULL,
    rule_id TEXT NOT NULL,
    verdict TEXT NOT NULL CHECK (verdict IN ('confirmed', 'overturned')),
    reason TEXT NOT NULL,
    reviewer TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (row_id, finding)
);
CREATE TABLE IF NOT EXISTS wb_added (
    id INTEGER PRIMARY KEY,
    row_id INTEGER NOT NULL,
    check_name TEXT NOT NULL,
    at_s REAL NOT NULL,
    note TEXT NOT NULL,
    reviewer TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS wb_appeals (
    id INTEGER PRIMARY KEY,
    row_id INTEGER NOT NULL,
    finding INTEGER,
    agent TEXT NOT NULL,
    text TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'upheld', 'rejected')),
    ruling_by TEXT,
    ruling_note TEXT,
    created_at TEXT NOT NULL,
    ruled_at TEXT
);
CREATE TABLE IF NOT EXISTS wb_assignments (
    row_id INTEGER NOT NULL,
    reviewer TEXT NOT NULL,
    reason TEXT NOT NULL,
    assigned_at TEXT NOT NULL,
    PRIMARY KEY (row_id, reviewer)
);
CREATE TABLE IF NOT EXISTS wb_audit (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    role TEXT NOT NULL,
    row_id INTEGER,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    before TEXT,
    after TEXT
);
CREATE INDEX IF NOT EXISTS wb_audit_by_call ON wb_audit (row_id);
CREATE TRIGGER IF NOT EXISTS wb_audit_no_update BEFORE UPDATE ON wb_audit
    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER IF NOT EXISTS wb_audit_no_delete BEFORE DELETE ON wb_audit
    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
"""


def open_workbench(path: str | Path) -> sqlite3.Connection:
    """A connection to the store at ``path`` with the workbench tables (created when missing)."""
    path = Path(path)
    ResultStore(path).close()  # the calls table and its schema check come from the results store
    try:
        db = sqlite3.connect(str(path), timeout=30.0, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA foreign_keys=ON")
        db.execute("PRAGMA busy_timeout=30000")
        with transaction(db):
            for statement in _statements(_SCHEMA):
                db.execute(statement)
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"cannot open the workbench tables: {exc}", str(path)) from None
    return db


def connect(path: str | Path) -> sqlite3.Connection:
    """A plain connection to a store whose workbench tables already exist."""
    db = sqlite3.connect(str(path), timeout=30.0, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA busy_timeout=30000")
    return db


def _statements(script: str) -> Iterator[str]:
    """Split the schema on the ``;`` ending a statement (triggers hold ``;`` inside BEGIN...END)."""
    buffer: list[str] = []
    for line in script.splitlines():
        buffer.append(line)
        joined = "\n".join(buffer).strip()
        if joined.endswith(";") and sqlite3.complete_statement(joined):
            yield joined
            buffer = []
