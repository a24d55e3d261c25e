"""How a complaint or a comfort is said: the readings the complaint-handling check adds to the judgement.

A complaint cue does not count when it is someone else's complaint retold (我邻居说他投诉过, 听说…) or a
stranger's scam reported to the bank (有人冒充你们…), nor when only the model saw it and the clause is
praise, very short, or a plain question. A comfort hit does not count when it denies the fault
(这不是我们的责任), when an apology only opens a request (不好意思，请问您贵姓), or when "understanding"
restates the request (我理解您是想退年费对吗). A thanks does not answer praise or a suggestion when it
thanks for something else (谢谢您的耐心等待, 感谢您的来电) or only acknowledges before process talk
(好的谢谢，那我给您查一下).
"""

from __future__ import annotations

import re

from qa_pipeline.policy.policy import Policy
from qa_pipeline.rules.base import Hit
from qa_pipeline.rules.judge import Judged, clauses_of, holds_any
from qa_pipeline.text.analysis import clause_at, first_sentence, negated_before, sentence_start
from qa_pipeline.text.normalize import match_form
from qa_pipeline.types import Utterance

__all__ = ["asks", "comforts", "merchant_matter", "retold", "taken_back", "thanks_feedback", "too_slight"]


# An apology that only opens a request (不好意思，请问您贵姓 / 抱歉我没听清) is politeness, not comfort;
# 非常抱歉，请问… is still an apology to the upset customer.
_APOLOGIES = ("不好意思", "抱歉", "对不起", "打扰")
_INTENSIFIERS = ("非常", "很", "真", "太", "实在", "十分", "特别", "万分", "深表", "确实", "太过")
_REQUESTS = ("请", "麻烦", "您再", "你再", "再说", "再讲", "您的", "你的", "您是", "你是", "您贵姓", "贵姓", "怎么称呼", "没听清",
             "没听到", "听不清", "打断", "打扰", "信号", "稍等", "您说一下", "您报一下", "我确认", "我核对", "插一句", "插句话", "插一下",
             "您刚才说", "你刚才说", "您能再", "你能再", "您能说", "您能报", "跟您确认", "确认一下", "核实一下", "说慢",
             "慢一点", "再报")
# The agent's own small slips an apology may be for (念错了您的姓, 系统卡了一下, 号码没记全).
_OWN_SLIPS = ("念错", "按错", "看错", "打错", "刷新", "没说完", "手滑", "没记全", "没记住", "没记下", "卡了一下", "听错", "说错", "没听清", "没听到", "口误", "打错字",
              "键盘", "声音有点", "断了一下", "掉线", "咳嗽")


# What an apology is for (抱歉让您久等了, 不好意思给您添麻烦了): then it is a real one.
# The customer's trouble named after an apology (…，耽误您这么久, …给您带来不便): regret, not a filler.
_TROUBLE = ("耽误", "带来不便", "带来困扰", "带来麻烦", "添麻烦", "添了麻烦", "受委屈", "久等", "跑了", "白跑", "不便")
_REGRETTED = ("让您", "让你", "给您", "给你", "耽误", "带来", "造成", "添", "这次", "刚才", "之前", "这件事", "这个事", "是我",
              "是我们", "我们")


def asks(utterance: Utterance, offset: int, policy: Policy) -> bool:
    """Whether the clause at ``offset`` (what follows an apology) is a question."""
    clause = clause_at(clauses_of(utterance, policy), offset)
    return clause is not None and clause.question


# Understanding what the customer asks for (我理解您是想退年费对吗) is not sympathy for how they feel.
_UNDERSTOOD = ("理解", "明白")
_CONTENT = ("是想", "是要", "是说", "是问", "说的是", "问的是", "的需求", "需求是", "的意思", "得意思", "的是", "您是", "你是", "要办", "想办", "想问",
            "这个", "这款", "这条", "那个", "该")


# A denial before or inside a comfort hit makes it a rebuttal (这不是我们的责任, 我们这边没有任何失误).
_DENIALS = ("不是", "并非", "不属于", "没有任何", "没有什么", "没什么", "无关", "不存在", "不归", "没问题", "没有问题", "没错",
            "没有错", "没有关系", "没关系", "道过歉", "谁让您", "谁让你")


def _denied(hit: Hit, policy: Policy) -> bool:
    clause = clause_at(clauses_of(hit.utterance, policy), hit.match.start_char)
    start = clause.start_char if clause is not None else 0
    said = hit.utterance.text[start: hit.match.end_char]
    said = said.replace(hit.match.phrase.split("…")[-1], "")  # the comfort word itself (赔个不是) denies nothing
    return any(d in said for d in _DENIALS)


