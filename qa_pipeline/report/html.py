"""One self-contained HTML page for a call audit: player, timeline, checks, findings, transcript.

The page needs nothing from the network: CSS and JS are inlined from ``templates/``, the timeline is
inline SVG, and the audio is embedded as a ``data:`` URI when it is small enough (else linked by a
relative path). Every text from the report is escaped. Clicking an utterance, a timeline bar or a
finding seeks the audio to it. Works from the report dict (the ``qa audit`` JSON contract).
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from importlib import resources
from pathlib import Path
from typing import Any, Mapping, Sequence

from qa_pipeline.report.media import MAX_EMBED_BYTES, audio_source
from qa_pipeline.report.highlight import locate_phrase, mark_phrase
from qa_pipeline.report.score_html import score_explanation_html
from qa_pipeline.text.clock import format_span, format_time
from qa_pipeline.errors import AudioFormatError
from qa_pipeline.report.audio import redacted_audio_source
from qa_pipeline.report.writers import (
    STATUS_MARKS,
    check_label,
    describe_check,
    finding_label,
    role_label,
    sorted_utterances,
)

_STATUS_CLASSES = {True: "pass", False: "fail", None: "na"}
_SEVERITY_LABELS = {"critical": "严重", "major": "重要", "minor": "一般", "info": "提示"}
_SEVERITY_ORDER = {"critical": 0, "major": 1, "minor": 2, "info": 3}


@dataclass(frozen=True)
class Marked:
    """A finding as the page needs it: where it points, and which utterance it falls in."""

    index: int
    rule_id: str
    severity: str
    message: str
    start_s: float
    end_s: float
    utterance_index: int | None
    evidence: tuple[Mapping[str, Any], ...]
    phrases: tuple[str, ...] = ()  # per evidence: the matched words ("" when it quotes no phrase)

    @property
    def label(self) -> str:
        return finding_label(self.rule_id)


def render_html(
    report: Mapping[str, Any],
    audio_path: Path | None = None,
    *,
    html_dir: Path | None = None,
    max_embed_bytes: int = MAX_EMBED_BYTES,
) -> str:
    """The whole page as a string.

    ``audio_path`` is embedded when at most ``max_embed_bytes`` long, else linked relative to
    ``html_dir`` (the folder the page will be saved in; the working directory if None).
    """
    if max_embed_bytes < 0:
        raise ValueError(f"max_embed_bytes must be >= 0, got {max_embed_bytes}")
    utterances = sorted_utterances(report)
    marked = _mark_findings(report.get("findings") or (), utterances, _matched_words(report))
    duration_s = _duration_s(report, utterances)
    title = f"质检报告 {report.get('call_id') or ''}"
    body = "\n".join([
        _header_html(report, marked),
        _player_html(report, audio_path, html_dir, max_embed_bytes),
        _timeline_svg(report, utterances, marked, duration_s),
        '<main class="grid">',
        '<div class="side">',
        _checks_html(report),
        score_explanation_html(report),
        _findings_html(marked, {_bare(str(u.get("text", ""))) for u in utterances}),
        "</div>",
        _transcript_html(utterances, marked),
        "</main>",
    ])
    return (
        "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>{escape(title)}</title>\n<style>\n{_template('report.css')}</style>\n</head>\n"
        f"<body>\n{body}\n<script>\n{_template('report.js')}</script>\n</body>\n</html>\n"
    )


def _template(name: str) -> str:
    return resources.files("qa_pipeline.report").joinpath("templates", name).read_text(encoding="utf-8")


def _duration_s(report: Mapping[str, Any], utterances: Sequence[Mapping[str, Any]]) -> float:
    last_end_s = max((float(u["end_s"]) for u in utterances), default=0.0)
    return max(float(report.get("duration_s") or 0.0), last_end_s, 1.0)


def _matched_words(report: Mapping[str, Any]) -> dict[tuple[float, float], str]:
    """The words each phrase hit matched in the transcript, keyed by the hit's time span."""
    words = {}
    for check in (report.get("checks") or {}).values():
        hits = check.get("hits") if isinstance(check, Mapping) else None
        for hit in hits or ():
            if isinstance(hit, Mapping) and hit.get("text") and "start_s" in hit and "end_s" in hit:
                words[_span_key(hit)] = str(hit["text"])
    return words


def _span_key(item: Mapping[str, Any]) -> tuple[float, float]:
    return round(float(item["start_s"]), 2), round(float(item["end_s"]), 2)


