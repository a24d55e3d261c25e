"""When a pattern's outcome stands: said of the head's subject, not negated, supposed or asked.

``rules.judge`` finds a head and an outcome of a policy pattern in a clause (您…错了, 我…保证); this
reads the words around them: a negation (您没记错), a modifier (不清楚的地方), a denial after it (停售了),
a supposition or a request (您是不是输错了, 帮您申请减免), a question of how often (您输错了几次), the
record of an event (系统显示您输错了五次), a fault found in a device (您手机信号的问题), or a switch to
我/我们 between 您 and the outcome (您说得没错是我看错了).
"""

from __future__ import annotations

import re

from qa_pipeline.text.analysis import TENTATIVE, Clause, negated_before, tokens_with_offsets
from qa_pipeline.text.match import PhraseMatch
from qa_pipeline.text.normalize import match_form
from qa_pipeline.text.questions import ASKS_OPENING
from qa_pipeline.types import Utterance

__all__ = ["YOURSELF", "closes", "modifies_what_follows", "outcome_stands"]


# After an outcome, these make it a modifier, not what is said of anyone (我不清楚的地方, 不行的话).
_MODIFIER_TAILS = ("的地方", "的话", "的时候", "的内容", "的部分", "的情况", "的客户",
                   "上的", "上来说", "上讲")  # 还有理论上的风险: 还有理论 (as ASR hears 还有理了) in a modifier


_FINAL_PARTICLES = frozenset(("吗", "呢", "吧", "嘛"))


# What 没(有) denies when it clears the customer (没有问题, 没错, 没关系, 没什么责任)
_NOTHING_WRONG = re.compile(r"(?:什么|啥)?(?:问题|错|关系|责任|影响|事)")


def _cleared(text: str, head: PhraseMatch, outcome: PhraseMatch) -> bool:
    """没(有) right after the head denies a fault (是您自己没有问题), not a duty (…操作晚了，跟我们没有关系
    still blames: the 没有 there is the disowning's)."""
    return outcome.phrase in ("没", "没有") and outcome.start_char - head.end_char <= 2 \
        and _NOTHING_WRONG.match(text, outcome.end_char) is not None


def _greets(text: str, head: PhraseMatch) -> bool:
    """The head's 你/您 is the greeting's (你好, 您好), not the one of 你好好看看 (look carefully)."""
    after = text[head.end_char:head.end_char + 2]
    return match_form(head.matched).endswith(("你", "您")) and after[:1] == "好" and after != "好好"


def outcome_stands(utterance: Utterance, clause: Clause, head: PhraseMatch | None, outcome: PhraseMatch) -> bool:
    """The outcome is said, of the head's subject: not negated (您没记错), not a modifier (不清楚的地方),
    not merely supposed (您是不是输错了) or asked for (帮您申请减免), and, after 你/您, no switch to 我/我们 in between
    (您说得没错是我看错了)."""
    if outcome.phrase not in _FINAL_PARTICLES and negated_before(clause, outcome.start_char):
        return False  # (a final 吗 after 都不会 asks; the 不 is the head's own)
    if modifies_what_follows(utterance.text, outcome.end_char):
        return False
    if _either_or(utterance.text, outcome):
        return False  # 这样理解对不对: the A-not-A question holds the outcome's words, not its verdict
    if _denied_after(utterance.text[outcome.end_char:clause.end_char]):
        return False
    if match_form(utterance.text[clause.start_char:outcome.start_char]).endswith(_WHOEVER):
        return False  # 不管谁让您转账，都不要转: whoever asks, a warning, not 谁让您 blaming the customer
    if _HEAR_OUT.search(match_form(outcome.phrase)) and not _IMPATIENT.search(match_form(utterance.text)) \
            and not _PLAIN_YOU.search(utterance.text[clause.start_char:outcome.start_char]):
        return False  # 您先听我说完嘛，这个月办还打八折: asking to finish a pitch, no reproach
    if head is None:
        return True
    if _greets(utterance.text, head):
        return False  # …女士你好 heard 是你好, then the greeting runs on: 你好 greets, it names no one
    if _cleared(utterance.text, head, outcome):
        return False  # 是您自己没有问题: nothing wrong said of the customer, no failing
    if outcome.end_char <= head.start_char:
        return closes(utterance, clause, head)  # …恢复使用，我保证: the commitment comes last
    between = utterance.text[head.end_char:outcome.start_char]
    before_head = match_form(utterance.text[clause.start_char:head.start_char])
    if any(word in between for word in TENTATIVE) or _asks_for(between):
        return False
    if match_form(head.phrase) in YOURSELF and "有没有" in between:
        return False  # 您自己有没有把密码告诉过别人: asked whether, not told to go (你有没有搞错 still retorts)
    if _of_equipment(between, outcome):
        return False  # 是您手机摄像头的问题: a fault found in a device, not blame laid on the customer
    if _raised_by_you(between, outcome):
        return False
    if before_head.endswith(_ASKING_YOU):
        return False  # 请您保证明天之前余额充足: the customer is asked to see to it
    if _guessed_of_you(before_head, head):
        return False
    if match_form(head.phrase) in _YOU_HEADS:
        if clause.question and any(w in utterance.text[clause.start_char:head.start_char] for w in TENTATIVE):
            return False  # 是不是您那边信号不好？: a supposition asked, not a verdict
        if ASKS_OPENING.search(before_head) or (
                clause.question and _HOW_MANY.search(utterance.text[outcome.end_char:clause.end_char])):
            return False  # 请问您输错了几次密码, 您一共输错过几次: asks how often, not a verdict
        if _counted(between, utterance.text[outcome.end_char:clause.end_char]):
            return False  # 您今天连续输错了五次: the record read out; 是您自己输错了五次 still blames
        if _reported(utterance.text[clause.start_char:head.start_char]):
            # 系统显示您输错了五次密码 records an event; 查到了，是您自己把户名填错了 (是 + 您) names who is at fault
            return _cleft(utterance.text[clause.start_char:head.start_char])
        return not any(token in _SELF_WORDS for token, _ in tokens_with_offsets(between))
    if match_form(head.phrase) in _SELF_HEADS:
        return not _you_as_subject(between)
    return True


