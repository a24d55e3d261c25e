"""Not knowing (不知道 and its kin): when saying it is the taboo word and when it is not.

Said flat it is taboo; answered by finding out on the call, or softened (暂时/不太清楚) and followed by
help, it is the recommended form; a clause opening with 不知道您… and an inquiry word is a polite
question (``rules.phrases`` asks these when it judges a forbidden-phrase hit).
"""

from __future__ import annotations

from qa_pipeline.policy.policy import Policy
from qa_pipeline.rules.base import Hit
from qa_pipeline.text.analysis import Clause, sentence_end
from qa_pipeline.text.match import find_phrases
from qa_pipeline.text.normalize import match_form


# After not knowing, the agent finding out on the call (我查一下, 帮您核实) or passing it on
# (我记录下来转给专员, 给您回复).
_FINDS_OUT_NOW = ("我帮您查", "我给您查", "我去查", "查一下", "我核实", "我问一下", "帮您问", "我确认一下", "帮您核实")
_FINDS_OUT = (*_FINDS_OUT_NOW, "我记录", "记录下来", "转给", "给您回复", "给您回电")
_CANNOT = ("没法", "没办法", "不能", "不会", "不")
# Finding out asked of someone else for the speaker (你们能帮我查一下吗, 给我问一下): a request, the
# customer's words run on after the agent's on a mono mix, not the agent's help.
_ASKED_FOR = ("帮我", "给我", "替我", "你们", "你能", "您能")
# Finding out left to the customer (您自己查一下, 你可以查一下): the agent's brush-off, not help.
_LEFT_TO_YOU = ("自己", "您可以", "你可以", "您先", "你先", "您再", "你再", "您去", "你去")
_FOR_YOU = "帮给替为"


_NOT_KNOWING = ("不知道", "不清楚", "答不上", "答复不了", "说不清", "不了解", "不太清楚", "哪知道", "哪清楚", "哪晓得", "哪儿清楚", "哪儿晓得", "搞不清", "不晓得", "说不上来",
                "搞不懂", "弄不懂", "搞不明白", "弄不明白", "弄不清", "哪儿知道", "谁知道", "谁晓得", "天晓得")


def not_knowing(hit: Hit) -> bool:
    """The hit professes the speaker's ignorance; 您都弄不明白 (said of the customer) mocks instead."""
    matched = hit.match.matched
    if any(0 <= (at := matched.find(word)) and not _of_customer(matched[max(0, at - 3):at]) for word in _NOT_KNOWING):
        return True
    # a listed form heard by its sound (我拿而知道 for 我哪儿知道): the form says what was said
    listed = hit.match.phrase
    return not listed.startswith("≈") and any(word in listed for word in _NOT_KNOWING) and not _of_customer(matched[:3])


# What may stand between the customer named and the word said of them (您都弄不明白, 你怎么还不知道).
_BETWEEN_YOU = set("都也还就真又怎么竟然")


def _of_customer(before: str) -> bool:
    """您/你 just before the word, with only adverbs between: said of the customer (not 为您服务不知道…)."""
    at = max(before.rfind("您"), before.rfind("你"))
    return at >= 0 and all(c in _BETWEEN_YOU for c in before[at + 1:])


def helps_after(hit: Hit, words: tuple[str, ...] = _FINDS_OUT) -> bool:
    """One of ``words`` follows the hit, not negated (也没法帮您问 is no help) and not asked for
    (能帮我查一下吗 is a request)."""
    after = hit.utterance.text[hit.match.end_char:]
    for word in words:
        at = after.find(word)
        if at < 0:
            continue
        before = after[max(0, at - 3):at]
        if any(no in before for no in _CANNOT) or any(ask in before for ask in _ASKED_FOR):
            continue
        if not _left_to_customer(before):
            return True
    return False


def _left_to_customer(before: str) -> bool:
    """The finding out is the customer's to do: 您自己查一下, 您可以查一下, or 您查一下 (but 帮您查)."""
    if any(word in before for word in _LEFT_TO_YOU):
        return True
    return before[-1:] in ("您", "你") and before[-2:-1] not in _FOR_YOU


