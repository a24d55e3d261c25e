"""The live path: one call's stream in, events out. No sockets, no model, no threads.

A ``LiveSession`` follows the init / insert-audio / process / finish protocol (cf.
whisper_streaming), so a recorded file replays through it deterministically:

- ``push_audio(bytes)`` decodes and resamples the stream, runs the batch VAD state machine
  per channel and returns ``UtteranceClosed`` events: clips that need ASR;
- the caller transcribes clips (the server batches clips of all live calls into one
  ``Recognizer.transcribe`` call) and hands each text back with ``accept_text``, which returns
  ``UtteranceFinal`` and any ``Alert`` the new words raise;
- ``hangup(party)`` records who hung up (telephony signalling);
- ``finish()`` flushes the last utterances; once none is pending, ``final_report()`` scores
  the call with exactly the checks of ``qa audit`` (``pipeline.score_transcript``).

Utterances are built with ``qa_pipeline.utterances`` and scored with the batch helper, so live
and batch cannot drift apart.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence, Union

import numpy as np

from qa_pipeline.audio import StreamResampler, decode_stream_bytes
from qa_pipeline.config import PipelineOptions
from qa_pipeline.errors import MetaError, StreamProtocolError
from qa_pipeline.recognizer import AudioClip, ClipText, Recognizer
from qa_pipeline.types import (
    CallMeta,
    CallReport,
    ChannelActivity,
    Direction,
    Finding,
    Party,
    Role,
    Span,
    Transcript,
    Utterance,
)
from qa_pipeline.utterances import build_utterance, clip_bounds_s, cut_clip
from qa_pipeline.activity import _MUSIC_JOIN_GAP_S, _join
from qa_pipeline.tones import classify_sound, find_disconnect_tone
from qa_pipeline.vad import VadStream, speech_spans

if TYPE_CHECKING:
    from qa_pipeline.policy import Policy

STREAM_RATES_HZ = (8000, 16000)
STREAM_CHANNELS = (1, 2)
STREAM_ENCODINGS = ("pcm16", "mulaw", "alaw")
_BYTES_PER_SAMPLE = {"pcm16": 2, "mulaw": 1, "alaw": 1}

#: Checks run while the call is in progress (on final utterances only).
PHRASE_CHECKS = ("forbidden_phrases", "unauthorized_promise")
#: Checks re-run as audio time passes.
TIMED_CHECKS = ("greeting", "hold", "call_duration", "hangup")


@dataclass(frozen=True)
class LiveOptions:
    """How the live session watches a call (the transcription options stay in PipelineOptions)."""

    # Run the time-based checks after this much new audio.
    check_every_s: float = 1.0
    # Look for the disconnect tone on the newest ``tone_window_s`` of a channel this often.
    tone_every_s: float = 0.5
    tone_window_s: float = 4.0
    # Speaking rate over the agent utterances that ended in the last ``rate_window_s``,
    # once they hold at least ``rate_min_speech_s`` of agent speech.
    rate_window_s: float = 60.0
    rate_min_speech_s: float = 20.0

    def __post_init__(self) -> None:
        if min(self.check_every_s, self.tone_every_s, self.tone_window_s, self.rate_window_s) <= 0:
            raise ValueError("LiveOptions intervals and windows must be positive")


@dataclass(frozen=True)
class StreamFormat:
    """The layout of the binary frames of one stream."""

    sample_rate_hz: int
    channels: int
    encoding: str

    def __post_init__(self) -> None:
        if self.sample_rate_hz not in STREAM_RATES_HZ:
            raise ValueError(f"sample_rate_hz must be 8000 or 16000, not {self.sample_rate_hz}")
        if self.channels not in STREAM_CHANNELS:
            raise ValueError(f"channels must be 1 or 2, not {self.channels}")
        if self.encoding not in STREAM_ENCODINGS:
            raise ValueError(f"encoding must be one of {', '.join(STREAM_ENCODINGS)}, not {self.encoding!r}")

    @property
    def frame_bytes(self) -> int:
        return _BYTES_PER_SAMPLE[self.encoding] * self.channels


@dataclass(frozen=True)
class StreamStart:
    """The first message of an ingest stream: who is on the call and how the audio is laid out."""

    meta: CallMeta
    format: StreamFormat

    @classmethod
    def from_message(cls, call_id: str, message: Mapping[str, Any]) -> "StreamStart":
        """Validate a ``{"type": "start", ...}`` message; StreamProtocolError names the problem."""
        source = f"call {call_id}"
        if message.get("type") != "start":
            raise StreamProtocolError("the first message must be {\"type\": \"start\", ...}", source)
        try:
            fmt = StreamFormat(
                sample_rate_hz=_int_field(message, "sample_rate_hz"),
                channels=_int_field(message, "channels"),
                encoding=str(message.get("encoding", "")),
            )
            meta_fields = {k: message.get(k) for k in ("agent_id", "direction", "queue", "started_at")}
            meta = CallMeta.from_dict({"call_id": call_id, **meta_fields}, source)
        except ValueError as exc:
            raise StreamProtocolError(f"bad start message: {exc}", source) from None
        except MetaError as exc:
            raise StreamProtocolError(f"bad start message: {exc.problem}", source) from None
        return cls(meta, fmt)


def _int_field(message: Mapping[str, Any], key: str) -> int:
    value = message.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{key} must be an integer, got {value!r}")
    return value


def parse_party(message: Mapping[str, Any], call_id: str) -> Party:
    """The party of a ``{"type": "hangup", "party": ...}`` message."""
    party = message.get("party")
    if party not in (Party.AGENT.value, Party.CUSTOMER.value):
        raise StreamProtocolError(f"hangup party must be 'agent' or 'customer', not {party!r}", f"call {call_id}")
    return Party(party)


# -- events ---------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class UtteranceClosed:
    """VAD closed an utterance: its padded clip needs ASR (``accept_text`` takes the result)."""

    utterance_id: int
    channel: int
    role: Role
    span: Span
    clip_start_s: float
    clip: AudioClip


@dataclass(frozen=True)
class UtteranceFinal:
    """An utterance with its final text (not masked: mask before showing or storing)."""

    utterance_id: int
    utterance: Utterance


@dataclass(frozen=True)
class Alert:
    """A violation seen while the call is live.

    ``ref_end_s`` is the audio time the alert refers to: the end of the offending utterance,
    or the moment a timed condition became true. Latency is measured from it.
    """

    check: str
    finding: Finding
    ref_end_s: float


@dataclass(frozen=True)
class HangupSeen:
    """A party hung up (signalled by telephony, or its channel turned into the disconnect tone)."""

    party: Party
    time_s: float
    method: str


LiveEvent = Union[UtteranceClosed, UtteranceFinal, Alert, HangupSeen]


# -- per-channel signal tracking ------------------------------------------------------------


class _History:
    """The newest ``keep_s`` of one channel, addressable by absolute time (bounded memory)."""

    def __init__(self, sample_rate_hz: int, keep_s: float) -> None:
        self.sample_rate_hz = sample_rate_hz
        self._keep = int(keep_s * sample_rate_hz)
        self._buf = np.zeros(2 * self._keep, dtype=np.float32)
        self._used = 0
        self._first = 0  # absolute index of _buf[0]

    @property
    def end_index(self) -> int:
        return self._first + self._used

    def append(self, samples: np.ndarray) -> None:
        if len(samples) > self._keep:
            self._first += self._used + len(samples) - self._keep
            self._buf[: self._keep] = samples[-self._keep :]
            self._used = self._keep
            return
        if self._used + len(samples) > len(self._buf):
            drop = self._used + len(samples) - self._keep
            self._buf[: self._used - drop] = self._buf[drop : self._used]
            self._first += drop
            self._used -= drop
        self._buf[self._used : self._used + len(samples)] = samples
        self._used += len(samples)

    def tail(self, seconds: float) -> tuple[float, np.ndarray]:
        """(start time, samples) of the newest ``seconds``."""
        n = min(self._used, int(seconds * self.sample_rate_hz))
        return (self.end_index - n) / self.sample_rate_hz, self._buf[self._used - n : self._used]

    def window(self, start_s: float) -> tuple[float, np.ndarray]:
        """(start time, samples) from ``start_s`` (or the oldest kept sample) to the newest."""
        first = max(self._first, int(round(start_s * self.sample_rate_hz)))
        return first / self.sample_rate_hz, self._buf[first - self._first : self._used]


class _Track:
    """One channel of a live call: resampling, VAD, tone and hold-music separation."""

    def __init__(self, channel: int, role: Role, source_rate_hz: int, options: PipelineOptions,
                 live: LiveOptions) -> None:
        self.channel = channel
        self.role = role
        self.rate_hz = options.audio.target_rate_hz
        self._options = options
        self._live = live
        self._resampler = StreamResampler(source_rate_hz, self.rate_hz)
        self._vad = VadStream(options.vad, self.rate_hz)
        keep_s = options.vad.max_utterance_s + options.vad.end_silence_ms / 1000 + live.tone_window_s + 2.0
        self._history = _History(self.rate_hz, keep_s)
        self._open_start_s: float | None = None
        self._since_tone_check = 0
        self.tone_start_s: float | None = None
        self.speech: list[Span] = []
        self.music: list[Span] = []

    @property
    def time_s(self) -> float:
        return self._history.end_index / self.rate_hz

    def push(self, samples: np.ndarray) -> list[Span]:
        """Feed source-rate samples; returns the speech spans closed so far."""
        return self._feed(self._resampler.process(samples))

    def finish(self) -> list[Span]:
        spans = self._feed(self._resampler.flush())
        if self.tone_start_s is None:
            spans += self._check_tone(force=True)
        if self.tone_start_s is None:
            spans += self._classify(e.span for e in self._vad.finish() if e.kind == "end")
        return spans

    def clip_around(self, span: Span) -> tuple[float, AudioClip]:
        """The padded clip for ``span``, cut the way the batch pipeline cuts it."""
        end_s = self.time_s if self.tone_start_s is None else self.tone_start_s
        bounds = clip_bounds_s(span, self._options.vad.pad_ms, end_s)
        offset_s, samples = self._history.window(bounds.start_s)
        return bounds.start_s, cut_clip(samples, self.rate_hz, bounds.with_offset(-offset_s))

    def activity(self, duration_s: float) -> ChannelActivity:
        tone = () if self.tone_start_s is None else (Span(self.tone_start_s, max(duration_s, self.tone_start_s)),)
        music = tuple(_join(list(self.music), _MUSIC_JOIN_GAP_S))
        return ChannelActivity(self.channel, self.role, tuple(self.speech), tone, music)

    def _feed(self, samples: np.ndarray) -> list[Span]:
        if self.tone_start_s is not None or len(samples) == 0:
            self._history.append(samples)
            return []
        self._history.append(samples)
        spans: list[Span] = []
        for event in self._vad.push(samples):
            if event.kind == "start":
                self._open_start_s = event.time_s
            elif event.span is not None:
                self._open_start_s = None
                spans += self._classify([event.span])
        self._since_tone_check += len(samples)
        if self._since_tone_check >= self._live.tone_every_s * self.rate_hz:
            spans += self._check_tone()
        return spans

    def _check_tone(self, force: bool = False) -> list[Span]:
        self._since_tone_check = 0
        start_s, tail = self._history.tail(self._live.tone_window_s)
        if len(tail) < self.rate_hz // 2:
            return []
        tone = find_disconnect_tone(tail, self.rate_hz, self._options.tone)
        if tone is None:
            return []
        self.tone_start_s = start_s + tone.start_s
        return self._cut_at_tone(force)

    def _cut_at_tone(self, force: bool) -> list[Span]:
        """Batch runs VAD only up to the tone: redo the open utterance on the audio before it."""
        open_start_s, self._open_start_s = self._open_start_s, None
        if open_start_s is None or open_start_s >= self.tone_start_s:
            return []
        frame_s = self._options.vad.frame_ms / 1000.0
        from_s = math.floor(max(0.0, open_start_s - self._options.vad.start_window_ms / 1000) / frame_s) * frame_s
        offset_s, samples = self._history.window(from_s)
        cut = samples[: max(0, int(round((self.tone_start_s - offset_s) * self.rate_hz)))]
        spans = [s.with_offset(offset_s) for s in speech_spans(cut, self.rate_hz, self._options.vad)]
        return self._classify(s for s in spans if s.end_s > open_start_s)

    def _classify(self, spans: Iterable[Span]) -> list[Span]:
        """Keep speech; music (hold music) and tones never reach ASR (as in batch ``activity``)."""
        speech = []
        for span in spans:
            offset_s, samples = self._history.window(span.start_s)
            piece = samples[: int((span.end_s - offset_s) * self.rate_hz)]
            kind = classify_sound(piece, self.rate_hz)
            if kind == "speech":
                self.speech.append(span)
                speech.append(span)
            elif kind == "music":
                self.music.append(span)
        return speech


# -- the session ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Pending:
    channel: int
    role: Role
    span: Span
    clip_start_s: float


class LiveSession:
    """One live call. Not thread-safe: drive it from one thread (or one event loop)."""

    def __init__(
        self,
        start: StreamStart,
        policy: "Policy",
        options: PipelineOptions = PipelineOptions(),
        model_id: str = "",
        live: LiveOptions = LiveOptions(),
    ) -> None:
        self.start = start
        self.meta = start.meta
        self.policy = policy
        self.model_id = model_id
        self._options = options
        self._live = live
        self._tracks = _make_tracks(start.format, options, live)
        self._leftover = b""
        self._frames = 0
        self._sha = hashlib.sha256()
        self._next_id = 0
        self._pending: dict[int, _Pending] = {}
        self._utterances: list[Utterance] = []
        self._alerted: set[tuple[Any, ...]] = set()
        self._checked_at_s = 0.0
        self._finished = False

    # -- state ---------------------------------------------------------------------------

    @property
    def call_id(self) -> str:
        return self.meta.call_id or ""

    @property
    def audio_s(self) -> float:
        """Audio time received so far."""
        return self._frames / self.start.format.sample_rate_hz

    @property
    def audio_sha256(self) -> str:
        return self._sha.hexdigest()

    @property
    def pending_ids(self) -> tuple[int, ...]:
        return tuple(self._pending)

    @property
    def finished(self) -> bool:
        return self._finished

    @property
    def utterances(self) -> tuple[Utterance, ...]:
        return tuple(self._utterances)

    # -- input ---------------------------------------------------------------------------

    def push_audio(self, data: bytes) -> list[LiveEvent]:
        """Interleaved samples in the stream's format, in chunks of any size."""
        if self._finished:
            raise ValueError("push_audio after finish()")
        self._sha.update(data)
        data = self._leftover + data
        whole = len(data) - len(data) % self.start.format.frame_bytes
        self._leftover = data[whole:]
        if whole == 0:
            return []
        fmt = self.start.format
        frames = decode_stream_bytes(data[:whole], fmt.encoding, fmt.channels)
        self._frames += len(frames)
        events: list[LiveEvent] = []
        for track, samples in zip(self._tracks, _split(frames, len(self._tracks))):
            was_tone = track.tone_start_s
            events += self._closed(track, track.push(samples))
            if was_tone is None and track.tone_start_s is not None:
                events.append(HangupSeen(_party(track.role), track.tone_start_s, "tone"))
        if self.audio_s - self._checked_at_s >= self._live.check_every_s:
            events += self._timed_alerts()
        return events

    def hangup(self, party: Party) -> list[LiveEvent]:
        """Telephony says ``party`` hung up; like ``meta.hangup_by`` in batch."""
        if party not in (Party.AGENT, Party.CUSTOMER):
            raise ValueError("party must be agent or customer")
        if self.meta.hangup_by is not None:
            return []
        self.meta = replace(self.meta, hangup_by=party)
        return [HangupSeen(party, self.audio_s, "signalled"), *self._timed_alerts()]

    def accept_text(self, utterance_id: int, result: ClipText) -> list[LiveEvent]:
        """The recognizer's text for a closed utterance."""
        pending = self._pending.pop(utterance_id, None)
        if pending is None:
            raise ValueError(f"no utterance {utterance_id} is waiting for text")
        utterance = build_utterance(pending.span, pending.channel, pending.role, pending.clip_start_s, result)
        if utterance is None:
            return []
        self._utterances.append(utterance)
        self._utterances.sort(key=lambda u: (u.start_s, u.channel))
        events: list[LiveEvent] = [UtteranceFinal(utterance_id, utterance)]
        if not self._finished:
            events += self._alerts(self._transcript(), PHRASE_CHECKS)
        return events

    def finish(self) -> list[LiveEvent]:
        """End of stream: close the last utterances (their clips still need ``accept_text``)."""
        if self._finished:
            return []
        events: list[LiveEvent] = []
        for track in self._tracks:
            was_tone = track.tone_start_s
            events += self._closed(track, track.finish())
            if was_tone is None and track.tone_start_s is not None:
                events.append(HangupSeen(_party(track.role), track.tone_start_s, "tone"))
        self._finished = True
        return events

    def final_report(self, incomplete: bool = False) -> CallReport:
        """Score the finished call with every check of the policy (as ``qa audit`` does)."""
        from qa_pipeline.pipeline import score_transcript

        if not self._finished or self._pending:
            raise ValueError("final_report needs finish() and every closed utterance transcribed")
        return score_transcript(self._transcript(), self.meta, self.policy, self.model_id,
                                final=True, incomplete=incomplete)

    # -- internals -----------------------------------------------------------------------

    def _closed(self, track: _Track, spans: list[Span]) -> list[LiveEvent]:
        events: list[LiveEvent] = []
        for span in spans:
            clip_start_s, clip = track.clip_around(span)
            utterance_id = self._next_id
            self._next_id += 1
            self._pending[utterance_id] = _Pending(track.channel, track.role, span, clip_start_s)
            events.append(UtteranceClosed(utterance_id, track.channel, track.role, span, clip_start_s, clip))
        return events

    def _transcript(self, utterances: Sequence[Utterance] | None = None) -> Transcript:
        fmt = self.start.format
        return Transcript(
            call_id=self.call_id,
            duration_s=self.audio_s,
            sample_rate_hz=fmt.sample_rate_hz,
            channels=fmt.channels,
            utterances=tuple(self._utterances if utterances is None else utterances),
            activity=tuple(t.activity(self.audio_s) for t in self._tracks),
        )

    def _timed_alerts(self) -> list[LiveEvent]:
        self._checked_at_s = self.audio_s
        events = self._alerts(self._transcript(), TIMED_CHECKS)
        return events + self._rate_alerts()

    def _rate_alerts(self) -> list[LiveEvent]:
        since_s = self.audio_s - self._live.rate_window_s
        recent = [u for u in self._utterances if u.role == Role.AGENT and u.end_s >= since_s]
        if sum(u.duration_s for u in recent) < self._live.rate_min_speech_s:
            return []
        return self._alerts(self._transcript(recent), ("speaking_rate",), once_per_check=True)

    def _alerts(self, transcript: Transcript, names: Sequence[str], once_per_check: bool = False) -> list[LiveEvent]:
        from qa_pipeline.rules import CallContext, run_checks

        checks = run_checks(CallContext(transcript, self.meta, final=False), self.policy, names)
        events: list[LiveEvent] = []
        for check in checks:
            if check.passed is not False:
                continue
            for finding in check.findings:
                key = (check.name,) if once_per_check else _finding_key(check.name, finding)
                if key in self._alerted:
                    continue
                self._alerted.add(key)
                events.append(Alert(check.name, finding, self._ref_end_s(finding)))
        return events

    def _ref_end_s(self, finding: Finding) -> float:
        """End of the utterance holding the finding's evidence, else the current audio time."""
        for evidence in finding.evidence[:1]:
            for utterance in self._utterances:
                if utterance.start_s - 0.05 <= evidence.start_s <= utterance.end_s + 0.05 and (
                    evidence.role is None or evidence.role == utterance.role
                ):
                    return utterance.end_s
        return self.audio_s