def _mark_findings(
    findings: Sequence[Mapping[str, Any]],
    utterances: Sequence[Mapping[str, Any]],
    matched_words: Mapping[tuple[float, float], str],
) -> list[Marked]:
    """The findings in the order the page lists them: by time (untimed first), then severity."""
    def order(finding: Mapping[str, Any]) -> tuple[float, int]:
        times = [float(e["start_s"]) for e in finding.get("evidence") or ()]
        return (min(times) if times else -1.0, _SEVERITY_ORDER.get(str(finding.get("severity")), 9))

    marked = []
    for index, finding in enumerate(sorted(findings, key=order)):
        evidence = tuple(finding.get("evidence") or ())
        start_s = min((float(e["start_s"]) for e in evidence), default=None)
        end_s = max((float(e["end_s"]) for e in evidence), default=None)
        first = evidence[0] if evidence else {}
        marked.append(Marked(
            index=index,
            rule_id=str(finding.get("rule_id", "")),
            severity=str(finding.get("severity", "info")),
            message=str(finding.get("message", "")),
            start_s=start_s if start_s is not None else -1.0,
            end_s=end_s if end_s is not None else -1.0,
            utterance_index=_utterance_at(first, utterances) if evidence else None,
            evidence=evidence,
            phrases=tuple(matched_words.get(_span_key(e)) or str(e.get("phrase") or "") for e in evidence),
        ))
    return marked


def _utterance_at(evidence: Mapping[str, Any], utterances: Sequence[Mapping[str, Any]]) -> int | None:
    """The utterance (same role when given) overlapping the evidence most, if any does."""
    start_s, end_s = float(evidence["start_s"]), float(evidence["end_s"])
    best, best_overlap_s = None, -1.0
    for index, utterance in enumerate(utterances):
        if evidence.get("role") and utterance.get("role") != evidence["role"]:
            continue
        overlap_s = min(end_s, float(utterance["end_s"])) - max(start_s, float(utterance["start_s"]))
        if overlap_s > best_overlap_s and overlap_s >= -0.05:
            best, best_overlap_s = index, overlap_s
    return best


def _score_class(score: float) -> str:
    return "good" if score >= 90 else "fair" if score >= 70 else "poor"


def _header_html(report: Mapping[str, Any], marked: Sequence[Marked]) -> str:
    score = float(report.get("score") or 0.0)
    checks = report.get("checks") or {}
    failed = sum(1 for c in checks.values() if c.get("passed") is False)
    applied = sum(1 for c in checks.values() if c.get("passed") is not None)
    facts = [
        ("方向", {"inbound": "呼入 inbound", "outbound": "呼出 outbound"}.get(
            str(report.get("direction")), str(report.get("direction") or "—"))),
        ("工号", report.get("agent_id") or "—"),
        ("时长", f"{format_time(float(report.get('duration_s') or 0))}"),
        ("不合格", f"{failed} / {applied} 项"),
        ("发现", f"{len(marked)} 条"),
    ]
    if report.get("model_id"):
        facts.append(("模型", report["model_id"]))
    if report.get("policy_id"):
        facts.append(("策略", report["policy_id"]))
    facts_html = "".join(f"<div><dt>{escape(k)}</dt><dd>{escape(str(v))}</dd></div>" for k, v in facts)
    warning = '<p class="warning">⚠ 报告不完整 (incomplete)</p>' if report.get("incomplete") else ""
    return (
        f'<header class="top"><div class="title"><h1>通话质检报告</h1>'
        f'<p class="call-id">{escape(str(report.get("call_id") or ""))}</p>{warning}</div>'
        f'<dl class="facts">{facts_html}</dl>'
        f'<div class="score {_score_class(score)}" title="score"><span>{score:.1f}</span><small>得分</small></div>'
        "</header>"
    )


def _player_html(report: Mapping[str, Any], audio_path: Path | None, html_dir: Path | None,
                 max_embed_bytes: int) -> str:
    if audio_path is None:
        return '<section class="player"><p class="muted">未附音频 (no audio given)</p></section>'
    # Spoken numbers the text masks are a tone in the audio too (issue 14); never the original instead.
    try:
        redacted = redacted_audio_source(report, Path(audio_path), html_dir, max_embed_bytes)
    except AudioFormatError:
        return '<section class="player"><p class="muted">未附音频 (the audio could not be redacted)</p></section>'
    source = redacted if redacted is not None else audio_source(Path(audio_path), html_dir, max_embed_bytes)
    return (
        '<section class="player"><audio id="audio" controls preload="metadata" '
        f'src="{escape(source, quote=True)}"></audio>'
        '<span class="hint">点击语句、时间轴或发现即可跳转播放 · 空格键 播放/暂停</span></section>'
    )


