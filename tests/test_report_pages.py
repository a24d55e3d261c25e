"""What a reader meets on the report pages (issue 14): phrase marks, order, labels, worst calls, audio.

Hand-built report dicts in the ``qa audit`` JSON contract; the pages are parsed as HTML. The same
pages are checked by geometry in real Chromium in ``test_pages_browser.py``.
"""

from __future__ import annotations

import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from fakes import ScriptedRecognizer
from qa_pipeline.cli.common import count_progress
from qa_pipeline.config import PipelineOptions
from qa_pipeline.eval.run import run_eval
from qa_pipeline.live.events import Alert
from qa_pipeline.report.daily import daily_stats, write_daily_report
from qa_pipeline.report.highlight import locate_phrase
from qa_pipeline.report.html import render_html
from qa_pipeline.report.writers import check_label, finding_label
from qa_pipeline.rules.run import check_specs

# Every check's label and every finding label its spec declares (the registry is the one place).
CHECK_LABELS = {spec.name: spec.label for spec in check_specs()}
FINDING_LABELS = {f"{spec.name}.{kind}": label for spec in check_specs() for kind, label in spec.findings.items()}
from qa_pipeline.server.calls import event_message
from qa_pipeline.store.results import CallKey, ResultStore
from qa_pipeline.types import CallMeta, Evidence, Finding, Role, Severity

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def utterance(role: str, start_s: float, end_s: float, text: str) -> dict[str, Any]:
    return {"role": role, "channel": 0 if role == "agent" else 1, "start_s": start_s, "end_s": end_s,
            "text": text, "words": []}


def evidence(start_s: float, end_s: float, text: str, phrase: str | None, role: str = "agent") -> dict[str, Any]:
    return {"start_s": start_s, "end_s": end_s, "text": text, "role": role, "phrase": phrase, "similarity": 1.0}


def audit_report() -> dict[str, Any]:
    """An inbound call whose findings arrive out of time order, one phrase heard with an ASR error."""
    wrong = "我觉得你这样说事错的吧"  # ASR wrote 事 for 是: the policy phrase is not verbatim in the text
    refuse = "这个不行，规定就是这样"
    return {
        "call_id": "T-ORDER-1", "duration_s": 90.0, "direction": "inbound", "agent_id": "7001",
        "score": 55.0, "incomplete": False,
        "utterances": [
            utterance("agent", 0.5, 4.0, "您好，请讲"),
            utterance("customer", 5.0, 9.0, "你们乱收费太不合理了"),
            utterance("agent", 10.0, 14.0, wrong),
            utterance("agent", 30.0, 33.0, refuse),
            utterance("agent", 80.0, 82.0, "好的"),
        ],
        "checks": {
            "greeting": {"passed": False, "present": True, "compliant": False, "missing": ["bank", "agent_id"]},
            "forbidden_phrases": {"passed": False, "hits": [
                {"phrase": "你这样说是错的", "start_s": 10.9, "end_s": 12.6, "text": "你这样说事错的"},
                {"phrase": "不行", "start_s": 30.7, "end_s": 31.1, "text": "不行"}]},
            "complaint_handling": {"passed": False, "complaint": True, "comforted": False},
            "closing": {"passed": False, "present": False},
            "answer_speed": {"passed": None, "rings": None, "answer_delay_s": None, "max_rings": 3},
        },
        "findings": [
            {"rule_id": "closing.missing", "severity": "major", "message": "no closing phrase at the end of the call",
             "evidence": [evidence(80.0, 82.0, "好的", None)]},
            {"rule_id": "forbidden_phrases.hit", "severity": "critical",
             "message": "agent said a forbidden phrase: 不行", "evidence": [evidence(30.7, 31.1, refuse, "不行")]},
            {"rule_id": "complaint_handling.no_comfort", "severity": "major",
             "message": "customer complained and the agent did not comfort them",
             "evidence": [evidence(5.0, 9.0, "你们乱收费太不合理了", "乱收费", "customer")]},
            {"rule_id": "forbidden_phrases.hit", "severity": "critical",
             "message": "agent said a forbidden phrase: 你这样说是错的",
             "evidence": [evidence(10.9, 12.6, wrong, "你这样说是错的")]},
            {"rule_id": "greeting.missing", "severity": "major", "message": "greeting lacks: 银行名、工号",
             "evidence": [evidence(0.5, 4.0, "您好，请讲", None)]},
            {"rule_id": "overtalk.agent", "severity": "minor", "message": "agent talked over the customer for 1.2 s",
             "evidence": [evidence(5.0, 6.2, "overtalk", None)]},
            {"rule_id": "answer_speed.slow", "severity": "minor", "message": "answered after 5 rings (at most 3)",
             "evidence": []},
        ],
    }


