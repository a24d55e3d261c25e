"""Voice activity detection: webrtcvad per frame, one hysteresis state machine, two faces.

``speech_spans`` (a whole channel) and ``VadStream`` (live, any chunk size) both run the same
private ``_Hysteresis`` over the same per-frame decisions, so batch and live cannot drift:
``speech_spans`` is literally a ``VadStream`` fed the whole channel at once.

A frame is *voiced* when webrtcvad says speech AND its RMS is above ``energy_floor_dbfs``
(line noise must never count). An utterance opens when ``start_ratio`` of the frames in the
last ``start_window_ms`` are voiced and closes after ``end_silence_ms`` without a voiced frame.
Reported spans are the voiced extent (first voiced frame start -> last voiced frame end), not
padded; padding for ASR is the caller's business (``VadOptions.pad_ms``).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np
import webrtcvad

from qa_pipeline.config import VadOptions
from qa_pipeline.types import Span

VAD_RATES_HZ = (8000, 16000, 32000, 48000)
_SILENCE_DBFS = -120.0


@dataclass(frozen=True)
class VadEvent:
    """An utterance edge. ``time_s`` is the edge on the signal (span start / span end).

    "start" is emitted once the utterance is long enough to be kept, so every "start"
    is followed by exactly one "end" (whose ``span`` is set).
    """

    kind: str
    time_s: float
    span: Span | None = None


@dataclass(frozen=True)
class _Frame:
    index: int
    voiced: bool
    level_dbfs: float


def frame_level_dbfs(frame: np.ndarray) -> float:
    """RMS level of a float frame in dBFS (full scale = 1.0)."""
    if frame.size == 0:
        return _SILENCE_DBFS
    power = float(np.mean(np.square(frame, dtype=np.float64)))
    return 10.0 * math.log10(power) if power > 1e-12 else _SILENCE_DBFS


class _Hysteresis:
    """Turns a sequence of per-frame decisions into utterance events (frame indices -> seconds)."""

    def __init__(self, options: VadOptions) -> None:
        self._opt = options
        self._frame_ms = options.frame_ms
        window_frames = max(1, round(options.start_window_ms / options.frame_ms))
        self._window: deque[_Frame] = deque(maxlen=window_frames)
        self._needed = max(1, math.ceil(options.start_ratio * window_frames - 1e-9))
        self._end_frames = max(1, math.ceil(options.end_silence_ms / options.frame_ms))
        self._min_frames = math.ceil(options.min_utterance_ms / options.frame_ms - 1e-9)
        self._max_frames = max(2, int(options.max_utterance_s * 1000 / options.frame_ms))
        self._frames: list[_Frame] = []  # the open utterance, from its first voiced frame
        self._started = False

    @property
    def active(self) -> bool:
        return bool(self._frames)

    def step(self, frame: _Frame) -> list[VadEvent]:
        if not self._frames:
            return self._step_idle(frame)
        self._frames.append(frame)
        events: list[VadEvent] = []
        if self._silence_run() >= self._end_frames:
            events += self._close()
        elif len(self._frames) >= self._max_frames:
            events += self._split()
        events += self._maybe_start()
        return events

    def finish(self) -> list[VadEvent]:
        return self._close() if self._frames else []

    def _step_idle(self, frame: _Frame) -> list[VadEvent]:
        self._window.append(frame)
        if sum(f.voiced for f in self._window) < self._needed:
            return []
        first = next(i for i, f in enumerate(self._window) if f.voiced)
        self._frames = list(self._window)[first:]
        self._window.clear()
        self._started = False
        return self._maybe_start()

    def _time_s(self, frame_index: int) -> float:
        return frame_index * self._frame_ms / 1000.0

    def _silence_run(self) -> int:
        run = 0
        for f in reversed(self._frames):
            if f.voiced:
                break
            run += 1
        return run

    def _last_voiced_pos(self) -> int:
        return max(i for i, f in enumerate(self._frames) if f.voiced)

    def _extent_frames(self) -> int:
        return self._last_voiced_pos() + 1

    def _maybe_start(self) -> list[VadEvent]:
        if self._frames and not self._started and self._extent_frames() >= self._min_frames:
            self._started = True
            return [VadEvent("start", self._time_s(self._frames[0].index))]
        return []

    def _emit(self, frames: list[_Frame]) -> list[VadEvent]:
        """Close an utterance made of ``frames`` (first one voiced)."""
        last = max(i for i, f in enumerate(frames) if f.voiced)
        start_s = self._time_s(frames[0].index)
        end_s = self._time_s(frames[last].index + 1)
        events: list[VadEvent] = []
        if last + 1 < self._min_frames:
            return events  # too short: never announced, silently dropped
        if not self._started:
            events.append(VadEvent("start", start_s))
        span = Span(start_s, end_s)
        events.append(VadEvent("end", end_s, span))
        return events

    def _close(self) -> list[VadEvent]:
        events = self._emit(self._frames)
        self._frames = []
        self._started = False
        return events

    def _split(self) -> list[VadEvent]:
        """Cut an over-long utterance at the quietest frame of its second half."""
        half = len(self._frames) // 2
        tail = self._frames[half:]
        cut = half + min(range(len(tail)), key=lambda i: (tail[i].level_dbfs, -i))
        head, rest = self._frames[:cut], self._frames[cut + 1 :]
        events = self._emit(head) if any(f.voiced for f in head) else []
        first = next((i for i, f in enumerate(rest) if f.voiced), None)
        self._frames = [] if first is None else rest[first:]
        self._started = False
        return events


class VadStream:
    """Live face of the VAD: ``push`` chunks of any size, get start/end events as they happen."""

    def __init__(self, options: VadOptions = VadOptions(), sample_rate_hz: int = 16000) -> None:
        if sample_rate_hz not in VAD_RATES_HZ:
            raise ValueError(f"sample_rate_hz must be one of {VAD_RATES_HZ}, not {sample_rate_hz}")
        self.options = options
        self.sample_rate_hz = sample_rate_hz
        self._frame_len = sample_rate_hz * options.frame_ms // 1000
        self._vad = webrtcvad.Vad(options.aggressiveness)
        self._machine = _Hysteresis(options)
        self._pending = np.zeros(0, dtype=np.float32)
        self._next_index = 0
        self._finished = False

    @property
    def frames_seen(self) -> int:
        return self._next_index

    def push(self, samples: np.ndarray) -> list[VadEvent]:
        """Feed float32 mono samples in [-1, 1]; returns the events completed so far."""
        if self._finished:
            raise ValueError("VadStream.push after finish()")
        chunk = _as_mono_float(samples)
        buffered = np.concatenate([self._pending, chunk]) if self._pending.size else chunk
        n_frames = len(buffered) // self._frame_len
        events: list[VadEvent] = []
        for k in range(n_frames):
            frame = buffered[k * self._frame_len : (k + 1) * self._frame_len]
            events += self._machine.step(self._decide(frame))
        self._pending = buffered[n_frames * self._frame_len :].copy()
        return events

    def finish(self) -> list[VadEvent]:
        """End of stream: close an open utterance (a trailing partial frame is ignored)."""
        if self._finished:
            return []
        self._finished = True
        self._pending = np.zeros(0, dtype=np.float32)
        return self._machine.finish()

    def _decide(self, frame: np.ndarray) -> _Frame:
        level_dbfs = frame_level_dbfs(frame)
        voiced = level_dbfs >= self.options.energy_floor_dbfs and self._vad.is_speech(
            _to_pcm16(frame), self.sample_rate_hz
        )
        index = self._next_index
        self._next_index += 1
        return _Frame(index, voiced, level_dbfs)


def speech_spans(
    samples: np.ndarray, sample_rate_hz: int, options: VadOptions = VadOptions()
) -> list[Span]:
    """Voiced-extent spans of a whole mono channel (same machine as ``VadStream``)."""
    stream = VadStream(options, sample_rate_hz)
    events = stream.push(samples) + stream.finish()
    return [e.span for e in events if e.kind == "end" and e.span is not None]


def voiced_frames(
    samples: np.ndarray, sample_rate_hz: int, options: VadOptions = VadOptions()
) -> np.ndarray:
    """The per-frame decisions (bool per ``frame_ms`` frame) before hysteresis; for diagnostics."""
    stream = VadStream(options, sample_rate_hz)
    chunk = _as_mono_float(samples)
    n_frames = len(chunk) // stream._frame_len
    frames = chunk[: n_frames * stream._frame_len].reshape(n_frames, stream._frame_len)
    return np.array([stream._decide(f).voiced for f in frames], dtype=bool)


def _as_mono_float(samples: np.ndarray) -> np.ndarray:
    array = np.asarray(samples, dtype=np.float32)
    if array.ndim != 1:
        raise ValueError(f"VAD takes 1-D mono samples, got shape {array.shape}")
    return array


def _to_pcm16(frame: np.ndarray) -> bytes:
    return (np.clip(frame, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()
