"""Service conduct: comfort after a complaint, thanks for feedback, identity verification."""

from __future__ import annotations

from qa_pipeline.policy.policy import Policy
from qa_pipeline.rules import describe
from qa_pipeline.rules.base import (
    CheckSpec,
    LiveWhen,
    CallContext,
    Hit,
    agent_turns,
    agent_utterances,
    customer_utterances,
    first_hit,
    register,
    utterance_evidence,
)
from qa_pipeline.rules.judge import Judged, clauses_of, judge_clauses, sound_hits
from qa_pipeline.text.analysis import clause_at, negated_before
from qa_pipeline.text.normalize import match_form
from qa_pipeline.types import CheckResult, Finding, Severity, Utterance


def _turns_after(context: CallContext, start_s: float, count: int) -> list[tuple[Utterance, ...]]:
    """The next ``count`` agent turns starting after ``start_s``."""
    turns = [t for t in agent_turns(context.transcript) if t[0].start_s > start_s]
    return turns[:count]


def _said(turn: tuple[Utterance, ...], phrases: tuple[str, ...], intent: str, policy: Policy) -> Hit | None:
    """The first of ``phrases`` in a turn, else the first clause the intent recognises."""
    keep = _comforts if intent == "comfort" else _any
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


# An apology that only opens a request (不好意思，请问您贵姓 / 抱歉我没听清) is politeness, not comfort;
# 非常抱歉，请问… is still an apology to the upset customer.
_APOLOGIES = ("不好意思", "抱歉", "对不起", "打扰")
_INTENSIFIERS = ("非常", "很", "真", "实在", "十分", "特别", "万分", "深表", "确实")
_REQUESTS = ("请", "麻烦", "您再", "你再", "再说", "再讲", "您的", "你的", "您是", "你是", "您贵姓", "贵姓", "怎么称呼", "没听清", "没听到", "听不清", "打断", "打扰", "信号", "稍等", "您说一下", "您报一下", "我确认", "我核对")
# What an apology is for (抱歉让您久等了, 不好意思给您添麻烦了): then it is a real one.
_REGRETTED = ("让您", "让你", "给您", "给你", "耽误", "带来", "造成", "添", "这次", "刚才", "之前", "这件事", "这个事", "是我",
              "是我们", "我们")


def _asks(utterance: Utterance, offset: int, policy: Policy) -> bool:
    """Whether the clause at ``offset`` (what follows an apology) is a question."""
    clause = clause_at(clauses_of(utterance, policy), offset)
    return clause is not None and clause.question


# Understanding what the customer asks for (我理解您是想退年费对吗) is not sympathy for how they feel.
_UNDERSTOOD = ("理解", "明白")
_CONTENT = ("是想", "是要", "是说", "是问", "说的是", "的意思", "的是", "您是", "你是", "要办", "想办", "想问")


# A denial before or inside a comfort hit makes it a rebuttal (这不是我们的责任, 我们这边没有任何失误).
_DENIALS = ("不是", "并非", "不属于", "没有任何", "没有什么", "没什么", "无关", "不存在", "不归", "没问题", "没有问题", "没错",
            "没有错")


def _denied(hit: Hit, policy: Policy) -> bool:
    clause = clause_at(clauses_of(hit.utterance, policy), hit.match.start_char)
    start = clause.start_char if clause is not None else 0
    said = hit.utterance.text[start: hit.match.end_char]
    said = said.replace(hit.match.phrase.split("…")[-1], "")  # the comfort word itself (赔个不是) denies nothing
    return any(d in said for d in _DENIALS)


def _comforts(hit: Hit, via: str, policy: Policy) -> bool:
    """Whether a comfort hit comforts: not a rebuttal, not a filler apology before a request, not
    understanding what was asked, and not the model's guess on a question."""
    if _denied(hit, policy):
        return False
    text = hit.utterance.text
    matched, end = hit.match.matched, hit.match.end_char
    rest = text[end:].lstrip("，,。.！!、 啊哈呀了")
    if any(a in matched for a in _APOLOGIES):
        before = text[max(hit.match.start_char - 2, 0): hit.match.start_char]
        real = any(i in before or i in matched for i in _INTENSIFIERS) or rest.startswith(_REGRETTED)
        if not real and (rest.startswith(_REQUESTS) or _asks(hit.utterance, len(text) - len(rest), policy)):
            return False
    if any(u in matched for u in _UNDERSTOOD) and rest.lstrip("您你").startswith(_CONTENT):
        return False
    if via == "model":
        clause = clause_at(clauses_of(hit.utterance, policy), hit.match.start_char)
        return clause is None or not clause.question
    return True


def _answered(
    context: CallContext, cue: Hit, phrases: tuple[str, ...], intent: str, policy: Policy
) -> tuple[bool | None, Hit | None]:
    """Whether the agent said one of ``phrases`` (or the intent) within the allowed turns after a cue.

    None while a live call has not yet had those turns.
    """
    count = policy.thresholds.comfort_within_turns
    turns = _turns_after(context, cue.utterance.start_s, count)
    for turn in turns:
        hit = _said(turn, phrases, intent, policy)
        if hit is not None:
            return True, hit
    if not context.final and len(turns) < count:
        return None, None
    return False, None


