"""Frozen value types shared by every stage, batch and live alike.

Times are float seconds from the start of the call; sample indices are ints.
Every type that crosses a public boundary has ``to_dict()`` producing the JSON contract.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from qa_pipeline.errors import MetaError

if TYPE_CHECKING:
    import numpy as np


class Role(str, Enum):
    AGENT = "agent"
    CUSTOMER = "customer"
    MIXED = "mixed"

    @property
    def label_zh(self) -> str:
        return {"agent": "座席", "customer": "客户", "mixed": "混合"}[self.value]


class Direction(str, Enum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class Party(str, Enum):
    """Who ended the call."""

    AGENT = "agent"
    CUSTOMER = "customer"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Span:
    """A stretch of one channel, in seconds."""

    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    def with_offset(self, offset_s: float) -> "Span":
        return Span(self.start_s + offset_s, self.end_s + offset_s)

    def overlap_s(self, other: "Span") -> float:
        return max(0.0, min(self.end_s, other.end_s) - max(self.start_s, other.start_s))

    def to_dict(self) -> dict[str, float]:
        return {"start_s": round(self.start_s, 3), "end_s": round(self.end_s, 3)}


@dataclass(frozen=True)
class Word:
    text: str
    start_s: float
    end_s: float

    def with_offset(self, offset_s: float) -> "Word":
        return Word(self.text, self.start_s + offset_s, self.end_s + offset_s)

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "start_s": round(self.start_s, 3), "end_s": round(self.end_s, 3)}


@dataclass(frozen=True)
class Utterance:
    """One stretch of speech of one party: VAD decides the times, ASR the text.

    ``text`` is normalised for display (Simplified Chinese, punctuation kept).
    ``role_confidence`` is set when the role was inferred (two voices separated on one channel):
    how likely the role is right; None when the channel itself names the role.
    """

    role: Role
    channel: int
    start_s: float
    end_s: float
    text: str
    words: tuple[Word, ...] = ()
    role_confidence: float | None = None

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    @property
    def span(self) -> Span:
        return Span(self.start_s, self.end_s)

    def with_text(self, text: str, words: tuple[Word, ...] | None = None) -> "Utterance":
        return replace(self, text=text, words=self.words if words is None else words)

    def to_dict(self) -> dict[str, Any]:
        data = {
            "role": self.role.value,
            "channel": self.channel,
            "start_s": round(self.start_s, 3),
            "end_s": round(self.end_s, 3),
            "text": self.text,
            "words": [w.to_dict() for w in self.words],
        }
        if self.role_confidence is not None:
            data["role_confidence"] = round(self.role_confidence, 3)
        return data


@dataclass(frozen=True)
class ChannelActivity:
    """What the signal analysis found on one channel, besides the words.

    ``speech`` are the VAD utterance spans (hold music and tones removed),
    ``tone`` the disconnect-tone stretch if any, ``music`` non-speech tonal sound (hold music).
    """

    channel: int
    role: Role
    speech: tuple[Span, ...] = ()
    tone: tuple[Span, ...] = ()
    music: tuple[Span, ...] = ()


@dataclass(frozen=True)
class CallMeta:
    """What the telephony system hands over with a recording (``NAME.meta.json``)."""

    call_id: str | None = None
    agent_id: str | None = None
    direction: Direction | None = None
    queue: str | None = None
    started_at: str | None = None
    hangup_by: Party | None = None
    rings: int | None = None
    answer_delay_s: float | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str | None = None) -> "CallMeta":
        if not isinstance(data, Mapping):
            raise MetaError("metadata must be a JSON object", source)
        try:
            direction = data.get("direction")
            hangup_by = data.get("hangup_by")
            rings = data.get("rings")
            delay = data.get("answer_delay_s")
            agent_id = data.get("agent_id")
            return cls(
                call_id=_opt_str(data.get("call_id")),
                agent_id=_opt_str(agent_id),
                direction=None if direction is None or direction == "" else Direction(direction),
                queue=_opt_str(data.get("queue")),
                started_at=_opt_timestamp(data.get("started_at")),
                hangup_by=None if hangup_by is None or hangup_by == "" else Party(hangup_by),
                rings=_opt_count(rings, "rings"),
                answer_delay_s=_opt_seconds(delay, "answer_delay_s"),
            )
        except (ValueError, TypeError, OverflowError) as exc:
            raise MetaError(f"invalid metadata field: {exc}", source) from None

    @classmethod
    def load(cls, path: str | Path) -> "CallMeta":
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8-sig"))  # a UTF-8 BOM is allowed
        except FileNotFoundError:
            raise MetaError("metadata file not found", str(path)) from None
        except PermissionError:
            raise MetaError("cannot read metadata: permission denied", str(path)) from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise MetaError(f"cannot read metadata: {exc}", str(path)) from None
        except RecursionError:
            raise MetaError("cannot read metadata: JSON nested too deeply", str(path)) from None
        return cls.from_dict(data, str(path))

    def to_dict(self) -> dict[str, Any]:
        return {
            "call_id": self.call_id,
            "agent_id": self.agent_id,
            "direction": self.direction.value if self.direction else None,
            "queue": self.queue,
            "started_at": self.started_at,
            "hangup_by": self.hangup_by.value if self.hangup_by else None,
            "rings": self.rings,
            "answer_delay_s": self.answer_delay_s,
        }


def _opt_str(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, (dict, list, bool)) or (isinstance(value, float) and not math.isfinite(value)):
        raise ValueError(f"expected a string, got {value!r:.40}")
    return str(value)


def _opt_timestamp(value: Any) -> str | None:
    """An ISO 8601 timestamp (``2024-11-04T09:17:05+08:00``), kept as written."""
    text = _opt_str(value)
    if text is not None:
        try:
            datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"started_at must be an ISO 8601 time like 2024-11-04T09:17:05+08:00, "
                             f"not {text[:40]!r}") from None
    return text


#: Bounds that keep telephony numbers sane (a ring count of 1e999 is corrupt data, not a long wait).
MAX_RINGS = 1000
MAX_ANSWER_DELAY_S = 86400.0


def _opt_count(value: Any, name: str) -> int | None:
    """A non-negative whole number (``3`` or ``"3"``); bools, fractions, NaN and huge values are refused."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"{name} must be a whole number, got {type(value).__name__}")
    number = float(value)
    if not math.isfinite(number) or number != int(number) or not 0 <= number <= MAX_RINGS:
        raise ValueError(f"{name} must be a whole number from 0 to {MAX_RINGS}, got {value!r}")
    return int(number)


