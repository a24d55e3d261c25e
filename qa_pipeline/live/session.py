"""The live path: one call's stream in, events out. No sockets, no model, no threads.

A ``LiveSession`` follows the init / insert-audio / process / finish protocol (cf.
whisper_streaming), so a recorded file replays through it deterministically:

- ``push_audio(bytes)`` decodes and resamples the stream, runs the batch VAD state machine
  per channel and returns ``UtteranceClosed`` and ``UtterancePart`` events: clips that need
  ASR (long utterances go in parts cut at pauses while the speaker goes on, ``live_parts``);
- the caller transcribes clips (the server batches clips of all live calls into one
  recognizer call; each clip comes with its channel's previous final text as context, the
  live counterpart of batch packing a channel's utterances into one window) and hands each
  text back with ``accept_text``, which returns ``UtteranceFinal`` and any ``Alert`` the new
  words raise;
- ``hangup(party)`` records who hung up (telephony signalling);
- ``finish()`` flushes the last utterances; once none is pending, ``final_report()`` scores
  the call with exactly the checks of ``qa audit`` (``rules.run.score_transcript``).

Utterances are built with ``qa_pipeline.text.utterances`` and scored by ``rules.run``, as batch does,
so live and batch cannot drift apart. Which checks alert while the call runs is each check's own
declaration (``CheckSpec.live``): per utterance, or on the clock (every ``check_every_s`` of audio
and at once when the line changes: a disconnect tone, a hang-up message).
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import Any, Iterable, Sequence

from qa_pipeline.audio.io import decode_stream_bytes
from qa_pipeline.config import LiveAsrOptions, LiveOptions, PipelineOptions
from qa_pipeline.live.asr import transcribe_in_context
from qa_pipeline.audio.channel import ChannelTrack
from qa_pipeline.audio.io import channel_roles, split_channels
from qa_pipeline.live.protocol import (
    STREAM_CHANNELS,
    STREAM_ENCODINGS,
    STREAM_RATES_HZ,
    StreamFormat,
    StreamStart,
    parse_party,
    stream_chunks,
)
from qa_pipeline.live.events import (
    Alert,
    HangupSeen,
    LiveEvent,
    UtteranceClosed,
    UtteranceFinal,
    UtteranceLikely,
    UtterancePart,
)
from qa_pipeline.live.clips import ClipPlanner, ReadyText
from qa_pipeline.live.speakers import LiveSpeakers
from qa_pipeline.asr.recognizer import ClipText, Recognizer
from qa_pipeline.types import CallReport, Finding, Party, Role, Span, Transcript, Utterance
from qa_pipeline.text.segment import segmenter_for
from qa_pipeline.text.utterances import build_utterance
from qa_pipeline.policy.policy import Policy
from qa_pipeline.rules.base import LiveWhen
from qa_pipeline.rules.run import CallContext, live_checks, run_checks, score_transcript

#: The check judged live on a recent window of agent speech (``LiveOptions.rate_window_s``), not the whole call.
RATE_CHECK = "speaking_rate"


# -- the session ----------------------------------------------------------------------------


class LiveSession:
    """One live call. Not thread-safe: drive it from one thread (or one event loop)."""

    def __init__(
        self,
        start: StreamStart,
        policy: Policy,
        options: PipelineOptions = PipelineOptions(),
        model_id: str = "",
        live: LiveOptions = LiveOptions(),
    ) -> None:
        self.start = start
        self.meta = start.meta
        self.policy = policy
        self.model_id = model_id
        self._options = options
        separated = options.audio.separates(start.format.channels)
        if separated:
            live = replace(live, part_min_s=None)  # a part of a mixed turn could hold both voices
        self._live = live
        self._tracks = _make_tracks(start.format, options, live)
        self._leftover = b""
        self._frames = 0
        self._sha = hashlib.sha256()
        self._utterances: list[Utterance] = []
        self._alerted: set[tuple[Any, ...]] = set()
        self._checked_at_s = 0.0
        self._finished = False
        self._clips = ClipPlanner(options, live, self._context)
        # Two voices on one channel: roles decided as the call goes, revised at the end.
        self._speakers = LiveSpeakers(options.speakers, direction=start.meta.direction) if separated else None

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
        return self._clips.pending_ids

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
        tone = False
        roles = tuple(track.role for track in self._tracks)
        for track, samples in zip(self._tracks, split_channels(frames, roles)):
            was_tone = track.tone_start_s
            events += self._closed(track, track.push(samples))
            if was_tone is None and track.tone_start_s is not None:
                events.append(HangupSeen(_party(track.role), track.tone_start_s, "tone"))
                tone = True
        events += self._clips.paused(self._tracks)
        if tone or self.audio_s - self._checked_at_s >= self._live.check_every_s:
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
        """The recognizer's text for a closed utterance or a part (``UtterancePart``)."""
        ready = self._clips.accept(utterance_id, result)
        return [] if ready is None else self._final(ready)

    def _final(self, ready: ReadyText) -> list[LiveEvent]:
        utterance = build_utterance(ready.span, ready.channel, ready.role, ready.clip_start_s, ready.text,
                                    segmenter_for(self.policy.user_dict))
        if utterance is None:
            return []
        self._utterances.append(utterance)
        self._utterances.sort(key=lambda u: (u.start_s, u.channel))
        if self._speakers is not None:
            self._utterances = self._speakers.relabel(self._utterances)
            utterance = next(u for u in self._utterances if u.start_s == utterance.start_s and u.text == utterance.text)
        # Alerts go on after finish(): when ASR lags behind the stream, the last words of a call
        # are transcribed after it ended and still owe the console their alerts.
        events: list[LiveEvent] = [UtteranceFinal(ready.utterance_id, utterance)]
        events += self._alerts(self._transcript(), live_checks(LiveWhen.UTTERANCE))
        return events

    def finish(self) -> list[LiveEvent]:
        """End of stream: close the last utterances (their clips still need ``accept_text``)."""
        if self._finished:
            return []
        events: list[LiveEvent] = []
        tone = False
        for track in self._tracks:
            was_tone = track.tone_start_s
            events += self._closed(track, track.finish())
            if was_tone is None and track.tone_start_s is not None:
                events.append(HangupSeen(_party(track.role), track.tone_start_s, "tone"))
                tone = True
        if tone:
            events += self._timed_alerts()
        self._finished = True
        return events

    def final_report(self, incomplete: bool = False) -> CallReport:
        """Score the finished call with every check of the policy (as ``qa audit`` does)."""
        if not self._finished or self.pending_ids:
            raise ValueError("final_report needs finish() and every closed utterance transcribed")
        if self._speakers is not None:
            self._utterances = self._speakers.relabel(self._utterances, final=True)
        return score_transcript(self._transcript(), self.meta, self.policy, self.model_id,
                                final=True, incomplete=incomplete)

    # -- internals -----------------------------------------------------------------------

    def _context(self, channel: int, span: Span) -> str:
        """The latest final text of ``channel`` before ``span``."""
        return next((u.text for u in reversed(self._utterances) if u.channel == channel and u.end_s <= span.start_s), "")

    def _closed(self, track: ChannelTrack, spans: list[Span]) -> list[LiveEvent]:
        if self._speakers is not None:
            spans = [p for s in spans for p in self._speakers.cut(s, track.clip_between(s).samples, track.rate_hz)]
        events: list[LiveEvent] = []
        for item in self._clips.closed(track, spans):
            events += self._final(item) if isinstance(item, ReadyText) else [item]
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
        clocked = tuple(name for name in live_checks(LiveWhen.CLOCK) if name != RATE_CHECK)
        events = self._alerts(self._transcript(), clocked)
        return events + self._rate_alerts()

    def _rate_alerts(self) -> list[LiveEvent]:
        since_s = self.audio_s - self._live.rate_window_s
        recent = [u for u in self._utterances if u.role == Role.AGENT and u.end_s >= since_s]
        if sum(u.duration_s for u in recent) < self._live.rate_min_speech_s:
            return []
        return self._alerts(self._transcript(recent), (RATE_CHECK,), once_per_check=True)

    def _alerts(self, transcript: Transcript, names: Sequence[str], once_per_check: bool = False) -> list[LiveEvent]:
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


