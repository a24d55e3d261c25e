"""The live ASR scheduler (agent clips first, nothing dropped) and the clip-window recognizer."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import numpy as np
import pytest

from qa_pipeline.asr.clips import ClipWindowOptions, window_frames
from qa_pipeline.config import LiveAsrOptions
from qa_pipeline.live.asr import AsrQueue, GuessBook, WaitingClip, pick_batch, transcribe_voices
from qa_pipeline.asr.recognizer import AudioClip, ClipText
from qa_pipeline.types import Role

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
# One beam for every role, so batches may mix roles (test_a_batch_holds_clips_of_one_beam: not so).
OPTIONS = LiveAsrOptions(batch_max_clips=3, batch_max_audio_s=20.0, customer_max_wait_s=2.0, customer_beam_size=5)


def _clip(call: str, role: Role, queued_s: float, duration_s: float = 3.0) -> WaitingClip:
    channel = 0 if role == Role.AGENT else 1
    return WaitingClip((call, channel), role, duration_s, queued_s)


@pytest.mark.parametrize(
    "waiting, now_s, expected, why",
    [
        ([_clip("a", Role.CUSTOMER, 0.0), _clip("b", Role.AGENT, 0.5)], 1.0, [1],
         "an agent clip goes before an older customer clip that has waited less than 2 s"),
        ([_clip("a", Role.CUSTOMER, 0.0), _clip("b", Role.AGENT, 0.5)], 2.0, [0, 1],
         "a customer clip that has waited 2 s joins the agent clips, oldest first"),
        ([_clip("a", Role.CUSTOMER, 0.3), _clip("b", Role.CUSTOMER, 0.1)], 0.5, [1, 0],
         "with no agent clip waiting, customer clips go oldest first"),
        ([_clip(c, Role.AGENT, t) for c, t in (("a", 0.4), ("b", 0.1), ("c", 0.3), ("d", 0.2))], 1.0, [1, 3, 2],
         "at most batch_max_clips clips, the oldest"),
        ([_clip("a", Role.AGENT, 0.1, 12.0), _clip("b", Role.AGENT, 0.2, 9.0)], 1.0, [0],
         "the batch stops before batch_max_audio_s of speech"),
        ([_clip("a", Role.AGENT, 0.1, 25.0)], 1.0, [0],
         "a clip longer than batch_max_audio_s still goes, alone"),
        ([_clip("a", Role.MIXED, 0.2), _clip("b", Role.CUSTOMER, 0.1)], 0.5, [0],
         "a mono (mixed) channel may hold agent phrases: it counts as urgent"),
    ],
)
def test_pick_batch(waiting, now_s, expected, why):
    assert pick_batch(waiting, now_s, OPTIONS) == expected, why


@pytest.mark.parametrize("bad", [dict(beam_size=0), dict(customer_beam_size=0), dict(batch_max_clips=0),
                                 dict(cpu_threads=-1), dict(batch_max_audio_s=0.0), dict(customer_max_wait_s=-1.0)])
def test_live_asr_options_refuse_impossible_values(bad):
    with pytest.raises(ValueError):
        LiveAsrOptions(**bad)


def test_a_batch_holds_clips_of_one_beam():
    greedy_customers = LiveAsrOptions(batch_max_clips=3, customer_max_wait_s=2.0, customer_beam_size=1)
    waiting = [_clip("a", Role.CUSTOMER, 0.0), _clip("b", Role.AGENT, 0.5), _clip("c", Role.AGENT, 0.6)]
    # The customer clip has waited long enough to go first, but decodes greedy: agents wait.
    assert pick_batch(waiting, 3.0, greedy_customers) == [0]
    assert pick_batch(waiting[1:], 3.0, greedy_customers) == [0, 1]
    # With one beam for everybody the same clips share one batch.
    assert pick_batch(waiting, 3.0, OPTIONS) == [0, 1, 2]
    assert greedy_customers.beam_for(Role.CUSTOMER) == 1
    assert greedy_customers.beam_for(Role.AGENT) == greedy_customers.beam_for(Role.MIXED) == 5


def test_queue_hands_out_agent_clips_first_every_item_once_and_blocks_when_full():
    async def scenario():
        now = time.monotonic()
        queue = AsrQueue(2, OPTIONS)
        await queue.put(_clip("a", Role.CUSTOMER, now), "customer-1")
        await queue.put(_clip("a", Role.AGENT, now + 0.1), "agent-1")
        third = asyncio.create_task(queue.put(_clip("b", Role.AGENT, now + 0.2), "agent-2"))
        await asyncio.sleep(0.01)
        blocked = not third.done()  # full: the ingest handler waits (back-pressure)
        first = await queue.take()
        await asyncio.wait_for(third, 1.0)
        second = await queue.take()
        third_batch = await queue.take()
        return blocked, first, second, third_batch, len(queue)

    blocked, first, second, third, left = asyncio.run(scenario())
    assert blocked
    assert (first, second, third, left) == (["agent-1"], ["agent-2"], ["customer-1"], 0)


def test_transcribe_voices_groups_by_voice_only_for_packing_recognizers():
    class Recording:
        model_id = "rec"

        def __init__(self):
            self.calls = []

        def transcribe(self, clips, hook=None):
            self.calls.append(len(clips))
            return [ClipText(f"{len(c.samples)}") for c in clips]

    clips = [AudioClip(np.zeros(n, np.float32)) for n in (10, 20, 30)]
    voices = [("a", 0), ("b", 0), ("a", 0)]
    packing, separate = Recording(), Recording()
    texts = transcribe_voices(packing, clips, [""] * 3, voices, separate_windows=False, on_error=lambda n: None)
    assert packing.calls == [2, 1] and [t.text for t in texts] == ["10", "20", "30"]
    texts = transcribe_voices(separate, clips, [""] * 3, voices, separate_windows=True, on_error=lambda n: None)
    assert separate.calls == [3] and [t.text for t in texts] == ["10", "20", "30"]


def test_a_failing_recognizer_leaves_empty_texts_and_is_reported():
    class Broken:
        model_id = "broken"

        def transcribe(self, clips, hook=None):
            raise RuntimeError("boom")

    failed = []
    texts = transcribe_voices(Broken(), [AudioClip(np.zeros(5, np.float32))], [""], [("a", 0)], True, failed.append)
    assert texts == [ClipText("")] and failed == [1]


@pytest.mark.parametrize("duration_s, frames", [(0.4, 200), (2.0, 300), (2.05, 400), (28.5, 3000), (40.0, 3000)])
def test_window_frames_round_clip_plus_tail_up_to_whole_seconds(duration_s, frames):
    assert window_frames(duration_s, ClipWindowOptions(tail_s=1.0, step_s=1.0)) == frames


@pytest.mark.model
def test_clip_windows_read_the_agent_forbidden_phrase():
    """dev_call_04's agent says 你错了 in one utterance: greedy clip-length windows still read it."""
    from qa_pipeline.audio.channel import analyse_channel
    from qa_pipeline.asr.clips import ClipWindowRecognizer
    from qa_pipeline.audio.io import load_call_audio
    from qa_pipeline.config import AsrOptions, PipelineOptions
    from qa_pipeline.text.normalize import match_form
    from qa_pipeline.text.utterances import clip_bounds_s, cut_clip

    options = PipelineOptions()
    audio = load_call_audio(SAMPLES / "dev_call_04.wav")
    agent = audio.channels[0]
    activity = analyse_channel(agent, audio.sample_rate_hz, 0, Role.AGENT, options.vad, options.tone)
    total_s = len(agent) / audio.sample_rate_hz
    clips = [cut_clip(agent, audio.sample_rate_hz, clip_bounds_s(s, options.vad.pad_ms, total_s)) for s in activity.speech]
    recognizer = ClipWindowRecognizer(AsrOptions(beam_size=1, cpu_threads=2))
    texts = recognizer.transcribe(clips)
    assert len(texts) == len(clips)
    hits = [i for i, t in enumerate(texts) if "你错了" in match_form(t.text)]
    assert hits, [t.text for t in texts]
    words = texts[hits[0]].words
    assert words and all(0.0 <= w.start_s <= w.end_s <= clips[hits[0]].duration_s for w in words)


