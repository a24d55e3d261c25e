"""Timing and acoustics: speaking rate, call length, holds, overtalk, dead air, answer speed."""

from __future__ import annotations

import math

from qa_pipeline.policy.policy import Policy
from qa_pipeline.rules import describe
from qa_pipeline.rules.holds import Hold, find_holds
from qa_pipeline.rules.base import (
    CheckSpec,
    LiveWhen,
    CallContext,
    agent_utterances,
    call_end_s,
    music_spans,
    register,
    speech_spans,
    utterance_evidence,
)
from qa_pipeline.text.normalize import is_cjk, match_form
from qa_pipeline.types import CheckResult, Direction, Evidence, Finding, Role, Severity, Span


def spoken_chars(text: str) -> int:
    """Characters as spoken: Chinese characters and digits of the match form (numbers spelt out)."""
    return sum(1 for c in match_form(text) if is_cjk(c) or c.isdigit())


@register
class SpeakingRateCheck:
    spec = CheckSpec(
        "speaking_rate", "语速", "speaking rate", LiveWhen.CLOCK, 5.0,
        ("thresholds.rate_min_cpm", "thresholds.rate_max_cpm", "thresholds.rate_target_cpm"), describe.rate,
        findings={'out_of_band': '语速不当'},
    )

    def run(self, context: CallContext, policy: Policy) -> CheckResult:
        utterances = [u for u in agent_utterances(context.transcript) if u.duration_s > 0]
        total_s = sum(u.duration_s for u in utterances)
        if total_s <= 0:
            return CheckResult(self.name, None, {"agent_cpm": None, "verdict": None, "utterances": []})
        chars = sum(spoken_chars(u.text) for u in utterances)
        cpm = chars / (total_s / 60.0)
        limits = policy.thresholds
        verdict = "too_fast" if cpm > limits.rate_max_cpm else "too_slow" if cpm < limits.rate_min_cpm else "ok"
        per_utterance = [
            {
                "start_s": round(u.start_s, 3),
                "end_s": round(u.end_s, 3),
                "cpm": round(spoken_chars(u.text) / (u.duration_s / 60.0), 1),
            }
            for u in utterances
        ]
        details = {"agent_cpm": round(cpm, 1), "verdict": verdict, "utterances": per_utterance}
        findings = ()
        if verdict != "ok":
            band = f"{limits.rate_min_cpm:g}-{limits.rate_max_cpm:g}"
            message = f"agent speaks {'too fast' if verdict == 'too_fast' else 'too slowly'}: {cpm:.0f} chars/min (band {band})"
            worst = max(utterances, key=lambda u: abs(spoken_chars(u.text) / u.duration_s * 60 - limits.rate_target_cpm))
            findings = (Finding("speaking_rate.out_of_band", Severity.MINOR, message, (utterance_evidence(worst),)),)
        # Live, the session runs this on a recent window with enough agent speech (``LiveOptions``),
        # so an out-of-band rate there is a verdict on what was said, not a guess about the call.
        return CheckResult(self.name, verdict == "ok", details, findings)


@register
class CallDurationCheck:
    spec = CheckSpec(
        "call_duration", "通话时长", "call duration", LiveWhen.CLOCK, 5.0,
        ("thresholds.inbound_limit_s", "thresholds.outbound_limit_s"), describe.duration,
        findings={'too_long': '通话超时'},
    )

    def run(self, context: CallContext, policy: Policy) -> CheckResult:
        duration_s = call_end_s(context.transcript)
        outbound = context.meta.direction == Direction.OUTBOUND
        limit_s = policy.thresholds.outbound_limit_s if outbound else policy.thresholds.inbound_limit_s
        details = {"duration_s": round(duration_s, 3), "limit_s": limit_s}
        if duration_s <= limit_s:
            return CheckResult(self.name, True if context.final else None, details)
        evidence = Evidence(limit_s, duration_s, f"call lasted {duration_s:.0f} s")
        message = f"call lasted {duration_s:.0f} s, over the {limit_s:g} s limit for {'outbound' if outbound else 'inbound'} calls"
        return CheckResult(self.name, False, details, (Finding("call_duration.too_long", Severity.MINOR, message, (evidence,)),))


@register
class HoldCheck:
    spec = CheckSpec(
        "hold", "等待", "hold", LiveWhen.CLOCK, 5.0,
        ("thresholds.hold_limit_s", "hold.request", "hold.thanks", "hold.wait_words", "hold.question_markers",
         "hold.call_back", "hold.interrupt_max_s", "hold.min_hold_s", "hold.negotiation_turns"),
        describe.holds,
        findings={'too_long': '等待超时', 'no_request': '等待前未请客户稍等', 'no_thanks': '等待后未致谢'},
    )

    def run(self, context: CallContext, policy: Policy) -> CheckResult:
        limit_s = policy.thresholds.hold_limit_s
        holds = find_holds(context, policy)
        findings = [f for hold in holds for f in _hold_findings(hold, limit_s)]
        details = {"holds": [h.to_dict(limit_s) for h in holds]}
        return CheckResult(self.name, not findings, details, tuple(findings))


