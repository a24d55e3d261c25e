"""What every check shares: the call context, the registry, and helpers over utterances.

A check is a small class that declares itself with a ``spec = CheckSpec(...)`` (name, Chinese and
English label, when it can fire live, its policy keys, default weight, how reports describe it) and
``run(context, policy) -> CheckResult``; it must be a pure, cheap function of its input because the
live path re-runs it on partial transcripts. The live session, the reports, the scorer and the
policy check all read the registry, so adding a check is one class plus its policy entry and tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Callable, ClassVar, Iterable, Mapping, Protocol

from qa_pipeline.text.match import PhraseMatch, evidence_for, find_phrases
from qa_pipeline.policy.policy import Policy
from qa_pipeline.types import (
    CallMeta,
    CheckResult,
    Evidence,
    Role,
    Span,
    Transcript,
    Utterance,
)


@dataclass(frozen=True)
class CallContext:
    """A call as the checks see it. ``final`` is False while a live call is still going on."""

    transcript: Transcript
    meta: CallMeta
    final: bool = True


class LiveWhen(str, Enum):
    """When a check can raise an alert while a live call is still going on."""

    UTTERANCE = "utterance"  # as soon as an utterance is transcribed (phrases said)
    CLOCK = "clock"  # as call time passes or the line changes (greeting window, holds, hang-up, rate)
    END = "end"  # only once the call is over (the verdict needs the whole call)


@dataclass(frozen=True)
class CheckSpec:
    """Everything the rest of the product knows about a check, declared once beside its code.

    ``policy_keys`` names the policy entries the check reads (``table.key``), for the docs and the
    policy schema; ``default_weight`` applies when the policy's ``[weights]`` does not name the check;
    ``describe`` turns the check's details into one line for reports (None: a generic summary);
    ``findings`` names each kind of finding in Chinese for the pages (the rule's message is English).
    """

    name: str
    label_zh: str
    label_en: str
    live: LiveWhen
    default_weight: float
    policy_keys: tuple[str, ...] = ()
    describe: Callable[[Mapping[str, Any]], str] | None = None
    #: Chinese label of each finding the check raises, by the rule id's suffix (``hit`` of ``forbidden_phrases.hit``).
    findings: Mapping[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """Chinese first, English second: ``开场白 greeting``."""
        return f"{self.label_zh} {self.label_en}"


class Check(Protocol):
    spec: ClassVar[CheckSpec]

    @property
    def name(self) -> str: ...

    def run(self, context: CallContext, policy: Policy) -> CheckResult: ...


_REGISTRY: dict[str, Check] = {}


def register(cls: type) -> type:
    """Class decorator: add one instance of a check to the registry under ``cls.spec.name``.

    The registry keeps registration order, which is report order.
    """
    spec = getattr(cls, "spec", None)
    if not isinstance(spec, CheckSpec):
        raise TypeError(f"{cls.__name__} must declare spec = CheckSpec(...)")
    if spec.name in _REGISTRY:
        raise ValueError(f"check {spec.name!r} registered twice")
    cls.name = spec.name
    _REGISTRY[spec.name] = cls()
    return cls


def registered() -> dict[str, Check]:
    return dict(_REGISTRY)


def weight_of(name: str, policy: Policy) -> float:
    """The policy's weight for a check, else the check's declared default (0 for an unknown name)."""
    if name in policy.weights:
        return float(policy.weights[name])
    check = _REGISTRY.get(name)
    return 0.0 if check is None else check.spec.default_weight


@dataclass(frozen=True)
class Hit:
    """A phrase found in one utterance."""

    utterance: Utterance
    match: PhraseMatch

    @property
    def evidence(self) -> Evidence:
        return evidence_for(self.utterance, self.match)

    def overlaps(self, other: "Hit") -> bool:
        return (
            self.utterance is other.utterance
            and self.match.start_char < other.match.end_char
            and other.match.start_char < self.match.end_char
        )

    def to_hit_dict(self, phrase: str) -> dict[str, object]:
        evidence = self.evidence
        return {
            "phrase": phrase,
            "start_s": round(evidence.start_s, 3),
            "end_s": round(evidence.end_s, 3),
            "text": self.match.matched,
        }


def agent_utterances(transcript: Transcript) -> tuple[Utterance, ...]:
    """The agent's utterances; a mono (mixed) recording counts as both sides."""
    return tuple(u for u in transcript.utterances if u.role in (Role.AGENT, Role.MIXED))


def customer_utterances(transcript: Transcript) -> tuple[Utterance, ...]:
    return tuple(u for u in transcript.utterances if u.role in (Role.CUSTOMER, Role.MIXED))


def find_in(
    utterances: Iterable[Utterance], phrases: Iterable[str], policy: Policy,
    keep: Callable[[Hit], bool] | None = None,
) -> list[Hit]:
    """Every occurrence of any phrase in the utterances, overlapping hits reduced to the best one.

    ``keep`` drops a hit before overlaps are reduced, so a rejected longer match (不给 heard in 不，记…)
    does not hide a shorter one that holds (不)."""
    phrases = tuple(phrases)
    hits: list[Hit] = []
    for utterance in utterances:
        found = [
            Hit(utterance, match)
            for phrase in phrases
            for match in find_phrases(utterance.text, phrase, policy.matching)
        ]
        if keep is not None:
            found = [hit for hit in found if keep(hit)]
        found.sort(key=lambda h: (-h.match.similarity, -(h.match.end_char - h.match.start_char)))
        kept: list[Hit] = []
        for hit in found:
            if not any(hit.overlaps(other) for other in kept):
                kept.append(hit)
        hits.extend(sorted(kept, key=lambda h: h.match.start_char))
    return hits


def first_hit(utterances: Iterable[Utterance], phrases: Iterable[str], policy: Policy) -> Hit | None:
    for utterance in utterances:
        hits = find_in((utterance,), phrases, policy)
        if hits:
            return hits[0]
    return None


def utterance_evidence(utterance: Utterance, phrase: str | None = None) -> Evidence:
    return Evidence(utterance.start_s, utterance.end_s, utterance.text, utterance.role, phrase)


def agent_turns(transcript: Transcript) -> list[tuple[Utterance, ...]]:
    """Agent utterances grouped into turns: a customer utterance starting in between splits them."""
    turns: list[list[Utterance]] = []
    agent_open = False
    for utterance in sorted(transcript.utterances, key=lambda u: u.start_s):
        if utterance.role in (Role.AGENT, Role.MIXED):
            if agent_open and turns:
                turns[-1].append(utterance)
            else:
                turns.append([utterance])
            agent_open = True
        else:
            agent_open = False
    return [tuple(t) for t in turns]


def speech_spans(transcript: Transcript, role: Role) -> tuple[Span, ...]:
    """Speech of one side: the VAD activity when the pipeline gave it, else the utterances."""
    spans = [s for a in transcript.activity if a.role == role for s in a.speech]
    if not spans:
        spans = [u.span for u in transcript.utterances if u.role == role]
    return tuple(sorted(spans, key=lambda s: s.start_s))


def music_spans(transcript: Transcript) -> tuple[Span, ...]:
    return tuple(sorted((s for a in transcript.activity for s in a.music), key=lambda s: s.start_s))


def hangup_tone(transcript: Transcript) -> tuple[Role, Span] | None:
    """The earliest disconnect tone and the role of its channel, if any."""
    tones = [(s, a.role) for a in transcript.activity for s in a.tone]
    if not tones:
        return None
    span, role = min(tones, key=lambda t: t[0].start_s)
    return role, span


def call_end_s(transcript: Transcript) -> float:
    """When the line went down: the first disconnect tone, else the end of the recording."""
    tone = hangup_tone(transcript)
    return min(transcript.duration_s, tone[1].start_s) if tone else transcript.duration_s


def subtract(span: Span, others: Iterable[Span]) -> list[Span]:
    """Parts of ``span`` not covered by any of ``others``."""
    free = [span]
    for other in others:
        next_free = []
        for part in free:
            if other.end_s <= part.start_s or other.start_s >= part.end_s:
                next_free.append(part)
                continue
            if other.start_s > part.start_s:
                next_free.append(Span(part.start_s, other.start_s))
            if other.end_s < part.end_s:
                next_free.append(Span(other.end_s, part.end_s))
        free = next_free
    return free

