"""What the agent must not say: forbidden phrases and unauthorised promises."""

from __future__ import annotations

from qa_pipeline.text.match import find_gapped, find_phrases
from qa_pipeline.policy.policy import ForbiddenPhrase, Policy
from qa_pipeline.rules import describe
from qa_pipeline.rules.base import CheckSpec, LiveWhen, CallContext, Hit, agent_utterances, find_in, register
from qa_pipeline.text.normalize import match_form
from qa_pipeline.types import CheckResult, Finding, Severity, Utterance


def _excused(hit: Hit, rule: ForbiddenPhrase, policy: Policy) -> bool:
    """True when an exception context (不知道您…方便吗, 不行的话) covers the hit."""
    for exception in rule.exceptions:
        for match in find_phrases(hit.utterance.text, exception, policy.matching):
            if match.start_char < hit.match.end_char and hit.match.start_char < match.end_char:
                return True
    return False


def _whole_reply(utterance: Utterance, rule: ForbiddenPhrase) -> bool:
    return match_form(utterance.text) in {match_form(form) for form in rule.forms}


def forbidden_hits(utterances: tuple[Utterance, ...], policy: Policy) -> list[tuple[ForbiddenPhrase, Hit]]:
    found: list[tuple[ForbiddenPhrase, Hit]] = []
    for rule in policy.forbidden:
        if rule.whole_reply:
            hits = [h for h in find_in(utterances, rule.forms, policy) if _whole_reply(h.utterance, rule)]
        else:
            hits = [h for h in find_in(utterances, rule.forms, policy) if not _excused(h, rule, policy)]
        for hit in hits:
            if not any(hit.overlaps(other) for _, other in found):
                found.append((rule, hit))
    found.sort(key=lambda pair: (pair[1].utterance.start_s, pair[1].match.start_char))
    return found


@register
class ForbiddenPhrasesCheck:
    spec = CheckSpec(
        "forbidden_phrases", "服务禁语", "forbidden phrases", LiveWhen.UTTERANCE, 20.0,
        ("forbidden", "caps.forbidden_phrase"), describe.hits,
        findings={'hit': '使用服务禁语'},
    )

    def run(self, context: CallContext, policy: Policy) -> CheckResult:
        pairs = forbidden_hits(agent_utterances(context.transcript), policy)
        hits = [hit.to_hit_dict(rule.phrase) for rule, hit in pairs]
        findings = tuple(
            Finding(
                "forbidden_phrases.hit",
                Severity.CRITICAL,
                f"agent said a forbidden phrase: {rule.phrase}",
                (hit.evidence,),
            )
            for rule, hit in pairs
        )
        return CheckResult(self.name, not pairs, {"hits": hits}, findings)


def promise_hits(utterances: tuple[Utterance, ...], policy: Policy) -> list[Hit]:
    hits = find_in(utterances, policy.promise_phrases, policy)
    for utterance in utterances:
        for pattern in policy.promise_patterns:
            for match in find_gapped(utterance.text, pattern, policy.matching):
                hit = Hit(utterance, match)
                if not any(hit.overlaps(other) for other in hits):
                    hits.append(hit)
    hits.sort(key=lambda h: (h.utterance.start_s, h.match.start_char))
    return hits


@register
class UnauthorizedPromiseCheck:
    spec = CheckSpec(
        "unauthorized_promise", "违规承诺", "unauthorized promise", LiveWhen.UTTERANCE, 10.0,
        ("promises.phrases", "promises.gapped"), describe.hits,
        findings={'hit': '违规承诺'},
    )

    def run(self, context: CallContext, policy: Policy) -> CheckResult:
        hits = promise_hits(agent_utterances(context.transcript), policy)
        findings = tuple(
            Finding(
                "unauthorized_promise.hit",
                Severity.MAJOR,
                f"agent made a promise it cannot guarantee: {hit.match.matched}",
                (hit.evidence,),
            )
            for hit in hits
        )
        details = {"hits": [hit.to_hit_dict(hit.match.phrase) for hit in hits]}
        return CheckResult(self.name, not hits, details, findings)
