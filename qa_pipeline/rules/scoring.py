"""From check results and policy weights to a 0-100 score and its explanation: pure functions, no I/O.

Each applicable check (``passed`` not None) earns a share of its weight: all of it when passed,
none when failed — except the greeting, which earns the share of its elements that were spoken.
A check's weight is the policy's, else its declared default. Checks that do not apply are left out
and the other weights renormalised. Critical violations (the agent hung up first, a forbidden phrase)
cap the score at the policy's caps; the explanation says which cap applied and why
("capped at 60: forbidden phrase 你错了 at 00:40").
"""

from __future__ import annotations

from typing import Iterable, Mapping

from qa_pipeline.policy.policy import Policy
from qa_pipeline.rules.base import weight_of
from qa_pipeline.text.clock import format_mmss
from qa_pipeline.types import CheckResult, CheckScore, ScoreCap, ScoreExplanation

__all__ = ["score_checks"]

_GREETING_ELEMENTS = 4


def _earned(check: CheckResult) -> float:
    if check.name == "greeting" and isinstance(check.details.get("missing"), list):
        return max(0.0, 1.0 - len(check.details["missing"]) / _GREETING_ELEMENTS)
    return 1.0 if check.passed else 0.0


def _first_evidence(check: CheckResult) -> tuple[str | None, float | None]:
    """The phrase and time of a check's first hit (``details["hits"]``), else of its first evidence."""
    hits = check.details.get("hits")
    if isinstance(hits, list) and hits and isinstance(hits[0], Mapping):
        start_s = hits[0].get("start_s")
        return hits[0].get("phrase"), float(start_s) if isinstance(start_s, (int, float)) else None
    for finding in check.findings:
        for evidence in finding.evidence:
            return evidence.phrase, evidence.start_s
    return None, None


def _forbidden_reason(check: CheckResult) -> tuple[str, float | None]:
    phrase, at_s = _first_evidence(check)
    reason = "forbidden phrase" + (f" {phrase}" if phrase else "") + (f" at {format_mmss(at_s)}" if at_s is not None else "")
    hits = check.details.get("hits")
    if isinstance(hits, list) and len(hits) > 1:
        reason += f" (and {len(hits) - 1} more)"
    return reason, at_s


def _hangup_reason(check: CheckResult) -> tuple[str, float | None]:
    method = check.details.get("method")
    _, at_s = _first_evidence(check)
    if method == "tone" and at_s is not None:
        return f"the agent hung up first (disconnect tone at {format_mmss(at_s)})", at_s
    return f"the agent hung up first (from {method or 'unknown'})", at_s


def _caps(checks: Iterable[CheckResult], policy: Policy, uncapped: float) -> tuple[ScoreCap, ...]:
    applied = []
    by_name = {c.name: c for c in checks}
    hangup = by_name.get("hangup")
    if hangup is not None and hangup.details.get("hangup_by") == "agent":
        reason, at_s = _hangup_reason(hangup)
        limit = policy.caps.agent_hangup
        applied.append(ScoreCap("agent_hangup", limit, limit < uncapped, reason, at_s))
    forbidden = by_name.get("forbidden_phrases")
    if forbidden is not None and forbidden.passed is False:
        reason, at_s = _forbidden_reason(forbidden)
        limit = policy.caps.forbidden_phrase
        applied.append(ScoreCap("forbidden_phrase", limit, limit < uncapped, reason, at_s))
    return tuple(applied)


def score_checks(checks: Iterable[CheckResult], policy: Policy) -> ScoreExplanation:
    """Score a call's checks by the policy's weights (see the module docstring), with the explanation."""
    checks = tuple(checks)
    counted = [c for c in checks if c.passed is not None and weight_of(c.name, policy) > 0]
    total_weight = sum(weight_of(c.name, policy) for c in counted)
    counted_ids = {id(c) for c in counted}
    lines = []
    for check in checks:
        weight = weight_of(check.name, policy)
        if id(check) in counted_ids:
            max_points = 100.0 * weight / total_weight
            earned = _earned(check)
            lines.append(CheckScore(check.name, weight, check.passed, True, max_points, earned, max_points * earned))
        else:
            lines.append(CheckScore(check.name, weight, check.passed, False, 0.0, 0.0, 0.0))
    uncapped = sum(line.points for line in lines) if total_weight > 0 else 100.0
    caps = _caps(checks, policy, uncapped)
    score = min([uncapped] + [cap.limit for cap in caps])
    return ScoreExplanation(score, uncapped, total_weight, tuple(lines), caps)