def _opt_seconds(value: Any, name: str) -> float | None:
    """A finite non-negative number of seconds."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"{name} must be a number of seconds, got {type(value).__name__}")
    number = float(value)
    if not math.isfinite(number) or not 0 <= number <= MAX_ANSWER_DELAY_S:
        raise ValueError(f"{name} must be seconds from 0 to {MAX_ANSWER_DELAY_S:.0f}, got {value!r}")
    return number


@dataclass(frozen=True)
class Transcript:
    """A call turned into role-labelled utterances (the ``qa transcribe`` JSON contract)."""

    call_id: str
    duration_s: float
    sample_rate_hz: int
    channels: int
    utterances: tuple[Utterance, ...]
    activity: tuple[ChannelActivity, ...] = field(default=(), compare=False)

    def by_role(self, role: Role) -> tuple[Utterance, ...]:
        return tuple(u for u in self.utterances if u.role == role)

    def to_dict(self) -> dict[str, Any]:
        return {
            "call_id": self.call_id,
            "duration_s": round(self.duration_s, 3),
            "sample_rate_hz": self.sample_rate_hz,
            "channels": self.channels,
            "utterances": [u.to_dict() for u in self.utterances],
        }


class Severity(str, Enum):
    CRITICAL = "critical"
    MAJOR = "major"
    MINOR = "minor"
    INFO = "info"


@dataclass(frozen=True)
class Evidence:
    """Where a finding comes from: a time span, the words, and how close the match was."""

    start_s: float
    end_s: float
    text: str
    role: Role | None = None
    phrase: str | None = None
    similarity: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "start_s": round(self.start_s, 3),
            "end_s": round(self.end_s, 3),
            "text": self.text,
            "role": self.role.value if self.role else None,
            "phrase": self.phrase,
            "similarity": None if self.similarity is None else round(self.similarity, 3),
        }


@dataclass(frozen=True)
class Finding:
    """One observation by a rule: a violation, or a fact a reviewer should see."""

    rule_id: str
    severity: Severity
    message: str
    evidence: tuple[Evidence, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "severity": self.severity.value,
            "message": self.message,
            "evidence": [e.to_dict() for e in self.evidence],
        }


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check family.

    ``passed`` is None when the check does not apply (no complaint, hang-up unknown, ...).
    ``details`` holds the check's JSON fields beside ``passed`` (e.g. ``missing``, ``hits``).
    """

    name: str
    passed: bool | None
    details: Mapping[str, Any] = field(default_factory=dict)
    findings: tuple[Finding, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, **dict(self.details)}


