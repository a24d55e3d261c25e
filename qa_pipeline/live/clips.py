"""Which audio of a live call goes to ASR, and how the texts come back as utterance texts.

Per channel, three kinds of clip leave a ``LiveSession``:

- ``UtteranceClosed``: VAD closed an utterance; its padded clip (or, for an utterance sent in
  parts, what follows its last part) needs ASR;
- ``UtterancePart``: a part of a long open utterance, cut at a pause (``live_parts``);
- ``UtteranceLikely``: a guess of the clip VAD is about to close (agent channels), so ASR may
  start while VAD waits to be sure; its text counts only for a matching ``UtteranceClosed``.

Texts come back by id (``accept``); once every clip of an utterance is in, ``ReadyText`` carries
the utterance's span and raw text for ``utterances.build_utterance``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Union

from qa_pipeline.config import LiveOptions, PipelineOptions
from qa_pipeline.audio.channel import ChannelTrack, Pause
from qa_pipeline.live.parts import PartBook, PartedUtterance
from qa_pipeline.live.events import UtteranceClosed, UtteranceLikely, UtterancePart
from qa_pipeline.asr.recognizer import ClipText
from qa_pipeline.types import AudioClip
from qa_pipeline.types import Role, Span


@dataclass(frozen=True)
class ReadyText:
    """Every clip of an utterance is transcribed: its span and raw text (relative to ``clip_start_s``)."""

    utterance_id: int
    span: Span
    channel: int
    role: Role
    clip_start_s: float
    text: ClipText


@dataclass(frozen=True)
class _Whole:
    channel: int
    role: Role
    span: Span
    clip_start_s: float


ClipEvent = Union[UtteranceClosed, UtterancePart, UtteranceLikely]


class ClipPlanner:
    """The ASR side of one live call: clips out, texts in (no audio of its own, no model)."""

    def __init__(self, options: PipelineOptions, live: LiveOptions, context: Callable[[int, Span], str]) -> None:
        pad_s = options.vad.pad_ms / 1000
        if live.part_min_s is not None and live.part_pause_ms < options.vad.pad_ms + 30:
            raise ValueError("part_pause_ms must exceed vad.pad_ms by 30 ms (cuts fall inside pauses)")
        self._live = live
        self._context = context  # the latest final text of a channel before a span
        self._parts = PartBook(live.part_min_s or 1.0, pad_s)
        self._whole: dict[int, _Whole] = {}
        self._guessed: dict[int, Span] = {}
        self._next_id = 0

    @property
    def pending_ids(self) -> tuple[int, ...]:
        """Ids of clips sent to ASR whose text has not come back."""
        return tuple(self._whole) + self._parts.waiting_ids

    # -- clips out ------------------------------------------------------------------------

    def closed(self, track: ChannelTrack, spans: list[Span]) -> list[ClipEvent | ReadyText]:
        """VAD closed ``spans`` on ``track``: their clips, or the text of an utterance whose parts
        already hold all of it."""
        out: list[ClipEvent | ReadyText] = []
        for span in spans:
            parted = self._parts.close(track.channel, span)
            rest = self._rest(track, parted, span)
            if rest is None:  # the parts hold all of it: done once their texts are back
                done = self._parts.take_if_complete(parted)
                out += [] if done is None else [_ready(done)]
                continue
            clip_start_s, clip, context = rest
            clip_id = self._new_id()
            if parted is None:
                self._whole[clip_id] = _Whole(track.channel, track.role, span, clip_start_s)
            else:
                self._parts.add_rest(parted, clip_id, clip_start_s)
            out.append(UtteranceClosed(clip_id, track.channel, track.role, span, clip_start_s, clip, context))
        return out

    def paused(self, tracks: list[ChannelTrack]) -> list[ClipEvent]:
        """Parts of long open utterances (``LiveOptions.part_min_s``) and guesses of closes
        (``likely_after_silence_ms``) for the channels whose speakers went quiet."""
        events: list[ClipEvent] = []
        for track in tracks:
            pause = track.pause()
            if pause is not None:
                events += self._part(track, pause) + self._guess(track, pause)
        return events

    def _part(self, track: ChannelTrack, pause: Pause) -> list[ClipEvent]:
        if self._live.part_min_s is None or pause.quiet_s < self._live.part_pause_ms / 1000:
            return []
        bounds = self._parts.due(track.channel, pause.span)
        if bounds is None:
            return []
        parted = self._parts.open(track.channel)
        context = self._context(track.channel, pause.span) if parted is None else self._part_context(parted, pause.span)
        part_id = self._new_id()
        self._parts.add_part(track.channel, track.role, pause.span, part_id, bounds)
        return [UtterancePart(part_id, track.channel, track.role, bounds.start_s, track.clip_between(bounds), context)]

    def _guess(self, track: ChannelTrack, pause: Pause) -> list[ClipEvent]:
        """``UtteranceLikely`` for agent (and mono) channels quiet for ``likely_after_silence_ms``."""
        after_ms = self._live.likely_after_silence_ms
        if after_ms is None or track.role == Role.CUSTOMER:  # phrase alerts come from the agent
            return []
        span = pause.span
        if pause.quiet_s < after_ms / 1000 or self._guessed.get(track.channel) == span:
            return []
        self._guessed[track.channel] = span
        parted = self._parts.open(track.channel)
        rest = self._rest(track, parted if parted is not None and parted.start_s == span.start_s else None, span)
        return [] if rest is None else [UtteranceLikely(track.channel, track.role, span, *rest)]

    # -- texts in -------------------------------------------------------------------------

    def accept(self, clip_id: int, text: ClipText) -> ReadyText | None:
        """The recognizer's text for clip ``clip_id``; the utterance's text once it is complete."""
        if self._parts.knows(clip_id):
            parted = self._parts.accept(clip_id, text)
            return None if parted is None else _ready(parted)
        whole = self._whole.pop(clip_id, None)
        if whole is None:
            raise ValueError(f"no utterance {clip_id} is waiting for text")
        return ReadyText(clip_id, whole.span, whole.channel, whole.role, whole.clip_start_s, text)

    # -- internals ------------------------------------------------------------------------

    def _rest(self, track: ChannelTrack, parted: PartedUtterance | None,
              span: Span) -> tuple[float, AudioClip, str] | None:
        """What of the utterance VAD closes (or will close) as ``span`` still needs ASR: (clip
        start, clip, context) of all of it, or of what follows its last part; None when its parts
        hold all of it."""
        if parted is None:
            clip_start_s, clip = track.clip_around(span)
            return clip_start_s, clip, self._context(track.channel, span)
        bounds = parted.rest_bounds(span.end_s, self._parts.pad_s)
        if bounds is None:
            return None
        return bounds.start_s, track.clip_between(bounds), self._part_context(parted, span)

    def _part_context(self, parted: PartedUtterance, span: Span) -> str:
        """The text of the utterance's previous part when it is back, else the channel's."""
        return parted.last_text or self._context(parted.channel, span)

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id - 1


def _ready(parted: PartedUtterance) -> ReadyText:
    clip_start_s, text = parted.merged()
    assert parted.span is not None
    return ReadyText(parted.ids[-1], parted.span, parted.channel, parted.role, clip_start_s, text)
