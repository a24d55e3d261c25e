"""What happens on each channel: disconnect tone, speech spans, hold music.

Order matters: the disconnect tone is found first and everything from its onset on is left
out of VAD; VAD spans are then classified and music (hold music) is split off, leaving the
speech spans that go to ASR and count as talk.
"""

from __future__ import annotations

import logging

import numpy as np

from qa_pipeline.audio.io import CallAudio
from qa_pipeline.config import PipelineOptions, ToneOptions, VadOptions
from qa_pipeline.audio.tones import classify_sound, find_disconnect_tone
from qa_pipeline.types import ChannelActivity, Role, Span
from qa_pipeline.audio.vad import speech_spans

logger = logging.getLogger(__name__)

# Music pieces closer than this are one stretch of music (VAD cuts long music into pieces).
MUSIC_JOIN_GAP_S = 1.5


def analyse_channel(
    samples: np.ndarray,
    sample_rate_hz: int,
    channel: int,
    role: Role,
    vad: VadOptions,
    tone: ToneOptions,
) -> ChannelActivity:
    """Tone, speech and music spans of one mono channel (seconds from its start)."""
    tone_span = find_disconnect_tone(samples, sample_rate_hz, tone)
    head = samples if tone_span is None else samples[: int(tone_span.start_s * sample_rate_hz)]
    speech: list[Span] = []
    music: list[Span] = []
    for span in speech_spans(head, sample_rate_hz, vad):
        clip = head[int(span.start_s * sample_rate_hz) : int(span.end_s * sample_rate_hz)]
        kind = classify_sound(clip, sample_rate_hz)
        if kind == "speech":
            speech.append(span)
        elif kind == "music":
            music.append(span)
        else:
            logger.debug("channel %d: tonal sound %.2f-%.2f s left out of speech", channel, span.start_s, span.end_s)
    return ChannelActivity(
        channel=channel,
        role=role,
        speech=tuple(speech),
        tone=() if tone_span is None else (tone_span,),
        music=tuple(join_spans(music, MUSIC_JOIN_GAP_S)),
    )


def analyse_call(audio: CallAudio, options: PipelineOptions) -> tuple[ChannelActivity, ...]:
    """``analyse_channel`` for every channel of a decoded call, in channel order."""
    return tuple(
        analyse_channel(samples, audio.sample_rate_hz, index, role, options.vad, options.tone)
        for index, (samples, role) in enumerate(zip(audio.channels, audio.roles))
    )


def join_spans(spans: list[Span], max_gap_s: float) -> list[Span]:
    """Merge time-ordered spans separated by at most ``max_gap_s`` (batch and live share this)."""
    joined: list[Span] = []
    for span in spans:
        if joined and span.start_s - joined[-1].end_s <= max_gap_s:
            joined[-1] = Span(joined[-1].start_s, max(joined[-1].end_s, span.end_s))
        else:
            joined.append(span)
    return joined
