"""Mono calls: a bare answer heard inside the asker's utterance is the other party's turn.

On a mixed channel a quick reply often stays inside the turn it answers: the customer asks
能带办吗？, the agent snaps 不！ a quarter of a second later, and the separation, which needs about a
second of a voice to cut it out, leaves the 不 inside the customer's utterance (or the agent asks
您还记得密码吗？ and the customer's 不知道 stays in the agent's). Nobody answers their own question
with a bare 不行 or 不知道, so ``split_replies`` cuts such a clause out of the utterance and gives
it to the other role, with a confidence under the review bar: the words moved it, not the voice,
and a reviewer sees it.

Only bare refusals and professions of ignorance are moved (the forms the forbidden-phrase check
reads), and only when all of these hold:

- the clause before it asks, or one of the two before it in the same sentence with only more of
  the request between (能不能让我爱人去办，我过两天再去看，不行): a question mark or 吗/吧/呢/么, or
  能不能/行不行/为什么 or any other A-not-A form ending it (中不中, 给不给) (具体卡在哪一步，我哪知道
  names no question put to anyone); or it asks the listener to do something for the speaker
  (你现在就把钱给我打到卡上，| 不可以: nobody refuses their own demand);
- the voice placed the utterance surely (a piece the voices could not place was placed by its
  words already, and may be the other party's whole);
- the asker does not go on with what they will do then (不行，我就去投诉 is the customer's own
  threat), nor, with no punctuation, with what they do not know (那好吧，我不知道还有这个规定: the
  pause cut 我不知道 off its object; and 那好吧 gives in, it asks nothing);
- the answer was not heard twice: when it ends the utterance right before the other party's next
  one and that turn opens with the same words (吗？不。 | 不，不能退), the recogniser put them in both
  and the other party's copy already stands; cut off the head of that turn (吗？不。 | 不能退), it
  is moved like any other.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Iterable

from qa_pipeline.text.analysis import Clause, clauses, sentence_index, word_offsets
from qa_pipeline.text.normalize import match_form
from qa_pipeline.text.questions import A_NOT_A, plain
from qa_pipeline.types import Role, Utterance

#: Whole-clause answers that refuse or profess not to know (after fillers and particles are dropped).
REPLIES = frozenset((
    "不", "不行", "不能", "不可以", "不可能", "那不行", "这不行", "这个不行", "办不了", "弄不了", "做不到",
    "不知道", "我不知道", "我也不知道", "我哪知道", "这我哪知道", "谁知道", "不清楚", "我不清楚", "我也不清楚",
    "不晓得", "说不上来", "我也说不上来",
))
_LEADING = ("就", "哦", "嗯", "呃", "啊")
_TRAILING = "啊呀呢的了吧哈"
#: After the answer, these make it the asker's own word on what they will do (不行，我就去投诉).
_ASKER_GOES_ON = ("我就", "就", "那我", "我要", "我得", "我去", "我还是")
#: How many clauses back in its sentence the question a bare answer answers may be.
ASKED_REACH = 2
#: A role moved by the words alone: always under the review bar (80 %).
REPLY_CONFIDENCE = 0.6
#: Only utterances whose voice was placed at least this surely (the review bar) are split.
SURE_VOICE = 0.8
#: An answer ending its utterance this close before the other party's next one is that turn's head.
HEAD_OF_NEXT_S = 1.0
# An A-not-A form ending the clause asks (中不中, 给不给, 对不对), not only the common ones _ASKS names;
# inside it, it may be what is not known (后面到没到账，我不知道: the agent's own words).
_A_NOT_A_ENDING = re.compile(A_NOT_A.pattern + "$")
_ASKS = re.compile(r"[?？]$|[吗吧呢么]$|能不能|可不可以|行不行|是不是|有没有|会不会|要不要|为什么|凭什么")
#: The listener asked to do something for the speaker (你帮我挂失, 您给我退回来, 麻烦你…).
_REQUESTS = re.compile(r"(?:你|您)[\u4e00-\u9fff]{0,6}?(?:帮我|给我|替我)|^(?:麻烦|请)(?:你|您)")
#: Giving in (那好吧, 行吧, 算了吧) ends in 吧 but asks nothing.
_ACQUIESCES = re.compile(r"^(?:那|嗯|哦|唉)?(?:好|行|算了|也行|也好|那好)吧[，,。.！!]?$")
#: A profession of ignorance that runs on into what is not known (我不知道还有这个规定): a clause that
#: the pause cut, not an answer; a refusal (不行) stands alone however the words go on.
_TAKES_OBJECT = ("知道", "清楚", "晓得")


def bare_reply(text: str) -> bool:
    """The clause is nothing but a refusal or 'I don't know' (不！, 那不行, 就我哪知道)."""
    form = match_form(text)
    while form.startswith(_LEADING) and len(form) > 1:
        form = form[1:]
    while form not in REPLIES and len(form) > 1 and form[-1] in _TRAILING:
        form = form[:-1]  # 不知道啊, 我哪知道呢 (but 办不了 keeps its 了)
    return form in REPLIES


