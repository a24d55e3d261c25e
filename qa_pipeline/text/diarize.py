"""Mono calls: two voices separated on one channel become agent and customer utterances.

Joins ``audio.speakers`` (who speaks when, as speaker 0/1) and ``text.roles`` (which speaker is
the agent, from the words) for the batch pipeline (``pipeline``):

- ``AudioOptions.separates(channels)`` says whether a call is separated (a 1-channel source
  unless ``channel_mode`` is "mono"; any source with "diarize");
- ``assign_roles(heard, mixed)``: utterances of the transcribed pieces with their role
  and ``role_confidence``, and the activity per role the timing checks read; a piece whose voice
  is a coin toss takes its side from its own words when they are clear (``by_words``); when one
  voice holds nearly all the speech (``heard_one_voice``) the separation failed and every role is
  put under the review bar; a bare answer heard inside the utterance that asked for it (吗？不行)
  is cut out and given to the other role (``text.replies``).

The disconnect tone stays on a MIXED activity: a tone in a mix cannot name the party that hung
up (both parties' audio is summed), so who hung up comes from metadata only, else unknown.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterable, Sequence

from qa_pipeline.asr.recognizer import ClipText
from qa_pipeline.audio.turns import SpeakerPiece
from qa_pipeline.text.roles import AGENT_CUES, CUSTOMER_CUES, RoleDecision, SpokenPiece, cue_weight, decide_roles
from qa_pipeline.text.replies import split_replies
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
    pieces = [by_words(h.piece, u.text if u is not None else "", decision) for h, u in built]
    utterances = [
        replace(u, role=role_of(piece.speaker, decision),
                role_confidence=decision.role_probability(piece.speaker, piece.confidence))
        for piece, (_, u) in zip(pieces, built)
        if u is not None
    ]
    if heard_one_voice((p.speaker, p.span.duration_s) for p in pieces):
        utterances = under_review(utterances)
    utterances = split_replies(utterances)
    return RoleAssignment(tuple(utterances), role_activity(pieces, mixed, decision), decision)


#: A call with this much speech ...
ONE_VOICE_MIN_S = 20.0
#: ... where one voice holds this share of it was not separated (two people speak on every call:
#: on our mixes the most one voice held of a separated call was 86 %) ...
ONE_VOICE_SHARE = 0.95
#: ... and every role in it is put under the review bar: the roles are a guess, never hidden.
ONE_VOICE_CONFIDENCE = 0.5


def heard_one_voice(speech: Iterable[tuple[int, float]]) -> bool:
    """True when one speaker holds (nearly) all of a long enough call's speech: (speaker, seconds)."""
    seconds = [0.0, 0.0]
    for speaker, duration_s in speech:
        seconds[speaker] += duration_s
    total = sum(seconds)
    return total >= ONE_VOICE_MIN_S and max(seconds) >= ONE_VOICE_SHARE * total


def under_review(utterances: Iterable[Utterance]) -> list[Utterance]:
    """The utterances with their role confidence capped at ``ONE_VOICE_CONFIDENCE``."""
    return [replace(u, role_confidence=min(1.0 if u.role_confidence is None else u.role_confidence,
                                           ONE_VOICE_CONFIDENCE)) for u in utterances]


#: A piece whose voice is this unsure (a short closing line, a reply inside crosstalk) ...
UNSURE_VOICE = 0.6
#: ... takes its speaker from its own words when they lean this far (cue units) to one side.
WORDS_DECIDE_LEAD = 1.0
#: A role decided by the words alone stays under the review bar (80 %): a reviewer sees it.
WORDS_CONFIDENCE = 0.75


def by_words(piece: SpeakerPiece, text: str, decision: RoleDecision) -> SpeakerPiece:
    """A piece the voices cannot place, placed by what it says (谢谢您的来电，再见 is the agent's,
    我的卡怎么回事 the customer's); any other piece as it is."""
    if piece.confidence > UNSURE_VOICE:
        return piece
    lead = cue_weight(text, AGENT_CUES) - cue_weight(text, CUSTOMER_CUES)
    if abs(lead) < WORDS_DECIDE_LEAD:
        return piece
    agent = decision.agent_speaker
    speaker = agent if lead > 0 else 1 - agent
    return replace(piece, speaker=speaker, confidence=WORDS_CONFIDENCE)


def role_activity(pieces: Sequence[SpeakerPiece], mixed: ChannelActivity, decision: RoleDecision) -> tuple[ChannelActivity, ...]:
    """Speech per role from the pieces; music and the tone stay on the mixed channel."""
    by_role = {role: tuple(p.span for p in pieces if role_of(p.speaker, decision) == role)
               for role in (Role.AGENT, Role.CUSTOMER)}
    return (
        ChannelActivity(mixed.channel, Role.AGENT, by_role[Role.AGENT]),
        ChannelActivity(mixed.channel, Role.CUSTOMER, by_role[Role.CUSTOMER]),
        ChannelActivity(mixed.channel, Role.MIXED, (), mixed.tone, mixed.music),
    )
