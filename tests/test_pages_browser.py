"""The report pages and the live console laid out by real headless Chromium, checked by geometry.

- Audit page: each <mark> holds exactly the matched phrase, is narrower than its bubble, and the
  findings run down the page in time order.
- Console at 1400, 1280 and 1024 px: the Lag column and every header are wholly visible, and
  neither table overlaps the transcript. The console's own files are served to the page (no model,
  no login): events are fed to its message handler as the server would send them.
- Daily report: chart labels do not overlap each other or their bars.

With QA_REQUIRE_BROWSER=1 (CI) a missing Chromium fails these tests instead of skipping them.
Screenshots are kept in test-artifacts/.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from test_report_pages import audit_report, fill
from qa_pipeline.report.daily import write_daily_report
from qa_pipeline.report.html import render_html
from qa_pipeline.store.results import ResultStore

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
CONSOLE = REPO / "qa_pipeline" / "server" / "console"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
CONTENT_TYPES = {".html": "text/html", ".css": "text/css", ".js": "application/javascript"}


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        message = "Debian chromium is required for browser tests: apt-get install -y chromium"
        if os.environ.get("QA_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


def box(locator) -> dict[str, float]:
    found = locator.bounding_box()
    assert found is not None, f"{locator} is not rendered"
    return found


def overlaps(a: dict[str, float], b: dict[str, float]) -> bool:
    return (a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"]
            and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"])


def inside(inner: dict[str, float], outer: dict[str, float], slack_px: float = 0.5) -> bool:
    return (inner["x"] >= outer["x"] - slack_px and inner["y"] >= outer["y"] - slack_px
            and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + slack_px
            and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + slack_px)


def test_audit_page_marks_the_phrase_and_lists_findings_in_time_order(browser, tmp_path):
    path = tmp_path / "audit.html"
    path.write_text(render_html(audit_report()), encoding="utf-8")
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(path.as_uri())
    marks = page.locator("#u2 .bubble mark, #u3 .bubble mark, #u1 .bubble mark")
    assert sorted(marks.all_inner_texts()) == ["不行", "乱收费", "你这样说事错的"]
    for index in (1, 2, 3):
        bubble = page.locator(f"#u{index} .bubble")
        mark = bubble.locator("mark")
        assert box(mark)["width"] < 0.8 * box(bubble)["width"]  # the phrase, not the sentence
    tops = [box(row)["y"] for row in page.locator("tr.finding").all()]
    starts = [float(row.get_attribute("data-start") or -1) for row in page.locator("tr.finding").all()]
    assert tops == sorted(tops) and starts == sorted(starts)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "audit_1400.png"), full_page=True)
    page.close()


CONSOLE_EVENTS = [
    {"type": "started", "call_id": "2026-11-30-inbound-000123456-long-id", "agent_id": "A80213",
     "audio_s": 75.4, "lag_s": 12.8, "alerts": 3},
    {"type": "started", "call_id": "call-7", "agent_id": "5307", "audio_s": 12.0, "lag_s": 0.4},
    {"type": "utterance", "call_id": "2026-11-30-inbound-000123456-long-id", "role": "agent",
     "start_s": 0.5, "end_s": 3.0, "text": "您好，很高兴为您服务，请讲。"},
    {"type": "alert", "call_id": "2026-11-30-inbound-000123456-long-id", "severity": "critical",
     "check": "forbidden_phrases", "start_s": 9.0, "label": "使用服务禁语",
     "message": "agent said a forbidden phrase: 不行", "text": "不行"},
    {"type": "finished", "call_id": "old-1", "agent_id": "8123", "score": 72.5, "alerts": 2,
     "report_url": "/v1/reports/1"},
    {"type": "finished", "call_id": "2026-11-30-outbound-000999888777-also-long", "agent_id": "A80213",
     "score": 45, "alerts": 5, "incomplete": True, "report_url": "/v1/reports/2"},
]


def serve_console(route) -> None:
    path = route.request.url.split("console.test", 1)[1].split("?", 1)[0]
    name = "index.html" if path in ("", "/") else path.rsplit("/", 1)[1]
    file = CONSOLE / name
    if not file.is_file():
        route.fulfill(status=404, body="")
        return
    route.fulfill(status=200, body=file.read_bytes(),
                  content_type=CONTENT_TYPES.get(file.suffix, "application/octet-stream") + "; charset=utf-8")


@pytest.mark.parametrize("width_px", [1400, 1280, 1024])
def test_console_lag_column_is_visible_and_tables_stay_off_the_transcript(browser, width_px):
    page = browser.new_page(viewport={"width": width_px, "height": 900})
    page.route("http://console.test/**", serve_console)
    page.goto("http://console.test/")
    page.evaluate("events => events.forEach(onMessage)", CONSOLE_EVENTS)
    page.locator("#recent tbody tr").first.wait_for()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"console_layout_{width_px}.png"), full_page=True)

    live, detail, finished = (box(page.locator(s)) for s in ("#live", "#detail", "#finished"))
    for table in ("#calls", "#recent"):
        assert not overlaps(box(page.locator(table)), detail), f"{table} overlaps the transcript at {width_px}px"
        assert not overlaps(box(page.locator(table)), box(page.locator("#transcript")))
    assert not overlaps(live, detail) and not overlaps(finished, detail)
    lag_cells = [page.locator("#calls th.lag"), *page.locator("#calls td.lag").all()]
    assert len(lag_cells) == 3
    for cell in lag_cells:
        assert inside(box(cell), live), f"the Lag column is cut at {width_px}px"
    # No header or number is cut short (call ids may be, with an ellipsis and a tooltip).
    cut = page.evaluate("""() => [...document.querySelectorAll('th, td:not(.id):not(.agent)')]
        .filter(c => c.scrollWidth > c.clientWidth + 1).map(c => c.textContent)""")
    assert cut == [], f"cut cells at {width_px}px: {cut}"
    assert page.evaluate("[...document.querySelectorAll('section')].every(s => s.scrollWidth <= s.clientWidth + 1)")
    alert = page.locator("#alerts .alert").first
    assert alert.locator("strong.check").inner_text() == "使用服务禁语"  # Chinese label first
    assert alert.locator(".message").inner_text() == "agent said a forbidden phrase: 不行"
    page.close()


def test_daily_chart_labels_do_not_overlap(browser, tmp_path):
    store = ResultStore(tmp_path / "r.sqlite")
    fill(store, [("A", 100.0, False), ("B", 40.0, True), ("C", 75.0, False)], tmp_path)
    out = tmp_path / "site" / "daily.html"
    out.parent.mkdir()
    write_daily_report(store, out)
    store.close()
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(out.as_uri())
    charts = page.locator("svg.chart").all()
    assert len(charts) == 4
    for chart in charts:
        labels = [box(t) for t in chart.locator("text.axis").all()]
        bars = [box(b) for b in chart.locator("rect.bar").all() if b.bounding_box()["width"] > 0]
        assert labels
        for i, a in enumerate(labels):
            assert inside(a, box(chart)), "a label runs out of its chart"
            assert all(not overlaps(a, b) for b in labels[i + 1:]), "two labels overlap"
            assert all(not overlaps(a, b) for b in bars), "a label overlaps a bar"
            assert a["height"] >= 10  # readable: not scaled down to a few pixels
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "daily_1400.png"), full_page=True)
    page.close()
