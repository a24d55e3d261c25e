"""The clause analysis under the judgement: clauses without punctuation, negation scope, questions,
word boundaries, and the example-trained intent matcher."""

from __future__ import annotations

import pytest

from qa_pipeline.text.analysis import clauses, hedged, negated_before, on_word_boundaries
from qa_pipeline.rules.judge import _inside_other_word
from qa_pipeline.text.intent import IntentExamples, intent_model
from qa_pipeline.types import Word


def _negator(text: str, word: str) -> str | None:
    found = clauses(text)
    clause = next(c for c in found if c.start_char <= text.index(word) < c.end_char)
    return negated_before(clause, text.index(word))


@pytest.mark.parametrize(
    "text, word, negator",
    [
        ("我不能保证一定到账", "保证", "不能"),
        ("我可不敢说绝对没问题", "绝对", "不敢"),
        ("这个我没办法向您保证", "保证", "没"),
        ("我也不是想投诉你们", "投诉", "不是"),
        # a content word ends the scope: 不 negates 满意, not 没用
        ("您不满意也没用", "没用", None),
        # a new subject ends the scope
        ("你们不给我处理我就投诉", "投诉", None),
        ("不用担心我保证明天到账", "保证", None),
        # 不错 is a word of its own, not a negator
        ("不错我保证明天到账", "保证", None),
        # 不好 completing a verb (写不好: cannot write it well) negates nothing after it; as a negator it does
        ("填个表都写不好这么容易的事也学不会", "这么容易", None),
        ("这个我们也不好保证", "保证", "不好"),
        # 不对 judging (wrong) run on without a stop negates nothing after it; 对 as a preposition stays in scope
        ("密码不对肯定是您自己输错了", "您", None),
        ("我们不对您收取任何费用", "收取", "不"),
    ],
)
def test_negation_scope(text: str, word: str, negator: str | None) -> None:
    assert _negator(text, word) == negator


def test_hedge_anywhere_in_clause() -> None:
    assert hedged(clauses("这个我保证不了")[0]) == "保证不了"
    assert hedged(clauses("能不能批下来要以审批结果为准")[0]) is not None
    assert hedged(clauses("明天一定到账")[0]) is None


@pytest.mark.parametrize(
    "text, question",
    [
        ("您看这样可以吗", True),  # final particle, no question mark
        ("这个方案行不行", True),  # A-not-A
        ("难道这也要我教", True),
        ("这也要问？", True),
        ("好的我帮您查一下", False),
        ("这个不收费的", False),
        ("您刚才说的是哪一张卡", True),  # 哪一 asks which
        ("上个月扣了八十块这是什么钱", True),  # a final 是什么… asks
        ("这笔扣款是什么", True),
        ("没什么问题了", False),  # 什么 inside, not a final question
        ("好的请问您当时输错过几回", True),  # 请问 after an acknowledgement opens a question
        ("那您一共转了几笔", True),  # 几 with a measure word asks how many
        ("我试了好几次", False),  # 好几次 counts, asks nothing
        ("过几天再看看", False),
    ],
)
def test_question_or_statement(text: str, question: bool) -> None:
    assert clauses(text)[-1].question is question


def test_clauses_without_punctuation_cut_at_markers_and_pauses() -> None:
    text = "我理解您的心情但是这个费用是规定收取的"
    assert [c.text for c in clauses(text)] == ["我理解您的心情", "但是这个费用是规定收取的"]
    words = (Word("好的", 0.0, 0.4), Word("我帮您查", 0.5, 1.2), Word("您稍等", 2.2, 2.8))
    assert [c.text for c in clauses("好的我帮您查您稍等", words, pause_s=0.5)] == ["好的我帮您查", "您稍等"]


def test_namo_of_degree_opens_no_clause() -> None:
    # 那么 before 多/久/着急… says how much; as "then" it still opens a clause
    assert [c.text for c in clauses("您别问那么多了")] == ["您别问那么多了"]
    assert [c.text for c in clauses("这个要等那么久吗")] == ["这个要等那么久吗"]
    assert [c.text for c in clauses("材料都齐了那么您明天来办")] == ["材料都齐了", "那么您明天来办"]


def test_supposition_belongs_to_an_asked_sentence() -> None:
    found = clauses("如果我要投诉的话，应该打哪个电话？")
    assert found[0].hypothetical and found[0].in_question and not found[0].question


def test_what_follows_the_question_in_a_run_on_sentence_is_not_asked() -> None:
    # ASR ran a rhetorical question and the threat after it into one sentence
    found = clauses("你们到底是怎么管账户的，再不给我处理，我就去银保监会投诉")
    assert found[0].question and found[0].in_question
    assert [c.in_question for c in found[1:]] == [False, False]


def test_addressee() -> None:
    clause = clauses("您自己去网点问")[0]
    assert clause.addresses_you and not clause.speaks_of_self
    assert clauses("我们会尽快回复")[0].speaks_of_self


