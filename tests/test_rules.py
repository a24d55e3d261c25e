"""Data-driven rule cases: tests/rule_cases/*.toml, each with utterances, meta, expectation and why.

The string "null" stands for None (TOML has no null). A case's ``expect.<check>`` keys are compared with the check's JSON (``CheckResult.to_dict()``);
a list of tables is compared element by element on the keys the case gives (e.g. only ``phrase``).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from qa_pipeline.policy.policy import load_policy
from qa_pipeline.rules.run import CallContext, check_names, run_checks
from qa_pipeline.text.normalize import normalize_display
from qa_pipeline.types import CallMeta, ChannelActivity, Role, Span, Transcript, Utterance

CASES_DIR = Path(__file__).parent / "rule_cases"
POLICY = load_policy()


def _load_cases() -> list[tuple[str, dict[str, Any]]]:
    cases = []
    for file in sorted(CASES_DIR.glob("*.toml")):
        for case in tomllib.loads(file.read_text(encoding="utf-8"))["case"]:
            cases.append((f"{file.stem}:{case['name']}", case))
    return cases


def _transcript(case: dict[str, Any]) -> Transcript:
    utterances = tuple(
        Utterance(
            Role(u["role"]),
            0 if u["role"] == "agent" else 1,
            float(u["start_s"]),
            float(u["end_s"]),
            normalize_display(u["text"]),
            role_confidence=u.get("role_confidence"),
        )
        for u in case["utterances"]
    )
    call = case.get("call", {})
    duration_s = float(call.get("duration_s", max((u.end_s for u in utterances), default=0.0) + 0.5))
    tone = {role: () for role in (Role.AGENT, Role.CUSTOMER, Role.MIXED)}
    if "tone" in call:
        tone[Role(call["tone"]["role"])] = (Span(float(call["tone"]["start_s"]), duration_s),)
    music = tuple(Span(float(a), float(b)) for a, b in call.get("music", []))
    activity = tuple(
        ChannelActivity(
            channel,
            role,
            tuple(u.span for u in utterances if u.role == role),
            tone[role],
            music if role == Role.CUSTOMER else (),
        )
        for channel, role in enumerate((Role.AGENT, Role.CUSTOMER))
    )
    if tone[Role.MIXED]:  # a separated mono call: the tone stays on the mixed channel (text.diarize)
        activity += (ChannelActivity(0, Role.MIXED, (), tone[Role.MIXED]),)
    return Transcript("case", duration_s, 8000, 2, utterances, activity)


def _assert_matches(got: Any, expected: Any, where: str) -> None:
    if expected == "null":  # TOML has no null
        assert got is None, f"{where}: {got!r} is not None"
    elif isinstance(expected, list) and expected and isinstance(expected[0], dict):
        assert isinstance(got, list) and len(got) == len(expected), f"{where}: {got!r}"
        for index, (g, e) in enumerate(zip(got, expected)):
            _assert_matches(g, e, f"{where}[{index}]")
    elif isinstance(expected, dict):
        for key, value in expected.items():
            assert key in got, f"{where}: no key {key!r} in {got!r}"
            _assert_matches(got[key], value, f"{where}.{key}")
    elif isinstance(expected, float):
        assert got == pytest.approx(expected, abs=0.051), f"{where}: {got!r} != {expected!r}"
    elif isinstance(expected, list) and all(isinstance(v, str) for v in expected):
        assert got == expected, f"{where}: {got!r} != {expected!r}"
    else:
        assert got == expected, f"{where}: {got!r} != {expected!r}"


CASES = _load_cases()


@pytest.mark.parametrize(("case_id", "case"), CASES, ids=[c[0] for c in CASES])
def test_rule_case(case_id: str, case: dict[str, Any]) -> None:
    assert case.get("explanation", "").strip(), f"{case_id}: every case explains itself"
    meta = CallMeta.from_dict(case.get("meta", {}))
    context = CallContext(_transcript(case), meta, final=case.get("final", True))
    names = list(case["expect"])
    results = {r.name: r for r in run_checks(context, POLICY, names)}
    for name, expected in case["expect"].items():
        got = results[name].to_dict()
        _assert_matches(got, expected, f"{case_id} ({case['explanation']}) {name}")
    if "findings" in case:
        rule_ids = sorted(f.rule_id for r in results.values() for f in r.findings)
        assert rule_ids == sorted(case["findings"]), f"{case_id}: findings {rule_ids}"


def test_cases_cover_every_check() -> None:
    covered = {name for _, case in CASES for name in case["expect"]}
    assert covered == set(check_names())


def test_unknown_check_name_is_rejected() -> None:
    context = CallContext(Transcript("x", 1.0, 8000, 2, ()), CallMeta())
    with pytest.raises(ValueError, match="unknown check"):
        run_checks(context, POLICY, ["greting"])


def test_findings_carry_timed_evidence() -> None:
    utterance = Utterance(Role.AGENT, 0, 10.0, 13.0, "这个我也不知道怎么回事。")
    transcript = Transcript("x", 20.0, 8000, 2, (utterance,))
    (result,) = run_checks(CallContext(transcript, CallMeta()), POLICY, ["forbidden_phrases"])
    (finding,) = result.findings
    (evidence,) = finding.evidence
    assert finding.rule_id == "forbidden_phrases.hit" and finding.severity.value == "critical"
    # interpolated over 12 display characters: 不知道 is characters 4-7 of 10.0-13.0 s
    assert (evidence.start_s, evidence.end_s) == pytest.approx((11.0, 11.75))
    assert evidence.text == utterance.text and evidence.similarity == 1.0


def test_a_centre_may_let_the_title_stand_for_the_id(tmp_path: Path) -> None:
    """``representative_for_id = true`` in standard.toml: 客户服务代表 alone completes the outbound greeting
    that the bundled policy (the number required) finds without its ID."""
    from qa_pipeline.policy.policy import default_policy_dir
    import shutil

    shutil.copytree(default_policy_dir(), tmp_path / "policy")
    standard = tmp_path / "policy" / "standard.toml"
    text = standard.read_text(encoding="utf-8")
    assert "representative_for_id = false" in text
    standard.write_text(text.replace("representative_for_id = false", "representative_for_id = true"), encoding="utf-8")
    lenient = load_policy(tmp_path / "policy")
    case = dict(_load_cases())["greeting:outbound_title_without_number"]
    context = CallContext(_transcript(case), CallMeta.from_dict(case["meta"]))
    (strict,) = run_checks(context, POLICY, ["greeting"])
    (accepted,) = run_checks(context, lenient, ["greeting"])
    assert strict.details["missing"] == ["agent_id"] and not strict.passed
    assert accepted.passed and accepted.details["missing"] == []
