"""The structure under every judgement: clauses, negation and modality, questions, who is addressed.

ASR drops punctuation, so an utterance is cut into clauses at punctuation, at pauses between the
recogniser's word times, and before discourse markers (但是, 所以, 如果…) that start a jieba word.
Each clause then says whether it is a question (``text.questions``: 吗/呢/难道/怎么…, A-not-A), whether it is
hypothetical (如果/要是/万一…), who it addresses (你/您 or 我/我们), and where a negator or a hedge
(不/没/不能/没法/不一定/保证不了/无法承诺/不敢说…) stands, so that a check can ask "is this
commitment negated?" instead of matching strings. Word boundaries come from the same jieba words:
a short phrase never matches inside another word (不幸 is not 不行).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Sequence

from qa_pipeline.text.normalize import is_cjk
from qa_pipeline.text.questions import PUNCT, QUESTION_MARKS, TAGS, is_question, only_by_ba, plain
from qa_pipeline.text.segment import default_segmenter
from qa_pipeline.types import Word

__all__ = [
    "SUPPOSING", "TENTATIVE", "Clause", "clauses", "hedged", "negated_before", "on_word_boundaries", "first_sentence",
    "seeks_agreement", "sentence_end", "sentence_index", "sentence_start", "tokens_with_offsets",
]

# Words that end their clause however ASR punctuated what follows: a question's 吗, a condition's 的话
# (您现在重新转的话今天五点前肯定到账: the condition, then what is said of it).
_CLOSES_CLAUSE = frozenset(("吗", "的话"))
_SENTENCE_ENDS = set("。？！.?!")
# Discourse markers that open a new clause when they start a jieba word (not at the start).
_MARKERS = frozenset(
    "但是 但 不过 可是 然而 所以 因此 然后 而且 另外 还有 因为 如果 要是 假如 万一 否则 不然 要不然 那么 就是说 其实 反正".split()
)
# Words that open a supposition (如果…, 万一…): what follows them in the clause is only supposed.
SUPPOSING = ("如果", "要是", "万一", "假如", "假设", "倘若", "一旦")
_HYPOTHETICAL = (*SUPPOSING, "的话", "不然", "否则")
# Negators and hedges: before a commitment they cancel it.
# Whole jieba words only: 不满意, 不错 and 不好意思 are words of their own, not negators.
_NEGATORS = frozenset(("不", "没", "没有", "别", "未", "无法", "没法", "没办法", "不能", "不敢", "不一定", "不好说",
                       "不太", "不会", "并非", "并不", "不是", "不用", "不要", "不想", "不可能", "不可以", "不必", "绝不",
                       "从不", "从没", "不再", "不肯", "不愿", "也不", "都不", "还不", "就不", "不得", "禁止", "严禁",
                       "不允许", "不准", "不存在", "哪有", "哪来的", "不好", "非"))  # 非 alone: 非保本 (jieba keeps 非常, 非得, 除非 whole)
# Negators jieba glues to the verb they negate (别搞混, 别输错) or to an adverb (千万别): they still negate.
_GLUED_NEGATORS = frozenset(("别", "不要", "甭"))
_GLUED_TO_ADVERB = frozenset(("千万别", "可别", "千万不要", "可不要", "千万不能"))
_GLUED_VERBS = "输搞弄填记看写算按打转点"
# Hedges anywhere in the clause: the speaker declines to commit (保证不了, 说不准).
_HEDGES = ("保证不了", "承诺不了", "打不了包票", "说不准", "说不好", "不好说", "不敢说", "不敢保证", "无法承诺",
           "无法保证", "不能保证", "没法保证", "不能承诺", "没办法保证", "不一定", "不能确定", "无法确定",
           "具体以", "以实际为准", "以审核结果为准", "为准", "要看", "看审核", "尽量", "尽力", "争取", "不确定",
           "没有哪", "谁也没法", "谁也不能", "谁都不能", "谁也不敢", "谁都没法",
           "没有权限", "没权限", "无权", "权限不够", "没这个权限", "做不了主", "做不了这个主",
           "不是我能决定", "我决定不了", "不是我说了算", "不会有人", "没有人能", "没人能", "没有人会",
           "不作为", "不构成", "不代表", "不能保", "没法保", "不敢保")
# ... with the customer between (不能给您保证, 没法跟您承诺).
_HEDGE_TO_YOU = re.compile(r"(?:不能|不敢|没法|无法|没办法)(?:给|跟|向|对|和)(?:您|你)(?:打包票|保证|承诺|担保|确定)")
_YOU = ("你", "您")
# Function words a negator's scope runs through (不敢说绝对, 没法向您保证, 不是想投诉), and adverbs of
# manner or time before the verb (没办法直接退回来, 不能马上到账).
_BRIDGE = frozenset("说 想 要 能 会 敢 是 太 再 去 来 给 替 跟 向 对 和 帮 就 也 都 还 可 您 你 帮您 给您 跟您 向您 对您 替您 "
                    "一定 可以 随便 轻易 完全 绝对 百分之百 真的 真 敢说 能够 打算 准备 应该 必须 办法 允许 被 准 存在 "
                    "你们 我们 什么 找 直接 马上 立刻 立即 当场 主动 全额 全部".split())
# A word of up to two characters after one of these is its object, inside a negator's scope (不能替系统给您…)
_PREPOSITIONS = frozenset("给 替 跟 向 对 帮".split())
# After a negator, these put the whole rest of the clause in its scope: 我没说你们态度不好 denies the
# saying (not after 不是: 不是说好三天到账 recalls what was said).
_WIDE_SCOPE = frozenset("说 讲 觉得 认为 是说 是想 想说 意思 怪 嫌 承诺 保证 担保".split())
_SELF = ("我", "我们", "咱们", "本人")
# Between a subject and what is said of it, these make it a supposition (您是不是输错了, 可能是我看错了).
TENTATIVE = ("是不是", "会不会", "可能", "也许", "或许", "是否", "大概", "好像", "应该是")


@dataclass(frozen=True)
class Clause:
    """One clause of an utterance's display text (offsets into that text, end exclusive)."""

    text: str
    start_char: int
    end_char: int
    tokens: tuple[str, ...]
    question: bool
    hypothetical: bool
    addresses_you: bool
    speaks_of_self: bool
    in_question: bool = False  # its sentence asks at or after it (如果要投诉的话，打哪个电话？)
    # a question only by a final 吧, which as often proposes or decides (那这笔费用我给您退了吧,
    # 您就放心吧) as it asks (您是本人吧): a check that drops questions keeps these
    only_by_ba: bool = False


