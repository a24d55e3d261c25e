"""The outbound script's own elements: the customer addressed by title or name, and the agent
named as 客户服务代表 (which stands for the ID in the outbound greeting); the closing's two parts."""

from __future__ import annotations

import re
from typing import Iterable

from rapidfuzz.distance import Levenshtein

from qa_pipeline.policy.policy import Policy
from qa_pipeline.rules.base import find_in
from qa_pipeline.text.match import index_text
from qa_pipeline.types import Utterance

_CJK = "\u4e00-\u9fff"
# A character before 先生/女士 that makes it no address (这位先生, 女士们先生们, 是先生吗).
_NOT_A_NAME = "位们的是个这那各和"
_CLAUSES = re.compile(r"[，,。．.？?！!；;：:、\s]+")
_HELLO = "(?:您好|你好)"
_INTERJECTIONS = "喂嗯啊哎诶噢哦呃唉"
# 是 as Whisper also writes it where a name is asked for (请问试王女士吗), and the particles that may
# close the question.
_SHI = "是试事市式"
_QUESTION_END = "吗吧嘛么啊呀"
# 请问(您)是 (是 heard 世 too) and whatever describes the customer before the name and title asked for
# (请问是开面馆的…): the opening both patterns for a customer asked for by title share.
_ASKED_WHO = rf"(?:请问您?|您)[{_SHI}世][{_CJK}]*?"
# The address slot: one character (a surname) and two more right before the hello opening a turn
# (a comma may stand between: 琉仙生，你好 for 刘先生，您好).
_SLOT = re.compile(rf"^([{_CJK}])([{_CJK}]{{2}})[，,、\s]*(?:{_HELLO}|我是)")


def _surnames(policy: Policy) -> str:
    names = sorted(policy.standard.outbound.surnames, key=len, reverse=True)
    return "|".join(re.escape(n) for n in names) or "(?!)"


def addressed(utterances: Iterable[Utterance], policy: Policy) -> bool:
    """The customer addressed by title (王先生, 刘阿姨) or by name (张伟您好, 请问是王建国吗)."""
    rules = policy.standard.outbound
    titles = "|".join(re.escape(t) for t in rules.address_titles) or "(?!)"
    familiar = "|".join(re.escape(t) for t in rules.address_familiar) or "(?!)"
    # 孙叔叔，您好 / 刘阿姨您好: a familiar title only where the address stands, opening its clause
    by_familiar = re.compile(rf"^[{_INTERJECTIONS}]?[{_CJK}]{{1,2}}(?<![{_NOT_A_NAME}])(?:{familiar})(?:{_HELLO})?$|^[{_CJK}]{{1,2}}(?:{familiar}){_HELLO}")
    # 请问是开面馆的张老板吗 / 请问您是王德芬阿姨吗 (是 heard 世): a familiar title asked for, ending the question
    by_familiar_asked = re.compile(rf"{_ASKED_WHO}[{_CJK}](?<![{_NOT_A_NAME}])(?:{familiar})[{_QUESTION_END}]?$")
    surnames = _surnames(policy)
    by_title = re.compile(rf"[{_CJK}](?<![{_NOT_A_NAME}])(?:{titles})")
    name = rf"(?:{surnames})[{_CJK}]{{1,2}}?"
    by_name = re.compile(rf"^{name}{_HELLO}|(?:请问是|请问您是|您是){name}(?:吗|本人)")
    bare_titles = rules.address_titles + rules.address_familiar
    for utterance in utterances:
        if (_title_heard(utterance.text, rules.address_titles) or _slot_before_hello(utterance.text)
                or _asked_for(utterance.text, bare_titles)):
            return True
        for clause in _CLAUSES.split(utterance.text):
            if (by_title.search(clause) or by_name.search(clause) or by_familiar.search(clause)
                    or by_familiar_asked.search(clause) or _asked_after_description(clause, bare_titles)
                    or _title_heard(clause, rules.address_titles) or _asked_by_title(clause, rules.address_titles)):
                return True
    return False


