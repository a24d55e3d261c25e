"""The webrtcvad hysteresis machine: golden per-frame decisions, exact span times, batch == live."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fixtures.signals import line_noise, place, speech_like

from qa_pipeline.audio.io import load_call_audio
from qa_pipeline.config import VadOptions
from qa_pipeline.types import Span
from qa_pipeline.audio.vad import VadEvent, VadStream, speech_spans, voiced_frames

RATE_HZ = 16000
SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def edges(spans) -> list[float]:
    """Span edges as a flat list (start, end, start, end, ...) for pytest.approx."""
    return [t for s in spans for t in (s.start_s, s.end_s)]


def render(samples: np.ndarray, options: VadOptions = VadOptions()) -> str:
    return "".join("#" if v else "." for v in voiced_frames(samples, RATE_HZ, options))


def scene() -> np.ndarray:
    """6 s of -55 dBFS line noise with speech-like bursts (start s, length s):
    0.30+0.12 (4 frames: too few to open), 1.02+0.15 (opens, but 150 ms < min 200 ms: dropped),
    2.00+0.60 and 3.00+0.60 (0.4 s apart: one utterance), 4.50+0.60 (alone)."""
    x = line_noise(6.0)
    for at_s, length_s, seed in [(0.3, 0.12, 3), (1.02, 0.15, 4), (2.0, 0.6, 5), (3.0, 0.6, 6), (4.5, 0.6, 7)]:
        x = place(x, speech_like(length_s, seed=seed), at_s)
    return x


# One character per 30 ms frame; each '#' run sits exactly where scene() put a burst.
SCENE_GOLDEN = (
    "." * 10 + "#" * 4  # frames 10-13: 0.30-0.42 s
    + "." * 20 + "#" * 5  # frames 34-38: 1.02-1.17 s
    + "." * 27 + "#" * 21  # frames 66-86: 2.00-2.60 s (frame 66 starts at 1.98)
    + "." * 13 + "#" * 20  # frames 100-119: 3.00-3.60 s
    + "." * 30 + "#" * 20  # frames 150-169: 4.50-5.10 s
    + "." * 30
)


def test_scene_frame_decisions_are_golden():
    assert render(scene()) == SCENE_GOLDEN


def test_scene_spans_are_the_voiced_extent():
    assert speech_spans(scene(), RATE_HZ) == [Span(1.98, 3.6), Span(4.5, 5.1)]


def test_short_blip_is_dropped_without_any_event():
    x = place(line_noise(2.0), speech_like(0.15, seed=4), 1.02)
    stream = VadStream(VadOptions(), RATE_HZ)
    assert stream.push(x) + stream.finish() == []


def test_longer_pause_splits_the_utterance():
    x = line_noise(4.0)
    x = place(x, speech_like(0.6, seed=5), 0.6)
    x = place(x, speech_like(0.6, seed=6), 2.1)  # 0.9 s after the first burst ends
    assert speech_spans(x, RATE_HZ) == [Span(0.6, 1.2), Span(2.1, 2.7)]
    assert speech_spans(x, RATE_HZ, VadOptions(end_silence_ms=1200)) == [Span(0.6, 2.7)]


def test_line_noise_and_quiet_speech_are_never_speech():
    assert set(render(line_noise(3.0))) == {"."}
    quiet = place(line_noise(2.0), speech_like(1.0, level_dbfs=-50), 0.5)  # below the -45 dBFS floor
    assert set(render(quiet)) == {"."}
    assert speech_spans(quiet, RATE_HZ) == []
    assert speech_spans(line_noise(3.0, level_dbfs=-30.0), RATE_HZ) == []


def test_over_long_utterance_is_cut_at_its_quietest_frame():
    x = line_noise(4.0)
    x = place(x, speech_like(1.4, seed=8), 0.3)
    x = place(x, speech_like(1.8, seed=9), 1.9)  # a 0.2 s dip at 1.7-1.9 s
    assert speech_spans(x, RATE_HZ) == [Span(0.3, 3.72)]
    assert speech_spans(x, RATE_HZ, VadOptions(max_utterance_s=2.0)) == [Span(0.3, 1.71), Span(1.89, 3.72)]


def test_events_pair_up_and_carry_the_span_on_end():
    stream = VadStream(VadOptions(), RATE_HZ)
    events = stream.push(scene()) + stream.finish()
    assert events == [
        VadEvent("start", 1.98),
        VadEvent("end", 3.6, Span(1.98, 3.6)),
        VadEvent("start", 4.5),
        VadEvent("end", 5.1, Span(4.5, 5.1)),
    ]


def test_end_is_reported_once_the_silence_has_lasted_end_silence():
    options = VadOptions()
    stream = VadStream(options, RATE_HZ)
    x = scene()
    # One frame short of end_silence_ms (in whole frames) after the burst ends at 3.6 s.
    silent_frames = -(-options.end_silence_ms // options.frame_ms)
    cut = int(3.6 * RATE_HZ) + (silent_frames - 1) * options.frame_ms * RATE_HZ // 1000
    assert [e.kind for e in stream.push(x[:cut])] == ["start"]
    assert [e.kind for e in stream.push(x[cut : cut + int(0.03 * RATE_HZ)])] == ["end"]


def events_in_random_chunks(x: np.ndarray, rate_hz: int, seed: int) -> list[VadEvent]:
    rng = np.random.default_rng(seed)
    stream = VadStream(VadOptions(), rate_hz)
    events, i = [], 0
    while i < len(x):
        n = int(rng.integers(1, 4000))
        events += stream.push(x[i : i + n])
        i += n
    return events + stream.finish()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_stream_in_random_chunks_equals_batch_on_generated_audio(seed):
    x = scene()
    events = events_in_random_chunks(x, RATE_HZ, seed)
    assert [e.span for e in events if e.kind == "end"] == speech_spans(x, RATE_HZ)


def test_stream_in_random_chunks_equals_batch_on_a_real_call():
    audio = load_call_audio(SAMPLES / "dev_call_04.wav")
    for channel in audio.channels:
        batch = speech_spans(channel, RATE_HZ)
        assert len(batch) >= 5  # a real conversation, not an empty comparison
        events = events_in_random_chunks(channel, RATE_HZ, seed=7)
        assert [e.span for e in events if e.kind == "end"] == batch
        assert [e.kind for e in events] == ["start", "end"] * len(batch)


@pytest.mark.parametrize("rate_hz", [8000, 32000, 48000])
def test_other_webrtcvad_rates_find_the_same_utterance(rate_hz):
    import soxr

    x = soxr.resample(scene(), RATE_HZ, rate_hz).astype(np.float32)
    assert edges(speech_spans(x, rate_hz)) == pytest.approx(edges([Span(1.98, 3.6), Span(4.5, 5.1)]), abs=0.031)


def test_bad_arguments_raise_value_error():
    with pytest.raises(ValueError, match="sample_rate_hz"):
        VadStream(VadOptions(), 44100)
    with pytest.raises(ValueError, match="1-D"):
        speech_spans(np.zeros((100, 2), np.float32), RATE_HZ)
    stream = VadStream(VadOptions(), RATE_HZ)
    stream.finish()
    with pytest.raises(ValueError, match="finish"):
        stream.push(np.zeros(480, np.float32))