def _either_or(text: str, outcome: PhraseMatch) -> bool:
    """A negated outcome (不对, 不行, 没用) right after its own positive word: 对不对, 行不行, 有没有用."""
    phrase = match_form(outcome.phrase)
    if len(phrase) < 2 or phrase[0] not in "不没" or outcome.start_char == 0:
        return False
    before = text[outcome.start_char - 1]
    return before == phrase[1] or (before == "有" and phrase[0] == "没")


# Things a fault can lie in; 是您<thing>的问题 diagnoses the thing (是您自己的问题 blames the person).
_EQUIPMENT = ("手机", "电脑", "网络", "信号", "摄像头", "浏览器", "设备", "版本", "路由器", "系统", "芯片", "磁条", "卡片",
              "读卡器", "网银盾", "U盾", "宽带", "流量", "软件", "APP", "app")
_CAUSES = ("的问题", "的原因", "的故障")


def _of_equipment(between: str, outcome: PhraseMatch) -> bool:
    """The outcome is a cause (的问题) and what stands before it is a thing of the customer's."""
    return match_form(outcome.phrase) in _CAUSES and any(thing in between for thing in _EQUIPMENT)


# Right after 您, a verb of telling or meeting with 的 makes the problem the one the customer raised
# (您上周反映的排队太久的问题, 是您刚才说的那个扣费的问题): named to follow it up, not blamed on them.
_RAISED = re.compile(r"(反映|反应|提到|提出|提|说|讲|问|咨询|投诉|遇到|碰到|讲到|说到)(过)?的")


def _raised_by_you(between: str, outcome: PhraseMatch) -> bool:
    return match_form(outcome.phrase) in _CAUSES and bool(_RAISED.search(between))


# A guess put before the customer named (可能是您输错了吧, 应该是您操作超时了) offers a likely cause; 可能是您自己
# 输错了 with 自己 still lays it on them.
_GUESSES = ("可能", "也许", "或许", "大概", "应该", "估计", "好像")


def _guessed_of_you(before: str, head: PhraseMatch) -> bool:
    form = match_form(head.phrase)
    if form in _YOU_HEADS:
        before = before[:-1] if before.endswith("是") else ""
    elif form not in ("是您", "是你"):
        return False
    return before.endswith(_GUESSES)


# Before a head, these ask the customer to do it (请您保证…, 您得保证…) or advise it (建议您自己去柜台查一下).
_ASKING_YOU = ("请您", "请你", "您要", "你要", "您得", "你得", "需要您", "麻烦您", "您需要", "你需要", "您务必", "您一定要",
               "建议", "麻烦")  # (a head may hold the 您: 建议 + 您自己去柜台查一下)


# After the outcome, these ask how often, how much or which (您输错了几次, 您记错的是哪一笔).
_HOW_MANY = re.compile(r"几|多少|哪")


