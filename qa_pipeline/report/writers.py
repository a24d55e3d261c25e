"""Report writers keyed by format: plain/rich text, JSON and a self-contained HTML page.

Every writer works from the report *dict* (the ``qa audit`` JSON contract, ``CallReport.to_dict()``),
so a report read back from the results store renders the same as a fresh one. Customer numbers are
masked by default (``mask_pii=True``); masking is idempotent, so already-masked reports are safe.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Mapping, TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from qa_pipeline.text.pii import mask_report_dict
from qa_pipeline.types import Role, Transcript

ReportDict = Mapping[str, Any]

CHECK_LABELS: dict[str, str] = {
    "greeting": "开场白 greeting",
    "closing": "结束语 closing",
    "forbidden_phrases": "服务禁语 forbidden phrases",
    "unauthorized_promise": "违规承诺 unauthorized promise",
    "complaint_handling": "投诉安抚 complaint handling",
    "identity_verification": "身份核实 identity verification",
    "speaking_rate": "语速 speaking rate",
    "hangup": "挂机 hang-up",
    "call_duration": "通话时长 call duration",
    "hold": "等待 hold",
    "overtalk": "抢话 overtalk",
    "dead_air": "静默 dead air",
    "answer_speed": "接听速度 answer speed",
}
#: What a finding means, in Chinese, by rule id (the rule's own message is English, shown beside it).
FINDING_LABELS: dict[str, str] = {
    "greeting.missing": "开场白缺失或不规范",
    "closing.missing": "缺少结束语",
    "forbidden_phrases.hit": "使用服务禁语",
    "unauthorized_promise.hit": "违规承诺",
    "complaint_handling.no_comfort": "客户投诉未安抚",
    "complaint_handling.feedback_not_thanked": "客户建议或表扬未致谢",
    "identity_verification.missing": "未核实客户身份",
    "speaking_rate.out_of_band": "语速不当",
    "call_duration.too_long": "通话超时",
    "hold.too_long": "等待超时",
    "overtalk.agent": "座席抢话",
    "dead_air.gap": "长时间静默",
    "answer_speed.slow": "接听过慢",
    "hangup.agent_first": "座席先挂机",
    "hangup.unknown": "无法判断挂机方",
}
STATUS_MARKS = {True: "✔", False: "✘", None: "–"}
_STATUS_STYLES = {True: "green", False: "bold red", None: "dim"}
_ROLE_STYLES = {"agent": "cyan", "customer": "magenta"}
_SEVERITY_STYLES = {"critical": "bold red", "major": "red", "minor": "yellow", "info": "dim"}


def check_label(name: str) -> str:
    """``开场白 greeting`` for a check name; an unknown name without its underscores."""
    return CHECK_LABELS.get(name) or name.replace("_", " ")


def finding_label(rule_id: str) -> str:
    """The Chinese label of a finding's rule id (its check's label for an unknown suffix)."""
    if rule_id in FINDING_LABELS:
        return FINDING_LABELS[rule_id]
    return check_label(rule_id.split(".", 1)[0]).split(" ", 1)[0]


def format_time(seconds: float) -> str:
    """``mm:ss.s``, tenths rounded half up (minutes may exceed 59)."""
    tenths = int(float(seconds) * 10 + 0.5 + 1e-6)
    minutes, tenths_in_minute = divmod(tenths, 600)
    return f"{minutes:02d}:{tenths_in_minute // 10:02d}.{tenths_in_minute % 10}"


def format_span(start_s: float, end_s: float) -> str:
    return f"[{format_time(start_s)}–{format_time(end_s)}]"


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
        f"{format_span(u['start_s'], u['end_s'])} {role_label(u.get('role'))}: {u.get('text', '')}"
        for u in sorted_utterances(data)
    ]
    return "\n".join(lines) + ("\n" if lines else "")


def describe_check(name: str, check: Mapping[str, Any]) -> str:
    """A short human summary of a check's detail fields (everything except ``passed``)."""
    describe = _DESCRIBERS.get(name)
    if describe is not None:
        try:
            return describe(check)
        except (KeyError, TypeError, ValueError):
            pass  # an unexpected shape falls back to the generic summary below
    return _describe_generic(check)


def _describe_generic(check: Mapping[str, Any]) -> str:
    parts = []
    for key, value in check.items():
        if key == "passed" or value is None:
            continue
        if isinstance(value, list):
            parts.append(f"{key}: {len(value)}")
        elif isinstance(value, float):
            parts.append(f"{key}={value:g}")
        else:
            parts.append(f"{key}={value}")
    return ", ".join(parts) or "—"


def _yes_no(value: Any) -> str:
    return {True: "是", False: "否", None: "—"}.get(value, str(value))


