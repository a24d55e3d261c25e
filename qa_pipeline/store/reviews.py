"""Review decisions, appeals, assignments and the append-only audit trail of the workbench.

Every change goes through one of the functions here, and each writes its audit entry (who, when,
what, before/after as JSON) in the same transaction as the change itself. A finding is named by
its index in the stored report's ``findings`` list; its check is the ``rule_id`` prefix.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable

from qa_pipeline.errors import QAError
from qa_pipeline.store.users import User
from qa_pipeline.store.workbench_db import transaction

VERDICTS = ("confirmed", "overturned")
RULINGS = ("upheld", "rejected")


@dataclass(frozen=True)
class Verdict:
    finding: int
    rule_id: str
    verdict: str
    reason: str
    reviewer: str
    at: str


@dataclass(frozen=True)
class AddedFinding:
    id: int
    check_name: str
    at_s: float
    note: str
    reviewer: str
    at: str


@dataclass(frozen=True)
class Appeal:
    id: int
    row_id: int
    finding: int | None
    agent: str
    text: str
    status: str
    ruling_by: str | None
    ruling_note: str | None
    created_at: str


@dataclass(frozen=True)
class AuditEntry:
    at: str
    actor: str
    role: str
    action: str
    target: str
    before: str | None
    after: str | None


@dataclass(frozen=True)
class ReviewState:
    verdicts: dict[int, Verdict]
    added: tuple[AddedFinding, ...]
    appeals: tuple[Appeal, ...]
    audit: tuple[AuditEntry, ...]


@dataclass(frozen=True)
class RuleCalibration:
    """How reviewers judged one check's findings: the overturn rate tells which rule to fix."""

    check_name: str
    reviewed: int
    overturned: int
    missed: int  # findings reviewers had to add by hand

    @property
    def overturn_rate(self) -> float:
        return self.overturned / self.reviewed if self.reviewed else 0.0


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _audit(db: sqlite3.Connection, actor: User, row_id: int | None, action: str, target: str,
           before: Any, after: Any) -> None:
    db.execute(
        "INSERT INTO wb_audit (at, actor, role, row_id, action, target, before, after) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (_now(), actor.name, actor.role.value, row_id, action, target,
         None if before is None else json.dumps(before, ensure_ascii=False, sort_keys=True),
         None if after is None else json.dumps(after, ensure_ascii=False, sort_keys=True)))


def log_action(db: sqlite3.Connection, actor: User, row_id: int | None, action: str, target: str,
               before: Any, after: Any) -> None:
    """An audit entry of its own (an action outside the review tables, e.g. a user added)."""
    with transaction(db):
        _audit(db, actor, row_id, action, target, before, after)


def _require_text(text: str, what: str) -> str:
    text = (text or "").strip()
    if not text:
        raise QAError(f"{what} is required")
    if len(text) > 2000:
        raise QAError(f"{what} is longer than 2000 characters")
    return text


def set_verdict(db: sqlite3.Connection, actor: User, row_id: int, finding: int, rule_id: str,
                verdict: str, reason: str) -> None:
    """Confirm or overturn one automatic finding (an overturn needs a reason)."""
    if verdict not in VERDICTS:
        raise QAError(f"verdict must be one of {', '.join(VERDICTS)}")
    reason = _require_text(reason, "a reason") if verdict == "overturned" else (reason or "").strip()
    with transaction(db):
        old = db.execute("SELECT verdict, reason FROM wb_verdicts WHERE row_id=? AND finding=?", (row_id, finding)).fetchone()
        db.execute("INSERT OR REPLACE INTO wb_verdicts (row_id, finding, rule_id, verdict, reason, reviewer, at)"
                   " VALUES (?, ?, ?, ?, ?, ?, ?)", (row_id, finding, rule_id, verdict, reason, actor.name, _now()))
        db.execute("UPDATE wb_calls SET review_status='reviewed' WHERE row_id=? AND review_status IN ('new', 'assigned')", (row_id,))
        before = {"verdict": old[0], "reason": old[1]} if old else {"verdict": "automatic"}
        _audit(db, actor, row_id, "confirm" if verdict == "confirmed" else "overturn", f"finding {finding} {rule_id}",
               before, {"verdict": verdict, "reason": reason})


def add_finding(db: sqlite3.Connection, actor: User, row_id: int, check_name: str, at_s: float, note: str) -> None:
    """A finding the automatic checks missed, at a time in the call, with a note."""
    note = _require_text(note, "a note")
    if at_s < 0:
        raise QAError("the time of a missed finding must be >= 0 s")
    with transaction(db):
        db.execute("INSERT INTO wb_added (row_id, check_name, at_s, note, reviewer, at) VALUES (?, ?, ?, ?, ?, ?)",
                   (row_id, check_name, at_s, note, actor.name, _now()))
        db.execute("UPDATE wb_calls SET review_status='reviewed' WHERE row_id=? AND review_status IN ('new', 'assigned')", (row_id,))
        _audit(db, actor, row_id, "add_finding", check_name, None, {"at_s": round(at_s, 1), "note": note})


