"""Offending stretches: the findings of one utterance that make one offence, and those that make two.

A forbidden-phrase finding next to another of the same kind (不行，这个真不行), in one sentence with one
short clause between them, disowning then sending away (不归我们管。您去找网点吧), or a rush and the queue
it is hurried for, are one offending stretch; not knowing then sending away, a flat refusal then
telling the customer off, and cutting the customer short (or reproaching them with how often it was
said) then refusing, blaming or sending away, are two. ``one_per_stretch`` keeps one finding per
stretch, spanning it all.
"""

from __future__ import annotations

import re
from dataclasses import replace

from qa_pipeline.policy.policy import Policy
from qa_pipeline.rules.base import Hit
from qa_pipeline.rules.judge import Judged, clauses_of
from qa_pipeline.rules.not_knowing import not_knowing
from qa_pipeline.rules.outcomes import YOURSELF
from qa_pipeline.rules.refusals import CHANNEL_LABEL, LABEL as REFUSAL_LABEL
from qa_pipeline.rules.sent_elsewhere import LABEL as SENT_ELSEWHERE, sending_in
from qa_pipeline.text.analysis import clause_at, sentence_index
from qa_pipeline.text.match import PhraseMatch
from qa_pipeline.text.normalize import match_form

__all__ = ["SHORT_CLAUSE_CHARS", "kinds_apart", "mocks", "one_per_stretch", "taken_in"]


# Findings of one kind this close in one utterance are one offending stretch (不行，这个真不行), and so are
# findings of one sentence with one short clause between them (是您自己没看，说没人告诉您，那是您搞错了);
# an explanation between them leaves two (您这样说就不对了，每次我们都发短信提醒过，是您自己没注意), and so
# do two kinds: not knowing, then sending the customer away (我也不清楚，你问别人吧), is two offences.
# Disowning the matter and sending the customer away (不归我们管。您去找网点吧) is one, even across a full stop.
_ADJACENT_CHARS = 2
SHORT_CLAUSE_CHARS = 8
# Sending the customer away, and only saying the line cannot do it (电话上改不了，您找网点去 is one
# brush-off: the line's limit is why the customer is sent).
_AWAY = frozenset({SENT_ELSEWHERE, CHANNEL_LABEL})


def _adjacent(a: Hit, b: Hit, policy: Policy) -> bool:
    if a.utterance is not b.utterance:
        return False
    first, second = sorted((a.match, b.match), key=lambda m: m.start_char)
    text = a.utterance.text
    if any(word in second.matched for word in _OTHERS_MANAGE):
        # 这么简单的都弄不明白，现在小学生都会用: the comparison drives the same mockery home
        return len(match_form(text[first.end_char:second.start_char])) <= SHORT_CLAUSE_CHARS
    if _blames(first) and any(word in match_form(second.matched) for word in _BLAME_VERDICTS):
        # 是你自己把验证码给人家的这钱转出去了怪谁呢: who is to blame, said after what the customer did, is
        # the verdict on it, in the same sentence however long ASR ran it on
        return sentence_index(text, first.start_char) == sentence_index(text, second.start_char)
    if not_knowing(a) != not_knowing(b):
        # 我也不清楚，你问别人吧: not knowing and sending away are two offences; not knowing and leaving
        # the customer to look it up themself (我哪知道，您自己翻翻看吧) is one
        return _left_to_look(a, b, policy)
    if kinds_apart(a, b):
        return False  # 不行，你错了: a flat refusal, then telling the customer off, are two offences
    if second.start_char - first.end_char <= _ADJACENT_CHARS:
        return True
    if _AWAY & {a.match.phrase, b.match.phrase} or (_disowns(a) and _sends(b)) or (_disowns(b) and _sends(a)):
        # 不归我们客服管。您找当时的经理去: disowning, then the way out, is one brush-off across a full stop;
        # the first finding's clause may say more of it (您去找手机厂商问问吧，这个不归我们管)
        # (您去找网点就行了我们这边管不了, the comma lost, is one clause: the place named may run longer)
        said = clause_at(clauses_of(a.utterance, policy), first.start_char)
        one_clause = said is not None and said.end_char > second.start_char
        end = max(first.end_char, said.end_char) if said is not None and not one_clause else first.end_char
        gap = text[end:second.start_char]
        return len(match_form(gap)) <= SHORT_CLAUSE_CHARS * (2 if one_clause else 1)
    if any(word in match_form(first.matched) for word in _LEADS_INTO_REPLY):
        return True  # 我刚才不是说了吗？…您再说也没用: the reproach opens the reply it goes on to repeat
    if any(word in match_form(second.matched) for word in _DRIVEN_HOME):
        # 你快点讲重点嘛？后面还有好多人排队: the queue is the reason for the rush before it, and 你到底要说啥子嘛，
        # 快点说 hurries the question it follows, across a question mark ASR may have put there
        return len(match_form(text[first.end_char:second.start_char])) <= SHORT_CLAUSE_CHARS
    if sentence_index(text, first.start_char) != sentence_index(text, second.start_char):
        return False
    clauses = clauses_of(a.utterance, policy)
    index = [sum(1 for c in clauses if c.start_char <= m.start_char) for m in (first, second)]
    if index[0] == index[1]:
        # one clause, as ASR writes a sentence without its commas: the words between must be as short
        # as the clause that may stand between two findings of one stretch
        return len(match_form(text[first.end_char:second.start_char])) <= SHORT_CLAUSE_CHARS
    between = clauses[index[0]: index[1] - 1]
    return len(between) <= 1 and sum(len(c.text) for c in between) <= SHORT_CLAUSE_CHARS