def _timeline_svg(
    report: Mapping[str, Any],
    utterances: Sequence[Mapping[str, Any]],
    marked: Sequence[Marked],
    duration_s: float,
) -> str:
    width, left, right = 1000.0, 64.0, 12.0
    scale = (width - left - right) / duration_s

    def x(t: float) -> float:
        return round(left + max(0.0, min(t, duration_s)) * scale, 2)

    rows = {"agent": 26.0, "customer": 62.0}
    parts = [_timeline_axis(duration_s, x), _timeline_holds(report, x)]
    for role, y in rows.items():
        parts.append(f'<text class="row-label" x="4" y="{y + 15}">{escape(role_label(role))}</text>')
        parts.append(f'<rect class="lane" x="{left}" y="{y}" width="{width - left - right}" height="22"/>')
    for index, u in enumerate(utterances):
        y = rows.get(str(u.get("role")), rows["customer"])
        start_s, end_s = float(u["start_s"]), float(u["end_s"])
        parts.append(
            f'<rect class="utt-bar {escape(str(u.get("role")), quote=True)}" data-utterance="u{index}" '
            f'data-start="{start_s:.3f}" x="{x(start_s)}" y="{y + 2}" '
            f'width="{max(x(end_s) - x(start_s), 1.5):.2f}" height="18" rx="3">'
            f'<title>{escape(format_span(start_s, end_s) + " " + str(u.get("text", "")))}</title></rect>'
        )
    for m in marked:
        if m.start_s < 0:
            continue
        cx = x(m.start_s)
        parts.append(
            f'<g class="finding-mark sev-{escape(m.severity, quote=True)}" data-finding="f{m.index}" '
            f'data-start="{m.start_s:.3f}"><line x1="{cx}" x2="{cx}" y1="14" y2="86"/>'
            f'<path d="M{cx - 6} 4 L{cx + 6} 4 L{cx} 14 Z"/>'
            f"<title>{escape(format_time(m.start_s) + ' ' + m.label + ' · ' + m.message)}</title></g>"
        )
    parts.append(_timeline_hangup(report, duration_s, x, rows))
    parts.append(f'<line id="playhead" x1="{left}" x2="{left}" y1="18" y2="90"/>')
    return (
        f'<section class="timeline"><svg viewBox="0 0 {width:.0f} 112" role="img" '
        f'aria-label="speech timeline" data-left="{left}" data-scale="{scale:.6f}">'
        + "".join(parts) + "</svg></section>"
    )


def _timeline_axis(duration_s: float, x: Any) -> str:
    step_s = next((s for s in (5, 10, 15, 30, 60, 120, 300, 600) if duration_s / s <= 12), 1200)
    ticks = []
    t = 0
    while t <= duration_s + 1e-9:
        ticks.append(
            f'<line class="tick" x1="{x(t)}" x2="{x(t)}" y1="88" y2="92"/>'
            f'<text class="tick-label" x="{x(t)}" y="106">{format_time(t)[:5]}</text>'
        )
        t += step_s
    return "".join(ticks)


def _timeline_holds(report: Mapping[str, Any], x: Any) -> str:
    holds = ((report.get("checks") or {}).get("hold") or {}).get("holds") or []
    parts = []
    for hold in holds:
        start_s, end_s = float(hold["start_s"]), float(hold["end_s"])
        parts.append(
            f'<g class="hold" data-start="{start_s:.3f}"><rect x="{x(start_s)}" y="22" '
            f'width="{max(x(end_s) - x(start_s), 1.5):.2f}" height="66"/>'
            f'<text x="{x(start_s) + 4}" y="19">保持 {end_s - start_s:.0f} s</text>'
            f"<title>{escape(format_span(start_s, end_s))} 保持等待 hold</title></g>"
        )
    return "".join(parts)


def _timeline_hangup(report: Mapping[str, Any], duration_s: float, x: Any, rows: Mapping[str, float]) -> str:
    hangup = (report.get("checks") or {}).get("hangup") or {}
    party = hangup.get("hangup_by")
    if party not in rows:
        return ""
    method = str(hangup.get("method"))
    start_s = hangup.get("tone_start_s")
    if start_s is None:
        start_s = max((float(u.get("end_s", 0)) for u in report.get("utterances") or ()), default=duration_s)
    y = rows[party]
    label = f"{role_label(party)}挂机 ({method})"
    return (
        f'<g class="hangup"><rect x="{x(float(start_s))}" y="{y + 2}" '
        f'width="{max(x(duration_s) - x(float(start_s)), 3):.2f}" height="18"/>'
        f"<title>{escape(label)}</title></g>"
    )


def _checks_html(report: Mapping[str, Any]) -> str:
    items = []
    for name, check in (report.get("checks") or {}).items():
        passed = check.get("passed")
        status = _STATUS_CLASSES.get(passed, "na")
        items.append(
            f'<li class="check {status}"><span class="mark">{STATUS_MARKS.get(passed, "?")}</span>'
            f'<span class="name">{escape(check_label(name))}</span>'
            f'<span class="detail">{escape(describe_check(name, check))}</span></li>'
        )
    return '<section class="card"><h2>检查项 Checks</h2><ul class="checks">' + "".join(items) + "</ul></section>"


