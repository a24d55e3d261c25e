"""Redact spoken customer numbers from a recording: the samples of masked spans become a tone or silence.

The transcript masks card, ID and phone numbers; the audio played beside it must not say them. The
spans come from the masked words' timings (``qa_pipeline.text.pii.masked_audio_spans``), each widened
by ``RedactOptions.pad_s`` because word timings are approximate. ``redact_samples`` works on an array,
``redact_file`` reads a recording and returns the redacted audio as encoded bytes (FLAC by default,
original sample rate and channels) for a report page or a workbench to serve.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np
import soundfile as sf

from qa_pipeline.errors import AudioFormatError

REDACT_MODES = ("tone", "silence")


@dataclass(frozen=True)
class RedactSpan:
    """A stretch of one channel to hide; ``channel`` None hides it on every channel."""

    start_s: float
    end_s: float
    channel: int | None = None


@dataclass(frozen=True)
class RedactOptions:
    mode: str = "tone"
    tone_hz: float = 1000.0
    tone_level: float = 0.1
    pad_s: float = 0.15
    format: str = "FLAC"

    def __post_init__(self) -> None:
        if self.mode not in REDACT_MODES:
            raise ValueError(f"mode must be one of {REDACT_MODES}, not {self.mode!r}")
        if not 0.0 <= self.tone_level <= 1.0 or self.pad_s < 0 or self.tone_hz <= 0:
            raise ValueError("tone_level must be in [0, 1], pad_s >= 0 and tone_hz > 0")


def redact_samples(samples: np.ndarray, sample_rate_hz: int, spans: Iterable[RedactSpan],
                   options: RedactOptions = RedactOptions()) -> np.ndarray:
    """A copy of ``samples`` (frames, channels) float with every span replaced by a tone or silence."""
    out = np.array(samples, dtype=np.float32, copy=True)
    if out.ndim == 1:
        out = out[:, None]
    frames, channels = out.shape
    for span in spans:
        start = max(0, int((span.start_s - options.pad_s) * sample_rate_hz))
        end = min(frames, int(np.ceil((span.end_s + options.pad_s) * sample_rate_hz)))
        if end <= start:
            continue
        if options.mode == "tone":
            t = np.arange(start, end, dtype=np.float64) / sample_rate_hz
            fill = (options.tone_level * np.sin(2 * np.pi * options.tone_hz * t)).astype(np.float32)
        else:
            fill = np.zeros(end - start, dtype=np.float32)
        targets = range(channels) if span.channel is None or span.channel >= channels else (span.channel,)
        for channel in targets:
            out[start:end, channel] = fill
    return out if np.ndim(samples) > 1 else out[:, 0]


def redact_file(path: str | Path, spans: Iterable[RedactSpan],
                options: RedactOptions = RedactOptions()) -> bytes:
    """The recording at ``path`` with ``spans`` redacted, encoded as ``options.format`` (FLAC or WAV).

    Channels of a mono recording are all redacted whatever ``span.channel`` says.
    """
    source = str(path)
    try:
        data, rate_hz = sf.read(source, dtype="float32", always_2d=True)
    except (sf.SoundFileError, RuntimeError, TypeError, ValueError, OSError) as exc:
        raise AudioFormatError(f"cannot read audio to redact it ({exc})", source) from None
    span_list = list(spans)
    if data.shape[1] == 1:
        span_list = [RedactSpan(s.start_s, s.end_s, None) for s in span_list]
    redacted = np.clip(np.nan_to_num(redact_samples(data, rate_hz, span_list, options)), -1.0, 1.0)
    buffer = io.BytesIO()
    sf.write(buffer, redacted, rate_hz, format=options.format, subtype="PCM_16")
    return buffer.getvalue()


__all__ = ["REDACT_MODES", "RedactOptions", "RedactSpan", "redact_file", "redact_samples"]
