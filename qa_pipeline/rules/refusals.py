"""The flat refusal in its own words: the verb made the topic, then denied (退是退不了的, 改是改不了的,
这笔钱是没办法退的), and the bare 办不了 said as a clause of its own (拦不了，钱已经出去了; 今晚销不了;
寄卡这个办不了 with the matter named first; 办不良 as ASR writes it), and 不可能给您免; take it or leave it
(您爱办不办), which the A-not-A would otherwise make a question; a refusal said twice around 就是
(不可以就是不可以, 贷不了就是贷不了); and the matter disowned by the desk (我们这边不管这个).

Saying a thing cannot be done is often plain information (这笔费用退不了，不过可以…); doubling the verb
(V是V不了) or stressing 是没办法V的 closes the matter on the customer, which the standard's 不行 stands
for. A question or a supposition and its consequence (退是退不了吗？ 要是已经放款了，改是改不了的) is
no refusal.

The bare form (a service verb, by sound, + 不了 and nothing else in the clause but time, degree and topic words)
refuses what the customer asked for when the reply offers no way on: no alternative (可以, 不过, 建议,
帮您…, 到柜台就能办), no apology or reassurance before it (不好意思, 您放心), and the limit is not the
system's or another desk's (系统查不了). The phone line's limit said curtly (电话上改不了, alone or before
您找网点去) is a refusal of its own kind, one brush-off with the sending away after it; told with the
rule behind it (要本人带证件来签字，电话上是改不了的) it informs.

The matter named and then refused (跨行撤单办不了, 提额不可以的, 不可以改的) closes it as curtly, even
after a bare fact (新卡昨天寄出，改址办不了); with an explanation anywhere in the reply (因为, 规定,
需要本人) it informs, and so does the not-allowed said of someone else or as advice to the customer.
"""

from __future__ import annotations

import re

from qa_pipeline.policy.policy import Policy
from qa_pipeline.rules.judge import Judged, clauses_of
from qa_pipeline.text.analysis import Clause
from qa_pipeline.text.match import index_text, syllables_of
from qa_pipeline.types import Utterance

__all__ = ["CHANNEL_LABEL", "LABEL", "channel_rule", "emphatic_refusals", "lone_refusal"]

LABEL = "不行：把话说死"
# 电话里办不了 and nothing more: the customer turned away from the line with no reason.
CHANNEL_LABEL = "不行：只说电话里办不了"

# 退是退不了 / 撤销是撤销不了 / 退是肯定退不了: the verb (one or two characters) repeated around 是 and
# denied, the two verbs alike by sound (ASR writes 推是退不了); 是没办法退的 / 是没法改的: the means
# denied, stressed by 是…的.
# 是 as ASR also writes it (退市退不了的, 退是没办法退的 heard as 退市没办法退的).
_SHI = "[是市事式试世示视适时势士氏]"
# A stress word may stand between 是 and the second verb (退是肯定退不了的).
_STRESS = "(?:肯定|绝对|确实|实在|根本|真的|真)?"
# 不了 as ASR also writes it after the verb (办不良, 半不凉, 退不料, 办不两): liao heard as liang or with another tone.
_LIAO = "[了良凉料辽聊两俩]"
_DOUBLED = tuple(
    re.compile(rf"(?=(?P<said>(?P<first>[\u4e00-\u9fff]{{{n}}}){_SHI}{_STRESS}(?P<second>[\u4e00-\u9fff]{{{n}}})不(?:{_LIAO}|成|掉)))")
    for n in (2, 1)
)
# 不可以就是不可以 / 贷不了就是贷不了 / 没有就是没有: a refusal said twice around 就是 closes the matter
# however the customer asks (alike by sound: ASR writes 带不了就是贷不了). Only a denial: 规定就是规定
# states the rule.
_ECHOED = tuple(
    re.compile(rf"(?=(?P<said>(?P<first>[\u4e00-\u9fff]{{{n}}})就是(?P<second>[\u4e00-\u9fff]{{{n}}})))") for n in (4, 3, 2)
)
_DENIALS = ("不", "没")
_NO_MEANS = re.compile(_SHI + r"没(?:有)?(?:办法|法子|法)[\u4e00-\u9fff]{1,2}的")
# 不可能给您免 / 不可能帮你改: the service ruled out for the customer.
_RULED_OUT = re.compile(r"不可能(?:给|帮|替)(?:您|你)(?:退|免|办|改|减|批|调|延|撤|补|弄|解|开|提)")

