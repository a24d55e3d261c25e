"""Turning VAD spans plus recognizer output into Utterances — shared by batch and live.

Both paths cut the same padded clip around a span and build the utterance the same
way, so a call replayed through the live path reads like the batch transcript.
"""

from __future__ import annotations

from qa_pipeline.asr.recognizer import ClipText
from qa_pipeline.text.segment import Segmenter, default_segmenter, timed_words
from qa_pipeline.text.normalize import normalize_display
from qa_pipeline.types import Role, Span, Utterance, Word


def build_utterance(
    span: Span,
    channel: int,
    role: Role,
    clip_start_s: float,
    result: ClipText,
    segmenter: Segmenter | None = None,
) -> Utterance | None:
    """An utterance timed by VAD with normalised text; None when ASR heard no words.

    ``words`` are jieba words of the text, timed from the recognizer's pieces.
    """
    text = normalize_display(result.text).strip()
    if not text:
        return None
    pieces = tuple(
        Word(w.text, _clamp(w.start_s + clip_start_s, span), _clamp(w.end_s + clip_start_s, span))
        for w in result.words
        if w.text.strip()
    )
    words = timed_words(text, pieces, span, segmenter or default_segmenter())
    return Utterance(role, channel, span.start_s, span.end_s, text, words)


def _clamp(time_s: float, span: Span) -> float:
    return min(max(time_s, span.start_s), span.end_s)
