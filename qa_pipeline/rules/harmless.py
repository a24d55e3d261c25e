"""Clauses that read as no taboo whatever a model or a loose pattern made of them: proposals and
suppositions, leaving a choice to the customer, declining to promise, reassurance, advice, wishes,
and the courtesy or discourse clauses of a call (跟您说实话, 那就不打扰您了, 还有别的事吗)."""

from __future__ import annotations

import re

from qa_pipeline.text.analysis import TENTATIVE, Clause, negated_before, seeks_agreement
from qa_pipeline.text.normalize import match_form

__all__ = ["CHECK_FOR_YOURSELF", "PERMITTED", "clears_customer", "reads_otherwise"]

# 不买也没关系, 不办也行: leaving it to the customer, not refusing; 卡号不知道没关系 says it without 也 (the
# words between never name a party: 不是跟我们没关系 disowns)
PERMITTED = re.compile(r"不.{1,4}也(?:没关系|没事|行|可以|不要紧)|不[^跟和与同关，。？！,.?!\s]{1,3}(?:没关系|没事|不要紧)")
_COMMITMENTS = ("保证", "打包票", "承诺", "担保", "保票")


def reads_otherwise(clause: Clause) -> bool:
    """A proposal (您看行不行), a supposition or a plain question (不然没法核实; 是不是您那边信号不好？;
    您是不是换手机了？), leaving it to the customer (不办也没关系), declining to promise, what nobody
    else can do, clearing the customer (并不是您的问题), a suspicion (觉得不对劲), a step told (您把旧卡
    剪掉就行了), a wish, or a clause of courtesy or discourse (跟您说实话; 那就不打扰您了; 还有别的事吗):
    never a taboo."""
    opening = clause.text.lstrip("，, ")
    opening = next((opening[len(w):] for w in _TURNS if opening.startswith(w)), opening)  # 不过是不是…
    said = match_form(clause.text)
    if seeks_agreement(clause) or clause.hypothetical or (clause.question and opening.startswith(TENTATIVE)):
        return True
    if clause.question and opening.lstrip("您你").startswith(TENTATIVE) and not _MOCKING_ASKED.search(opening):
        return True  # 您是不是换手机了？: asking what happened, unless it asks what the customer cannot do
    if _CONCEDED.match(said):
        return True  # 就算您刷不满，(我这边也…): a concession supposed, its consequence in the next clause
    if _SO_THAT.match(said):
        return True  # …设置出行提醒，这样就不会被拦了: what the advice spares the customer
    if _WISH.search(said):
        return True  # 祝您新婚快乐 (祝 heard 就): a wish
    if _OPENER.match(said) or _LEAVE_TAKING.match(said) or _ANYTHING_ELSE.match(opening) or _STEPS.search(said):
        return True
    return (_declines_to_promise(clause) or bool(PERMITTED.search(clause.text) or _OTHERS_CANNOT.search(clause.text)
            or _CLEARS_YOU.search(clause.text) or _NOT_REFUSING.match(opening) or _OF_YOUR_CHOOSING.search(said)
            or CHECK_FOR_YOURSELF.search(said) or _ANY_MISSING.search(said) or "不对劲" in clause.text))


_TURNS = ("不过", "但是", "可是", "只是", "但")
# Taking leave without disturbing the customer further (那就不打扰您了, 打扰 often heard as 打叫/打绕).
_LEAVE_TAKING = re.compile(r"^(?:好的|好|嗯)?(?:那|那就|那我就|那我们就|就)?不(?:再)?打[\u4e00-\u9fff]?(?:您|你)了?(?:啊|哈)?$")
# Asking whether the customer needs anything else (还有别的事吗, 您还有其他问题没有, 没别的事了吧): the
# closing courtesy.
_ANYTHING_ELSE = re.compile(r"^(?:嗯|好|好的|那|那么|行)?(?:请问)?(?:您|你)?(?:看|这边|那边)?(?:还有(?:别的|其他|其它|什么)的?(?:事|问题|需要|业务)"
                            r"|没有?(?:别的|其他|其它|什么)的?(?:事|问题|需要|业务)(?:情|了)*(?:吧|吗|呢)?[？?。！!，, ]*$)")
