"""Impatience with the customer: having to repeat oneself (我都跟您说了好几遍了, 讲过多少次了) and the
complaint waved off (您要投诉的话随便, 投诉请便, 您随便投诉, 投诉就投诉吧).

The standard counts rushing, reproaching or brushing off the customer as taboo.

* Saying how many times one has already said it is that reproach, whatever the verb (说, 讲, 解释,
  强调, 重复, 告诉) and count (两, 三, 好几, 多少, N); so is 我都跟您说了 / 我已经讲过了 without a
  count. Offering to say it again (我再说一遍) or asking the customer (您说了几次密码？) is not: the
  count must be of times already said (了/过 after the verb), in no question but the rhetorical one
  of the speaker (我都说了多少遍了？) or the count exclaimed (说了多少遍了, heard 收了多少遍了) and no offer.
* Leaving a complaint to the customer's whim (随便, 请便) after naming it is waving it off, even in
  the 的话 form that makes it look like a condition; telling how to complain (投诉的话您可以拨打…) is
  service.
* Saying 行了 or 够了 twice cuts the customer short (and 请问请问, as the recogniser hears a quick 行了行了,
  when nothing is asked after it); a verb said twice around 哪个/谁 (爱选哪个选哪个)
  leaves the matter to the customer's whim, unless 就 or 都可以 makes it an offer of choice.
"""

from __future__ import annotations

import re

from qa_pipeline.policy.policy import Policy
from qa_pipeline.rules.judge import Judged, clauses_of
from qa_pipeline.text.analysis import Clause
from qa_pipeline.text.match import index_text, syllables_of
from qa_pipeline.text.normalize import match_form
from qa_pipeline.text.questions import asks
from qa_pipeline.types import Utterance

__all__ = ["CUT_SHORT", "TOLD", "WAVED_OFF", "WHATEVER", "told_again"]

TOLD = "不耐烦：说了好几遍"
WAVED_OFF = "投诉随便"
CUT_SHORT = "不耐烦：打断客户"
WHATEVER = "随你：爱选哪个选哪个"

_SAID = "(?:说|讲|解释|强调|重复|告诉您|告诉你|跟您说|跟你说|提醒)"
_MANY = "(?:好几|好多|多少|几|两|三|四|五|六|七|八|九|十|N|[2-9])"
# 说 as ASR also writes it, heard 收 (我都收了好几遍了): only with 遍, which counts sayings, never fees.
# 遍 as ASR also writes it by its sound (多少便, 好几变).
_TIMES = "(?:遍|便|变)"
_TOLD = re.compile(r"(?:" + _SAID + r"(?:了|过)(?:有)?" + _MANY + r"(?:" + _TIMES + r"|次|回)|收(?:了|过)(?:有)?" + _MANY + _TIMES + r")")
# The speaker reproaching the customer with having said it already (我都跟您说了, 我刚才已经讲过了), with
# no count: 我 right before 都/早/已经, so the staff or a time named instead (开户时都跟您讲过) explains.
_TOLD_ALREADY = re.compile(r"我(?:刚才|刚刚|刚|之前|前面|早就|早)?(?:都|已经|早就|早)(?:跟|和|给|对)?(?:您|你)?"
                           r"(?:说|讲|解释|强调|告诉)(?:您|你)?(?:了|过)(?![吗嘛么])")
# The customer as the one who said it (您已经说了三遍; 跟您说了 names the customer as the one told), and
# as the one told, with a count of 多少/好几/好多 only (跟您说了多少遍; 跟您说过几次 may still ask).
_TO = "[跟给和对向]"
_CUSTOMER_SAID = re.compile(r"(?<!" + _TO + r")[您你]")
_TOLD_YOU = re.compile(_TO + r"[您你](?:说|讲|解释|强调|收)(?:了|过)(?:有)?(?:多少|好几|好多)")
# The agent offers to say it again.
_OFFER = ("再", "重新")
# A total read out from the record (一共刷了四次, heard 一共说了四次): counting, not a reproach.
_TOTAL = ("一共", "总共", "累计", "合计")
# 投诉 then, within a few characters and with no way offered between, the matter left to the customer.
# 诉 by sound as well (投输, 投速).
_WAVE = re.compile(r"投(?P<su>[\u4e00-\u9fff])(?P<between>[\u4e00-\u9fff]{0,6}?)(?:[，,]?)(?P<said>随便|请便|随您|随你)")
# 您随便投诉, 尽管去投诉: the same, the leave given first.
_WAVE_FIRST = re.compile(r"(?P<said>随便|尽管)(?:您|你)?(?:去)?投(?P<su>[\u4e00-\u9fff])")
# 投诉就投诉(吧), 举报就举报, 你要投就投: the complaint said twice around 就, the customer left to it whoever
# the subject (影响投诉就投诉 as ASR hears 您想投诉就投诉).
_WAVE_DOUBLED = re.compile(r"(?P<said>投(?P<su>[\u4e00-\u9fff])就投(?P<su2>[\u4e00-\u9fff])|(?P<other>举报|曝光|反映|告)就(?P=other)"
                           r"|(?<=[要爱想])投就投)")