def tokens_with_offsets(text: str) -> tuple[tuple[str, int], ...]:
    """jieba words of ``text`` with their start offsets (punctuation included as tokens)."""
    return _tokens(text)


@lru_cache(maxsize=16384)
def _tokens(text: str) -> tuple[tuple[str, int], ...]:
    out, offset = [], 0
    for token in default_segmenter()(text):
        at = text.find(token, offset)
        if at < 0:
            continue
        out.append((token, at))
        offset = at + len(token)
    return tuple(out)


def on_word_boundaries(text: str, start: int, end: int) -> bool:
    """True when ``text[start:end]`` starts and ends at jieba word boundaries."""
    starts = {at for _, at in _tokens(text)} | {len(text)}
    ends = {at + len(token) for token, at in _tokens(text)} | {0}
    return start in starts and end in ends


def word_offsets(text: str, words: Sequence[Word]) -> list[tuple[Word, int]]:
    """Each timed word with its display offset in ``text``, found in order (-1 when it is not)."""
    placed: list[tuple[Word, int]] = []
    offset = 0
    for word in words:
        piece = word.text.strip()
        at = text.find(piece, offset) if piece else -1
        if at >= 0:
            offset = at + len(piece)
        placed.append((word, at))
    return placed


def _pause_cuts(text: str, words: Sequence[Word], pause_s: float) -> set[int]:
    """Display offsets where the speaker paused at least ``pause_s`` between two words."""
    cuts: set[int] = set()
    previous_end: float | None = None
    for word, at in word_offsets(text, words):
        if at >= 0 and previous_end is not None and word.start_s - previous_end >= pause_s:
            cuts.add(at)
        previous_end = word.end_s
    return cuts


def clauses(text: str, words: Sequence[Word] = (), pause_s: float = 0.45) -> tuple[Clause, ...]:
    """The clauses of a display text, cut at punctuation, pauses and discourse markers."""
    return _clauses(text, tuple(words), pause_s)