# 爱办不办 / 您爱等不等 / 您爱等就等 / 爱跟谁反映就跟谁反映: take it or leave it, the verb (with its
# place) said twice around 不 or 就 after 爱 (alike by sound).
_TAKE_IT_OR_LEAVE_IT = tuple(
    re.compile(rf"(?=(?P<said>爱(?P<first>[\u4e00-\u9fff]{{{n}}})[不就](?P<second>[\u4e00-\u9fff]{{{n}}})))") for n in (4, 3, 2, 1)
)
# 不买拉倒 / 不办就拉倒 / 拉倒吧: the customer's choice dismissed ("then forget it"); 拉到 (拉到最下面) is not it.
_GOOD_RIDDANCE = re.compile(r"(?:不[\u4e00-\u9fff]{1,2}?[就也]?)?拉倒")
# 不办就算了 dismisses it as well, unless supposed (您要是不方便就算了，我们改天再联系); 不用算了 (no need to
# work it out), 不太划算了 and 算了一下 (reckoned) are not it.
_NEVER_MIND = re.compile(r"不(?![用必要需会能太划])[\u4e00-\u9fff]{1,2}?[就也]算了(?![一下])")
_LEAVE_IT_LABEL = "随便你：爱X不X"

# What the customer asks a bank to do, and what the bare refusal denies (退不了, 办不了, 撤销不了).
_SERVICE_VERBS = (
    "退", "办", "弄", "搞", "改", "撤", "拦", "销", "免", "解", "减", "延", "批", "补", "换", "调", "开", "追", "停", "通融",
    "退回", "退还", "取消", "撤销", "撤回", "注销", "恢复", "解冻", "解锁", "解除", "减免", "延期", "办理",
    "处理", "修改", "更改", "调整", "提额", "退款", "拦截", "补办",
)
# Words that may stand around the verb in a bare refusal: topic, time, degree and the speaker's side.
_AROUND = (
    "这个", "这笔", "这事", "这", "今天", "今晚", "明天", "现在", "这周", "本周", "这个月", "本月", "今年", "暂时", "目前",
    "真", "真的", "实在", "确实", "反正", "肯定", "也", "都", "就", "还是", "我们这边", "我这边", "这边", "我们", "我",
    "已经", "的", "啊", "了",
)
_AROUND_LONGEST_FIRST = sorted(_AROUND, key=len, reverse=True)
_FILL = "|".join(_AROUND_LONGEST_FIRST)
# The customer's figure echoed before the refusal (五十万？这个办不了 with the question mark lost).
_ECHO = r"(?:[零一二两三四五六七八九十百千万亿\d.]+(?:万|千|块|元|天|个月|年)?)?"
# The customer's matter named as the topic, then taken up by 这个 (寄卡这个办不了, 删号码这个改不了).
_TOPIC = r"(?:[\u4e00-\u9fff]{1,6}?(?=这个|这笔|这事|这块))?"
# ... or named after the demonstrative (那笔年费免不了, 这项服务费退不了).
_MATTER = (r"(?:[这那](?:个|笔|项|张)?(?:费用|年费|手续费|服务费|利息|罚息|违约金|滞纳金|钱|款项|款|业务|额度|交易|扣款|积分"
           r"|申请|卡))?")
