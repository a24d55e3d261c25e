"""Mask customer identifiers (card, ID, phone and account numbers) in text, calls and file names.

A number counts as identifying when it has at least ``MIN_MASKED_DIGITS`` digits. Digits may be
Arabic (half or full width), spoken one by one (一二三…, 幺, 两, 零/〇), financial numerals
(壹贰叁…), radio digits (洞 0, 拐 7, 勾 9), mixed, and split into groups by up to two separators
(spaces, hyphens, dots, commas, Chinese commas) — the way people read a card number out. A PRC ID
number's final check character X (spoken 叉) counts as a digit. All but the last
``KEEP_LAST_DIGITS`` digits become ``MASK_CHAR``. Three more rules close the ways numbers slip out:

- the answer to a verification question (身份证后六位是…, 尾号…, 后四位…) is masked entirely;
- within a call, chunks of a number read across utterances (and turns of either channel) close in
  time are masked as one number (``mask_call_texts``);
- file names and ids (``mask_identifier``) keep compact dates and times (``20261121093000``) readable.

Masking keeps the text length (one character for one character), so word texts masked as one joined
string split back onto the same words, and evidence offsets stay valid. Masking is idempotent.
Amounts said with 十/百/千/万 or with thousands separators, agent ids and dates stay readable.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, replace
from typing import Any, Iterable, Mapping, Sequence

from qa_pipeline.audio.redact import RedactSpan
from qa_pipeline.types import Transcript, Utterance

MIN_MASKED_DIGITS = 7
KEEP_LAST_DIGITS = 4
MASK_CHAR = "*"
#: Number chunks in different utterances whose starts lie at most this far apart may be one number.
CHUNK_GAP_S = 20.0
#: A chunk needs this many digits to join a number read in pieces (shorter ones are ordinary words).
MIN_CHUNK_DIGITS = 3

_ARABIC = "0123456789０１２３４５６７８９"
_DIGIT_CHARS = frozenset(
    _ARABIC + "零〇一二三四五六七八九幺两" + "壹贰貳叁參叄肆伍陆陸柒捌玖" + "洞拐勾"
)
_SEPARATORS = frozenset(" \u3000-－—–‐、，,.．·")
_MAX_SEPARATORS = 2
# Separators that glue a date to a longer number (a comma after a date ends a clause instead).
_GLUE_SEPARATORS = frozenset(" \u3000-－—–‐.．")
_X = frozenset("XxＸｘ叉")
_ID_DIGITS = 18
_DATE_TIME_RE = re.compile(
    r"(?P<y>\d{4})[-/.年](?P<m>\d{1,2})[-/.月](?P<d>\d{1,2})[日号]?(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?"
    r"|\d{1,2}:\d{2}(?::\d{2})?"
)
_COMPACT_DATE_RE = re.compile(r"(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])(?:\d{4}|\d{6})?")
_ID_RUN_RE = re.compile(r"\d+(?:[-. _]\d+)*")
_THOUSANDS_RE = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?")
# A verification question's answer: 后四位 / 后六位 / 末四位 / 尾号 / 尾数, then 是/为/：.
_VERIFY_CUE_RE = re.compile(
    r"(?:[后末](?:[0-9一二三四五六七八九两几]|十)位(?:数字|号码|数)?|尾号|尾数)[是为：:，,\s]{0,3}"
)
# What follows a count or an amount, not an identifier chunk.
_UNIT_AFTER = frozenset("元块天个次月年岁秒分号点楼室%％位页条张")
#: A number right after these words is the agent's own staff number (工号), never a customer's piece.
_STAFF_ID_BEFORE = ("工号", "编号", "座席", "坐席")


@dataclass(frozen=True)
class NumberRun:
    """A run of digits in a text: ``[start, end)`` and the index of every digit (or final X)."""

    start: int
    end: int
    digits: tuple[int, ...]


def mask_text(text: str) -> str:
    """``text`` with every identifying number masked except its last four digits."""
    if not isinstance(text, str):
        raise ValueError(f"mask_text needs a str, got {type(text).__name__}")
    chars = list(text)
    for run in number_runs(text):
        if len(run.digits) >= MIN_MASKED_DIGITS and not _THOUSANDS_RE.fullmatch(text[run.start : run.end]):
            _mask_positions(chars, run.digits[: len(run.digits) - KEEP_LAST_DIGITS])
    for cue in _VERIFY_CUE_RE.finditer(text):
        run = _run_starting_at(text, cue.end())
        if run is not None and len(run.digits) >= MIN_CHUNK_DIGITS:
            _mask_positions(chars, run.digits)
    return "".join(chars)


def mask_identifier(text: str) -> str:
    """A call id, file name or path with its phone, card and ID numbers masked (all but the last four).

    Ids are structured, so only what looks like a customer number is masked: a group of 7+ digits that
    is not a compact date or timestamp (``20261121``, ``20261121093000``), or digit groups joined by
    ``- . _`` or spaces that make a mobile number (11 digits from 1) or 15+ digits. ``XC20241104-0917-0001``
    stays as it is.
    """
    if not isinstance(text, str):
        raise ValueError(f"mask_identifier needs a str, got {type(text).__name__}")
    chars = list(text)
    for run in _ID_RUN_RE.finditer(text):
        groups = [g for g in re.finditer(r"\d+", run.group()) if not _COMPACT_DATE_RE.fullmatch(g.group())]
        digits = [run.start() + g.start() + i for g in groups for i in range(len(g.group()))]
        joined = "".join(g.group() for g in groups)
        if (len(joined) == 11 and joined.startswith("1")) or len(joined) >= 15:
            _mask_positions(chars, digits[: len(digits) - KEEP_LAST_DIGITS])
            continue
        for group in groups:
            if len(group.group()) >= MIN_MASKED_DIGITS:
                at = run.start() + group.start()
                _mask_positions(chars, range(at, at + len(group.group()) - KEEP_LAST_DIGITS))
    return "".join(chars)


def number_runs(text: str) -> list[NumberRun]:
    """Every run of digits in ``text`` outside dates and clock times, in order."""
    protected = _protected_positions(text)
    runs, index = [], 0
    while index < len(text):
        if text[index] in _DIGIT_CHARS and index not in protected:
            run = _scan_run(text, index, protected)
            runs.append(run)
            index = run.end
        else:
            index += 1
    return runs


def _scan_run(text: str, start: int, protected: frozenset[int]) -> NumberRun:
    digits: list[int] = []
    index = start
    while True:
        group_end = _group_end(text, index, protected)
        digits.extend(range(index, group_end))
        gap_end = group_end
        while gap_end < len(text) and text[gap_end] in _SEPARATORS and gap_end - group_end < _MAX_SEPARATORS:
            gap_end += 1
        if gap_end == group_end or not _continues(text, gap_end, protected):
            index = group_end
            break
        index = gap_end
    end = index
    # An 18-character ID ends in X (after at most one separator).
    for offset in (0, 1):
        at = end + offset
        if len(digits) == _ID_DIGITS - 1 and at < len(text) and text[at] in _X and (
            offset == 0 or text[end] in _SEPARATORS
        ):
            digits.append(at)
            end = at + 1
            break
    return NumberRun(start, end, tuple(digits))


def _group_end(text: str, index: int, protected: frozenset[int]) -> int:
    while index < len(text) and text[index] in _DIGIT_CHARS and index not in protected:
        index += 1
    return index


def _continues(text: str, index: int, protected: frozenset[int]) -> bool:
    """Whether the group at ``index`` (after separators) belongs to the number before it.

    Groups of two or more digits do; a single digit does when it is Arabic, or when what follows it
    is not a Chinese character (so the 一 of "…零三八六，一般" stays a word).
    """
    if index >= len(text) or text[index] not in _DIGIT_CHARS or index in protected:
        return False
    end = _group_end(text, index, protected)
    if end - index >= 2 or text[index] in _ARABIC:
        return True
    return end >= len(text) or not ("\u4e00" <= text[end] <= "\u9fff") or text[end] in _X


def _protected_positions(text: str) -> frozenset[int]:
    """Dates and clock times in Arabic digits, unless glued to more digits (``6222-02-12 3456``)."""
    protected: set[int] = set()
    for match in _DATE_TIME_RE.finditer(text):
        if match.group("y") and not _plausible_date(match):
            continue
        ends_in_digit = match.group()[-1].isdigit()
        if _glued(text, match.start(), -1) or (ends_in_digit and _glued(text, match.end(), +1)):
            continue
        protected.update(range(match.start(), match.end()))
    return frozenset(protected)


def _plausible_date(match: re.Match[str]) -> bool:
    return 1900 <= int(match.group("y")) <= 2099 and 1 <= int(match.group("m")) <= 12 and 1 <= int(match.group("d")) <= 31


def _glued(text: str, index: int, step: int) -> bool:
    """Whether a digit sits at ``index`` (looking in direction ``step``) past at most two separators."""
    position = index if step > 0 else index - 1
    for _ in range(_MAX_SEPARATORS + 1):
        if not 0 <= position < len(text):
            return False
        if text[position] in _DIGIT_CHARS:
            return True
        if text[position] not in _GLUE_SEPARATORS:
            return False
        position += step
    return False


def _run_starting_at(text: str, index: int) -> NumberRun | None:
    for run in number_runs(text):
        if run.start == index:
            return run
    return None


def _mask_positions(chars: list[str], positions: Iterable[int]) -> None:
    for index in positions:
        chars[index] = MASK_CHAR


# -- numbers read in pieces across utterances ---------------------------------------------------


def mask_call_texts(texts: Sequence[str], start_times_s: Sequence[float]) -> list[str]:
    """Mask the texts of one call (utterances of both channels), numbers read in pieces included.

    Each text is masked on its own, then digit chunks (``MIN_CHUNK_DIGITS``+ digits, not followed by
    a unit such as 元 or 天) are taken in time order; consecutive chunks whose texts start at most
    ``CHUNK_GAP_S`` apart form one number, masked (all but its last four digits) when it reaches
    ``MIN_MASKED_DIGITS``. An 18-digit ID read as 320514 / 102438 / 50812X is masked this way.
    """
    if len(texts) != len(start_times_s):
        raise ValueError("mask_call_texts needs one start time per text")
    masked = [list(mask_text(t)) for t in texts]
    order = sorted(range(len(texts)), key=lambda i: start_times_s[i])
    cluster: list[tuple[int, NumberRun]] = []
    last_start_s: float | None = None
    for i in order:
        text = "".join(masked[i])
        for run in number_runs(text):
            if len(run.digits) < MIN_CHUNK_DIGITS or (run.end < len(text) and text[run.end] in _UNIT_AFTER):
                continue
            if any(marker in text[max(0, run.start - 4) : run.start] for marker in _STAFF_ID_BEFORE):
                continue  # the agent's 工号 in the greeting is not a piece of the customer's number
            if cluster and last_start_s is not None and start_times_s[i] - last_start_s > CHUNK_GAP_S:
                _mask_cluster(masked, cluster)
                cluster = []
            cluster.append((i, run))
            last_start_s = start_times_s[i]
    _mask_cluster(masked, cluster)
    return ["".join(chars) for chars in masked]


def mask_live_text(text: str) -> str:
    """A text shown live, before the rest of the call is known: ``mask_text``, and every digit chunk
    (``MIN_CHUNK_DIGITS``+ digits, not a count or amount) masked whole, since the next utterance may
    carry the rest of the number and what was shown cannot be taken back."""
    chars = list(mask_text(text))
    masked = "".join(chars)
    for run in number_runs(masked):
        if len(run.digits) >= MIN_CHUNK_DIGITS and not (run.end < len(masked) and masked[run.end] in _UNIT_AFTER):
            _mask_positions(chars, run.digits)
    return "".join(chars)


def _mask_cluster(masked: list[list[str]], cluster: list[tuple[int, NumberRun]]) -> None:
    positions = [(i, d) for i, run in cluster for d in run.digits]
    if len(positions) < MIN_MASKED_DIGITS:
        return
    for i, d in positions[: len(positions) - KEEP_LAST_DIGITS]:
        masked[i][d] = MASK_CHAR


def _split_back(masked: str, texts: Sequence[str]) -> list[str]:
    out, position = [], 0
    for text in texts:
        out.append(masked[position : position + len(text)])
        position += len(text)
    return out


def mask_pieces(pieces: Iterable[str]) -> list[str]:
    """Mask a text split into pieces (e.g. word texts) as one string, and split it back.

    A card number recognised as several words is still found, and each word keeps its own characters.
    """
    texts = list(pieces)
    return _split_back(mask_text("".join(texts)), texts)


def _mask_word_lists(word_lists: Sequence[Sequence[str]], start_times_s: Sequence[float]) -> list[list[str]]:
    joined = mask_call_texts(["".join(words) for words in word_lists], start_times_s)
    return [_split_back(text, words) for text, words in zip(joined, word_lists)]


def mask_utterance(utterance: Utterance) -> Utterance:
    words = mask_pieces(w.text for w in utterance.words)
    masked_words = tuple(replace(w, text=t) for w, t in zip(utterance.words, words))
    return utterance.with_text(mask_text(utterance.text), masked_words)


def mask_transcript(transcript: Transcript) -> Transcript:
    """A copy of ``transcript`` with utterance and word texts masked (across utterances too)."""
    utterances = transcript.utterances
    starts = [u.start_s for u in utterances]
    texts = mask_call_texts([u.text for u in utterances], starts)
    words = _mask_word_lists([[w.text for w in u.words] for u in utterances], starts)
    return replace(transcript, utterances=tuple(
        u.with_text(text, tuple(replace(w, text=t) for w, t in zip(u.words, word_texts)))
        for u, text, word_texts in zip(utterances, texts, words)
    ))


def mask_report_dict(report: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of a transcript/report dict (the JSON contract) with customer numbers masked.

    Utterance texts and their words (across utterances too), every ``text`` field under ``checks``
    and ``findings`` (evidence, hits: masked like the utterance they quote), and the call id.
    """
    if not isinstance(report, Mapping):
        raise ValueError(f"mask_report_dict needs a mapping, got {type(report).__name__}")
    out = copy.deepcopy(dict(report))
    utterances = [u for u in out.get("utterances") or () if isinstance(u, dict)]
    starts = [_float_or_zero(u.get("start_s")) for u in utterances]
    originals = [u.get("text") if isinstance(u.get("text"), str) else "" for u in utterances]
    texts = mask_call_texts(originals, starts)
    word_dicts = [[w for w in u.get("words") or [] if isinstance(w, dict)] for u in utterances]
    words = _mask_word_lists([[str(w.get("text", "")) for w in ws] for ws in word_dicts], starts)
    for utterance, text, dicts, word_texts in zip(utterances, texts, word_dicts, words):
        if isinstance(utterance.get("text"), str):
            utterance["text"] = text
        for word, word_text in zip(dicts, word_texts):
            word["text"] = word_text
    quoted = [(o, m) for o, m in zip(originals, texts) if o != m]
    for key in ("checks", "findings"):
        if key in out:
            out[key] = _mask_text_fields(out[key], quoted)
    if isinstance(out.get("call_id"), str):
        out["call_id"] = mask_identifier(out["call_id"])
    return out


