"""Mono calls: two voices separated on one channel become agent and customer utterances.

Joins ``audio.speakers`` (who speaks when, as speaker 0/1) and ``text.roles`` (which speaker is
the agent, from the words) for the batch pipeline (``pipeline``):

- ``AudioOptions.separates(channels)`` says whether a call is separated (a 1-channel source
  unless ``channel_mode`` is "mono"; any source with "diarize");
- ``assign_roles(heard, mixed)``: utterances of the transcribed pieces with their role
  and ``role_confidence``, and the activity per role the timing checks read.

The disconnect tone stays on a MIXED activity: a tone in a mix cannot name the party that hung
up (both parties' audio is summed), so who hung up comes from metadata only, else unknown.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

from qa_pipeline.asr.recognizer import ClipText
from qa_pipeline.audio.turns import SpeakerPiece
from qa_pipeline.text.roles import RoleDecision, SpokenPiece, decide_roles
from qa_pipeline.text.segment import Segmenter
from qa_pipeline.text.utterances import build_utterance
from qa_pipeline.types import ChannelActivity, Direction, Role, Utterance


@dataclass(frozen=True)
class HeardPiece:
    """A speaker piece and what the recognizer heard in its clip (times relative to ``clip_start_s``)."""

    piece: SpeakerPiece
    clip_start_s: float
    text: ClipText


@dataclass(frozen=True)
class RoleAssignment:
    """The separated call: role-labelled utterances, activity per role, and the decision behind them."""

    utterances: tuple[Utterance, ...]
    activity: tuple[ChannelActivity, ...]
    decision: RoleDecision


def role_of(speaker: int, decision: RoleDecision) -> Role:
    return Role.AGENT if speaker == decision.agent_speaker else Role.CUSTOMER


def assign_roles(heard: Sequence[HeardPiece], mixed: ChannelActivity, segmenter: Segmenter | None = None,
                 direction: Direction | None = None) -> RoleAssignment:
    """Name the two speakers from their words and who opened the call (by ``direction``), and
    label every piece (channel 0 throughout)."""
    built = [(h, build_utterance(h.piece.span, mixed.channel, Role.MIXED, h.clip_start_s, h.text, segmenter))
             for h in heard]
    spoken = [SpokenPiece(h.piece.speaker, h.piece.span.start_s, u.text) for h, u in built if u is not None]
    decision = decide_roles(spoken, direction)
    utterances = [
        replace(u, role=role_of(h.piece.speaker, decision),
                role_confidence=decision.role_probability(h.piece.speaker, h.piece.confidence))
        for h, u in built
        if u is not None
    ]
    utterances.sort(key=lambda u: u.start_s)
    return RoleAssignment(tuple(utterances), role_activity([h.piece for h in heard], mixed, decision), decision)


def role_activity(pieces: Sequence[SpeakerPiece], mixed: ChannelActivity, decision: RoleDecision) -> tuple[ChannelActivity, ...]:
    """Speech per role from the pieces; music and the tone stay on the mixed channel."""
    by_role = {role: tuple(p.span for p in pieces if role_of(p.speaker, decision) == role)
               for role in (Role.AGENT, Role.CUSTOMER)}
    return (
        ChannelActivity(mixed.channel, Role.AGENT, by_role[Role.AGENT]),
        ChannelActivity(mixed.channel, Role.CUSTOMER, by_role[Role.CUSTOMER]),
        ChannelActivity(mixed.channel, Role.MIXED, (), mixed.tone, mixed.music),
    )
