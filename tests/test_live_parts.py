"""PartBook: the bookkeeping of long live utterances sent to ASR in parts (no audio, no model)."""

from __future__ import annotations

import pytest

from qa_pipeline.live.parts import PartBook
from qa_pipeline.asr.recognizer import ClipText
from qa_pipeline.types import Role, Span, Word

PAD_S = 0.15


def _text(text: str, start_s: float = 0.2) -> ClipText:
    return ClipText(text, tuple(Word(ch, start_s + 0.25 * i, start_s + 0.25 * (i + 1)) for i, ch in enumerate(text)))


def test_a_part_is_due_only_once_enough_new_speech_is_held():
    book = PartBook(min_part_s=3.0, pad_s=PAD_S)
    assert book.due(0, Span(10.0, 12.5)) is None  # 2.5 s < 3 s
    first = book.due(0, Span(10.0, 13.2))
    assert first == Span(pytest.approx(9.85), pytest.approx(13.35))
    book.add_part(0, Role.AGENT, Span(10.0, 13.2), 7, first)
    assert book.due(0, Span(10.0, 13.2)) is None  # the same pause: nothing new
    assert book.due(0, Span(10.0, 16.0)) is None  # 2.5 s after the cut's pause
    second = book.due(0, Span(10.0, 16.8))
    # The next clip starts where the last one ended: nothing heard twice, nothing lost.
    assert second == Span(pytest.approx(13.35), pytest.approx(16.95))


def test_parts_and_rest_join_into_one_text_with_words_on_one_clock():
    book = PartBook(min_part_s=3.0, pad_s=PAD_S)
    bounds = book.due(0, Span(10.0, 13.2))
    book.add_part(0, Role.AGENT, Span(10.0, 13.2), 1, bounds)
    assert book.accept(1, _text("请您不要生气")) is None  # still open
    parted = book.close(0, Span(10.0, 15.0))
    rest = parted.rest_bounds(15.0, PAD_S)
    assert rest == Span(pytest.approx(13.35), pytest.approx(15.15))
    book.add_rest(parted, 2, rest.start_s)
    assert set(book.waiting_ids) == {2}
    done = book.accept(2, _text("我们会尽快处理。", start_s=0.1))
    assert done is parted and book.waiting_ids == ()
    clip_start_s, text = done.merged()
    assert clip_start_s == pytest.approx(9.85)
    assert text.text == "请您不要生气，我们会尽快处理。"  # a part ends at a pause: a comma joins
    rest_words = [w for w in text.words if w.text == "我"]
    assert rest_words[0].start_s == pytest.approx(13.35 + 0.1 - 9.85)


def test_an_utterance_that_ends_at_its_last_part_needs_no_more_asr():
    book = PartBook(min_part_s=3.0, pad_s=PAD_S)
    book.add_part(0, Role.AGENT, Span(2.0, 6.0), 4, book.due(0, Span(2.0, 6.0)))
    parted = book.close(0, Span(2.0, 6.0))
    assert parted.rest_bounds(6.0, PAD_S) is None
    assert book.take_if_complete(parted) is None  # the part's text is not back yet
    done = book.accept(4, _text("好的。"))
    assert done is parted and done.merged()[1].text == "好的。"


def test_parts_that_do_not_fit_the_closed_span_are_abandoned_and_their_texts_ignored():
    book = PartBook(min_part_s=3.0, pad_s=PAD_S)
    book.add_part(1, Role.CUSTOMER, Span(5.0, 9.0), 3, book.due(1, Span(5.0, 9.0)))
    # VAD re-cut the audio (disconnect tone, over-long split): the span ends inside the part.
    assert book.close(1, Span(5.0, 8.0)) is None
    assert book.waiting_ids == (3,)
    assert book.knows(3) and book.accept(3, _text("喂")) is None
    assert book.waiting_ids == () and not book.knows(3)
    with pytest.raises(ValueError):
        book.accept(3, _text("喂"))


def test_a_new_utterance_start_abandons_the_open_parts():
    book = PartBook(min_part_s=3.0, pad_s=PAD_S)
    book.add_part(0, Role.AGENT, Span(5.0, 9.0), 3, book.due(0, Span(5.0, 9.0)))
    assert book.due(0, Span(20.0, 24.0)) is not None
    assert book.open(0) is None and book.waiting_ids == (3,)
