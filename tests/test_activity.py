"""analyse_channel / analyse_call: tone first, then VAD, then hold music split off."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fixtures.signals import busy_tone, chords, line_noise, place, speech_like

from qa_pipeline.audio.channel import ChannelTrack, analyse_call, analyse_channel
from qa_pipeline.audio.io import load_call_audio
from qa_pipeline.config import PipelineOptions, ToneOptions, VadOptions
from qa_pipeline.types import Role, Span

RATE_HZ = 16000
SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def edges(spans) -> list[float]:
    """Span edges as a flat list (start, end, start, end, ...) for pytest.approx."""
    return [t for s in spans for t in (s.start_s, s.end_s)]


def customer_channel():
    """speech 0.5-2.5 s, hold music 4.0-34.0 s (cut by VAD into pieces), speech 36.0-38.0 s,
    then the busy tone from 39.0 s to the end (42.0 s)."""
    x = line_noise(42.0)
    x = place(x, speech_like(2.0, seed=1), 0.5)
    x = place(x, chords(30.0), 4.0)
    x = place(x, speech_like(2.0, seed=2), 36.0)
    return place(x, busy_tone(3.0), 39.0)


def test_channel_parts_speech_music_and_tone():
    activity = analyse_channel(customer_channel(), RATE_HZ, 1, Role.CUSTOMER, VadOptions(), ToneOptions())
    assert (activity.channel, activity.role) == (1, Role.CUSTOMER)
    assert edges(activity.speech) == pytest.approx(edges([Span(0.5, 2.5), Span(36.0, 38.0)]), abs=0.031)
    assert len(activity.music) == 1  # the VAD pieces of the music are joined again
    assert activity.music[0].start_s == pytest.approx(4.0, abs=0.031)
    assert activity.music[0].end_s == pytest.approx(34.0, abs=0.5)  # the last chord fades out
    assert edges(activity.tone) == pytest.approx(edges([Span(39.0, 42.0)]), abs=0.015)


def test_tone_is_kept_out_of_speech_even_right_after_a_word():
    x = place(line_noise(8.0), speech_like(3.0), 1.0)
    x = place(x, busy_tone(4.0), 4.0)
    activity = analyse_channel(x, RATE_HZ, 0, Role.AGENT, VadOptions(), ToneOptions())
    assert edges(activity.speech) == pytest.approx(edges([Span(1.0, 4.0)]), abs=0.031)
    assert edges(activity.tone) == pytest.approx(edges([Span(4.0, 8.0)]), abs=0.015)
    assert activity.music == ()


# Truth of dev_call_10 (agent hangs up: tone on ch0 from 58.384 s; last agent turn 55.644-57.184 s).
def test_real_call_with_agent_hangup():
    audio = load_call_audio(SAMPLES / "dev_call_10.wav")
    agent, customer = analyse_call(audio, PipelineOptions())
    assert (agent.role, customer.role) == (Role.AGENT, Role.CUSTOMER)
    assert edges(agent.tone) == pytest.approx(edges([Span(58.384, audio.duration_s)]), abs=0.03)
    assert customer.tone == ()
    assert edges(agent.speech[-1:]) == pytest.approx(edges([Span(55.644, 57.184)]), abs=0.1)
    assert agent.music == customer.music == ()


# Truth turn starts of dev_call_04 (no tone, no hold).
DEV_CALL_04_STARTS = {
    Role.AGENT: [0.41, 14.713, 20.389, 38.108, 49.14, 55.954, 62.526, 72.076],
    Role.CUSTOMER: [7.067, 18.085, 31.065, 43.891, 53.59, 60.097, 68.22],
}


def test_real_call_every_turn_start_is_found_within_a_tenth_of_a_second():
    audio = load_call_audio(SAMPLES / "dev_call_04.wav")
    for activity in analyse_call(audio, PipelineOptions()):
        assert activity.tone == () and activity.music == ()
        starts = [s.start_s for s in activity.speech]
        for truth_s in DEV_CALL_04_STARTS[activity.role]:
            assert min(abs(s - truth_s) for s in starts) <= 0.1, (activity.role, truth_s)


def _words_into_music() -> np.ndarray:
    """Words run straight into hold music (8.5-13 s), then words again after a pause."""
    x = place(line_noise(22.0), speech_like(8.0, seed=3), 0.5)
    x = place(x, chords(4.5), 8.5)
    return place(x, speech_like(6.0, seed=4), 15.0)


def _words_then_long_music() -> np.ndarray:
    """Two seconds of words, then twelve of hold music in the same breath: a music span with words at its head."""
    x = place(line_noise(20.0), speech_like(2.5, seed=5), 1.0)
    return place(x, chords(12.0), 3.5)


def test_hold_music_run_on_from_the_last_words_is_cut_off_a_mixed_speech_span():
    """On one mixed channel the agent's words run straight into the hold music and VAD makes one span
    of both; the music windows at its end are music, the words stay speech, and a speech span with no
    music at its ends stays whole. A party's own channel is not parted (music and words never share
    a span there)."""
    x = _words_into_music()
    activity = analyse_channel(x, RATE_HZ, 0, Role.MIXED, VadOptions(), ToneOptions())
    first, second = activity.speech
    assert first.start_s == pytest.approx(0.5, abs=0.1) and 8.4 <= first.end_s <= 10.5
    assert any(m.start_s <= 10.5 and m.end_s >= 12.0 for m in activity.music)
    assert edges([second]) == pytest.approx(edges([Span(15.0, 21.0)]), abs=0.1)
    whole = analyse_channel(x, RATE_HZ, 0, Role.AGENT, VadOptions(), ToneOptions())
    assert not any(s.start_s < 1.0 and 10.5 < s.end_s < 12.0 for s in whole.speech)


def test_words_at_the_head_of_a_mixed_music_span_are_given_back_as_speech():
    activity = analyse_channel(_words_then_long_music(), RATE_HZ, 0, Role.MIXED, VadOptions(), ToneOptions())
    assert [s for s in activity.speech if s.start_s < 2.0 and 2.5 <= s.end_s <= 4.5]
    assert any(m.start_s <= 5.0 and m.end_s >= 14.0 for m in activity.music)


def _real_call_into_music() -> np.ndarray:
    """dev_call_04 summed to one channel, with six seconds of hold music right after the agent's second turn."""
    audio = load_call_audio(SAMPLES / "dev_call_04.wav")
    assert audio.sample_rate_hz == RATE_HZ
    mixed = np.clip(audio.channels[0] + audio.channels[1], -1.0, 1.0)
    agent = analyse_channel(audio.channels[0], RATE_HZ, 0, Role.AGENT, VadOptions(), ToneOptions())
    cut = int(agent.speech[1].end_s * RATE_HZ)
    return np.concatenate([mixed[:cut], chords(6.0), mixed[cut:]]).astype(np.float32)


