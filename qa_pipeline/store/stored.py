"""What the results store holds, as value types: a call's key, a stored row, a transcript to rescore."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Mapping

from qa_pipeline.errors import StoreError

__all__ = ["CallKey", "RescoreInput", "StoredCall", "call_date", "row_to_call"]


@dataclass(frozen=True)
class CallKey:
    """What makes a scoring unique: the audio bytes, the policy and the model."""

    audio_sha256: str
    policy_id: str
    model_id: str


@dataclass(frozen=True)
class StoredCall:
    """One row of the store. ``report`` is the (masked) report dict, None for a failed call."""

    row_id: int
    key: CallKey
    source: str
    status: str
    error: str | None
    call_id: str | None
    agent_id: str | None
    direction: str | None
    started_at: str | None
    call_date: str
    duration_s: float | None
    score: float | None
    report: Mapping[str, Any] | None
    created_at: str

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def check_passed(self, name: str) -> bool | None:
        """A check's ``passed`` (None when it did not apply, the call failed or lacks the check)."""
        if self.report is None:
            return None
        check = self.report.get("checks", {}).get(name)
        return None if check is None else check.get("passed")


@dataclass(frozen=True)
class RescoreInput:
    """What ``--rescore`` scores anew: a stored transcript JSON and metadata dict of one call.

    ``from_report`` is True for a call stored before transcripts were kept: its utterances come
    from the report and it has no signal analysis (hang-up tone, hold music) nor full metadata.
    """

    audio_sha256: str
    model_id: str
    source: str
    transcript: Mapping[str, Any]
    meta: Mapping[str, Any]
    from_report: bool = False


def call_date(started_at: str | None, scored_at: datetime) -> str:
    """The day a call belongs to: its ``started_at`` date (as telephony wrote it), else the scoring day."""
    if started_at:
        try:
            return datetime.fromisoformat(started_at).date().isoformat()
        except ValueError:
            pass
    return scored_at.astimezone().date().isoformat()


def _load_report(report_json: str | None, row_id: int, path: Path) -> Mapping[str, Any] | None:
    if report_json is None:
        return None
    try:
        report = json.loads(report_json)
    except (ValueError, RecursionError):
        report = None
    if not isinstance(report, dict):
        raise StoreError(f"row {row_id} holds a report that is not a JSON object; the store is damaged", str(path))
    return report


def row_to_call(row: tuple[Any, ...], path: Path) -> StoredCall:
    (row_id, sha, policy_id, model_id, source, status, error, call_id, agent_id, direction,
     started_at, day, duration_s, score, report_json, created_at) = row
    return StoredCall(
        row_id=row_id, key=CallKey(sha, policy_id, model_id), source=source, status=status,
        error=error, call_id=call_id, agent_id=agent_id, direction=direction,
        started_at=started_at, call_date=day, duration_s=duration_s, score=score,
        report=_load_report(report_json, row_id, path), created_at=created_at,
    )
