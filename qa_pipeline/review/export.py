"""``qa review export``: every reviewed call as ``NAME.truth.json`` beside a link to its recording."""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from qa_pipeline.errors import QAError
from qa_pipeline.review.labels import truth_labels
from qa_pipeline.store.recordings import recording_path
from qa_pipeline.store.call_index import stored_report, sync_index
from qa_pipeline.store.reviews import review_state

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True)
class ExportSummary:
    labels: int
    missing_audio: int


def export_reviewed(db: sqlite3.Connection, db_path: Path, directory: Path) -> ExportSummary:
    sync_index(db)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise QAError(f"cannot create the export directory: {exc.strerror}", str(directory)) from None
    rows = db.execute(
        "SELECT c.row_id, c.call_id, s.audio_sha256 FROM wb_calls c JOIN calls s ON s.id = c.row_id WHERE c.current=1"
        " AND (c.row_id IN (SELECT row_id FROM wb_verdicts) OR c.row_id IN (SELECT row_id FROM wb_added))"
        " ORDER BY c.row_id").fetchall()
    labels = missing = 0
    for row_id, call_id, sha in rows:
        report, source = stored_report(db, row_id)
        state = review_state(db, row_id)
        name = _UNSAFE.sub("_", call_id or "") or f"call_{row_id}"
        (directory / f"{name}.truth.json").write_text(
            json.dumps(truth_labels(report, state.verdicts, state.added), ensure_ascii=False, indent=1), encoding="utf-8")
        labels += 1
        recording = recording_path(db_path, source, sha)
        if recording is None:
            missing += 1
            continue
        _link(recording.resolve(), directory / f"{name}{recording.suffix.lower()}")
        meta = recording.with_name(recording.stem + ".meta.json")
        if meta.is_file():
            _link(meta.resolve(), directory / f"{name}.meta.json")
    return ExportSummary(labels, missing)


def _link(target: Path, link: Path) -> None:
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(target)
