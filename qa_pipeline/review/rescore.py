"""The reviewed score: the automatic checks with the reviewers' decisions applied, scored by the policy.

A failed check whose every finding was overturned counts as passed; a check given a missed finding
counts as failed. The same ``score_checks`` as the automatic score does the rest (weights, caps).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from qa_pipeline.policy.policy import Policy
from qa_pipeline.rules.scoring import score_checks
from qa_pipeline.types import ScoreExplanation
from qa_pipeline.store.reviews import AddedFinding, Verdict
from qa_pipeline.types import CheckResult

# What a check's details say once all its findings were overturned (the caps and the greeting's
# partial credit read these fields).
_CLEARED_DETAILS: dict[str, dict[str, Any]] = {
    "greeting": {"missing": [], "present": True, "compliant": True},
    "closing": {"present": True},
    "hangup": {"hangup_by": "customer"},
}


@dataclass(frozen=True)
class ReviewedCheck:
    """One check after review: its automatic and reviewed verdicts."""

    name: str
    automatic: bool | None
    reviewed: bool | None
    details: Mapping[str, Any]


def check_name(rule_id: str) -> str:
    return rule_id.split(".")[0]


def reviewed_checks(report: Mapping[str, Any], verdicts: Mapping[int, Verdict],
                    added: Iterable[AddedFinding]) -> list[ReviewedCheck]:
    """Every check of ``report`` with the reviewers' decisions applied (see the module docstring)."""
    findings_by_check: dict[str, list[int]] = {}
    for index, finding in enumerate(report.get("findings", [])):
        findings_by_check.setdefault(check_name(str(finding.get("rule_id", ""))), []).append(index)
    missed = {a.check_name for a in added}
    out = []
    checks = dict(report.get("checks", {}))
    for name in missed - set(checks):
        checks[name] = {"passed": None}
    for name, check in checks.items():
        details = {k: v for k, v in check.items() if k != "passed"}
        automatic = check.get("passed")
        reviewed = automatic
        indices = findings_by_check.get(name, [])
        if automatic is False and indices and all(
                i in verdicts and verdicts[i].verdict == "overturned" for i in indices):
            reviewed = True
            details.update(_CLEARED_DETAILS.get(name, {}))
        if name in missed:
            reviewed = False
            details.pop("missing", None)  # a reviewer's missed greeting earns no partial credit
        out.append(ReviewedCheck(name, automatic, reviewed, details))
    return out


def reviewed_score(report: Mapping[str, Any], verdicts: Mapping[int, Verdict],
                   added: Iterable[AddedFinding], policy: Policy) -> ScoreExplanation:
    checks = [CheckResult(c.name, c.reviewed, c.details) for c in reviewed_checks(report, verdicts, added)]
    return score_checks(checks, policy)


def automatic_score(report: Mapping[str, Any], policy: Policy) -> ScoreExplanation:
    """The automatic score card recomputed from the stored checks (for its explanation)."""
    checks = [CheckResult(name, c.get("passed"), {k: v for k, v in c.items() if k != "passed"})
              for name, c in report.get("checks", {}).items()]
    return score_checks(checks, policy)
