"""``qa export``: the store as CSV (one row per call, one column per check) or JSON Lines for BI tools.

Both formats list the latest scoring of each recording; reports in the store are already masked, and
call ids, file names and error lines are masked again here (a store written by an older version).
CSV cells that a spreadsheet would run as a formula (starting with ``= + - @``, tab or CR) are
prefixed with ``'`` as OWASP recommends.
"""

from __future__ import annotations

import csv
import json
from typing import Any, Iterable, TextIO

from qa_pipeline.store.results import ResultStore, StoredCall
from qa_pipeline.text.pii import mask_identifier

FORMATS = ("csv", "jsonl")
BASE_COLUMNS = (
    "call_id", "agent_id", "direction", "started_at", "call_date", "status", "error", "score",
    "duration_s", "agent_cpm", "hangup_by", "source", "audio_sha256", "policy_id", "model_id", "created_at",
)


def call_record(call: StoredCall) -> dict[str, Any]:
    """The flat fields of one stored call (no checks, no report)."""
    checks = (call.report or {}).get("checks", {})
    return {
        "call_id": _masked(call.call_id), "agent_id": call.agent_id, "direction": call.direction,
        "started_at": call.started_at, "call_date": call.call_date, "status": call.status,
        "error": _masked(call.error), "score": call.score, "duration_s": call.duration_s,
        "agent_cpm": checks.get("speaking_rate", {}).get("agent_cpm"),
        "hangup_by": checks.get("hangup", {}).get("hangup_by"),
        "source": _masked(call.source), "audio_sha256": call.key.audio_sha256, "policy_id": call.key.policy_id,
        "model_id": call.key.model_id, "created_at": call.created_at,
    }


def export_calls(store: ResultStore, fmt: str, out: TextIO, date: str | None = None) -> int:
    """Write the calls (of ``date`` if given) to ``out``; returns how many were written."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be csv or jsonl, not {fmt!r}")
    calls = store.iter_calls(date=date)
    if fmt == "jsonl":
        return _write_jsonl(calls, out)
    return _write_csv(calls, store.check_names(), out)


def _write_jsonl(calls: Iterable[StoredCall], out: TextIO) -> int:
    count = 0
    for call in calls:
        out.write(json.dumps({**call_record(call), "report": call.report}, ensure_ascii=False) + "\n")
        count += 1
    return count


def _write_csv(calls: Iterable[StoredCall], check_names: list[str], out: TextIO) -> int:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*BASE_COLUMNS, *(f"check_{n}" for n in check_names)])
    count = 0
    for call in calls:
        record = call_record(call)
        passed = [call.check_passed(n) for n in check_names]
        writer.writerow([_cell(record[c]) for c in BASE_COLUMNS] + [_cell(p) for p in passed])
        count += 1
    return count


def _masked(text: str | None) -> str | None:
    return None if text is None else mask_identifier(text)


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value  # a spreadsheet shows it as text instead of running it
    return str(value)
