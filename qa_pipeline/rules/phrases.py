"""What the agent must not say: forbidden phrases and unauthorised promises."""

from __future__ import annotations

import re

from qa_pipeline.text.match import find_phrases
from qa_pipeline.policy.policy import ForbiddenPhrase, Policy
from qa_pipeline.rules import describe
from qa_pipeline.rules.base import CheckSpec, LiveWhen, CallContext, Hit, agent_utterances, register
from qa_pipeline.rules.not_knowing import asks_politely, finds_out, helps_after, not_knowing, opens_inquiry
from qa_pipeline.rules.sent_elsewhere import sending_in, sent_elsewhere
from qa_pipeline.rules.harmless import CHECK_FOR_YOURSELF, PERMITTED, clears_customer, reads_otherwise
from qa_pipeline.rules.refusals import channel_rule, emphatic_refusals, lone_refusal
from qa_pipeline.rules.repeated import told_again
from qa_pipeline.rules.stretches import SHORT_CLAUSE_CHARS, kinds_apart, mocks, one_per_stretch, taken_in
from qa_pipeline.rules.whole_reply import heard_doubled, whole_reply
from qa_pipeline.rules.judge import Judged, judge_clauses, modifies_what_follows, scope_of, sound_hits
from qa_pipeline.rules.promises import REASSURING, promise_judgements
from qa_pipeline.text.analysis import (
    SUPPOSING, Clause, sentence_index, sentence_start,
)
from qa_pipeline.text.normalize import match_form
from qa_pipeline.types import CheckResult, Finding, Severity, Utterance


def _excused(hit: Hit, rule: ForbiddenPhrase, policy: Policy) -> bool:
    """True when an exception context (不知道您…方便吗, 不行的话) covers the hit.

    An exception only excuses a polite question or a condition: "这个我不知道您可以问网点" (the
    comma lost by ASR) is neither, so 不知道您 does not excuse it.
    """
    clause, _ = scope_of(hit, policy)
    if clause is not None and _supposed_before(clause, hit):
        return True  # 万一还不行…, 要是不清楚…: a condition, not a refusal
    if modifies_what_follows(hit.utterance.text, hit.match.end_char):
        return True  # 我不清楚的地方…: what it describes, not a refusal
    if clause is not None and PERMITTED.search(clause.text):
        return True  # 不知道也没关系: leaving it to the customer
    if clause is not None and clears_customer(clause, hit.match.start_char):
        return True  # 这不是您弄错了: the customer cleared, not blamed
    if clause is not None and CHECK_FOR_YOURSELF.search(match_form(clause.text)):
        return True  # 你自己看看是不是绑了自动扣费: something to check, not a brush-off
    if rule.phrase == "不知道" and finds_out(hit, clause, policy):
        return True  # 这个我一下子答不上来，我查一下政策文件: not knowing yet, and finding out
    if rule.phrase == "不知道" and asks_politely(hit, clause):
        return True  # 不知道之前有没有做过风险测评呢: a question to the customer, its 您 dropped
    if clause is not None and _ALONE.search(hit.utterance.text[clause.start_char:hit.match.start_char]):
        return True  # 光拿着卡去是不行的: what is not enough on its own, told as a requirement
    if rule.phrase == "不行" and clause is not None and _rule_described(hit, clause):
        return True  # 家人代办是不行的，因为涉及账户安全: what the rules rule out, with the reason or the way
    asked = (clause is None or clause.question or clause.in_question or clause.hypothetical
             or opens_inquiry(hit, clause) or _POLITE_ASKING.match(hit.utterance.text, hit.match.start_char) is not None)
    # 不知道你自己去问吧 (the comma lost): the customer left to find out, no polite question
    asked = asked and hit.utterance.text[hit.match.end_char:hit.match.end_char + 3] not in ("您自己", "你自己")
    for exception in rule.exceptions:
        for match in find_phrases(hit.utterance.text, exception, policy.matching):
            if match.start_char < hit.match.end_char and hit.match.start_char < match.end_char:
                # context on the left (您不知道, 如果不知道) names who does not know; context on
                # the right only (不知道您…) excuses a polite question
                if asked or match.start_char < hit.match.start_char:
                    return True
    return False


def _quoted(hit: Hit) -> bool:
    """The phrase is mentioned inside quotation marks (客服之前告诉您“不行”), not said to the customer."""
    text = hit.utterance.text
    before, after = text[: hit.match.start_char], text[hit.match.end_char:]
    opened = sum(before.count(q) for q in ("“", "「")) > sum(before.count(q) for q in ("”", "」"))
    return opened or (before.count('"') % 2 == 1 and '"' in after)


