"""jieba words of an utterance, timed from the recognizer's per-token pieces."""

from __future__ import annotations

import pytest

from qa_pipeline.text.segment import char_times, default_segmenter, timed_words
from qa_pipeline.types import Span, Word

# Whisper-style pieces: mostly one character each, one two-character token.
PIECES = (
    Word("您", 1.0, 1.2),
    Word("好", 1.2, 1.4),
    Word("，", 1.4, 1.4),
    Word("請", 1.6, 1.8),
    Word("講", 1.8, 2.0),
    Word("挂失", 2.2, 2.6),
)


def test_char_times_share_a_piece_evenly_and_normalise():
    text, times = char_times(PIECES, Span(1.0, 2.6))
    assert text == "您好，请讲挂失"
    assert (times[5].start_s, times[5].end_s) == pytest.approx((2.2, 2.4))
    assert (times[6].start_s, times[6].end_s) == pytest.approx((2.4, 2.6))


def test_words_take_times_from_their_characters():
    words = timed_words("您好，请讲挂失", PIECES, Span(1.0, 2.6), lambda t: ["您好", "，", "请讲", "挂失"])
    assert [(w.text, w.start_s, w.end_s) for w in words] == [
        ("您好", 1.0, 1.4),
        ("请讲", 1.6, 2.0),
        ("挂失", 2.2, 2.6),
    ]


def test_text_that_differs_from_the_pieces_is_spread_over_the_span():
    words = timed_words("好的", (Word("好", 5.0, 5.1),), Span(4.0, 6.0), lambda t: ["好的"])
    assert [(w.text, w.start_s, w.end_s) for w in words] == [("好的", 4.0, 6.0)]


def test_real_jieba_keeps_banking_words_whole():
    cut = default_segmenter()
    words = cut("我想办理口头挂失和信用卡分期")
    assert "口头挂失" in words  # only in the policy's user dictionary, not jieba's own
    assert "信用卡" in words
    assert "".join(words) == "我想办理口头挂失和信用卡分期"