class Page(HTMLParser):
    """Visible text (no script/style), finding rows in order, and the text inside each <mark>."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.text: list[str] = []
        self.rows: list[dict[str, str]] = []
        self.marks: list[str] = []
        self.row_texts: list[list[str]] = []
        self._skip = 0
        self._mark: list[str] | None = None
        self._in_row = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("script", "style"):
            self._skip += 1
        elif tag == "tr" and "finding" in (a.get("class") or "").split():
            self.rows.append(a)
            self.row_texts.append([])
            self._in_row = True
        elif tag == "mark":
            self._mark = []

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1
        elif tag == "tr":
            self._in_row = False
        elif tag == "mark" and self._mark is not None:
            self.marks.append("".join(self._mark))
            self._mark = None

    def handle_data(self, data):
        if self._skip:
            return
        self.text.append(data)
        if self._mark is not None:
            self._mark.append(data)
        if self._in_row:
            self.row_texts[-1].append(data)

    @property
    def visible(self) -> str:
        return " ".join(self.text)


SEVERITY_RANK = {"critical": 0, "major": 1, "minor": 2, "info": 3}


def test_findings_are_listed_by_time_then_severity():
    page = Page(render_html(audit_report()))
    order = [(float(r.get("data-start", -1)), re.search(r"sev-(\w+)", r["class"]).group(1)) for r in page.rows]
    assert len(order) == 7
    assert order[0] == (-1.0, "minor")  # the untimed call-level finding (answer speed) comes first
    assert order == sorted(order, key=lambda o: (o[0], SEVERITY_RANK[o[1]]))
    # Two findings at 5.0 s: the major complaint before the minor overtalk.
    assert [o for o in order if o[0] == 5.0] == [(5.0, "major"), (5.0, "minor")]
    assert [r["id"] for r in page.rows] == [f"f{i}" for i in range(7)]  # badges link to these ids


def test_the_page_shows_no_rule_ids_no_snake_case_and_no_none():
    page = Page(render_html(audit_report()))
    visible = page.visible
    for rule_id in FINDING_LABELS:
        assert rule_id not in visible
    for name in CHECK_LABELS:
        if "_" in name:
            assert not re.search(rf"(?<![\w-]){name}(?![\w-])", visible), name
    assert "None" not in visible
    assert "未提供振铃数据" in visible  # answer_speed without rings is described, not dumped
    assert "“overtalk”" not in visible  # a rule's note is not quoted as if someone said it
    assert "“好的”" in visible  # words that were said are


def test_each_finding_shows_its_chinese_label_and_the_english_message_beside_it():
    report = audit_report()
    page = Page(render_html(report))
    by_start = {float(r.get("data-start", -1)): " ".join(t) for r, t in zip(page.rows, page.row_texts)}
    row = by_start[30.7]
    assert "使用服务禁语" in row and "agent said a forbidden phrase: 不行" in row
    assert row.index("使用服务禁语") < row.index("agent said")
    html = render_html(report)
    # Every rule of the bundled checks has a label; an unknown suffix falls back to its check's label.
    assert finding_label("forbidden_phrases.hit") == "使用服务禁语"
    assert finding_label("hold.something_new") == "等待"
    assert check_label("brand_new_check") == "brand new check"
    assert 'class="msg-en" lang="en">agent said a forbidden phrase: 不行<' in html


def test_marks_cover_the_matched_words_never_the_whole_utterance():
    page = Page(render_html(audit_report()))
    # Each phrase is marked twice: in its finding's evidence and in the transcript.
    assert sorted(page.marks) == sorted(2 * ["不行", "你这样说事错的", "乱收费"])
    whole = {u["text"] for u in audit_report()["utterances"]}
    assert not whole & set(page.marks)


def test_locate_phrase_finds_words_heard_with_errors():
    text = "我觉得你这样说事错的吧"
    start, end = locate_phrase(text, "你这样说是错的")
    assert text[start:end] == "你这样说事错的"
    assert locate_phrase("今天天气很好", "你这样说是错的") is None
    assert locate_phrase("不行。", "") is None


# -- daily report ------------------------------------------------------------------------------


def stored_report(call_id: str, score: float, failed: bool) -> dict[str, Any]:
    return {
        "call_id": call_id, "duration_s": 10.0, "direction": "inbound", "agent_id": "7001", "score": score,
        "utterances": [utterance("agent", 0.5, 2.0, "您好")],
        "checks": {"closing": {"passed": not failed, "present": not failed},
                   "speaking_rate": {"passed": True, "agent_cpm": 250.0, "verdict": "ok"}},
        "findings": [], "policy_id": "p", "model_id": "m", "incomplete": False,
    }


def fill(store: ResultStore, calls, source_dir: Path) -> None:
    for i, (call_id, score, failed) in enumerate(calls):
        source = source_dir / f"{call_id}.wav"
        shutil.copyfile(SAMPLES / "dev_call_10.wav", source)
        meta = CallMeta(call_id=call_id, agent_id="7001", started_at=f"2026-11-30T10:0{i}:00+08:00")
        store.record_result(CallKey(f"{i:064d}", "p", "m"), stored_report(call_id, score, failed), str(source), meta)


def test_worst_calls_failed_a_check_or_scored_low_lowest_first(tmp_path):
    store = ResultStore(tmp_path / "r.sqlite")
    fill(store, [("PERFECT", 100.0, False), ("LOW", 62.0, False), ("FAILED", 91.0, True),
                 ("FINE", 93.0, False), ("LOWEST", 30.0, True)], tmp_path)
    stats = daily_stats(store.iter_calls())
    assert [c.call_id for c in stats.worst] == ["LOWEST", "LOW", "FAILED"]
    assert [c.call_id for c in daily_stats(store.iter_calls(), worst=2).worst] == ["LOWEST", "LOW"]
    store.close()


def test_a_day_of_perfect_calls_lists_no_worst_call(tmp_path):
    store = ResultStore(tmp_path / "r.sqlite")
    fill(store, [("A", 100.0, False), ("B", 100.0, False)], tmp_path)
    out = tmp_path / "daily.html"
    assert write_daily_report(store, out).worst == ()
    html = out.read_text(encoding="utf-8")
    assert 'id="worst-none"' in html and 'id="worst"' not in html
    assert not (tmp_path / "daily_calls").exists()
    store.close()


def test_per_call_pages_keep_their_audio_when_the_folder_moves(tmp_path):
    recordings = tmp_path / "recordings"
    recordings.mkdir()
    store = ResultStore(tmp_path / "r.sqlite")
    fill(store, [("CALL-1", 40.0, True)], recordings)
    site = tmp_path / "site"
    site.mkdir()
    write_daily_report(store, site / "daily.html")
    store.close()
    moved = tmp_path / "elsewhere" / "copy"
    shutil.move(str(site), moved)
    shutil.rmtree(recordings)  # the originals are gone too
    (page,) = (moved / "daily_calls").glob("*.html")
    src = re.search(r'<audio id="audio"[^>]* src="([^"]+)"', page.read_text(encoding="utf-8")).group(1)
    assert not src.startswith(("/", "file:", "data:")) and ".." not in src
    played = page.parent / src
    assert played.is_file() and played.read_bytes() == (SAMPLES / "dev_call_10.wav").read_bytes()


# -- qa eval progress --------------------------------------------------------------------------


def test_eval_reports_progress_from_the_first_call(tmp_path):
    for name in ("a", "b"):
        shutil.copyfile(SAMPLES / "dev_call_10.wav", tmp_path / f"{name}.wav")
        (tmp_path / f"{name}.truth.json").write_text('{"turns": [], "expected": {}}', encoding="utf-8")
    seen = []
    run_eval(tmp_path, None, PipelineOptions(), ScriptedRecognizer(["您好"]), lambda *a: seen.append(a))
    assert seen == [("eval", 0, 2), ("eval", 1, 2), ("eval", 2, 2)]


def test_count_progress_draws_on_stderr_only(capsys):
    with count_progress("auditing labelled calls", "calls") as hook:
        hook("eval", 0, 3)
        hook("eval", 3, 3)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "auditing labelled calls" in captured.err and "3/3" in captured.err


def test_every_check_and_rule_label_is_chinese_first_without_snake_case():
    for label in list(CHECK_LABELS.values()) + list(FINDING_LABELS.values()):
        assert "_" not in label and "\u4e00" <= label[0] <= "\u9fff", label


def test_console_alerts_carry_the_chinese_label_of_their_rule():
    finding = Finding("forbidden_phrases.hit", Severity.CRITICAL, "agent said a forbidden phrase: 不行",
                      (Evidence(3.0, 3.4, "这个不行", Role.AGENT, "不行"),))
    message = event_message("c1", Alert("forbidden_phrases", finding, 3.4))
    assert (message["label"], message["message"]) == ("使用服务禁语", "agent said a forbidden phrase: 不行")