# A thing described by what the customer can do (设一个您自己记得住的密码), or left to the customer's own
# plans (主要看您自己的安排): advice, not blame.
_OF_YOUR_CHOOSING = re.compile(r"一个(?:只有)?(?:您|你)自己[\u4e00-\u9fff]{1,5}的"
                               r"|看(?:您|你)(?:自己)?的?(?:安排|需要|需求|意愿|选择|方便|时间|打算|情况)"
                               r"|^(?:您|你)自己[\u4e00-\u9fff]{1,5}的(?!问题|原因|责任|错|事|过失)[\u4e00-\u9fff]{1,3}$")
# What a 您是不是…? asks when it mocks (你是不是没上过网啊, 您是不是不识字): what the customer lacks.
_MOCKING_ASKED = re.compile(r"没|不会|不懂|不识|不认|看不|听不|傻|脑子|眼睛|耳朵")
# A concession alone in its clause (就算您刷不满, 即使您忘了): supposed; with 也/都/还是 in the same clause
# (哪怕您打一百遍也没用) the consequence is said there and may be the taboo.
_CONCEDED = re.compile(r"^(?:就算|即使|哪怕|即便|纵然)(?!.*(?:也|都|还是))")
_SO_THAT = re.compile(r"^(?:这样|那样|这么一来|这样一来|这样的话)(?:就|也|便)?(?:不会|不用|不必|不怕)")
_WISH = re.compile(r"(?:快乐|愉快|顺利|顺心|健康|开心|如意)(?:啊|呀)?$")
# A step told and its end (您把旧卡剪掉就行了): an instruction, however 就行了 sounds.
_STEPS = re.compile(r"(?:您|你)(?:先|再|直接)?把[\u4e00-\u9fff]{1,10}就(?:行|可以|好)了?")
# Denying a refusal (不是我们不给您算, 不是不给您办): the rule explained.
_NOT_REFUSING = re.compile(r"^(?:这|那)?(?:并)?不是(?:我们|我)?不")
# Something to check, asked as a question (您自己看看是不是绑了自动扣费, 你先查查有没有这笔): advice.
CHECK_FOR_YOURSELF = re.compile(r"(?:您|你)(?:自己)?(?:先|再)?(?:看看|查查|瞧瞧|找找)(?:是不是|有没有|是否|还有没有|哪)")
# Clearing the customer (并不是您的信用有问题, 不是您的原因): reassurance, not blame.
_CLEARS_YOU = re.compile(r"不是(?:您|你)(?:自己|本人)?的?[\u4e00-\u9fff]{0,4}(?:问题|原因|责任|过错|错)")
# A clause that only announces frankness (跟您说实话, 老实讲, 说句心里话): what follows is the message.
_OPENER = re.compile(r"^(?:那|嗯|哎)?(?:我)?(?:跟您|跟你|和您|给您|同您|对您)?(?:说|讲)(?:句)?(?:实话|实在话|心里话|真心话|老实话)(?:吧|啊)?$"
                     r"|^(?:老实|坦白|实话|说实在的|讲真)(?:说|讲)?(?:吧|啊)?$")


# What nobody else can do to the customer's money (挂失以后别人刷不了, 任何人都转不走, 关了以后平台就扣不了了,
# 这样别人就没法用了):
# reassurance.
_OTHERS_CANNOT = re.compile(r"(?:别人|其他人|任何人|外人|他人|骗子|对方|平台|商户|商家|第三方)(?:[\u4e00-\u9fff]{1,5}不(?:了|走|掉|出|到)"
                            r"|(?:就|也|都|再|便)*(?:没法|没办法|无法))")
# A requirement stated (缺一样都办不了, 少了哪一份也不行): what the customer must bring, not a refusal.
_ANY_MISSING = re.compile(r"(?:缺|少)了?(?:任何|其中)?(?:哪一?|一)(?:样|个|项|份|张|种)")


def _declines_to_promise(clause: Clause) -> bool:
    """我这边也不好跟您打包票: declining to promise is the careful answer, not a refusal to help."""
    return any(negated_before(clause, clause.start_char + at) for word in _COMMITMENTS
               if (at := clause.text.find(word)) >= 0)


def clears_customer(clause: Clause, start_char: int) -> bool:
    """The blame at ``start_char`` (offset into the utterance) is denied in a statement: 这不是您弄错了
    clears the customer; asked (这不是你弄错了吗？) it still blames them."""
    if clause.question or clause.in_question:
        return False
    at = start_char - clause.start_char
    return any(m.start() < at < m.end() for m in _CLEARS_YOU.finditer(clause.text))