def _supposed_before(clause: Clause, hit: Hit) -> bool:
    """True when a supposition word (如果/万一/要是…) opens the clause before the hit."""
    before = hit.utterance.text[clause.start_char:hit.match.start_char]
    return any(word in before for word in SUPPOSING)


def forbidden_hits(utterances: tuple[Utterance, ...], policy: Policy) -> list[tuple[str, Judged]]:
    """Listed forbidden phrases, then (in utterances without one) clauses the ``forbidden`` intent
    recognises; each with the phrase reports name (``≈`` marks what the intent resembled)."""
    found: list[tuple[str, Judged]] = []
    excused: list[Hit] = []
    for rule in policy.forbidden:
        if rule.whole_reply:
            hits = [h for h in sound_hits(utterances, rule.forms, policy) if whole_reply(h, rule, policy)]
            hits = [h for i, h in enumerate(hits) if all(o.utterance is not h.utterance for o in hits[:i])]
        else:
            heard = sound_hits(utterances, rule.forms, policy)
            spared = [_excused(h, rule, policy) or _quoted(h) for h in heard]
            excused += [h for h, s in zip(heard, spared) if s]
            hits = [h for h, s in zip(heard, spared) if not s]
        hits += [h for h in heard_doubled(utterances, rule) if not any(h.overlaps(o) for o in hits)]
        for hit in hits:
            if not any(hit.overlaps(other.hit) for _, other in found):
                found.append((rule.phrase, Judged(hit, "phrase", hit.match.phrase, hit.match.similarity)))
    restating: list[Judged] = []
    for utterance in utterances:
        listed = [judged.hit for _, judged in found if judged.hit.utterance is utterance]
        findings, restated = _clause_findings(utterance, listed, excused, policy)
        restating += restated
        for judged in findings:
            if not any(judged.hit.overlaps(other.hit) for _, other in found):
                found.append((f"≈{judged.label}", judged))
    found.sort(key=lambda pair: (pair[1].hit.utterance.start_s, pair[1].hit.match.start_char))
    return _one_per_reply(one_per_stretch(taken_in(found, restating), policy))


def _clause_findings(utterance: Utterance, listed: list[Hit], excused: list[Hit],
                     policy: Policy) -> tuple[list[Judged], list[Judged]]:
    """What the ``forbidden`` intent finds in one utterance besides its listed phrases: every new
    pattern finding and the model's surest; and apart, the model's findings that restate one of those
    in its sentence. Beside a listed phrase or a pattern's finding the model may only name an offence
    in another sentence (``_other_offence``); in the same one it restates it (我都跟你说了，你这个人咋个
    听不懂呢 is one reproach), and the evidence takes it in."""
    judged = judge_clauses(utterance, "forbidden", policy, model_spares_explanations=True, read_run_ons=True)
    judged = [j for j in judged if j.via != "model" or not _model_overruled(j, excused, policy)]
    judged = [j for j in judged if not (not_knowing(j.hit) and _asks_or_finds_out(j.hit, policy))]
    patterns = [j for j in judged if j.via == "pattern" and not any(j.hit.overlaps(h) for h in listed)]
    own = (*sent_elsewhere(utterance, policy), *emphatic_refusals(utterance, policy), *lone_refusal(utterance),
           *told_again(utterance, policy))
    for extra in own:
        if not any(extra.hit.overlaps(h) for h in listed) and not any(extra.hit.overlaps(p.hit) for p in patterns):
            patterns.append(extra)
    found = [*listed, *(p.hit for p in patterns)]
    models = [j for j in judged if j.via == "model" and not any(j.hit.overlaps(h) for h in found)]
    restating = [j for j in models if not all(_other_offence(h, j.hit) for h in found)]
    models = [j for j in models if j not in restating]
    return patterns + sorted(models, key=lambda j: -j.score)[:1], restating


def _asks_or_finds_out(hit: Hit, policy: Policy) -> bool:
    """Not knowing that finds out on the call, or 不知道您…吗 asking politely (the comma before it lost)."""
    clause = scope_of(hit, policy)[0]
    return finds_out(hit, clause, policy) or opens_inquiry(hit, clause)


def _other_offence(listed: Hit, found: Hit) -> bool:
    """The model's finding is an offence of its own when it is in another sentence than the listed
    phrase. In the same sentence it tells how the listed one was said (我哪知道，您自己找找吧: not
    knowing and leaving the customer to it, one offence); a pattern's finding there still counts, and so
    does mockery after a refusal or a cutting-short (不行，这么简单的规定您都搞不懂: two offences)."""
    text = listed.utterance.text
    if sentence_index(text, listed.match.start_char) != sentence_index(text, found.match.start_char):
        return True
    return mocks(found) and kinds_apart(listed, found)


