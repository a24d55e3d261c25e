"""Service conduct: comfort after a complaint, thanks for feedback, identity verification."""

from __future__ import annotations

import re
from typing import Callable

from qa_pipeline.policy.policy import Policy
from qa_pipeline.rules import describe
from qa_pipeline.rules.base import (
    CallContext,
    CheckSpec,
    Hit,
    LiveWhen,
    agent_turns,
    agent_utterances,
    customer_utterances,
    first_hit,
    register,
    utterance_evidence,
)
from qa_pipeline.rules.grievance import (
    asks_if_faulty,
    courtesy_at,
    comforts,
    polite,
    exonerates,
    merchant_matter,
    retold,
    taken_back,
    thanks_feedback,
    too_slight,
)
from qa_pipeline.rules.judge import clauses_of, judge_clauses, sound_hits
from qa_pipeline.text.analysis import clause_at, negated_before, sentence_end, sentence_start
from qa_pipeline.types import CheckResult, Finding, Severity, Utterance


def _turns_after(context: CallContext, start_s: float, count: int) -> list[tuple[Utterance, ...]]:
    """The next ``count`` agent turns starting after ``start_s``."""
    turns = [t for t in agent_turns(context.transcript) if t[0].start_s > start_s]
    return turns[:count]


def _said(turn: tuple[Utterance, ...], phrases: tuple[str, ...], intent: str, policy: Policy,
          cue: Hit | None = None) -> Hit | None:
    """The first of ``phrases`` in a turn, else the first clause the intent recognises."""
    keep = {"comfort": comforts, "thanks": thanks_feedback}.get(intent, _any)
    if intent == "comfort" and cue is not None:
        keep = _comforts_this(cue)
    hits = [h for h in sound_hits(turn, phrases, policy) if keep(h, "phrase", policy)]
    if hits:
        return hits[0]
    for utterance in turn:
        judged = [j for j in judge_clauses(utterance, intent, policy) if keep(j.hit, j.via, policy)]
        if judged:
            return judged[0].hit
    return None


def _any(hit: Hit, via: str, policy: Policy) -> bool:
    return True


def _comforts_this(cue: Hit) -> Callable[[Hit, str, Policy], bool]:
    """Comfort that answers this complaint: ``comforts``, and neither an apology for the wait after
    a hold when the complaint was not about waiting (让您久等了 answers 你们一个推一个 with nothing),
    nor a guarantee (我保证不会影响您的征信: a promise the standard forbids, not sympathy)."""
    def keep(hit: Hit, via: str, policy: Policy) -> bool:
        if not comforts(hit, via, policy):
            return False
        said = hit.match.matched
        if (any(w in said for w in _FOR_THE_WAIT) and not any(a in hit.utterance.text for a in _SORRY)
                and not _WAITING.search(cue.utterance.text)):
            return False
        return not any(word in said for word in _GUARANTEES)
    return keep


# A clause that pledges an outcome (我保证不会影响您的征信) reassures by promising, which the standard
# forbids: it is not comfort.
_GUARANTEES = ("保证", "担保", "打包票", "包您", "承诺")


# Thanks or apology for a wait (said on coming back from a hold) and the words of a real apology.
_FOR_THE_WAIT = ("久等", "等待", "耐心")
_SORRY = ("歉", "对不起", "不好意思", "理解", "体谅")  # 歉: 抱歉, 道歉, 歉意 and a misheard 报歉
# A complaint about waiting or slowness, which an apology for the wait does answer.
_WAITING = re.compile(r"等|久|慢|排队|半天|时间|分钟|小时|晾|拖|一直")


def _answered(
    context: CallContext, cue: Hit, phrases: tuple[str, ...], intent: str, policy: Policy
) -> tuple[bool | None, Hit | None]:
    """Whether the agent said one of ``phrases`` (or the intent) within the allowed turns after a cue.

    None while a live call has not yet had those turns.
    """
    count = policy.thresholds.comfort_within_turns
    turns = _turns_after(context, cue.utterance.start_s, count)
    for turn in turns:
        hit = _said(turn, phrases, intent, policy, cue)
        if hit is not None:
            return True, hit
    if not context.final and len(turns) < count:
        return None, None
    return False, None


