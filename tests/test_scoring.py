"""Scoring: weights of applicable checks, renormalised, with caps. Expected numbers by hand."""

from __future__ import annotations

import pytest

from qa_pipeline.policy.policy import load_policy
from qa_pipeline.rules.scoring import score_checks
from qa_pipeline.types import CheckResult, Evidence, Finding, Severity

POLICY = load_policy()  # weights: greeting 15, closing 10, forbidden 20, hangup 5, hold 5 ...


def test_all_passed_is_100() -> None:
    checks = [CheckResult("closing", True), CheckResult("hold", True), CheckResult("hangup", True, {"hangup_by": "customer"})]
    card = score_checks(checks, POLICY)
    assert card.score == pytest.approx(100.0)
    assert card.caps == ()
    assert card.summary == "100.0 from 3 applicable checks, weights renormalised over 20"


def test_not_applicable_checks_are_left_out() -> None:
    # closing 10 passed, hold 5 failed, complaint_handling None -> 10 / 15
    checks = [CheckResult("closing", True), CheckResult("hold", False), CheckResult("complaint_handling", None)]
    card = score_checks(checks, POLICY)
    assert card.score == pytest.approx(100.0 * 10 / 15)
    # Since the explanation, every check is listed; the not applicable one is marked not counted.
    assert [(p.name, p.counted) for p in card.checks] == [
        ("closing", True), ("hold", True), ("complaint_handling", False)]
    assert [p.points for p in card.checks] == pytest.approx([100.0 * 10 / 15, 0.0, 0.0])
    assert [p.max_points for p in card.checks] == pytest.approx([100.0 * 10 / 15, 100.0 * 5 / 15, 0.0])
    assert card.counted_weight == 15.0


def test_greeting_earns_its_share_of_elements() -> None:
    # greeting 15 with one of four elements missing earns 0.75; closing 10 failed
    checks = [CheckResult("greeting", False, {"missing": ["agent_id"]}), CheckResult("closing", False)]
    card = score_checks(checks, POLICY)
    assert card.score == pytest.approx(100.0 * 15 * 0.75 / 25)


def test_caps_for_critical_violations() -> None:
    checks = [
        CheckResult("closing", True),
        CheckResult("hold", True),
        CheckResult("forbidden_phrases", False, {"hits": [{"phrase": "不行"}]}),
        CheckResult("hangup", False, {"hangup_by": "agent"}),
    ]
    card = score_checks(checks, POLICY)
    assert card.uncapped == pytest.approx(100.0 * 15 / 40)  # 37.5: below both caps
    # The caps are listed as triggered but not binding (they used to be left out).
    assert card.score == pytest.approx(37.5) and card.binding_caps == ()
    assert [(c.name, c.binding) for c in card.caps] == [("agent_hangup", False), ("forbidden_phrase", False)]
    good = [CheckResult("closing", True), CheckResult("hold", True), CheckResult("hangup", False, {"hangup_by": "agent"})]
    card = score_checks(good, POLICY)
    assert card.uncapped == pytest.approx(100.0 * 15 / 20)
    assert card.score == pytest.approx(60.0)
    assert [c.name for c in card.binding_caps] == ["agent_hangup"]


def test_nothing_applicable_scores_100() -> None:
    card = score_checks([CheckResult("complaint_handling", None)], POLICY)
    assert card.score == 100.0 and not any(c.counted for c in card.checks)
    assert card.to_dict()["score"] == 100.0


# -- the explanation, asserted exactly for a known case (numbers worked out by hand) ----------------


def _known_case() -> list[CheckResult]:
    """Greeting missing one of four elements, closing passed, a forbidden phrase at 40.2 s,
    complaint handling not applicable, the customer hung up (weights 15, 10, 20, 10, 5)."""
    hit = {"phrase": "你错了", "start_s": 40.2, "end_s": 41.0, "text": "你错了"}
    return [
        CheckResult("greeting", False, {"missing": ["agent_id"]}),
        CheckResult("closing", True),
        CheckResult("forbidden_phrases", False, {"hits": [hit]}),
        CheckResult("complaint_handling", None),
        CheckResult("hangup", True, {"hangup_by": "customer", "method": "metadata"}),
    ]


def test_explanation_of_a_capped_call_is_exact() -> None:
    # counted weights 15 + 10 + 20 + 5 = 50; greeting earns 0.75 * 30 = 22.5, closing 20, forbidden 0,
    # hangup 10 -> 52.5 before caps; the forbidden phrase cap (60) is above it, so it does not bind.
    card = score_checks(_known_case(), POLICY)
    assert card.to_dict() == {
        "score": 52.5,
        "uncapped": 52.5,
        "counted_weight": 50.0,
        "summary": "52.5 from 4 applicable checks, weights renormalised over 50; "
                   "under the cap of 60 for forbidden phrase 你错了 at 00:40",
        "checks": [
            {"name": "greeting", "weight": 15.0, "passed": False, "counted": True,
             "max_points": 30.0, "earned": 0.75, "points": 22.5},
            {"name": "closing", "weight": 10.0, "passed": True, "counted": True,
             "max_points": 20.0, "earned": 1.0, "points": 20.0},
            {"name": "forbidden_phrases", "weight": 20.0, "passed": False, "counted": True,
             "max_points": 40.0, "earned": 0.0, "points": 0.0},
            {"name": "complaint_handling", "weight": 10.0, "passed": None, "counted": False,
             "max_points": 0.0, "earned": 0.0, "points": 0.0},
            {"name": "hangup", "weight": 5.0, "passed": True, "counted": True,
             "max_points": 10.0, "earned": 1.0, "points": 10.0},
        ],
        "caps": [{"name": "forbidden_phrase", "limit": 60.0, "binding": False,
                  "reason": "forbidden phrase 你错了 at 00:40", "at_s": 40.2}],
    }


def test_a_binding_cap_names_the_phrase_and_its_time() -> None:
    # Greeting complete and a passed hold: counted weights 15 + 10 + 20 + 5 + 5 = 55, earned
    # 15 + 10 + 5 + 5 = 35 -> 63.6 before caps, above the forbidden phrase cap of 60.
    checks = [CheckResult("greeting", True), *_known_case()[1:], CheckResult("hold", True)]
    card = score_checks(checks, POLICY)
    assert card.uncapped == pytest.approx(100.0 * 35 / 55)
    assert card.score == 60.0
    assert card.summary == "capped at 60: forbidden phrase 你错了 at 00:40"
    hangup = CheckResult("hangup", False, {"hangup_by": "agent", "method": "tone"}, (
        Finding("hangup.agent_first", Severity.CRITICAL, "x", (Evidence(192.4, 193.0, "tone"),)),))
    card = score_checks([CheckResult("closing", True), CheckResult("hold", True), hangup], POLICY)
    assert card.summary == "capped at 60: the agent hung up first (disconnect tone at 03:12)"
