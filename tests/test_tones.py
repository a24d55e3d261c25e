"""Disconnect-tone detection and the speech/music/tone classifier, on generated signals and real samples."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fixtures.signals import arpeggio, busy_tone, chords, line_noise, place, speech_like

from qa_pipeline.audio.io import load_call_audio
from qa_pipeline.config import ToneOptions
from qa_pipeline.audio.tones import classify_sound, find_disconnect_tone, is_music

RATE_HZ = 16000
SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def call_ending_with_tone(talk_s: float = 4.0, tail_s: float = 3.0, **tone_args) -> np.ndarray:
    x = line_noise(talk_s + tail_s)
    x = place(x, speech_like(talk_s - 1.0), 0.5)
    return place(x, busy_tone(tail_s, **tone_args), talk_s)


def test_tone_to_the_end_is_found_from_its_first_burst():
    span = find_disconnect_tone(call_ending_with_tone(), RATE_HZ)
    assert span is not None
    assert span.start_s == pytest.approx(4.0, abs=0.015)
    assert span.end_s == pytest.approx(7.0)


def test_tone_right_after_speech_without_a_gap():
    x = line_noise(6.0)
    x = place(x, speech_like(3.0), 1.0)
    x = place(x, busy_tone(2.0), 4.0)  # the party's last word runs into the tone
    span = find_disconnect_tone(x, RATE_HZ)
    assert span is not None and span.start_s == pytest.approx(4.0, abs=0.015)


def test_trailing_buffer_finds_the_tone_relative_to_the_buffer():
    x = call_ending_with_tone(talk_s=10.0, tail_s=2.5)
    tail = x[-3 * RATE_HZ :]  # the live path looks at the last 3 s
    span = find_disconnect_tone(tail, RATE_HZ)
    assert span is not None and span.start_s == pytest.approx(0.5, abs=0.015)


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: line_noise(6.0), id="line just ends"),
        pytest.param(lambda: place(line_noise(6.0), speech_like(5.0), 0.5), id="speech to the end"),
        pytest.param(lambda: place(line_noise(6.0), chords(5.5), 0.5), id="hold music"),
        pytest.param(lambda: place(line_noise(6.0), arpeggio(5.5, note_s=0.35), 0.5), id="melody with 450 Hz-ish notes"),
        pytest.param(lambda: place(line_noise(6.0), busy_tone(3.0, on_s=6, off_s=0.1), 3.0), id="steady 450 Hz, no cadence"),
        pytest.param(lambda: place(line_noise(6.0), busy_tone(3.0, frequency_hz=1000), 3.0), id="cadence at 1 kHz"),
        pytest.param(lambda: place(line_noise(6.0), busy_tone(1.8)[: int(1.8 * RATE_HZ)], 1.0), id="tone that stopped 3 s before the end"),
        pytest.param(lambda: place(line_noise(6.0), busy_tone(3.0, on_s=0.1, off_s=0.1), 3.0), id="fast cadence"),
    ],
)
def test_no_tone(make):
    assert find_disconnect_tone(make(), RATE_HZ) is None


def test_tone_options_change_the_cadence_looked_for():
    x = call_ending_with_tone(frequency_hz=425.0, on_s=1.0, off_s=4.0, tail_s=7.0)
    assert find_disconnect_tone(x, RATE_HZ) is None
    options = ToneOptions(frequency_hz=425.0, on_s=1.0, off_s=4.0)
    span = find_disconnect_tone(x, RATE_HZ, options)
    assert span is not None and span.start_s == pytest.approx(4.0, abs=0.015)


# Hang-up instants from the dev set's truth files (extra.hangup_time_s).
@pytest.mark.parametrize(
    ("name", "tone_channel", "hangup_s"),
    [("dev_call_10", 0, 58.384), ("dev_call_01", 1, 81.665), ("dev_call_04", None, None)],
)
def test_real_samples(name, tone_channel, hangup_s):
    audio = load_call_audio(SAMPLES / f"{name}.wav")
    for channel, samples in enumerate(audio.channels):
        span = find_disconnect_tone(samples, audio.sample_rate_hz)
        if channel == tone_channel:
            assert span is not None and span.start_s == pytest.approx(hangup_s, abs=0.03)
            assert span.end_s == pytest.approx(audio.duration_s)
        else:
            assert span is None


# ---- speech / music / tone ---------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: chords(8.0), id="slow chords"),
        pytest.param(lambda: chords(6.0, roots_hz=(330.0, 392.0, 294.0, 440.0), chord_s=0.8), id="quick chord changes"),
        pytest.param(lambda: chords(6.0, level_dbfs=-38.0), id="quiet chords"),
        pytest.param(lambda: arpeggio(5.0, note_s=0.25), id="plucked melody"),
        pytest.param(lambda: arpeggio(5.0, note_s=0.1, level_dbfs=-35.0), id="fast quiet melody"),
    ],
)
def test_music_is_music(make):
    x = make() + line_noise(len(make()) / RATE_HZ, seed=9)
    assert classify_sound(x, RATE_HZ) == "music"
    assert is_music(x, RATE_HZ)


@pytest.mark.parametrize("seed", range(6))
def test_speech_like_signals_are_speech(seed):
    x = speech_like(3.0, seed=seed) + line_noise(3.0, seed=seed)
    assert classify_sound(x, RATE_HZ) == "speech"
    assert not is_music(x, RATE_HZ)


def test_busy_tone_burst_train_is_a_tone():
    assert classify_sound(busy_tone(2.0) + line_noise(2.0), RATE_HZ) == "tone"


def test_too_short_clip_defaults_to_speech():
    assert classify_sound(chords(0.1), RATE_HZ) == "speech"


# Turns of dev_call_01 (truth start_s, end_s): real TTS speech of both voices stays speech.
DEV_CALL_01_TURNS = [(0, 0.95, 6.54), (1, 7.364, 10.623), (0, 30.215, 39.781), (1, 28.302, 29.602), (1, 80.025, 80.495)]


def test_real_turns_are_speech():
    audio = load_call_audio(SAMPLES / "dev_call_01.wav")
    for channel, start_s, end_s in DEV_CALL_01_TURNS:
        clip = audio.channels[channel][int(start_s * RATE_HZ) : int(end_s * RATE_HZ)]
        assert classify_sound(clip, RATE_HZ) == "speech", (channel, start_s)