@pytest.mark.parametrize(
    "text, expected, why",
    [
        ("不收为月金不收为月金", True, "a 5-character piece twice is the whole text: a decoder loop"),
        ("也可以拨打我们的客服热线也可以拨打我们的客服热线", True, "a 12-character clause twice"),
        ("目前的年化率率是13.6%目前的年化率是13.6%", True, "a clause twice with a slip"),
        ("您好，请问有什么可以帮您？好的，您请讲。", False, "two different clauses"),
        ("不凶为月金不凶为月金不凶为月金不凶", True, "a loop cut off by the token limit"),
        ("对对对对对对", True, "one character said six times"),
        ("不行不行", False, "short repeats are how people talk"),
        ("好的好的，我明白了，您稍等", False, "a repeat that is a small part of the text"),
        ("谢谢您的来电，再见。", False, "no repeat at all"),
    ],
)
def test_loops(text, expected, why):
    from qa_pipeline.asr.clips import loops

    assert loops(text) is expected, why


@pytest.mark.parametrize(
    "text, expected, why",
    [
        ("也可以拨打我们的客服热线也可以拨打我们的客服热线", "也可以拨打我们的客服热线", "a clause twice (dev_call_07)"),
        ("客服热线。客服热线。客服", "客服热线。", "a loop cut off by the token limit"),
        ("目前的年化率率是13.6%目前的年化率是13.6%", "目前的年化率率是13.6%", "twice with a slip (dev_call_05)"),
        ("不行不行", "不行不行", "a short word said twice is how people talk"),
        ("对对对对", "对对对对", "a single character said again"),
        ("好的，请讲。好的", "好的，请讲。好的", "not one run said again and again"),
    ],
)
def test_collapse_repeats(text, expected, why):
    from qa_pipeline.asr.clips import collapse_repeats

    ids = [ord(ch) for ch in text]  # one token per character
    once = collapse_repeats(ids, lambda tokens: "".join(map(chr, tokens)))
    assert "".join(map(chr, once)) == expected, why