# 理解是理解，但是…: a concession before the rule, not empathy; 道歉有什么用: the apology dismissed.
_CONCEDED = re.compile(r"(理解|明白|抱歉|同情)是\1")
_DISMISSED = ("解决不了", "有什么用", "没有用", "没用", "不管用", "顶什么用", "管不了", "就不用了", "不用了", "就免了", "说过了",
              "我都说了", "也行", "也可以", "什么呀", "什么啊", "？", "没必要", "不评价", "应该是", "没关系", "没有关系", "行了吧",
              "满意了吗", "满意了吧", "谁让您", "谁让你")


def _rebutted(hit: Hit, policy: Policy) -> bool:
    """The comfort word negated (您不用跟我道歉), conceded (理解是理解，但是…) or dismissed (道歉解决不了问题)."""
    clause = clause_at(clauses_of(hit.utterance, policy), hit.match.start_char)
    if clause is None:
        return False
    after = hit.utterance.text[hit.match.end_char: clause.end_char]
    return bool(negated_before(clause, hit.match.start_char) or _CONCEDED.search(clause.text)
                or any(word in after for word in _DISMISSED))


# After a bare apology, what makes it a filler when it comes anywhere in the sentence: a request, the
# agent's own checking or a hitch on the line (不好意思，我这边要先核实一下您的身份; 抱歉我打个岔…吗？).
_FILLER_MARKS = ("报给我", "需要先核实", "先核实", "请拨", "请转", "请到", "请稍等", "请您稍等", "您稍等", "稍等一下", "请您",
                 "麻烦您", "麻烦说", "麻烦报", "确认一下", "核实一下", "重复一下",
                 "打个岔", "打岔", "插一句", "插句话", "说一下", "报一下", "继续说", "咳嗽", "杂音", "信号", "听不清", "没听清")


_BUT_BLAME = re.compile(r"(?:但是|可是|不过|但)[^。！？]{0,12}(?:您自己|你自己|您的问题|你的问题|是您|您签字|您没|你没)")


def _filler_apology(hit: Hit, rest: str, policy: Policy) -> bool:
    """A bare apology that only opens a request, a question or the agent's own business."""
    text, matched = hit.utterance.text, hit.match.matched
    before = text[max(hit.match.start_char - 2, 0): hit.match.start_char]
    intensified = any(i in before or i in matched for i in _INTENSIFIERS)
    sentence = first_sentence(rest)
    if intensified:
        return False
    if any(slip in sentence for slip in _OWN_SLIPS):
        return True  # 对不起，我刚才把您的姓念错了: the agent's own slip, not the customer's trouble
    if rest.startswith(_REGRETTED) or any(word in sentence for word in _TROUBLE):
        return False  # 抱歉，您的时间被耽误了: the apology names the customer's trouble
    if any(mark in sentence for mark in _FILLER_MARKS) or "？" in text[hit.match.end_char:][: len(sentence) + 1]:
        return True
    ask = re.sub(r"^(?:我这边|我这里|我这儿|我刚才|我)", "", rest)  # 不好意思，我这边插一句; 抱歉，我没听清
    return ask.startswith(_REQUESTS) or asks(hit.utterance, len(text) - len(rest), policy)


def comforts(hit: Hit, via: str, policy: Policy) -> bool:
    """Whether a comfort hit comforts: not a rebuttal, not a filler apology before a request, not
    understanding what was asked, and not the model's guess on a question."""
    if _denied(hit, policy) or _rebutted(hit, policy) or "呵呵" in hit.utterance.text:
        return False  # 呵呵，那真是辛苦您了: sarcasm
    if hit.utterance.text[hit.match.end_char:].lstrip(" ").startswith("什么"):
        return False  # 抱歉什么: the apology thrown back
    if _BUT_BLAME.search(hit.utterance.text[hit.match.end_char:]):
        return False  # 我也很理解您，但是这就是您的问题: sympathy taken back
    text = hit.utterance.text
    matched, end = hit.match.matched, hit.match.end_char
    rest = text[end:].lstrip("，,。.！!、 啊哈呀了")
    said = matched + (hit.match.phrase if via != "model" else "")  # 不好益思 heard for 不好意思
    if any(a in said for a in _APOLOGIES) and _filler_apology(hit, rest, policy):
        return False
    if any(u in matched for u in _UNDERSTOOD) and rest.lstrip("您你").startswith(_CONTENT):
        return False
    if via == "model":
        clause = clause_at(clauses_of(hit.utterance, policy), hit.match.start_char)
        return clause is None or not clause.question
    return True


