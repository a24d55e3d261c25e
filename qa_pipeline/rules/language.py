"""Courtesy and language metrics of the agent's speech, each per call with a policy threshold:
the five courtesy words (十字礼貌用语), 您 vs 你, banking jargon, commanding phrasing.

They weigh 0 by default (a bank opts in through ``[weights]``) and judge the whole call, so they
report at the end only. They count exact characters, not sounds: the words are short and their
homophones are everyday words (请/清, 冲正/重整), and a metric should rather miss than accuse.
"""

from __future__ import annotations

import re
from typing import Any, Callable

from qa_pipeline.policy.policy import Policy
from qa_pipeline.rules import describe
from qa_pipeline.rules.base import CallContext, CheckSpec, Hit, LiveWhen, agent_utterances, register, utterance_evidence
from qa_pipeline.text.match import PhraseMatch
from qa_pipeline.types import CheckResult, Evidence, Finding, Severity, Utterance

_CLAUSES = re.compile(r"[^，,。．.？?！!；;：:\s]+")
_MAX_EVIDENCE = 5
_KIND_ZH = {"please": "请", "hello": "您好", "thanks": "谢谢", "sorry": "对不起", "goodbye": "再见"}


def _count(text: str, word: str, not_inside: tuple[str, ...] = ()) -> int:
    """Occurrences of ``word`` in ``text`` that are not part of one of ``not_inside``."""
    blocked = {i for w in not_inside for m in re.finditer(re.escape(w), text) for i in range(m.start(), m.end())}
    return sum(1 for m in re.finditer(re.escape(word), text) if m.start() not in blocked)


def _call_evidence(agent: tuple[Utterance, ...], text: str) -> tuple[Evidence, ...]:
    return (Evidence(agent[0].start_s, agent[-1].end_s, text, agent[0].role),) if agent else ()


@register
class CourtesyWordsCheck:
    spec = CheckSpec(
        "courtesy_words", "礼貌用语", "courtesy words", LiveWhen.END, 0.0,
        ("courtesy.please", "courtesy.please_not", "courtesy.hello", "courtesy.thanks", "courtesy.sorry",
         "courtesy.goodbye", "courtesy.min_kinds"),
        describe.courtesy,
        findings={'few': '礼貌用语不足'},
    )

    def run(self, context: CallContext, policy: Policy) -> CheckResult:
        rules = policy.standard.courtesy
        agent = agent_utterances(context.transcript)
        text = "".join(u.text for u in agent)
        counts = {
            _KIND_ZH[kind]: sum(_count(text, form, rules.please_not if kind == "please" else ()) for form in forms)
            for kind, forms in (rules.words or {}).items()
        }
        used = sorted(kind for kind, n in counts.items() if n)
        details: dict[str, Any] = {"counts": counts, "kinds_used": len(used), "min_kinds": rules.min_kinds}
        if not agent or not context.final:
            return CheckResult(self.name, None, details)
        if len(used) >= rules.min_kinds:
            return CheckResult(self.name, True, details)
        unused = [kind for kind in counts if not counts[kind]]
        message = f"agent used {len(used)} of the five courtesy words (at least {rules.min_kinds}); never: {', '.join(unused)}"
        finding = Finding("courtesy_words.few", Severity.MINOR, message, _call_evidence(agent, "agent speech"))
        return CheckResult(self.name, False, details, (finding,))


@register
class HonorificCheck:
    spec = CheckSpec(
        "honorific", "您与你", "您 vs 你", LiveWhen.END, 0.0,
        ("courtesy.min_nin_share", "courtesy.min_pronouns"), describe.honorific,
        findings={'low_nin_share': '未使用敬语“您”'},
    )

    def run(self, context: CallContext, policy: Policy) -> CheckResult:
        rules = policy.standard.courtesy
        agent = agent_utterances(context.transcript)
        nin = sum(u.text.count("您") for u in agent)
        ni = sum(_count(u.text, "你", ("你们",)) for u in agent)
        total = nin + ni
        share = round(nin / total, 3) if total else None
        details = {"nin": nin, "ni": ni, "nin_share": share, "min_nin_share": rules.min_nin_share}
        if not context.final or total < rules.min_pronouns:
            return CheckResult(self.name, None, details)
        if share >= rules.min_nin_share:
            return CheckResult(self.name, True, details)
        with_ni = [u for u in agent if _count(u.text, "你", ("你们",))][:_MAX_EVIDENCE]
        message = f"agent said 您 {nin} times and 你 {ni} times: 您 share {share:.0%} (at least {rules.min_nin_share:.0%})"
        finding = Finding("honorific.low_nin_share", Severity.MINOR, message, tuple(utterance_evidence(u, "你") for u in with_ni))
        return CheckResult(self.name, False, details, (finding,))