def _cue_stands(hit: Hit, policy: Policy) -> bool:
    """A complaint word counts unless negated just before it (我也不是想投诉), asked as a supposition
    (如果要投诉的话找哪里？), retold from someone else (我朋友说他投诉过), laid at a merchant's door
    (商家迟迟不退款), taken back as a joke (逗你的), said in a clause that clears the bank (不怪你们),
    asked about as what may come (会不会很麻烦), warned of or feared (要是…我肯定要投诉的, 就怕白跑一趟),
    or the caller's own failed tries or slip told (试了好几次都不行, 我转到我老公卡上去了搞错了)."""
    text = hit.utterance.text
    if merchant_matter(text[: hit.match.end_char]) or taken_back(text[hit.match.end_char:]):
        return False
    if courtesy_at(text, hit.match.start_char, hit.match.end_char):
        return False  # 好的麻烦你了: the 麻烦 of thanks, not of trouble
    clause = clause_at(clauses_of(hit.utterance, policy), hit.match.start_char)
    if clause is None:
        return True
    if negated_before(clause, hit.match.start_char) or (exonerates(clause.text) and not clause.question):
        return False
    if retold(hit.utterance.text[clause.start_char: hit.match.end_char]):
        return False
    if any(ask in text[clause.start_char: hit.match.start_char] for ask in _ASKS_AHEAD):
        return False  # 手续会不会很麻烦？: asking what is to come, no grievance yet
    if _AVERTED.search(text[: hit.match.end_char]):
        return False  # 幸好拦住了，不然我肯定要投诉你们: a complaint luckily not needed
    if _SUPPOSED_LATER.search(text[: hit.match.start_char]) or _warned(text, hit):
        return False  # 要是到时候乱收费，我可要投诉: a warning about what has not happened
    if any(word in text[sentence_start(text, hit.match.start_char):hit.match.start_char] for word in _FEARED):
        return False  # 我就怕去了办不了，白跑一趟: trouble feared, not met
    if _hoped_not(text, clause.start_char, hit):
        return False  # 那你们后面不会又偷偷扣吧？: asking to be reassured, not accusing
    if _tries_told(clause.text) or _own_slip(clause.text):
        return False  # 刷脸刷了好几次都不行, 我转到我老公卡上去了搞错了: the caller's own tries or slip
    return not (clause.hypothetical and clause.in_question)


# A supposition of what may come, with no failure in it the customer has met (要是到时候乱收费，
# 我就投诉; 万一手续费不划算，我就不换了): a warning, no grievance yet. One that holds a failure going
# on or met before (要是今天还不给我解决; 如果再这样乱扣费), a remedy refused (要是不给个说法), or the
# remedy the customer waits for failing (要是这钱追不回来), is a live threat and stays a complaint.
_SUPPOSED_LATER = re.compile(r"(要是|如果|万一|假如|假设|倘若)(?![^。！？!?]*(还不|再不|还没|仍然不|一直不|还是不|就是不|再这样|再这么|再来|再出|又"
                             r"|不给|不处理|不解决|不退|不赔|不管|没个说法|没有说法|没人管"
                             r"|[\u4e00-\u9fff]不(?:回来|回|来|了|到|下来|出来|成)))[^。！？!?]{0,20}$")


# A supposition and then what the customer would do, hedged with 肯定/可/真 + 要 (要是钱退不回来，我肯定要
# 投诉的; 要是预约了还没有，我可真要投诉了): a warning, whatever the supposed failure. 我就打电话投诉你们
# (就 + the act) stays a threat.
_WARNING = re.compile(r"(?:要是|如果|万一|假如|倘若)[^。！？!?]{0,30}?(?:肯定|可|真)(?:就|是|真)?要(?:去)?(?:投诉|告)")


def _warned(text: str, hit: Hit) -> bool:
    return any(m.end() > hit.match.start_char for m in _WARNING.finditer(text[: hit.match.end_char + 2]))


# Trouble feared (就怕白跑一趟, 我担心又被扣钱): what may come, not what the customer met.
_FEARED = ("就怕", "我怕", "生怕", "担心", "害怕", "怕的是")


# The caller's own tries that failed (密码输了好几次都不对, 刷了三次都说失败, 登录好几次都登不进去): a
# problem told, not a grievance, unless the bank is named in the clause or the tries were calls, visits
# or requests to it (电话打了好几次都没人接, 跑了三趟也没办成).
_TRIES = re.compile(r"([\u4e00-\u9fff])(?:(?:了|过)(?:好几|几|两三|三四|[一二两三四五六七八九十])|好几|两三|三四)(?:次|遍|回|趟)了?(?:都|也|还是)")
_ASKING_AGAIN = "打拨催问说讲跑找来等"


