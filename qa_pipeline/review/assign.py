"""Which calls of a day go to a reviewer: every failed call, plus a random sample of the passed ones."""

from __future__ import annotations

import random
import sqlite3

from qa_pipeline.store.call_index import sync_index


def parse_share(text: str) -> float:
    """``5%`` or ``0.05`` -> 0.05; anything outside 0-100 % raises ``ValueError``."""
    text = text.strip()
    value = float(text[:-1]) / 100.0 if text.endswith("%") else float(text)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"sample must be between 0% and 100%, not {text!r}")
    return value


def pick_for_review(db: sqlite3.Connection, date: str, sample: float, failed: bool,
                    seed: int | None = None) -> list[tuple[int, str]]:
    """(row id, reason) of the calls to review on ``date``: reason ``failed`` or ``sample``.

    The sample is drawn from the passed calls (at least one when ``sample`` > 0 and any passed).
    """
    sync_index(db)
    rows = db.execute("SELECT row_id, failed_checks FROM wb_calls WHERE current=1 AND status='ok' AND call_date=?"
                      " ORDER BY row_id", (date,)).fetchall()
    chosen = [(row_id, "failed") for row_id, checks in rows if checks and failed]
    passed = [row_id for row_id, checks in rows if not checks]
    if sample > 0 and passed:
        count = max(1, round(sample * len(passed)))
        chosen += [(row_id, "sample") for row_id in sorted(random.Random(seed).sample(passed, count))]
    return chosen
