"""Text normalisation for display and for matching, and a private jieba tokenizer.

Two forms of every ASR text are used downstream:

* the *display* form (``normalize_display``): Simplified Chinese, half-width letters and digits,
  Chinese punctuation between Chinese characters, no stray spaces — what reports show;
* the *match* form (``match_form``): the display form without punctuation or spaces, Arabic numbers
  spelt in Chinese numerals and Latin lowercased — what phrase checks compare, so that ``2046``
  and ``二零四六`` or ``30万`` and ``三十万`` meet.

Nothing here does work at import: the OpenCC converter and the jieba dictionary load on first use.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

__all__ = [
    "IndexedForm",
    "Tokenizer",
    "chinese_digits",
    "chinese_quantity",
    "index_match_form",
    "is_cjk",
    "match_form",
    "normalize_display",
]

_CJK_RANGES = (
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xF900, 0xFAFF),
    (0x20000, 0x2FA1F),
)
_CN_PUNCT = "，。？！：；、“”‘’（）《》…—"
_ASCII_TO_CN = {",": "，", ".": "。", "?": "？", "!": "！", ":": "：", ";": "；"}
_DIGITS_ZH = "零一二三四五六七八九"
_SMALL_UNITS = ("", "十", "百", "千")
_BIG_UNITS = ("", "万", "亿", "万亿")
# After these a number is an amount (五千元, 三十万), even with three or more digits.
_AMOUNT_UNITS = "元块万亿千百角"
_NUMBER = re.compile(r"(\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.(\d+))?(%?)")
_SPACE_RUN = re.compile(r"\s+")


def is_cjk(char: str) -> bool:
    """True for a Chinese character (CJK unified ideographs and extensions)."""
    code = ord(char)
    return any(lo <= code <= hi for lo, hi in _CJK_RANGES)


@lru_cache(maxsize=1)
def _t2s():
    import opencc  # deferred: building the converter reads OpenCC's dictionaries

    return opencc.OpenCC("t2s")


def _half_width(char: str) -> str:
    code = ord(char)
    if char.isalnum() and 0xFF10 <= code <= 0xFF5A:
        return chr(code - 0xFEE0)
    if char == "\u3000":
        return " "
    if char == "％":
        return "%"
    return char


def _is_wide(char: str) -> bool:
    return is_cjk(char) or char in _CN_PUNCT


def _unify_punct(text: str) -> str:
    out = []
    for i, char in enumerate(text):
        zh = _ASCII_TO_CN.get(char)
        if zh is None:
            out.append(char)
            continue
        prev = text[i - 1] if i > 0 else ""
        nxt = text[i + 1] if i + 1 < len(text) else ""
        if prev.isascii() and prev.isalnum() and nxt.isascii() and nxt.isalnum():
            out.append(char)  # 3.6, 1,000, e.g — not a sentence mark
        elif (prev and _is_wide(prev)) or (nxt and _is_wide(nxt)) or not nxt.strip():
            out.append(zh)
        else:
            out.append(char)
    return "".join(out)


def _collapse_spaces(text: str) -> str:
    parts = _SPACE_RUN.split(text.strip())
    if len(parts) == 1:
        return parts[0]
    out = [parts[0]]
    for part in parts[1:]:
        if not part:
            continue
        if _is_wide(out[-1][-1]) or _is_wide(part[0]):
            out.append(part)
        else:
            out.append(" " + part)
    return "".join(out)


# Whisper writes the aspect particle 着 in its traditional form 著 (别著急, 看著); simplified Chinese keeps
# 著 only in 著名, 显著, 著作, 名著, 著称 and the like.
_ZHE = re.compile(r"(?<![显名巨原专编土昭卓])著(?![名作称述录书])")


# The recogniser writes 给 (gei) before 您/你 as 点 in some voices (明天肯定点您办好, 我这边点您登记). After a
# pledge, a time or a place word 点 is never "o'clock" or "a little", which follow a number or a measure
# (五点你再打, 晚点您再来, 快点您说): there it is 给. Tapping something of the customer's stays 点 (您先点您的
# 头像, 再点你那个转账按钮).
_GEI = re.compile(r"(一定|肯定|保证|直接|马上|立刻|这边|那边|今天|明天|尽快|抱歉|先|再)点(?=[您你](?![的那这]))")


def normalize_display(raw: str) -> str:
    """Simplified Chinese with Chinese punctuation and no spaces between Chinese characters.

    >>> normalize_display("您好,海川銀行 ,很高興為您服務。信將.")
    '您好，海川银行，很高兴为您服务。信将。'
    """
    if not raw:
        return ""
    text = _ZHE.sub("着", _t2s().convert(raw))
    if "点" in text:  # match_form reads every text through here: skip the pattern where it cannot apply
        text = _GEI.sub(r"\1给", text)
    text = "".join(_half_width(c) for c in text)
    text = _collapse_spaces(text)
    return _unify_punct(text)


def chinese_digits(digits: str) -> str:
    """Read a digit string digit by digit: ``"2046"`` -> ``"二零四六"``."""
    if not digits.isdigit():
        raise ValueError(f"not a digit string: {digits!r}")
    return "".join(_DIGITS_ZH[int(d)] for d in digits)


def _four_digits(value: int) -> str:
    """0 < value < 10000 as a quantity, with inner zeros (一千零五)."""
    out = []
    zero_pending = False
    for power in (3, 2, 1, 0):
        digit = value // 10**power % 10
        if digit == 0:
            zero_pending = bool(out)
            continue
        if zero_pending:
            out.append("零")
            zero_pending = False
        out.append(_DIGITS_ZH[digit] + _SMALL_UNITS[power])
    return "".join(out)


def chinese_quantity(value: int) -> str:
    """An integer read as a quantity: 30 -> 三十, 1005 -> 一千零五, 120000 -> 十二万."""
    if value < 0:
        raise ValueError("value must be >= 0")
    if value == 0:
        return "零"
    groups = []
    while value:
        groups.append(value % 10000)
        value //= 10000
    if len(groups) > len(_BIG_UNITS):
        raise ValueError("value too large")
    out = []
    need_zero = False
    for index in range(len(groups) - 1, -1, -1):
        group = groups[index]
        if group == 0:
            need_zero = bool(out)
            continue
        if out and (need_zero or group < 1000):
            out.append("零")
        out.append(_four_digits(group) + _BIG_UNITS[index])
        need_zero = False
    text = "".join(out)
    # 十五, 十二万: a leading 一十 is read 十.
    return text[1:] if text.startswith("一十") else text


def _number_to_zh(match: re.Match[str], source: str) -> str:
    whole, fraction, percent = match.group(1).replace(",", ""), match.group(2), match.group(3)
    after = source[match.end() : match.end() + 1]
    if fraction is None and not percent and len(whole) >= 3 and "," not in match.group(1):
        is_amount = after != "" and after in _AMOUNT_UNITS and not whole.startswith("0")
        if not is_amount:
            return chinese_digits(whole)
    head = chinese_quantity(int(whole)) if len(whole) <= 16 else chinese_digits(whole)
    if fraction:
        head += "点" + chinese_digits(fraction)
    return ("百分之" + head) if percent else head


def _is_dropped(char: str) -> bool:
    category = unicodedata.category(char)
    return category[0] in "PZC" or category[0] == "S"


@dataclass(frozen=True)
class IndexedForm:
    """A match form with, for each of its characters, the span of display text it came from."""

    text: str
    display: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def display_span(self, start: int, end: int) -> tuple[int, int]:
        """Display-text offsets covering match-form characters ``start:end``."""
        if not 0 <= start < end <= len(self.text):
            raise ValueError(f"bad span {start}:{end} for a form of {len(self.text)} chars")
        return self.starts[start], self.ends[end - 1]


def index_match_form(display: str) -> IndexedForm:
    """The match form of an already display-normalised text, keeping the way back to it."""
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    pos = 0
    for number in _NUMBER.finditer(display):
        _append_plain(display, pos, number.start(), chars, starts, ends)
        for char in _number_to_zh(number, display):
            chars.append(char)
            starts.append(number.start())
            ends.append(number.end())
        pos = number.end()
    _append_plain(display, pos, len(display), chars, starts, ends)
    return IndexedForm("".join(chars), display, tuple(starts), tuple(ends))


def _append_plain(display, start, end, chars, starts, ends) -> None:
    for i in range(start, end):
        char = display[i]
        if not _is_dropped(char):
            chars.append(char.lower())
            starts.append(i)
            ends.append(i + 1)


def match_form(text: str) -> str:
    """The form phrase checks compare: no punctuation or spaces, Chinese numerals, lowercase Latin.

    >>> match_form("工号2046号，年利率3.6%，额度30万元。")
    '工号二零四六号年利率百分之三点六额度三十万元'
    """
    return index_match_form(normalize_display(text)).text


class Tokenizer:
    """A private jieba tokenizer with our banking user dictionary and its own cache file.

    jieba's global default tokenizer is never touched. The dictionary loads on the first ``cut``.
    """

    _CACHE_NAME = "qa_pipeline.jieba.cache"

    def __init__(self, cache_dir: Path, user_dict: Path | None = None) -> None:
        self._cache_dir = Path(cache_dir)
        self._user_dict = Path(user_dict) if user_dict is not None else None
        self._jieba = None
        self._lock = threading.Lock()

    def _ensure(self):
        with self._lock:
            if self._jieba is None:
                import jieba  # deferred: importing is cheap but keep jieba out of import time

                tokenizer = jieba.Tokenizer()
                self._cache_dir.mkdir(parents=True, exist_ok=True)
                tokenizer.tmp_dir = str(self._cache_dir)
                tokenizer.cache_file = self._CACHE_NAME
                tokenizer.initialize()
                if self._user_dict is not None:
                    tokenizer.load_userdict(str(self._user_dict))
                self._jieba = tokenizer
            return self._jieba

    def knows(self, word: str) -> bool:
        """``word`` is in the dictionary (步行, 补给), not only glued together by jieba's HMM (步伴)."""
        return self._ensure().FREQ.get(word, 0) > 0

    def cut(self, text: str) -> list[str]:
        """Words of ``text`` (spaces dropped)."""
        if not text:
            return []
        return [w for w in self._ensure().lcut(text) if w.strip()]
