"""The results store: one SQLite file (WAL mode) holding every scored call.

A call is identified by ``CallKey(audio_sha256, policy_id, model_id)``: scoring the same audio with
the same policy and model again is a no-op, a new policy or model scores it anew. Each call is written
in its own transaction, so a process killed at any moment leaves the file intact and every call either
fully stored or absent. A failed call is stored too (status ``failed`` with its one-line reason); a
later attempt for the same key replaces it (a success is never replaced).

Reports are stored MASKED (card/ID/phone numbers, file names included) unless the store is opened with
``mask_pii=False``. The file is created readable by its owner only. A damaged file (not SQLite, a
failed integrity check, a row that is not valid JSON) is one ``StoreError`` naming the file, never a
traceback. ``batch_lock`` lets one batch at a time work on a store (an OS file lock, released
when the process dies however it dies).
Beside each scored call, the ``transcripts`` table keeps its transcript (with the signal analysis:
speech, disconnect tone, hold music) and its metadata, once per (audio_sha256, model_id), masked
like the reports, so ``qa batch --rescore`` can score it under another policy without ASR. The table
was added without a schema version change: ``CREATE TABLE IF NOT EXISTS`` adds it to older stores,
whose calls are then rescored from their report's utterances (``RescoreInput.from_report``).
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, ContextManager, Iterable, Iterator, Mapping, TypeVar

from qa_pipeline.errors import StoreError
from qa_pipeline.store.sqlite_file import STORE_FILE_MODE, create_private, exclusive_lock, transaction, use_wal
from qa_pipeline.store.stored import CallKey, RescoreInput, StoredCall, call_date, row_to_call
from qa_pipeline.text.pii import mask_identifier, mask_report_dict
from qa_pipeline.types import CallMeta, Transcript

__all__ = ["FULL_CHECK_MAX_BYTES", "SCHEMA_VERSION", "STORE_FILE_MODE", "CallKey", "RescoreInput", "ResultStore",
           "StoredCall", "call_date"]

SCHEMA_VERSION = 1
#: Stores up to this size get the full integrity check on opening (indexes included); larger ones the quick one.
FULL_CHECK_MAX_BYTES = 512 * 1024 * 1024
_T = TypeVar("_T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS calls (
    id INTEGER PRIMARY KEY,
    audio_sha256 TEXT NOT NULL,
    policy_id TEXT NOT NULL,
    model_id TEXT NOT NULL,
    source TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
    error TEXT,
    call_id TEXT,
    agent_id TEXT,
    direction TEXT,
    started_at TEXT,
    call_date TEXT NOT NULL,
    duration_s REAL,
    score REAL,
    report_json TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (audio_sha256, policy_id, model_id)
);
CREATE TABLE IF NOT EXISTS checks (
    call_row INTEGER NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    passed INTEGER,
    PRIMARY KEY (call_row, name)
);
CREATE TABLE IF NOT EXISTS transcripts (
    audio_sha256 TEXT NOT NULL,
    model_id TEXT NOT NULL,
    source TEXT NOT NULL,
    transcript_json TEXT NOT NULL,
    meta_json TEXT NOT NULL,
    PRIMARY KEY (audio_sha256, model_id)
);
CREATE INDEX IF NOT EXISTS calls_by_date ON calls (call_date);
CREATE INDEX IF NOT EXISTS calls_by_audio ON calls (audio_sha256);
"""

_INSERT_COLUMNS = (
    "audio_sha256, policy_id, model_id, source, status, error, call_id, agent_id, direction,"
    " started_at, call_date, duration_s, score, report_json, created_at"
)
_COLUMNS = "id, " + _INSERT_COLUMNS