def open_appeal(db: sqlite3.Connection, actor: User, row_id: int, finding: int | None, text: str) -> int:
    text = _require_text(text, "the appeal text")
    with transaction(db):
        cur = db.execute("INSERT INTO wb_appeals (row_id, finding, agent, text, status, created_at) VALUES (?, ?, ?, ?, 'open', ?)",
                         (row_id, finding, actor.name, text, _now()))
        db.execute("UPDATE wb_calls SET review_status='appealed' WHERE row_id=?", (row_id,))
        _audit(db, actor, row_id, "appeal", "call" if finding is None else f"finding {finding}", None, {"text": text})
    return int(cur.lastrowid)


def rule_appeal(db: sqlite3.Connection, actor: User, appeal_id: int, ruling: str, note: str) -> Appeal:
    """A supervisor upholds (the finding is overturned) or rejects (it stands) an open appeal."""
    if ruling not in RULINGS:
        raise QAError(f"ruling must be one of {', '.join(RULINGS)}")
    note = _require_text(note, "a note on the ruling")
    with transaction(db):
        appeal = _appeal(db, appeal_id)
        if appeal is None or appeal.status != "open":
            raise QAError(f"appeal {appeal_id} is not open")
        db.execute("UPDATE wb_appeals SET status=?, ruling_by=?, ruling_note=?, ruled_at=? WHERE id=?",
                   (ruling, actor.name, note, _now(), appeal_id))
        db.execute("UPDATE wb_calls SET review_status='ruled' WHERE row_id=?", (appeal.row_id,))
        _audit(db, actor, appeal.row_id, f"appeal_{ruling}", f"appeal {appeal_id}",
               {"status": "open"}, {"status": ruling, "note": note})
    return appeal


def _appeal(db: sqlite3.Connection, appeal_id: int) -> Appeal | None:
    row = db.execute("SELECT id, row_id, finding, agent, text, status, ruling_by, ruling_note, created_at"
                     " FROM wb_appeals WHERE id=?", (appeal_id,)).fetchone()
    return None if row is None else Appeal(*row)


def appeal_row(db: sqlite3.Connection, appeal_id: int) -> int | None:
    appeal = _appeal(db, appeal_id)
    return None if appeal is None else appeal.row_id


def set_reviewed_score(db: sqlite3.Connection, row_id: int, score: float | None) -> None:
    db.execute("UPDATE wb_calls SET reviewed_score=? WHERE row_id=?", (score, row_id))


def review_state(db: sqlite3.Connection, row_id: int) -> ReviewState:
    verdicts = {r[0]: Verdict(*r) for r in db.execute(
        "SELECT finding, rule_id, verdict, reason, reviewer, at FROM wb_verdicts WHERE row_id=?", (row_id,))}
    added = tuple(AddedFinding(*r) for r in db.execute(
        "SELECT id, check_name, at_s, note, reviewer, at FROM wb_added WHERE row_id=? ORDER BY at_s", (row_id,)))
    appeals = tuple(Appeal(*r) for r in db.execute(
        "SELECT id, row_id, finding, agent, text, status, ruling_by, ruling_note, created_at FROM wb_appeals"
        " WHERE row_id=? ORDER BY id", (row_id,)))
    audit = tuple(AuditEntry(*r) for r in db.execute(
        "SELECT at, actor, role, action, target, before, after FROM wb_audit WHERE row_id=? ORDER BY id", (row_id,)))
    return ReviewState(verdicts, added, appeals, audit)


def assign_calls(db: sqlite3.Connection, actor: User, row_reasons: Iterable[tuple[int, str]], reviewer: str) -> int:
    """Queue calls for a reviewer; returns how many were newly assigned."""
    added = 0
    with transaction(db):
        for row_id, reason in row_reasons:
            cur = db.execute("INSERT OR IGNORE INTO wb_assignments (row_id, reviewer, reason, assigned_at) VALUES (?, ?, ?, ?)",
                             (row_id, reviewer, reason, _now()))
            if cur.rowcount:
                added += 1
                db.execute("UPDATE wb_calls SET review_status='assigned' WHERE row_id=? AND review_status='new'", (row_id,))
                _audit(db, actor, row_id, "assign", reviewer, None, {"reason": reason})
    return added


def calibration(db: sqlite3.Connection) -> list[RuleCalibration]:
    """Per check: findings reviewed, overturned, and missed findings added, over the whole store."""
    counts: dict[str, list[int]] = {}
    for rule_id, verdict, n in db.execute("SELECT rule_id, verdict, COUNT(*) FROM wb_verdicts GROUP BY rule_id, verdict"):
        entry = counts.setdefault(rule_id.split(".")[0], [0, 0, 0])
        entry[0] += n
        entry[1] += n if verdict == "overturned" else 0
    for check_name, n in db.execute("SELECT check_name, COUNT(*) FROM wb_added GROUP BY check_name"):
        counts.setdefault(check_name, [0, 0, 0])[2] += n
    return [RuleCalibration(name, *values) for name, values in sorted(counts.items())]


def open_appeals(db: sqlite3.Connection) -> list[Appeal]:
    return [Appeal(*r) for r in db.execute(
        "SELECT id, row_id, finding, agent, text, status, ruling_by, ruling_note, created_at FROM wb_appeals"
        " WHERE status='open' ORDER BY id")]


def people_audit(db: sqlite3.Connection, limit: int = 200) -> list[AuditEntry]:
    """The audit entries that concern no call (users added), newest first."""
    return [AuditEntry(*r) for r in db.execute(
        "SELECT at, actor, role, action, target, before, after FROM wb_audit WHERE row_id IS NULL"
        " ORDER BY id DESC LIMIT ?", (limit,))]