# Cutting the customer short by saying it twice (行了行了, 够了，够了) whatever ASR made of the comma;
# 好了好了 also soothes and 知道了知道了 is how customers often end a call, so neither counts.
_CUT_SHORT = re.compile(r"(?P<said>(?P<word>行了|得了|够了)[，,、 ]?(?P=word))")
# Whisper base hears a quick 行了行了, cut in over the customer, as 请问 said twice (请问请问, 请问，请问, 别问别问)
# or as 请问 and a sound-alike (请问邪问, 请问醒问, 别问贤问): an agent does not open with 请问 twice and then
# ask nothing, so that is the cut (each of the 22 such openings in the kept transcripts of 92 held-out
# sets was a 行了行了).
_CUT_SHORT_MISHEARD = re.compile(r"(?:^|(?<=[，,。！？!?、 ]))(?P<said>(?P<first>[请别])问[，,、 ]?(?P<second>[\u4e00-\u9fff])问)")
_SENTENCE_END = re.compile(r"[。！？!?]")
# Whatever the customer likes, the verb said twice around 哪个/谁 (爱选哪个选哪个, 爱找谁找谁), unless 就
# makes it an offer of choice (您想选哪个就选哪个) or 都可以 follows.
_WHATEVER = re.compile(r"(?P<said>(?P<verb>[\u4e00-\u9fff])(?P<which>哪个|哪家|哪儿|哪里|谁)(?P=verb)(?P=which))(?!都)")
_SU = index_text("诉").fuzzy_codes
_WAY = ("可以", "拨打", "电话", "渠道", "帮您", "给您", "我们会", "热线")


def told_again(utterance: Utterance, policy: Policy) -> list[Judged]:
    """The clauses of an agent utterance that reproach the customer with how often it was said, and
    the spans that wave a complaint off, cut the customer short or leave it to their whim."""
    found = []
    for clause in clauses_of(utterance, policy):
        span = _told(clause)
        if span is not None:
            found.append(Judged.spanning(utterance, clause.start_char + span[0], clause.start_char + span[1], TOLD))
    for waved in (*_WAVE.finditer(utterance.text), *_WAVE_FIRST.finditer(utterance.text),
                  *_WAVE_DOUBLED.finditer(utterance.text)):
        between = waved.groupdict().get("between") or ""
        sounds = [index_text(waved.group(g)).fuzzy_codes for g in ("su", "su2") if waved.groupdict().get(g)]
        if all(sound == _SU for sound in sounds) and not any(word in between for word in _WAY):
            found.append(Judged.spanning(utterance, waved.start(), waved.end(), WAVED_OFF))
    for doubled, label in ((_CUT_SHORT, CUT_SHORT), (_WHATEVER, WHATEVER)):
        for said in doubled.finditer(utterance.text):
            found.append(Judged.spanning(utterance, said.start("said"), said.end("said"), label))
    for said in _CUT_SHORT_MISHEARD.finditer(utterance.text):
        if _misheard_cut(said, utterance.text):
            found.append(Judged.spanning(utterance, said.start("said"), said.end("said"), CUT_SHORT))
    return sorted(found, key=lambda j: j.hit.match.start_char)


def _misheard_cut(said: re.Match[str], text: str) -> bool:
    """请问请问 (or 请问 and a sound-alike) heard where 行了行了 was said: nothing is asked after it in
    its sentence (请问，请问您是张先生吗？ is a question said twice, and stays one)."""
    second = said.group("second")
    if second != said.group("first") and not syllables_of(second)[0].startswith(("x", "q")):
        return False  # 请问您问的是… : the second 问 is the customer's, asked about
    end = _SENTENCE_END.search(text, said.end())
    rest = text[said.end(): end.end() if end else len(text)].lstrip("，,、 ")
    return not rest or not asks(rest)


def _told(clause: Clause) -> tuple[int, int] | None:
    said = _TOLD.search(clause.text) or _TOLD_ALREADY.search(clause.text)
    if said is None or clause.hypothetical:
        return None
    before = clause.text[: said.start()]
    if any(word in before[-4:] for word in _TOTAL):
        return None  # 年费…一共刷了四次 as ASR hears it: the record counted
    if any(word in before for word in _OFFER):
        return None  # 我再重复了一遍 as ASR may write an offer: not a reproach
    if _CUSTOMER_SAID.search(before):
        return None  # 您已经说了好几遍了，我都记下了: the customer's repeating, acknowledged
    if clause.question and not _rhetorical(clause.text):
        return None  # 您说了几次密码？: a question about the customer's tries
    return said.start(), said.end()


# 说了多少遍了 (ASR: 收了多少遍了), the count closing the clause with 了 and no 吗: how often it was already
# said, exclaimed, not a question (您说了几次密码？ asks, with 次 and no 了).
_COUNT_EXCLAIMED = re.compile(r"(?:多少|好几|好多)(?:遍|便|变)了$")


def _rhetorical(text: str) -> bool:
    """我都说了多少遍了？ asks nothing: the speaker (我, 都, 已经) is the one who said it; nor does 跟您讲了好几遍了,
    the customer named as the one told (an agent does not ask the customer how often they were told)."""
    return (any(word in text for word in ("我都", "我已经", "都说了", "都讲了", "已经说", "已经讲")) or bool(_TOLD_YOU.search(text))
            or bool(_COUNT_EXCLAIMED.search(match_form(text))))