# Others who manage what the customer cannot (小学生都会, 一般人都懂): said after a mockery, its end.
_OTHERS_MANAGE = ("小学生都", "小孩子都", "小孩都", "谁都看得", "一般人都", "正常人都", "是个人都", "三岁小孩")
# Who is to blame (怪谁, 这也怪不着我们), said after a finding about the customer (是您自己…, 你…错了).
_BLAME_VERDICTS = ("怪谁", "怪不", "能怪", "赖不", "怨不得")


def _blames(match: PhraseMatch) -> bool:
    return any(word in match.phrase for word in ("自己", "你", "您"))


# "Didn't I say so" (我刚才不是说了吗, 我都跟您说了) and "what's wrong with my manner" (我态度怎么了？):
# said first, the retort leads into the rest of the same reply.
_LEADS_INTO_REPLY = ("不是说了", "不是跟您说了", "不是跟你说了", "不是告诉您了", "不是告诉你了", "不是说过", "态度怎么了",
                     "都说了", "都说过", "都讲了", "都讲过", "都跟您", "都跟你", "已经说", "已经讲", "已经跟",
                     "不是收了", "不是收过")
# A flat refusal, and the kinds of offence that are not a refusal restated: telling the customer they
# are wrong or to blame (是您自己没核对, found as 自己… by a head and its outcome; 怪谁), declaring their
# words useless, sending them elsewhere, reproaching them with how often it was said (讲过三遍了，不行)
# (不行，这个办不了 restates one refusal).
_FLAT_REFUSALS = ("不行", "不可以", "不能", REFUSAL_LABEL)
_OTHER_KINDS = ("错", "没用", "找", "别来问", "别问我", "怪", "自己…")
# Mocking what the customer cannot understand or do (这么简单都搞不懂, 连这点常识都没有): telling them off.
_MOCKING = ("不懂", "不明白", "简单", "常识", "都不会", "搞不来", "弄不来")
# The count of times already said (说了多少遍, 讲了好几遍); asking again declared futile (问几遍都一样)
# restates the refusal instead.
_TOLD_TIMES = re.compile(r"[说讲收].*[遍便变]")
# Cutting the customer short (别说了, 听我说完, 行了行了, 别打断我, 别嚷了; 听我收完 as ASR hears 听我说完).
_CUTTING_OFF = ("别说了", "听我说", "听我讲", "听我收", "行了行了", "好了好了", "打断", "别插", "别嚷", "别吵")


def kinds_apart(a: Hit, b: Hit) -> bool:
    """The two findings are offences of different kinds: a flat refusal or a cutting-short, and a
    telling-off (blame, mockery, futility), a send-away or a count of times said."""

    def refuses(hit: Hit) -> bool:
        return hit.match.phrase.lstrip("≈") in _FLAT_REFUSALS

    def other(hit: Hit) -> bool:
        return (any(word in hit.match.phrase for word in _OTHER_KINDS) or mocks(hit)
                or bool(_TOLD_TIMES.search(hit.match.phrase)))

    def cuts_off(hit: Hit) -> bool:
        return any(word in hit.match.phrase for word in _CUTTING_OFF)

    def counts(hit: Hit) -> bool:
        return bool(_TOLD_TIMES.search(hit.match.phrase)) and not mocks(hit)

    # 您别说了，改址办不了 / 行了行了，是您自己没填: cutting the customer short, then refusing, blaming
    # or sending away, are two (cutting short, then rushing them, 行了行了，你快说, is one impatience, and so
    # is cutting short with the count of times it was said, 行了行了，我都说了三遍了)
    return any(refuses(x) and other(y) or cuts_off(x) and (refuses(y) or other(y) and not counts(y))
               for x, y in ((a, b), (b, a)))


def mocks(hit: Hit) -> bool:
    """The finding mocks what the customer cannot understand or do (这么简单都搞不懂)."""
    return any(word in hit.match.phrase for word in _MOCKING)


