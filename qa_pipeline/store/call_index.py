"""The workbench's call list: an index over the results store with filters, sort, pages and search.

``sync_index`` adds the calls stored since the last sync (by row id, so it is cheap to call before
every list). Full-text search uses SQLite FTS5 (trigram tokenizer: any 3+ character substring of
Chinese text) over the transcripts, masked again here whatever the store holds, so the index never
contains a card, ID or phone number. Queries of one or two characters fall back to a scan.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from qa_pipeline.store.users import Role, User
from qa_pipeline.store.workbench_db import transaction
from qa_pipeline.text.pii import mask_report_dict, mask_text

REVIEW_STATUSES = ("new", "assigned", "reviewed", "appealed", "ruled")
SORTS = {"date": "started_at, call_date, row_id", "score": "score", "duration": "duration_s",
         "agent": "agent_id", "id": "row_id"}
_LIST_COLUMNS = ("row_id, call_id, agent_id, queue, direction, call_date, started_at, duration_s, score, status,"
                 " failed_checks, review_status, reviewed_score")
_SNIPPET_CHARS = 24


@dataclass(frozen=True)
class CallFilter:
    """What the call list shows; empty fields do not filter. Scores are 0-100."""

    date_from: str | None = None
    date_to: str | None = None
    agent_id: str | None = None
    queue: str | None = None
    direction: str | None = None
    failed_check: str | None = None  # a check name, or "any"
    score_min: float | None = None
    score_max: float | None = None
    review_status: str | None = None
    assigned_to: str | None = None
    query: str | None = None
    sort: str = "date"
    descending: bool = True
    page: int = 1
    page_size: int = 50

    def __post_init__(self) -> None:
        if self.sort not in SORTS:
            raise ValueError(f"sort must be one of {', '.join(SORTS)}")
        if self.review_status is not None and self.review_status not in REVIEW_STATUSES:
            raise ValueError(f"review status must be one of {', '.join(REVIEW_STATUSES)}")
        if self.page < 1 or not 1 <= self.page_size <= 500:
            raise ValueError("page must be >= 1 and page size 1-500")


@dataclass(frozen=True)
class IndexedCall:
    row_id: int
    call_id: str | None
    agent_id: str | None
    queue: str | None
    direction: str | None
    call_date: str
    started_at: str | None
    duration_s: float | None
    score: float | None
    status: str
    failed_checks: tuple[str, ...]
    review_status: str
    reviewed_score: float | None
    snippet: str | None = None

    @property
    def failed(self) -> bool:
        return bool(self.failed_checks)


@dataclass(frozen=True)
class CallPage:
    calls: tuple[IndexedCall, ...]
    total: int
    filter: CallFilter = field(default_factory=CallFilter)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.filter.page_size))


def sync_index(db: sqlite3.Connection) -> int:
    """Index the calls stored since the last sync; returns how many were added.

    A cheap read decides whether there is anything to do; the rows are read again inside the write
    transaction, so two requests syncing at once never index a call twice.
    """
    if not _behind(db):
        return 0
    with transaction(db):
        last = db.execute("SELECT COALESCE(MAX(row_id), 0) FROM wb_calls").fetchone()[0]
        rows = db.execute(
            "SELECT id, audio_sha256, status, call_id, agent_id, direction, call_date, started_at, duration_s,"
            " score, report_json, source FROM calls WHERE id > ? ORDER BY id", (last,)).fetchall()
        for row in rows:
            _index_row(db, row)
    return len(rows)


def _behind(db: sqlite3.Connection) -> bool:
    stored = db.execute("SELECT COALESCE(MAX(id), 0) FROM calls").fetchone()[0]
    return stored > db.execute("SELECT COALESCE(MAX(row_id), 0) FROM wb_calls").fetchone()[0]


def _index_row(db: sqlite3.Connection, row: tuple[Any, ...]) -> None:
    (row_id, sha, status, call_id, agent_id, direction, day, started_at, duration_s, score, report_json, source) = row
    report = json.loads(report_json) if report_json else {}
    failed = [name for name, check in sorted(report.get("checks", {}).items()) if check.get("passed") is False]
    db.execute("UPDATE wb_calls SET current=0 WHERE audio_sha256=? AND current=1", (sha,))
    db.execute(
        f"INSERT INTO wb_calls (row_id, audio_sha256, status, call_id, agent_id, queue, direction, call_date,"
        f" started_at, duration_s, score, failed_checks) VALUES ({', '.join('?' * 12)})",
        (row_id, sha, status, call_id, agent_id, _queue_of(source), direction, day, started_at, duration_s, score,
         "," + ",".join(failed) + "," if failed else ""))
    db.execute("INSERT INTO wb_text (rowid, body) VALUES (?, ?)", (row_id, transcript_text(report)))


def transcript_text(report: Mapping[str, Any]) -> str:
    """The searchable text of a report: every utterance, one a line, masked (in one pass)."""
    return mask_text("\n".join(str(u.get("text", "")) for u in report.get("utterances", [])))


def _queue_of(source: str) -> str | None:
    """The queue from the ``NAME.meta.json`` beside a batch recording (the store row does not keep it)."""
    if source.startswith("live:"):
        return None
    meta = Path(source).with_name(Path(source).stem + ".meta.json")
    try:
        value = json.loads(meta.read_text(encoding="utf-8")).get("queue")
    except (OSError, ValueError, AttributeError):
        return None
    return None if value in (None, "") else str(value)


def list_calls(db: sqlite3.Connection, wanted: CallFilter, viewer: User) -> CallPage:
    """One page of the calls ``viewer`` may see (an agent: only their own), filtered and sorted."""
    where, params = _where(wanted, viewer)
    sql_where = " WHERE " + " AND ".join(where)
    total = db.execute(f"SELECT COUNT(*) FROM wb_calls{sql_where}", params).fetchone()[0]
    order = ", ".join(f"{c} {'DESC' if wanted.descending else 'ASC'}" for c in SORTS[wanted.sort].split(", "))
    rows = db.execute(
        f"SELECT {_LIST_COLUMNS} FROM wb_calls{sql_where} ORDER BY {order}, row_id LIMIT ? OFFSET ?",
        [*params, wanted.page_size, (wanted.page - 1) * wanted.page_size]).fetchall()
    calls = [_to_call(r) for r in rows]
    if wanted.query:
        calls = [_with_snippet(db, c, wanted.query) for c in calls]
    return CallPage(tuple(calls), total, wanted)


def _where(wanted: CallFilter, viewer: User) -> tuple[list[str], list[Any]]:
    where: list[str] = ["current=1"]
    params: list[Any] = []

    def add(clause: str, *values: Any) -> None:
        where.append(clause)
        params.extend(values)

    if viewer.role is Role.AGENT:
        add("agent_id = ?", viewer.agent_id or "\0")
    for clause, value in (("call_date >= ?", wanted.date_from), ("call_date <= ?", wanted.date_to),
                          ("agent_id = ?", wanted.agent_id), ("queue = ?", wanted.queue),
                          ("direction = ?", wanted.direction), ("score >= ?", wanted.score_min),
                          ("score <= ?", wanted.score_max), ("review_status = ?", wanted.review_status)):
        if value not in (None, ""):
            add(clause, value)
    if wanted.failed_check == "any":
        add("failed_checks != ''")
    elif wanted.failed_check:
        add("failed_checks LIKE ?", f"%,{wanted.failed_check},%")
    if wanted.assigned_to:
        add("row_id IN (SELECT row_id FROM wb_assignments WHERE reviewer = ?)", wanted.assigned_to)
    if wanted.query:
        query = mask_text(wanted.query.strip())
        if len(query) >= 3:
            add("row_id IN (SELECT rowid FROM wb_text WHERE wb_text MATCH ?)", '"' + query.replace('"', '""') + '"')
        else:
            add("row_id IN (SELECT rowid FROM wb_text WHERE body LIKE ? ESCAPE '\\')", "%" + _like_escape(query) + "%")
    return where, params


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _with_snippet(db: sqlite3.Connection, call: IndexedCall, query: str) -> IndexedCall:
    body = db.execute("SELECT body FROM wb_text WHERE rowid=?", (call.row_id,)).fetchone()
    text = body[0] if body else ""
    at = text.find(mask_text(query.strip()))
    if at < 0:
        return call
    start = max(0, at - _SNIPPET_CHARS)
    snippet = text[start: at + len(query) + _SNIPPET_CHARS].replace("\n", " / ")
    return IndexedCall(**{**call.__dict__, "snippet": snippet})


def get_indexed(db: sqlite3.Connection, row_id: int) -> IndexedCall | None:
    row = db.execute(f"SELECT {_LIST_COLUMNS} FROM wb_calls WHERE row_id=?", (row_id,)).fetchone()
    return None if row is None else _to_call(row)


def stored_report(db: sqlite3.Connection, row_id: int) -> tuple[dict[str, Any], str] | None:
    """(report dict, source) of a stored call; the report is masked again for display."""
    row = db.execute("SELECT report_json, source FROM calls WHERE id=?", (row_id,)).fetchone()
    if row is None:
        return None
    report = json.loads(row[0]) if row[0] else {}
    return mask_report_dict(report), row[1]


def may_see(viewer: User, call: IndexedCall) -> bool:
    """An agent sees only calls with their own agent_id; every other role sees every call."""
    if viewer.role is Role.AGENT:
        return viewer.agent_id is not None and call.agent_id == viewer.agent_id
    return viewer.role in (Role.ADMIN, Role.SUPERVISOR, Role.REVIEWER)


def _to_call(row: tuple[Any, ...]) -> IndexedCall:
    (row_id, call_id, agent_id, queue, direction, day, started_at, duration_s, score, status, failed,
     review_status, reviewed_score) = row
    return IndexedCall(row_id, call_id, agent_id, queue, direction, day, started_at, duration_s, score, status,
                       tuple(n for n in failed.split(",") if n), review_status, reviewed_score)
