"""Mandated script: the greeting (inbound 您好 · bank · agent ID · 很高兴为您服务; outbound address ·
您好 · bank · ID, or 客户服务代表 where the policy lets the title stand for it) and the closing (outbound: thanks and 再见)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from rapidfuzz.distance import Levenshtein

from qa_pipeline.text.match import find_sound_alike, index_text
from qa_pipeline.policy.policy import Policy
from qa_pipeline.rules import describe
from qa_pipeline.rules.agent_id import NUMERALS as _NUMERALS, agent_id_found as _agent_id_found
from qa_pipeline.rules.outbound import addressed, outbound_closing, representative_named
from qa_pipeline.rules.base import (
    CheckSpec,
    LiveWhen,
    CallContext,
    agent_utterances,
    find_in,
    register,
    utterance_evidence,
)
from qa_pipeline.text.normalize import is_cjk, match_form
from qa_pipeline.types import CheckResult, Direction, Finding, Role, Severity, Utterance

ELEMENTS = ("您好", "bank", "agent_id", "很高兴为您服务")
# Outbound: agent_id is met by the ID or by the title 客户服务代表 (the standard: 客户服务代表 or 工号).
OUTBOUND_ELEMENTS = ("address", "您好", "bank", "agent_id")
_ELEMENT_ZH = {"bank": "银行名", "agent_id": "工号", "address": "称呼客户"}
# Words before 银行 that do not name a bank (我行, 手机银行, ...).
_NOT_A_BANK = ("我", "本", "手机", "网上", "电话", "你们", "其他", "对方", "各大", "哪个", "什么")
# 贵行 is the listener's bank (请问贵行…) when 贵 stands alone or after a word that addresses or places
# it; after another character it ends a name (连贵银行, 富贵银行).
_YOUR_BANK = re.compile(r"(?:^|[您你们问在向给对到去和跟与])贵$")


_MIN_CUSTOMER_TURN_S = 1.0


def _not_a_bank(before: str) -> bool:
    """What precedes 银行 (or its stand-in) names no bank."""
    return before.endswith(_NOT_A_BANK) or _YOUR_BANK.search(before) is not None


@dataclass(frozen=True)
class Opening:
    """The agent's opening: its utterances, and whether it is over (the customer took the floor
    after the last turn counted, or the agent spoke past the window) — live, it may still go on."""

    utterances: tuple[Utterance, ...]
    closed: bool


def opening_turns(context: CallContext, turns: int, window_s: float) -> Opening:
    """The agent's first ``turns`` turns (a customer utterance of 1 s or more ends a turn),
    within ``window_s`` of agent speech."""
    opening: list[Utterance] = []
    spoken_s, ended, turn_open = 0.0, 0, False
    for utterance in sorted(context.transcript.utterances, key=lambda u: u.start_s):
        if utterance.role == Role.CUSTOMER:
            if turn_open and utterance.duration_s >= _MIN_CUSTOMER_TURN_S:
                ended, turn_open = ended + 1, False
                if ended >= turns:
                    return Opening(tuple(opening), True)
            continue
        if spoken_s >= window_s:
            return Opening(tuple(opening), True)
        opening.append(utterance)
        spoken_s += utterance.duration_s
        turn_open = True
    return Opening(tuple(opening), context.final)




def _bank_found(opening: tuple[Utterance, ...], policy: Policy) -> bool:
    names = [form for bank in policy.banks for form in bank.spoken_forms]
    if any(_short_form_heard(hit.match.phrase, hit.match.matched) for hit in find_in(opening, names, policy)):
        return True
    if not policy.any_bank:
        return False
    for utterance in opening:
        display = utterance.text
        if _slot_closed_by_hang(match_form(display)):
            return True
        for suffix in policy.bank_suffixes:
            # the greeting is where a bank name is expected: accept a suffix that merely sounds alike
            for match in find_sound_alike(display, suffix, policy.matching):
                before = match_form(display[: match.start_char])
                if len(before) >= 2 and not _not_a_bank(before):
                    return True
    return False


# What follows the bank's name in a greeting: the agent's ID, its marker, the agent's title or the
# service line (林海雪原银行一九三八号 / 居延海银行客户服务代表 / …银行，很高兴为您服务), perhaps
# after 我是 (…银行，我是四八二六号; the match form it reads has no punctuation).
_AFTER_BANK = re.compile(rf"(?:我是)?(?:[{_NUMERALS}0-9]|工号|客户|客服|服务代表|很高兴)")


#: 银行 as the recogniser hears it whole on a phone line: 银 as another y- syllable (员, 也, 延, 云; never
#: yao or yi, the readings of the ID's 幺 and 一) and 行 as hao or heng (好, 毫, 恒).
_YIN_HEARD = frozenset(("yin", "ying", "yun", "yuan", "yan", "ye"))
_HANG_HEARD = frozenset(("hao", "heng"))


def _slot_closed_by_hang(form: str) -> bool:
    """A bank name ASR garbled but for its last syllable: a character read háng (行, 航, 杭) after at
    least two characters and right before the ID or the title (居然海鷻航客户服务代表 for
    居延海银行客户服务代表) — the greeting's slot for the bank, closed as bank names end. 银行 heard
    whole as another y- syllable and hao or heng (员好, 也好, 延毫, 云恒; ``_YIN_HEARD``) closes it too."""
    readings = index_text(form).readings
    for index in range(2, len(form) - 1):
        if not _closes_bank_slot(form, readings, index + 1):
            continue
        if "hang" in readings[index]:
            before = form[:index]
            name = before[:-1] if before.endswith("银") else before  # 手机银行 is no bank's name
        elif readings[index] & _HANG_HEARD and readings[index - 1] & _YIN_HEARD and form[index] != "号":
            before = name = form[: index - 1]
            if before and before[-1] in _NUMERALS:
                continue  # the ID before a misheard 号 (…三二五一号), not a bank's name
        else:
            continue
        if len(before) >= 2 and is_cjk(before[-1]) and is_cjk(before[-2]) and not _not_a_bank(name) \
                and not name.endswith(("不", "进", "可")):
            return True
    return False


def _closes_bank_slot(form: str, readings: tuple[frozenset[str], ...], at: int) -> bool:
    """What follows the bank's name starts at ``at``: by its characters, or the ID marker 工号 by
    its sound (公号, 宫号: Whisper writes the homophone as readily as the word)."""
    if _AFTER_BANK.match(form, at):
        return True
    return at + 1 < len(readings) and "gong" in readings[at] and "hao" in readings[at + 1]


def _short_form_heard(form: str, matched: str) -> bool:
    """A two-character bank name (建行, 工行) must end as it sounds, with 行 or a homophone of it:
    the first syllable alone matches too much (监款 is no 建行)."""
    if len(form) > 2:
        return True
    if not matched:
        return False
    form_sounds, heard_sounds = index_text(form[-1]).readings, index_text(matched[-1]).readings
    return bool(form_sounds and heard_sounds and form_sounds[0] & heard_sounds[0])


def _hello_found(opening: tuple[Utterance, ...], policy: Policy) -> bool:
    return bool(find_in(opening, policy.greeting_hello, policy)) or (bool(opening) and _hello_misheard(opening[0].text))


_FIRST_CLAUSE = re.compile(r"^([^，,。．.？?！!；;：:、\s]{2})[，,。．.？?！!；;：:、\s]")
# Words before 好 that make an ordinary reply, not a misheard 您好 (很好, 那好, 还好, 就好).
_NOT_HELLO = set("很挺还真太那也就都只正最好刚问对是行")


def _hello_misheard(text: str) -> bool:
    """您好 opening the call misheard (一号，1号，宁好，银行): the call's first clause, two characters
    within three letters of toneless nin hao, then a pause mark — the hello's place and shape."""
    first = _FIRST_CLAUSE.match(text)
    if first is None or first.group(1)[0] in _NOT_HELLO:
        return False
    heard = "".join(index_text(first.group(1)).syllables)
    return Levenshtein.distance(heard, "ninhao") <= _HELLO_SLIPS


