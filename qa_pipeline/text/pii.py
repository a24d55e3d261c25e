"""Mask customer identifiers (card, ID, phone and account numbers) in text.

A number counts as identifying when it has at least ``MIN_MASKED_DIGITS`` digits. Digits may be
Arabic (half or full width) or spoken one by one (一二三…, 幺, 两, 零/〇), mixed, and split into groups
by a single space, hyphen or Chinese comma — the way an agent reads a card number back. A PRC ID
number's final check character X (spoken 叉) counts as a digit. All but the last ``KEEP_LAST_DIGITS`` digits
become ``MASK_CHAR``.

Masking keeps the text length (one character for one character), so word texts masked as one joined
string split back onto the same words, and evidence offsets stay valid. Masking is idempotent.
Amounts and counts said with 十/百/千/万, 4-digit answers (后四位), agent ids and dates stay readable.
"""

from __future__ import annotations

import copy
import re
from dataclasses import replace
from typing import Any, Iterable, Mapping

from qa_pipeline.types import Transcript, Utterance

MIN_MASKED_DIGITS = 7
KEEP_LAST_DIGITS = 4
MASK_CHAR = "*"

_DIGITS = "0-9０-９零〇一二三四五六七八九幺两"
_SEPARATORS = " \u3000\\-－—、，"
_X = "XxＸｘ叉"
# Digit groups joined by single separators; a group after a separator needs two digits (so the
# "一" of "…零三八六，一般" stays outside), or one digit before an ID's final X.
_NUMBER_RE = re.compile(
    rf"[{_DIGITS}]+(?:[{_SEPARATORS}](?:[{_DIGITS}]{{2,}}|[{_DIGITS}](?=[{_SEPARATORS}]?[{_X}])))*"
    rf"(?:[{_SEPARATORS}]?[{_X}])?"
)
_DIGIT_OR_X_RE = re.compile(rf"[{_DIGITS}{_X}]")
# Dates and clock times written in Arabic digits are not identifiers.
_DATE_TIME_RE = re.compile(
    r"\d{4}[-/.年]\d{1,2}[-/.月]\d{1,2}[日号]?(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?|\d{1,2}:\d{2}(?::\d{2})?"
)
_ID_DIGITS = 18


def mask_text(text: str) -> str:
    """``text`` with every identifying number masked except its last four digits."""
    if not isinstance(text, str):
        raise ValueError(f"mask_text needs a str, got {type(text).__name__}")
    pieces: list[str] = []
    position = 0
    for protected in _DATE_TIME_RE.finditer(text):
        pieces.append(_NUMBER_RE.sub(_mask_match, text[position : protected.start()]))
        pieces.append(protected.group())
        position = protected.end()
    pieces.append(_NUMBER_RE.sub(_mask_match, text[position:]))
    return "".join(pieces)


def _mask_match(match: re.Match[str]) -> str:
    run = match.group()
    digit_positions = [m.start() for m in _DIGIT_OR_X_RE.finditer(run)]
    if run[-1] in _X and len(digit_positions) != _ID_DIGITS:
        # An X that does not end an 18-character ID is ordinary text (e.g. "3x").
        return _mask_match_text(run[:-1]) + run[-1]
    return _mask_match_text(run)


def _mask_match_text(run: str) -> str:
    positions = [m.start() for m in _DIGIT_OR_X_RE.finditer(run)]
    if len(positions) < MIN_MASKED_DIGITS:
        return run
    chars = list(run)
    for index in positions[: len(positions) - KEEP_LAST_DIGITS]:
        chars[index] = MASK_CHAR
    return "".join(chars)


def mask_pieces(pieces: Iterable[str]) -> list[str]:
    """Mask a text split into pieces (e.g. word texts) as one string, and split it back.

    A card number recognised as several words is still found, and each word keeps its own characters.
    """
    texts = list(pieces)
    masked = mask_text("".join(texts))
    out: list[str] = []
    position = 0
    for text in texts:
        out.append(masked[position : position + len(text)])
        position += len(text)
    return out


def mask_utterance(utterance: Utterance) -> Utterance:
    words = mask_pieces(w.text for w in utterance.words)
    masked_words = tuple(replace(w, text=t) for w, t in zip(utterance.words, words))
    return utterance.with_text(mask_text(utterance.text), masked_words)


def mask_transcript(transcript: Transcript) -> Transcript:
    """A copy of ``transcript`` with utterance and word texts masked."""
    return replace(transcript, utterances=tuple(mask_utterance(u) for u in transcript.utterances))


def mask_report_dict(report: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of a transcript/report dict (the JSON contract) with customer numbers masked.

    Utterance texts and their words (masked jointly), and every ``text`` field under ``checks`` and
    ``findings`` (evidence, hits) are masked.
    """
    if not isinstance(report, Mapping):
        raise ValueError(f"mask_report_dict needs a mapping, got {type(report).__name__}")
    out = copy.deepcopy(dict(report))
    for utterance in out.get("utterances") or ():
        if isinstance(utterance.get("text"), str):
            utterance["text"] = mask_text(utterance["text"])
        words = utterance.get("words") or []
        texts = mask_pieces(str(w.get("text", "")) for w in words)
        for word, text in zip(words, texts):
            word["text"] = text
    for key in ("checks", "findings"):
        if key in out:
            out[key] = _mask_text_fields(out[key])
    return out


def _mask_text_fields(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: mask_text(v) if k == "text" and isinstance(v, str) else _mask_text_fields(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_mask_text_fields(v) for v in value]
    return value


__all__ = [
    "MASK_CHAR",
    "MIN_MASKED_DIGITS",
    "mask_pieces",
    "mask_report_dict",
    "mask_text",
    "mask_transcript",
    "mask_utterance",
]
