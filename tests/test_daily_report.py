"""The daily report and the export, from a real store filled with hand-built reports."""

from __future__ import annotations

import csv
import io
import json
from html.parser import HTMLParser
from pathlib import Path

import pytest

from qa_pipeline.report.daily import daily_stats, rate_histogram, score_histogram, write_daily_report
from qa_pipeline.report.export import export_calls
from qa_pipeline.store.results import CallKey, ResultStore
from qa_pipeline.types import CallMeta

DAY = "2024-11-04"


def report(call_id: str, agent_id: str, score: float, cpm: float, hangup_by: str, *,
           greeting: bool = True, forbidden: bool = True, text: str = "您好") -> dict:
    return {
        "call_id": call_id, "duration_s": 80.0, "direction": "inbound", "agent_id": agent_id,
        "utterances": [{"role": "agent", "channel": 0, "start_s": 0.0, "end_s": 2.0, "text": text, "words": []}],
        "checks": {
            "greeting": {"passed": greeting, "present": greeting, "compliant": greeting, "missing": []},
            "forbidden_phrases": {"passed": forbidden, "hits": []},
            "speaking_rate": {"passed": 200 <= cpm <= 300, "agent_cpm": cpm, "verdict": "ok"},
            "hangup": {"passed": None if hangup_by == "unknown" else True, "hangup_by": hangup_by,
                       "method": "tone"},
        },
        "findings": [], "score": score, "policy_id": "p", "model_id": "m", "incomplete": False,
    }


# call id, agent, score, cpm, hung up by, greeting ok, no forbidden phrase
CALLS = [
    ("A1", "8123", 95.0, 260.0, "customer", True, True),
    ("A2", "8123", 72.5, 310.0, "customer", True, True),   # too fast
    ("B1", "5307", 40.0, 180.0, "agent", False, False),    # worst: two violations
    ("B2", "5307", 55.0, 240.0, "unknown", False, True),
    ("C1", "<b>9", 100.0, 250.0, "customer", True, True),  # an id that must be escaped
]


@pytest.fixture
def filled_store(tmp_path):
    store = ResultStore(tmp_path / "r.sqlite")
    for i, (cid, agent, score, cpm, hangup, greeting, forbidden) in enumerate(CALLS):
        meta = CallMeta(call_id=cid, agent_id=agent, started_at=f"{DAY}T10:0{i}:00+08:00")
        store.record_result(CallKey(f"{i:064d}", "p", "m"),
                            report(cid, agent, score, cpm, hangup, greeting=greeting, forbidden=forbidden),
                            str(tmp_path / f"{cid}.wav"), meta)
    other_day = CallMeta(call_id="Z9", agent_id="8123", started_at="2024-11-05T09:00:00+08:00")
    store.record_result(CallKey("z" * 64, "p", "m"), report("Z9", "8123", 10.0, 260.0, "agent"),
                        str(tmp_path / "Z9.wav"), other_day)
    store.record_failure(CallKey("f" * 64, "p", "m"), str(tmp_path / "bad.wav"),
                         f"{tmp_path / 'bad.wav'}: not an audio file", CallMeta(started_at=f"{DAY}T11:00:00+08:00"))
    yield store
    store.close()


