"""Roles inferred on a mono call: the utterances whose role is uncertain, for human review.

Not a standard to pass or fail (``passed`` is None and the default weight 0, so it never moves the
score): when the agent and the customer were separated from one channel, every utterance carries
how likely its role is right, and those under ``SpeakerOptions.review_below`` are listed as
findings so a reviewer checks them before trusting the checks built on them.
"""

from __future__ import annotations

from qa_pipeline.config import SpeakerOptions
from qa_pipeline.policy.policy import Policy
from qa_pipeline.rules import describe
from qa_pipeline.rules.base import CallContext, CheckSpec, LiveWhen, register, utterance_evidence
from qa_pipeline.types import CheckResult, Finding, Severity

REVIEW_BELOW = SpeakerOptions().review_below


@register
class SpeakerRolesCheck:
    spec = CheckSpec(
        "speaker_roles", "角色分离", "speaker roles (mono)", LiveWhen.END, 0.0, (), describe.speaker_roles,
        findings={"review": "角色待复核"},
    )

    def run(self, context: CallContext, policy: Policy) -> CheckResult:
        inferred = [u for u in context.transcript.utterances if u.role_confidence is not None]
        if not inferred:
            return CheckResult(self.name, None, {"separated": False, "channels": context.transcript.channels})
        doubtful = [u for u in inferred if u.role_confidence < REVIEW_BELOW]
        findings = tuple(
            Finding(
                "speaker_roles.review",
                Severity.INFO,
                f"role {u.role.label_zh}/{u.role.value} uncertain ({u.role_confidence:.0%}): separated "
                "from a mono recording, needs human review",
                (utterance_evidence(u),),
            )
            for u in doubtful
        )
        details = {
            "separated": True,
            "utterances": len(inferred),
            "review": len(doubtful),
            "min_confidence": round(min(u.role_confidence for u in inferred), 3),
        }
        return CheckResult(self.name, None, details, findings)
