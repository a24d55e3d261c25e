"""Unauthorised promises: which pledges, guarantees and grants said on the call stand as promises.

A listed promise phrase or a head…tail pattern counts unless negated, hedged, asked or supposed; the
``promise`` intent's model adds clauses in other words. Promises count once per sentence unless pledged
anew or granted on top (再给您补偿, 以后也不收了); the agent's own job (我一定给您回电话), verdicts
(那肯定不行), guesses at feelings, purposes, rule consequences (这样就不会逾期了) and apologies for trouble
caused are no commitment (``rules.phrases`` reports them as the unauthorized_promise check).
"""

from __future__ import annotations

import re

from qa_pipeline.policy.policy import Policy
from qa_pipeline.rules.base import Hit
from qa_pipeline.rules.judge import Judged, clauses_of, judge_clauses, scope_of, sound_hits
from qa_pipeline.text.analysis import SUPPOSING, Clause, sentence_index, sentence_start
from qa_pipeline.text.match import PhraseMatch, find_gapped
from qa_pipeline.text.normalize import match_form
from qa_pipeline.types import Utterance

__all__ = ["REASSURING", "promise_hits", "promise_judgements"]

# Reassurance said first (您放心，…): what follows reassures, neither a taboo nor an avoided-outcome rule.
REASSURING = ("您放心", "你放心", "请放心", "放心吧", "别担心", "不用担心", "您别担心")


def _stands(hit: Hit, policy: Policy) -> bool:
    """A promise counts unless negated or hedged before it, asked, or only supposed (如果…); a final
    吧 alone does not ask (那这笔费用我给您退了吧)."""
    clause, cancelled = scope_of(hit, policy)
    if _campaign(hit):
        return False  # 我们这边有个分期活动，手续费打八折: a campaign's standard terms told, not a favour granted
    asked = clause is not None and clause.question and not clause.only_by_ba
    if _undone_in_place(hit, clause):
        return False
    return clause is None or not (cancelled or asked or _only_supposed(hit.utterance, clause))


def _undone_in_place(hit: Hit, clause: Clause | None) -> bool:
    """What a phrase's or a pattern's finding names is not pledged where it stands: inability between
    its words (我们没办法直接退回来), a bare refusal in the next clause (马上拿回来，办不了: the customer's
    wish echoed, then refused), or advice to the customer before it (建议您马上…拿到回执)."""
    refused = clause is not None and _refused_next(hit.utterance.text, clause.end_char)
    return _unable_between(hit) or refused or _advised(hit)


# Inability said between a pattern's head and its outcome (我们没办法…退回来, 给您没法…免掉).
_UNABLE = ("没办法", "没有办法", "没法", "无法", "不能", "不可能", "做不到", "办不到")


def _unable_between(hit: Hit) -> bool:
    """我们没办法直接退回来: a head and an outcome with the inability between them promise nothing."""
    return any(word in match_form(hit.match.matched) for word in _UNABLE)


# Advice to the customer (建议您马上去派出所报案，拿到回执…): what follows is the customer's to do.
_ADVISING = ("建议您", "建议你", "您需要", "你需要", "您最好", "你最好")


def _advised(hit: Hit) -> bool:
    """Advice opens the sentence before the hit and neither 我/我们 nor a reassurance (您放心) takes over
    before it (建议您马上带上身份证去网点，拿到回执; but 建议您先等等，我们马上给您退回来 commits)."""
    text = hit.utterance.text
    before = match_form(text[sentence_start(text, hit.match.start_char):hit.match.start_char])
    at = max((before.rfind(word) + len(word) for word in _ADVISING if word in before), default=-1)
    return at >= 0 and "我" not in before[at:] and not any(word in before[at:] for word in REASSURING)


# Condition words; 只要 (as long as) is the one that makes what follows a guarantee when pledged.
_SUPPOSITIONS = (*SUPPOSING, "只要")


def _only_supposed(utterance: Utterance, clause: Clause | None) -> bool:
    """The clause is hypothetical and not a pledged outcome of 只要 (只要您今天报案，就肯定能给您追回来
    guarantees; 只要按时还款就不收利息 states the rule; 如果…肯定… only supposes)."""
    if clause is None or not clause.hypothetical:
        return False
    start = sentence_start(utterance.text, clause.start_char)
    said = match_form(utterance.text[start:clause.end_char])
    last = max(_SUPPOSITIONS, key=said.rfind)
    return not (last == "只要" and last in said and any(p in match_form(clause.text) for p in _PLEDGES))


# A campaign or its standard terms named before the outcome (…的优惠活动, 活动期间, 促销).
_CAMPAIGN = re.compile(r"活动|促销|优惠政策")