def finds_out(hit: Hit, clause: Clause | None, policy: Policy) -> bool:
    """Not knowing answered by finding out right away (我也不清楚，您稍等，我查一下), or softened and
    followed by any help (这个我暂时说不清，我记录下来给您回电). Said flat and only passed on (我也说不上来，
    让客户经理给您回电话) it is still the taboo word."""
    return helps_after(hit, _FINDS_OUT_NOW) or (helps_after(hit) and _softened(hit, clause, policy))


# Not knowing said as for now (暂时/一下子答不上来) or hedged (不太清楚): with a promise to find
# out it is the recommended form. Said flat (我也说不上来，…给您回电) it is still the taboo word.
_SOFTENING = ("暂时", "一下子", "一时", "目前", "现在还", "还没", "不太", "不是很")


def _softened(hit: Hit, clause: Clause | None, policy: Policy) -> bool:
    """The not-knowing up to the hit is softened, heard by sound (不态清楚 is 不太清楚)."""
    start = clause.start_char if clause is not None else 0
    said = hit.utterance.text[start:hit.match.end_char]
    return any(find_phrases(said, word, policy.matching) for word in _SOFTENING)


# Words after a clause-opening 不知道您… that make it a polite question although ASR dropped the
# question mark or garbled the 方不方便 (不知道您现在方埔方便接听电话).
_INQUIRY = ("方便", "是否", "能否", "可否", "有没有", "还有", "吗", "呢", "可不可以", "能不能", "要不要", "是不是", "什么")
_INQUIRY_OPENERS = ("", "那", "那么", "请问", "想问一下", "我想问一下")
# A sentence closed by 没有/了没 asks whether a thing was done (不知道您开通了刷脸认证没有).
_ASKS_IF_DONE = ("没有", "了没")


# Just before a 不知道 that is the speaker's own not knowing (我也不知道您说的…, 这个我不知道您可以…).
_KNOWER = ("我", "也", "都", "还", "真", "这", "那", "就")


def opens_inquiry(hit: Hit, clause: Clause | None) -> bool:
    """不知道 opens the clause (no 我/这个 before it) and an inquiry word follows: a polite question.

    With the comma lost (…客户服务代表二九一三号不知道您现在方便接听电话吗) the clause opens long before
    it: then 不知道 right before 您/你, with no knower just before it, is the same question."""
    if clause is None:
        return False
    text = hit.utterance.text
    at = text.rfind("不知道", hit.match.start_char, hit.match.end_char)
    if at < 0:
        return False  # only 不知道 asks (这么简单的都弄不明白吗？ mocks; the hit may open at its head: 我…不知道)
    end, inquiry = clause.end_char, _INQUIRY
    if text.startswith("不知道", at) and text[at + 3:at + 4] in ("您", "你"):
        # 不知道您是想存一年，两年还是三年: the choice may come after a comma
        end, inquiry = sentence_end(text, end), (*_INQUIRY, "还是")
    rest = text[hit.match.end_char:end]
    if not any(word in rest for word in inquiry) and not _asks_if_done(rest):
        return False
    if match_form(text[clause.start_char:at]) in _INQUIRY_OPENERS:
        return True
    return at > clause.start_char and text[at + 3:at + 4] in ("您", "你") and text[at - 1] not in _KNOWER


# A question opened by 不知道 that runs on this long asks the customer even with its 您 dropped or
# misheard (不知道之前有没有做过风险测评呢, 您 heard as 云云); a short one (不知道呢) is not knowing.
_INQUIRY_MIN_CHARS = 5
# ... unless it is about a third party: 不知道对方有没有收到 is what the agent does not know.
_THIRD_PARTY = ("他", "她", "它", "对方", "人家", "那边", "收款", "商户", "别人")


def asks_politely(hit: Hit, clause: Clause | None) -> bool:
    """不知道 opening a question put to the customer (``opens_inquiry``), whoever ASR heard it put to."""
    if clause is None or not opens_inquiry(hit, clause):
        return False
    rest = match_form(hit.utterance.text[hit.match.end_char:clause.end_char])
    return len(rest) >= _INQUIRY_MIN_CHARS and not rest.startswith(_THIRD_PARTY)


def _asks_if_done(rest: str) -> bool:
    """The words after 不知道 end in 没有/了没 with something said before (…开通了刷脸认证没有)."""
    said = rest.rstrip("，,。.？?！! ")
    return any(said.endswith(word) and len(said) > len(word) + 1 for word in _ASKS_IF_DONE)
