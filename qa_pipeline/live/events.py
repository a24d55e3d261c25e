"""What a ``LiveSession`` tells its driver: clips to transcribe, final utterances, alerts, hang-ups.

Plain frozen values (no behaviour beyond ``UtteranceLikely.matches``); the server turns them into
JSON messages (``live_events``), ``replay`` into a deterministic run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from qa_pipeline.types import AudioClip
from qa_pipeline.types import Finding, Party, Role, Span, Utterance


@dataclass(frozen=True, eq=False)
class UtteranceClosed:
    """VAD closed an utterance: its padded clip needs ASR (``accept_text`` takes the result).

    ``context`` is the latest final text of the same channel (Whisper's previous-text prompt).
    """

    utterance_id: int
    channel: int
    role: Role
    span: Span
    clip_start_s: float
    clip: AudioClip
    context: str = ""


@dataclass(frozen=True, eq=False)
class UtterancePart:
    """An early part of a long open utterance, cut at a pause (``live_parts``): its clip needs
    ASR now; ``accept_text(utterance_id, ...)`` takes the result (``utterance_id`` names the part).
    """

    utterance_id: int
    channel: int
    role: Role
    clip_start_s: float
    clip: AudioClip
    context: str = ""


@dataclass(frozen=True, eq=False)
class UtteranceLikely:
    """An open utterance VAD will most likely close as ``span`` (its speech stopped ``pad_ms`` ago).

    Transcribing it now, while VAD waits ``end_silence_ms`` to be sure, is a guess: the text
    may be used only for an ``UtteranceClosed`` with the same channel, span and context
    (``matches``), so live results never depend on timing.
    """

    channel: int
    role: Role
    span: Span
    clip_start_s: float
    clip: AudioClip
    context: str = ""

    def matches(self, closed: "UtteranceClosed") -> bool:
        return (closed.channel, closed.span, closed.clip_start_s, closed.context) == (
            self.channel, self.span, self.clip_start_s, self.context)


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


LiveEvent = Union[UtteranceClosed, UtterancePart, UtteranceLikely, UtteranceFinal, Alert, HangupSeen]