def _hold_findings(hold: Hold, limit_s: float) -> list[Finding]:
    """Too long unless negotiated; the request before and the thanks after a hold the agent put on
    (music, or over the limit: a shorter silence may be the customer's own pause)."""
    span = hold.span
    evidence = (Evidence(span.start_s, span.end_s, "agent silent, hold" + (" music" if hold.music else ""), Role.AGENT),)
    findings = []
    if span.duration_s > limit_s and hold.negotiated is None:
        message = f"customer held for {span.duration_s:.0f} s (limit {limit_s:g} s) without asking whether they can wait or offering a call back"
        findings.append(Finding("hold.too_long", Severity.MAJOR, message, evidence))
    if hold.music or span.duration_s > limit_s:
        if not hold.requested:
            findings.append(Finding("hold.no_request", Severity.MINOR, "hold without asking the customer to wait (请您稍等)", evidence))
        if hold.thanked is False:
            findings.append(Finding("hold.no_thanks", Severity.MINOR, "no thanks for waiting after the hold (感谢您的耐心等待)", evidence))
    return findings


@register
class OvertalkCheck:
    spec = CheckSpec(
        "overtalk", "抢话", "overtalk", LiveWhen.END, 3.0, ("thresholds.overtalk_s",), describe.overtalk,
        findings={'agent': '座席抢话'},
    )

    def run(self, context: CallContext, policy: Policy) -> CheckResult:
        agent = speech_spans(context.transcript, Role.AGENT)
        customer = speech_spans(context.transcript, Role.CUSTOMER)
        events = []
        for a in agent:
            for c in customer:
                if c.start_s < a.start_s < c.end_s:
                    overlap_s = min(a.end_s, c.end_s) - a.start_s
                    if overlap_s > policy.thresholds.overtalk_s:
                        events.append({"start_s": round(a.start_s, 3), "end_s": round(a.start_s + overlap_s, 3), "overlap_s": round(overlap_s, 3)})
        findings = tuple(
            Finding(
                "overtalk.agent",
                Severity.MINOR,
                f"agent talked over the customer for {e['overlap_s']:.1f} s",
                (Evidence(e["start_s"], e["end_s"], "overtalk", Role.AGENT),),
            )
            for e in events
        )
        return CheckResult(self.name, not events, {"events": events}, findings)


@register
class DeadAirCheck:
    spec = CheckSpec(
        "dead_air", "静默", "dead air", LiveWhen.END, 2.0, ("thresholds.dead_air_s",),
        describe.spans("gaps", "none"),
        findings={'gap': '长时间静默'},
    )

    def run(self, context: CallContext, policy: Policy) -> CheckResult:
        transcript = context.transcript
        talk = sorted(
            speech_spans(transcript, Role.AGENT) + speech_spans(transcript, Role.CUSTOMER) + music_spans(transcript),
            key=lambda s: s.start_s,
        )
        gaps = []
        reach_s = talk[0].end_s if talk else 0.0
        for span in talk[1:]:
            if span.start_s - reach_s > policy.thresholds.dead_air_s:
                gaps.append(Span(reach_s, span.start_s))
            reach_s = max(reach_s, span.end_s)
        findings = tuple(
            Finding("dead_air.gap", Severity.MINOR, f"{g.duration_s:.0f} s of silence on both sides", (Evidence(g.start_s, g.end_s, "dead air"),))
            for g in gaps
        )
        return CheckResult(self.name, not gaps, {"gaps": [g.to_dict() for g in gaps]}, findings)


@register
class AnswerSpeedCheck:
    spec = CheckSpec(
        "answer_speed", "接听速度", "answer speed", LiveWhen.END, 2.0,
        ("thresholds.seconds_per_ring", "thresholds.max_rings"), describe.answer_speed,
        findings={'slow': '接听过慢'},
    )

    def run(self, context: CallContext, policy: Policy) -> CheckResult:
        meta = context.meta
        limits = policy.thresholds
        if meta.rings is None and meta.answer_delay_s is None:
            return CheckResult(self.name, None, {"rings": None, "answer_delay_s": None, "max_rings": limits.max_rings})
        rings = meta.rings if meta.rings is not None else math.ceil(meta.answer_delay_s / limits.seconds_per_ring)
        details = {"rings": rings, "answer_delay_s": meta.answer_delay_s, "max_rings": limits.max_rings}
        if rings <= limits.max_rings:
            return CheckResult(self.name, True, details)
        message = f"answered after {rings} rings (at most {limits.max_rings})"
        return CheckResult(self.name, False, details, (Finding("answer_speed.slow", Severity.MINOR, message),))

