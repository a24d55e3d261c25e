"""Report writers keyed by format: plain/rich text, JSON and a self-contained HTML page.

Every writer works from the report *dict* (the ``qa audit`` JSON contract, ``CallReport.to_dict()``),
so a report read back from the results store renders the same as a fresh one. Customer numbers are
masked by default (``mask_pii=True``); masking is idempotent, so already-masked reports are safe.
"""

from __future__ import annotations

from typing import Any, Mapping

from rich.console import Console
from rich.table import Table
from rich.text import Text

from qa_pipeline.config import SpeakerOptions
from qa_pipeline.rules import describe
from qa_pipeline.rules.run import check_spec
from qa_pipeline.text.clock import format_span
from qa_pipeline.text.pii import mask_report_dict
from qa_pipeline.types import Role, Transcript

ReportDict = Mapping[str, Any]

STATUS_MARKS = {True: "✔", False: "✘", None: "–"}
_STATUS_STYLES = {True: "green", False: "bold red", None: "dim"}
_ROLE_STYLES = {"agent": "cyan", "customer": "magenta"}
_SEVERITY_STYLES = {"critical": "bold red", "major": "red", "minor": "yellow", "info": "dim"}


def role_label(role: str | None) -> str:
    """座席 / 客户 for a role value; the raw value for anything else."""
    try:
        return Role(role).label_zh
    except ValueError:
        return str(role)


def _as_dict(transcript: ReportDict | Transcript) -> ReportDict:
    return transcript.to_dict() if isinstance(transcript, Transcript) else transcript


def sorted_utterances(report: ReportDict) -> list[Mapping[str, Any]]:
    """Utterances of both channels interleaved by start time (ties: agent first)."""
    utterances = list(report.get("utterances") or ())
    return sorted(utterances, key=lambda u: (float(u["start_s"]), int(u.get("channel", 0))))


def format_transcript_text(transcript: ReportDict | Transcript, *, mask_pii: bool = True) -> str:
    """One line per utterance, ``[mm:ss.s–mm:ss.s] 座席: text``, interleaved by time."""
    data = _as_dict(transcript)
    if mask_pii:
        data = mask_report_dict(data)
    lines = [
        f"{format_span(u['start_s'], u['end_s'])} {role_label(u.get('role'))}{_role_doubt(u)}: {u.get('text', '')}"
        for u in sorted_utterances(data)
    ]
    return "\n".join(lines) + ("\n" if lines else "")


def _role_doubt(utterance: Mapping[str, Any]) -> str:
    """`` (角色待复核 62%)`` after a role inferred on a mono call that needs review, else nothing."""
    confidence = utterance.get("role_confidence")
    if confidence is None or confidence >= SpeakerOptions().review_below:
        return ""
    return f" (角色待复核 {100 * confidence:.0f}%)"


def check_label(name: str) -> str:
    """``开场白 greeting`` for a registered check (or a finding's rule id); else the name without underscores."""
    spec = check_spec(name)
    return spec.label if spec is not None else name.replace("_", " ")


def finding_label(rule_id: str) -> str:
    """What a finding means, in Chinese: its check's ``findings`` label, else the check's Chinese label."""
    spec = check_spec(rule_id)
    if spec is None:
        return rule_id.replace("_", " ")
    return spec.findings.get(rule_id.split(".", 1)[-1], spec.label_zh)


def describe_check(name: str, check: Mapping[str, Any]) -> str:
    """A short human summary of a check's detail fields (everything except ``passed``)."""
    spec = check_spec(name)
    if spec is not None and spec.describe is not None:
        try:
            return spec.describe(check)
        except (KeyError, TypeError, ValueError):
            pass  # an unexpected shape falls back to the generic summary below
    return describe.generic(check)


def render_audit_text(report: ReportDict, console: Console) -> None:
    """Print the audit of one call on ``console``: header, transcript, checks, findings, score."""
    console.print(_header(report), soft_wrap=True)
    console.print()
    for utterance in sorted_utterances(report):
        line = Text(format_span(utterance["start_s"], utterance["end_s"]) + " ", style="dim")
        role = str(utterance.get("role"))
        line.append(f"{role_label(role)}: ", style=_ROLE_STYLES.get(role, "bold"))
        line.append(str(utterance.get("text", "")))
        console.print(line, soft_wrap=True)
    console.print()
    console.print(_checks_table(report))
    findings = list(report.get("findings") or ())
    if findings:
        console.print(_findings_table(findings))
    score = f"{float(report.get('score') or 0):.1f}"
    explanation = score_explanation(report)
    line = Text.assemble(("Score 得分: ", "bold"), (score, "bold"))
    if explanation is not None:
        line.append(f"  ({explanation.get('summary', '')})")
        console.print(_score_table(explanation))
        for cap in explanation_caps(explanation):
            console.print(cap, soft_wrap=True)
    console.print(line, soft_wrap=True)