# The phone line (or the app) named as where it cannot be done, after a short topic (解挂电话上销不了,
# 里 heard as 礼 or 理): the curt 电话里办不了 sends the customer away with no reason.
_LINES = r"(?:电话|线上|网上|手机上)"
_LINE = rf"(?:[\u4e00-\u9fff]{{0,4}}?{_LINES}(?:里|上|礼|理|李|这边|那边)?)?"
_LINE_NAMED = re.compile(_LINES)
_BARE = re.compile(rf"^{_ECHO}{_TOPIC}{_MATTER}{_LINE}(?:{_FILL})*?(?P<said>(?P<verb>[\u4e00-\u9fff]{{1,2}})不{_LIAO})(?:{_FILL})*$")
# Before the refusal in the reply: the agent is sorry or reassures (不好意思，代领是办理不了的).
_SOFTENED_BEFORE = ("不好意思", "抱歉", "对不起", "放心", "别担心", "不用担心", "理解")
# After it: a way on (不过可以…, 您可以…, 我帮您…, 建议…).
# 要等半年后再申请: a later time named for it is a way on too.
_WAY_ON = ("可以", "不过", "但是", "但", "建议", "帮您", "给您", "为您", "替您", "我来", "我先", "就能", "就行", "才能", "要么",
           "后再")
# The limit belongs to the system or to another desk, not to the agent (系统查不了, 柜台办不了).
_SYSTEM_OR_DESK = ("系统", "机器", "柜台", "网点", "自助")


# A channel's limit told as a rule (电话里是没办法改的 after 按规定需要您本人到网点): the channel before
# the cannot, and the reply giving the rule or the requirement; a curt 线上这个办不了 gives neither.
_CHANNEL_CANNOT = re.compile(rf"(?:{_LINES}|热线)[\u4e00-\u9fff]{{0,6}}?(?:不{_LIAO}|没有?办法|没法|不能|无法)")
# The papers the customer is told to bring state the requirement as well (带身份证去柜台办，电话上解不了;
# 身分证 as ASR spells it).
_RULE_GIVEN = ("需要", "必须", "规定", "要求", "为了", "本人", "核实", "核验", "安全",
               "身份证", "身分证", "证件", "户口本", "户口簿", "营业执照")


# 我们这边不管这个 / 我们电话这边不管这些: the matter disowned, 不管这个 ending the clause (不管这个钱是谁转的，
# 都得先冻结 concedes, and goes on).
# 对公业务我们热线不管 / 这些我不管: 不管 alone ending the clause disowns as well; 我们不会不管 reassures.
_NOT_OURS = re.compile(r"(?:我们|我|这边|咱们)[\u4e00-\u9fff]{0,4}?(?<![会能可])(?P<said>不管(?:这个|这事|这些|这块|这种事)?)"
                       r"(?:的|啊|呀|哦|了)?$")
_NOT_OURS_LABEL = "这不归我管：推卸"
# Punctuation that may close a clause's text; the patterns anchored at its end read it without.
_CLAUSE_END = "，,。.！!；; "


def channel_rule(clause: Clause, text: str) -> bool:
    """The clause says a channel cannot do it (电话里没办法改) in a reply that states the rule or the
    requirement behind it (需要您本人带身份证到网点): information, not a refusal."""
    return bool(_CHANNEL_CANNOT.search(clause.text)) and any(word in text for word in _RULE_GIVEN)


# The verbs by their sound as ASR confuses it (消不了 and 绵不了 are 销不了 and 免不了 heard).
_VERB_SOUNDS = frozenset(index_text(verb).fuzzy_codes for verb in _SERVICE_VERBS)


def _service_verb(word: str) -> bool:
    """``word`` sounds like a service the customer asks for (退, 办, 撤销…)."""
    return index_text(word).fuzzy_codes in _VERB_SOUNDS


# A whole reply that is only 不行 with bu heard as fu (复刑, 复行): no agent says those words alone.
_LONE_REFUSAL_SOUNDS = (("bu", "xing"), ("fu", "xing"))
_LONE_TRAILERS = "啊吧呀的了，,。.！!"


def lone_refusal(utterance: Utterance) -> list[Judged]:
    """The agent's whole utterance is 不行 as ASR may write it (复刑 for a flat 不行 said alone)."""
    start = len(utterance.text) - len(utterance.text.lstrip())
    body = utterance.text.strip().rstrip(_LONE_TRAILERS)
    if syllables_of(body) not in _LONE_REFUSAL_SOUNDS or body == "不行":
        return []  # 不行 itself is the listed phrase's to find
    return [Judged.spanning(utterance, start, start + len(body), LABEL)]


