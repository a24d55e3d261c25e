"""The agent's ID in the greeting, as the recogniser writes it: Arabic or Chinese digits (幺/两 too),
one digit off, split by a misheard word (8月23号 for 八一二三号), or words that sound like its digits
(次次七一号, 客户服务代表二次武器) in the places the ID stands — before 号, after the title, the bank
or 工号 (heard 公号/功耗 too)."""

from __future__ import annotations

import re

from rapidfuzz.distance import OSA

from qa_pipeline.policy.policy import Policy
from qa_pipeline.text.match import syllables_of
from qa_pipeline.text.normalize import is_cjk, match_form, normalize_display
from qa_pipeline.types import Utterance

__all__ = ["NUMERALS", "agent_id_found", "digit_runs"]

NUMERALS = "零一二三四五六七八九幺两"
_DIGIT_OF = {c: str(i) for i, c in enumerate("零一二三四五六七八九")} | {"幺": "1", "两": "2", "〇": "0"}


def _unify_digits(form: str) -> str:
    return form.replace("幺", "一").replace("两", "二")


def digit_runs(text: str) -> list[str]:
    """Digit strings spoken in a display text, Arabic or Chinese (幺/两 too), as ASCII digits.

    One non-digit character between digits is skipped, because ASR writes an ID such as 八一二三
    as a date or an amount (8月23号).
    """
    runs: list[str] = []
    current = ""
    for index, char in enumerate(text):
        digit = _digit(char)
        if digit is not None:
            current += digit
            continue
        nxt = text[index + 1] if index + 1 < len(text) else ""
        next_is_digit = _digit(nxt) is not None
        if current and char in ".,，-－" and nxt.isascii() and nxt.isdigit():
            continue  # ASR writes an ID as an amount, a decimal or digits spelled apart (3.07, 4,307, 3-7-1-5)
        if current and char == "、" and next_is_digit:
            continue  # or as a list of digits said one by one (5、0、2、8, 五、零、二、八)
        if current and is_cjk(char) and next_is_digit and not current.endswith(" "):
            current += " "  # a single skipped character
            continue
        if current:
            runs.append(current.replace(" ", ""))
        current = ""
    if current:
        runs.append(current.replace(" ", ""))
    return runs


def _id_in_runs(agent_id: str, runs: list[str]) -> bool:
    """The ID, exactly when short; with one digit misheard, dropped or added, or two neighbours
    swapped (6501 for 六零五一), when 4+ digits."""
    allowed = 1 if len(agent_id) >= 4 else 0
    for run in runs:
        for length in {len(agent_id) - allowed, len(agent_id), len(agent_id) + allowed}:
            for start in range(0, max(len(run) - length, 0) + 1):
                window = run[start : start + length]
                if len(window) == length and OSA.distance(window, agent_id) <= allowed:
                    return True
    return False


# 号 and what the recogniser writes for it after a number: other hao syllables (浩, 好, 耗), and 行 or 航,
# pulled by the 银行 just before (三四七幺号 heard 三四七幺行)
_HAO = "号浩昊好耗豪行航"


def _id_before_marker(agent_id: str, form: str) -> bool:
    """An ID-sized token right before 号 with the ID's digits in place but two, which are not
    digits at all (次次七一号 for 四四七一号); before a stand-in for 号 (``_HAO``) only the ID's sounds count."""
    size = len(agent_id)
    if size < 4:
        return False
    for marker in re.finditer(f"[{_HAO}]", form):
        window = form[marker.start() - size : marker.start()]
        if len(window) != size:
            continue
        if marker.group() != "号":
            if _heard_as_words(window, agent_id):
                return True  # 号 itself misheard (五幺五九号 heard 福妖舞酒浩): the ID's sounds must carry it
            continue
        digits = [_digit(c) for c in window]
        agree = sum(g == d for g, d in zip(digits, agent_id))
        # the other places must be misheard non-digits: another digit means another ID
        if agree >= size - 2 and all(g is None or g == d for g, d in zip(digits, agent_id)):
            return True
        if _lost_digits(window, agent_id) or _heard_as_words(window, agent_id):
            return True
    return False