class ResultStore:
    """Open (creating if needed) a results store; use as a context manager or call ``close()``."""

    def __init__(self, path: str | Path, *, mask_pii: bool = True, verify: bool = True) -> None:
        self.path = Path(path)
        self.mask_pii = mask_pii
        create_private(self.path)
        try:
            self._db = sqlite3.connect(str(self.path), timeout=30.0, isolation_level=None)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open results store: {exc}", str(self.path)) from None
        try:
            use_wal(self._db)
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._init_schema()
            if verify and not self.integrity_ok():
                raise StoreError("results store is damaged (integrity check failed); restore it from a "
                                 "backup or start a new one", str(self.path))
        except sqlite3.Error as exc:
            self._db.close()
            raise StoreError(f"cannot open results store: {exc}", str(self.path)) from None
        except StoreError:
            self._db.close()
            raise

    def _read(self, action: Callable[[], _T]) -> _T:
        try:
            return action()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read results store: {exc}", str(self.path)) from None

    def batch_lock(self, on_wait: Callable[[], None] | None = None) -> ContextManager[None]:
        """Hold the store's batch lock (``<store>.lock``); a second holder waits until it is free.

        ``on_wait`` is called once if the lock is taken by another process. The OS drops the lock when
        its process ends, even by ``kill -9``.
        """
        return exclusive_lock(self.path.with_name(self.path.name + ".lock"), on_wait)

    def _init_schema(self) -> None:
        with self._transaction():
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self._db.execute(statement)
            row = self._db.execute("SELECT version FROM schema_version").fetchone()
            if row is None:
                self._db.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
            elif row[0] != SCHEMA_VERSION:
                raise StoreError(
                    f"store has schema version {row[0]}, this program reads version {SCHEMA_VERSION}",
                    str(self.path),
                )

    def _transaction(self) -> ContextManager[sqlite3.Connection]:
        return transaction(self._db)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "ResultStore":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- writing -------------------------------------------------------------------------------

    def record_result(self, key: CallKey, report: Mapping[str, Any], source: str,
                      meta: CallMeta | None = None, *, transcript: Transcript | None = None) -> bool:
        """Store a scored call (the ``CallReport.to_dict()`` contract) in one transaction.

        Returns False (and changes nothing) when the key is already stored as a success.
        ``meta`` supplies ``started_at`` (the report dict does not carry it); ``transcript`` is kept
        for rescoring (the first one stored per audio and model stays).
        """
        kept = None if transcript is None else self._transcript_row(key, source, transcript, meta)
        if self.mask_pii:
            report = mask_report_dict(dict(report))
            source = mask_identifier(source)
        now = datetime.now(timezone.utc)
        started_at = meta.started_at if meta else None
        row = {
            "status": "ok", "error": None,
            "call_id": report.get("call_id"), "agent_id": report.get("agent_id"),
            "direction": report.get("direction"), "started_at": started_at,
            "call_date": call_date(started_at, now), "duration_s": report.get("duration_s"),
            "score": report.get("score"),
            "report_json": json.dumps(report, ensure_ascii=False, sort_keys=True),
        }
        checks = [(name, _passed_int(c.get("passed"))) for name, c in report.get("checks", {}).items()]
        return self._insert(key, source, row, checks, now, kept)

    def _transcript_row(self, key: CallKey, source: str, transcript: Transcript,
                        meta: CallMeta | None) -> tuple[str, str, str, str, str]:
        from qa_pipeline.text.pii import mask_report_dict
        from qa_pipeline.text.transcript_io import transcript_to_dict

        data = transcript_to_dict(transcript)
        if self.mask_pii:
            data = mask_report_dict(data)
        meta_json = json.dumps((meta or CallMeta()).to_dict(), ensure_ascii=False, sort_keys=True)
        return (key.audio_sha256, key.model_id, source, json.dumps(data, ensure_ascii=False), meta_json)

    def record_failure(self, key: CallKey, source: str, error: str,
                       meta: CallMeta | None = None) -> bool:
        """Store a call that could not be scored, with its one-line reason."""
        now = datetime.now(timezone.utc)
        started_at = meta.started_at if meta else None
        call_id = meta.call_id if meta else None
        if self.mask_pii:
            source, error = mask_identifier(source), mask_identifier(error)
            call_id = None if call_id is None else mask_identifier(call_id)
        row = {
            "status": "failed", "error": error,
            "call_id": call_id, "agent_id": meta.agent_id if meta else None,
            "direction": meta.direction.value if meta and meta.direction else None,
            "started_at": started_at, "call_date": call_date(started_at, now),
            "duration_s": None, "score": None, "report_json": None,
        }
        return self._insert(key, source, row, [], now)

    def _insert(self, key: CallKey, source: str, row: dict[str, Any],
                checks: list[tuple[str, int | None]], now: datetime,
                transcript_row: tuple[str, str, str, str, str] | None = None) -> bool:
        try:
            with self._transaction():
                existing = self._db.execute(
                    "SELECT id, status FROM calls WHERE audio_sha256=? AND policy_id=? AND model_id=?",
                    (key.audio_sha256, key.policy_id, key.model_id),
                ).fetchone()
                if existing is not None:
                    if existing[1] == "ok":
                        return False
                    self._db.execute("DELETE FROM calls WHERE id=?", (existing[0],))
                cur = self._db.execute(
                    f"INSERT INTO calls ({_INSERT_COLUMNS}) VALUES ({', '.join('?' * 15)})",
                    (key.audio_sha256, key.policy_id, key.model_id, source, row["status"], row["error"],
                     row["call_id"], row["agent_id"], row["direction"], row["started_at"],
                     row["call_date"], row["duration_s"], row["score"], row["report_json"],
                     now.isoformat(timespec="seconds")),
                )
                self._db.executemany(
                    "INSERT INTO checks (call_row, name, passed) VALUES (?, ?, ?)",
                    [(cur.lastrowid, name, passed) for name, passed in checks],
                )
                if transcript_row is not None:
                    self._db.execute(
                        "INSERT OR IGNORE INTO transcripts (audio_sha256, model_id, source, transcript_json,"
                        " meta_json) VALUES (?, ?, ?, ?, ?)", transcript_row,
                    )
            return True
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot write results store: {exc}", str(self.path)) from None

    # -- reading -------------------------------------------------------------------------------

    def done_keys(self) -> set[CallKey]:
        """Keys stored as successes: a batch skips these. Failed calls are tried again."""
        rows = self._read(lambda: self._db.execute(
            "SELECT audio_sha256, policy_id, model_id FROM calls WHERE status='ok'"
        ).fetchall())
        return {CallKey(*r) for r in rows}

    def iter_calls(self, *, date: str | None = None, latest_only: bool = True,
                   keys: Iterable[CallKey] | None = None) -> Iterator[StoredCall]:
        """Stored calls in storage order.

        ``date`` (YYYY-MM-DD) filters on the call's day; ``latest_only`` keeps, per audio file, only
        the most recent scoring (so a policy change does not count a call twice); ``keys`` restricts
        to those keys (e.g. one batch's calls).
        """
        where, params = [], []
        if date is not None:
            where.append("call_date = ?")
            params.append(_check_date(date))
        if latest_only:
            where.append("id IN (SELECT MAX(id) FROM calls GROUP BY audio_sha256)")
        sql = f"SELECT {_COLUMNS} FROM calls"
        if where:
            sql += " WHERE " + " AND ".join(where)
        wanted = None if keys is None else set(keys)
        rows = self._read(lambda: self._db.execute(sql + " ORDER BY id", params).fetchall())
        for row in rows:
            if wanted is None or CallKey(*row[1:4]) in wanted:
                yield row_to_call(row, self.path)

    def iter_reports(self, *, date: str | None = None) -> Iterator[Mapping[str, Any]]:
        """The (masked) report dicts of the successfully scored calls."""
        for call in self.iter_calls(date=date):
            if call.report is not None:
                yield call.report

    def iter_rescore_inputs(self) -> Iterator[RescoreInput]:
        """Every stored transcript, then (for calls stored before transcripts were kept) the latest
        successful report of each (audio, model) without one, in storage order."""
        for sha, model_id, source, transcript_json, meta_json in self._db.execute(
            "SELECT audio_sha256, model_id, source, transcript_json, meta_json FROM transcripts"
            " ORDER BY rowid"
        ).fetchall():
            yield RescoreInput(sha, model_id, source, json.loads(transcript_json), json.loads(meta_json))
        sql = (
            f"SELECT {_COLUMNS} FROM calls c WHERE status='ok' AND id IN"
            " (SELECT MAX(id) FROM calls WHERE status='ok' GROUP BY audio_sha256, model_id)"
            " AND NOT EXISTS (SELECT 1 FROM transcripts t"
            " WHERE t.audio_sha256 = c.audio_sha256 AND t.model_id = c.model_id) ORDER BY id"
        )
        for row in self._db.execute(sql).fetchall():
            call = row_to_call(row, self.path)
            meta = {"call_id": call.call_id, "agent_id": call.agent_id, "direction": call.direction,
                    "started_at": call.started_at}
            yield RescoreInput(call.key.audio_sha256, call.key.model_id, call.source,
                               dict(call.report or {}), meta, from_report=True)

    def get_call(self, row_id: int) -> StoredCall | None:
        row = self._read(lambda: self._db.execute(f"SELECT {_COLUMNS} FROM calls WHERE id=?", (row_id,)).fetchone())
        return None if row is None else row_to_call(row, self.path)

    def count(self, status: str | None = None) -> int:
        if status is None:
            return self._read(lambda: self._db.execute("SELECT COUNT(*) FROM calls").fetchone()[0])
        return self._read(lambda: self._db.execute("SELECT COUNT(*) FROM calls WHERE status=?", (status,)).fetchone()[0])

    def check_pass_rates(self, *, date: str | None = None) -> dict[str, float]:
        """Share of calls passing each check, among the calls where it applied (latest scorings)."""
        sql = (
            "SELECT name, AVG(passed) FROM checks WHERE passed IS NOT NULL AND call_row IN"
            " (SELECT MAX(id) FROM calls GROUP BY audio_sha256)"
        )
        params: list[str] = []
        if date is not None:
            sql += " AND call_row IN (SELECT id FROM calls WHERE call_date=?)"
            params.append(_check_date(date))
        rows = self._read(lambda: self._db.execute(sql + " GROUP BY name ORDER BY name", params).fetchall())
        return {name: rate for name, rate in rows}

    def check_names(self) -> list[str]:
        """Every check name ever stored, sorted (the export's check columns)."""
        return [r[0] for r in self._read(lambda: self._db.execute("SELECT DISTINCT name FROM checks ORDER BY name").fetchall())]

    def integrity_ok(self, full: bool | None = None) -> bool:
        """SQLite's integrity check (indexes against their tables too); on a store larger than
        ``FULL_CHECK_MAX_BYTES`` only the quick check (page structure), unless ``full`` says otherwise.
        Measured: 2.4 s for a 168 MB store of 20,000 calls."""
        if full is None:
            full = self.path.stat().st_size <= FULL_CHECK_MAX_BYTES
        pragma = "integrity_check(1)" if full else "quick_check(1)"
        return self._read(lambda: self._db.execute(f"PRAGMA {pragma}").fetchone()[0]) == "ok"


def _passed_int(passed: Any) -> int | None:
    return None if passed is None else int(bool(passed))


def _check_date(date: str) -> str:
    try:
        return datetime.strptime(date, "%Y-%m-%d").date().isoformat()
    except ValueError:
        raise ValueError(f"date must be YYYY-MM-DD, not {date!r}") from None
