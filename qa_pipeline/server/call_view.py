"""What the call page shows, built from a stored report and its review state (no HTML here).

The transcript is cut into pieces so the exact evidence of each finding can be highlighted: a phrase
hit highlights the matched words inside its utterance; other findings highlight the utterance their
evidence points at. The timeline places each role's speech and each finding on a 0-100 % scale.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from qa_pipeline.review.rescore import automatic_score, check_name, reviewed_checks, reviewed_score
from qa_pipeline.policy.policy import Policy
from qa_pipeline.store.reviews import ReviewState

_ROLE_ZH = {"agent": "座席", "customer": "客户", "mixed": "混合"}


@dataclass(frozen=True)
class Piece:
    text: str
    finding: int | None = None


@dataclass(frozen=True)
class UtteranceView:
    role: str
    role_zh: str
    start_s: float
    end_s: float
    pieces: tuple[Piece, ...]
    flagged: tuple[int, ...] = ()  # findings pointing at the whole utterance (not at exact words)


@dataclass(frozen=True)
class FindingView:
    index: int
    rule_id: str
    check: str
    severity: str
    message: str
    start_s: float | None
    end_s: float | None
    evidence: str
    verdict: str  # automatic, confirmed or overturned
    reason: str
    reviewer: str


@dataclass(frozen=True)
class Bar:
    """A stretch on the timeline, in percent of the call."""

    role: str
    left_pct: float
    width_pct: float
    start_s: float


@dataclass(frozen=True)
class CheckLine:
    name: str
    automatic: bool | None
    reviewed: bool | None
    points: float | None
    weight: float | None


@dataclass(frozen=True)
class CallView:
    duration_s: float
    utterances: tuple[UtteranceView, ...]
    findings: tuple[FindingView, ...]
    bars: tuple[Bar, ...]
    markers: tuple[Bar, ...]
    checks: tuple[CheckLine, ...]
    automatic_score: float | None
    reviewed_score: float
    caps: tuple[str, ...]
    reviewed_caps: tuple[str, ...]


def build_call_view(report: Mapping[str, Any], state: ReviewState, policy: Policy) -> CallView:
    duration_s = float(report.get("duration_s") or 0.0) or 1.0
    findings = _findings(report, state)
    utterances = tuple(_utterance(u, report, findings) for u in report.get("utterances", []))
    bars = tuple(Bar(u.role, _pct(u.start_s, duration_s), max(0.3, _pct(u.end_s - u.start_s, duration_s)), u.start_s)
                 for u in utterances)
    markers = tuple(Bar(f"f{f.index}", _pct(f.start_s, duration_s), 0.0, f.start_s) for f in findings if f.start_s is not None)
    markers += tuple(Bar("added", _pct(a.at_s, duration_s), 0.0, a.at_s) for a in state.added)
    card = automatic_score(report, policy)
    reviewed = reviewed_score(report, state.verdicts, state.added, policy)
    points = {p.name: p for p in card.checks if p.counted}
    checks = tuple(CheckLine(c.name, c.automatic, c.reviewed, points[c.name].points if c.name in points else None,
                             points[c.name].weight if c.name in points else None)
                   for c in reviewed_checks(report, state.verdicts, state.added))
    return CallView(duration_s, utterances, findings, bars, markers, checks, report.get("score"),
                    round(reviewed.score, 1), tuple(c.reason for c in card.binding_caps),
                    tuple(c.reason for c in reviewed.binding_caps))


def _pct(value_s: float, duration_s: float) -> float:
    return round(max(0.0, min(100.0, 100.0 * value_s / duration_s)), 2)


def _findings(report: Mapping[str, Any], state: ReviewState) -> tuple[FindingView, ...]:
    out = []
    for index, finding in enumerate(report.get("findings", [])):
        evidence = (finding.get("evidence") or [{}])[0] if finding.get("evidence") else {}
        verdict = state.verdicts.get(index)
        rule_id = str(finding.get("rule_id", ""))
        out.append(FindingView(
            index, rule_id, check_name(rule_id), str(finding.get("severity", "")), str(finding.get("message", "")),
            evidence.get("start_s"), evidence.get("end_s"), str(evidence.get("text") or ""),
            verdict.verdict if verdict else "automatic", verdict.reason if verdict else "",
            verdict.reviewer if verdict else ""))
    return tuple(out)


def _matched_words(report: Mapping[str, Any], finding: FindingView) -> str | None:
    """The exact words of a phrase hit (the check's ``hits`` list is in the findings' order)."""
    hits = (report.get("checks", {}).get(finding.check) or {}).get("hits")
    if not hits:
        return None
    same = [i for i, f in enumerate(report.get("findings", [])) if check_name(str(f.get("rule_id", ""))) == finding.check]
    position = same.index(finding.index) if finding.index in same else -1
    return str(hits[position].get("text") or "") if 0 <= position < len(hits) else None


def _utterance(u: Mapping[str, Any], report: Mapping[str, Any], findings: tuple[FindingView, ...]) -> UtteranceView:
    start_s, end_s, text = float(u.get("start_s", 0.0)), float(u.get("end_s", 0.0)), str(u.get("text", ""))
    pieces, flagged = [Piece(text)], []
    for finding in findings:
        if finding.start_s is None or not (start_s - 0.05 <= finding.start_s <= end_s + 0.05):
            continue
        if finding.evidence and finding.evidence != text:
            continue
        words = _matched_words(report, finding)
        marked = _mark(pieces, words, finding.index) if words else pieces
        if marked is pieces:
            flagged.append(finding.index)
        pieces = marked
    role = str(u.get("role", "mixed"))
    return UtteranceView(role, _ROLE_ZH.get(role, role), start_s, end_s, tuple(pieces), tuple(flagged))


def _mark(pieces: list[Piece], words: str, finding: int) -> list[Piece]:
    """Split the first unmarked piece holding ``words`` so they become their own marked piece."""
    for i, piece in enumerate(pieces):
        at = piece.text.find(words) if piece.finding is None and words else -1
        if at >= 0:
            parts = [Piece(piece.text[:at]), Piece(words, finding), Piece(piece.text[at + len(words):])]
            return pieces[:i] + [p for p in parts if p.text] + pieces[i + 1:]
    return pieces