def _describe_greeting(check: Mapping[str, Any]) -> str:
    missing = check.get("missing") or []
    text = f"present {_yes_no(check.get('present'))}, compliant {_yes_no(check.get('compliant'))}"
    return text + (f"; missing: {', '.join(map(str, missing))}" if missing else "")


def _describe_hits(check: Mapping[str, Any]) -> str:
    hits = check.get("hits") or []
    if not hits:
        return "no hits"
    return "; ".join(f"{h.get('phrase', '?')} @{format_time(h['start_s'])}" for h in hits)


def _describe_complaint(check: Mapping[str, Any]) -> str:
    return f"complaint {_yes_no(check.get('complaint'))}, comforted {_yes_no(check.get('comforted'))}"


def _describe_identity(check: Mapping[str, Any]) -> str:
    return f"required {_yes_no(check.get('required'))}, verified {_yes_no(check.get('verified'))}"


def _describe_rate(check: Mapping[str, Any]) -> str:
    return f"{float(check['agent_cpm']):.1f} chars/min ({check.get('verdict')})"


def _describe_hangup(check: Mapping[str, Any]) -> str:
    return f"by {check.get('hangup_by')} (from {check.get('method')})"


def _describe_duration(check: Mapping[str, Any]) -> str:
    return f"{float(check['duration_s']):.1f} s of {float(check['limit_s']):g} s allowed"


def _describe_hold(check: Mapping[str, Any]) -> str:
    holds = check.get("holds") or []
    if not holds:
        return "no holds"
    return "; ".join(
        f"{format_time(h['start_s'])}–{format_time(h['end_s'])} ({float(h['end_s']) - float(h['start_s']):.0f} s)"
        for h in holds
    )


def _describe_answer_speed(check: Mapping[str, Any]) -> str:
    if check.get("rings") is None:
        return "未提供振铃数据 (no ring count in the metadata)"
    return f"{check['rings']} rings (at most {check.get('max_rings')})"


def _describe_spans(key: str, none: str) -> Callable[[Mapping[str, Any]], str]:
    def describe(check: Mapping[str, Any]) -> str:
        spans = check.get(key) or []
        return "; ".join(format_span(s["start_s"], s["end_s"]) for s in spans) or none

    return describe


_DESCRIBERS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "greeting": _describe_greeting,
    "closing": lambda c: f"present {_yes_no(c.get('present'))}",
    "forbidden_phrases": _describe_hits,
    "unauthorized_promise": _describe_hits,
    "complaint_handling": _describe_complaint,
    "identity_verification": _describe_identity,
    "speaking_rate": _describe_rate,
    "hangup": _describe_hangup,
    "call_duration": _describe_duration,
    "hold": _describe_hold,
    "answer_speed": _describe_answer_speed,
    "overtalk": _describe_spans("events", "none"),
    "dead_air": _describe_spans("gaps", "none"),
}


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
    console.print(Text.assemble(("Score 得分: ", "bold"), (score, "bold")), soft_wrap=True)


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


def _write_text(report: ReportDict, out: TextIO, audio_path: Path | None) -> None:
    render_audit_text(report, Console(file=out, highlight=False))


def _write_json(report: ReportDict, out: TextIO, audio_path: Path | None) -> None:
    json.dump(report, out, ensure_ascii=False, indent=2)
    out.write("\n")


def _write_html(report: ReportDict, out: TextIO, audio_path: Path | None) -> None:
    from qa_pipeline.report.html import render_html

    name = getattr(out, "name", None)
    html_dir = Path(name).resolve().parent if isinstance(name, str) and not name.startswith("<") else None
    out.write(render_html(report, audio_path=audio_path, html_dir=html_dir))


WRITERS: dict[str, Callable[[ReportDict, TextIO, Path | None], None]] = {
    "text": _write_text,
    "json": _write_json,
    "html": _write_html,
}


def write_report(
    report: ReportDict,
    fmt: str,
    out: TextIO,
    audio_path: Path | None = None,
    *,
    mask_pii: bool = True,
) -> None:
    """Write one call's report dict to ``out`` in ``fmt`` (one of ``WRITERS``).

    ``audio_path`` lets the HTML page play the call; the text writer colours only on a terminal.
    """
    writer = WRITERS.get(fmt)
    if writer is None:
        raise ValueError(f"unknown report format {fmt!r}; choose one of {', '.join(WRITERS)}")
    writer(mask_report_dict(report) if mask_pii else report, out, audio_path)


__all__ = [
    "CHECK_LABELS",
    "FINDING_LABELS",
    "WRITERS",
    "check_label",
    "describe_check",
    "finding_label",
    "format_evidence",
    "format_span",
    "format_time",
    "format_transcript_text",
    "render_audit_text",
    "role_label",
    "sorted_utterances",
    "write_report",
]