def _make_tracks(fmt: StreamFormat, options: PipelineOptions, live: LiveOptions) -> list[ChannelTrack]:
    """One track per output channel, with the roles a file of this layout gets (``audio.io``)."""
    roles = channel_roles(fmt.channels, options.audio, "live stream")
    return [ChannelTrack(i, role, fmt.sample_rate_hz, options, live.tone_every_s, live.tone_window_s)
            for i, role in enumerate(roles)]


# -- deterministic replay (tests, benchmarks) -----------------------------------------------


def replay(
    session: LiveSession,
    chunks: Iterable[bytes],
    recognizer: Recognizer,
    hangup_by: Party | None = None,
    asr: LiveAsrOptions | None = None,
) -> list[LiveEvent]:
    """Drive a session synchronously: each chunk's clips are transcribed at once (with the beam
    ``asr.beam_for`` their role, as the server does; the recognizer's own beam without ``asr``).

    Returns every event in order. The caller gets the scored call from ``final_report()``.
    """
    events: list[LiveEvent] = []
    for chunk in chunks:
        events += _transcribe_closed(session, session.push_audio(chunk), recognizer, asr)
    if hangup_by is not None:
        events += session.hangup(hangup_by)
    events += _transcribe_closed(session, session.finish(), recognizer, asr)
    return events


def _transcribe_closed(session: LiveSession, events: list[LiveEvent], recognizer: Recognizer,
                       asr: LiveAsrOptions | None) -> list[LiveEvent]:
    clips = [e for e in events if isinstance(e, (UtteranceClosed, UtterancePart))]
    out = list(events)
    beams = [None if asr is None else asr.beam_for(e.role) for e in clips]
    texts: dict[int, ClipText] = {}
    for beam in dict.fromkeys(beams):
        mine = [e for e, b in zip(clips, beams) if b == beam]
        for event, text in zip(mine, transcribe_in_context(recognizer, [e.clip for e in mine], [e.context for e in mine], beam)):
            texts[event.utterance_id] = text
    for event in clips:
        out += session.accept_text(event.utterance_id, texts[event.utterance_id])
    return out


__all__ = [
    "STREAM_CHANNELS",
    "STREAM_ENCODINGS",
    "STREAM_RATES_HZ",
    "Alert",
    "HangupSeen",
    "LiveEvent",
    "LiveOptions",
    "LiveSession",
    "StreamFormat",
    "StreamStart",
    "UtteranceClosed",
    "UtteranceFinal",
    "UtteranceLikely",
    "UtterancePart",
    "parse_party",
    "replay",
    "stream_chunks",
]