# Someone other than the caller as the source of what follows (我邻居说…, 听说…, 新闻里…): a complaint
# retold is not the caller's complaint. Family, friends and the media, never the bank's own staff
# (刚才那个客服说我操作错了 is still the caller's grievance).
_THIRD_PARTIES = ("朋友", "邻居", "同事", "同学", "亲戚", "老婆", "老公", "爱人", "我妈", "我爸", "老妈", "老爸", "母亲",
                  "父亲", "儿子", "女儿", "家里人", "家人", "婆婆", "公公", "我哥", "我姐", "我弟", "我妹", "表哥", "表姐", "表弟",
                  "表妹", "堂哥", "堂姐", "舅舅", "姑姑", "老人家", "客户", "别人", "有人",
                  "人家", "好多人", "很多人")
# What may stand between the third party and the reporting verb (我朋友也说, 邻居上次投诉过).
_LEADING_ADVERBS = re.compile(r"^(?:们|也|都|上次|以前|之前|还|就)+")
_REPORTING = ("说", "讲", "告诉我", "投诉过", "投诉了", "反映过", "举报过", "告过", "起诉过")
_HEARSAY = ("听说", "据说", "听人说", "网上说", "网上有人", "新闻上", "新闻里", "新闻说", "报道", "电视上", "媒体上", "媒体说",
            # a stranger's scam reported to the bank (有人冒充你们骗钱) is not a complaint about the bank
            "冒充", "假冒", "诈骗", "骗子")


def retold(text: str) -> bool:
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
            if any(_LEADING_ADVERBS.sub("", after).startswith(verb) for verb in _REPORTING):
                return True
            at = text.find(party, at + 1)
    return False


# A merchant, a platform or the other side of a payment as the one at fault (商家迟迟不退款, 那个平台扣了我
#两次): the caller brings someone else's failing to the bank, which is no complaint about the bank
# unless the bank is named after it (商家不退款，你们也不管). 你们的平台 is the bank's own.
_MERCHANTS = ("商家", "商户", "平台", "网店", "店家", "卖家", "店铺", "商场", "超市", "外卖", "快递", "收款方", "对方", "那家店", "加油站")
_OWN = ("你们", "您们", "银行", "贵行")


def merchant_matter(text: str) -> bool:
    """True when ``text`` (the utterance up to and including a cue) puts a third party merchant at fault
    and does not turn to the bank after naming it."""
    found = [(text.rfind(m), m) for m in _MERCHANTS if m in text]
    found = [(at, m) for at, m in found if not any(o in text[max(at - 4, 0):at] for o in _OWN)]
    if not found:
        return False
    at, merchant = max(found)
    return not any(o in text[at + len(merchant):] for o in ("你们", "您们", "贵行"))


# The caller clearing the bank of blame or denying a grievance (不是你们的问题, 不怪你们, 对你们没什么意见):
# what such a clause says about the bank is denied, so it is no complaint.
_EXONERATES = re.compile(
    r"(不是|不怪|不关|并不是|也不是|倒不是|不赖|怪不了|怪不着|不能怪|不会怪|不会埋怨|不怨|怎么会怪)(要|想|存心|故意)?(怪|催|怨|埋怨|说|针对|为难|找)?"
    r"(你们|您|你|银行|客服|贵行)"
    r"|(没|没有|并没有)(什么|任何)?(意见|不满|怨言|要投诉|投诉的意思|怪你们|怪您)"
    r"|(跟|和|与)(你们|您|你)(没|无)(关|什么关)"
)


# The caller thanking or apologising to the agent (麻烦你了，让你查了这么久; 耽误您半天了, the agent's time
# taken): courtesy, whatever the model makes of the rest.
_COURTEOUS = ("麻烦你了", "麻烦您了", "麻烦你们了", "辛苦你了", "辛苦您了", "辛苦你们", "辛苦了", "谢谢你", "谢谢您", "不好意思啊",
              "不好意思哈", "不好意思呀", "不好意思了", "不好意思啦", "对不起", "抱歉", "没关系", "能理解", "理解你们",
              "耽误你", "耽误您", "打扰你", "打扰您")


def courtesy_at(text: str, start: int, end: int) -> bool:
    """A courtesy phrase (麻烦你了, 辛苦了) overlaps text[start:end]."""
    for word in _COURTEOUS:
        at = text.find(word)
        while at >= 0:
            if at < end and start < at + len(word):
                return True
            at = text.find(word, at + 1)
    return False