def masked_audio_spans(report: Mapping[str, Any]) -> list[RedactSpan]:
    """Where a masked report's numbers are spoken: its masked words (or utterances without words).

    Feed these to ``qa_pipeline.audio.redact.redact_file`` so the played audio hides what the text hides.
    """
    spans: list[RedactSpan] = []
    for utterance in report.get("utterances") or ():
        if not isinstance(utterance, Mapping) or MASK_CHAR not in str(utterance.get("text", "")):
            continue
        channel = utterance.get("channel") if isinstance(utterance.get("channel"), int) else None
        words = [w for w in utterance.get("words") or () if isinstance(w, Mapping)]
        hidden = [w for w in words if MASK_CHAR in str(w.get("text", ""))] or [utterance]
        for item in hidden:
            spans.append(RedactSpan(_float_or_zero(item.get("start_s")), _float_or_zero(item.get("end_s")), channel))
    return spans


def _float_or_zero(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) else 0.0


def _mask_quote(text: str, quoted: Sequence[tuple[str, str]]) -> str:
    """``text`` masked, plus whatever its utterance masked (a chunk of a number read in pieces)."""
    chars = list(mask_text(text))
    for original, masked in quoted:
        at = original.find(text) if text else -1
        if at >= 0:
            for offset, char in enumerate(masked[at : at + len(text)]):
                if char == MASK_CHAR:
                    chars[offset] = MASK_CHAR
    return "".join(chars)


def _mask_text_fields(value: Any, quoted: Sequence[tuple[str, str]]) -> Any:
    if isinstance(value, dict):
        return {
            k: _mask_quote(v, quoted) if k == "text" and isinstance(v, str) else _mask_text_fields(v, quoted)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_mask_text_fields(v, quoted) for v in value]
    return value


__all__ = [
    "CHUNK_GAP_S",
    "MASK_CHAR",
    "MIN_MASKED_DIGITS",
    "NumberRun",
    "mask_call_texts",
    "masked_audio_spans",
    "mask_identifier",
    "mask_live_text",
    "mask_pieces",
    "mask_report_dict",
    "mask_text",
    "mask_transcript",
    "mask_utterance",
    "number_runs",
]
