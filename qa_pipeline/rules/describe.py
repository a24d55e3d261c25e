"""One-line descriptions of check details for reports; each check names its describer in its spec.

They read the JSON-shaped details (``CheckResult.details`` or a stored report), never a live object,
so a stored report from an older run is described the same way.
"""

from __future__ import annotations

from typing import Any, Mapping

from qa_pipeline.text.clock import format_time

Details = Mapping[str, Any]


def yes_no(value: Any) -> str:
    return {True: "是", False: "否", None: "—"}.get(value, str(value))


def generic(check: Details) -> str:
    """Every detail but ``passed``: lists by their length, None values left out."""
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


def greeting(check: Details) -> str:
    missing = check.get("missing") or []
    text = f"present {yes_no(check.get('present'))}, compliant {yes_no(check.get('compliant'))}"
    return text + (f"; missing: {', '.join(map(str, missing))}" if missing else "")


def closing(check: Details) -> str:
    return f"present {yes_no(check.get('present'))}"


def hits(check: Details) -> str:
    found = check.get("hits") or []
    if not found:
        return "no hits"
    return "; ".join(f"{h.get('phrase', '?')} @{format_time(h['start_s'])}" for h in found)


def complaint(check: Details) -> str:
    return f"complaint {yes_no(check.get('complaint'))}, comforted {yes_no(check.get('comforted'))}"


def identity(check: Details) -> str:
    return f"required {yes_no(check.get('required'))}, verified {yes_no(check.get('verified'))}"


def rate(check: Details) -> str:
    if check.get("agent_cpm") is None:
        return "no agent speech"
    return f"{float(check['agent_cpm']):.1f} chars/min ({check.get('verdict')})"


def hangup(check: Details) -> str:
    if check.get("decidable") is False:
        return "not decidable on mono: a tone in a mixed channel cannot name the party, no metadata"
    return f"by {check.get('hangup_by')} (from {check.get('method')})"


def speaker_roles(check: Details) -> str:
    if not check.get("separated"):
        if check.get("channels", 2) < 2:
            return "单声道未分离：无语音或一路混合角色 (one channel, not separated: no speech, or one mixed role)"
        return "两路声道，角色由声道决定 (roles from the channels)"
    return (f"单声道角色分离: {check.get('review', 0)}/{check.get('utterances', 0)} 句待复核, "
            f"最低置信 {float(check.get('min_confidence') or 0):.0%}")


def duration(check: Details) -> str:
    return f"{float(check['duration_s']):.1f} s of {float(check['limit_s']):g} s allowed"


def spans(key: str, empty: str):
    """A describer listing the ``key`` spans of a check with their lengths (holds, gaps)."""

    def describe(check: Details) -> str:
        items = check.get(key) or []
        if not items:
            return empty
        return "; ".join(
            f"{format_time(h['start_s'])}–{format_time(h['end_s'])} ({float(h['end_s']) - float(h['start_s']):.0f} s)"
            for h in items
        )

    return describe


def answer_speed(check: Details) -> str:
    if check.get("rings") is None:
        return "未提供振铃数据 (no ring count in the metadata)"
    return f"{check['rings']} rings (at most {check.get('max_rings')})"


def overtalk(check: Details) -> str:
    events = check.get("events") or []
    return f"{len(events)} times" if events else "none"


def holds(check: Details) -> str:
    """Each hold with its length and how it was handled (asked before, thanked after, negotiated);
    a report stored before holds carried that is described by the lengths alone."""
    items = check.get("holds") or []
    if not items:
        return "no holds"
    parts = []
    for h in items:
        length = f"{float(h['end_s']) - float(h['start_s']):.0f} s"
        if "requested" in h:
            notes = [
                "请稍等" if h.get("requested") else "no request",
                {True: "thanked", False: "no thanks"}.get(h.get("thanked"), "thanks —"),
            ]
            if h.get("negotiated"):
                notes.append(f"negotiated: {h['negotiated']}")
            length += "; " + ", ".join(notes)
        parts.append(f"{format_time(h['start_s'])}–{format_time(h['end_s'])} ({length})")
    return "; ".join(parts)


def first_contact(check: Details) -> str:
    """Whether the agent had to take responsibility, and every follow-up promised (回访)."""
    promised = check.get("commitments") or []
    text = f"required {yes_no(check.get('required'))}"
    if promised:
        times = ", ".join(format_time(c["start_s"]) + (" (recommended)" if c.get("recommended") else "") for c in promised)
        text += f"; follow-up promised at {times}"
    return text


def courtesy(check: Details) -> str:
    counts = check.get("counts") or {}
    used = ", ".join(f"{kind} {n}" for kind, n in counts.items())
    return f"{check.get('kinds_used')} of 5 kinds (at least {check.get('min_kinds')}): {used}"


def honorific(check: Details) -> str:
    share = check.get("nin_share")
    shown = "—" if share is None else f"{float(share):.0%}"
    return f"您 {check.get('nin')} · 你 {check.get('ni')}: 您 share {shown} (at least {float(check.get('min_nin_share') or 0):.0%})"