# Letters of toneless pinyin the opening hello may be off: Whisper base writes 您好 opening a call as
# 一号 (yihao, two off) or, in a mix, as 银行 (yinhang, three off).
_HELLO_SLIPS = 3


def _inbound_found(context: CallContext, policy: Policy) -> tuple[Opening, dict[str, bool]]:
    opening = opening_turns(context, 1, policy.thresholds.greeting_window_s)
    said = opening.utterances
    return opening, {
        "您好": _hello_found(said, policy),
        "bank": _bank_found(said, policy),
        "agent_id": _agent_id_found(said, context.meta.agent_id, policy),
        "很高兴为您服务": bool(find_in(said, policy.greeting_service, policy)),
    }


def _outbound_found(context: CallContext, policy: Policy) -> tuple[Opening, dict[str, bool]]:
    rules = policy.standard.outbound
    opening = opening_turns(context, rules.opening_turns, rules.window_s)
    said = opening.utterances
    introduced = _introduction(context, policy)
    return opening, {
        "address": addressed(said, policy),
        "您好": _hello_found(said, policy),
        "bank": _bank_found(introduced or said, policy),
        "agent_id": _agent_id_found(introduced or said, context.meta.agent_id, policy)
        or (rules.representative_for_id and representative_named(introduced or said, policy)),
    }