def polite(text: str) -> bool:
    return any(word in text for word in _COURTEOUS)


# Asking whether something went wrong (是不是你们系统的问题, 会不会是哪里出错了) asks for a check; the
# same words said as a verdict (明明是你们系统的问题) blame.
_ASKS_IF_FAULTY = re.compile(r"(是不是|会不会|是否|有没有可能).{0,10}(的问题|出问题|有问题|出错|搞错|弄错|故障|的原因)")


def asks_if_faulty(clause_text: str) -> bool:
    return bool(_ASKS_IF_FAULTY.search(clause_text))


def exonerates(clause_text: str) -> bool:
    return bool(_EXONERATES.search(clause_text))


# A complaint taken back as a joke in the same breath (我要投诉你们，逗你的) was never made.
_JOKING = ("逗你的", "逗你玩", "开玩笑的", "开个玩笑", "跟你开玩笑", "说着玩", "闹着玩", "吓唬你的", "吓你的")
# ...or the grievance denied after it (排队久了点，不过我没什么意见): a remark, not a complaint.
_NO_GRIEVANCE = re.compile(r"(?:我|我倒|倒|我也|也)(?:没|没有|并没有)(?:什么|任何|啥)?(?:意见|不满|怨言)(?!是不可能|才怪)")


def taken_back(text: str) -> bool:
    """True when ``text`` (what follows a cue in its utterance) says it was a joke or denies the grievance."""
    return any(j in text for j in _JOKING) or bool(_NO_GRIEVANCE.search(text))


# A clause this short (我叫王芳, 你们几点开门) gives the model too few n-grams to call it a complaint
# unless it is very sure; patterns and phrases still judge short clauses. A question resembling a
# complaint is more often a plain question (有没有老客户优惠) than a rhetorical one, so it needs more too.
_SHORT_CLAUSE_CHARS = 6
_SHORT_CLAUSE_SCORE = 0.9
_QUESTION_SCORE = 0.8


def too_slight(judged: Judged, contrary: list[Hit], policy: Policy) -> bool:
    """A model-only cue that does not count: a pattern of the opposite intent meets it, or its
    clause is short and the model not sure."""
    if any(judged.hit.overlaps(other) for other in contrary):
        return True
    if len(match_form(judged.hit.match.matched)) < _SHORT_CLAUSE_CHARS and judged.score < _SHORT_CLAUSE_SCORE:
        return True
    if judged.score >= _QUESTION_SCORE:
        return False
    return asks(judged.hit.utterance, judged.hit.match.start_char, policy) or _asks_who(judged.hit.match.matched)


# Questions the clause reading may miss, without 吗 or a question mark: who or which (客户经理是谁负责),
# or a choice between two parties (该找平台还是找你们).
_WHO_WHICH = re.compile(r"谁|哪位|哪个|哪家|哪里|还是找|还是问|该找|该问")


def _asks_who(clause: str) -> bool:
    return _WHO_WHICH.search(clause) is not None


# What a thanks may be for that is not the customer's praise or suggestion: waiting, calling, the
# details they gave, cooperating with a check (谢谢您的耐心等待, 感谢您的来电, 谢谢您提供的信息).
_OTHER_THANKED = ("等待", "等候", "久等", "稍等", "来电", "致电", "提供", "告知", "信息", "资料", "配合", "核实", "接听", "选择",
                  "使用", "回复", "告诉", "找到", "惠顾", "光临", "等了", "报的", "参与", "调查", "核对", "打进来", "耐心",
                  "还款", "参加", "回访", "一直用", "打过来", "说明", "详细")
# How far after 谢谢/感谢 its object may stand (谢谢您提供的信息); a later 来电 belongs to a farewell.
_THANKED_OBJECT_CHARS = 7
# Thanks that names the feedback itself (感谢您的理解和配合, 谢谢您的耐心和认可) still answers it.
_FEEDBACK_THANKED = ("认可", "肯定", "表扬", "夸", "好评", "鼓励", "建议", "意见", "信任", "好意", "赞", "提醒", "反馈", "评价",
                     "发现", "指出", "不便", "告诉我们", "反映",
                     "满意", "喜欢", "这么说", "这样说", "好话", "宝贵", "称赞")