# 请问是蒲女士吗 asked after the introduction: 是 (or its sound), a name of one to three characters, a
# title, then at most a question particle ending the clause (heard 请问是普女师吗, 是张你事吧, 试和先生忙).
_ASKED = re.compile(rf"[{_SHI}](?P<name>[{_CJK}]{{1,3}}?)(?P<title>[{_CJK}]{{2}})[{_QUESTION_END}忙]?$")
# Toneless pinyin letters the title may be off here, where no hello anchors the slot: 女士 heard 女师 or
# 泥师 (one letter), never 的事 (two).
_ASKED_SLIPS = 1


# 请问是林女士吗 / 是杨女士吧 / 请问是周文华老师吗, however Whisper spelled name and title (请问是林宁师茫,
# 请问是阿姨鼓励你事吗, 是杨御世伯，我是…): asking for the customer by name is the address. The slot: two
# to seven characters after 是 that opens the turn or follows 请问/您好, up to the clause's end or the
# agent's 我是/这里是; a closing question particle is known by its sound (吗/嘛/吧/么, heard 茫/伯/疤).
_ASKING = re.compile(
    rf"(?:^[{_INTERJECTIONS}]?|请问您?|[您你]好)[，,、\s]*是(?P<slot>[{_CJK}]{{2,7}}?)(?=[，,。．.？?！!；;\s]|我是|这里是|$)")
_PARTICLE_SOUNDS = frozenset({"ma", "ba", "mang", "bo", "me", "mo", "a", "ya"})
# Slots that ask for a role or a thing, not a person (请问是本人吗, 请问是机主吗, 请问是哪位, 请问是这样的).
_NOT_ASKED_FOR = ("本人", "机主", "持卡人", "户主", "家属", "家人", "哪", "谁", "什么", "这", "那", "您", "你们",
                  "我", "的", "不", "没", "银行", "客服", "关于", "要", "想")


def _asked_for(text: str, bare_titles: tuple[str, ...]) -> bool:
    """The agent asks whether the one who answered is the customer, by name (see ``_ASKING``); a
    title alone names nobody (请问您是老板吗)."""
    for asked in _ASKING.finditer(text):
        slot = asked.group("slot")
        readings = index_text(slot[-1]).readings
        if readings and readings[-1] & _PARTICLE_SOUNDS:
            slot = slot[:-1]
        if 2 <= len(slot) <= 6 and slot not in bare_titles and not any(word in slot for word in _NOT_ASKED_FOR):
            return True
    return False


def _asked_by_title(clause: str, titles: tuple[str, ...]) -> bool:
    """The customer asked for by name and title (请问是蒲女士吗), the title as ASR may bend it."""
    asked = _ASKED.search(clause)
    if asked is None or asked.group("name")[0] in _NOT_A_SURNAME + _INTERJECTIONS:
        return False
    return _near_title(asked.group("title"), titles, _ASKED_SLIPS)


# 请问是河坝村种柑橘的罗女士吗 asked with who the customer is before the name: the question ends with a
# surname-sized character and a title heard by its sound alone (罗女是吗, 罗老伴吗, 罗老版吗). With the
# description in front the slot is wide, so the title's syllables must be exact.
_ASKED_DESCRIBED = re.compile(rf"{_ASKED_WHO}(?P<name>[{_CJK}])(?P<title>[{_CJK}]{{2}})[{_QUESTION_END}忙]?$")


def _asked_after_description(clause: str, titles: tuple[str, ...]) -> bool:
    """The customer asked for by a description, a name and a title (see ``_ASKED_DESCRIBED``); 请问您是
    做生意的老板吗 asks for a role (的 before the title), not a person."""
    asked = _ASKED_DESCRIBED.search(clause)
    if asked is None or asked.group("name") in _NOT_A_NAME + _NOT_A_SURNAME + _INTERJECTIONS:
        return False
    return _near_title(asked.group("title"), titles, 0)


def _near_title(heard: str, titles: tuple[str, ...], slips: int) -> bool:
    """Two characters that sound like a two-character title, at most ``slips`` pinyin letters off."""
    sound = "".join(index_text(heard).syllables)
    spoken = ["".join(index_text(title).syllables) for title in titles if len(title) == 2]
    return any(Levenshtein.distance(sound, title) <= slips for title in spoken)


