"""Transcript JSON as input to ``qa audit`` and ``qa batch``: real CLI runs on hand-written files.

The transcripts below are written by hand for these tests (not produced by the code under test);
their wording is ours, not the dev calls'.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from qa_pipeline.batch.jobs import discover_calls
from qa_pipeline.errors import TranscriptFormatError
from qa_pipeline.text.transcript_io import read_transcript

REPO = Path(__file__).resolve().parent.parent

# A short compliant inbound call in which the agent contradicts the customer once (at 20.0 s).
FORBIDDEN_CALL = {
    "call_id": "TX-1",
    "duration_s": 30.0,
    "sample_rate_hz": 8000,
    "channels": 2,
    "utterances": [
        {"role": "agent", "channel": 0, "start_s": 0.5, "end_s": 5.0,
         "text": "您好，江南銀行，工号5127，很高兴为您服务，请讲。"},
        {"role": "customer", "channel": 1, "start_s": 5.5, "end_s": 9.0,
         "text": "你好，我想问一下你们网点周六营业吗？"},
        {"role": "agent", "channel": 0, "start_s": 9.5, "end_s": 16.0,
         "text": "周六上午九点到下午五点营业的，您可以直接过去办理。"},
        {"role": "customer", "channel": 1, "start_s": 16.5, "end_s": 19.5,
         "text": "那我上次问的不是这样啊。"},
        {"role": "agent", "channel": 0, "start_s": 20.0, "end_s": 23.0,
         "text": "你错了，一直都是这个时间。"},
        {"role": "customer", "channel": 1, "start_s": 23.5, "end_s": 25.0, "text": "好的，知道了。"},
        {"role": "agent", "channel": 0, "start_s": 25.5, "end_s": 29.0, "text": "感谢您的来电，再见。"},
    ],
}
META = {"call_id": "TX-1", "agent_id": "5127", "direction": "inbound", "hangup_by": "customer",
        "started_at": "2026-11-30T10:00:00+08:00"}


def run_qa(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "qa_pipeline.cli", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=REPO, env=env)


def write_call(folder: Path, name: str, transcript: object, meta: dict | None = META) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    path.write_text(json.dumps(transcript, ensure_ascii=False), encoding="utf-8")
    if meta is not None:
        (folder / f"{name}.meta.json").write_text(json.dumps(meta), encoding="utf-8")
    return path


# -- qa audit on a transcript -------------------------------------------------------------------


def test_audit_of_a_transcript_json_checks_and_explains_the_score(tmp_path):
    path = write_call(tmp_path, "tx1", FORBIDDEN_CALL)
    result = run_qa("audit", str(path), "--format", "json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["call_id"], report["agent_id"], report["direction"]) == ("TX-1", "5127", "inbound")
    assert report["model_id"] == "transcript"
    # Traditional characters are normalised like recognised text; no words were given: rebuilt.
    first = report["utterances"][0]
    assert first["text"] == "您好，江南银行，工号5127，很高兴为您服务，请讲。"
    # Spread evenly: 26 characters over 4.5 s; the last word (请讲) ends before the final 。
    assert first["words"][0]["start_s"] == 0.5 and first["words"][-1]["end_s"] == round(0.5 + 4.5 * 25 / 26, 3)
    assert "".join(w["text"] for w in first["words"]) == "您好江南银行工号5127很高兴为您服务请讲"
    forbidden = report["checks"]["forbidden_phrases"]
    assert forbidden["passed"] is False
    assert [(h["phrase"], h["start_s"]) for h in forbidden["hits"]] == [("你错了", 20.0)]
    assert report["checks"]["hangup"] == {"passed": True, "hangup_by": "customer", "method": "metadata"}
    explanation = report["score_explanation"]
    assert report["score"] == 60.0 and explanation["score"] == 60.0
    assert explanation["summary"] == "capped at 60: forbidden phrase 你错了 at 00:20"
    assert explanation["caps"] == [{"name": "forbidden_phrase", "limit": 60.0, "binding": True,
                                    "reason": "forbidden phrase 你错了 at 00:20", "at_s": 20.0}]
    counted = [c for c in explanation["checks"] if c["counted"]]
    assert sum(c["weight"] for c in counted) == explanation["counted_weight"]
    assert sum(c["points"] for c in counted) == pytest.approx(explanation["uncapped"], abs=0.05)
    assert explanation["uncapped"] > 60.0


def test_audit_text_and_html_show_the_explanation(tmp_path):
    path = write_call(tmp_path, "tx1", FORBIDDEN_CALL)
    text = run_qa("audit", str(path))
    assert text.returncode == 0, text.stderr
    assert "Score 得分: 60.0  (capped at 60: forbidden phrase 你错了 at 00:20)" in text.stdout
    assert "cap 60 applied: forbidden phrase 你错了 at 00:20" in text.stdout
    assert "得分明细" in text.stdout
    page = tmp_path / "tx1.html"
    html = run_qa("audit", str(path), "--format", "html", "--out", str(page))
    assert html.returncode == 0, html.stderr
    body = page.read_text(encoding="utf-8")
    assert '<p class="summary">capped at 60: forbidden phrase 你错了 at 00:20</p>' in body
    assert '<li class="binding">cap 60 applied: forbidden phrase 你错了 at 00:20</li>' in body
    assert "<tr class=\"counted\"><td>服务禁语 forbidden phrases</td><td>20</td>" in body
    assert "未附音频" in body  # no audio to play for a transcript


def test_words_that_spell_the_text_are_kept_as_given(tmp_path):
    words = [{"text": "你好", "start_s": 1.0, "end_s": 1.4}, {"text": "请问", "start_s": 1.5, "end_s": 1.9},
             {"text": "有什么", "start_s": 2.0, "end_s": 2.6}, {"text": "可以", "start_s": 2.6, "end_s": 2.9},
             {"text": "帮您", "start_s": 2.9, "end_s": 3.3}]
    transcript = {"utterances": [{"role": "agent", "channel": 0, "start_s": 1.0, "end_s": 3.5,
                                  "text": "你好，请问有什么可以帮您？", "words": words}]}
    path = write_call(tmp_path, "w", transcript, meta=None)
    result = run_qa("audit", str(path), "--format", "json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["utterances"][0]["words"] == words
    assert report["call_id"] == "w" and report["duration_s"] == 3.5  # from the file name and last end


BAD_TRANSCRIPTS = [
    ("invalid_json", '{"utterances": [', "invalid JSON at line 1 column 17: Expecting value"),
    ("empty", "", "empty file, expected a transcript JSON object"),
    ("a_list", "[]", "expected a JSON object with 'utterances', got a list"),
    ("no_utterances", '{"call_id": "x"}', "missing 'utterances' (a list of utterances)"),
    ("bad_role", '{"utterances": [{"role": "staff", "channel": 0, "start_s": 0, "end_s": 1, "text": "好"}]}',
     "utterances[0].role must be one of agent, customer, mixed, got 'staff'"),
    ("negative_time", '{"utterances": [{"role": "agent", "channel": 0, "start_s": -1, "end_s": 1, "text": "好"}]}',
     "utterances[0].start_s must be a number of seconds >= 0, got -1"),
    ("backwards", '{"utterances": [{"role": "agent", "channel": 0, "start_s": 5, "end_s": 2, "text": "好"}]}',
     "utterances[0] ends (2 s) before it starts (5 s)"),
    ("bool_channel", '{"utterances": [{"role": "agent", "channel": true, "start_s": 0, "end_s": 1, "text": "好"}]}',
     "utterances[0].channel must be an integer >= 0, got True"),
    ("missing_text", '{"utterances": [{"role": "agent", "channel": 0, "start_s": 0, "end_s": 1}]}',
     "utterances[0] is missing 'text'"),
    ("word_outside", '{"utterances": [{"role": "agent", "channel": 0, "start_s": 0, "end_s": 1, "text": "好的",'
     ' "words": [{"text": "好的", "start_s": 0.5, "end_s": 2.0}]}]}',
     "utterances[0].words[0] (0.5–2 s) lies outside its utterance (0–1 s)"),
    ("past_duration", '{"duration_s": 3, "utterances": [{"role": "agent", "channel": 0, "start_s": 0,'
     ' "end_s": 4, "text": "好"}]}', "an utterance ends at 4 s, after duration_s 3"),
]


@pytest.mark.parametrize("name,content,problem", BAD_TRANSCRIPTS, ids=[b[0] for b in BAD_TRANSCRIPTS])
def test_a_bad_transcript_is_one_line_naming_the_file_and_exit_2(tmp_path, name, content, problem):
    path = tmp_path / f"{name}.json"
    path.write_text(content, encoding="utf-8")
    result = run_qa("audit", str(path))
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [f"error: {path}: {problem}"]
    assert result.stdout == ""


def test_asr_options_are_refused_for_a_transcript(tmp_path):
    path = write_call(tmp_path, "tx1", FORBIDDEN_CALL)
    result = run_qa("audit", str(path), "--beam-size", "5")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"error: {path}: --model, --beam-size and --channels apply to audio; no ASR runs on a transcript"]


def test_the_reader_names_the_file_in_the_error(tmp_path):
    path = tmp_path / "gone.json"
    with pytest.raises(TranscriptFormatError) as info:
        read_transcript(path)
    assert info.value.one_line() == f"{path}: file not found"


def test_activity_reads_back_so_the_hangup_tone_counts(tmp_path):
    transcript = {
        "duration_s": 12.0,
        "utterances": [{"role": "customer", "channel": 1, "start_s": 1.0, "end_s": 3.0, "text": "喂，你好"}],
        "activity": [{"channel": 0, "role": "agent", "speech": [], "tone": [{"start_s": 8.0, "end_s": 12.0}],
                      "music": []},
                     {"channel": 1, "role": "customer", "speech": [{"start_s": 1.0, "end_s": 3.0}]}],
    }
    path = write_call(tmp_path, "tone", transcript, meta={"direction": "inbound"})
    result = run_qa("audit", str(path), "--format", "json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["checks"]["hangup"] == {"passed": False, "hangup_by": "agent", "method": "tone"}
    assert report["score_explanation"]["caps"][0]["reason"] == "the agent hung up first (disconnect tone at 00:08)"


# -- qa batch on transcripts --------------------------------------------------------------------


def test_discovery_takes_transcripts_beside_audio_but_not_sidecars(tmp_path):
    (tmp_path / "a.wav").write_bytes(b"RIFF")
    (tmp_path / "a.meta.json").write_text("{}")
    (tmp_path / "a.truth.json").write_text("{}")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.json").write_text("{}")
    jobs = discover_calls(tmp_path)
    assert [(j.audio_path.relative_to(tmp_path).as_posix(), j.is_transcript) for j in jobs] == [
        ("a.wav", False), ("sub/b.json", True)]


def test_batch_scores_transcripts_into_a_real_store_and_fails_a_bad_one_alone(tmp_path):
    calls = tmp_path / "calls"
    write_call(calls, "tx1", FORBIDDEN_CALL)
    clean = json.loads(json.dumps(FORBIDDEN_CALL))
    clean["call_id"] = "TX-2"
    clean["utterances"][4]["text"] = "是这样的，一直都是这个时间。"
    write_call(calls, "tx2", clean, meta={**META, "call_id": "TX-2"})
    (calls / "broken.json").write_text('{"utterances": 3}', encoding="utf-8")
    db = tmp_path / "r.sqlite"
    result = run_qa("batch", str(calls), "--db", str(db), "--workers", "1")
    assert result.returncode == 3, result.stderr
    assert f"failed: {calls / 'broken.json'}: 'utterances' must be a list, got a number" in result.stderr
    with sqlite3.connect(db) as con:
        rows = con.execute("SELECT call_id, model_id, status, score FROM calls ORDER BY call_id").fetchall()
        stored = con.execute("SELECT COUNT(*) FROM transcripts").fetchone()[0]
    assert rows == [(None, "transcript", "failed", None), ("TX-1", "transcript", "ok", 60.0),
                    ("TX-2", "transcript", "ok", rows[2][3])]
    assert rows[2][3] > 60.0
    assert stored == 2
    again = run_qa("batch", str(calls), "--db", str(db), "--workers", "1")
    assert "3 calls found, 2 already scored" in again.stderr


# -- with the real model: a transcript written by `qa transcribe` audits like its audio -------------


@pytest.mark.model
def test_transcribe_json_audits_like_the_audio_and_a_batch_mixes_both(tmp_path, samples_dir):
    audio = samples_dir / "dev_call_10.wav"
    transcribed = run_qa("transcribe", str(audio), "--format", "json", timeout=600)
    assert transcribed.returncode == 0, transcribed.stderr
    calls = tmp_path / "calls"
    calls.mkdir()
    (calls / "from_elsewhere.json").write_text(transcribed.stdout, encoding="utf-8")
    shutil.copy(samples_dir / "dev_call_10.meta.json", calls / "from_elsewhere.meta.json")
    from_audio = json.loads(run_qa("audit", str(audio), "--format", "json", timeout=600).stdout)
    from_text = json.loads(run_qa("audit", str(calls / "from_elsewhere.json"), "--format", "json").stdout)
    # The same checks and score: the signal analysis (tone, music) travels in the transcript JSON.
    assert from_text["checks"] == from_audio["checks"]
    assert from_text["score_explanation"] == from_audio["score_explanation"]
    assert from_text["utterances"] == from_audio["utterances"]

    shutil.copy(audio, calls / "dev_call_10.wav")
    shutil.copy(samples_dir / "dev_call_10.meta.json", calls / "dev_call_10.meta.json")
    db = tmp_path / "r.sqlite"
    batch = run_qa("batch", str(calls), "--db", str(db), "--workers", "1", timeout=900)
    assert batch.returncode == 0, batch.stderr
    with sqlite3.connect(db) as con:
        stored = con.execute("SELECT source, model_id, score FROM calls ORDER BY source").fetchall()
    assert [(Path(s).name, m == "transcript") for s, m, _ in stored] == [
        ("dev_call_10.wav", False), ("from_elsewhere.json", True)]
    assert stored[0][2] == stored[1][2] == from_audio["score"]


# -- the score card in real headless Chromium -------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.mark.browser
def test_the_score_card_shows_in_chromium(tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian chromium is required: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    path = write_call(tmp_path, "tx1", FORBIDDEN_CALL)
    page_path = tmp_path / "tx1.html"
    assert run_qa("audit", str(path), "--format", "html", "--out", str(page_path)).returncode == 0
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(page_path.as_uri())
            card = page.locator("section.score-explained")
            assert card.is_visible()
            assert card.locator("p.summary").inner_text() == "capped at 60: forbidden phrase 你错了 at 00:20"
            cap = card.locator("ul.caps li.binding")
            assert cap.inner_text() == "cap 60 applied: forbidden phrase 你错了 at 00:20"
            assert cap.evaluate("e => getComputedStyle(e).color") == "rgb(180, 35, 24)"
            cells = card.locator("tbody tr", has_text="服务禁语").locator("td").all_inner_texts()
            assert cells[:2] == ["服务禁语 forbidden phrases", "20"] and cells[3:] == ["0%", "0.0"]
            assert card.locator("tbody tr.na", has_text="complaint").count() == 1
        finally:
            browser.close()
