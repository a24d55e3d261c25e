"""Holds as the standard sees them: where the customer waits, and how the agent handled it.

A hold is a stretch where the agent is silent and the customer is not talking: hold music (any
length) or silence of ``hold.min_hold_s`` or more. A short customer utterance inside it ("喂，还在吗？",
up to ``hold.interrupt_max_s``) does not end it. For each hold the agent's request before it
(请您稍等), the thanks after it (感谢您的耐心等待) and, for a long one, whether it was negotiated: the
agent asked whether the customer can wait (a clause with a wait word that is a question — simple
local logic, see ``asks_to_wait``) or offered a call back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from qa_pipeline.policy.policy import Policy
from qa_pipeline.rules.base import (
    CallContext,
    agent_turns,
    call_end_s,
    find_in,
    music_spans,
    speech_spans,
    subtract,
)
from qa_pipeline.types import Role, Span, Utterance

# A silence must already have lasted this long before a short customer utterance is taken for an
# interruption of a hold rather than the customer's own reply ("好的" right after 请您稍等).
_HELD_BEFORE_INTERRUPT_S = 5.0
_CLAUSES = re.compile(r"[，,。．.！!；;\s]+")
# A politeness tag after a request does not ask for consent: 请您稍等好吗 is a request.
_TAGS = re.compile(r"(?:好吗|好不好|好嘛)[?？]?$")
_NEGOTIATED_ASKED = "asked_to_wait"
_NEGOTIATED_CALL_BACK = "offered_call_back"


@dataclass(frozen=True)
class Hold:
    span: Span
    music: bool
    requested: bool
    thanked: bool | None  # None: the agent has not spoken since (live) or the call ended in it
    negotiated: str | None  # asked_to_wait | offered_call_back | None

    def to_dict(self, limit_s: float) -> dict[str, Any]:
        return {
            **self.span.to_dict(),
            "duration_s": round(self.span.duration_s, 3),
            "music": self.music,
            "over_limit": self.span.duration_s > limit_s,
            "requested": self.requested,
            "thanked": self.thanked,
            "negotiated": self.negotiated,
        }


def _merge_interruptions(parts: list[Span], interrupt_max_s: float) -> list[Span]:
    """Join silences split by a short customer utterance once the silence had lasted a while."""
    merged: list[Span] = []
    for part in sorted(parts, key=lambda s: s.start_s):
        if merged and part.start_s - merged[-1].end_s <= interrupt_max_s and merged[-1].duration_s >= _HELD_BEFORE_INTERRUPT_S:
            merged[-1] = Span(merged[-1].start_s, part.end_s)
        else:
            merged.append(part)
    return merged


def silences(context: CallContext, end_s: float, interrupt_max_s: float) -> list[Span]:
    """Stretches between agent speech where the customer does not talk either (before ``end_s``)."""
    agent = speech_spans(context.transcript, Role.AGENT)
    customer = speech_spans(context.transcript, Role.CUSTOMER)
    gaps = [Span(a.end_s, b.start_s) for a, b in zip(agent, agent[1:]) if b.start_s > a.end_s]
    if agent and end_s > agent[-1].end_s:
        trailing = Span(agent[-1].end_s, end_s)
        if any(m.overlap_s(trailing) > 0 for m in music_spans(context.transcript)):
            gaps.append(trailing)  # the call ended during a hold (or, live, a hold goes on)
    found: list[Span] = []
    for gap in gaps:
        parts = subtract(Span(gap.start_s, min(gap.end_s, end_s)), customer)
        found += _merge_interruptions(parts, interrupt_max_s)
    return found


def hold_extent(silence: Span, music: tuple[Span, ...]) -> Span:
    """Where hold music plays inside a silence, that is the hold; otherwise the whole silence."""
    inside = [Span(max(m.start_s, silence.start_s), min(m.end_s, silence.end_s)) for m in music if m.overlap_s(silence) > 0]
    if not inside:
        return silence
    return Span(min(s.start_s for s in inside), max(s.end_s for s in inside))


def asks_to_wait(text: str, policy: Policy) -> bool:
    """A clause with a wait word that is a question (您方便稍等一下吗, 您是在线等还是…)."""
    rules = policy.standard.hold
    for clause in _CLAUSES.split(text):
        clause = _TAGS.sub("", clause)
        if any(w in clause for w in rules.wait_words) and any(q in clause for q in rules.question_markers):
            return True
    return False


def _turns_before(context: CallContext, start_s: float, count: int) -> list[tuple[Utterance, ...]]:
    """The last ``count`` agent turns (or their parts) said before ``start_s``."""
    turns = [tuple(u for u in t if u.end_s <= start_s + 0.5) for t in agent_turns(context.transcript)]
    return [t for t in turns if t][-count:]


def _first_after(context: CallContext, end_s: float) -> tuple[Utterance, ...] | None:
    """The agent's first turn (or its part) said after ``end_s``."""
    turns = [tuple(u for u in t if u.start_s >= end_s - 0.5) for t in agent_turns(context.transcript)]
    return next((t for t in turns if t), None)


def _negotiated(context: CallContext, span: Span, policy: Policy) -> str | None:
    rules = policy.standard.hold
    before = [u for turn in _turns_before(context, span.start_s, rules.negotiation_turns) for u in turn]
    if any(asks_to_wait(u.text, policy) for u in before):
        return _NEGOTIATED_ASKED
    if find_in(before, rules.call_back, policy):
        return _NEGOTIATED_CALL_BACK
    return None


def find_holds(context: CallContext, policy: Policy) -> list[Hold]:
    """Every hold of the call with how the agent handled it, in time order."""
    rules = policy.standard.hold
    music = music_spans(context.transcript)
    end_s = call_end_s(context.transcript)
    holds = []
    for silence in silences(context, end_s, rules.interrupt_max_s):
        span = hold_extent(silence, music)
        with_music = any(m.overlap_s(silence) > 0 for m in music)
        if not with_music and span.duration_s < rules.min_hold_s and span.duration_s <= policy.thresholds.hold_limit_s:
            continue
        before = _turns_before(context, span.start_s, 1)
        after = _first_after(context, span.end_s)
        holds.append(
            Hold(
                span,
                with_music,
                bool(before and find_in(before[-1], rules.request, policy)),
                None if after is None else bool(find_in(after, rules.thanks, policy)),
                _negotiated(context, span, policy),
            )
        )
    return holds