def _title_heard(clause: str, titles: tuple[str, ...]) -> bool:
    """A title misheard in the address slot: 照你是您好 for 赵女士，您好 (nishi for nvshi), 林宜是，我是…
    for 林女士，我是… (yishi).

    Only where an address is expected (a surname-sized character, two characters, then the hello or
    the 我是 that opens the introduction) and at most two letters of toneless pinyin off.
    """
    slot = _SLOT.match(clause)
    if slot is None or slot.group(1) in _NOT_A_NAME + _INTERJECTIONS:
        return False
    if _near_title(slot.group(2), titles, _TITLE_SLIPS):
        return True
    return slot.group(1) not in _NOT_A_SURNAME and _closed_by_title(slot.group(2), titles)


# The words an outbound call opens with before its hello (吴女士，您好 heard 无女性，你好; 陈宁宁，你好;
# 胡老板，你好): two to four characters (a surname may be heard as a figure: 5女性 for 伍女士), after at
# most an interjection. Whatever Whisper made of the name and title, that slot holds the address;
# 您好，我是… and 喂，您好 leave it empty.
_OPENING_SLOT = re.compile(rf"^[{_INTERJECTIONS}]?[，,、\s]*(?P<slot>[{_CJK}\d]{{2,4}})[，,、\s]*{_HELLO}")
# What may stand there and address nobody (打扰了，您好; 早上好 and 不好意思 by their 好; 这里是…银行 by its 行).
_NO_ADDRESS = ("打扰", "好", "请问", "我是", "这里", "这边", "行")


def _slot_before_hello(text: str) -> bool:
    """The utterance opens with a name-sized slot and then the hello (see ``_OPENING_SLOT``)."""
    said = _OPENING_SLOT.match(text)
    if said is None:
        return False
    slot = said.group("slot")
    if all(c in _INTERJECTIONS for c in slot):
        return False  # 嗯嗯，您好
    # 和 opening a turn joins nothing: it is the surname 何 heard (和女士您好)
    return slot[0] not in _NOT_A_SURNAME + _NOT_A_NAME.replace("和", "") and not any(word in slot for word in _NO_ADDRESS)


# Words that open a clause but are no surname (我们是，您好 / 请问是，您好 / 就是，你好).
_NOT_A_SURNAME = "我你您他她请就也都还"


def _closed_by_title(heard: str, titles: tuple[str, ...]) -> bool:
    """The slot's last character read as a title's last syllable (灵敏是 / 李庆氏 for 李女士: shì; 王仙声
    for 王先生: shēng) while its middle is garbled beyond two letters: the name, then the title's close,
    then the hello — the address the outbound script opens with."""
    readings = index_text(heard).readings
    endings = {syllable for title in titles if len(title) == 2 for syllable in index_text(title[-1]).syllables}
    return bool(readings) and bool(readings[-1] & endings)


# Letters of toneless pinyin a title may be off in the slot: Whisper base hears 女士 (nvshi) as 宜是/毅是
# (yishi), two letters off; the slot itself (surname, two characters, then 您好 or 我是) keeps 我是您好 out.
_TITLE_SLIPS = 2


def representative_named(utterances: Iterable[Utterance], policy: Policy) -> bool:
    return bool(find_in(utterances, policy.standard.outbound.representative, policy))


def outbound_closing(last: tuple[Utterance, ...], policy: Policy) -> bool:
    """Thanks (谢谢您 / 感谢您的合作 / 感谢您的接听…) and a farewell (再见) in the last utterances.

    A thanks inside an inbound closing (谢谢您的来电) is not the outbound thanks: the bank called.
    """
    inbound = find_in(last, policy.closing_inbound, policy)
    thanks = [h for h in find_in(last, policy.closing_outbound, policy) if not any(h.overlaps(i) for i in inbound)]
    return bool(thanks) and bool(find_in(last, policy.closing_outbound_farewell, policy))