def split_replies(utterances: Iterable[Utterance], pause_s: float = 0.45) -> list[Utterance]:
    """Every separated utterance, with bare answers to its own questions cut out and given to the
    other role; channel-named utterances (no ``role_confidence``) are left as they are."""
    ordered = sorted(utterances, key=lambda u: u.start_s)
    out: list[Utterance] = []
    for index, utterance in enumerate(ordered):
        following = next((u for u in ordered[index + 1:] if u.role != utterance.role), None)
        out += _split(utterance, pause_s, following)
    out.sort(key=lambda u: u.start_s)
    return out


def _asks(clause: Clause) -> bool:
    said = clause.text.rstrip()
    asks = (_ASKS.search(said) is not None or _A_NOT_A_ENDING.search(plain(said)) is not None
            or _REQUESTS.search(said) is not None)
    return asks and _ACQUIESCES.match(said) is None


def _asked_before(text: str, found: tuple[Clause, ...], index: int) -> bool:
    """The clause before ``index`` asks, or one before it in the same sentence with only more of the
    request between (能不能让我爱人去办，我过两天再去，| 不行)."""
    if _asks(found[index - 1]):
        return True
    sentence = sentence_index(text, found[index - 1].start_char)
    for back in range(index - 2, max(index - 1 - ASKED_REACH, -1), -1):
        if sentence_index(text, found[back].start_char) != sentence or bare_reply(found[back].text):
            return False
        if _asks(found[back]):
            return True
    return False


def _split(utterance: Utterance, pause_s: float, following: Utterance | None) -> list[Utterance]:
    if (utterance.role_confidence is None or utterance.role_confidence < SURE_VOICE
            or utterance.role not in (Role.AGENT, Role.CUSTOMER)):
        return [utterance]
    found = clauses(utterance.text, utterance.words, pause_s)
    for index in range(1, len(found)):
        reply = found[index]
        if not _asked_before(utterance.text, found, index) or not bare_reply(reply.text):
            continue
        if _runs_on(utterance.text, reply, found[index + 1] if index + 1 < len(found) else None):
            continue
        goes_on = found[index + 1].text if index + 1 < len(found) else ""
        if match_form(goes_on).startswith(_ASKER_GOES_ON):
            continue
        cut = _cut(utterance, reply)
        if cut is None:
            continue
        before, answer, after = cut
        if after is None:
            if following is not None and following.start_s - answer.end_s < HEAD_OF_NEXT_S \
                    and _heard_twice(answer, following, pause_s):
                continue
            return [before, answer]
        return [before, answer, *_split(after, pause_s, following)]
    return [utterance]


def _runs_on(text: str, reply: Clause, following: Clause | None) -> bool:
    """我不知道 with no punctuation before the next clause: what is not known follows."""
    said = reply.text.rstrip()
    return (following is not None and said.endswith(_TAKES_OBJECT)
            and not any(c in "，,。.？?！!；;：:、" for c in text[reply.start_char + len(said): following.start_char]))


def _heard_twice(answer: Utterance, following: Utterance, pause_s: float) -> bool:
    """The other party's next turn opens with the answer's words: the recogniser heard them in
    both utterances (吗？不行。| 不行，这个办不了)."""
    said = match_form(answer.text)
    opening = clauses(following.text, following.words, pause_s)[:1]
    return bool(said) and any(match_form(first.text) == said for first in opening)


def _cut(utterance: Utterance, reply: Clause) -> tuple[Utterance, Utterance, Utterance | None] | None:
    """The utterance before the reply, the reply (other role), and what follows it (None if nothing)."""
    placed = [(word, at) for word, at in word_offsets(utterance.text, utterance.words) if at >= 0]
    inside = [w for w, at in placed if reply.start_char <= at < reply.end_char]
    earlier = [w for w, at in placed if at < reply.start_char]
    later = [w for w, at in placed if at >= reply.end_char]
    if not inside or not earlier:
        return None
    other = Role.CUSTOMER if utterance.role == Role.AGENT else Role.AGENT
    before = replace(utterance, end_s=earlier[-1].end_s, text=utterance.text[: reply.start_char].rstrip(),
                     words=tuple(earlier))
    resumes = next((at for _, at in placed if at >= reply.end_char), len(utterance.text))
    answer = replace(utterance, role=other, start_s=inside[0].start_s, end_s=inside[-1].end_s,
                     text=utterance.text[reply.start_char:resumes].strip(), words=tuple(inside),
                     role_confidence=REPLY_CONFIDENCE)  # with its own punctuation (不！)
    if not later:
        return before, answer, None
    after = replace(utterance, start_s=later[0].start_s, text=utterance.text[resumes:].strip(), words=tuple(later))
    return before, answer, after