def _campaign(hit: Hit) -> bool:
    """The campaign is named in the finding or just before it, in the same clause."""
    before = _CLAUSE_SPLIT.split(hit.utterance.text[max(0, hit.match.start_char - 12):hit.match.start_char])[-1]
    return bool(_CAMPAIGN.search(before + hit.match.matched))


def promise_hits(utterances: tuple[Utterance, ...], policy: Policy) -> list[Hit]:
    return [judged.hit for judged in promise_judgements(utterances, policy)]


def promise_judgements(utterances: tuple[Utterance, ...], policy: Policy) -> list[Judged]:
    """Listed promises and head…tail patterns that stand, then clauses the ``promise`` intent recognises."""
    hits = sound_hits(utterances, policy.promise_phrases, policy)
    for utterance in utterances:
        for pattern in policy.promise_patterns:
            for match in find_gapped(utterance.text, pattern, policy.matching):
                hit = Hit(utterance, match)
                if not any(hit.overlaps(other) for other in hits):
                    hits.append(hit)
    found = [Judged(h, "phrase", h.match.phrase, h.match.similarity) for h in hits if _stands(h, policy)]
    found = [j for j in found if not _own_job(j, policy)]
    for utterance in utterances:
        judged_clauses = judge_clauses(utterance, "promise", policy, drop_questions=True, drop_hedged=True)
        judged_clauses = [j for j in judged_clauses if not _only_supposed(utterance, scope_of(j.hit, policy)[0])]
        # within a sentence a pattern's reading comes before the model's (这个您放心…稳赚不赔)
        for judged in sorted(judged_clauses, key=lambda j: (j.via == "model", j.hit.match.start_char)):
            if (judged.via == "model" and _not_a_commitment(judged, policy)) or _own_job(judged, policy) or _campaign(judged.hit):
                continue
            if judged.via == "pattern" and _undone_in_place(judged.hit, scope_of(judged.hit, policy)[0]):
                continue
            if not any(judged.hit.overlaps(other.hit) or _same_sentence(judged.hit, other.hit) for other in found):
                found.append(judged)
    found.sort(key=lambda j: (j.hit.utterance.start_s, j.hit.match.start_char))
    return found


def _same_sentence(a: Hit, b: Hit) -> bool:
    """Promises are counted per sentence (这款我跟您打包票，…一分钱都不会亏 is one guarantee), unless a
    later clause pledges anew, adds a promise with 另外 or 再给, or grants the charges to come (以后也不收)."""
    text = a.utterance.text
    if a.utterance is not b.utterance:
        return False
    first, second = sorted((a.match, b.match), key=lambda m: m.start_char)
    between = text[first.end_char: second.start_char]
    if any(word in between + match_form(second.matched)[:_ADDED_REACH] for word in _ADDED):
        return False  # 手续费全退，另外再补偿您话费: a second promise on top of the first
    same = sentence_index(text, first.start_char) == sentence_index(text, second.start_char)
    if not _complete(second) and _complete(first):
        return same  # …退到您卡上，这个我可以打包票
    if not _complete(first) and _pledges_next(between):
        return same  # 我这边跟您保证，今天下午之前一定到账: the pledge, then what it pledges
    if _when_of_the_last(text, first, second):
        return True  # 肯定能批下来。三天之内就能放款: the time of the outcome just promised
    breaks = [at for at, c in enumerate(between) if c in _CLAUSE_BREAKS]
    last_clause = text[first.end_char + breaks[-1]: second.end_char] if breaks else ""
    if _complete(first) and match_form(last_clause).startswith(_FROM_NOW_ON):
        return False  # 这笔年费给您免了，以后每年都不收了: this charge waived, and the ones to come
    if any(p in last_clause for p in _PLEDGES):
        return False  # 我保证明天一定到账，绝对耽误不了您的事; …退给您，以后再也不会…: a second pledge
    if not breaks and _complete(first) and any(p in text[first.end_char: second.end_char] for p in _PLEDGES):
        return False  # …给您免了以后每年也肯定都给您免, as ASR writes it without the comma: a second pledge
    return same


# A sentence opening with a time (三天之内…, 明天…, 下周一前…).
_OPENS_WITH_TIME = re.compile(r"^(?:[一二两三四五六七八九十几半\d]+个?(?:工作日|天|小时|分钟|周|星期|个月)(?:之内|以内|内|后|之后)?"
                              r"|今天|明天|后天|大后天|下周|本周|这周|月底|月初|马上|立刻|当天)")


