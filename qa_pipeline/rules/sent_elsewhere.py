"""Sending the customer elsewhere (推诿): 你去问收款行吧, 这个您找网点去, 你自己去柜台问.

First-contact responsibility means the agent owns the question. Telling the customer, curtly, to go
and ask or find some other party is a brush-off; pointing the way politely (您可以去网点咨询一下, 建议您
联系商户, 麻烦您问一下收款行) or together with help of one's own (我把网点电话发给您) is service.

A clause is a brush-off when, in that order,
* the customer is the one sent (你/您, or 自己 with no 我 before it),
* a go/ask/find verb sends them (找, 问, heard by sound too: 照 is 找; 去…问; doubled: 问问),
* the other side is a party — a place or a body (网点, 柜台, 收款行, 派出所, 厂商, 他们, 那边 …),
* and the clause ends there, with at most 去/吧/问/问问/一下 after it (a command, not a plan),
and the clause is no question or supposition, nothing softens the command before the verb
(可以, 建议, 麻烦, 需要, 请; 得 unless the reply also disowns the matter), and the agent offers no help of their own in the same reply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from qa_pipeline.policy.policy import Policy
from qa_pipeline.rules.judge import Judged, clauses_of
from qa_pipeline.text.analysis import Clause
from qa_pipeline.text.match import syllables_of
from qa_pipeline.types import Utterance

__all__ = ["LABEL", "Sending", "sending_in", "sent_elsewhere"]

LABEL = "推诿：叫客户另找他处"

# The verbs that send, by sound (ASR writes 找 as 照 or 兆, 问 as 文 or 闻).
_VERB_SOUNDS = {"zhao": "找", "wen": "问"}
# Last characters of a party one can be sent to: a place (网点, 营业厅, 柜台, 收款行, 社保局, 派出所,
# 法院, 中心), a body (厂商, 商户, 商家, 公司, 部门, 平台, 机构, 单位, 居委会, 物业, 旅行社), people (他们, 对方, 经理, 柜员, 警察,
# 网点的人) or a side (那边). 店 is 网点 as ASR often writes it.
_PARTY_ENDS = set("点厅台行局所院心商户家司门构位们方理员察人边店处会业社")
# Before the verb these make a command a suggestion or a requirement: not a brush-off.
_SOFTENERS = ("可以", "建议", "麻烦", "需要", "请", "要", "能", "最好", "方便", "不妨", "也可", "帮", "替", "陪", "让",
              "如果", "要是", "的话", "到时候", "再")
# Help of the agent's own in the same reply (我帮您联系网点, 我把电话发给您, 给您转接).
_OWN_HELP = ("帮您", "给您", "为您", "替您", "转接", "发给您", "发您", "我联系", "我们联系", "我们会", "我会")
_NEGATIONS = ("不", "没", "别")
# Disowning beside the command (…，我们这边管不了; …，别来问我们): with it, 您得去… is sending away too.
_DISOWNING = ("管不了", "不归", "别问", "别来", "别打", "没关系", "处理不了", "办不了", "帮不了")
# What may follow the party to end the command.
_TAIL = re.compile(r"^(?:去|去问|问|问问|问一下|查|查查|去查|办|去办|一下)?(?:吧|啊|呀|了|哈)?$")
_SENDING = re.compile(r"(?:去|到)?(?P<before>[\u4e00-\u9fff]{0,8}?)(?P<verb>找|问)(?P=verb)?(?P<party>[\u4e00-\u9fff]{0,10}?)$")


@dataclass(frozen=True)
class Sending:
    """A clause shaped as sending the customer to a party; ``excused`` when softened or helped."""

    start_char: int
    end_char: int
    excused: bool


def sent_elsewhere(utterance: Utterance, policy: Policy) -> list[Judged]:
    """The clauses of an agent utterance that send the customer to another party without help."""
    found = []
    for clause in clauses_of(utterance, policy):
        sending = sending_in(utterance, clause)
        if sending is not None and not sending.excused:
            found.append(Judged.spanning(utterance, sending.start_char, sending.end_char, LABEL))
    return found


def sending_in(utterance: Utterance, clause: Clause) -> Sending | None:
    """The sending in ``clause`` of ``utterance`` (subject to party), excused or not; None if none."""
    if (clause.question and not clause.only_by_ba) or clause.hypothetical:
        return None
    text = _verbs_by_sound(clause.text)
    found = _subject_at(text)
    if found is None:
        return None
    opened, subject = found
    plain = text.rstrip("，,。.！!？?；; ")
    for stop in range(len(plain), subject, -1):
        if not _TAIL.match(plain[stop:]):
            continue
        sent = _SENDING.match(plain, subject, stop)
        if sent is None or not _party(sent.group("before"), sent.group("party")):
            continue
        return Sending(clause.start_char + opened, clause.start_char + len(plain),
                       _excused(utterance.text, plain[:sent.start("verb")]))
    return None


def _excused(reply: str, before_verb: str) -> bool:
    """Softened before the verb (可以, 建议…; 得 unless the reply disowns the matter) or helped in the reply."""
    before = before_verb.replace("要不", "")
    disowned = any(word in reply for word in _DISOWNING)
    softened = any(word in before for word in _SOFTENERS) or ("得" in before and not disowned)
    return softened or _offers_help(reply)


def _subject_at(text: str) -> tuple[int, int] | None:
    """Where the customer as subject starts and the offset just after it (你/您, then 自己/直接/就…), or None.
    自己 alone counts when no 我 stands before it (自己找网点去; not 我自己去问)."""
    for at, char in enumerate(text):
        if char in "你您":
            if text[at + 1:at + 2] == "的":
                continue  # 您的卡: a possessive, not the subject
            return at, _after_adverbs(text, at + 1)
    at = text.find("自己")
    if at >= 0 and "我" not in text[:at]:
        return at, _after_adverbs(text, at)
    return None


_ADVERBS = ("自己", "直接", "就", "还是", "赶紧", "明天", "回头", "现在")


def _after_adverbs(text: str, at: int) -> int:
    moved = True
    while moved:
        moved = False
        for word in _ADVERBS:
            if text.startswith(word, at):
                at += len(word)
                moved = True
    return at


def _party(before: str, party: str) -> bool:
    """The place gone to or the one asked is a party, not a thing (找一下验证码, 问问题)."""
    if party.startswith(("到", "着", "找", "问", "我", "题", "清", "明白")):
        return False
    return (party != "" and party[-1] in _PARTY_ENDS) or (before != "" and before[-1] in _PARTY_ENDS)


def _offers_help(text: str) -> bool:
    """The reply holds help of the agent's own, not negated (帮不了您 and 没法帮您 are none)."""
    for word in _OWN_HELP:
        at = text.find(word)
        while at >= 0:
            near = text[max(0, at - 2):at] + text[at + len(word):at + len(word) + 1]
            if not any(no in near for no in _NEGATIONS):
                return True
            at = text.find(word, at + 1)
    return False


@lru_cache(maxsize=4096)
def _verbs_by_sound(text: str) -> str:
    """``text`` with a character that sounds like 找 or 问 written as that verb, same length."""
    return "".join(_VERB_SOUNDS.get(s, c) for c, s in zip(text, syllables_of(text)))
