"""Transcript JSON as input: read, validate strictly and complete a transcript written elsewhere.

The accepted shape is what ``qa transcribe --format json`` writes::

    {"call_id": "C-1", "duration_s": 95.2, "sample_rate_hz": 8000, "channels": 2,
     "utterances": [{"role": "agent", "channel": 0, "start_s": 0.4, "end_s": 3.1,
                     "text": "您好，…", "words": [{"text": "您好", "start_s": 0.4, "end_s": 0.9}]}],
     "activity": [{"channel": 0, "role": "agent", "speech": [{"start_s": 0.4, "end_s": 3.1}],
                   "tone": [], "music": []}]}

Only ``utterances`` (each with role, channel, start_s, end_s, text) is required; ``words`` and
``activity`` are optional, other keys are ignored (so a ``qa audit --format json`` report reads too).
Texts are normalised as recognised text is (Simplified Chinese, unified punctuation). Words are kept
when they spell the text; otherwise (or when absent) they are rebuilt with jieba and timed evenly over
the utterance, so every check sees the same kind of transcript as from audio. Every problem raises
``TranscriptFormatError`` naming the file and the JSON path of the bad value.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Callable, Mapping

from qa_pipeline.errors import TranscriptFormatError
from qa_pipeline.text.normalize import match_form, normalize_display
from qa_pipeline.text.pii import MASK_CHAR
from qa_pipeline.text.segment import Segmenter, default_segmenter, timed_words
from qa_pipeline.types import ChannelActivity, Role, Span, Transcript, Utterance, Word

__all__ = [
    "TRANSCRIPT_MODEL_ID",
    "is_transcript_path",
    "read_transcript",
    "transcript_from_dict",
    "transcript_to_dict",
]

#: The ``model_id`` of a call scored from a transcript JSON (no recogniser of ours ran).
TRANSCRIPT_MODEL_ID = "transcript"

#: How far (seconds) a word may reach outside its utterance before the file is refused.
WORD_SLACK_S = 0.05

_SIDECAR_SUFFIXES = (".meta.json", ".truth.json")
_ROLES = ", ".join(r.value for r in Role)


def is_transcript_path(path: Path) -> bool:
    """``NAME.json`` that is not a sidecar (``NAME.meta.json``, ``NAME.truth.json``)."""
    name = Path(path).name.lower()
    return name.endswith(".json") and not name.endswith(_SIDECAR_SUFFIXES)


def read_transcript(path: Path, segmenter: Segmenter | None = None) -> Transcript:
    """The transcript in ``path``; raises TranscriptFormatError with one clear line on bad input."""
    path = Path(path)
    source = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise TranscriptFormatError("file not found", source) from None
    except OSError as exc:
        raise TranscriptFormatError(f"cannot read the file: {exc.strerror or exc}", source) from None
    if not raw.strip():
        raise TranscriptFormatError("empty file, expected a transcript JSON object", source)
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise TranscriptFormatError("not UTF-8 text, expected a transcript JSON object", source) from None
    except json.JSONDecodeError as exc:
        raise TranscriptFormatError(
            f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}", source
        ) from None
    return transcript_from_dict(data, source, segmenter, default_call_id=path.name.rsplit(".", 1)[0])


def transcript_from_dict(
    data: Any,
    source: str | None = None,
    segmenter: Segmenter | None = None,
    *,
    default_call_id: str = "",
    normalized: bool = False,
) -> Transcript:
    """Validate a decoded transcript JSON value and build the Transcript (see the module docstring).

    ``normalized`` skips text normalisation for texts known to be normalised already (a transcript
    this program stored); everything is validated all the same.
    """
    if not isinstance(data, Mapping):
        raise TranscriptFormatError(f"expected a JSON object with 'utterances', got {_kind(data)}", source)
    if "utterances" not in data:
        raise TranscriptFormatError("missing 'utterances' (a list of utterances)", source)
    items = data["utterances"]
    if not isinstance(items, list):
        raise TranscriptFormatError(f"'utterances' must be a list, got {_kind(items)}", source)
    cut = segmenter or default_segmenter()
    clean = (lambda text: text.strip()) if normalized else (lambda text: normalize_display(text).strip())
    utterances = [_utterance(item, f"utterances[{i}]", source, cut, clean) for i, item in enumerate(items)]
    last_end_s = max((u.end_s for u in utterances), default=0.0)
    duration_s = _optional_time(data, "duration_s", source)
    if duration_s is None:
        duration_s = last_end_s
    elif last_end_s > duration_s + WORD_SLACK_S:
        raise TranscriptFormatError(
            f"an utterance ends at {last_end_s:g} s, after duration_s {duration_s:g}", source
        )
    channels = _optional_int(data, "channels", source, minimum=1)
    activity = _activity(data.get("activity"), source)
    call_id = data.get("call_id")
    if call_id is not None and not isinstance(call_id, str):
        raise TranscriptFormatError(f"'call_id' must be a string, got {_kind(call_id)}", source)
    return Transcript(
        call_id=call_id or default_call_id,
        duration_s=duration_s,
        sample_rate_hz=_optional_int(data, "sample_rate_hz", source, minimum=0) or 0,
        channels=channels or (max((u.channel for u in utterances), default=0) + 1),
        utterances=tuple(sorted(utterances, key=lambda u: (u.start_s, u.channel))),
        activity=activity,
    )


def transcript_to_dict(transcript: Transcript) -> dict[str, Any]:
    """The transcript JSON including the signal analysis (``activity``), so it reads back whole."""
    out = transcript.to_dict()
    out["activity"] = [
        {
            "channel": a.channel,
            "role": a.role.value,
            "speech": [s.to_dict() for s in a.speech],
            "tone": [s.to_dict() for s in a.tone],
            "music": [s.to_dict() for s in a.music],
        }
        for a in transcript.activity
    ]
    return out


# -- one utterance ---------------------------------------------------------------------------------


def _utterance(item: Any, where: str, source: str | None, cut: Segmenter,
               clean: Callable[[str], str]) -> Utterance:
    if not isinstance(item, Mapping):
        raise TranscriptFormatError(f"{where} must be an object, got {_kind(item)}", source)
    for key in ("role", "channel", "start_s", "end_s", "text"):
        if key not in item:
            raise TranscriptFormatError(f"{where} is missing '{key}'", source)
    role = _role(item["role"], f"{where}.role", source)
    channel = _int(item["channel"], f"{where}.channel", source, minimum=0)
    span = _span(item, where, source)
    if not isinstance(item["text"], str):
        raise TranscriptFormatError(f"{where}.text must be a string, got {_kind(item['text'])}", source)
    text = clean(item["text"])
    given = _words(item.get("words"), f"{where}.words", span, source, clean)
    if given and _spelled_by(text, given):
        words = given  # they spell the text: keep their times as given
    else:
        words = timed_words(text, (), span, cut)  # rebuilt, spread evenly over the utterance
    confidence = item.get("role_confidence")
    if confidence is not None and (isinstance(confidence, bool) or not isinstance(confidence, (int, float))
                                   or not 0.0 <= confidence <= 1.0):
        raise TranscriptFormatError(f"{where}.role_confidence must be a number in [0, 1]", source)
    return Utterance(role, channel, span.start_s, span.end_s, text, words,
                     None if confidence is None else float(confidence))


def _spelled_by(text: str, words: tuple[Word, ...]) -> bool:
    """Do the words spell the text, punctuation aside? (A plain comparison first: it is the common case.)"""
    joined = "".join(w.text for w in words)
    if joined == "".join(ch for ch in text if ch.isalnum() or ch == MASK_CHAR):
        return True
    return match_form(joined) == match_form(text)


def _words(value: Any, where: str, span: Span, source: str | None,
           clean: Callable[[str], str]) -> tuple[Word, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise TranscriptFormatError(f"{where} must be a list, got {_kind(value)}", source)
    words = []
    for i, item in enumerate(value):
        at = f"{where}[{i}]"
        if not isinstance(item, Mapping):
            raise TranscriptFormatError(f"{at} must be an object, got {_kind(item)}", source)
        for key in ("text", "start_s", "end_s"):
            if key not in item:
                raise TranscriptFormatError(f"{at} is missing '{key}'", source)
        if not isinstance(item["text"], str):
            raise TranscriptFormatError(f"{at}.text must be a string, got {_kind(item['text'])}", source)
        word_span = _span(item, at, source)
        if word_span.start_s < span.start_s - WORD_SLACK_S or word_span.end_s > span.end_s + WORD_SLACK_S:
            raise TranscriptFormatError(
                f"{at} ({word_span.start_s:g}–{word_span.end_s:g} s) lies outside its utterance "
                f"({span.start_s:g}–{span.end_s:g} s)", source
            )
        start_s = min(max(word_span.start_s, span.start_s), span.end_s)
        end_s = min(max(word_span.end_s, start_s), span.end_s)
        words.append(Word(clean(item["text"]), start_s, end_s))
    return tuple(words)


# -- activity --------------------------------------------------------------------------------------


def _activity(value: Any, source: str | None) -> tuple[ChannelActivity, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise TranscriptFormatError(f"'activity' must be a list, got {_kind(value)}", source)
    out = []
    for i, item in enumerate(value):
        where = f"activity[{i}]"
        if not isinstance(item, Mapping):
            raise TranscriptFormatError(f"{where} must be an object, got {_kind(item)}", source)
        for key in ("channel", "role"):
            if key not in item:
                raise TranscriptFormatError(f"{where} is missing '{key}'", source)
        spans = {key: _spans(item.get(key), f"{where}.{key}", source) for key in ("speech", "tone", "music")}
        out.append(ChannelActivity(
            channel=_int(item["channel"], f"{where}.channel", source, minimum=0),
            role=_role(item["role"], f"{where}.role", source),
            **spans,
        ))
    return tuple(out)


def _spans(value: Any, where: str, source: str | None) -> tuple[Span, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise TranscriptFormatError(f"{where} must be a list, got {_kind(value)}", source)
    spans = []
    for i, item in enumerate(value):
        if not isinstance(item, Mapping) or "start_s" not in item or "end_s" not in item:
            raise TranscriptFormatError(f"{where}[{i}] must be an object with start_s and end_s", source)
        spans.append(_span(item, f"{where}[{i}]", source))
    return tuple(spans)


# -- scalar values ---------------------------------------------------------------------------------


def _span(item: Mapping[str, Any], where: str, source: str | None) -> Span:
    start_s = _time(item["start_s"], f"{where}.start_s", source)
    end_s = _time(item["end_s"], f"{where}.end_s", source)
    if end_s < start_s:
        raise TranscriptFormatError(f"{where} ends ({end_s:g} s) before it starts ({start_s:g} s)", source)
    return Span(start_s, end_s)


def _time(value: Any, where: str, source: str | None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise TranscriptFormatError(f"{where} must be a number of seconds >= 0, got {value!r}", source)
    return float(value)


def _optional_time(data: Mapping[str, Any], key: str, source: str | None) -> float | None:
    return None if data.get(key) is None else _time(data[key], key, source)


def _int(value: Any, where: str, source: str | None, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise TranscriptFormatError(f"{where} must be an integer >= {minimum}, got {value!r}", source)
    return value


def _optional_int(data: Mapping[str, Any], key: str, source: str | None, *, minimum: int) -> int | None:
    return None if data.get(key) is None else _int(data[key], key, source, minimum=minimum)


def _role(value: Any, where: str, source: str | None) -> Role:
    try:
        return Role(value)
    except (ValueError, TypeError):
        raise TranscriptFormatError(f"{where} must be one of {_ROLES}, got {value!r}", source) from None


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number" if isinstance(value, (int, float)) else type(value).__name__)
