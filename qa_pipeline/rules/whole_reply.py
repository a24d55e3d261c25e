"""A listed refusal (不行, 不可以, 不) said as the whole reply or opening it, alone or after what it is about
(这个不可以, 那真不行).

The bare 不 and its kin are taboo as an answer, not as a word: 不，我们这边不提供这个服务,
不退。 and 不行不行，额度是系统定的 refuse, 不不不，这是应该的 deflects thanks, and 不按时还款就不能提额 is a
condition. ASR often drops the comma after the refusal, so the opening is also found where a new
subject or a second refusal follows it at once.
"""

from __future__ import annotations

import re

from qa_pipeline.policy.policy import ForbiddenPhrase, Policy
from qa_pipeline.rules.base import Hit
from qa_pipeline.rules.judge import clauses_of
from qa_pipeline.text.match import PhraseMatch, index_text
from qa_pipeline.text.normalize import match_form
from qa_pipeline.text.segment import is_dictionary_word
from qa_pipeline.types import Utterance

__all__ = ["heard_doubled", "whole_reply"]


# What may close a bare refusal without changing it: particles and the customer addressed (不可以的女士).
_REFUSAL_TAILS = ("女士", "先生", "小姐", "您", "你", "的", "啊", "呀", "哦", "了", "嘛")
# A polite deflection after 不不 (不不不，这是应该的; 不用谢): modesty, not a refusal.
_DEFLECTIONS = ("应该的", "应该做的", "客气", "不用谢", "不麻烦", "没关系", "不辛苦", "别这么说", "过奖")


# An apology right after the opening clause takes a false start back (不，不好意思，…).
_APOLOGIES = ("不好意思", "对不起", "抱歉", "sorry")


# Words that open a clause of their own after a bare refusal when ASR dropped the comma.
_NEW_CLAUSE = ("这个", "那个", "这", "那", "我们", "我", "您", "你", "这边", "我这边", "我们这边")


# A clause that says no in its own words (改不了, 不能退, 没法撤); 不 alone opens it when ASR drops the comma.
_SAYS_NO = ("不了", "不能", "没法", "没办法", "不可以", "不予", "不给", "不行")
# Words that make 不 part of a condition (不按时还款就不能提额, 不及时处理的话用不了): no bare refusal.
_CONDITION_MARKS = ("的话", "就", "会", "才", "否则", "要不然")
# How soon the refusal must follow (不，系统里改不了); a long run before a 不能 is an explanation, often
# of a word ASR heard as 不 (补卡需要本人…到网点办理，不能代办).
_SAYS_NO_REACH = 12


def _opens_before_new_clause(core: str, forms: set[str]) -> bool:
    """The clause opens with a refusal of two characters or more and a new subject follows at once."""
    for form in sorted((f for f in forms if len(f) > 1), key=len, reverse=True):
        if core.startswith(form):
            return core[len(form):].startswith(_NEW_CLAUSE)
    return False


def _refused_again(rest: str) -> bool:
    """What follows a leading 不 refuses in its own words and is no condition the 不 belongs to."""
    near = rest[:_SAYS_NO_REACH]
    return any(word in near for word in _SAYS_NO) and not any(mark in rest for mark in _CONDITION_MARKS)


def whole_reply(hit: Hit, rule: ForbiddenPhrase, policy: Policy) -> bool:
    """The refusal is the whole reply, or the reply opens with it (不，我们这边不提供这个服务;
    不行不行，额度是系统定的; 不可以的女士，…), said once or repeated."""
    forms = {match_form(form) for form in rule.forms}
    text = hit.utterance.text
    if match_form(text) in forms:
        return True
    opening = clauses_of(hit.utterance, policy)[:1]
    if not opening or hit.match.start_char >= opening[0].end_char or opening[0].question:
        return False
    if any(word in match_form(text) for word in _DEFLECTIONS):
        return False
    if match_form(text[opening[0].end_char:]).startswith(_APOLOGIES):
        return False  # 不，不好意思，我说重了: a false start taken back at once
    tokens = [t for t in opening[0].tokens if t.strip("，,。 ")]
    if len(tokens) > 1 and match_form(tokens[0]) in forms and tokens[1] in _NEW_CLAUSE:
        return True  # 不这个没必要… as ASR writes 不，这个没必要…: the refusal stands alone before a new clause
    core = match_form(opening[0].text)
    if _opens_before_new_clause(core, forms):
        return True  # 不可能我都说了… as ASR writes 不可能，我都说了…: jieba splits 不/可能/我
    if len(tokens) > 2 and tokens[0] == "不" and _refused_again("".join(tokens[1:])):
        return True  # 不系统里改不了 as ASR writes 不，系统里改不了: 不 alone, then the refusal said out
    core = _without_topic(core)
    stripped = True
    while stripped:
        stripped = False
        for tail in _REFUSAL_TAILS:
            if core.endswith(tail) and len(core) > len(tail):
                core, stripped = core[: -len(tail)], True
    if any(core == form * (len(core) // len(form)) for form in forms if form and len(core) % len(form) == 0):
        return True
    return _said_by_sound(core, forms)


# What the refusal is about, said before it (这个不可以, 那真不行, 这事确实不能): the clause still only says no.
_TOPICS = ("这个事", "这件事", "这事儿", "这事", "这个", "那个", "这", "那")
_FIRMLY = ("真的", "真", "也", "肯定", "确实", "实在", "是")


def _without_topic(core: str) -> str:
    """The opening clause without a leading 这个/那 and the adverb after it (这个真不可以 → 不可以)."""
    for topic in _TOPICS:
        if core.startswith(topic) and len(core) > len(topic) + 1:
            core = core[len(topic):]
            for word in _FIRMLY:
                if core.startswith(word) and len(core) > len(word) + 1:
                    return core[len(word):]
            return core
    return core


def _said_by_sound(core: str, forms: set[str]) -> bool:
    """The opening clause is a refusal of two characters or more, once or repeated, by sound (不办 heard
    as 步伴, 不退 as 不推): the hit was found by sound, so the clause is compared by sound too."""
    heard = index_text(core).syllables
    for form in forms:
        said = index_text(form).syllables
        if len(said) > 1 and heard and len(heard) % len(said) == 0 and heard == said * (len(heard) // len(said)):
            return True
    return False


def heard_doubled(utterances: tuple[Utterance, ...], rule: ForbiddenPhrase) -> list[Hit]:
    """A reply that opens with a refusal of two characters or more said twice, as ASR writes it by
    sound in other characters (不行不行 heard as 步行步行): no other word is said twice at a reply's
    head, so the sound is enough. Said once it counts only as a clause of its own that is no word
    (不办，… heard as 步伴，…); a word (步行十分钟, 步行，十分钟就到) is left to its own meaning."""
    found = []
    for utterance in utterances:
        text = utterance.text.lstrip()
        head = re.match(r"[\u4e00-\u9fff]+", text)
        if head is None:
            continue
        opening = head.group(0)
        heard = index_text(opening).syllables
        alone = len(opening) < len(text) and not is_dictionary_word(opening)
        for form in rule.forms:
            said = index_text(form).syllables
            if len(said) < 2 or not (heard == said + said or (alone and heard == said)):
                continue
            start = utterance.text.find(opening)
            match = PhraseMatch(rule.phrase, opening, start, start + len(opening), 1.0)
            found.append(Hit(utterance, match))
            break
    return found
