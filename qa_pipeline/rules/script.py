"""Mandated script: the greeting (您好 · bank · agent ID · 很高兴为您服务) and the closing."""

from __future__ import annotations

import re

from rapidfuzz.distance import Levenshtein

from qa_pipeline.text.match import find_sound_alike
from qa_pipeline.policy.policy import Policy
from qa_pipeline.rules import describe
from qa_pipeline.rules.base import (
    CheckSpec,
    LiveWhen,
    CallContext,
    Hit,
    agent_utterances,
    find_in,
    register,
    utterance_evidence,
)
from qa_pipeline.text.normalize import is_cjk, match_form
from qa_pipeline.types import CheckResult, Direction, Finding, Role, Severity, Utterance

ELEMENTS = ("您好", "bank", "agent_id", "很高兴为您服务")
_NUMERALS = "零一二三四五六七八九幺两"
# Words before 银行 that do not name a bank (我行, 手机银行, ...).
_NOT_A_BANK = ("我", "本", "贵", "手机", "网上", "电话", "你们", "其他", "对方", "各大", "哪个", "什么")
_MIN_CUSTOMER_TURN_S = 1.0
_DIGIT_OF = {c: str(i) for i, c in enumerate("零一二三四五六七八九")} | {"幺": "1", "两": "2", "〇": "0"}


def opening_turn(context: CallContext, policy: Policy) -> tuple[Utterance, ...]:
    """The agent's first turn: agent utterances until the customer takes the floor,
    within ``greeting_window_s`` of agent speech."""
    window_s = policy.thresholds.greeting_window_s
    utterances = sorted(context.transcript.utterances, key=lambda u: u.start_s)
    opening: list[Utterance] = []
    spoken_s = 0.0
    for utterance in utterances:
        if utterance.role == Role.CUSTOMER:
            if opening and utterance.duration_s >= _MIN_CUSTOMER_TURN_S:
                break
            continue
        if spoken_s >= window_s:
            break
        opening.append(utterance)
        spoken_s += utterance.duration_s
    return tuple(opening)


def _unify_digits(form: str) -> str:
    return form.replace("幺", "一").replace("两", "二")


def digit_runs(text: str) -> list[str]:
    """Digit strings spoken in a display text, Arabic or Chinese (幺/两 too), as ASCII digits.

    One non-digit character between digits is skipped, because ASR writes an ID such as 八一二三
    as a date or an amount (8月23号).
    """
    runs: list[str] = []
    current = ""
    for index, char in enumerate(text):
        digit = char if char.isascii() and char.isdigit() else _DIGIT_OF.get(char)
        if digit is not None:
            current += digit
            continue
        nxt = text[index + 1] if index + 1 < len(text) else ""
        next_is_digit = (nxt.isascii() and nxt.isdigit()) or nxt in _DIGIT_OF
        if current and is_cjk(char) and next_is_digit and not current.endswith(" "):
            current += " "  # a single skipped character
            continue
        if current:
            runs.append(current.replace(" ", ""))
        current = ""
    if current:
        runs.append(current.replace(" ", ""))
    return runs


def _id_in_runs(agent_id: str, runs: list[str]) -> bool:
    """The ID, exactly when short; with one digit misheard, dropped or added when 4+ digits."""
    allowed = 1 if len(agent_id) >= 4 else 0
    for run in runs:
        for length in {len(agent_id) - allowed, len(agent_id), len(agent_id) + allowed}:
            for start in range(0, max(len(run) - length, 0) + 1):
                window = run[start : start + length]
                if len(window) == length and Levenshtein.distance(window, agent_id) <= allowed:
                    return True
    return False


def _id_before_marker(agent_id: str, form: str) -> bool:
    """An ID-sized token right before 号 with the ID's digits in place but two, which are not
    digits at all (次次七一号 for 四四七一号)."""
    size = len(agent_id)
    if size < 4:
        return False
    for marker in re.finditer("号", form):
        window = form[marker.start() - size : marker.start()]
        if len(window) == size:
            digits = [_DIGIT_OF.get(c) for c in window]
            agree = sum(g == d for g, d in zip(digits, agent_id))
            # the other places must be misheard non-digits: another digit means another ID
            if agree >= size - 2 and all(g is None or g == d for g, d in zip(digits, agent_id)):
                return True
    return False


