"""首问负责 (first-contact responsibility): an agent who cannot answer commits to follow up.

Triggers are the agent saying the question cannot be answered on this call (``cannot_answer``) or
sending the customer elsewhere (``deflection``, ``deflection_gapped``). Each needs a commitment
(``commitment``: 我记录下来，核实后给您回电) in the turn before it or within ``within_turns`` agent
turns after it. Every commitment is recorded in the details and as an info finding, so a supervisor
sees which calls promised a follow-up; the standard's recommended wording is credited. In an
outbound call's opening turns a call-back phrase explains the call itself and is not recorded.
"""

from __future__ import annotations

from typing import Any

from qa_pipeline.policy.policy import Policy
from qa_pipeline.rules import describe
from qa_pipeline.rules.base import CallContext, CheckSpec, Hit, LiveWhen, agent_turns, find_in, register
from qa_pipeline.text.match import find_gapped
from qa_pipeline.types import CheckResult, Direction, Finding, Severity, Utterance

_NEGATIONS = "不无没未非"
_DEFLECTION = "deflection"
_CANNOT_ANSWER = "cannot_answer"


def _deflections(agent: tuple[Utterance, ...], policy: Policy) -> list[Hit]:
    rules = policy.standard.first_contact
    hits = find_in(agent, rules.deflection, policy)
    for utterance in agent:
        for pattern in rules.deflection_gapped:
            hits += [Hit(utterance, m) for m in find_gapped(utterance.text, pattern, policy.matching)]
    return hits


def _keeps_negation(hit: Hit) -> bool:
    """A negated phrase (查不到) met only by a positive one (查到了) is no match: the tolerant matcher
    forgives one character, which here is the whole meaning (simple local logic)."""
    negated = any(c in hit.match.phrase for c in _NEGATIONS)
    return not negated or any(c in hit.match.matched for c in _NEGATIONS)


def _triggers(agent: tuple[Utterance, ...], policy: Policy) -> list[tuple[str, Hit]]:
    """One trigger per agent utterance, a deflection before a cannot-answer, in time order."""
    found = [(_DEFLECTION, h) for h in _deflections(agent, policy)]
    found += [(_CANNOT_ANSWER, h) for h in find_in(agent, policy.standard.first_contact.cannot_answer, policy) if _keeps_negation(h)]
    by_utterance: dict[int, tuple[str, Hit]] = {}
    for kind, hit in found:
        if id(hit.utterance) not in by_utterance or kind == _DEFLECTION:
            by_utterance[id(hit.utterance)] = (kind, hit)
    return sorted(by_utterance.values(), key=lambda t: t[1].utterance.start_s)


def _hit_dict(hit: Hit, **extra: Any) -> dict[str, Any]:
    evidence = hit.evidence
    return {"start_s": round(evidence.start_s, 3), "end_s": round(evidence.end_s, 3), "text": hit.match.matched, **extra}


@register
class FirstContactCheck:
    spec = CheckSpec(
        "first_contact", "首问负责", "first-contact responsibility", LiveWhen.END, 5.0,
        ("first_contact.cannot_answer", "first_contact.deflection", "first_contact.deflection_gapped",
         "first_contact.commitment", "first_contact.recommended", "first_contact.within_turns"),
        describe.first_contact,
        findings={'follow_up': '未落实首问负责'},
    )

    def run(self, context: CallContext, policy: Policy) -> CheckResult:
        rules = policy.standard.first_contact
        turns = agent_turns(context.transcript)
        turn_of = {id(u): index for index, turn in enumerate(turns) for u in turn}
        agent = tuple(u for turn in turns for u in turn)
        recommended = find_in(agent, rules.recommended, policy)
        commitments = recommended + [
            h for h in find_in(agent, rules.commitment, policy) if not any(h.overlaps(r) for r in recommended)
        ]
        if context.meta.direction == Direction.OUTBOUND:
            # an outbound opening says why the bank calls (给您回个电话 is this call), it promises nothing
            opening = policy.standard.outbound.opening_turns
            commitments = [h for h in commitments if turn_of[id(h.utterance)] >= opening]
            recommended = [h for h in recommended if h in commitments]
        committed_turns = {turn_of[id(h.utterance)] for h in commitments}
        triggers, findings = [], []
        for kind, hit in _triggers(agent, policy):
            at = turn_of[id(hit.utterance)]
            window = set(range(at - 1, at + rules.within_turns + 1))
            committed: bool | None = bool(window & committed_turns)
            if not committed and not context.final and len(turns) <= at + rules.within_turns:
                committed = None  # the agent may still commit
            triggers.append(_hit_dict(hit, kind=kind, committed=committed))
            if committed is False:
                message = (
                    "the agent sent the customer elsewhere without committing to follow up (首问负责)"
                    if kind == _DEFLECTION
                    else "the agent could not answer and did not commit to follow up (首问负责)"
                )
                findings.append(Finding(f"first_contact.{'deflected' if kind == _DEFLECTION else 'no_follow_up'}",
                                        Severity.MAJOR, message, (hit.evidence,)))
        commitments.sort(key=lambda h: h.utterance.start_s)
        for hit in commitments:
            message = "follow-up promised" + (" (recommended wording)" if hit in recommended else "")
            findings.append(Finding("first_contact.follow_up", Severity.INFO, message, (hit.evidence,)))
        outcomes = [t["committed"] for t in triggers]
        passed = None if not triggers else False if False in outcomes else None if None in outcomes else True
        details = {
            "required": bool(triggers),
            "follow_up_promised": bool(commitments),
            "recommended_wording": bool(recommended),
            "commitments": [_hit_dict(h, recommended=h in recommended) for h in commitments],
            "triggers": triggers,
        }
        return CheckResult(self.name, passed, details, tuple(findings))