# A finding in the next utterance, this soon after the last, continues the same reply (…没开通。| 怪不了别人。)
# unless an explanation stands between them (不行不行，…只能按活期算 | 您这问题问得可真新鲜…: two offences).
_SAME_REPLY_GAP_S = 1.0


def _one_per_reply(found: list[tuple[str, Judged]]) -> list[tuple[str, Judged]]:
    kept: list[tuple[str, Judged]] = []
    for pair in found:
        hit = pair[1].hit
        if kept and _continues(kept[-1][1].hit, hit):
            continue
        kept.append(pair)
    return kept


def _continues(last: Hit, hit: Hit) -> bool:
    before, after = last.utterance, hit.utterance
    if after is before or not 0 <= after.start_s - before.end_s <= _SAME_REPLY_GAP_S:
        return False
    between = before.text[last.match.end_char:] + after.text[: hit.match.start_char]
    return len(match_form(between)) <= SHORT_CLAUSE_CHARS and not_knowing(last) == not_knowing(hit)


# 不知道您打算存多久 (the question mark lost): 不知道您 then what the customer intends or prefers asks politely
_POLITE_ASKING = re.compile(r"不(?:知道|晓得)(?:您|你)(?:这边|那边|现在|目前|这个月|本月|最近|近期|这段时间)?"
                            r"(?:打算|想|需要|是否|方便|考虑|有兴趣|感兴趣|有没有|什么时候|还有|平时|一般|手头|资金|周转|能不能|是不是)")
# 光拿着卡去是不行的, 只凭身份证办不了: X alone is not enough, a requirement told, not a refusal
_ALONE = re.compile(r"(?:光|只|单|仅|单单)(?:凭|靠|拿|有|带|用|打)")
# 家人代办是不行的 / 少一个字都不行 / 比如一二三四五六这种就不行: 不行 said of a thing described, with the reason,
# the rule or the way on given in the reply, tells what the rules rule out; 宽限是不行的，这周必须还上 gives none,
# and 反正就是不行 describes nothing.
_DESCRIBED = re.compile(r"[\u4e00-\u9fff]{2,}(?:也|还)?[是都就]$")
_NOT_A_THING = ("反正", "说了", "肯定", "真的", "确实", "实在", "根本", "那", "就是")
_REASON_OR_WAY = ("因为", "由于", "规定", "规则", "要求", "监管", "为了", "安全", "建议", "比如", "例如", "校验")


def _rule_described(hit: Hit, clause: Clause) -> bool:
    before = match_form(hit.utterance.text[clause.start_char:hit.match.start_char])
    if _DESCRIBED.search(before) is None or any(word in before for word in _NOT_A_THING):
        return False
    return any(word in hit.utterance.text for word in _REASON_OR_WAY)


_COURTESY = ("再见", "感谢您的接听", "谢谢您的接听", "感谢您的来电", "祝您生活愉快",
             "感谢您的配合", "谢谢您的配合", "不打扰您了")
# How far (characters in match form) a clause may stand from the closing courtesy and still be part
# of the leave-taking (没问题，那就先这样，感谢您的接听，再见: five between 没问题 and the thanks). A reply the
# recogniser ran on without its full stops can put a taunt many characters before a misheard 再见
# (你是不是没听明白而已补卡要带户口本…支行再见身证, 办证 heard 再见): that taunt is not the closing.
_COURTESY_REACH = 8