def emphatic_refusals(utterance: Utterance, policy: Policy) -> list[Judged]:
    """The clauses of an agent utterance that refuse by doubling the verb, stressing 是没办法…的,
    saying a bare 办不了 with no way on, leaving it to the customer (爱办不办, 不买拉倒) or disowning
    the matter (我们这边不管这个)."""
    found, supposed = [], False
    clauses = clauses_of(utterance, policy)
    for index, clause in enumerate(clauses):
        left = _said_twice(_TAKE_IT_OR_LEAVE_IT, clause.text)  # (its A-not-A makes the clause look like a question)
        riddance = _GOOD_RIDDANCE.search(clause.text) or (None if clause.hypothetical else _NEVER_MIND.search(clause.text))
        left = left or (riddance.span() if riddance else None)
        if left is not None:
            found.append(Judged.spanning(utterance, clause.start_char + left[0], clause.start_char + left[1], _LEAVE_IT_LABEL))
            continue
        if clause.question or clause.hypothetical or supposed:
            supposed = clause.hypothetical  # 如果已经放款了，改是改不了的: the rule's consequence
            continue
        if channel_rule(clause, utterance.text):
            continue  # 按规定得本人去柜台，电话上是没办法补的: the channel's rule told
        disowned = _NOT_OURS.search(clause.text.rstrip(_CLAUSE_END))
        if disowned is not None:
            found.append(Judged.spanning(utterance, clause.start_char + disowned.start("said"),
                                         clause.start_char + disowned.end("said"), _NOT_OURS_LABEL))
            continue
        span = _emphatic(clause, utterance.text) or _bare(utterance.text, clauses, index) or _named(utterance.text, clauses, index)
        if span is None:
            continue
        label = CHANNEL_LABEL if _LINE_NAMED.search(clause.text[: span[0]]) else LABEL
        found.append(Judged.spanning(utterance, clause.start_char + span[0], clause.start_char + span[1], label))
    return found


def _said_twice(patterns: tuple[re.Pattern[str], ...], text: str, holding: tuple[str, ...] = ()) -> tuple[int, int] | None:
    """Where one of ``patterns`` says its verb twice, the two alike by sound (退是推不了, 爱办不办); with
    ``holding``, only where what is said holds one of those words (a denial: 不可以就是不可以)."""
    for pattern in patterns:
        for said in pattern.finditer(text):
            if holding and not any(word in said.group("said") for word in holding):
                continue
            if syllables_of(said.group("first")) == syllables_of(said.group("second")):
                return said.start("said"), said.end("said")
    return None


def _emphatic(clause: Clause, text: str) -> tuple[int, int] | None:
    """Where the clause doubles the verb around 是 (by sound), says the refusal twice around 就是,
    rules the service out (不可能给您免) or stresses 是没办法…的 in a reply that neither softens nor
    explains it."""
    doubled = _said_twice(_DOUBLED, clause.text) or _said_twice(_ECHOED, clause.text, _DENIALS)
    if doubled is not None:
        return doubled
    said = _RULED_OUT.search(clause.text)
    if said is None and not any(word in text for word in _INFORMING):
        said = _NO_MEANS.search(clause.text)
    return (said.start(), said.end()) if said else None


def _bare(text: str, clauses: tuple[Clause, ...], index: int) -> tuple[int, int] | None:
    """Where the clause is a bare 办不了 that refuses with no way on, relative to the clause."""
    clause = clauses[index]
    body = clause.text.rstrip(_CLAUSE_END)
    said = _BARE.match(body)
    if said is None or not _service_verb(said.group("verb")) or body.startswith(("那就", "就")):
        return None  # 那就换不了: the consequence of what the customer found, not a refusal
    return (said.start("said"), said.end("said")) if _no_way_on(text, clause, body) else None


def _no_way_on(text: str, clause: Clause, body: str) -> bool:
    """The reply leaves the cannot in ``clause`` (its text ``body``) as it is: no apology or reassurance
    before it, no way on after it, and it is not the system's or another desk's limit (系统改不了)."""
    before, after = text[: clause.start_char], text[clause.end_char:]
    if any(word in before for word in _SOFTENED_BEFORE) or any(word in after for word in _WAY_ON):
        return False
    return not any(word in body for word in _SYSTEM_OR_DESK)