def test_word_boundaries() -> None:
    text = "很不幸这张卡已经过期了"
    start = text.index("不幸")
    assert not on_word_boundaries(text, start, start + 1)  # 不 alone is inside 不幸
    assert on_word_boundaries(text, start, start + 2)


def test_intent_model_generalises_and_explains() -> None:
    examples = IntentExamples(
        "demo",
        positive=("年费我给您免了", "利息我帮您免掉", "手续费给您退回去", "违约金不收您的了"),
        negative=("我帮您提交减免申请", "年费按规定收取", "审核通过后会通知您", "手续费是两元"),
        background=("请问您的卡号是多少", "好的请稍等"),
    )
    model = intent_model(examples)
    unseen = model.resemble("这个月的分期手续费我给您免了")
    assert unseen.probability > 0.5
    assert unseen.example in examples.positive and unseen.similarity > 0
    assert model.resemble("请问您要办理什么业务").probability < 0.5
    assert intent_model(examples) is model  # fitted once per example set


def test_intent_model_cache_refills_without_losing_a_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """A long batch fills the score cache; the call that overflows it still scores every text it was given,
    those cached before as well as the new ones."""
    from qa_pipeline.text import intent

    examples = IntentExamples("cache", positive=("年费我给您免了", "利息给您免掉"), negative=("年费按规定收取", "好的请稍等"))
    model = intent.IntentModel(examples)
    monkeypatch.setattr(intent, "_CACHE_SIZE", 3)
    first = model.resemble_all(("年费给您免了", "请稍等", "手续费两元", "利息照收"))
    again = model.resemble_all(("年费给您免了", "违约金不收了"))  # one cached, one new: the cache overflows
    assert len(again) == 2 and again[0] == first[0]
    assert again[1].probability == model.resemble("违约金不收了").probability


@pytest.mark.parametrize(
    "text, word, negator",
    [
        # A-not-A asks, it does not negate: 能不能别打断 is not "cannot"
        ("能不能别再打断我说话", "别", None),
        # 不是…吗 asks to agree
        ("这不是写得很清楚吗", "写", None),
        # a word that starts inside a negator is negated (是您 inside 不是)
        ("不是您的责任", "是您", "不是"),
        # 不允许 governs through 允许
        ("按规定不允许承诺收益", "承诺", "不"),
        ("市面上不存在保本的理财", "保本", "不"),
    ],
)
def test_negation_scope_questions_and_inner_words(text: str, word: str, negator: str | None) -> None:
    found = _negator(text, word)
    assert (found is None) if negator is None else (found is not None and found.startswith(negator))


def test_lacking_authority_is_a_hedge() -> None:
    assert hedged(clauses("年费这个我没有权限给您免")[0]) is not None


@pytest.mark.parametrize(
    "text, question",
    [
        # a tag after enough content seeks agreement; what comes before is stated
        ("给您补偿三百积分您看行吗", False),
        ("您看这样行吗", True),  # the tag is all there is: a real question
        ("那您看怎么样", True),
    ],
)
def test_tag_questions(text: str, question: bool) -> None:
    assert clauses(text)[-1].question is question


@pytest.mark.parametrize(
    "text, hypothetical",
    [
        ("年费的话我给您免了", False),  # a short topic before 的话 only names what is talked about
        ("您需要的话我给您寄过去", True),  # a condition
        ("我晚点再打过来，您现在不方便的话", True),
        ("只要按时还款就不收利息", True),  # a rule with its condition
        ("存满三个月，下个月就免管理费", True),  # the consequence of the clause before
        ("我给您免了，就这样吧", False),
        ("您可以把卡挂失，或者直接冻结，之后就不会再被盗刷了", True),  # the consequence of advice and its alternative
        ("您可以放心，这笔钱就一定能退回来", False),  # reassurance states no condition
    ],
)
def test_suppositions_topics_and_rules(text: str, hypothetical: bool) -> None:
    assert clauses(text)[-1].hypothetical is hypothetical


@pytest.mark.parametrize(
    "text, phrase, inside",
    [
        ("我真的很无语", "无语", False),  # jieba glues 很 to 无语; a degree adverb stands beside it
        ("这样真不行啊", "不行", False),
        ("好不容易办好了", "不容", True),  # a word of its own, not the short phrase
        ("客户说太无语了吧", "无语", False),
    ],
)
def test_degree_adverb_beside_a_short_phrase(text: str, phrase: str, inside: bool) -> None:
    start = text.find(phrase)
    assert _inside_other_word(text, start, start + len(phrase), phrase) is inside


def test_a_condition_ends_at_its_de_hua_however_asr_punctuated_it() -> None:
    found = clauses("您现在重新提交的话明天上午之前肯定能批下来")
    assert [c.text for c in found] == ["您现在重新提交的话", "明天上午之前肯定能批下来"]
    assert found[0].hypothetical and not found[1].hypothetical