def _model_overruled(judged: Judged, excused: list[Hit], policy: Policy) -> bool:
    """A clause the model took for a taboo that something surer reads otherwise: a listed phrase its
    exception excused (不知道您这边还有…吗), a proposal asking agreement (您看行不行), or a clause the
    comfort judgement recognises by a pattern or more surely (碰上这种事谁都着急, 您先别慌)."""
    if any(judged.hit.overlaps(e) for e in excused) or helps_after(judged.hit):
        return True
    clause, _ = scope_of(judged.hit, policy)
    if clause is not None and (reads_otherwise(clause) or channel_rule(clause, judged.hit.utterance.text)):
        return True  # 电话里是没办法改的 after 按规定需要您本人…: the channel's rule told
    sending = sending_in(judged.hit.utterance, clause) if clause is not None else None
    if sending is not None and sending.excused:
        return True  # 我把地址发给您，您直接去找柜员吧: pointing the way with help is no brush-off
    utterance = judged.hit.utterance
    sentence = sentence_index(utterance.text, judged.hit.match.start_char)
    start = judged.hit.match.start_char
    said_from = sentence_start(utterance.text, start)
    opening = utterance.text[said_from:start].lstrip("，, ")
    if opening.startswith(REASSURING):
        return True  # 您放心，…耽误不了您: reassurance
    greeted = sound_hits((utterance,), policy.greeting_service, policy)
    if any(g.match.end_char <= start or sentence_index(utterance.text, g.match.start_char) == sentence for g in greeted):
        return True  # 很高兴为您服务，您有什么事情？ / 您好，不春江银行，很高兴为您服务: the greeting itself
    if _DENIED_OFFENCE.search(utterance.text[said_from:judged.hit.match.end_char]):
        return True  # 这是规定，不是我们故意为难您: the agent denies the very offence the model saw
    courtesy = sound_hits((utterance,), _COURTESY, policy)
    if any(sentence_index(utterance.text, h.match.start_char) == sentence and _runs_into(judged.hit, h)
           for h in courtesy):
        return True  # 那就不打扰您了，感谢您的接听，再见: the closing courtesy
    if _promised_in(utterance, sentence, policy):
        return True  # 就您这个条件，肯定能批下来: the sentence pledges an outcome; the promise check reads it
    comfort = judge_clauses(utterance, "comfort", policy)
    comforting = [c.hit for c in comfort if c.via != "model" or c.score > judged.score]
    phrases = sound_hits((utterance,), policy.comfort_phrases, policy)
    if any(h.match.start_char < start and sentence_index(utterance.text, h.match.start_char) == sentence for h in phrases):
        return True  # 实在抱歉，耽误了您这么长时间: what follows an apology in its sentence is what it regrets
    return any(c.overlaps(judged.hit) for c in comforting + phrases)


def _runs_into(hit: Hit, courtesy: Hit) -> bool:
    """Whether ``hit``'s clause and the closing ``courtesy`` stand together in their utterance."""
    text = hit.utterance.text
    if courtesy.match.start_char >= hit.match.end_char:
        between = text[hit.match.end_char : courtesy.match.start_char]
    else:
        between = text[courtesy.match.end_char : hit.match.start_char]
    return len(match_form(between)) <= _COURTESY_REACH


# The offence denied (不是我们不给您办, 并不是故意的): an explanation, never labelled a taboo by any writer.
_DENIED_OFFENCE = re.compile(r"(?:不是|并不是|并非)(?:我们|我)?(?:不给|不帮|不让|不愿|故意|有意|成心)")


def _promised_in(utterance: Utterance, sentence: int, policy: Policy) -> bool:
    """A promise phrase or pattern stands in the ``sentence``-th sentence of ``utterance``."""
    return any(j.via != "model" and sentence_index(utterance.text, j.hit.match.start_char) == sentence
               for j in promise_judgements((utterance,), policy))


@register
class ForbiddenPhrasesCheck:
    spec = CheckSpec(
        "forbidden_phrases", "服务禁语", "forbidden phrases", LiveWhen.UTTERANCE, 20.0,
        ("forbidden", "caps.forbidden_phrase"), describe.hits,
        findings={'hit': '使用服务禁语'},
    )

    def run(self, context: CallContext, policy: Policy) -> CheckResult:
        pairs = forbidden_hits(agent_utterances(context.transcript), policy)
        hits = [judged.to_hit_dict(phrase) for phrase, judged in pairs]
        findings = tuple(
            Finding(
                "forbidden_phrases.hit",
                Severity.CRITICAL,
                f"agent said a forbidden phrase: {phrase}",
                (judged.hit.evidence,),
            )
            for phrase, judged in pairs
        )
        return CheckResult(self.name, not pairs, {"hits": hits}, findings)


@register
class UnauthorizedPromiseCheck:
    spec = CheckSpec(
        "unauthorized_promise", "违规承诺", "unauthorized promise", LiveWhen.UTTERANCE, 10.0,
        ("promises.phrases", "promises.gapped"), describe.hits,
        findings={'hit': '违规承诺'},
    )

    def run(self, context: CallContext, policy: Policy) -> CheckResult:
        judged = promise_judgements(agent_utterances(context.transcript), policy)
        findings = tuple(
            Finding(
                "unauthorized_promise.hit",
                Severity.MAJOR,
                f"agent made a promise it cannot guarantee: {j.hit.match.matched} ({j.via}: {j.label})",
                (j.hit.evidence,),
            )
            for j in judged
        )
        details = {"hits": [j.to_hit_dict(j.hit.match.phrase) for j in judged]}
        return CheckResult(self.name, not judged, details, findings)