def _pledges_next(between: str) -> bool:
    """Only a time or a short aside stands between a bare pledge and what it pledges: at most one
    clause break and no pledge of its own (…保证下周之前额度一定调好，利息肯定… pledges twice)."""
    return sum(c in _CLAUSE_BREAKS for c in between) <= 1 and not any(p in between for p in _PLEDGES)


def _when_of_the_last(text: str, first: PhraseMatch, second: PhraseMatch) -> bool:
    """The second finding opens the very next sentence with a time and no pledge of its own: it tells
    when the first finding's outcome comes, one promise."""
    if sentence_index(text, second.start_char) != sentence_index(text, first.start_char) + 1:
        return False
    start = sentence_start(text, second.start_char)
    opening = match_form(text[start:second.end_char])
    return bool(_OPENS_WITH_TIME.match(opening)) and not any(p in opening for p in _PLEDGES) and not any(
        word in opening for word in _ADDED)


def _complete(match: PhraseMatch) -> bool:
    """The finding says what is promised, not only the pledge or its time (我保证… or 保证今天… of
    我保证今天下午一定到账)."""
    said = match_form(match.matched)
    return len(said) > 2 and not any(said.endswith(w) for w in (*_PLEDGES, *_WHEN))


_WHEN = ("今天", "明天", "后天", "之前", "以前", "之内", "以内", "前", "内", "马上", "立刻", "当天", "月底", "年底")


# 另外/额外 may open the second finding itself (…退给您，我再额外补偿您五十元).
_ADDED_REACH = 4
_ADDED = ("另外", "此外", "同时", "并且", "而且", "额外", "再给", "再补", "再赔", "再送")
# A clause about the charges to come (以后也不收了, 下次就不会再扣了) after a waiver of this one: a second grant.
_FROM_NOW_ON = ("以后", "今后", "往后", "下次", "下回", "从下个月", "下个月起", "从明年", "明年起")
# A clause pledged anew by its own adverb counts apart; one carried by the first pledge does not
# (这笔钱肯定能给您退回来，三天之内就到账 is one promise).
_PLEDGES = ("保证", "一定", "肯定", "绝对", "百分之百", "保准", "准保", "打包票", "担保", "包您", "再也")
_CLAUSE_BREAKS = "，,；;。！!？?"
_CLAUSE_SPLIT = re.compile(f"[{_CLAUSE_BREAKS}]")


# 肯定/一定 before a refusal gives a verdict, and before the customer's feelings a guess: no commitment.
_REFUSED = ("不行", "不可以", "办不了", "没办法", "做不到", "不能办", "不给办", "不能撤")
# A pledge word before a verb that cannot reach its end, with no 您 after: a forecast, not a promise.
_CANNOT_YET = re.compile(r"(?:肯定|一定)[\u4e00-\u9fff]{0,4}?[\u4e00-\u9fff]不(?:到|了|下来|成|出来|回来|上)(?![^，,。；;！!？?]*[您你])")
_FEELING_GUESSED = re.compile(r"(?:肯定|一定)(?:是|会|也|很|挺|特别|非常)?(?:不舒服|着急|生气|难受|委屈|不好受|窝火|上火|闹心|心疼|郁闷)")


# A verb with 一下 tries or looks (我给您算一下, 帮您查一下): the agent's own work, never a guarantee.
_TRYING = re.compile(r"[\u4e00-\u9fff]一下[吧啊哈]?$")


# The agent's own job, however firmly said (我一定给您回个电话, 我保证把您的意见转上去; 请稍等，我马上回来
# back on the line): no outcome promised.
_OWN_JOB = ("回电话", "回个电话", "回电", "回复您", "联系您", "通知您", "告诉您进展", "转上去", "反馈上去", "帮您反馈", "登记", "转给",
            "跟进", "记录下来", "转达", "报上去", "我马上回来", "我很快回来", "我马上就回来")
# A clause that is only the agent's return (马上回来, 好的我马上就回来), also after what they go to do
# (我查到以后马上回来, 我核实完很快回来); 钱马上就回来了 names what returns, and so does any money word.
_BACK_SOON = re.compile(r"^(?:好的?|好嘞|行|嗯|那|您稍等|稍等)*(?:我(?:这边)?[^钱款账费息退额]{0,8}?)?"
                        r"(?:马上|立刻|立马|很快)就?回来[了啊哈啦]?$")
# What someone else said, mentioned (理财经理说的保证收益…, 所谓的稳赚): not said by the agent.
_MENTIONED = re.compile(r"(?:说的|讲的|所谓的?|说什么)$")