# Thanks for understanding or support answers praise too (谢谢您的理解和支持), unless process talk follows at
# once (感谢您的理解，请问还有其他需要吗), which makes it the routine closing formula.
_ROUTINE_THANKED = ("理解", "支持")
_MODEST = ("我们会", "我会", "应该的", "这是我", "这都是", "欢迎", "过奖", "我们一定", "继续", "您过奖")
# Thanks for something the customer did (谢谢您帮我确认了地址, 谢谢您把截图发过来, 谢谢您耐心听完).
_THANKED_FOR_DOING = re.compile(r"(?:谢谢|感谢|多谢)您?(?:帮我|帮忙|把|特意|专门|主动|耐心|告诉|说明|核对|确认|报|发)")
_ROUTINE_TAIL = re.compile(r"^(?:[和与及、]?(?:配合|支持|理解))*[，,。.！!、 ]*")
# An acknowledgement before a thanks (好的谢谢) or process talk right after it (谢谢，请问… / 谢谢，那我
# 给您查一下) makes the thanks a filler; a modest reply after it (谢谢，这是我应该做的) does not.
_ACKNOWLEDGED = re.compile(r"(?:好的|好|嗯|行|哦|噢|对|是的|ok)*", re.IGNORECASE)
_PROCESS_AFTER = ("我们继续", "继续", "您的身份", "验证", "还是要", "还是需要", "按流程", "按规定", "正常收取", "我们按", "请问",
                  "请您", "那我", "我给您", "我帮您", "我这边", "我这就", "我先", "您稍等", "稍等", "您还有", "还有其他",
                  "还有别的", "还有什么", "再见", "您的卡", "您的账户")


_DECLINED = ("就不用了", "就不必了", "不用了", "不必了", "就免了", "不用谢", "就算了", "什么呀", "什么啊", "干嘛", "干什么")
# In the same sentence as a thanks, these make it the routine farewell or survey, not thanks for feedback.
_ROUTINE_CLOSE = ("再见", "再会", "祝您", "打分", "满意度")
# 评价 asks for the survey, unless it names the praise itself (谢谢您的满意评价)
_SURVEY = re.compile(r"(?<!满意)(?<!满意的)(?<!好)评价")
_TURNED = re.compile(r"[，,、 ]*(?:不过|但是|可是|但)")


def thanks_feedback(hit: Hit, via: str, policy: Policy) -> bool:
    """Whether a thanks hit thanks the customer for their praise or suggestion: not thanks for waiting,
    calling or giving details, and not a filler between an acknowledgement or before process talk."""
    text = hit.utterance.text
    clause = clause_at(clauses_of(hit.utterance, policy), hit.match.start_char)
    end = clause.end_char if clause is not None else len(text)
    thanked = text[hit.match.start_char: max(end, hit.match.end_char)]
    if clause is not None and (clause.hypothetical or any(d in thanked for d in _DECLINED)):
        return False  # 谢谢就不必了, 您要感谢的话…: thanks declined or supposed, none given
    sentence = first_sentence(text[hit.match.start_char:])
    if any(word in sentence for word in _ROUTINE_CLOSE) or _SURVEY.search(sentence) or _TURNED.search(sentence):
        return False  # 感谢您的合作，再见; 谢谢您，不过这些建议您还是去网点提吧
    if any(f in thanked for f in _FEEDBACK_THANKED):
        return True
    if any(f in text[sentence_start(text, hit.match.start_char): hit.match.start_char] for f in _FEEDBACK_THANKED):
        return True  # 您提的建议很实在，谢谢，…: the sentence names what is thanked for before the thanks
    if _THANKED_FOR_DOING.search(text, hit.match.start_char, max(end, hit.match.end_char)):
        return False  # 谢谢您把回执发过来: thanks for what the customer did
    routine = [r for r in _ROUTINE_THANKED if r in thanked]
    if routine:
        # 谢谢您的理解 answers praise only when nothing but modesty follows it (…，网点周末确实不开门 is routine)
        following = text[max(end, text.find(routine[0], hit.match.start_char) + len(routine[0])):]
        following = _ROUTINE_TAIL.sub("", following).lstrip("，,。.！!、 ")
        return not following or following.startswith(_MODEST)
    window = thanked[: len(hit.match.matched) + _THANKED_OBJECT_CHARS]
    if holds_any(window, _OTHER_THANKED):
        return False  # 感谢您的陪合 is 感谢您的配合 as ASR writes it
    start = clause.start_char if clause is not None else 0
    before = text[start: hit.match.start_char].strip("，,。.！!、 ")
    rest = text[hit.match.end_char:].lstrip("，,。.！!、 啊哈呀了您你")
    return not (_ACKNOWLEDGED.fullmatch(before) and rest.startswith(_PROCESS_AFTER))