class PageParser(HTMLParser):
    """Collects chart bars, table cells and links of the daily page."""

    def __init__(self) -> None:
        super().__init__()
        self.bars: dict[str, dict[str, float]] = {}
        self.tables: dict[str, list[list[str]]] = {}
        self.links: list[str] = []
        self.external: list[str] = []
        self.ids: dict[str, str] = {}
        self._svg = self._table = self._id = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for name in ("src", "href"):
            if a.get(name, "").startswith(("http:", "https:", "//")):
                self.external.append(a[name])
        if tag == "svg":
            self._svg = a.get("id")
            self.bars[self._svg] = {}
        elif tag == "rect" and self._svg and "data-value" in a:
            self.bars[self._svg][a["data-label"]] = float(a["data-value"])
        elif tag == "table":
            self._table = a["id"]
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table:
            self._cell = []
        elif tag == "a":
            self.links.append(a["href"])
        if "id" in a and tag == "b":
            self._id = a["id"]

    def handle_endtag(self, tag):
        if tag == "svg":
            self._svg = None
        elif tag == "table":
            self._table = None
        elif tag in ("td", "th") and self._cell is not None:
            self.tables[self._table][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "b":
            self._id = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._id:
            self.ids[self._id] = data


def parse(path: Path) -> PageParser:
    parser = PageParser()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def test_the_daily_page_holds_the_right_numbers(filled_store, tmp_path):
    out = tmp_path / "daily.html"
    write_daily_report(filled_store, out, date=DAY)
    page = parse(out)
    assert page.ids == {"total-calls": "6", "scored-calls": "5", "failed-calls": "1", "mean-score": "72.5"}
    scores = page.bars["score-chart"]
    assert (scores["40–49"], scores["50–59"], scores["70–79"], scores["90–100"]) == (1, 1, 1, 2)
    assert sum(scores.values()) == 5
    # Charts and tables name checks as people read them, never in snake_case (issue 14).
    assert page.bars["violations-chart"] == {"开场白 greeting": 2, "语速 speaking rate": 2,
                                             "服务禁语 forbidden phrases": 1, "挂机 hang-up": 0}
    rates = page.bars["rate-chart"]
    assert (rates["175–200"], rates["225–250"], rates["250–275"], rates["300–325"]) == (1, 1, 2, 1)
    assert page.bars["hangup-chart"] == {"座席 agent": 1, "客户 customer": 3, "未知 unknown": 1}
    agents = page.tables["agents"][1:]
    assert [row[:5] for row in agents] == [
        ["5307", "2", "47.5", "4", "2.00"], ["8123", "2", "83.8", "1", "0.50"], ["<b>9", "1", "100.0", "0", "0.00"]]
    # Worst calls failed a check or scored below 80, lowest first: A1 (95, all passed) and C1 (100) are not.
    assert [row[0] for row in page.tables["worst"][1:]] == ["B1", "B2", "A2"]
    assert page.tables["failed"][1:] == [[str(tmp_path / "bad.wav"), f"{tmp_path / 'bad.wav'}: not an audio file"]]
    assert page.external == []
    assert "<td data-sort=\"&lt;b&gt;9\">&lt;b&gt;9</td>" in out.read_text(encoding="utf-8")


def test_worst_calls_link_to_their_own_per_call_pages(filled_store, tmp_path):
    out = tmp_path / "daily.html"
    write_daily_report(filled_store, out, date=DAY, worst=2)
    page = parse(out)
    assert len(page.links) == 2
    first = out.parent / page.links[0]
    assert first.parent.name == "daily_calls" and first.is_file()
    assert "B1" in first.read_text(encoding="utf-8")
    assert "B2" in (out.parent / page.links[1]).read_text(encoding="utf-8")


def test_without_a_date_every_day_counts(filled_store, tmp_path):
    stats = daily_stats(filled_store.iter_calls())
    assert (stats.calls, stats.scored, stats.worst[0].call_id) == (7, 6, "Z9")


def test_histogram_bins():
    bins = score_histogram([0.0, 9.9, 10.0, 99.0, 100.0])
    assert [b.value for b in bins] == [2, 1, 0, 0, 0, 0, 0, 0, 0, 2]
    rates = rate_histogram([149.0, 150.0, 200.0, 299.0, 350.0, 900.0])
    assert [(b.label, b.value) for b in rates if b.value] == [("<150", 1), ("150–175", 1), ("200–225", 1),
                                                              ("275–300", 1), ("≥350", 2)]
    assert [b.highlight for b in rates] == [True, True, True, False, False, False, False, True, True, True]


def test_export_csv_has_one_row_per_call_with_check_columns(filled_store):
    buffer = io.StringIO()
    count = export_calls(filled_store, "csv", buffer, date=DAY)
    rows = list(csv.DictReader(io.StringIO(buffer.getvalue())))
    assert count == len(rows) == 6
    b1 = next(r for r in rows if r["call_id"] == "B1")
    assert (b1["agent_id"], b1["score"], b1["status"], b1["check_greeting"], b1["check_forbidden_phrases"],
            b1["check_hangup"], b1["agent_cpm"], b1["hangup_by"]) == ("5307", "40.0", "ok", "0", "0", "1",
                                                                       "180.0", "agent")
    b2 = next(r for r in rows if r["call_id"] == "B2")
    assert b2["check_hangup"] == ""
    failed = next(r for r in rows if r["status"] == "failed")
    assert failed["error"].endswith("bad.wav: not an audio file") and failed["score"] == ""


def test_export_jsonl_carries_the_masked_report(tmp_path):
    with ResultStore(tmp_path / "r.sqlite") as store:
        store.record_result(CallKey("1" * 64, "p", "m"),
                            report("M1", "8123", 90.0, 250.0, "agent", text="卡号6222021234567890123"),
                            "m1.wav", CallMeta(started_at=f"{DAY}T10:00:00+08:00"))
        buffer = io.StringIO()
        assert export_calls(store, "jsonl", buffer) == 1
    [line] = buffer.getvalue().splitlines()
    record = json.loads(line)
    assert record["call_id"] == "M1" and record["call_date"] == DAY
    text = record["report"]["utterances"][0]["text"]
    assert "6222021234567890123" not in text and text.endswith("0123")


def test_export_rejects_an_unknown_format(filled_store):
    with pytest.raises(ValueError, match="csv or jsonl"):
        export_calls(filled_store, "xlsx", io.StringIO())