def score_explanation(report: ReportDict) -> Mapping[str, Any] | None:
    """The report's ``score_explanation`` object; None for reports stored before it existed."""
    value = report.get("score_explanation")
    return value if isinstance(value, Mapping) else None


def explanation_rows(explanation: Mapping[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """(check label, weight, max points, earned, points) per check, as the text and HTML show them."""
    rows = []
    for line in explanation.get("checks") or ():
        name = str(line.get("name"))
        weight = f"{float(line.get('weight') or 0):g}"
        if line.get("counted"):
            rows.append((check_label(name), weight, f"{float(line['max_points']):.1f}",
                         f"{100 * float(line['earned']):.0f}%", f"{float(line['points']):.1f}"))
        else:
            why = "weight 0" if not float(line.get("weight") or 0) else "not applicable"
            rows.append((check_label(name), weight, "—", why, "—"))
    return rows


def explanation_caps(explanation: Mapping[str, Any]) -> list[str]:
    """One line per cap triggered: ``cap 60 applied: forbidden phrase 你错了 at 00:40``."""
    return [
        f"cap {float(cap['limit']):g} {'applied' if cap.get('binding') else 'not reached'}: {cap.get('reason', '')}"
        for cap in explanation.get("caps") or ()
    ]


def _score_table(explanation: Mapping[str, Any]) -> Table:
    base = float(explanation.get("counted_weight") or 0)
    table = Table(title=f"Score 得分明细 — weights renormalised over the {base:g} of applicable checks",
                  title_justify="left")
    for column in ("check", "weight", "max points", "earned", "points"):
        table.add_column(column, justify="left" if column == "check" else "right")
    for row in explanation_rows(explanation):
        table.add_row(*row)
    table.add_row("before caps 封顶前", "", "", "", f"{float(explanation.get('uncapped') or 0):.1f}")
    return table


def _header(report: ReportDict) -> Text:
    header = Text(f"Call {report.get('call_id')}", style="bold")
    fields = [
        ("direction", report.get("direction")),
        ("agent", report.get("agent_id")),
        ("duration", f"{float(report.get('duration_s') or 0):.1f} s"),
        ("score", f"{float(report.get('score', 0)):.1f}"),
    ]
    header.append("  " + "  ".join(f"{k}: {v if v is not None else '—'}" for k, v in fields))
    if report.get("incomplete"):
        header.append("  INCOMPLETE", style="bold yellow")
    return header


def _checks_table(report: ReportDict) -> Table:
    table = Table(title="Checks 检查项", title_justify="left", show_lines=False)
    table.add_column("", width=1)
    table.add_column("check")
    table.add_column("details", overflow="fold")
    for name, check in (report.get("checks") or {}).items():
        passed = check.get("passed")
        table.add_row(
            Text(STATUS_MARKS.get(passed, "?"), style=_STATUS_STYLES.get(passed, "")),
            check_label(name),
            describe_check(name, check),
        )
    return table


def _findings_table(findings: list[Mapping[str, Any]]) -> Table:
    table = Table(title="Findings 发现", title_justify="left", show_lines=True)
    table.add_column("severity")
    table.add_column("rule")
    table.add_column("message", overflow="fold")
    table.add_column("evidence", overflow="fold")
    for finding in findings:
        severity = str(finding.get("severity"))
        table.add_row(
            Text(severity, style=_SEVERITY_STYLES.get(severity, "")),
            finding_label(str(finding.get("rule_id", ""))),
            str(finding.get("message", "")),
            "\n".join(format_evidence(e) for e in finding.get("evidence") or ()),
        )
    return table


def format_evidence(evidence: Mapping[str, Any]) -> str:
    """``[mm:ss.s–mm:ss.s] 座席 “text” (≈0.92)`` for one evidence item."""
    parts = [format_span(evidence["start_s"], evidence["end_s"])]
    if evidence.get("role"):
        parts.append(role_label(evidence["role"]))
    if evidence.get("text"):
        parts.append(f"“{evidence['text']}”")
    if evidence.get("similarity") is not None:
        parts.append(f"(similarity {float(evidence['similarity']):.2f})")
    return " ".join(parts)


__all__ = [
    "check_label",
    "describe_check",
    "finding_label",
    "explanation_caps",
    "explanation_rows",
    "format_evidence",
    "format_transcript_text",
    "render_audit_text",
    "role_label",
    "score_explanation",
    "sorted_utterances",
]
