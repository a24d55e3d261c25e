"""Sending the customer elsewhere (推诿): 你去问收款行吧, 这个您找网点去, 你自己去柜台问.

First-contact responsibility means the agent owns the question. Telling the customer, curtly, to go
and ask or find some other party is a brush-off; pointing the way politely (您可以去网点咨询一下, 建议您
联系商户, 麻烦您问一下收款行) or together with help of one's own (我把网点电话发给您) is service.

A clause is a brush-off when, in that order,
* the customer is the one sent (你/您, or 自己 with no 我 before it),
* a go/ask/find verb sends them (找, 问, heard by sound too: 照 is 找; 去…问; doubled: 问问; 打 a party's line),
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
from qa_pipeline.text.questions import asks
from qa_pipeline.types import Utterance

__all__ = ["LABEL", "Sending", "sending_in", "sent_elsewhere"]

LABEL = "推诿：叫客户另找他处"

# The verbs that send, by sound (ASR writes 找 as 照 or 兆, 问 as 文 or 闻).
_VERB_SOUNDS = {"zhao": "找", "wen": "问"}
# Last characters of a party one can be sent to: a place (网点, 营业厅, 柜台, 收款行, 社保局, 派出所,
# 法院, 中心), a body (厂商, 商户, 商家, 公司, 部门, 平台, 机构, 单位, 居委会, 物业, 旅行社), people (他们, 对方, 经理, 柜员, 警察,
# 网点的人), a side (那边) or a shop (超市, 商场, 加油站). 店 is 网点 as ASR often writes it, and 听 is
# 营业厅 (Whisper writes 营业听 more often than not on our recordings).
_PARTY_ENDS = set("点厅听台行局所院心商户家司门构位们方理员察人边店处会业社市场站")
# Before the verb these make a command a suggestion or a requirement: not a brush-off.
_SOFTENERS = ("可以", "建议", "麻烦", "需要", "请", "要", "能", "最好", "方便", "不妨", "也可", "帮", "替", "陪", "让",
              "如果", "要是", "的话", "到时候", "再")
# Help of the agent's own in the same reply (我帮您联系网点, 我把电话发给您, 给您转接).
_OWN_HELP = ("帮您", "给您", "为您", "替您", "转接", "发给您", "发您", "我联系", "我们联系", "我们会", "我会")
_NEGATIONS = ("不", "没", "别")
# Disowning beside the command (…，我们这边管不了; …，别来问我们): with it, 您得去… is sending away too.
_DISOWNING = ("管不了", "管不到", "不归", "别问", "别来", "别打", "没关系", "处理不了", "办不了", "帮不了", "弄不了", "不管",
              "哪知道", "哪清楚", "哪晓得")  # …or the rhetorical not-knowing (我哪知道，你得问商户)
# In what follows the verb, these end a plan, not a party (找大堂经理就行了: 行 is no bank there).
_PLAN_WORDS = ("就", "才", "可以")
# Before 地方, these make it another party's place (找别的地方问吧), not a spot to stand in.
_OTHER = ("别的", "别", "其他", "其它", "另外")
# What may follow the party to end the command, with the south-western command particles too (你去网点问嘛,
# 去问收款行噻).
_TAIL_WORDS = re.compile(r"(?:去|去问|问|问问|问一下|查|查查|去查|办|去办|一下)?(?:吧|啊|呀|了|哈|嘛|噻)?")
_TAIL = re.compile(_TAIL_WORDS.pattern + "$")
# ...or a particle, then the agent disowning the matter or taking the line back (我们这边管不了, 别打这个电话了).
_THEN_DISOWNS = re.compile(_TAIL_WORDS.pattern + r"(?<=[吧去嘛噻])(?=我们|我这|这边|这个不|电话里|别)|" + _TAIL_WORDS.pattern + "(?=别)")
# How far before the customer a softener still governs the command (麻烦您, 最好还是您).
_SOFTENER_REACH = 4
_SENDING = re.compile(r"(?:去|到)?(?P<before>[\u4e00-\u9fff]{0,8}?)(?P<verb>找|问|打)(?P=verb)?(?P<party>[\u4e00-\u9fff]{0,10}?)$")
# 打 sends only to a party's line (您自己打信用卡中心的电话吧), never 打 alone (打个电话, 打款).
_OUR_LINE = ("我们", "咱们", "我行", "本行", "我这")
_LINE = re.compile(r"[\u4e00-\u9fff]*[" + "".join(sorted(_PARTY_ENDS)) + r"]的?(?:电话|热线)$")


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
    stated = _stated(clause)
    if stated is None:
        return None
    text = _verbs_by_sound(stated)
    plain = text.rstrip("，,。.！!？?；; ")
    for opened, subject in _subjects(text):
        for stop in range(len(plain), subject, -1):
            if not _command_ends(plain[stop:]):
                continue
            sent = _SENDING.match(plain, subject, stop)
            if sent is None or not _party(sent.group("verb"), sent.group("before"), sent.group("party")):
                continue
            before_verb = plain[max(0, opened - _SOFTENER_REACH):sent.start("verb")]
            end = stop + len(_TAIL_WORDS.match(plain, stop).group())
            return Sending(clause.start_char + opened, clause.start_char + end, _excused(utterance.text, before_verb))
    return None


# Whisper writes the command's 嘛 as 吗 and adds a question mark (你去网点问吗？): right after the sending
# verb or 去, with nothing else in the clause asking, it commands (an agent asking the customer's plan says
# 您要去…问吗 or 问过吗, which 要 and 过 keep apart).
_MA_AFTER_SENDING = re.compile(r"(?<=[问去])吗(?=[？?。.！!，,]*$)")


def _stated(clause: Clause) -> str | None:
    """The clause's text as a command reads it (吗 heard for 嘛 put back), or None if it asks or supposes."""
    if clause.hypothetical:
        return None
    if not clause.question or clause.only_by_ba:
        return clause.text
    heard = _MA_AFTER_SENDING.search(clause.text)
    if heard is None or asks(clause.text[: heard.start()]):
        return None
    return clause.text[: heard.start()] + "嘛" + clause.text[heard.end():]


