"""The results store on a real SQLite file: keys, exactly-once, masking, dates, summaries."""

from __future__ import annotations

import sqlite3

import pytest

from qa_pipeline.errors import StoreError
from qa_pipeline.store.results import CallKey, ResultStore, call_date
from qa_pipeline.types import CallMeta, Direction

ID_NUMBER = "110101199003071234"


def report_dict(call_id: str = "C1", agent_id: str = "8123", score: float = 80.0,
                greeting: bool | None = True, text: str = "您好，很高兴为您服务") -> dict:
    """A minimal report in the CallReport.to_dict() contract."""
    return {
        "call_id": call_id,
        "duration_s": 61.5,
        "direction": "inbound",
        "agent_id": agent_id,
        "utterances": [{"role": "agent", "channel": 0, "start_s": 0.5, "end_s": 3.0, "text": text,
                        "words": [{"text": text, "start_s": 0.5, "end_s": 3.0}]}],
        "checks": {"greeting": {"passed": greeting, "present": True},
                   "hangup": {"passed": None, "hangup_by": "unknown", "method": "none"}},
        "findings": [],
        "score": score,
        "policy_id": "p1",
        "model_id": "m1",
        "incomplete": False,
    }


KEY = CallKey("a" * 64, "p1", "m1")
META = CallMeta(call_id="C1", agent_id="8123", direction=Direction.INBOUND,
                started_at="2024-11-04T23:59:00+08:00")


@pytest.fixture
def store(tmp_path):
    with ResultStore(tmp_path / "results.sqlite") as s:
        yield s


def test_a_key_is_stored_once_and_is_then_done(store):
    assert store.record_result(KEY, report_dict(), "/calls/a.wav", META) is True
    assert store.record_result(KEY, report_dict(score=10.0), "/calls/a.wav", META) is False
    assert store.done_keys() == {KEY}
    [call] = store.iter_calls()
    assert (call.status, call.score, call.call_id, call.agent_id) == ("ok", 80.0, "C1", "8123")
    assert call.started_at == META.started_at and call.call_date == "2024-11-04"
    assert call.check_passed("greeting") is True and call.check_passed("hangup") is None


def test_a_failure_is_not_done_and_a_later_success_replaces_it(store):
    store.record_failure(KEY, "/calls/a.wav", "/calls/a.wav: not an audio file", META)
    assert store.done_keys() == set()
    [failed] = store.iter_calls()
    assert (failed.status, failed.error, failed.report, failed.agent_id) == (
        "failed", "/calls/a.wav: not an audio file", None, "8123")
    assert store.record_result(KEY, report_dict(), "/calls/a.wav", META) is True
    assert store.count() == 1 and store.count("ok") == 1
    # ...but a success is never overwritten by a failure.
    assert store.record_failure(KEY, "/calls/a.wav", "boom", META) is False
    assert store.count("failed") == 0


def test_reports_are_stored_masked_by_default(tmp_path):
    text = f"我的身份证号码是{ID_NUMBER}"
    with ResultStore(tmp_path / "masked.sqlite") as masked:
        masked.record_result(KEY, report_dict(text=text), "a.wav", META)
        [report] = masked.iter_reports()
    assert ID_NUMBER not in report["utterances"][0]["text"]
    assert ID_NUMBER[-4:] in report["utterances"][0]["text"]
    raw_bytes = (tmp_path / "masked.sqlite").read_bytes() + _wal_bytes(tmp_path / "masked.sqlite")
    assert ID_NUMBER.encode() not in raw_bytes
    with ResultStore(tmp_path / "raw.sqlite", mask_pii=False) as raw:
        raw.record_result(KEY, report_dict(text=text), "a.wav", META)
        [report] = raw.iter_reports()
    assert report["utterances"][0]["text"] == text


def _wal_bytes(db_path):
    wal = db_path.with_name(db_path.name + "-wal")
    return wal.read_bytes() if wal.exists() else b""


def test_a_new_policy_is_a_new_row_and_only_the_latest_scoring_is_listed(store):
    store.record_result(KEY, report_dict(score=50.0), "a.wav", META)
    newer = CallKey(KEY.audio_sha256, "p2", "m1")
    store.record_result(newer, report_dict(score=90.0), "a.wav", META)
    assert store.count() == 2
    assert [c.score for c in store.iter_calls()] == [90.0]
    assert sorted(c.score for c in store.iter_calls(latest_only=False)) == [50.0, 90.0]
    assert [c.score for c in store.iter_calls(latest_only=False, keys=[KEY])] == [50.0]


def test_date_filter_uses_started_at_then_the_scoring_day(store):
    store.record_result(KEY, report_dict(call_id="A"), "a.wav", META)
    no_start = CallKey("b" * 64, "p1", "m1")
    store.record_result(no_start, report_dict(call_id="B"), "b.wav", CallMeta())
    [b_call] = [c for c in store.iter_calls() if c.call_id == "B"]
    from datetime import datetime

    assert b_call.call_date == datetime.fromisoformat(b_call.created_at).astimezone().date().isoformat()
    assert [c.call_id for c in store.iter_calls(date="2024-11-04")] == ["A"]
    assert [c.call_id for c in store.iter_calls(date=b_call.call_date)] == ["B"]
    with pytest.raises(ValueError):
        list(store.iter_calls(date="04/11/2024"))


def test_call_date_keeps_the_telephony_local_day():
    from datetime import datetime, timezone

    scored = datetime(2024, 12, 1, 3, 0, tzinfo=timezone.utc)
    assert call_date("2024-11-04T23:59:00+08:00", scored) == "2024-11-04"
    assert call_date("2024-11-04", scored) == "2024-11-04"
    assert call_date("garbage", scored) == scored.astimezone().date().isoformat()
    assert call_date(None, scored) == scored.astimezone().date().isoformat()


def test_check_pass_rates_count_only_applicable_checks(store):
    for i, greeting in enumerate([True, True, False, None]):
        key = CallKey(f"{i}" * 64, "p1", "m1")
        store.record_result(key, report_dict(call_id=f"C{i}", greeting=greeting), f"{i}.wav", META)
    rates = store.check_pass_rates()
    assert rates["greeting"] == pytest.approx(2 / 3)
    assert "hangup" not in rates  # never applicable


def test_the_file_is_wal_with_a_schema_version(tmp_path):
    path = tmp_path / "r.sqlite"
    ResultStore(path).close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("SELECT version FROM schema_version").fetchall() == [(1,)]
    db.execute("UPDATE schema_version SET version = 99")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="schema version 99"):
        ResultStore(path)


def test_a_file_that_is_not_a_database_gives_a_store_error(tmp_path):
    path = tmp_path / "notes.sqlite"
    path.write_text("these are not the results you are looking for\n" * 100)
    with pytest.raises(StoreError) as info:
        ResultStore(path)
    assert info.value.one_line().startswith(f"{path}: cannot open results store")


def test_unique_constraint_holds_in_the_schema(store):
    store.record_result(KEY, report_dict(), "a.wav", META)
    with pytest.raises(sqlite3.IntegrityError):
        store._db.execute(
            "INSERT INTO calls (audio_sha256, policy_id, model_id, source, status, call_date, created_at)"
            " VALUES (?, ?, ?, 'x', 'ok', '2024-01-01', 'now')", (KEY.audio_sha256, KEY.policy_id, KEY.model_id))
