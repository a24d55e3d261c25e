"""``qa batch --rescore``: stored transcripts scored under a new policy, no ASR, on a real SQLite file."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

from test_transcript_input import FORBIDDEN_CALL, META, run_qa, write_call

from qa_pipeline.batch.rescore import rescore_store
from qa_pipeline.paths import default_policy_dir
from qa_pipeline.policy.policy import load_policy
from qa_pipeline.rules.run import score_transcript
from qa_pipeline.store.results import CallKey, ResultStore
from qa_pipeline.types import CallMeta, ChannelActivity, Role, Span, Transcript, Utterance


def policy_copy(folder: Path, forbidden_cap: float | None = None) -> Path:
    """The bundled policy copied; with another forbidden-phrase cap, or only a comment added."""
    shutil.copytree(default_policy_dir(), folder)
    toml = folder / "policy.toml"
    text = toml.read_text(encoding="utf-8")
    if forbidden_cap is not None:
        assert "\nforbidden_phrase = 60.0\n" in text
        text = text.replace("\nforbidden_phrase = 60.0\n", f"\nforbidden_phrase = {forbidden_cap}\n")
    toml.write_text(text + "\n# copied for a rescore test\n", encoding="utf-8")
    return folder


def rows(db: Path) -> list[tuple]:
    with sqlite3.connect(db) as con:
        return con.execute("SELECT policy_id, model_id, call_id, status, score, report_json FROM calls"
                           " ORDER BY id").fetchall()


def test_rescore_cli_stores_new_rows_under_the_new_policy_and_is_idempotent(tmp_path):
    calls = tmp_path / "calls"
    write_call(calls, "tx1", FORBIDDEN_CALL)
    clean = json.loads(json.dumps(FORBIDDEN_CALL))
    clean["utterances"][4]["text"] = "是这样的，一直都是这个时间。"
    write_call(calls, "tx2", clean, meta={**META, "call_id": "TX-2"})
    db = tmp_path / "r.sqlite"
    assert run_qa("batch", str(calls), "--db", str(db), "--workers", "1").returncode == 0
    before = rows(db)
    new_policy = policy_copy(tmp_path / "strict", forbidden_cap=40.0)
    new_id = load_policy(new_policy).policy_id
    assert new_id != before[0][0]

    result = run_qa("batch", "--rescore", "--db", str(db), "--policy", str(new_policy))
    assert result.returncode == 0, result.stderr
    assert f"rescored 2 calls under policy {new_id} in " in result.stderr
    assert "calls/s, no ASR); 0 already scored under it" in result.stderr
    after = rows(db)
    assert after[:2] == before  # the old policy's rows stay as they were
    new = {r[2]: r for r in after[2:]}
    assert sorted(new) == ["TX-1", "TX-2"]
    assert {(r[0], r[1], r[3]) for r in new.values()} == {(new_id, "transcript", "ok")}
    tx1 = json.loads(new["TX-1"][5])
    assert new["TX-1"][4] == 40.0 and tx1["policy_id"] == new_id
    assert tx1["score_explanation"]["summary"] == "capped at 40: forbidden phrase 你错了 at 00:20"
    assert new["TX-2"][4] == before[1][4]  # no forbidden phrase: the cap change does not touch it
    assert json.loads(new["TX-2"][5])["utterances"] == json.loads(before[1][5])["utterances"]

    again = run_qa("batch", "--rescore", "--db", str(db), "--policy", str(new_policy))
    assert again.returncode == 0, again.stderr
    assert "rescored 0 calls" in again.stderr and "2 already scored under it" in again.stderr
    assert len(rows(db)) == 4


def _call_with_agent_tone() -> Transcript:
    """A call the agent ended: the disconnect tone is on the agent's channel (signal analysis only)."""
    utterances = (
        Utterance(Role.AGENT, 0, 0.5, 4.0, "您好，江南银行，工号5127，很高兴为您服务，请讲。"),
        Utterance(Role.CUSTOMER, 1, 4.5, 7.0, "我想问下我这张卡6222 0212 3456 7890 123怎么用不了"),
        Utterance(Role.AGENT, 0, 7.5, 10.0, "好的，我帮您看一下。"),
    )
    activity = (
        ChannelActivity(0, Role.AGENT, (Span(0.5, 4.0), Span(7.5, 10.0)), tone=(Span(10.5, 14.0),)),
        ChannelActivity(1, Role.CUSTOMER, (Span(4.5, 7.0),)),
    )
    return Transcript("TONE-1", 14.0, 8000, 2, utterances, activity)