def test_hold_music_run_on_from_recorded_words_is_parted_only_on_a_mixed_channel():
    x = _real_call_into_music()
    mixed = analyse_channel(x, RATE_HZ, 0, Role.MIXED, VadOptions(), ToneOptions())
    whole = analyse_channel(x, RATE_HZ, 0, Role.CUSTOMER, VadOptions(), ToneOptions())
    assert any(s.start_s < 1.0 and s.end_s > 22.5 for s in whole.speech)  # words and music one span
    assert any(m.start_s <= 18.0 and m.end_s >= 22.5 for m in mixed.music)
    assert not any(s.start_s < 18.0 and s.end_s > 18.5 for s in mixed.speech)


@pytest.mark.parametrize("signal, seed", [(_words_into_music, 7), (_words_then_long_music, 8), (_real_call_into_music, 9)])
def test_a_mixed_channel_streamed_in_chunks_is_parted_as_the_whole_channel_is(signal, seed):
    """Live and batch part words from hold music alike on a mono call: the track sorts each span as it closes."""
    x = signal()
    options = PipelineOptions()
    track = ChannelTrack(0, Role.MIXED, RATE_HZ, options, tone_every_s=0.5, tone_window_s=4.0)
    rng = np.random.default_rng(seed)
    at = 0
    while at < len(x):
        step = int(rng.integers(1, 6000))
        track.push(x[at: at + step])
        at += step
    track.finish()
    live = track.activity(len(x) / RATE_HZ)
    batch = analyse_channel(x, RATE_HZ, 0, Role.MIXED, options.vad, options.tone)
    assert batch.speech and batch.music
    assert edges(live.speech) == pytest.approx(edges(batch.speech), abs=1e-6)
    assert edges(live.music) == pytest.approx(edges(batch.music), abs=1e-6)