@pytest.mark.parametrize(
    "text, context, expected, why",
    [
        ("目前的年化率是13.6%", "目前的年化率率是13.6%", True, "the previous part said again (dev_call_05)"),
        ("具体以审批结果为准。", "目前的年化利率是百分之三点六起，", False, "new words after the context"),
        ("好的，请讲。", "", False, "no context to echo"),
        ("您好", "您好，很高兴为您服务", False, "too short to call an echo"),
        ("您好，请问还有什么可以帮您的吗？", "请问还有", False, "a quarter of the text matches: not an echo"),
    ],
)
def test_echoes(text, context, expected, why):
    from qa_pipeline.asr.clips import echoes

    assert echoes(text, context) is expected, why


def test_guess_book_hands_a_guess_only_to_the_close_it_guessed():
    from dataclasses import dataclass

    from qa_pipeline.types import Span

    @dataclass
    class Event:
        channel: int
        span: Span

        def matches(self, closed):
            return (closed.channel, closed.span) == (self.channel, self.span)

    book = GuessBook()
    first = book.start("c1", Event(0, Span(1.0, 2.0)))
    second = book.start("c1", Event(0, Span(1.0, 3.5)))  # speech went on: a new guess
    other_call = book.start("c2", Event(0, Span(1.0, 2.0)))
    assert first.stale and not second.stale and not other_call.stale
    assert book.claim("c1", Event(0, Span(1.0, 3.5))) is second
    assert book.claim("c1", Event(0, Span(1.0, 3.5))) is None  # claimed once
    assert book.claim("c2", Event(0, Span(1.0, 2.2))) is None and other_call.stale  # closed otherwise
    third = book.start("c3", Event(1, Span(0.0, 1.0)))
    book.drop_call("c3")
    assert third.stale and book.claim("c3", Event(1, Span(0.0, 1.0))) is None


def test_the_live_beams_reach_the_decoder_without_clip_windows_too():
    """With 30 s windows (clip_windows off) the customer's greedy beam used to be dropped silently."""
    import numpy as np

    from qa_pipeline.asr.factory import build_recognizer
    from qa_pipeline.asr.recognizer import AudioClip
    from qa_pipeline.config import AsrOptions, LiveAsrOptions
    from qa_pipeline.live.asr import transcribe_in_context
    from qa_pipeline.types import Role

    live = LiveAsrOptions(clip_windows=False, beam_size=5, customer_beam_size=1)
    recognizer = build_recognizer(AsrOptions(), live)
    seen: list[int | None] = []
    recognizer.decode = lambda audio, beam_size=None: seen.append(beam_size) or []
    clip = AudioClip(np.full(16000, 0.1, dtype=np.float32))
    for role in (Role.AGENT, Role.CUSTOMER):
        transcribe_in_context(recognizer, [clip], [""], live.beam_for(role))
    assert seen == [5, 1]


def test_the_store_key_names_the_beams_of_batch_and_live():
    from qa_pipeline.asr.factory import decoding_id
    from qa_pipeline.config import AsrOptions, LiveAsrOptions

    assert decoding_id("m@1", AsrOptions(beam_size=1)) == "m@1/beam1"
    assert decoding_id("m@1", AsrOptions(), LiveAsrOptions(beam_size=5, customer_beam_size=1)) == "m@1/beam5-customer1"
    assert decoding_id("m@1", AsrOptions(), LiveAsrOptions(beam_size=3, customer_beam_size=3)) == "m@1/beam3"
