"""Word segmentation of utterance text with jieba, timed from the recognizer's pieces.

Whisper's word timestamps for Chinese come per token (often a single character); QA
reviewers read words. Each utterance's display text is cut by a private jieba
tokenizer that knows the policy's banking words (its ``userdict.txt``; ``segmenter_for``), and every word takes its times
from the recognizer pieces its characters came from.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Callable, Sequence

from qa_pipeline.paths import default_policy_dir, user_cache_dir
from qa_pipeline.text.normalize import Tokenizer, normalize_display
from qa_pipeline.types import Span, Word

Segmenter = Callable[[str], list[str]]


def jieba_cache_dir() -> Path:
    """``<user cache>/qa_pipeline/jieba`` (created on first use, never at import)."""
    return user_cache_dir() / "jieba"


@functools.lru_cache(maxsize=4)
def _tokenizer_for(user_dict: Path | None) -> Tokenizer:
    """One tokenizer per user dictionary and process; jieba's global default is never used."""
    return Tokenizer(jieba_cache_dir(), user_dict)


@functools.lru_cache(maxsize=4)
def segmenter_for(user_dict: Path | None) -> Segmenter:
    """The word cutter of the tokenizer for ``user_dict`` (the same callable on every call)."""
    return _tokenizer_for(user_dict).cut


def _default_user_dict() -> Path | None:
    user_dict = default_policy_dir() / "userdict.txt"
    return user_dict if user_dict.is_file() else None


def default_segmenter() -> Segmenter:
    """The segmenter with the bundled policy's banking dictionary (``qa transcribe`` without a policy)."""
    return segmenter_for(_default_user_dict())


def is_dictionary_word(word: str) -> bool:
    """``word`` is a word of the bundled segmenter's dictionary, not a run its HMM glued together."""
    return _tokenizer_for(_default_user_dict()).knows(word)


def char_times(pieces: Sequence[Word], span: Span) -> tuple[str, list[Span]]:
    """The normalised text of ``pieces`` and one time span per character of it.

    A piece's time is shared evenly by its characters.
    """
    chars: list[str] = []
    times: list[Span] = []
    for piece in pieces:
        text = normalize_display(piece.text).strip()
        if not text:
            continue
        step_s = max(piece.end_s - piece.start_s, 0.0) / len(text)
        for i, ch in enumerate(text):
            chars.append(ch)
            times.append(Span(piece.start_s + i * step_s, piece.start_s + (i + 1) * step_s))
    return "".join(chars), times


def timed_words(text: str, pieces: Sequence[Word], span: Span, cut: Segmenter) -> tuple[Word, ...]:
    """jieba words of ``text``, each timed from the pieces (or spread over ``span``).

    When the pieces spell a different string than ``text`` (rare normalisation
    differences), times are spread evenly over the utterance instead of guessed.
    """
    piece_text, times = char_times(pieces, span)
    if piece_text != text:
        step_s = span.duration_s / max(len(text), 1)
        times = [Span(span.start_s + i * step_s, span.start_s + (i + 1) * step_s) for i in range(len(text))]
    words = []
    offset = 0
    for token in cut(text):
        at = text.find(token, offset)
        if at < 0:
            continue
        offset = at + len(token)
        if not any(ch.isalnum() for ch in token):
            continue  # punctuation is kept in the text, not listed as a word
        words.append(Word(token, times[at].start_s, times[offset - 1].end_s))
    return tuple(words)