def _tries_told(clause: str) -> bool:
    tries = _TRIES.search(clause)
    return tries is not None and tries.group(1) not in _ASKING_AGAIN and "你们" not in clause


# The caller owning a slip (我还到我老公那张卡上去了，搞错了; 是我自己输错了账号): no grievance, unless
# denied (我没输错, 我怎么会记错) or laid at the bank's door in the same clause (你们…).
_SLIP = re.compile(r"我[\u4e00-\u9fff]{0,12}?(?:搞错|弄错|记错|输错|转错|还错|填错|看错|按错|点错)了")


def _own_slip(clause: str) -> bool:
    slip = _SLIP.search(clause)
    return (slip is not None and "你们" not in clause and "怎么会" not in clause and clause[slip.start() - 1:slip.start()] != "说"
            and not any(no in slip.group() for no in ("没", "不")))  # (你还说我看错了: the customer accused)


# What luckily did not come to pass (幸好…，不然/否则…): a counterfactual, not a threat.
_AVERTED = re.compile(r"(幸好|幸亏|多亏|还好|好在)[^。！？!?]{0,16}?(要不然|不然|否则|要不是)[^。！？!?]*$")


# 不会…吧 before and after the cue: the customer hopes it will not happen and asks to be told so.
_HOPED_NOT_ENDS = ("吧", "吧？", "吧?")


def _hoped_not(text: str, clause_start: int, hit: Hit) -> bool:
    before = text[clause_start:hit.match.start_char]
    after = text[hit.match.end_char:sentence_end(text, hit.match.end_char) + 1]
    return "不会" in before and "不会不" not in before and after.rstrip("。！!. ").endswith(_HOPED_NOT_ENDS)


# A question about what may happen (会不会, 是否, 要不要): the trouble after it is asked about, not suffered.
_ASKS_AHEAD = ("会不会", "会否", "是否会", "是否", "要不要", "用不用", "需不需要")


def _utterance_cues(
    utterances: tuple[Utterance, ...],
    phrases: tuple[str, ...],
    intents: tuple[str, ...],
    policy: Policy,
    opposite: tuple[str, ...] = (),
) -> list[Hit]:
    """One cue per utterance: a listed phrase that stands, else a clause one of the intents recognises.

    A clause only the model recognised does not count when a pattern of an ``opposite`` intent meets
    it (你们小姑娘服务态度真好 resembles complaints about attitude, yet it is praise), nor, against
    suggestions, when a suggestion cue (我建议) stands in it."""
    cues: list[Hit] = []
    for utterance in utterances:
        hits = [h for h in sound_hits((utterance,), phrases, policy) if _cue_stands(h, policy)]
        if not hits:
            contrary = [h for name in opposite for h in _pattern_spans(utterance, name, policy)]
            if "suggestion" in opposite:  # 我建议你们把… resembles 你们把客户当什么了, yet it proposes
                contrary += sound_hits((utterance,), policy.suggestion_cues, policy)
            hits = [
                j.hit
                for name in intents
                for j in judge_clauses(utterance, name, policy, drop_asked_suppositions=True)
                if _cue_stands(j.hit, policy)
                and not (j.via == "model" and (too_slight(j, contrary, policy) or polite(j.hit.utterance.text)
                                                or asks_if_faulty(j.hit.match.matched)))
            ]
        if hits:
            cues.append(hits[0])
    return cues


def _pattern_spans(utterance: Utterance, intent: str, policy: Policy) -> list[Hit]:
    return [j.hit for j in judge_clauses(utterance, intent, policy) if j.via == "pattern"]


def _complaint_cues(context: CallContext, policy: Policy) -> list[Hit]:
    """One cue per complaining customer utterance."""
    customer = customer_utterances(context.transcript)
    return _utterance_cues(customer, policy.complaint_cues, ("complaint",), policy, opposite=("praise", "suggestion"))


def _feedback_findings(context: CallContext, policy: Policy) -> tuple[list[dict], list[Finding]]:
    phrases = policy.suggestion_cues + policy.praise_cues
    records, findings = [], []
    cues = _utterance_cues(customer_utterances(context.transcript), phrases, ("praise", "suggestion"), policy)
    for cue in cues:
        thanked, _ = _answered(context, cue, policy.thanks_phrases, "thanks", policy)
        evidence = cue.evidence
        records.append({"start_s": round(evidence.start_s, 3), "text": cue.match.matched, "thanked": thanked})
        if thanked is False:
            message = f"customer gave feedback ({cue.match.phrase}) and the agent did not thank them"
            findings.append(Finding("complaint_handling.feedback_not_thanked", Severity.MINOR, message, (evidence,)))
    return records, findings