# The matter named in the customer's words, then the cannot (跨行撤单办不了, 挂失我这边办不了) or the
# not-allowed (提额不可以, 不可以再延, 这笔利息不可以免的): a refusal unless the reply explains it. Writers
# label the curt form (with a bare fact before it: 新卡昨天寄出，改址办不了) and leave the explained
# one (替人办理不可以，按规定要本人来; 因为…所以免不了), so an explanation anywhere in the reply informs.
_EXPLAINED = (*_RULE_GIVEN, "因为", "由于")
# 是没办法解锁的 with an apology, a way on or the reason anywhere in the reply (带身份证到办事处就可以，不好意思，
# 网上是没办法解锁的; 封闭期内是没法赎回的，到期后可以) informs; the doubled 退是退不了 stays curt.
_INFORMING = (*_SOFTENED_BEFORE, *_WAY_ON, *_EXPLAINED)
# The not-allowed as ASR writes it (不可一, 不可已, 不可遗: yi in another tone or spelling).
_YI = "以一已依意亦易疑移遗宜仪义议异益亿"
_NOT_ALLOWED = re.compile(rf"^(?P<topic>[\u4e00-\u9fff]{{0,9}}?)[是就]?(?P<said>不可[{_YI}]再?(?P<verb>[\u4e00-\u9fff]{{0,2}}))$")
# 不了 ending the clause but for particles (撤是办不了的).
_PARTICLES = "的了啊呀吧"
_CANNOT_AT_END = re.compile(rf"不{_LIAO}[{_PARTICLES}]*$")
# A topic that is no matter of the customer's asking: someone else (别人拿去也解不了), the customer told what
# not to do (您不可以…), or a consequence (那就换不了, 没有单据就办不了, 所以免不了).
_NOT_A_MATTER = ("别人", "他人", "对方", "人家", "任何人", "谁", "您", "你", "就", "才", "那", "所以", "因此")
_TOPIC_CHARS = re.compile(r"^[\u4e00-\u9fff]{2,9}$")


def _named(text: str, clauses: tuple[Clause, ...], index: int) -> tuple[int, int] | None:
    """Where the clause names the matter and says it cannot be done or is not allowed, curtly (no
    explanation, softening or way on in the reply), relative to the clause."""
    body = clauses[index].text.rstrip(_CLAUSE_END)
    said = _named_cannot(body) or _not_allowed(body)
    if said is None or any(word in text for word in _EXPLAINED):
        return None
    return said if _no_way_on(text, clauses[index], body) else None


def _named_cannot(body: str) -> tuple[int, int] | None:
    """A matter of two to nine characters, then (after time, degree and side words) a service verb
    by sound + 不了 ending the clause (补寄办不了, 撤是办不了的)."""
    cannot = _CANNOT_AT_END.search(body)
    if cannot is None:
        return None
    for size in (2, 1):
        verb = body[max(0, cannot.start() - size):cannot.start()]
        topic = body[: cannot.start() - size]
        if (len(verb) == size and _service_verb(verb)
                and _TOPIC_CHARS.match(_strip_fill(topic)) and not any(word in topic for word in _NOT_A_MATTER)):
            return cannot.start() - size, cannot.start() + 2
    return None


def _not_allowed(body: str) -> tuple[int, int] | None:
    """不可以 said of the matter (提额不可以的, 不可以改的, 这个月不可以再延), the verb, if any, a
    service verb by sound."""
    said = _NOT_ALLOWED.match(body.rstrip(_PARTICLES))
    if said is None or any(word in said.group("topic") for word in _NOT_A_MATTER):
        return None
    verb = said.group("verb")
    if verb and not _service_verb(verb):
        return None
    return said.start("said"), said.end("said")


def _strip_fill(text: str) -> str:
    """``text`` without the time, degree and side words (``_AROUND``) at its end."""
    stripped = True
    while stripped and text:
        stripped = False
        for word in _AROUND_LONGEST_FIRST:
            if text.endswith(word) and len(text) > len(word):
                text, stripped = text[: -len(word)], True
                break
    return text
