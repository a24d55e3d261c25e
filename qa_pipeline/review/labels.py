"""Reviewed calls as ``NAME.truth.json`` labels, so ``qa eval`` measures the checks against reviewers.

The label of a check is the automatic result with the reviewers' decisions applied: an overturned
phrase hit is dropped, a missed finding added by a reviewer becomes an expected hit, a check whose
findings were all overturned is labelled as passed. ``turns`` stays empty: the reviewers judged the
findings, not the transcript, so the CER ``qa eval`` prints for these labels means nothing.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from qa_pipeline.review.rescore import ReviewedCheck, check_name, reviewed_checks
from qa_pipeline.store.reviews import AddedFinding, Verdict

_PHRASE_LABELS = {"forbidden_phrases": "forbidden", "unauthorized_promise": "unauthorized_promise"}


def truth_labels(report: Mapping[str, Any], verdicts: Mapping[int, Verdict],
                 added: Iterable[AddedFinding]) -> dict[str, Any]:
    """The ``NAME.truth.json`` contents for one reviewed call."""
    added = list(added)
    checks = {c.name: c for c in reviewed_checks(report, verdicts, added)}
    expected: dict[str, Any] = {}
    greeting = checks.get("greeting")
    if greeting is not None:
        expected["greeting"] = {"present": greeting.details.get("present"), "compliant": greeting.details.get("compliant"),
                                "missing": list(greeting.details.get("missing") or [])}
    closing = checks.get("closing")
    if closing is not None:
        expected["closing"] = {"present": closing.reviewed is not False and closing.details.get("present", True)}
    for name, label in _PHRASE_LABELS.items():
        expected[label] = _phrase_label(report, name, verdicts, added)
    expected.update(_simple_labels(checks))
    return {"call_id": report.get("call_id"), "agent_id": report.get("agent_id"),
            "direction": report.get("direction"), "duration_s": report.get("duration_s"),
            "source": "qa review export", "turns": [], "expected": expected}


def _phrase_label(report: Mapping[str, Any], name: str, verdicts: Mapping[int, Verdict],
                  added: list[AddedFinding]) -> list[dict[str, Any]]:
    hits = list((report.get("checks", {}).get(name) or {}).get("hits") or [])
    indices = [i for i, f in enumerate(report.get("findings", [])) if check_name(str(f.get("rule_id", ""))) == name]
    kept = [hit for hit, index in zip(hits, indices)
            if not (index in verdicts and verdicts[index].verdict == "overturned")]
    kept += hits[len(indices):]
    kept += [{"phrase": a.note, "start_s": a.at_s, "end_s": a.at_s + 1.0} for a in added if a.check_name == name]
    return [{k: h.get(k) for k in ("phrase", "start_s", "end_s")} for h in kept]


def _simple_labels(checks: Mapping[str, ReviewedCheck]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "hangup" in checks:
        out["hangup_by"] = checks["hangup"].details.get("hangup_by") or "unknown"
    if "speaking_rate" in checks:
        rate = checks["speaking_rate"]
        out["rate_verdict"] = "ok" if rate.reviewed and rate.automatic is False else rate.details.get("verdict")
    if "call_duration" in checks:
        out["duration_violation"] = checks["call_duration"].reviewed is False
    if "complaint_handling" in checks:
        complaint = checks["complaint_handling"]
        out["complaint"] = complaint.details.get("complaint")
        out["comfort_after_complaint"] = (complaint.reviewed is not False) if complaint.details.get("complaint") else None
    if "identity_verification" in checks:
        identity = checks["identity_verification"]
        if identity.details.get("required") is not None:
            out["identity_verification"] = {"required": identity.details.get("required"),
                                            "verified": identity.reviewed is not False}
    return out
