"""Report writers on a hand-built report dict (the JSON contract)."""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from rich.console import Console

from qa_pipeline.text.clock import format_time
from qa_pipeline.report.output import WRITERS, write_report
from qa_pipeline.report.writers import (
    describe_check,
    format_transcript_text,
    render_audit_text,
)
from qa_pipeline.report.html import Marked, highlight, render_html
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
        ("speaking_rate", {"passed": None, "agent_cpm": None}, "no agent speech"),  # never a raw None
        ("answer_speed", {"passed": None, "rings": None, "answer_delay_s": None, "max_rings": 3},
         "未提供振铃数据 (no ring count in the metadata)"),
        ("answer_speed", {"passed": False, "rings": 5, "answer_delay_s": None, "max_rings": 3},
         "5 rings (at most 3)"),
    ],
)
def test_describe_check(name: str, check: dict[str, Any], expected: str) -> None:
    assert describe_check(name, check) == expected


# ---------------------------------------------------------------- HTML page


class PageParser(HTMLParser):
    """Collects start tags with their attributes, and all text data."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def with_class(self, tag: str, cls: str) -> list[dict[str, str]]:
        return [a for t, a in self.tags if t == tag and cls in a.get("class", "").split()]


def parse(page: str) -> PageParser:
    parser = PageParser()
    parser.feed(page)
    return parser


def html_of(report: dict[str, Any], **kwargs: Any) -> str:
    out = io.StringIO()
    write_report(report, "html", out, **kwargs)
    return out.getvalue()


def test_html_timeline_has_one_bar_per_utterance_linked_to_the_transcript() -> None:
    page = parse(html_of(make_report()))
    bars = page.with_class("rect", "utt-bar")
    items = page.with_class("li", "utt")
    assert len(bars) == len(items) == 4
    assert [b["data-utterance"] for b in bars] == [i["id"] for i in items] == ["u0", "u1", "u2", "u3"]
    assert [float(b["data-start"]) for b in bars] == [1.14, 7.9, 14.3, 62.2]
    assert ["agent" in b["class"] for b in bars] == [True, False, True, True]


def test_html_findings_link_to_their_time_and_utterance() -> None:
    page = parse(html_of(make_report()))
    (row,) = page.with_class("tr", "finding")
    assert row["data-start"] == "14.300" and row["data-utterance"] == "u2"
    (mark,) = page.with_class("g", "finding-mark")
    assert mark["data-start"] == "14.300"
    (violation,) = page.with_class("li", "violation")
    assert violation["id"] == "u2"
    assert [a["href"] for t, a in page.tags if t == "a" and "badge" in a.get("class", "")] == ["#f0"]
    (hold,) = page.with_class("g", "hold")
    assert hold["data-start"] == "20.000"


def test_html_escapes_text_and_masks_numbers() -> None:
    page_text = html_of(make_report())
    page = parse(page_text)
    assert not [t for t, _ in page.tags if t == "b"]  # the customer's "<b>" stays text
    assert "我的手机是*******5678，<b>卡</b>被冻结了" in "".join(page.text)
    assert "13812345678" not in page_text


def test_html_highlights_the_evidence_inside_the_utterance() -> None:
    page_text = html_of(make_report())
    assert '<mark class="sev-major">不行</mark>。' in page_text


def test_html_has_no_external_resources() -> None:
    page = parse(html_of(make_report(), audio_path=None))
    for tag, attrs in page.tags:
        assert tag not in ("link", "iframe", "img")
        for name in ("src", "href", "xlink:href", "action"):
            value = attrs.get(name, "")
            assert not value.startswith(("http:", "https:", "//")), (tag, attrs)
    assert [a for t, a in page.tags if t == "script" and "src" in a] == []
    assert "http:" not in html_of(make_report()) and "https:" not in html_of(make_report())


def test_html_embeds_small_audio_and_links_big_audio(tmp_path: Path) -> None:
    audio = tmp_path / "calls" / "call 1.wav"
    audio.parent.mkdir()
    audio.write_bytes(b"RIFF0000WAVEdata")
    page = parse(render_html(make_report(), audio_path=audio))
    (player,) = [a for t, a in page.tags if t == "audio"]
    assert player["src"] == "data:audio/wav;base64," + base64.b64encode(b"RIFF0000WAVEdata").decode()
    linked = parse(render_html(make_report(), audio_path=audio, html_dir=tmp_path / "out", max_embed_bytes=4))
    (player,) = [a for t, a in linked.tags if t == "audio"]
    assert player["src"] == "../calls/call%201.wav"


def test_html_writer_embeds_original_audio_when_nothing_is_masked(tmp_path: Path) -> None:
    audio = tmp_path / "call.wav"
    audio.write_bytes(b"RIFF")
    (tmp_path / "reports").mkdir()
    with open(tmp_path / "reports" / "r.html", "w", encoding="utf-8") as out:
        write_report(make_report(), "html", out, audio, mask_pii=False)
    assert 'src="data:audio/wav;base64,UklGRg=="' in (tmp_path / "reports" / "r.html").read_text()


def test_html_writer_never_embeds_audio_it_cannot_redact(tmp_path: Path) -> None:
    # make_report() masks a spoken number: the original would say it (issue 14).
    audio = tmp_path / "call.wav"
    audio.write_bytes(b"RIFF")
    out = io.StringIO()
    write_report(make_report(), "html", out, audio)
    assert "UklGRg" not in out.getvalue() and "could not be redacted" in out.getvalue()


def test_html_without_audio_says_so_and_keeps_checks() -> None:
    page = parse(html_of(make_report()))
    assert not [t for t, _ in page.tags if t == "audio"]
    assert "未附音频 (no audio given)" in page.text
    assert len(page.with_class("li", "check")) == 8
    assert len(page.with_class("li", "fail")) == 2


def test_highlight_escapes_and_marks_the_phrase_only() -> None:
    # Issue 14: the mark covers the matched phrase, not the evidence text (the whole utterance).
    evidence = ({"start_s": 0, "end_s": 1, "text": "说<不行>吧", "phrase": "不行"},)
    finding = Marked(0, "forbidden_phrases.hit", "major", "m", 0.0, 1.0, 0, evidence, ("不行",))
    assert highlight("说<不行>吧", [finding]) == '说&lt;<mark class="sev-major">不行</mark>&gt;吧'
    twice = Marked(1, "forbidden_phrases.hit", "minor", "m", 0.0, 1.0, 0, evidence, ("说<不",))
    assert highlight("说<不行>吧", [twice, finding]) == '<mark class="sev-minor">说&lt;不</mark>行&gt;吧'  # overlap: first kept
    no_phrase = Marked(2, "greeting.missing", "major", "m", 0.0, 1.0, 0, evidence, ("",))
    assert highlight("说<不行>吧", [no_phrase]) == "说&lt;不行&gt;吧"  # the bubble border shows it


@pytest.mark.browser
def test_html_click_seeks_audio_in_real_chromium(tmp_path: Path) -> None:
    """In headless Chromium: clicking a finding or a timeline bar seeks the embedded audio there."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        if os.environ.get("QA_REQUIRE_BROWSER"):
            pytest.fail("chromium is required (QA_REQUIRE_BROWSER is set) but not installed")
        pytest.skip("chromium not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    audio = tmp_path / "call.wav"
    sample_rate_hz = 8000
    tone = 0.1 * np.sin(2 * np.pi * 440 * np.arange(20 * sample_rate_hz) / sample_rate_hz)
    sf.write(audio, tone.astype(np.float32), sample_rate_hz, subtype="PCM_16")
    page_path = tmp_path / "report.html"
    with open(page_path, "w", encoding="utf-8") as out:
        write_report(make_report(), "html", out, audio)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            requests: list[str] = []
            page.on("request", lambda request: requests.append(request.url))
            page.goto(page_path.as_uri())
            page.wait_for_function("document.getElementById('audio').readyState >= 1")
            assert page.evaluate("document.getElementById('audio').duration") == pytest.approx(20.0, abs=0.01)
            page.click("tr.finding")
            page.wait_for_function("Math.abs(document.getElementById('audio').currentTime - 14.1) < 0.05")
            assert "flash" in page.get_attribute("#u2", "class")
            page.click("rect.utt-bar[data-utterance='u1']")
            page.wait_for_function("Math.abs(document.getElementById('audio').currentTime - 7.7) < 0.3")
            page.wait_for_function("parseFloat(document.getElementById('playhead').getAttribute('x1')) > 64")
            page.check("#only-violations")
            assert page.is_hidden("#u0") and page.is_visible("#u2")
            assert [url for url in requests if not url.startswith(("file:", "data:"))] == []
        finally:
            browser.close()
