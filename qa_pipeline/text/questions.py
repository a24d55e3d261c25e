"""Whether a clause asks: the question reading under ``text.analysis``.

ASR often drops the question mark, so a clause also asks by its final particle (吗/呢/么…), an
A-not-A form (行不行, 有没有), a question word (怎么, 多少, 几次…), a choice (是…还是…), a closing
是什么, or an opening 请问. A tag at its end (…，您看行吗) only seeks agreement: what comes before the
tag is still stated. Words that look like question words but count or point (这几天, 好几次, 多试几次,
损失多少补多少) ask nothing.
"""

from __future__ import annotations

import re
from functools import lru_cache

from qa_pipeline.text.segment import default_segmenter

__all__ = ["ASKS_OPENING", "A_NOT_A", "PUNCT", "QUESTION_MARKS", "TAGS", "asks", "is_question", "only_by_ba", "plain"]

PUNCT = set("，。？！；：、,.?!;:…—~")
QUESTION_MARKS = set("？?")
_QUESTION_FINALS = frozenset("吗 么 嘛 呢 吧".split())
_QUESTION_WORDS = ("难道", "怎么", "为什么", "凭什么", "哪个", "哪里", "哪儿", "哪些", "哪家", "哪一", "多少", "多久",
                   "是否", "什么时候", "还有什么", "几天", "几点", "几次", "几笔", "几张", "几位", "几号", "几个", "是不是", "能不能",
                   "可不可以", "会不会", "有没有", "要不要")
# Twice in a clause it pairs as a correlative (损失多少补多少, 用多少扣多少), which asks nothing.
_CORRELATIVES = ("多少",)
# 过几天, not 错过几笔; 多拍几次, 再等几天: a few more of them, asked of nobody
_DEMONSTRATIVE_FEW = re.compile(r"[这那前近好头十百千万]几[天点次笔张位号个]|过几[天点]|[多再][\u4e00-\u9fff]?几[天次遍回下]")
# A clause opening with 请问 (after an acknowledgement) asks, however ASR punctuated it.
ASKS_OPENING = re.compile(r"^(?:好的|好|嗯|哦|那|那么|对|行|是的)?(?:请问|我想问一下|想问一下|问一下)")
# Asks when it ends the clause (扣了两百块是什么钱, 这笔扣款是什么), unlike 什么 inside (没什么问题).
_FINAL_WHAT = ("是什么", "是什么钱", "是什么费")
# 行不行, 是不是, 有没有; not 不行不行 or 不不不 (a refusal said twice, not a question)
A_NOT_A = re.compile(r"(?<![不没])([^不没])[不没]\1")


# A tag at the end seeks agreement to what was just said (给您补偿一千元，您看行吗): the content before
# it is still stated, so a clause with enough content before a tag is a statement.
TAGS = ("您看行吗", "你看行吗", "您看可以吗", "你看可以吗", "您看好吗", "您看怎么样", "您看呢", "你看呢",
        "行吗", "好吗", "可以吗", "行不行", "好不好", "怎么样", "对吧", "是吧")
_TAG_MIN_CONTENT_CHARS = 6

# A choice between two (您说的是三号那笔还是五号那笔): asked even without 吗 or a question mark.
_CHOICE = re.compile(r"是.{1,12}还是.{1,12}$")


def plain(text: str) -> str:
    """``text`` without punctuation or spaces."""
    return "".join(c for c in text if c not in PUNCT and not c.isspace())


def is_question(body: str, tokens: tuple[str, ...]) -> bool:
    """Whether the clause ``body`` (with its jieba ``tokens``) asks."""
    bare = plain(body)
    for tag in TAGS:
        if bare.endswith(tag) and len(bare) - len(tag) >= _TAG_MIN_CONTENT_CHARS:
            content = bare[: -len(tag)]
            return asks(content)
    if any(c in QUESTION_MARKS for c in body):
        return True
    words = [t for t in tokens if any(c.isalnum() for c in t)]
    if words and (words[-1] in _QUESTION_FINALS or words[-1][-1:] in ("吗", "么")):
        return True
    if A_NOT_A.search(body) or bare.endswith(_FINAL_WHAT) or _CHOICE.search(bare) or ASKS_OPENING.search(bare):
        return True
    body = _DEMONSTRATIVE_FEW.sub("", body)  # 这几天, 前几天: a stretch of days, asked of nobody
    return any(word in body and not (word in _CORRELATIVES and body.count(word) > 1) for word in _QUESTION_WORDS)


def only_by_ba(body: str, tokens: tuple[str, ...]) -> bool:
    """A final 吧 is all that makes the clause a question."""
    words = [t for t in tokens if any(c.isalnum() for c in t)]
    if not words or words[-1] != "吧":
        return False
    content = body[: body.rfind("吧")]
    return not asks(content)


def asks(text: str) -> bool:
    """``is_question`` of a piece of text outside any clause analysis, segmented here."""
    return is_question(text, _words(text))


@lru_cache(maxsize=4096)
def _words(text: str) -> tuple[str, ...]:
    return tuple(default_segmenter()(text))
