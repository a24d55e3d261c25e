"""LiveSession: the live path reaches what the batch path reaches, driven synchronously.

Signal tests compare the live per-channel activity (speech, tone, music spans) with the batch
``analyse_call`` on the same sample files, fed in uneven chunks that split sample frames.
Logic tests use a fake recognizer; the marked replay test runs the real model and asserts the
final findings equal ``audit_call``'s.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from qa_pipeline.audio.channel import analyse_call
from qa_pipeline.audio.io import load_call_audio
from qa_pipeline.config import PipelineOptions
from qa_pipeline.errors import StreamProtocolError
from qa_pipeline.asr.recognizer import ClipText
from qa_pipeline.live.session import (
    Alert,
    HangupSeen,
    LiveOptions,
    LiveSession,
    StreamFormat,
    StreamStart,
    UtteranceClosed,
    UtteranceLikely,
    UtterancePart,
    replay,
    stream_chunks,
)
from qa_pipeline.audio.channel import ChannelHistory
from qa_pipeline.cli.tap import load_recording
from qa_pipeline.types import CallMeta, Direction, Party, Role, Word

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
OPTIONS = PipelineOptions()


class FixedRecognizer:
    """Every clip reads the same words."""

    model_id = "fixed"

    def __init__(self, text: str, words: tuple[Word, ...] = ()) -> None:
        self.text, self.words, self.calls = text, words, 0

    def transcribe(self, clips, hook=None):
        self.calls += 1
        return [ClipText(self.text, self.words) for _ in clips]


def _session(name: str, policy=None, live: LiveOptions = LiveOptions()) -> tuple[LiveSession, bytes]:
    recording = load_recording(SAMPLES / f"{name}.wav")
    meta = CallMeta.load(SAMPLES / f"{name}.meta.json")
    start = StreamStart(meta, recording.format)
    return LiveSession(start, policy, OPTIONS, "test", live), recording.data


def _uneven_chunks(data: bytes, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    chunks, pos = [], 0
    while pos < len(data):
        step = rng.randint(1, 4001)  # odd sizes split 16-bit stereo frames
        chunks.append(data[pos : pos + step])
        pos += step
    return chunks


# -- the start message -----------------------------------------------------------------------


def test_start_message_becomes_meta_and_format():
    start = StreamStart.from_message("c1", {
        "type": "start", "agent_id": "6619", "direction": "outbound", "sample_rate_hz": 8000,
        "channels": 2, "encoding": "mulaw", "queue": "cards"})
    assert start.meta == CallMeta(call_id="c1", agent_id="6619", direction=Direction.OUTBOUND, queue="cards")
    assert start.format == StreamFormat(8000, 2, "mulaw")
    assert start.format.frame_bytes == 2


@pytest.mark.parametrize(
    "message, problem",
    [
        ({"type": "hello"}, "first message must be"),
        ({"type": "start", "sample_rate_hz": 44100, "channels": 2, "encoding": "pcm16"}, "sample_rate_hz must be 8000 or 16000"),
        ({"type": "start", "sample_rate_hz": "8000", "channels": 2, "encoding": "pcm16"}, "sample_rate_hz must be an integer"),
        ({"type": "start", "sample_rate_hz": 8000, "channels": 0, "encoding": "pcm16"}, "channels must be 1 or 2"),
        ({"type": "start", "sample_rate_hz": 8000, "channels": 1, "encoding": "g729"}, "encoding must be one of"),
        ({"type": "start", "sample_rate_hz": 8000, "channels": 1, "encoding": "pcm16", "direction": "sideways"}, "Direction"),
    ],
)
def test_bad_start_messages_name_the_call_and_the_problem(message, problem):
    with pytest.raises(StreamProtocolError) as error:
        StreamStart.from_message("c9", message)
    assert problem in error.value.one_line()
    assert error.value.one_line().startswith("call c9: ")
    assert "\n" not in error.value.one_line()


# -- signal: live activity == batch activity --------------------------------------------------


@pytest.mark.parametrize("name, seed", [("dev_call_01", 1), ("dev_call_04", 2), ("dev_call_10", 3)])
def test_live_activity_equals_batch_activity(name, seed, monkeypatch):
    monkeypatch.setattr(LiveSession, "_timed_alerts", lambda self: [])  # signal only, no rules
    session, data = _session(name)
    clips = []  # every clip sent to ASR: whole utterances and parts of long ones
    for chunk in _uneven_chunks(data, seed):
        clips += [e for e in session.push_audio(chunk) if isinstance(e, (UtteranceClosed, UtterancePart))]
    clips += [e for e in session.finish() if isinstance(e, (UtteranceClosed, UtterancePart))]
    batch = analyse_call(load_call_audio(SAMPLES / f"{name}.wav", OPTIONS.audio), OPTIONS)
    live = session._transcript().activity
    assert [a.role for a in live] == [Role.AGENT, Role.CUSTOMER]
    for b, l in zip(batch, live):
        assert len(l.speech) == len(b.speech)
        for ls, bs in zip(l.speech, b.speech):
            assert ls.start_s == pytest.approx(bs.start_s, abs=1e-6)
            assert ls.end_s == pytest.approx(bs.end_s, abs=1e-6)
        assert len(l.tone) == len(b.tone)
        for lt, bt in zip(l.tone, b.tone):
            assert lt.start_s == pytest.approx(bt.start_s, abs=0.02)
        assert l.music == b.music
    # Every speech span went to ASR exactly once with the batch padding: whole, or in parts
    # whose clips tile the padded span without gap or overlap.
    assert any(isinstance(e, UtterancePart) for e in clips)
    for activity in live:
        mine = sorted((e.clip_start_s, e.clip_start_s + e.clip.duration_s) for e in clips if e.channel == activity.channel)
        tiles = []
        for span in activity.speech:
            edge_s = span.start_s - 0.15
            assert mine and mine[0][0] == pytest.approx(edge_s, abs=0.002)
            while mine and mine[0][0] == pytest.approx(edge_s, abs=0.002) and mine[0][0] < span.end_s:
                edge_s = mine.pop(0)[1]
            assert edge_s == pytest.approx(span.end_s + 0.15, abs=0.002)
            tiles.append(edge_s)
        assert not mine and len(tiles) == len(activity.speech)
    assert session.audio_s == pytest.approx(load_call_audio(SAMPLES / f"{name}.wav").duration_s)


def test_tone_on_the_agent_channel_reports_the_agent_hanging_up(monkeypatch):
    monkeypatch.setattr(LiveSession, "_timed_alerts", lambda self: [])
    session, data = _session("dev_call_10")  # agent hangs up: busy tone on ch0 from 58.39 s
    events = []
    for chunk in stream_chunks(data, 2, 0.02, 8000):
        events += session.push_audio(chunk)
    [hangup] = [e for e in events if isinstance(e, HangupSeen)]
    assert hangup.party == Party.AGENT and hangup.method == "tone"
    assert hangup.time_s == pytest.approx(58.39, abs=0.02)
    # No utterance of the agent channel reaches into the tone.
    assert all(e.span.end_s <= 58.39 for e in events if isinstance(e, UtteranceClosed) and e.channel == 0)


class ContextRecorder:
    """Reads each clip as the next character of NAMES and records the context it was given."""

    model_id = "context"
    NAMES = "甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉戌亥"

    def __init__(self) -> None:
        self.contexts: list[str] = []

    def transcribe_in_context(self, clips, contexts, hook=None):
        texts = [ClipText(self.NAMES[(len(self.contexts) + i) % len(self.NAMES)]) for i in range(len(clips))]
        self.contexts += list(contexts)
        return texts


def test_each_closed_utterance_carries_the_previous_text_of_its_own_channel(monkeypatch, default_policy):
    monkeypatch.setattr(LiveSession, "_timed_alerts", lambda self: [])
    session, data = _session("dev_call_10", default_policy, LiveOptions(part_min_s=None))
    recognizer = ContextRecorder()
    events = replay(session, stream_chunks(data, 2, 0.5, 8000), recognizer)
    closed = [e for e in events if isinstance(e, UtteranceClosed)]
    assert [e.context for e in closed] == recognizer.contexts
    for channel in (0, 1):
        said = [u.text for u in session.utterances if u.channel == channel]
        contexts = [e.context for e in closed if e.channel == channel]
        assert len(said) >= 3 and contexts == ["", *said[:-1]], channel


def test_long_utterances_go_in_parts_each_after_the_text_before_it(monkeypatch, default_policy):
    monkeypatch.setattr(LiveSession, "_timed_alerts", lambda self: [])
    session, data = _session("dev_call_04", default_policy, LiveOptions(part_min_s=3.0))
    recognizer = ContextRecorder()
    events = replay(session, stream_chunks(data, 2, 0.5, 8000), recognizer)
    sent = [e for e in events if isinstance(e, (UtteranceClosed, UtterancePart))]
    assert [e.context for e in sent] == recognizer.contexts
    text_of = {e.utterance_id: recognizer.NAMES[i % len(recognizer.NAMES)] for i, e in enumerate(sent)}
    parts = [e for e in sent if isinstance(e, UtterancePart)]
    assert len(parts) >= 3
    for utterance in session.utterances:
        mine = [e for e in sent if e.channel == utterance.channel
                and utterance.start_s - 0.16 <= e.clip_start_s < utterance.end_s]
        # Parts were cut at pauses of the open utterance, at least part_min_s (3 s) apart, and the
        # utterance reads as its parts joined at those pauses.
        assert utterance.text == "，".join(text_of[e.utterance_id] for e in mine)
        assert all(b.clip_start_s - a.clip_start_s >= 3.0 for a, b in zip(mine, mine[1:]))
        # Each part after the first is decoded after the text of the one before it.
        for before, after in zip(mine, mine[1:]):
            assert after.context == text_of[before.utterance_id]
    assert any("，" in u.text for u in session.utterances)
    # Utterances below part_min_s are never cut: the 3 s rule keeps short turns whole.
    assert all("，" not in u.text for u in session.utterances if u.duration_s < 3.0)


def test_likely_utterances_announce_agent_closes_before_vad_is_sure(monkeypatch):
    monkeypatch.setattr(LiveSession, "_timed_alerts", lambda self: [])
    session, data = _session("dev_call_04")
    events = []
    for chunk in _uneven_chunks(data, 7):
        events += session.push_audio(chunk)
    likely = [(i, e) for i, e in enumerate(events) if isinstance(e, UtteranceLikely)]
    # (the end of the stream closes the last utterance at once: nothing to guess there)
    closed = [(i, e) for i, e in enumerate(events) if isinstance(e, UtteranceClosed) and e.channel == 0]
    assert likely and all(e.channel == 0 and e.role == Role.AGENT for _, e in likely)  # customers: no guesses
    guessed = [c for i, c in closed if any(j < i and g.matches(c) for j, g in likely)]
    # Almost every agent utterance was announced before VAD closed it, with the very same clip.
    assert len(guessed) >= 0.8 * len(closed), (len(guessed), len(closed))
    for closed_event in guessed:
        guess = next(g for _, g in likely if g.matches(closed_event))
        assert np.array_equal(guess.clip.samples, closed_event.clip.samples)
    # A guess is never taken for a different utterance.
    spans = {c.span for _, c in closed}
    wrong = [g for _, g in likely if g.span not in spans]
    assert all(not g.matches(c) for g in wrong for _, c in closed)


def test_history_keeps_a_bounded_window_addressable_by_time():
    history = ChannelHistory(1000, keep_s=2.0)
    full = np.arange(10_000, dtype=np.float32)
    rng = random.Random(5)
    pos = 0
    while pos < len(full):
        step = rng.randint(1, 2500)
        history.append(full[pos : pos + step])
        pos = min(pos + step, len(full))
        start_s, tail = history.tail(1.5)
        assert np.array_equal(tail, full[max(0, pos - 1500) : pos])
        assert start_s == max(0, pos - 1500) / 1000
    offset_s, window = history.window(8.5)
    assert offset_s == 8.5 and np.array_equal(window, full[8500:])
    offset_s, window = history.window(1.0)  # older than kept: starts at the oldest kept sample
    assert offset_s >= 6.0 and np.array_equal(window, full[int(offset_s * 1000):])
    assert len(history._buf) == 4000


# -- protocol ----------------------------------------------------------------------------------


def test_session_protocol_misuse_is_a_value_error(monkeypatch):
    monkeypatch.setattr(LiveSession, "_timed_alerts", lambda self: [])
    session, data = _session("dev_call_04")
    closed = [e for e in session.push_audio(data[: 8000 * 4 * 10]) if isinstance(e, UtteranceClosed)]
    assert closed, "the first 10 s hold a closed utterance"
    with pytest.raises(ValueError):
        session.accept_text(10_000, ClipText("x"))
    session.finish()
    with pytest.raises(ValueError):
        session.push_audio(b"\x00\x00\x00\x00")
    assert session.pending_ids
    with pytest.raises(ValueError):
        session.final_report()


# -- replay with the real model: live findings == batch findings ---------------------------------


@pytest.mark.model
def test_replayed_call_reaches_the_findings_of_audit_call():
    from qa_pipeline.asr.packed import FasterWhisperRecognizer
    from qa_pipeline.asr.factory import build_recognizer
    from qa_pipeline.config import LiveAsrOptions
    from qa_pipeline.pipeline import audit_call
    from qa_pipeline.policy.policy import load_policy

    policy = load_policy(None)
    recognizer = build_recognizer(OPTIONS.asr, LiveAsrOptions())  # what qa serve uses: clip-length windows, live beam
    name = "dev_call_04"  # agent says 你错了 and 不行; customer hangs up (signalled by telephony)
    recording = load_recording(SAMPLES / f"{name}.wav")
    meta = CallMeta.load(SAMPLES / f"{name}.meta.json")
    live_meta = CallMeta(call_id=meta.call_id, agent_id=meta.agent_id, direction=meta.direction)
    session = LiveSession(StreamStart(live_meta, recording.format), policy, OPTIONS, recognizer.model_id)
    chunks = stream_chunks(recording.data, recording.format.frame_bytes, 0.5, recording.format.sample_rate_hz)
    events = replay(session, chunks, recognizer, hangup_by=meta.hangup_by, asr=LiveAsrOptions())
    live = session.final_report()
    batch = audit_call(SAMPLES / f"{name}.wav", meta, policy, OPTIONS, FasterWhisperRecognizer(OPTIONS.asr))

    assert [c.name for c in live.checks] == [c.name for c in batch.checks]
    # Every scored check agrees. The weight-0 language metrics (issue 11: share of 您 among four
    # pronouns, courtesy-word kinds) turn on single characters that live and batch decoding may
    # hear differently (您/你), so they are reported but not held equal here.
    from qa_pipeline.rules.base import weight_of

    for lc, bc in zip(live.checks, batch.checks):
        if weight_of(lc.name, policy) > 0:
            assert lc.passed == bc.passed, lc.name
    for name_ in ("forbidden_phrases", "unauthorized_promise"):
        phrases = lambda report: sorted(h["phrase"] for h in report.check(name_).details.get("hits", ()))
        assert phrases(live) == phrases(batch), name_
    assert live.check("hangup").details["hangup_by"] == "customer"
    assert live.check("greeting").details["missing"] == batch.check("greeting").details["missing"]
    # The forbidden phrases were alerted while the call was live, before finish().
    alerted = sorted(e.finding.evidence[0].phrase for e in events
                     if isinstance(e, Alert) and e.check == "forbidden_phrases")
    assert alerted == sorted(h["phrase"] for h in live.check("forbidden_phrases").details["hits"]) == ["不行", "你错了"]
    assert live.incomplete is False and live.model_id == batch.model_id


def test_words_transcribed_after_the_stream_ended_still_alert(default_policy):
    """A lagging recognizer: every clip is transcribed only after finish(). The agent's 不行 in
    those late texts must still reach the console as an alert, not only the final report."""
    session, data = _session("dev_call_04", default_policy)
    closed = []
    for chunk in stream_chunks(data, 4, 0.5, 8000):
        closed += [e for e in session.push_audio(chunk) if isinstance(e, (UtteranceClosed, UtterancePart))]
    closed += [e for e in session.finish() if isinstance(e, (UtteranceClosed, UtterancePart))]
    assert closed
    late = []
    for event in closed:
        late += session.accept_text(event.utterance_id, ClipText("不行，这个我们办不了。"))
    alerts = [e for e in late if isinstance(e, Alert) and e.check == "forbidden_phrases"]
    assert alerts and all(e.finding.evidence[0].phrase == "不行" for e in alerts)
    assert all(e.finding.evidence[0].role == Role.AGENT for e in alerts)
    report = session.final_report()
    assert report.check("forbidden_phrases").passed is False


SHARED_CALLS = Path(__file__).resolve().parents[2] / "shared" / "calls"


def test_a_long_hold_and_an_overlong_call_alert_while_the_call_runs(default_policy):
    """dev_call_06 (inbound, 206.5 s, a 72 s hold from about 38.6 s): the hold alerts once it
    passes the limit, before the agent is back; the duration alerts once the call passes 180 s."""
    recording = load_recording(SHARED_CALLS / "dev_call_06.wav")
    meta = CallMeta.load(SHARED_CALLS / "dev_call_06.meta.json")
    session = LiveSession(StreamStart(meta, recording.format), default_policy, OPTIONS, "test")
    recognizer = FixedRecognizer("好的。", (Word("好的", 0.0, 0.4), Word("。", 0.4, 0.4)))
    alerts: dict[str, tuple[float, Alert]] = {}
    for chunk in stream_chunks(recording.data, recording.format.frame_bytes, 0.5, recording.format.sample_rate_hz):
        for event in replay_chunk(session, chunk, recognizer):
            if isinstance(event, Alert):
                alerts.setdefault(event.finding.rule_id, (session.audio_s, event))
    assert {"hold.too_long", "call_duration.too_long"} <= set(alerts), sorted(alerts)
    hold_at_s, _hold = alerts["hold.too_long"]
    assert 38.6 + 60.0 < hold_at_s < 38.6 + 72.0 + 1.0  # over the limit, not after the hold ended
    duration_at_s, _duration = alerts["call_duration.too_long"]
    assert 180.0 < duration_at_s <= 182.0


def replay_chunk(session: LiveSession, chunk: bytes, recognizer) -> list:
    """Push one chunk and transcribe the clips it closed at once (the server's job)."""
    events = session.push_audio(chunk)
    out = list(events)
    for event in events:
        if isinstance(event, (UtteranceClosed, UtterancePart)):
            [text] = recognizer.transcribe([event.clip])
            out += session.accept_text(event.utterance_id, text)
    return out