@lru_cache(maxsize=16384)
def _clauses(text: str, words: tuple[Word, ...], pause_s: float) -> tuple[Clause, ...]:
    cuts = _pause_cuts(text, words, pause_s) if words else set()
    pieces: list[list[tuple[str, int]]] = [[]]
    sentence_of: list[int] = [0]
    for token, at in _tokens(text):
        if token in PUNCT or all(c in PUNCT or c.isspace() for c in token):
            if any(c in QUESTION_MARKS for c in token):
                pieces[-1].append((token, at))
            pieces.append([])
            sentence_of.append(sentence_of[-1] + (1 if any(c in _SENTENCE_ENDS for c in token) else 0))
            continue
        if pieces[-1] and (at in cuts or _opens_clause(text, token, at) or pieces[-1][-1][0] in _CLOSES_CLAUSE):
            pieces.append([])
            sentence_of.append(sentence_of[-1] + (1 if at in cuts else 0))
        pieces[-1].append((token, at))
    pairs = _join_bare_commitments(text, [(p, s) for p, s in zip(pieces, sentence_of) if _has_words(p)])
    kept = [(_clause(text, piece), sentence) for piece, sentence in pairs]
    # a clause belongs to a question when one of its sentence asks at or after it (如果要投诉的话，打哪个
    # 电话？); what follows the question in a sentence ASR ran on (…是怎么管的，要是不给个说法，我就…) does not
    out = [replace(clause, in_question=any(c.question for c, s in kept[i:] if s == sentence))
           for i, (clause, sentence) in enumerate(kept)]
    for i in range(1, len(out)):
        if _consequence(out[i].text) and _conditioned(out, [sentence for _, sentence in kept], i):
            out[i] = replace(out[i], hypothetical=True)  # 刷满六次，明年就不收了: the rule's consequence
    return tuple(out)


# 那么 before a gradable word (别问那么多, 那么着急干什么, 要那么久) says how much, not "then".
_DEGREE_NEXT = frozenset("多少大小久长快慢贵高低急着难简复远近重严容麻")


def _opens_clause(text: str, token: str, at: int) -> bool:
    """A discourse marker opens a clause, but not 那么 as an adverb of degree."""
    return token in _MARKERS and not (token == "那么" and text[at + 2:at + 3] in _DEGREE_NEXT)


_CONDITION = re.compile(r"如果|要是|假如|万一|只要|一旦|只需|(满|够|达到|达标|超过)(?!意)|^(?:您|你)(?:可以|只要|需要)(?!放心|理解)")


def _conditioned(out: list[Clause], sentence_of: list[int], i: int) -> bool:
    """A condition comes right before clause ``i``, or one clause earlier in its sentence with an
    alternative between (您可以把余额存到一千以上，或者销户，以后就不会再扣了)."""
    before = out[i - 1]
    if sentence_of[i - 1] != sentence_of[i]:
        return False
    if _is_condition(before):
        return True
    return (i >= 2 and before.text.startswith(_ALTERNATIVE) and sentence_of[i - 2] == sentence_of[i]
            and _is_condition(out[i - 2]))


def _is_condition(clause: Clause) -> bool:
    return clause.hypothetical or _conditions(clause.text)


_ALTERNATIVE = ("或者", "或是", "要么", "还是")


def _conditions(text: str) -> bool:
    """The clause states a condition (如果…, 只要…, 刷满六次, 够五笔)."""
    return bool(_CONDITION.search(text))


def _consequence(text: str) -> bool:
    """The clause opens as the consequence of the one before (…就…, 那么…, 便…)."""
    return "就" in text[:6] or text.startswith(("那么", "那", "便", "则"))


# A clause that is only the commitment (我保证，… / 那我跟您保证，… / …，我向您保证) belongs with the clause it commits to.
_BARE_COMMITMENT = re.compile(r"^(?:那|那么|好|好的|行|这样|这样吧)?(我|我们)?(向您|跟您|给您|和您|对您|向你|跟你)?(保证|承诺|担保|打包票|打个包票|发誓|敢保证)[的啊呀]?$")


def _join_bare_commitments(text: str, pairs: list[tuple[list[tuple[str, int]], int]]) -> list:
    """Join a bare 我保证 to the next clause (to the one before when it comes last)."""
    out = list(pairs)
    i = 0
    while i < len(out) and len(out) > 1:
        piece, sentence = out[i]
        body = "".join(token for token, _ in piece if any(c.isalnum() for c in token))
        if _BARE_COMMITMENT.match(body):
            if i + 1 < len(out):
                out[i:i + 2] = [(_joined(text, piece, out[i + 1][0]), sentence)]
            else:
                out[i - 1:i + 1] = [(_joined(text, out[i - 1][0], piece), out[i - 1][1])]
            continue
        i += 1
    return out