# What the ID follows in the greeting: the outbound title, the bank, the word 工号.
_ID_FOLLOWS = ("代表", "银行", "工号")
# After the title or 工号 nothing but the ID is said: there half its places heard right are enough
# (客户服务代表5705 for 五七一六, 衣服八卿 for 一四八七); after 银行 a number may be something else.
_ID_SLOT = ("代表", "工号")


def _id_after_title(agent_id: str, form: str) -> bool:
    """An ID-sized token right after 客户服务代表, the bank or 工号, heard as words that sound like its
    digits (客户服务代表二次武器 for 二四五七): all places but one agree by digit or sound; after 工号
    heard as another gong-hao word (公号, 功耗), all places but two, as after 工号 itself."""
    size = len(agent_id)
    if size < 4:
        return False
    for title in _ID_FOLLOWS:
        for found in re.finditer(title, form):
            window = form[found.end(): found.end() + size]
            if len(window) == size and _heard_as_words(window, agent_id, loose=title in _ID_SLOT):
                return True
    return any(len(w) == size and _heard_as_words(w, agent_id, loose=True) for w in _after_gonghao(form, size))


def _after_gonghao(form: str, size: int) -> list[str]:
    """The ``size`` characters after each pair of characters that sounds gong hao (公号, 功耗, 工号)."""
    sounds = syllables_of(form)
    return [form[i + 2: i + 2 + size] for i in range(len(form) - 1) if sounds[i : i + 2] == ("gong", "hao")]


_DIGIT_SOUNDS = {"ling": "0", "yi": "1", "yao": "1", "er": "2", "san": "3", "si": "4", "wu": "5", "liu": "6",
                 "qi": "7", "ba": "8", "jiu": "9"}


def _heard_as_words(window: str, agent_id: str, loose: bool = False) -> bool:
    """The ID written as words that sound like its digits (八四五七号 heard 八次武器号): all places
    but one agree by digit or by sound, and no written digit disagrees; ``loose`` (the slot after the
    title): all places but two, whatever the others are."""
    from pypinyin import lazy_pinyin

    if not loose and any(_digit(c) not in (None, d) for c, d in zip(window, agent_id)):
        return False
    heard = [_digit(c) or _DIGIT_SOUNDS.get(lazy_pinyin(c)[0]) for c in window]
    return sum(h == d for h, d in zip(heard, agent_id)) >= len(agent_id) - (2 if loose else 1)


def _digit(char: str) -> str | None:
    return char if char.isascii() and char.isdigit() else _DIGIT_OF.get(char)


def _id_form(text: str) -> str:
    """The text as an ID slot is read: characters and digits as heard (70, which match_form reads 七十)."""
    return "".join(c for c in normalize_display(text) if is_cjk(c) or (c.isascii() and c.isdigit()))


def _lost_digits(window: str, agent_id: str) -> bool:
    """The ID's digits in order with two lost or misheard as words (八一二三号 heard 八月二号), ending
    right before 号: what is left of the ID, not another number."""
    heard = [d for d in map(_digit, window) if d is not None]
    if _digit(window[-1]) is None or len(heard) < len(agent_id) - 2 or len(heard) < 2:
        return False
    rest = iter(agent_id)
    return all(digit in rest for digit in heard)  # a subsequence of the ID


def agent_id_found(opening: tuple[Utterance, ...], agent_id: str | None, policy: Policy) -> bool:
    if agent_id and agent_id.isdigit():
        if any(_id_in_runs(agent_id, digit_runs(u.text)) for u in opening):
            return True
        forms = [form for u in opening for form in (match_form(u.text), _id_form(u.text))]
        return any(_id_before_marker(agent_id, form) or _id_after_title(agent_id, form) for form in forms)
    text = _unify_digits("".join(match_form(u.text) for u in opening))
    markers = "|".join(re.escape(m) for m in policy.agent_id_markers)
    numerals = f"[{NUMERALS}]{{3,6}}"
    pattern = rf"(?<![{NUMERALS}]){numerals}(?:{markers})|(?:{markers}){numerals}"
    return re.search(pattern, text) is not None