# How far past the promise the job it pledges may be said (我保证把您的意见转上去): further on, a job
# belongs to the next sentence run on without a comma (…满意的答复这个事情我们会尽快回复您).
_OWN_JOB_REACH = 8


def _own_job(judged: Judged, policy: Policy) -> bool:
    clause, _ = scope_of(judged.hit, policy)
    hit = judged.hit
    if clause is not None and _BACK_SOON.match(match_form(clause.text)):
        return True  # 好的，马上回来 (before a hold): the agent's own return, no outcome
    if clause is None:
        text = match_form(hit.match.matched)
    else:
        text = match_form(hit.utterance.text[clause.start_char:min(clause.end_char, hit.match.end_char + _OWN_JOB_REACH)])
    before = match_form(hit.utterance.text[max(hit.match.start_char - 4, 0): hit.match.start_char])
    own = [text.find(word) + len(word) for word in _OWN_JOB if word in text]
    if own and any(outcome in text[min(own):] for outcome in _OUTCOMES_AFTER):
        return False  # 一定有人联系您处理好: the call-back carries the outcome with it
    if any(word in text for word in _CALL_BACK) and _DEADLINE.search(text):
        return False  # 明天中午前一定给您回个电话: a call-back pledged by a deadline binds the bank
    return bool(own) or bool(_MENTIONED.search(before))


_OUTCOMES_AFTER = ("处理好", "解决", "办好", "办妥", "搞定", "弄好", "到账", "退回", "退给您")
# A call-back pledged with a deadline (明天中午前一定给您回个电话, 周五之前我肯定联系您) commits
# the bank to a time, as a recommended 我们会尽快…回复您 does not: writers of labelled calls count it a
# promise in every such turn (14 of 14), and never a firm call-back without one.
_CALL_BACK = ("回电话", "回个电话", "回电", "回复您", "联系您", "通知您")
_DEADLINE = re.compile(r"今天|明天|后天|下周|本周|这周|[之以]前|[之以]内|下班前|[点号]前|小时内|天内")


def _not_a_commitment(judged: Judged, policy: Policy) -> bool:
    """A clause the model took for a promise that reads otherwise: a tentative action (算一下), a
    purpose (为了…), or a clause a forbidden pattern meets (你这样算肯定不对: 肯定 in a verdict, not in a commitment)."""
    clause, _ = scope_of(judged.hit, policy)
    if clause is not None and (_TRYING.search(match_form(clause.text)) or clause.text.startswith("为了")):
        return True  # 为了弥补您的损失，…: the purpose; what the agent commits to follows it
    if clause is not None and (any(r in clause.text for r in _REFUSED) or _FEELING_GUESSED.search(clause.text)):
        return True  # 那肯定不行: a verdict; 您心里肯定不舒服: a guess at the customer's feelings
    if clause is not None and _refused_next(judged.hit.utterance.text, clause.end_char):
        return True  # 我们这边直接给您退，办不了: the clause after it refuses what it names
    if clause is not None and _CANNOT_YET.search(clause.text):
        return True  # 今天肯定拿不到的: what cannot happen foretold (绝对耽误不了您的事 still pledges)
    if clause is not None and _rule_consequence(judged.hit.utterance, clause, policy):
        return True
    if clause is not None and _trouble_caused(clause):
        return True  # 给您带来这么多困扰: what an apology regrets
    if clause is not None and _NO_PLEDGE.search(match_form(clause.text)):
        return True  # 谢谢您的肯定; 您补上以后…; 我肯定比他清楚; 不是我们不给您算; 给您准备了新卡
    if clause is not None and _customer_step(clause):
        return True  # 您月底之前存进去就行: what the customer has to do, not what the bank commits to
    forbidden = judge_clauses(judged.hit.utterance, "forbidden", policy)
    return any(f.via == "pattern" and f.hit.overlaps(judged.hit) for f in forbidden)


# A clause ending in "that will do" (就行/就可以了/即可): the customer's own step, told as enough.
_ENOUGH = re.compile(r"(?:就行|就可以|就好|即可)(?:了|啦|的|啊|哈)?$")
_FOR_THE_CUSTOMER = ("给您", "帮您", "为您", "替您", "给你", "帮你", "替你")


def _customer_step(clause: Clause) -> bool:
    """The clause tells what is enough for the customer to do (您三号之前还上就行), with nothing the
    bank does for them and no pledge (我们明天给您退回去就行 still commits)."""
    text = match_form(clause.text)
    return bool(_ENOUGH.search(text)) and not any(w in text for w in (*_FOR_THE_CUSTOMER, *_PLEDGES))