def _introduction(context: CallContext, policy: Policy) -> tuple[Utterance, ...]:
    """The agent's first turn when the agent introduced themself in it (the ID or 客服代表 said), else
    nothing: the bank and ID belong to that introduction, and a bank named turns later (不好意思，忘了说，
    我们是…银行的) mends a greeting that lacked it."""
    rules = policy.standard.outbound
    first = opening_turns(context, 1, rules.window_s).utterances
    if (_agent_id_found(first, context.meta.agent_id, policy) or representative_named(first, policy)
            or any(_INTRODUCED.search(u.text) for u in first)):
        return first
    return ()


# 我是…银行的客服 (客服 heard 克服 too): the agent's introduction without a number.
_INTRODUCED = re.compile(r"我是[^，,。？?！!]{0,14}?(?:客服|克服)")


def _judged(context: CallContext, policy: Policy) -> tuple[str, Opening, list[str]]:
    """(script, opening, missing elements): the call's direction's script; either when unknown
    (the complete one, else the one missing fewer elements, inbound on a tie)."""
    scripts = []
    if context.meta.direction != Direction.OUTBOUND:
        opening, found = _inbound_found(context, policy)
        scripts.append(("inbound", opening, [e for e in ELEMENTS if not found[e]]))
    if context.meta.direction != Direction.INBOUND:
        opening, found = _outbound_found(context, policy)
        scripts.append(("outbound", opening, [e for e in OUTBOUND_ELEMENTS if not found[e]]))
    return min(scripts, key=lambda s: len(s[2]))


@register
class GreetingCheck:
    spec = CheckSpec(
        "greeting", "开场白", "greeting", LiveWhen.CLOCK, 15.0,
        ("thresholds.greeting_window_s", "greeting.hello", "greeting.service", "greeting.agent_id_markers",
         "bank.banks", "policy.any_bank", "outbound_greeting.address_titles", "outbound_greeting.address_familiar", "outbound_greeting.surnames",
         "outbound_greeting.representative", "outbound_greeting.representative_for_id", "outbound_greeting.opening_turns", "outbound_greeting.window_s"),
        describe.greeting,
        findings={'missing': '开场白缺失或不规范', 'not_compliant': '开场白不规范'},
    )

    def run(self, context: CallContext, policy: Policy) -> CheckResult:
        script, opening, missing = _judged(context, policy)
        known = context.meta.direction is not None
        elements = ELEMENTS if script == "inbound" else OUTBOUND_ELEMENTS
        details = {"present": len(missing) < len(elements), "compliant": not missing, "missing": missing,
                   "script": script, "direction_known": known}
        if missing and not opening.closed:
            return CheckResult(self.name, None, {**details, "compliant": None})  # live: the opening goes on
        if not opening.utterances:
            details.update(present=False)
            finding = Finding("greeting.missing", Severity.MAJOR, "the agent never spoke: no greeting")
            return CheckResult(self.name, False, details, (finding,))
        findings = ()
        if missing:
            evidence = tuple(utterance_evidence(u) for u in opening.utterances)
            message = (
                "no greeting in the agent's opening turn"
                if not details["present"]
                else f"{script} greeting lacks: " + "、".join(_ELEMENT_ZH.get(m, m) for m in missing)
            )
            if not known:
                message = "direction unknown, neither the inbound nor the outbound script complete; " + message
            findings = (Finding("greeting.missing", Severity.MAJOR, message, evidence),)
        return CheckResult(self.name, not missing, details, findings)


@register
class ClosingCheck:
    spec = CheckSpec(
        "closing", "结束语", "closing", LiveWhen.END, 10.0,
        ("thresholds.closing_last_utterances", "closing.inbound", "closing.outbound", "closing.outbound_farewell"),
        describe.closing,
        findings={'missing': '缺少结束语'},
    )

    def run(self, context: CallContext, policy: Policy) -> CheckResult:
        if not context.final:
            return CheckResult(self.name, None, {"present": None})
        direction = context.meta.direction
        last = agent_utterances(context.transcript)[-policy.thresholds.closing_last_utterances :]
        script = None
        if direction != Direction.OUTBOUND and find_in(last, policy.closing_inbound, policy):
            script = "inbound"
        elif direction != Direction.INBOUND and outbound_closing(last, policy):
            script = "outbound"
        details = {"present": script is not None, "script": script, "direction_known": direction is not None}
        if script is not None:
            return CheckResult(self.name, True, details)
        evidence = tuple(utterance_evidence(u) for u in last[-1:])
        wanted = {Direction.INBOUND: "inbound closing", Direction.OUTBOUND: "outbound thanks and 再见"}.get(
            direction, "closing of either script (direction unknown)"
        )
        finding = Finding("closing.missing", Severity.MAJOR, f"no {wanted} at the end of the call", evidence)
        return CheckResult(self.name, False, details, (finding,))