def _term_hits(utterance: Utterance, policy: Policy) -> list[PhraseMatch]:
    rules = policy.standard.jargon
    text = utterance.text
    ordinary = {i for w in rules.ordinary for m in re.finditer(re.escape(w), text) for i in range(m.start(), m.end())}
    hits: list[PhraseMatch] = []
    for term in sorted(rules.terms, key=len, reverse=True):
        for m in re.finditer(re.escape(term), text):
            taken = any(h.start_char < m.end() and m.start() < h.end_char for h in hits)
            if m.start() not in ordinary and not taken:
                hits.append(PhraseMatch(term, term, m.start(), m.end(), 1.0))
    return sorted(hits, key=lambda h: h.start_char)


@register
class JargonCheck:
    spec = CheckSpec(
        "jargon", "专业术语", "banking jargon", LiveWhen.END, 0.0,
        ("jargon.terms", "jargon.ordinary", "jargon.max_terms"), describe.hits,
        findings={'used': '使用专业术语'},
    )

    def run(self, context: CallContext, policy: Policy) -> CheckResult:
        found = _agent_hits(context, lambda u: _term_hits(u, policy))
        limit = policy.standard.jargon.max_terms
        message = (f"agent used banking jargon {len(found)} times "
                   f"({', '.join(sorted({h.match.phrase for h in found}))}); at most {limit}")
        return _counted(self.name, context, found, "max_terms", limit, "jargon.used", message)


def _commands(utterance: Utterance, policy: Policy) -> list[PhraseMatch]:
    """Clauses where a subject (你/您) is directly followed by a modal (必须, 赶紧…), with no softener
    (请, 麻烦…) before it in the clause and no follow-up that makes it a statement (马上就能)."""
    rules = policy.standard.command
    subjects = "|".join(re.escape(s) for s in sorted(rules.subjects, key=len, reverse=True)) or "(?!)"
    modals = "|".join(re.escape(m) for m in sorted(rules.modals, key=len, reverse=True)) or "(?!)"
    pattern = re.compile(rf"(?:{subjects})(?:{modals})")
    found = []
    for clause in _CLAUSES.finditer(utterance.text):
        for m in pattern.finditer(clause.group()):
            before, after = clause.group()[: m.start()], clause.group()[m.end() :]
            if any(s in before for s in rules.softeners) or after.startswith(tuple(rules.not_followed_by)):
                continue
            start = clause.start() + m.start()
            found.append(PhraseMatch(m.group(), clause.group()[m.start() :], start, clause.end(), 1.0))
    return found


@register
class CommandToneCheck:
    spec = CheckSpec(
        "command_tone", "命令语气", "commanding tone", LiveWhen.END, 0.0,
        ("command.subjects", "command.modals", "command.softeners", "command.not_followed_by", "command.max_hits"),
        describe.hits,
        findings={'order': '命令语气'},
    )

    def run(self, context: CallContext, policy: Policy) -> CheckResult:
        found = _agent_hits(context, lambda u: _commands(u, policy))
        limit = policy.standard.command.max_hits
        message = f"agent gave {len(found)} order(s) instead of a request (请您…); at most {limit}"
        return _counted(self.name, context, found, "max_hits", limit, "command_tone.order", message)


def _agent_hits(context: CallContext, matches: Callable[[Utterance], list[PhraseMatch]]) -> list[Hit]:
    return [Hit(u, m) for u in agent_utterances(context.transcript) for m in matches(u)]


def _counted(name: str, context: CallContext, found: list[Hit], limit_key: str, limit: int, rule_id: str,
             message: str) -> CheckResult:
    """A check that allows at most ``limit`` hits: the hits as details, a finding beyond the limit."""
    details = {"hits": [h.to_hit_dict(h.match.phrase) for h in found], limit_key: limit}
    if len(found) <= limit:
        return CheckResult(name, True if context.final else None, details)
    evidence = tuple(h.evidence for h in found[:_MAX_EVIDENCE])
    return CheckResult(name, False, details, (Finding(rule_id, Severity.MINOR, message, evidence),))
