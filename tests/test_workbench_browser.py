"""The review workbench end to end in real headless Chromium against a real server on loopback.

An admin creates a reviewer and an agent in the browser; the reviewer filters to failed calls,
opens one, plays the evidence (the audio jumps to the finding) and overturns a finding; the agent
sees only their own calls and appeals; a supervisor rejects the appeal; the call page's audit trail
lists all of it and the calibration page shows the overturn rate. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from qa_pipeline.store.users import Role
from workbench_fakes import PHONE, fill_store
from workbench_server import PASSWORDS, WorkbenchServer, add_people

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--autoplay-policy=no-user-gesture-required", "--mute-audio",
]


def _chromium_or_fail() -> None:
    if Path(CHROMIUM).exists():
        return
    if os.environ.get("QA_REQUIRE_BROWSER") == "1":
        pytest.fail(f"QA_REQUIRE_BROWSER=1 but {CHROMIUM} is missing: apt-get install -y chromium")
    pytest.skip(f"{CHROMIUM} is missing (set QA_REQUIRE_BROWSER=1 to make this a failure)")


@pytest.fixture()
def server(tmp_path, default_policy):
    db = tmp_path / "results.sqlite"
    rows = fill_store(db, tmp_path / "recordings", default_policy)
    add_people(db, {"admin": (Role.ADMIN, None), "sam": (Role.SUPERVISOR, None)})
    srv = WorkbenchServer(db, tmp_path / "server.log")
    yield srv, rows
    srv.stop()


def _login(page, url: str, name: str) -> None:
    page.goto(url + "/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORDS[name])
    page.click("#login button[type=submit]")
    page.wait_for_url(url + "/calls")


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def test_review_appeal_and_calibration_in_chromium(server):
    _chromium_or_fail()
    from playwright.sync_api import expect, sync_playwright

    srv, rows = server
    url = srv.url
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            _admin_creates_people(browser, url, expect)
            _reviewer_overturns(browser, url, rows, expect)
            _agent_appeals(browser, url, rows, expect)
            _supervisor_rejects_and_audit_shows_all(browser, url, rows, expect)
        finally:
            browser.close()


def _admin_creates_people(browser, url, expect) -> None:
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    _login(page, url, "admin")
    page.goto(url + "/admin/users")
    for name, role, agent_id in (("rita", "reviewer", ""), ("ann", "agent", "1001")):
        page.fill("#add-user input[name=username]", name)
        page.select_option("#add-user select[name=role]", role)
        page.fill("#add-user input[name=agent_id]", agent_id)
        page.fill("#add-user input[name=password]", PASSWORDS[name])
        page.click("#add-user button[type=submit]")
        expect(page.locator(f"#users tr[data-user={name}]")).to_contain_text(role)
    entries = page.locator("#audit tr[data-action=add_user]")
    expect(entries).to_have_count(2)
    expect(entries.first).to_contain_text("ann")  # newest first, by admin
    expect(entries.first).to_contain_text("admin")
    page.context.close()


def _reviewer_overturns(browser, url, rows, expect) -> None:
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    _login(page, url, "rita")
    expect(page.locator("#calls tbody tr")).to_have_count(3)
    page.select_option("#failed", "any")
    page.click("#apply")
    expect(page.locator("#calls tbody tr")).to_have_count(2)  # call B passed every check
    expect(page.locator("#calls tbody")).not_to_contain_text("WB-B-0002")
    _shot(page, "workbench_calls_failed.png")
    page.click("#calls tbody tr[data-call=WB-A-0001] a")
    expect(page.locator("#call-id")).to_have_text("WB-A-0001")
    expect(page.locator("#transcript")).to_contain_text("*******5678")
    assert PHONE not in page.content()
    findings = page.locator("article.finding[data-finding]", has_text="forbidden_phrases")
    expect(findings).to_have_count(2)  # 不行 and 你错了 in one agent utterance
    finding = findings.first
    index = finding.get_attribute("data-finding")
    start_s = float(finding.locator("button.play").get_attribute("data-seek"))
    assert 19.5 <= start_s <= 23.0  # the agent says it 20-23 s into the call
    expect(page.locator(f"mark.evidence[data-finding='{index}']")).to_have_count(1)
    near = "(t) => Math.abs(document.getElementById('audio').currentTime - t) < 1.5"
    finding.locator("button.play").click()
    page.wait_for_function(near, arg=start_s, timeout=15_000)
    page.locator("#transcript .utt").first.click()  # the transcript seeks back to the greeting
    page.wait_for_function("() => document.getElementById('audio').currentTime < 5", timeout=15_000)
    page.locator(f"#timeline .marker.f{index}").click()  # and the finding's marker on the timeline
    page.wait_for_function(near, arg=start_s, timeout=15_000)
    _shot(page, "workbench_call_reviewer.png")
    for i in range(2):  # the phrase came from the customer's side of the line: overturn both hits
        overturn = findings.nth(i)
        number = overturn.get_attribute("data-finding")
        overturn.locator("input[name=reason]").fill("客户说的 · the customer said it, not the agent")
        overturn.locator("button.overturn").click()
        expect(page.locator(f"#finding-{number}")).to_have_class("finding overturned")
    expect(page.locator("#audit")).to_contain_text("overturn")
    assert float(page.locator("#reviewed-score").inner_text()) > float(page.locator("#auto-score").inner_text())
    page.context.close()


def _agent_appeals(browser, url, rows, expect) -> None:
    page = browser.new_context(viewport={"width": 820, "height": 1100}).new_page()  # a tablet
    _login(page, url, "ann")
    calls = page.locator("#calls tbody tr")
    expect(calls).to_have_count(2)
    expect(page.locator("#calls tbody")).not_to_contain_text("WB-C-0003")  # agent 2002's call
    response = page.goto(f"{url}/calls/{rows['call_c']}")
    assert response.status == 404
    page.goto(f"{url}/calls/{rows['call_a']}")
    page.select_option("#appeal-form select[name=finding]", label=None, index=1)
    page.fill("#appeal-form textarea[name=text]", "结束语我说了，系统没听到 · I did close the call")
    page.click("#appeal-form button[type=submit]")
    expect(page.locator("#appeals article.appeal.open")).to_have_count(1)
    assert page.locator("form.review").count() == 0  # an agent cannot review
    _shot(page, "workbench_call_agent_tablet.png")
    page.context.close()


def _supervisor_rejects_and_audit_shows_all(browser, url, rows, expect) -> None:
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    _login(page, url, "sam")
    page.goto(url + "/calls?status=appealed")
    page.click("#calls tbody tr[data-call=WB-A-0001] a")
    appeal = page.locator("#appeals article.appeal.open")
    appeal.locator("input[name=note]").fill("录音中没有结束语 · no closing in the recording")
    appeal.locator("button.reject").click()
    expect(page.locator("#appeals article.appeal.rejected")).to_have_count(1)
    audit = page.locator("#audit tbody tr")
    actions = [audit.nth(i).get_attribute("data-action") for i in range(audit.count())]
    assert actions == ["overturn", "overturn", "appeal", "appeal_rejected"], actions
    expect(page.locator("#audit")).to_contain_text("rita")
    expect(page.locator("#audit")).to_contain_text("ann")
    expect(page.locator("#audit")).to_contain_text("sam")
    # Rejecting the appeal on the closing leaves it failed; the overturned phrases lift the cap.
    expect(page.locator("#score-explain tr[data-check=closing] td").nth(2)).to_contain_text("fail")
    expect(page.locator("#score-explain tr[data-check=forbidden_phrases] td").nth(2)).to_contain_text("pass")
    _shot(page, "workbench_call_supervisor.png")
    page.goto(url + "/calibration")
    row = page.locator("#calibration tr[data-check=forbidden_phrases]")
    expect(row.locator(".rate")).to_have_text("100%")
    _shot(page, "workbench_calibration.png")
    page.context.close()