def _refused_next(text: str, end: int) -> bool:
    """The next clause of the sentence is only a refusal (…，办不了 / …，这个不行)."""
    after = _CLAUSE_SPLIT.split(text[end:].lstrip("，,；; "), maxsplit=1)[0]
    return bool(after) and len(after) <= 6 and any(after.endswith(r) or after.endswith(r + "的") for r in _REFUSED)


# Clauses whose pledge words pledge nothing: thanks (谢谢您的肯定), the customer's own step as the time
# of what follows (您补上以后), people compared (肯定比他清楚), a refusal denied (不是我们不给您算), a
# service already rendered (我们给您准备了新卡), and one not rendered (酒店没给您撤销: what happened, told).
_NO_PLEDGE = re.compile(r"^(?:好的|嗯)?(?:谢谢|感谢|多谢)(?:您|你)?的?(?:肯定|认可|支持|信任|夸奖|表扬|好评|鼓励)[啊呀]?$|^(?:等|待)?(?:您|你)[\u4e00-\u9fff]{1,6}(?:以后|之后)$"
                        r"|(?:肯定|一定)比(?:他|她|他们|别人|您|你|我)|^(?:这)?不是(?:我们|我)不"
                        r"|给(?:您|你)(?:准备|寄出|发送|安排|预约|登记|开通|设置)(?:好)?了|没(?:有)?(?:给|帮|替)(?:您|你)")


# What follows from the customer's own choice or an arrangement, by the bank's rules (设置自动还款，
# 这样就不会逾期了; 建议您选全额还款，不会产生利息): an explanation, unless pledged or about a product's return.
_ARRANGED = ("这样", "那样", "这么一来", "那么一来")
_AVOIDED = ("不会", "不用", "不再", "就不")
_RETURNS = ("亏", "赚", "收益", "本金", "风险", "损失", "回报")
_REASSURING_FORMS = tuple(match_form(r) for r in REASSURING)


# 给您带来 / 给您的生意造成 / 让您受: what the bank's fault did to the customer (or to their business,
# their work: a short possession between them)
_TROUBLE = re.compile(r"(?:给|让|令)(?:您|你)(?:的[\u4e00-\u9fff]{1,4})?(?:带来|造成|添|受)")


def _trouble_caused(clause: Clause) -> bool:
    """给您带来(这么多)困扰/不便, 给您的生意带来了影响: the trouble the bank caused, said in apology; never
    a promise unless pledged or about a return (保证给您带来百分之五的收益)."""
    text = match_form(clause.text)
    return bool(_TROUBLE.search(text)) and not any(w in text for w in (*_PLEDGES, *_RETURNS))


def _pledged_before(utterance: Utterance, clause: Clause) -> bool:
    """A pledge (保证/一定…, 答应, 承诺) earlier in the clause's sentence carries it (我保证…，不会影响征信)."""
    start = sentence_start(utterance.text, clause.start_char)
    earlier = match_form(utterance.text[start:clause.start_char])
    return any(word in earlier for word in (*_PLEDGES, "答应", "承诺"))


# A threshold met, then 就: the rule's condition inside the clause (余额保持在三百以上就不会扣).
_RULE_IN_CLAUSE = re.compile(r"(以上|以下|保持|满|够|达到).{0,3}就")


def _rule_consequence(utterance: Utterance, clause: Clause, policy: Policy) -> bool:
    """An avoided outcome (不会/不用…), neither pledged nor about a product's return: opened by 这样/那样
    or after a threshold in its own clause (…以上就不会扣), with no pledge earlier in its sentence
    (还上就不会上报, 以后就不会再收了: a fact the model took for a promise), or following a clause of the
    same sentence that speaks to the customer (建议您…, 您今天还上…), neither pledged nor reassuring."""
    text = match_form(clause.text)
    if any(p in text for p in _PLEDGES) or any(r in text for r in _RETURNS) or not any(a in text for a in _AVOIDED):
        return False
    if text.startswith(_ARRANGED) or _RULE_IN_CLAUSE.search(text) or not _pledged_before(utterance, clause):
        return True
    clauses = clauses_of(utterance, policy)
    before = [c for c in clauses if c.end_char <= clause.start_char]
    if not before:
        return False
    previous = before[-1]
    same = sentence_index(utterance.text, previous.start_char) == sentence_index(utterance.text, clause.start_char)
    opening = match_form(previous.text)
    if any(word in opening for word in (*_PLEDGES, "答应", "承诺")):
        return False  # 我代表银行答应您，以后不会再…: the commitment is in the clause before
    return same and ("您" in opening or "你" in opening) and not opening.startswith(_REASSURING_FORMS)