def test_the_stored_transcript_keeps_the_signal_analysis_and_is_masked(tmp_path):
    policy = load_policy()
    transcript = _call_with_agent_tone()
    meta = CallMeta(call_id="TONE-1", agent_id="5127")
    report = score_transcript(transcript, meta, policy, "whisper-test")
    assert report.check("hangup").details == {"hangup_by": "agent", "method": "tone"}
    db = tmp_path / "r.sqlite"
    with ResultStore(db) as store:
        store.record_result(CallKey("a" * 64, policy.policy_id, "whisper-test"), report.to_dict(), "/c/tone.wav",
                            meta, transcript=transcript)
        new_policy = load_policy(policy_copy(tmp_path / "same_rules"))
        result = rescore_store(store, new_policy)
        assert (result.batch.scored, result.batch.skipped, result.from_reports) == (1, 0, 0)
        old, new = list(store.iter_calls(latest_only=False))
    assert new.key == CallKey("a" * 64, new_policy.policy_id, "whisper-test")
    assert new.source == "/c/tone.wav" and new.call_id == "TONE-1" and new.agent_id == "5127"
    # Same rules, so the same verdicts; the hang-up by tone survives only because activity was stored.
    assert new.report["checks"] == old.report["checks"]
    assert new.report["checks"]["hangup"] == {"passed": False, "hangup_by": "agent", "method": "tone"}
    assert new.score == old.score
    with sqlite3.connect(db) as con:
        (stored,) = con.execute("SELECT transcript_json FROM transcripts").fetchone()
    assert "6222" not in stored and "0212" not in stored and "7890" not in stored
    assert json.loads(stored)["activity"][0]["tone"] == [{"start_s": 10.5, "end_s": 14.0}]


def test_calls_stored_before_transcripts_were_kept_rescore_from_their_report(tmp_path):
    policy = load_policy()
    transcript = _call_with_agent_tone()
    report = score_transcript(transcript, CallMeta(call_id="OLD-1"), policy, "whisper-test")
    db = tmp_path / "r.sqlite"
    with ResultStore(db) as store:
        store.record_result(CallKey("b" * 64, policy.policy_id, "whisper-test"), report.to_dict(), "/c/old.wav")
        result = rescore_store(store, load_policy(policy_copy(tmp_path / "p2", forbidden_cap=40.0)))
        assert (result.batch.scored, result.from_reports) == (1, 1)
        old, new = list(store.iter_calls(latest_only=False))
    # The same utterances (words, absent in this hand-built call, are rebuilt as for any transcript).
    assert [{k: u[k] for k in ("role", "start_s", "end_s", "text")} for u in new.report["utterances"]] == [
        {k: u[k] for k in ("role", "start_s", "end_s", "text")} for u in old.report["utterances"]]
    # Without the stored signal analysis the tone is gone: who hung up is unknown, as documented.
    assert new.report["checks"]["hangup"]["hangup_by"] == "unknown"


def test_rescore_refuses_a_directory_and_a_missing_store(tmp_path):
    result = run_qa("batch", str(tmp_path), "--rescore", "--db", str(tmp_path / "r.sqlite"))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "error: --rescore reads the transcripts in --db: give no DIRECTORY and no "
        "--workers/--engine/--ray-address/--model/--beam-size"]
    missing = tmp_path / "none.sqlite"
    result = run_qa("batch", "--rescore", "--db", str(missing))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"error: {missing}: results store not found"]