def _joined(text: str, first: list[tuple[str, int]], second: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """Two pieces as one, the punctuation between them kept as a token so offsets stay aligned."""
    end = first[-1][1] + len(first[-1][0])
    gap = text[end:second[0][1]]
    return first + ([(gap, end)] if gap else []) + second


def _has_words(piece: list[tuple[str, int]]) -> bool:
    return any(any(c.isalnum() for c in token) for token, _ in piece)


def _clause(text: str, piece: list[tuple[str, int]]) -> Clause:
    start = piece[0][1]
    end = piece[-1][1] + len(piece[-1][0])
    tokens = tuple(token for token, _ in piece)
    body = text[start:end]
    question = is_question(body, tokens)
    return Clause(
        text=body,
        start_char=start,
        end_char=end,
        tokens=tokens,
        question=question,
        hypothetical=_is_hypothetical(body),
        addresses_you=any(t.startswith(_YOU) for t in tokens),
        speaks_of_self=any(t in _SELF for t in tokens),
        only_by_ba=question and only_by_ba(body, tokens),
    )


# Words a clause may open with before its topic (嗯那个钱的话…).
_FILLERS = ("就是说", "那个", "这个", "就是", "您这个", "你这个", "嗯", "啊", "哦", "那", "您", "你", "我们")
_TOPIC_MAX_CHARS = 4
# Predicates that make "X的话" a condition even when short (需要的话, 方便的话, 这样的话).
_CONDITIONAL_PREDICATES = frozenset("需要 有需要 方便 可以 愿意 同意 有空 有时间 可能 行 好 合适 着急 急 必要 有必要 满意 想 要 是 对 "
                                    "这样 那样 这么 那么 否则 不然 来得及 允许 有问题 有疑问".split())


# A rule with its condition (刷满六次就免年费, 只要按时还款就不收): what the bank does by rule, not a
# promise made on the call.
_CONDITION_THEN = re.compile(r"(只要|满|够|达到|达标|超过)(?!意).{0,12}?就")


def _is_hypothetical(body: str) -> bool:
    """如果/要是/万一… anywhere, a condition with 就 (满…就, 只要…就), or X的话 as a condition;
    钱的话/利息的话 (a short noun before 的话, with nothing conditional in it) only names the topic:
    利息的话我给您免了 is said, not supposed."""
    if any(word in body for word in _HYPOTHETICAL if word != "的话") or _CONDITION_THEN.search(body):
        return True
    at = _condition_de_hua(body)
    if at < 0:
        return False
    topic = plain(body[:at])
    stripped = True
    while stripped:
        stripped = False
        for filler in _FILLERS:
            if topic.startswith(filler) and len(topic) > len(filler):
                topic, stripped = topic[len(filler):], True
    is_topic = (0 < len(topic) <= _TOPIC_MAX_CHARS and topic not in _CONDITIONAL_PREDICATES
                and not any(c in topic for c in "不没别"))
    return not is_topic


def _condition_de_hua(body: str) -> int:
    """Offset of 的话 as a word of its own (not the 的 + 话费 of 三百元的话费), or -1."""
    tokens = _tokens(body)
    for i, (token, at) in enumerate(tokens):
        if token.endswith("的话"):  # 的话, and words jieba knows with it (需要的话)
            return at + len(token) - 2
        if token == "的" and i + 1 < len(tokens) and tokens[i + 1][0] == "话":
            return at
    return -1


def seeks_agreement(clause: Clause) -> bool:
    """A question that asks the customer to agree (您看行不行, 这样可以吗): a proposal, not a retort."""
    bare = plain(clause.text)
    return clause.question and (any(bare.endswith(tag) for tag in TAGS) or bare.startswith(("您看", "你看")))


def _ends_sentence(text: str, at: int) -> bool:
    """。？！ end a sentence; a point between digits (利率3.6%) does not."""
    if text[at] not in _SENTENCE_ENDS:
        return False
    return not (text[at] == "." and 0 < at < len(text) - 1 and text[at - 1].isdigit() and text[at + 1].isdigit())


def sentence_index(text: str, offset: int) -> int:
    """Which sentence of ``text`` the character at ``offset`` belongs to, from 0."""
    return sum(1 for at in range(min(offset, len(text))) if _ends_sentence(text, at))


def sentence_start(text: str, offset: int) -> int:
    """Where the sentence holding the character at ``offset`` begins."""
    return next((at + 1 for at in range(min(offset, len(text)) - 1, -1, -1) if _ends_sentence(text, at)), 0)


def sentence_end(text: str, offset: int) -> int:
    """Where the sentence holding the character at ``offset`` ends: its 。？！ or the end of ``text``."""
    return next((at for at in range(max(offset, 0), len(text)) if _ends_sentence(text, at)), len(text))


def first_sentence(text: str) -> str:
    """``text`` up to its first sentence end (all of it when there is none)."""
    return text[: sentence_end(text, 0)]


def negated_before(clause: Clause, offset: int, max_gap_chars: int = 4) -> str | None:
    """The negator governing the word at ``offset`` (a display offset) in the clause, if any.

    A negator governs what follows it closely: only function words may stand between (不能保证,
    不敢说绝对, 没法向您保证, 不是想投诉), at most ``max_gap_chars`` characters of them; a content
    word ends its scope (不满意也没用: 不 negates 满意, not 没用), and so does a new subject.
    Only whole jieba words count: 不满意, 不错 and 不好意思 are words of their own.
    """
    local = offset - clause.start_char
    position = 0
    found: str | None = None
    gap = 0
    wide = False
    previous = ""
    for index, token in enumerate(clause.tokens):
        at = clause.text.find(token, position)
        position = at if at >= 0 else position  # spaces between tokens are not tokens themselves
        end = position + len(token)
        if end > local:
            if position < local and token in _NEGATORS:
                return token  # the word starts inside a negator (不是您的问题: 是您 inside 不是)
            if position < local and token[: local - position] in _GLUED_NEGATORS:
                return token[: local - position]  # 您别搞混了: jieba glues 别搞, the word starts after 别
            break
        suggestion = token == "不" and previous == "要" and clause.tokens[0] == "要"  # 要不您…: "how about"
        glued = token in _GLUED_TO_ADVERB or (len(token) == 2 and token[0] == "别" and token[1] in _GLUED_VERBS)
        if (token in _NEGATORS or glued) and not suggestion and not _a_not_a(previous, token) and not _rhetorical(clause, token) \
                and not _complement(previous, token):
            found, gap, wide = token, 0, False
        elif found == previous == "不" and token == "对" and _verdict_follows(clause.tokens[index + 1 : index + 2]):
            found = None  # 不对 judging, run on without a stop (卡号不对肯定是您输错了): it negates nothing after it
        elif found is not None and (wide or (previous == found != "不是" and token in _WIDE_SCOPE)):
            wide = True
        elif found is not None and token in _BRIDGE:
            gap += len(token)
        elif found is not None and previous in _PREPOSITIONS and len(token) <= 2 and token.isalpha():
            pass  # the preposition's object (替系统, 给银): still inside the negator's scope
        else:
            found = None
        position = end
        previous = token
    return found if found is not None and (wide or gap <= max_gap_chars) else None


# After 不对 these open a new statement, never the object of 对 as a preposition (不对您收费 keeps it).
_AFTER_VERDICT = frozenset("肯定 一定 应该 可能 估计 就是 就 是 那 那就 所以 反正 明明 吧 啊 呀 嘛 呢 的 了 哦 哈 吗".split())


def _verdict_follows(following: tuple[str, ...]) -> bool:
    return bool(following) and following[0] in _AFTER_VERDICT


def _rhetorical(clause: Clause, token: str) -> bool:
    """不是…吗 asks to agree, it does not deny (这不是明摆着的吗)."""
    words = [t for t in clause.tokens if any(c.isalnum() for c in t)]
    return token == "不是" and bool(words) and words[-1] in ("吗", "嘛")


# 不好 after a one-character verb completes it (扫不好, 弄不好: cannot do it well) and negates nothing after it
# (扫个码都扫不好这么简单的事都不会, run on); after these adverbs and pronouns it negates (也不好办, 我不好说).
_BEFORE_NEGATOR = frozenset("也都就还可真很太最更又再才并是我你您他她它这那")


def _complement(previous: str, token: str) -> bool:
    return token == "不好" and len(previous) == 1 and is_cjk(previous) and previous not in _BEFORE_NEGATOR


def _a_not_a(previous: str, token: str) -> bool:
    """能 + 不能, 是 + 不是, 会 + 不会: the A-not-A of a question (能不能别打断我), not a negation."""
    return len(token) > 1 and token[0] in "不没" and token[1:] == previous


def hedged(clause: Clause) -> str | None:
    """A hedge anywhere in the clause (保证不了, 说不准, 以审核结果为准), if any."""
    for hedge in _HEDGES:
        if hedge in clause.text:
            return hedge
    said = _HEDGE_TO_YOU.search(clause.text)
    return said.group() if said else None


def clause_at(found: Sequence[Clause], offset: int) -> Clause | None:
    """The clause containing display offset ``offset``."""
    for clause in found:
        if clause.start_char <= offset < clause.end_char:
            return clause
    return None