def _finding_key(check: str, finding: Finding) -> tuple[Any, ...]:
    first = finding.evidence[0] if finding.evidence else None
    return (check, finding.rule_id, None if first is None else round(first.start_s, 1))


def _party(role: Role) -> Party:
    return Party.AGENT if role == Role.AGENT else Party.CUSTOMER if role == Role.CUSTOMER else Party.UNKNOWN


def _make_tracks(fmt: StreamFormat, options: PipelineOptions, live: LiveOptions) -> list[_Track]:
    if fmt.channels == 1 or options.audio.channel_mode == "mono":
        return [_Track(0, Role.MIXED, fmt.sample_rate_hz, options, live)]
    roles = options.audio.channel_roles
    return [_Track(i, roles[i] if i < len(roles) else Role.MIXED, fmt.sample_rate_hz, options, live)
            for i in range(fmt.channels)]


def _split(frames: np.ndarray, n_tracks: int) -> list[np.ndarray]:
    if n_tracks == 1 and frames.shape[1] > 1:
        return [np.ascontiguousarray(frames.mean(axis=1), dtype=np.float32)]
    return [np.ascontiguousarray(frames[:, i]) for i in range(n_tracks)]


# -- deterministic replay (tests, benchmarks) -----------------------------------------------


def replay(
    session: LiveSession,
    chunks: Iterable[bytes],
    recognizer: Recognizer,
    hangup_by: Party | None = None,
) -> list[LiveEvent]:
    """Drive a session synchronously: each chunk's closed clips are transcribed at once.

    Returns every event in order. The caller gets the scored call from ``final_report()``.
    """
    events: list[LiveEvent] = []
    for chunk in chunks:
        events += _transcribe_closed(session, session.push_audio(chunk), recognizer)
    if hangup_by is not None:
        events += session.hangup(hangup_by)
    events += _transcribe_closed(session, session.finish(), recognizer)
    return events


def _transcribe_closed(session: LiveSession, events: list[LiveEvent], recognizer: Recognizer) -> list[LiveEvent]:
    closed = [e for e in events if isinstance(e, UtteranceClosed)]
    out = list(events)
    if closed:
        for event, text in zip(closed, recognizer.transcribe([e.clip for e in closed])):
            out += session.accept_text(event.utterance_id, text)
    return out


def stream_chunks(frames_bytes: bytes, frame_bytes: int, chunk_s: float, sample_rate_hz: int) -> list[bytes]:
    """Split raw interleaved bytes into chunks of ``chunk_s`` of audio (whole frames)."""
    if chunk_s <= 0:
        raise ValueError("chunk_s must be positive")
    step = max(1, int(chunk_s * sample_rate_hz)) * frame_bytes
    return [frames_bytes[i : i + step] for i in range(0, len(frames_bytes), step)]


__all__ = [
    "Alert",
    "HangupSeen",
    "LiveEvent",
    "LiveOptions",
    "LiveSession",
    "StreamFormat",
    "StreamStart",
    "UtteranceClosed",
    "UtteranceFinal",
    "parse_party",
    "replay",
    "stream_chunks",
]