# Right before an outcome such as 谁让您, these make it "whoever" (不管谁让您转账，都不要转).
_WHOEVER = ("不管", "无论", "不论", "甭管")
# Asking to be heard out is impatience only with a demand (听我说完行不行, 能不能先听我说完) or a reproach
# of being interrupted (一直打断我, 跟您解释半天了) or the customer cut off first (好了好了，…) in the same
# utterance, or said with a plain 你 (below); alone and with 您 it asks to finish a pitch.
_HEAR_OUT = re.compile(r"(?:听|让)我(?:说|讲|收|把话说|把话讲)完")  # 收: 说 as ASR often hears it
_IMPATIENT = re.compile(r"行不行|好不好|能不能|可不可以|行吗|好吗|打断|插嘴|插话|抢话|半天|几遍|说过|别急|急什么|着什么急"
                        r"|行了行了|好了好了|停停|停了停了|打住|打岔|说完好吧|讲完好吧")
# 你先听我说完 tells the customer to hear the agent out in the plain 你 an agent keeps from customers (您): the
# register is the impatience, with no demand or reproach beside it (你们 is the bank's people, not the customer).
_PLAIN_YOU = re.compile(r"你(?!们)")
# A mistake counted (连续输错, 输错了三次): how the record reads. 自己 makes it blame again.
_TIMES = re.compile(r"^了?[一二两三四五六七八九十\d]+(?:次|遍|回)")


def _counted(between: str, after: str) -> bool:
    return "自己" not in between and ("连续" in between or bool(_TIMES.match(after)))


# Before 你/您, these make what follows a reading of the records (系统显示您…, 我这边查到您…).
_EVIDENTIAL = ("显示", "记录", "查到", "查询到", "看到", "记载", "提示")


def _reported(before_head: str) -> bool:
    return any(word in before_head for word in _EVIDENTIAL)


def _cleft(before_head: str) -> bool:
    """The customer is the focus of a 是…的/是…了 verdict (原因是您…, 这个是您…): blame, whatever the record says."""
    return match_form(before_head).endswith("是")


def _you_as_subject(between: str) -> bool:
    """A 你/您 not governed by a preposition (给您, 帮您, 跟您…) starts a new subject:
    我再说一遍您看哪里不清楚 is about the customer not knowing, not the agent."""
    tokens = [token for token, _ in tokens_with_offsets(between)]
    return any(token in _YOU_HEADS and (n == 0 or tokens[n - 1] not in _GOVERNING)
               for n, token in enumerate(tokens))


# At the end of the clause, these deny that the outcome exists at all (保本理财现在已经没有了).
_DENIED_TAILS = ("没有了", "没了", "不存在了", "不存在", "停售了", "不卖了", "下架了")


def _denied_after(rest: str) -> bool:
    """The rest of the clause after an outcome ends by denying it exists (…理财现在已经没有了)."""
    return match_form(rest).endswith(_DENIED_TAILS)


def modifies_what_follows(text: str, end_char: int) -> bool:
    """True when the words ending at ``end_char`` describe a noun after them (不清楚的地方, 不行的话)."""
    return text.startswith(_MODIFIER_TAILS, end_char)


# Between head and outcome, these turn a grant into a request or a check (帮您申请减免, 给您问一下能不能免).
_REQUESTING = ("申请", "提交", "发起", "反映", "反馈", "争取", "问一下", "问问", "登记", "上报", "报上去", "咨询", "核实",
               "查一下", "查查", "看看", "看一下", "试试", "试一下", "催一下", "催催")

def closes(utterance: Utterance, clause: Clause, head: PhraseMatch) -> bool:
    """A commitment head ends its clause (only particles after it): 明天就能用，我保证."""
    if not any(word in match_form(head.phrase) for word in _COMMITMENTS):
        return False
    rest = utterance.text[head.end_char:clause.end_char]
    return all(not c.isalnum() or c in "的啊呀了" for c in rest)


_COMMITMENTS = ("保证", "承诺", "担保", "打包票", "发誓")


def _asks_for(between: str) -> bool:
    """A request verb governs what follows (帮您申请减免); 您的申请 or 申请的补偿 are nouns, not requests."""
    for word in _REQUESTING:
        at = between.find(word)
        while at >= 0:
            if between[at - 1:at] != "的" and between[at + len(word):at + len(word) + 1] != "的":
                return True
            at = between.find(word, at + 1)
    return False


_YOU_HEADS = frozenset(("你", "您"))
_SELF_WORDS = frozenset(("我", "我们", "咱们"))
_SELF_HEADS = frozenset(("我", "我们", "我这边", "这个我", "我也"))
# The customer named as doing it themself (您自己查吧, 你自己有没有…).
YOURSELF = ("您自己", "你自己")
# Prepositions and verbs that take 你/您 as their object, not as a new subject.
_GOVERNING = frozenset(("给", "帮", "为", "跟", "和", "向", "对", "替", "让", "把", "请", "告诉", "叫", "同", "与", "陪"))