def _overall(outcomes: list[bool | None]) -> bool | None:
    """Comforted once is comforted: a customer who complains again after comfort was still comforted."""
    if not outcomes:
        return None
    if True in outcomes:
        return True
    return None if None in outcomes else False


@register
class ComplaintHandlingCheck:
    spec = CheckSpec(
        "complaint_handling", "投诉安抚", "complaint handling", LiveWhen.END, 10.0,
        ("thresholds.comfort_within_turns", "complaint.cues", "complaint.comfort", "feedback.suggestion_cues",
         "feedback.praise_cues", "feedback.thanks"), describe.complaint,
        findings={'no_comfort': '客户投诉未安抚', 'feedback_not_thanked': '客户建议或表扬未致谢'},
    )

    def run(self, context: CallContext, policy: Policy) -> CheckResult:
        feedback, findings = _feedback_findings(context, policy)
        complaints = []
        for cue in _complaint_cues(context, policy):
            comforted, comfort = _answered(context, cue, policy.comfort_phrases, "comfort", policy)
            complaints.append((cue, comforted, comfort))
        comforted_all = _overall([comforted for _, comforted, _ in complaints])
        if comforted_all is False:
            cue = complaints[0][0]
            message = "customer complained and the agent did not comfort them"
            findings.append(Finding("complaint_handling.no_comfort", Severity.MAJOR, message, (cue.evidence,)))
        details = {
            "complaint": bool(complaints),
            "comforted": comforted_all,
            "complaints": [_complaint_record(cue, comforted, comfort) for cue, comforted, comfort in complaints],
            "feedback": feedback,
        }
        return CheckResult(self.name, comforted_all, details, tuple(findings))


def _complaint_record(cue: Hit, comforted: bool | None, comfort: Hit | None) -> dict[str, object]:
    """A complaint as reports show it: where, the words that made it one (``cue``), and the agent's
    words taken for comfort (``comfort``: when and what), so a reviewer sees both sides of the verdict."""
    record: dict[str, object] = {
        "start_s": round(cue.evidence.start_s, 3),
        "end_s": round(cue.evidence.end_s, 3),
        "text": cue.utterance.text,
        "cue": cue.match.matched,
        "comforted": comforted,
    }
    if comfort is not None:
        record["comfort"] = {
            "start_s": round(comfort.evidence.start_s, 3),
            "end_s": round(comfort.evidence.end_s, 3),
            "said": comfort.match.matched,
            "text": comfort.utterance.text,
        }
    return record


@register
class IdentityVerificationCheck:
    spec = CheckSpec(
        "identity_verification", "身份核实", "identity verification", LiveWhen.END, 10.0,
        ("identity.triggers", "identity.verification", "identity.account_details"), describe.identity,
        findings={'missing': '未核实客户身份'},
    )

    def run(self, context: CallContext, policy: Policy) -> CheckResult:
        trigger = first_hit(customer_utterances(context.transcript), policy.identity_triggers, policy)
        if trigger is None:
            return CheckResult(self.name, None, {"required": False, "verified": None})
        agent = agent_utterances(context.transcript)
        details_hit = first_hit(agent, policy.account_detail_phrases, policy)
        cutoff_s = details_hit.utterance.start_s if details_hit else float("inf")
        before = tuple(u for u in agent if u.start_s <= cutoff_s)
        verification = first_hit(before, policy.verification_phrases, policy)
        if verification is not None and (
            details_hit is None
            or verification.utterance.start_s < cutoff_s
            or verification.match.start_char < details_hit.match.start_char
        ):
            return CheckResult(self.name, True, {"required": True, "verified": True})
        if details_hit is None and not context.final:
            return CheckResult(self.name, None, {"required": True, "verified": None})
        evidence = (trigger.evidence,) + ((details_hit.evidence,) if details_hit else ())
        if details_hit is None and agent:
            evidence += (utterance_evidence(agent[-1]),)
        message = (
            "account details given before the caller's identity was verified"
            if details_hit
            else "the customer asked about account data and the agent never verified their identity"
        )
        finding = Finding("identity_verification.missing", Severity.MAJOR, message, evidence)
        return CheckResult(self.name, False, {"required": True, "verified": False}, (finding,))
