"""Scoring: weights of applicable checks, renormalised, with caps. Expected numbers by hand."""

from __future__ import annotations

import pytest

from qa_pipeline.policy.policy import load_policy
from qa_pipeline.rules.scoring import score_checks
from qa_pipeline.types import CheckResult

POLICY = load_policy()  # weights: greeting 15, closing 10, forbidden 20, hangup 5, hold 5 ...


def test_all_passed_is_100() -> None:
    checks = [CheckResult("closing", True), CheckResult("hold", True), CheckResult("hangup", True, {"hangup_by": "customer"})]
    card = score_checks(checks, POLICY)
    assert card.score == pytest.approx(100.0)
    assert card.caps == ()


def test_not_applicable_checks_are_left_out() -> None:
    # closing 10 passed, hold 5 failed, complaint_handling None -> 10 / 15
    checks = [CheckResult("closing", True), CheckResult("hold", False), CheckResult("complaint_handling", None)]
    card = score_checks(checks, POLICY)
    assert card.score == pytest.approx(100.0 * 10 / 15)
    assert [p.name for p in card.checks] == ["closing", "hold"]
    assert [p.points for p in card.checks] == pytest.approx([100.0 * 10 / 15, 0.0])


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
    assert card.score == pytest.approx(37.5) and card.caps == ()
    good = [CheckResult("closing", True), CheckResult("hold", True), CheckResult("hangup", False, {"hangup_by": "agent"})]
    card = score_checks(good, POLICY)
    assert card.uncapped == pytest.approx(100.0 * 15 / 20)
    assert card.score == pytest.approx(60.0) and card.caps == ("agent_hangup",)


def test_nothing_applicable_scores_100() -> None:
    card = score_checks([CheckResult("complaint_handling", None)], POLICY)
    assert card.score == 100.0 and card.checks == ()
    assert card.to_dict()["score"] == 100.0