# Others waiting (后面还有好多人排队, 还有好多电话): said after a rush, the reason for it.
_OTHERS_WAITING = ("排队", "排着", "好多电话", "很多电话", "一堆电话", "人等着", "一堆人")
# The customer told to hurry up (快点说, 说重点), said after a retort: the same impatience driven home.
_HURRY = ("快点说", "说快点", "快说", "说重点", "讲重点")
# Either, said after a retort or a rush, drives the same impatience home.
_DRIVEN_HOME = _OTHERS_WAITING + _HURRY
# Looking it up oneself, not going to a party (您自己查吧, 你自己琢磨吧, 您自己上网查).
_LOOKING = ("看吧", "查吧", "弄吧", "琢磨吧", "研究吧", "去查", "上网查", "想办法", "看着办")


def _left_to_look(a: Hit, b: Hit, policy: Policy) -> bool:
    """Not knowing, then in the same sentence and at once 您自己… (look, check, go and see yourself)."""
    first, second = sorted((a, b), key=lambda h: h.match.start_char)
    phrase = second.match.phrase.lstrip("≈")
    if not not_knowing(first) or not phrase.startswith(YOURSELF) or not phrase.endswith(_LOOKING):
        return False  # 您自己去网点问吧 sends the customer to a party; 是你自己输错的 blames them
    clause = clause_at(clauses_of(second.utterance, policy), second.match.start_char)
    if clause is not None and sending_in(second.utterance, clause) is not None:
        return False  # 你自己去… matched as "go and look", but the clause goes on to a party (去网点问吧)
    text = first.utterance.text
    if sentence_index(text, first.match.start_char) != sentence_index(text, second.match.start_char):
        return False
    return len(match_form(text[first.match.end_char:second.match.start_char])) <= SHORT_CLAUSE_CHARS


# Words that disown the matter (跟我们银行没关系, 不归我们管, 与我们无关).
_DISOWNING = ("没关系", "无关", "不归", "不关", "管不了", "管不到", "不相干", "没啥关系", "没什么关系")


def _disowns(hit: Hit) -> bool:
    return any(word in hit.match.phrase or word in hit.match.matched for word in _DISOWNING)


def _sends(hit: Hit) -> bool:
    """The finding sends the customer elsewhere (你去找商户, 您问网点去), also as heard by a phrase of
    its own words (你自己去网点 found by sound as 你自己去查)."""
    return "找" in hit.match.phrase or "问" in hit.match.phrase or "自己去" in match_form(hit.match.matched)


def one_per_stretch(found: list[tuple[str, Judged]], policy: Policy) -> list[tuple[str, Judged]]:
    """One finding per offending stretch, named by its first finding and spanning them all, so the
    evidence a reviewer reads and hears is the whole stretch (您得去找商户，这跟我们没关系)."""
    kept: list[tuple[str, Judged]] = []
    spans: list[tuple[int, int]] = []
    for phrase, judged in found:
        match = judged.hit.match
        # a stretch is judged by all it holds so far (你去找派出所，或者你去找别人问，我这边管不了)
        at = next((i for i, (_, other) in enumerate(kept)
                   if _adjacent(judged.hit, _stretched(other, spans[i]).hit, policy)), None)
        if at is None:
            kept.append((phrase, judged))
            spans.append((match.start_char, match.end_char))
        else:
            spans[at] = (min(spans[at][0], match.start_char), max(spans[at][1], match.end_char))
    return [(phrase, _stretched(judged, span)) for (phrase, judged), span in zip(kept, spans)]


def taken_in(found: list[tuple[str, Judged]], restating: list[Judged]) -> list[tuple[str, Judged]]:
    """The findings, each spanning what restates it in its sentence (我都跟你说了，你这个人咋个听不懂呢:
    the reproach found, the taunt after it the model's), so its evidence is the whole stretch; a
    restatement with no finding in its sentence is left out."""
    out = list(found)
    for judged in restating:
        hit = judged.hit
        sentence = sentence_index(hit.utterance.text, hit.match.start_char)
        near = [(_distance(other.hit.match, hit.match), index) for index, (_, other) in enumerate(out)
                if other.hit.utterance is hit.utterance
                and sentence_index(hit.utterance.text, other.hit.match.start_char) == sentence]
        if not near:
            continue
        index = min(near)[1]  # the nearest finding: what it restates
        phrase, other = out[index]
        match = other.hit.match
        span = (min(match.start_char, hit.match.start_char), max(match.end_char, hit.match.end_char))
        out[index] = (phrase, _stretched(other, span))
    return out


def _distance(a: PhraseMatch, b: PhraseMatch) -> int:
    """Characters between two matches of one text (0 when they meet or overlap)."""
    return max(0, b.start_char - a.end_char, a.start_char - b.end_char)


def _stretched(judged: Judged, span: tuple[int, int]) -> Judged:
    match, text = judged.hit.match, judged.hit.utterance.text
    if (match.start_char, match.end_char) == span:
        return judged
    wider = replace(match, matched=text[span[0]:span[1]], start_char=span[0], end_char=span[1])
    return replace(judged, hit=Hit(judged.hit.utterance, wider))