@dataclass(frozen=True)
class CheckScore:
    """One check's part of the score (see ``rules.scoring``).

    ``counted`` checks applied (``passed`` not None) and have a weight; the score is renormalised over
    them: ``max_points = 100 * weight / sum of counted weights``, ``points = max_points * earned``.
    """

    name: str
    weight: float
    passed: bool | None
    counted: bool
    max_points: float  # 0 when not counted
    earned: float  # share of max_points earned, in [0, 1]; 0 when not counted
    points: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "weight": self.weight,
            "passed": self.passed,
            "counted": self.counted,
            "max_points": round(self.max_points, 2),
            "earned": round(self.earned, 3),
            "points": round(self.points, 2),
        }


@dataclass(frozen=True)
class ScoreCap:
    """A critical violation that limits the score: ``binding`` when it lowered this call's score."""

    name: str  # the policy's [caps] key: forbidden_phrase, agent_hangup
    limit: float
    binding: bool
    reason: str  # e.g. "forbidden phrase 你错了 at 00:40"
    at_s: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "limit": self.limit,
            "binding": self.binding,
            "reason": self.reason,
            "at_s": None if self.at_s is None else round(self.at_s, 3),
        }


@dataclass(frozen=True)
class ScoreExplanation:
    """How a call's 0-100 score came about: points per check, the renormalisation, and the caps.

    Its ``to_dict()`` is the ``score_explanation`` object of the report JSON (README, "Explain the score").
    """

    score: float  # after caps
    uncapped: float  # sum of the counted checks' points (100 when none counted)
    counted_weight: float  # sum of the counted checks' weights: the renormalisation base
    checks: tuple[CheckScore, ...]
    caps: tuple[ScoreCap, ...] = ()  # every cap triggered, binding or not

    @property
    def binding_caps(self) -> tuple[ScoreCap, ...]:
        return tuple(c for c in self.caps if c.binding)

    @property
    def summary(self) -> str:
        """One line: "capped at 60: forbidden phrase 你错了 at 00:40", or how the points add up."""
        binding = sorted(self.binding_caps, key=lambda c: c.limit)
        if binding:
            return f"capped at {binding[0].limit:g}: " + "; ".join(c.reason for c in binding)
        counted = sum(1 for c in self.checks if c.counted)
        text = f"{self.uncapped:.1f} from {counted} applicable checks, weights renormalised over {self.counted_weight:g}"
        return text + "".join(f"; under the cap of {c.limit:g} for {c.reason}" for c in self.caps)

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": round(self.score, 1),
            "uncapped": round(self.uncapped, 1),
            "counted_weight": self.counted_weight,
            "summary": self.summary,
            "checks": [c.to_dict() for c in self.checks],
            "caps": [c.to_dict() for c in self.caps],
        }


@dataclass(frozen=True)
class CallReport:
    """A scored call: the ``qa audit`` JSON contract, and what the store keeps."""

    transcript: Transcript
    meta: CallMeta
    checks: tuple[CheckResult, ...]
    score: float
    policy_id: str = ""
    model_id: str = ""
    incomplete: bool = False
    explanation: ScoreExplanation | None = None

    @property
    def call_id(self) -> str:
        return self.meta.call_id or self.transcript.call_id

    def check(self, name: str) -> CheckResult | None:
        return next((c for c in self.checks if c.name == name), None)

    @property
    def findings(self) -> tuple[Finding, ...]:
        return tuple(f for c in self.checks for f in c.findings)

    def to_dict(self) -> dict[str, Any]:
        out = {
            "call_id": self.call_id,
            "duration_s": round(self.transcript.duration_s, 3),
            "direction": self.meta.direction.value if self.meta.direction else None,
            "agent_id": self.meta.agent_id,
            "utterances": [u.to_dict() for u in self.transcript.utterances],
            "checks": {c.name: c.to_dict() for c in self.checks},
            "findings": [f.to_dict() for f in self.findings],
            "score": round(self.score, 1),
            "policy_id": self.policy_id,
            "model_id": self.model_id,
            "incomplete": self.incomplete,
        }
        if self.explanation is not None:
            out["score_explanation"] = self.explanation.to_dict()
        return out


@dataclass(frozen=True, eq=False)
class AudioClip:
    """Mono float32 samples in [-1, 1] at 16 kHz: one utterance to transcribe."""

    samples: np.ndarray
    sample_rate_hz: int = 16000

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate_hz