def _agent_id_found(opening: tuple[Utterance, ...], agent_id: str | None, policy: Policy) -> bool:
    if agent_id and agent_id.isdigit():
        if any(_id_in_runs(agent_id, digit_runs(u.text)) for u in opening):
            return True
        return any(_id_before_marker(agent_id, match_form(u.text)) for u in opening)
    text = _unify_digits("".join(match_form(u.text) for u in opening))
    markers = "|".join(re.escape(m) for m in policy.agent_id_markers)
    numerals = f"[{_NUMERALS}]{{3,6}}"
    pattern = rf"(?<![{_NUMERALS}]){numerals}(?:{markers})|(?:{markers}){numerals}"
    return re.search(pattern, text) is not None


def _bank_found(opening: tuple[Utterance, ...], policy: Policy) -> bool:
    names = [form for bank in policy.banks for form in bank.spoken_forms]
    if find_in(opening, names, policy):
        return True
    if not policy.any_bank:
        return False
    for utterance in opening:
        display = utterance.text
        for suffix in policy.bank_suffixes:
            # the greeting is where a bank name is expected: accept a suffix that merely sounds alike
            for match in find_sound_alike(display, suffix, policy.matching):
                before = match_form(display[: match.start_char])
                if len(before) >= 2 and not before.endswith(_NOT_A_BANK):
                    return True
    return False


@register
class GreetingCheck:
    spec = CheckSpec(
        "greeting", "开场白", "greeting", LiveWhen.CLOCK, 15.0,
        ("thresholds.greeting_window_s", "greeting.hello", "greeting.service", "greeting.agent_id_markers", "bank.banks", "policy.any_bank"),
        describe.greeting,
        findings={'missing': '开场白缺失或不规范', 'not_compliant': '开场白不规范'},
    )

    def run(self, context: CallContext, policy: Policy) -> CheckResult:
        opening = opening_turn(context, policy)
        if not opening:
            passed = None if not context.final else False
            details = {"present": False, "compliant": False, "missing": list(ELEMENTS)}
            findings = () if passed is None else (
                Finding("greeting.missing", Severity.MAJOR, "the agent never spoke: no greeting"),
            )
            return CheckResult(self.name, passed, details, findings)
        found = {
            "您好": bool(find_in(opening, policy.greeting_hello, policy)),
            "bank": _bank_found(opening, policy),
            "agent_id": _agent_id_found(opening, context.meta.agent_id, policy),
            "很高兴为您服务": bool(find_in(opening, policy.greeting_service, policy)),
        }
        missing = [e for e in ELEMENTS if not found[e]]
        present = len(missing) < len(ELEMENTS)
        details = {"present": present, "compliant": not missing, "missing": missing}
        findings = ()
        if missing:
            evidence = tuple(utterance_evidence(u) for u in opening)
            message = (
                "no greeting in the agent's opening turn"
                if not present
                else "greeting lacks: " + "、".join("银行名" if m == "bank" else "工号" if m == "agent_id" else m for m in missing)
            )
            findings = (Finding("greeting.missing", Severity.MAJOR, message, evidence),)
        return CheckResult(self.name, not missing, details, findings)


@register
class ClosingCheck:
    spec = CheckSpec(
        "closing", "结束语", "closing", LiveWhen.END, 10.0,
        ("thresholds.closing_last_utterances", "closing.inbound", "closing.outbound"), describe.closing,
        findings={'missing': '缺少结束语'},
    )

    def run(self, context: CallContext, policy: Policy) -> CheckResult:
        if not context.final:
            return CheckResult(self.name, None, {"present": None})
        direction = context.meta.direction
        if direction == Direction.OUTBOUND:
            phrases = policy.closing_outbound
        elif direction == Direction.INBOUND:
            phrases = policy.closing_inbound
        else:
            phrases = policy.closing_inbound + policy.closing_outbound
        last = agent_utterances(context.transcript)[-policy.thresholds.closing_last_utterances :]
        hits: list[Hit] = find_in(last, phrases, policy)
        if hits:
            return CheckResult(self.name, True, {"present": True})
        evidence = tuple(utterance_evidence(u) for u in last[-1:])
        finding = Finding("closing.missing", Severity.MAJOR, "no closing phrase at the end of the call", evidence)
        return CheckResult(self.name, False, {"present": False}, (finding,))