def _command_ends(rest: str) -> bool:
    """The command ends the clause, or ends with a particle where the agent goes on to disown the matter
    (您去问网点吧我们这边管不了 as ASR runs it together)."""
    return bool(_TAIL.match(rest) or _THEN_DISOWNS.match(rest))


def _excused(reply: str, before_verb: str) -> bool:
    """Softened before the verb (可以, 建议…; 得 unless the reply disowns the matter) or helped in the reply."""
    before = before_verb.replace("要不", "")
    disowned = any(word in reply for word in _DISOWNING)
    softened = any(word in before for word in _SOFTENERS) or ("得" in before and not disowned)
    return softened or _offers_help(reply)


def _subjects(text: str) -> list[tuple[int, int]]:
    """Where the customer as subject may start and the offset just after it (你/您, then 自己/直接/就…),
    every 你/您 in order: a clause ASR ran together (是您手机的问题这个您去问厂商吧) has several.
    自己 alone counts when no 我 stands before it (自己找网点去; not 我自己去问)."""
    found = [(at, _after_adverbs(text, at + 1)) for at, char in enumerate(text)
             if char in "你您" and text[at + 1:at + 2] != "的"]  # 您的卡: a possessive, not the subject
    at = text.find("自己")
    if not found and at >= 0 and "我" not in text[:at]:
        found.append((at, _after_adverbs(text, at)))
    return found


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


def _party(verb: str, before: str, party: str) -> bool:
    """The place gone to or the one asked is a party, not a thing (找一下验证码, 问问题)."""
    if verb == "打":  # …您随时打我们的热线: the bank's own line is no other party
        return bool(_LINE.match(party)) and not party.startswith(_OUR_LINE)
    if party.startswith(("到", "着", "找", "问", "我", "题", "清", "明白")):
        return False
    if party.endswith("地方") and not party.startswith(_OTHER):
        return False  # 找个光线亮一点的地方: a spot to stand in; 找别的地方问 sends away
    if party:  # what follows the verb is the one asked (去网点找柜员), not the rest of a plan (…找经理就行了)
        return party[-1] in _PARTY_ENDS and not any(word in party for word in _PLAN_WORDS)
    return before != "" and before[-1] in _PARTY_ENDS


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


# 问 after 去 heard without its nasal (你去为收款行吧): 为 there asks, unless it is for someone (去为您办).
_WEN_AS_WEI = re.compile(r"(?<=去)为(?![您你他她人大什])")


@lru_cache(maxsize=4096)
def _verbs_by_sound(text: str) -> str:
    """``text`` with a character that sounds like 找 or 问 written as that verb, same length."""
    text = _WEN_AS_WEI.sub("问", text)
    return "".join(_VERB_SOUNDS.get(s, c) for c, s in zip(text, syllables_of(text)))
