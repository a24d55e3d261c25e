"""A small results store for workbench tests, filled by the real checks and scoring.

Each call is a transcript written here (our own wording, no dev-call text) scored by
``score_transcript`` with the bundled policy, stored through ``ResultStore.record_result`` with a
copy of a sample recording as its source (so the page has real audio to play). The customer of
call A reads out a phone number: the store, pages and search must show it masked.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from qa_pipeline.pipeline import score_transcript
from qa_pipeline.store.results import CallKey, ResultStore
from qa_pipeline.types import CallMeta, Direction, Party, Role, Transcript, Utterance, Word

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
PHONE = "13912345678"


@dataclass(frozen=True)
class FakeCall:
    name: str
    sample: str
    call_id: str
    agent_id: str
    queue: str
    lines: tuple[tuple[str, float, float, str], ...]  # role, start_s, end_s, text


def _utterance(role: str, start_s: float, end_s: float, text: str) -> Utterance:
    step = (end_s - start_s) / max(len(text), 1)
    words = tuple(Word(ch, start_s + i * step, start_s + (i + 1) * step) for i, ch in enumerate(text))
    r = Role(role)
    return Utterance(r, 0 if r is Role.AGENT else 1, start_s, end_s, text, words)


CALLS = (
    FakeCall("call_a", "dev_call_04", "WB-A-0001", "1001", "cards", (
        ("agent", 1.0, 5.0, "您好，青松银行一零零一号，很高兴为您服务，请讲。"),
        ("customer", 6.0, 10.0, f"我的手机号是{PHONE}，帮我查下积分。"),
        ("agent", 20.0, 23.0, "这个不行。积分已经过期了，你错了。"),
        ("customer", 30.0, 33.0, "那好吧。"),
    )),
    FakeCall("call_b", "dev_call_01", "WB-B-0002", "1001", "loans", (
        ("agent", 1.0, 6.5, "您好，青松银行一零零一号，很高兴为您服务，请讲。"),
        ("customer", 7.0, 10.0, "我想问一下贷款的还款日。"),
        ("agent", 11.0, 14.0, "您的还款日是每月十五号。"),
        ("agent", 15.0, 17.5, "感谢您的来电，再见。"),
    )),
    FakeCall("call_c", "dev_call_10", "WB-C-0003", "2002", "cards", (
        ("agent", 1.0, 5.0, "您好，青松银行二零零二号，很高兴为您服务，请讲。"),
        ("customer", 6.0, 9.0, "年费能不能免掉？"),
        ("agent", 12.0, 15.0, "不知道，你自己去网点问。"),
    )),
)


def fill_store(db: Path, recordings: Path, policy) -> dict[str, int]:
    """Score and store ``CALLS``; returns call name -> store row id."""
    recordings.mkdir(parents=True, exist_ok=True)
    rows = {}
    with ResultStore(db) as store:
        for index, call in enumerate(CALLS):
            audio = recordings / f"{call.name}.wav"
            shutil.copyfile(SAMPLES / f"{call.sample}.wav", audio)
            meta = CallMeta(call.call_id, call.agent_id, Direction.INBOUND, call.queue,
                            f"2026-11-2{index}T10:00:00+08:00", Party.CUSTOMER)
            (recordings / f"{call.name}.meta.json").write_text(json.dumps(meta.to_dict()), encoding="utf-8")
            utterances = tuple(_utterance(*line) for line in call.lines)
            transcript = Transcript(call.call_id, max(u.end_s for u in utterances) + 5.0, 8000, 2, utterances)
            report = score_transcript(transcript, meta, policy, "scripted-test-recognizer")
            key = CallKey(hashlib.sha256(audio.read_bytes()).hexdigest(), policy.policy_id, "scripted-test-recognizer")
            store.record_result(key, report.to_dict(), str(audio), meta)
        for call in store.iter_calls():
            rows[next(c.name for c in CALLS if c.call_id == call.call_id)] = call.row_id
    return rows