# Someone other than the caller as the source of what follows (我邻居说…, 听说…, 新闻里…): a complaint
# retold is not the caller's complaint. Family, friends and the media, never the bank's own staff
# (刚才那个客服说我操作错了 is still the caller's grievance).
_THIRD_PARTIES = ("朋友", "邻居", "同事", "同学", "亲戚", "老婆", "老公", "爱人", "我妈", "我爸", "老妈", "老爸", "母亲",
                  "父亲", "儿子", "女儿", "家里人", "家人", "婆婆", "公公", "我哥", "我姐", "我弟", "我妹", "表哥", "表姐", "表弟",
                  "表妹", "堂哥", "堂姐", "舅舅", "姑姑", "老人家", "客户", "别人", "有人",
                  "人家", "好多人", "很多人")
_REPORTING = ("说", "讲", "告诉我", "投诉过", "投诉了", "反映过", "举报过", "告过", "起诉过")
_HEARSAY = ("听说", "据说", "听人说", "网上说", "网上有人", "新闻上", "新闻里", "新闻说", "报道", "电视上", "媒体上", "媒体说",
            # a stranger's scam reported to the bank (有人冒充你们骗钱) is not a complaint about the bank
            "冒充", "假冒", "诈骗", "骗子")


def _retold(text: str) -> bool:
    """True when ``text`` (what precedes a cue in its clause, and the cue) retells someone else's words."""
    if any(marker in text for marker in _HEARSAY):
        return True
    for party in _THIRD_PARTIES:
        at = text.find(party)
        while at >= 0:
            if text[max(at - 1, 0):at] in ("没", "无"):  # 没有人说过要收费 is the caller's own grievance
                at = text.find(party, at + 1)
                continue
            after = text[at + len(party): at + len(party) + 6]
            if any(after.lstrip("们也都上次以前之前还就").startswith(verb) for verb in _REPORTING):
                return True
            at = text.find(party, at + 1)
    return False


def _cue_stands(hit: Hit, policy: Policy) -> bool:
    """A complaint word counts unless negated just before it (我也不是想投诉), asked as a supposition
    (如果要投诉的话找哪里？) or retold from someone else (我朋友说他投诉过)."""
    clause = clause_at(clauses_of(hit.utterance, policy), hit.match.start_char)
    if clause is None:
        return True
    if negated_before(clause, hit.match.start_char):
        return False
    if _retold(hit.utterance.text[clause.start_char: hit.match.end_char]):
        return False
    return not (clause.hypothetical and clause.in_question)


def _utterance_cues(
    utterances: tuple[Utterance, ...],
    phrases: tuple[str, ...],
    intents: tuple[str, ...],
    policy: Policy,
    opposite: str | None = None,
) -> list[Hit]:
    """One cue per utterance: a listed phrase that stands, else a clause one of the intents recognises.

    A clause only the model recognised does not count when a pattern of the ``opposite`` intent meets
    it (你们小姑娘服务态度真好 resembles complaints about attitude, yet it is praise)."""
    cues: list[Hit] = []
    for utterance in utterances:
        hits = [h for h in sound_hits((utterance,), phrases, policy) if _cue_stands(h, policy)]
        if not hits:
            contrary = _pattern_spans(utterance, opposite, policy) if opposite else []
            hits = [
                j.hit
                for name in intents
                for j in judge_clauses(utterance, name, policy, drop_asked_suppositions=True)
                if _cue_stands(j.hit, policy) and not (j.via == "model" and _too_slight(j, contrary, policy))
            ]
        if hits:
            cues.append(hits[0])
    return cues


def _pattern_spans(utterance: Utterance, intent: str, policy: Policy) -> list[Hit]:
    return [j.hit for j in judge_clauses(utterance, intent, policy) if j.via == "pattern"]


# A clause this short (我叫王芳, 你们几点开门) gives the model too few n-grams to call it a complaint
# unless it is very sure; patterns and phrases still judge short clauses. A question resembling a
# complaint is more often a plain question (有没有老客户优惠) than a rhetorical one, so it needs more too.
_SHORT_CLAUSE_CHARS = 6
_SHORT_CLAUSE_SCORE = 0.9
_QUESTION_SCORE = 0.8


def _too_slight(judged: Judged, contrary: list[Hit], policy: Policy) -> bool:
    """A model-only cue that does not count: a pattern of the opposite intent meets it, or its
    clause is short and the model not sure."""
    if any(judged.hit.overlaps(other) for other in contrary):
        return True
    if len(match_form(judged.hit.match.matched)) < _SHORT_CLAUSE_CHARS and judged.score < _SHORT_CLAUSE_SCORE:
        return True
    return judged.score < _QUESTION_SCORE and _asks(judged.hit.utterance, judged.hit.match.start_char, policy)


def _complaint_cues(context: CallContext, policy: Policy) -> list[Hit]:
    """One cue per complaining customer utterance."""
    customer = customer_utterances(context.transcript)
    return _utterance_cues(customer, policy.complaint_cues, ("complaint",), policy, opposite="praise")


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
            comforted, _ = _answered(context, cue, policy.comfort_phrases, "comfort", policy)
            complaints.append((cue, comforted))
        comforted_all = _overall([comforted for _, comforted in complaints])
        if comforted_all is False:
            cue = complaints[0][0]
            message = "customer complained and the agent did not comfort them"
            findings.append(Finding("complaint_handling.no_comfort", Severity.MAJOR, message, (cue.evidence,)))
        details = {
            "complaint": bool(complaints),
            "comforted": comforted_all,
            "complaints": [
                {
                    "start_s": round(cue.evidence.start_s, 3),
                    "end_s": round(cue.evidence.end_s, 3),
                    "text": cue.utterance.text,
                    "comforted": comforted,
                }
                for cue, comforted in complaints
            ],
            "feedback": feedback,
        }
        return CheckResult(self.name, comforted_all, details, tuple(findings))


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
