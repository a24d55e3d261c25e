"""qa eval metrics on small hand-written truth/report dicts with exact expected numbers."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from qa_pipeline.errors import MetaError
from qa_pipeline.eval.evaluate import (
    DEFINITIONS,
    CharErrors,
    EvalPair,
    HitCounts,
    char_errors,
    evaluate,
    format_eval_text,
    hit_counts,
    is_agent_speech,
    long_hold_counts,
    spans_meet,
)

AGENT_TURN = {"role": "agent", "start_s": 1.0, "end_s": 6.0, "text": "您好，星辰银行八一二三号，很高兴为您服务，请讲。"}
CUSTOMER_TURN = {"role": "customer", "start_s": 7.0, "end_s": 9.0, "text": "我不知道卡号。"}
AGENT_TURN_2 = {"role": "agent", "start_s": 10.0, "end_s": 14.0, "text": "这个我也不知道，不行。"}


def make_truth() -> dict[str, Any]:
    return {
        "call_id": "T1",
        "turns": [AGENT_TURN, CUSTOMER_TURN, AGENT_TURN_2],
        "expected": {
            "greeting": {"present": True, "compliant": True, "missing": []},
            "closing": {"present": False},
            "forbidden": [{"phrase": "不知道", "start_s": 11.2, "end_s": 11.8},
                          {"phrase": "不行", "start_s": 13.0, "end_s": 13.5}],
            "unauthorized_promise": [],
            "complaint": False,
            "comfort_after_complaint": None,
            "agent_rate_cpm": 250.0,
            "rate_verdict": "ok",
            "hangup_by": "customer",
            "hangup_evidence": "tone",
            "long_holds": [{"start_s": 20.0, "end_s": 90.0}],
            "duration_violation": False,
        },
    }


def make_report() -> dict[str, Any]:
    """A report agreeing with make_truth() on every check."""
    return {
        "call_id": "T1",
        "utterances": [
            {**AGENT_TURN, "channel": 0, "words": []},
            {**CUSTOMER_TURN, "channel": 1, "words": []},
            {**AGENT_TURN_2, "channel": 0, "words": []},
        ],
        "checks": {
            "greeting": {"passed": True, "present": True, "compliant": True, "missing": []},
            "closing": {"passed": False, "present": False},
            "forbidden_phrases": {"passed": False, "hits": [
                {"phrase": "不知道", "start_s": 11.5, "end_s": 12.0, "text": "不知道"},
                {"phrase": "不行", "start_s": 13.1, "end_s": 13.4, "text": "不行"}]},
            "unauthorized_promise": {"passed": True, "hits": []},
            "complaint_handling": {"passed": None, "complaint": False, "comforted": None},
            "speaking_rate": {"passed": True, "agent_cpm": 262.5, "verdict": "ok"},
            "hangup": {"passed": None, "hangup_by": "customer", "method": "tone"},
            "call_duration": {"passed": True, "duration_s": 95.0, "limit_s": 180},
            "hold": {"passed": False, "holds": [{"start_s": 21.5, "end_s": 88.0}, {"start_s": 100.0, "end_s": 110.0}]},
        },
        "findings": [],
        "score": 80.0,
    }


def test_spans_meet_within_tolerance() -> None:
    truth = {"start_s": 10.0, "end_s": 11.0}
    assert spans_meet({"start_s": 11.5, "end_s": 12.0}, truth, 0.5)  # gap of exactly 0.5 s
    assert not spans_meet({"start_s": 11.6, "end_s": 12.0}, truth, 0.5)
    assert spans_meet({"start_s": 9.0, "end_s": 9.5}, truth, 0.5)
    assert not spans_meet({"start_s": 9.0, "end_s": 9.4}, truth, 0.5)


def test_is_agent_speech_uses_role_else_agent_utterances() -> None:
    utterances = [AGENT_TURN, CUSTOMER_TURN]
    assert is_agent_speech({"start_s": 2.0, "end_s": 2.5}, utterances)
    assert not is_agent_speech({"start_s": 7.5, "end_s": 8.0}, utterances)  # customer's 不知道 (near miss)
    assert not is_agent_speech({"start_s": 2.0, "end_s": 2.5, "role": "customer"}, utterances)


def test_hit_counts_pair_one_to_one_and_skip_customer_speech() -> None:
    label = make_truth()["expected"]["forbidden"]
    predicted = [
        {"phrase": "不知道", "start_s": 7.5, "end_s": 8.0},  # customer speech: a false positive
        {"phrase": "不知道", "start_s": 11.5, "end_s": 12.0},  # matches 不知道
        {"phrase": "不知道", "start_s": 11.6, "end_s": 12.1},  # duplicate: the truth hit is already used
    ]
    assert hit_counts(predicted, label, [AGENT_TURN, CUSTOMER_TURN, AGENT_TURN_2]) == HitCounts(1, 3, 2)
    assert HitCounts(1, 3, 2).precision == pytest.approx(1 / 3)
    assert HitCounts(1, 3, 2).recall == 0.5
    assert HitCounts(0, 0, 0).precision is None and HitCounts(0, 0, 0).recall is None


def test_long_hold_counts_use_edge_tolerance_and_ignore_short_holds() -> None:
    label = [{"start_s": 20.0, "end_s": 90.0}]
    assert long_hold_counts([{"start_s": 23.0, "end_s": 87.0}], label) == HitCounts(1, 1, 1)
    assert long_hold_counts([{"start_s": 23.1, "end_s": 90.0}], label) == HitCounts(0, 1, 1)
    assert long_hold_counts([{"start_s": 0.0, "end_s": 59.9}], []) == HitCounts(0, 0, 0)


def test_char_errors_compare_match_forms() -> None:
    # punctuation is dropped and 8123 is spelt 八一二三 in match form; 很 -> 恨 is one substitution
    assert char_errors("星辰银行八一二三号，很高兴。", "星辰银行8123号恨高兴") == CharErrors(1, 12)
    assert CharErrors(0, 0).cer is None


def test_everything_agrees_on_a_matching_report() -> None:
    result = evaluate([EvalPair("c1", make_truth(), make_report())])
    assert [c.name for c in result.checks] == [
        "greeting", "closing", "forbidden_phrases", "unauthorized_promise", "complaint",
        "comfort_after_complaint", "speaking_rate", "hangup", "long_holds", "duration_violation",
    ]  # identity_verification is not labelled, so not reported
    assert all(c.agreement == 1.0 for c in result.checks)
    assert result.meets_bar
    assert result.check("speaking_rate").extra["rate_mae_cpm"] == 12.5
    assert result.check("long_holds").hits == HitCounts(1, 1, 1)
    assert result.cer_by_role["agent"] == CharErrors(0, 20 + 9)  # 您好…请讲 20, 这个…不行 9
    assert result.hangup_confusion["customer"] == {"agent": 0, "customer": 1, "unknown": 0}


def test_disagreements_are_counted_per_check() -> None:
    good = make_report()
    bad = copy.deepcopy(good)
    bad["checks"]["greeting"]["missing"] = ["agent_id"]
    bad["checks"]["forbidden_phrases"]["hits"].pop()  # misses 不行
    bad["checks"]["hangup"]["hangup_by"] = "agent"
    bad["checks"]["speaking_rate"] = {"passed": False, "agent_cpm": 310.0, "verdict": "too_fast"}
    bad["checks"]["complaint_handling"] = {"passed": True, "complaint": False, "comforted": True}
    bad["checks"]["call_duration"]["passed"] = False
    bad["checks"]["hold"]["holds"] = []
    pairs = [EvalPair("ok", make_truth(), good), EvalPair("bad", make_truth(), bad)]
    result = evaluate(pairs)
    rates = {c.name: c.agreement for c in result.checks}
    assert rates == {
        "greeting": 0.5, "closing": 1.0, "forbidden_phrases": 0.5, "unauthorized_promise": 1.0,
        "complaint": 1.0, "comfort_after_complaint": 1.0,  # comforted is ignored without a complaint
        "speaking_rate": 0.5, "hangup": 0.5, "long_holds": 0.5, "duration_violation": 0.5,
    }
    assert not result.meets_bar
    forbidden = result.check("forbidden_phrases")
    assert forbidden.hits == HitCounts(3, 3, 4)
    assert forbidden.disagreements[0].call == "bad"
    assert forbidden.disagreements[0].expected == ["不知道@11.2", "不行@13.0"]
    assert forbidden.disagreements[0].predicted == ["不知道@11.5"]
    assert result.check("speaking_rate").extra["rate_mae_cpm"] == (12.5 + 60.0) / 2
    assert result.hangup_confusion["customer"] == {"agent": 1, "customer": 1, "unknown": 0}
    assert result.check("long_holds").hits == HitCounts(1, 1, 2)


def test_comfort_and_missing_hangup() -> None:
    truth = make_truth()
    truth["expected"].update(complaint=True, comfort_after_complaint=True, hangup_by="unknown")
    report = make_report()
    report["checks"]["complaint_handling"] = {"passed": True, "complaint": True, "comforted": True}
    del report["checks"]["hangup"]
    result = evaluate([EvalPair("c", truth, report)])
    assert result.check("comfort_after_complaint").agreement == 1.0
    assert result.check("hangup").agreement == 1.0  # no hang-up check means unknown
    report["checks"]["complaint_handling"]["comforted"] = False
    assert evaluate([EvalPair("c", truth, report)]).check("comfort_after_complaint").agreement == 0.0


def test_a_hangup_not_decidable_on_mono_is_counted_apart() -> None:
    """A mono mix with a tone and no metadata: neither agreement nor disagreement, shown with its count."""
    decided = make_report()
    mono = copy.deepcopy(decided)
    mono["checks"]["hangup"] = {"passed": None, "hangup_by": "unknown", "method": "mixed_tone", "decidable": False}
    wrong = copy.deepcopy(decided)
    wrong["checks"]["hangup"]["hangup_by"] = "agent"
    result = evaluate([EvalPair("stereo", make_truth(), decided), EvalPair("mono", make_truth(), mono),
                       EvalPair("wrong", make_truth(), wrong)])
    hangup = result.check("hangup")
    assert (hangup.agreed, hangup.total, hangup.not_decidable) == (1, 2, ("mono",))
    assert hangup.agreement == 0.5
    assert [o.call for o in hangup.disagreements] == ["wrong"]
    assert hangup.to_dict()["not_decidable"] == ["mono"]
    assert result.hangup_confusion["customer"] == {"agent": 1, "customer": 1, "unknown": 0, "not decidable": 1}
    text = format_eval_text(result, width=200)
    assert "1/2 (+1 not decidable)" in text
    assert "hangup: not decidable on 1 call(s), left out of its agreement: mono" in text
    only_mono = evaluate([EvalPair("mono", make_truth(), mono)]).check("hangup")
    assert (only_mono.total, only_mono.agreement) == (0, None)  # nothing decided: no figure, not 0 % or 100 %


def test_identity_verification_only_on_labelled_calls() -> None:
    labelled = make_truth()
    labelled["expected"]["identity_verification"] = {"required": True, "verified": True}
    report = make_report()
    report["checks"]["identity_verification"] = {"passed": True, "required": True, "verified": False}
    result = evaluate([EvalPair("a", labelled, report), EvalPair("b", make_truth(), report)])
    identity = result.check("identity_verification")
    assert (identity.agreed, identity.total) == (0, 1)


def test_text_and_json_output_state_definitions() -> None:
    result = evaluate([EvalPair("c1", make_truth(), make_report())])
    text = format_eval_text(result, width=200)
    for name in ("greeting", "forbidden_phrases", "long_holds"):
        line = next(line for line in text.splitlines() if f" {name} " in line)
        assert "100.0%" in line and "1/1" in line
    assert DEFINITIONS["long_holds"] in text
    assert "RESULT: every check meets the bar" in text
    data = json.loads(json.dumps(result.to_dict(), ensure_ascii=False))
    assert data["meets_bar"] is True
    assert data["checks"]["forbidden_phrases"]["precision"] == 1.0
    assert data["checks"]["speaking_rate"]["rate_mae_cpm"] == 12.5
    assert data["cer_by_role"]["customer"] == {"edits": 0, "reference_chars": 6, "cer": 0.0}


def test_bad_input() -> None:
    with pytest.raises(ValueError):
        evaluate([])
    with pytest.raises(MetaError, match="c9: labels have no 'expected' object"):
        evaluate([EvalPair("c9", {"turns": []}, make_report())])
