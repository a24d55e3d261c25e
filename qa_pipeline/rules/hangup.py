"""Who ended the call: metadata first, then the disconnect tone, never a guess.

On a mono recording (one mixed channel) a disconnect tone says that somebody hung up, not who:
both lines are summed, so the tone cannot name the party whose line it replaced, and "who spoke
last" is no evidence of who pressed the button. There the answer comes from metadata only; without
it the check reports ``method`` "mixed_tone" and ``decidable`` False (not decidable on mono),
which ``qa eval`` counts apart from agreement and disagreement.

Live, the same evidence arrives while the call runs (a hang-up message sets ``meta.hangup_by``; the
tone appears in the channel activity), so the agent hanging up first alerts as it happens.
"""

from __future__ import annotations

from qa_pipeline.policy.policy import Policy
from qa_pipeline.rules import describe
from qa_pipeline.rules.base import CheckSpec, LiveWhen, CallContext, hangup_tone, register
from qa_pipeline.types import CheckResult, Evidence, Finding, Party, Role, Severity


@register
class HangupCheck:
    spec = CheckSpec(
        "hangup", "挂机", "hang-up", LiveWhen.CLOCK, 5.0, ("caps.agent_hangup",), describe.hangup,
        findings={'agent_first': '座席先挂机', 'unknown': '无法判断挂机方', 'not_decidable': '单声道无法判断挂机方'},
    )

    def run(self, context: CallContext, policy: Policy) -> CheckResult:
        by, method, evidence = self._who(context)
        details = {"hangup_by": by.value, "method": method}
        if method == "mixed_tone":
            details["decidable"] = False
            finding = Finding(
                "hangup.not_decidable",
                Severity.INFO,
                "a disconnect tone on a mono (mixed) recording cannot name who hung up, and the metadata "
                "has no hangup_by: not decidable, needs human review",
                evidence,
            )
            return CheckResult(self.name, None, details, (finding,))
        if by == Party.UNKNOWN and not context.final:
            return CheckResult(self.name, None, details)  # live: nobody has hung up yet
        if by == Party.UNKNOWN:
            finding = Finding(
                "hangup.unknown",
                Severity.INFO,
                "who hung up is unknown (no metadata, no disconnect tone): needs human review",
            )
            return CheckResult(self.name, None, details, (finding,))
        if by == Party.AGENT:
            finding = Finding(
                "hangup.agent_first",
                Severity.CRITICAL,
                f"the agent hung up before the customer ({method})",
                evidence,
            )
            return CheckResult(self.name, False, details, (finding,))
        return CheckResult(self.name, True, details)

    @staticmethod
    def _who(context: CallContext) -> tuple[Party, str, tuple[Evidence, ...]]:
        meta_by = context.meta.hangup_by
        if meta_by is not None and meta_by != Party.UNKNOWN:
            end_s = context.transcript.duration_s
            return meta_by, "metadata", (Evidence(end_s, end_s, f"metadata: hangup_by={meta_by.value}"),)
        tone = hangup_tone(context.transcript)
        if tone is not None:
            role, span = tone
            party = {Role.AGENT: Party.AGENT, Role.CUSTOMER: Party.CUSTOMER}.get(role, Party.UNKNOWN)
            if party != Party.UNKNOWN:
                text = f"disconnect tone on the {role.value} channel"
                return party, "tone", (Evidence(span.start_s, span.end_s, text, role),)
            text = "disconnect tone on the mixed (mono) channel: either party's line"
            return Party.UNKNOWN, "mixed_tone", (Evidence(span.start_s, span.end_s, text, role),)
        return Party.UNKNOWN, "none", ()
