"""Report writers on a hand-built report dict (the JSON contract)."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from rich.console import Console

from qa_pipeline.report import (
    WRITERS,
    describe_check,
    format_time,
    format_transcript_text,
    render_audit_text,
    write_report,
)
from qa_pipeline.types import Role, Transcript, Utterance


def make_report() -> dict[str, Any]:
    """A small inbound call: agent greets, customer gives a phone number, agent says 不行."""
    return {
        "call_id": "XC-TEST-0001",
        "duration_s": 75.5,
        "direction": "inbound",
        "agent_id": "8123",
        "utterances": [
            {"role": "customer", "channel": 1, "start_s": 7.9, "end_s": 13.65,
             "text": "我的手机是13812345678，<b>卡</b>被冻结了", "words": []},
            {"role": "agent", "channel": 0, "start_s": 1.14, "end_s": 7.25,
             "text": "您好，星辰银行八一二三号，很高兴为您服务，请讲。", "words": []},
            {"role": "agent", "channel": 0, "start_s": 14.3, "end_s": 16.0, "text": "不行。", "words": []},
            {"role": "agent", "channel": 0, "start_s": 62.2, "end_s": 65.0, "text": "谢谢您的来电，再见。",
             "words": []},
        ],
        "checks": {
            "greeting": {"passed": True, "present": True, "compliant": True, "missing": []},
            "closing": {"passed": True, "present": True},
            "forbidden_phrases": {"passed": False, "hits": [
                {"phrase": "不行", "start_s": 14.3, "end_s": 14.8, "text": "不行。"}]},
            "complaint_handling": {"passed": None, "complaint": False, "comforted": None},
            "speaking_rate": {"passed": True, "agent_cpm": 262.44, "verdict": "ok"},
            "hangup": {"passed": None, "hangup_by": "customer", "method": "tone"},
            "hold": {"passed": True, "holds": [{"start_s": 20.0, "end_s": 50.0}]},
            "custom_check": {"passed": False, "count": 3},
        },
        "findings": [
            {"rule_id": "forbidden_phrases", "severity": "major", "message": "座席使用服务禁语“不行”",
             "evidence": [{"start_s": 14.3, "end_s": 14.8, "text": "不行。", "role": "agent",
                           "phrase": "不行", "similarity": 1.0}]},
        ],
        "score": 85.0,
        "policy_id": "default",
        "model_id": "whisper-base",
        "incomplete": False,
    }


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(0.0, "00:00.0"), (7.25, "00:07.3"), (7.24, "00:07.2"), (13.65, "00:13.7"), (59.96, "01:00.0"), (3725.4, "62:05.4")],
)
def test_format_time(seconds: float, expected: str) -> None:
    assert format_time(seconds) == expected


def test_transcript_text_is_interleaved_by_time_and_masked() -> None:
    assert format_transcript_text(make_report()) == (
        "[00:01.1–00:07.3] 座席: 您好，星辰银行八一二三号，很高兴为您服务，请讲。\n"
        "[00:07.9–00:13.7] 客户: 我的手机是*******5678，<b>卡</b>被冻结了\n"
        "[00:14.3–00:16.0] 座席: 不行。\n"
        "[01:02.2–01:05.0] 座席: 谢谢您的来电，再见。\n"
    )


def test_transcript_text_accepts_a_transcript_and_can_leave_numbers() -> None:
    transcript = Transcript("c", 10.0, 16000, 2, (
        Utterance(Role.AGENT, 0, 0.5, 2.0, "请讲"),
        Utterance(Role.CUSTOMER, 1, 2.5, 4.0, "13812345678"),
    ))
    assert format_transcript_text(transcript, mask_pii=False) == (
        "[00:00.5–00:02.0] 座席: 请讲\n[00:02.5–00:04.0] 客户: 13812345678\n"
    )
    assert format_transcript_text(Transcript("c", 1.0, 16000, 2, ())) == ""


def test_json_writer_writes_the_contract_masked() -> None:
    out = io.StringIO()
    write_report(make_report(), "json", out)
    parsed = json.loads(out.getvalue())
    expected = make_report()
    expected["utterances"][0]["text"] = "我的手机是*******5678，<b>卡</b>被冻结了"
    assert parsed == expected
    assert "星辰银行" in out.getvalue()  # ensure_ascii=False


def test_unknown_format_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown report format 'pdf'"):
        write_report(make_report(), "pdf", io.StringIO())
    assert set(WRITERS) == {"text", "json", "html"}


def test_audit_text_plain_when_piped() -> None:
    out = io.StringIO()
    write_report(make_report(), "text", out)
    text = out.getvalue()
    assert "\x1b[" not in text  # no colour codes into a pipe
    assert "[00:07.9–00:13.7] 客户: 我的手机是*******5678" in text
    assert "13812345678" not in text
    lines = text.splitlines()
    greeting = next(line for line in lines if "开场白" in line)
    forbidden = next(line for line in lines if "服务禁语" in line)
    complaint = next(line for line in lines if "投诉安抚" in line)
    assert "✔" in greeting and "✘" in forbidden and "–" in complaint
    assert "不行 @00:14.3" in forbidden
    assert "similarity 1.00" in text
    assert "Score 得分: 85.0" in text


def test_audit_text_coloured_on_a_terminal() -> None:
    console = Console(file=io.StringIO(), force_terminal=True, width=120)
    render_audit_text(make_report(), console)
    assert "\x1b[" in console.file.getvalue()


@pytest.mark.parametrize(
    ("name", "check", "expected"),
    [
        ("greeting", {"passed": False, "present": True, "compliant": False, "missing": ["agent_id"]},
         "present 是, compliant 否; missing: agent_id"),
        ("speaking_rate", {"passed": False, "agent_cpm": 360.06, "verdict": "too_fast"},
         "360.1 chars/min (too_fast)"),
        ("call_duration", {"passed": False, "duration_s": 206.5, "limit_s": 180},
         "206.5 s of 180 s allowed"),
        ("hold", {"passed": False, "holds": [{"start_s": 38.6, "end_s": 110.6}]}, "00:38.6–01:50.6 (72 s)"),
        ("hangup", {"passed": None, "hangup_by": "unknown", "method": "none"}, "by unknown (from none)"),
        ("custom_check", {"passed": True, "count": 3, "items": [1, 2]}, "count=3, items: 2"),
        ("speaking_rate", {"passed": None, "agent_cpm": None}, "agent_cpm=None"),
    ],
)
def test_describe_check(name: str, check: dict[str, Any], expected: str) -> None:
    assert describe_check(name, check) == expected
