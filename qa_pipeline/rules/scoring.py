"""From check results and policy weights to a 0-100 score: pure functions, no I/O.

Each applicable check (``passed`` not None) earns a share of its weight: all of it when passed,
none when failed — except the greeting, which earns the share of its elements that were spoken.
A check's weight is the policy's, else its declared default. Checks that do not apply are left out and the other weights renormalised. Critical violations
(the agent hung up first, a forbidden phrase) cap the score at the policy's caps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from qa_pipeline.policy.policy import Policy
from qa_pipeline.rules.base import weight_of
from qa_pipeline.types import CheckResult

__all__ = ["CheckPoints", "ScoreCard", "score_checks"]

_GREETING_ELEMENTS = 4


@dataclass(frozen=True)
class CheckPoints:
    """What one check contributed: its weight, the share earned, and its points out of 100."""

    name: str
    weight: float
    earned: float  # share of the weight earned, in [0, 1]; None-checks are not listed
    points: float  # contribution to the 0-100 score before caps

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "weight": self.weight, "earned": round(self.earned, 3), "points": round(self.points, 2)}


@dataclass(frozen=True)
class ScoreCard:
    score: float  # 0-100 after caps
    uncapped: float  # 0-100 before caps
    checks: tuple[CheckPoints, ...]
    caps: tuple[str, ...]  # names of the caps that applied

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": round(self.score, 1),
            "uncapped": round(self.uncapped, 1),
            "checks": [c.to_dict() for c in self.checks],
            "caps": list(self.caps),
        }


def _earned(check: CheckResult) -> float:
    if check.name == "greeting" and isinstance(check.details.get("missing"), list):
        return max(0.0, 1.0 - len(check.details["missing"]) / _GREETING_ELEMENTS)
    return 1.0 if check.passed else 0.0


def _caps(checks: Iterable[CheckResult], policy: Policy) -> list[tuple[str, float]]:
    applied = []
    by_name = {c.name: c for c in checks}
    hangup = by_name.get("hangup")
    if hangup is not None and hangup.details.get("hangup_by") == "agent":
        applied.append(("agent_hangup", policy.caps.agent_hangup))
    forbidden = by_name.get("forbidden_phrases")
    if forbidden is not None and forbidden.passed is False:
        applied.append(("forbidden_phrase", policy.caps.forbidden_phrase))
    return applied


def score_checks(checks: Iterable[CheckResult], policy: Policy) -> ScoreCard:
    """Score a call's checks by the policy's weights (see the module docstring)."""
    checks = tuple(checks)
    applicable = [c for c in checks if c.passed is not None and weight_of(c.name, policy) > 0]
    total_weight = sum(weight_of(c.name, policy) for c in applicable)
    points = []
    for check in applicable:
        weight = weight_of(check.name, policy)
        earned = _earned(check)
        points.append(CheckPoints(check.name, weight, earned, 100.0 * weight * earned / total_weight))
    uncapped = sum(p.points for p in points) if total_weight > 0 else 100.0
    caps = _caps(checks, policy)
    score = min([uncapped] + [limit for _, limit in caps])
    return ScoreCard(score, uncapped, tuple(points), tuple(name for name, limit in caps if limit < uncapped))