def _findings_html(marked: Sequence[Marked], spoken: set[str]) -> str:
    if not marked:
        return '<section class="card"><h2>发现 Findings</h2><p class="muted">没有发现问题</p></section>'
    rows = []
    for m in marked:
        evidence = "".join(_evidence_html(e, p, spoken) for e, p in zip(m.evidence, m.phrases)) or '<span class="muted">—</span>'
        target = f' data-utterance="u{m.utterance_index}"' if m.utterance_index is not None else ""
        seek = f' data-start="{m.start_s:.3f}"' if m.start_s >= 0 else ""
        time_cell = (f'<a href="#u{m.utterance_index if m.utterance_index is not None else ""}">'
                     f"{format_time(m.start_s)}</a>" if m.start_s >= 0 else "—")
        rows.append(
            f'<tr id="f{m.index}" class="finding sev-{escape(m.severity, quote=True)}"{seek}{target}>'
            f'<td class="when">{time_cell}</td>'
            f'<td><span class="sev">{escape(_SEVERITY_LABELS.get(m.severity, m.severity))}</span></td>'
            f'<td><div class="msg">{escape(m.label)}</div>'
            f'<div class="msg-en" lang="en">{escape(m.message)}</div>{evidence}</td></tr>'
        )
    return (
        '<section class="card"><h2>发现 Findings</h2><table class="findings"><tbody>'
        + "".join(rows) + "</tbody></table></section>"
    )


def _bare(text: str) -> str:
    return text.strip("，。？！、,.?! ")


def _evidence_html(evidence: Mapping[str, Any], phrase: str, spoken: set[str]) -> str:
    """The span, who spoke and the quoted words; a rule's note (a hold, a gap) is not quoted as speech."""
    text = str(evidence.get("text") or "")
    span = escape(format_span(evidence["start_s"], evidence["end_s"]))
    if _bare(text) not in spoken:
        return f'<div class="evidence">{span} <span class="muted">{escape(text)}</span></div>'
    similarity = evidence.get("similarity")
    sim = f' <span class="sim">相似度 {float(similarity):.2f}</span>' if similarity is not None else ""
    who = f"{role_label(evidence['role'])} " if evidence.get("role") else ""
    return f'<div class="evidence">{span} {escape(who)}“{mark_phrase(text, phrase)}”{sim}</div>'


def _transcript_html(utterances: Sequence[Mapping[str, Any]], marked: Sequence[Marked]) -> str:
    by_utterance: dict[int, list[Marked]] = {}
    for m in marked:
        if m.utterance_index is not None:
            by_utterance.setdefault(m.utterance_index, []).append(m)
    items = []
    for index, u in enumerate(utterances):
        hits = by_utterance.get(index, [])
        role = escape(str(u.get("role")), quote=True)
        badges = "".join(
            f'<a class="badge sev-{escape(m.severity, quote=True)}" href="#f{m.index}">'
            f"{escape(m.label)}</a>" for m in hits
        )
        items.append(
            f'<li id="u{index}" class="utt {role}{" violation" if hits else ""}" '
            f'data-start="{float(u["start_s"]):.3f}" data-end="{float(u["end_s"]):.3f}">'
            f'<div class="meta"><span class="who">{escape(role_label(u.get("role")))}</span>'
            f'<span class="when">{escape(format_span(u["start_s"], u["end_s"]))}</span>{badges}</div>'
            f'<div class="bubble">{highlight(str(u.get("text", "")), hits)}</div></li>'
        )
    return (
        '<section class="card transcript"><h2>转写 Transcript'
        '<label class="filter"><input type="checkbox" id="only-violations"> 只看违规</label></h2>'
        '<ol class="utterances">' + "".join(items) + "</ol></section>"
    )


def highlight(text: str, findings: Sequence[Marked]) -> str:
    """Escaped ``text`` with the matched words of each finding's evidence wrapped in ``<mark>``.

    Only a phrase is marked, never the whole utterance: evidence that quotes no phrase (a
    missing greeting, a speaking rate) leaves the text unmarked (its bubble is outlined instead).
    """
    ranges = []
    for m in findings:
        for phrase in m.phrases:
            found = locate_phrase(text, phrase)
            if found is not None:
                ranges.append((found[0], found[1], m.severity))
    out, cursor = [], 0
    for start, end, severity in sorted(ranges):
        if start < cursor:
            continue  # overlapping marks: keep the first
        out.append(escape(text[cursor:start]))
        out.append(f'<mark class="sev-{escape(severity, quote=True)}">{escape(text[start:end])}</mark>')
        cursor = end
    out.append(escape(text[cursor:]))
    return "".join(out)


__all__ = ["Marked", "highlight", "render_html"]
