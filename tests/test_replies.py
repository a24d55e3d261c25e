"""A bare answer heard inside the utterance that asked for it goes to the other party (text.replies)."""

from __future__ import annotations

from qa_pipeline.asr.recognizer import ClipText
from qa_pipeline.audio.turns import SpeakerPiece
from qa_pipeline.rules.run import score_transcript
from qa_pipeline.text.diarize import HeardPiece, assign_roles
from qa_pipeline.text.replies import REPLY_CONFIDENCE, bare_reply, split_replies
from qa_pipeline.text.segment import default_segmenter, timed_words
from qa_pipeline.types import CallMeta, ChannelActivity, Role, Span, Transcript, Utterance, Word


def _said(role: Role, start_s: float, end_s: float, text: str, confidence: float | None = 0.99) -> Utterance:
    span = Span(start_s, end_s)
    return Utterance(role, 0, start_s, end_s, text, timed_words(text, (), span, default_segmenter()), confidence)


def test_bare_refusals_and_ignorance_are_replies_and_longer_clauses_are_not():
    for text in ("不！", "那不行", "就我哪知道", "不知道啊", "办不了"):
        assert bare_reply(text), text
    for text in ("不行的话您再打过来", "我也不知道怎么回事", "不需要", "好的", "不用"):
        assert not bare_reply(text), text


def test_an_agents_flat_no_inside_the_customers_turn_becomes_the_agents():
    turn = _said(Role.CUSTOMER, 10.0, 16.0, "法人来不了，我是财务，能代办吗？不！一点办法都没有吗？")
    out = split_replies([turn])
    assert [u.role for u in out] == [Role.CUSTOMER, Role.AGENT, Role.CUSTOMER]
    assert [u.text for u in out] == ["法人来不了，我是财务，能代办吗？", "不！", "一点办法都没有吗？"]
    answer = out[1]
    assert answer.role_confidence == REPLY_CONFIDENCE < 0.8  # moved by the words: under review
    assert out[0].end_s <= answer.start_s < answer.end_s <= out[2].start_s
    assert out[0].start_s == 10.0 and out[2].end_s == 16.0


def test_a_customers_i_dont_know_inside_the_agents_question_becomes_the_customers():
    asked = _said(Role.AGENT, 3.0, 7.0, "您还记得是哪家商户扣的吗？不知道。")
    later = _said(Role.CUSTOMER, 9.0, 11.0, "您帮我查一下吧。")
    out = split_replies([later, asked])
    assert [(u.role, u.text) for u in out] == [
        (Role.AGENT, "您还记得是哪家商户扣的吗？"), (Role.CUSTOMER, "不知道。"), (Role.CUSTOMER, "您帮我查一下吧。")]


def test_no_split_without_a_question_or_when_the_asker_goes_on_or_the_voice_is_unsure():
    cases = [
        _said(Role.AGENT, 0.0, 5.0, "具体卡在哪一步，我哪知道。"),  # nobody was asked
        _said(Role.CUSTOMER, 0.0, 5.0, "你们能快点吗？不行，我就去投诉。"),  # the customer's own threat
        _said(Role.CUSTOMER, 0.0, 5.0, "能代办吗？不！", confidence=0.6),  # voice unsure: words placed it
        _said(Role.AGENT, 0.0, 5.0, "能代办吗？不！", confidence=None),  # a channel names the role
    ]
    for utterance in cases:
        assert split_replies([utterance]) == [utterance], utterance.text


def test_an_answer_ending_the_turn_just_before_the_other_party_speaks_is_theirs_unless_heard_twice():
    asked = _said(Role.CUSTOMER, 0.0, 3.0, "今年交的钱能退吗？不。")
    # the agent's 不 was cut off the head of their turn (不，不能退 heard as 不。 | 不能退): it is moved
    reply = _said(Role.AGENT, 3.4, 4.5, "不能退。")
    assert [(u.role, u.text) for u in split_replies([asked, reply])] == [
        (Role.CUSTOMER, "今年交的钱能退吗？"), (Role.AGENT, "不。"), (Role.AGENT, "不能退。")]
    # the recogniser heard the agent's 不 in both utterances: it stays where it is, not counted twice
    twice = _said(Role.AGENT, 3.4, 4.5, "不，这个退不了。")
    assert split_replies([asked, twice]) == [asked, twice]
    # with the other party silent for a while, the answer stands alone and is moved
    late = _said(Role.AGENT, 6.0, 7.0, "您还有别的问题吗？")
    assert [u.role for u in split_replies([asked, late])] == [Role.CUSTOMER, Role.AGENT, Role.AGENT]


def test_a_separated_call_charges_the_agents_buried_refusal_to_the_agent(default_policy):
    lines = [(0, "您好，很高兴为您服务，请讲。"), (1, "我想把年费退了，您帮我退了吧？那不行！凭什么不行？"),
             (0, "非常抱歉给您带来不便，我帮您登记反映。")]
    heard = [HeardPiece(SpeakerPiece(Span(6.0 * i, 6.0 * i + 5.0), s, 1.0, Span(6.0 * i, 6.0 * i + 5.0)),
                        6.0 * i, ClipText(text)) for i, (s, text) in enumerate(lines)]
    mixed = ChannelActivity(0, Role.MIXED, tuple(h.piece.span for h in heard))
    utterances = assign_roles(heard, mixed).utterances
    assert [(u.role, u.text) for u in utterances][1:4] == [
        (Role.CUSTOMER, "我想把年费退了，您帮我退了吧？"), (Role.AGENT, "那不行！"), (Role.CUSTOMER, "凭什么不行？")]
    transcript = Transcript("c", 18.0, 8000, 1, tuple(utterances))
    forbidden = score_transcript(transcript, CallMeta(), default_policy, "test").check("forbidden_phrases")
    assert [h["text"] for h in forbidden.details["hits"]] == ["不行"]


def test_the_question_may_stand_a_clause_earlier_in_the_same_sentence():
    asked = _said(Role.CUSTOMER, 0.0, 6.0, "那能不能让我儿子替我去办，我下周再去取，不行，那得我自己去吗？")
    out = split_replies([asked])
    assert [(u.role, u.text) for u in out] == [
        (Role.CUSTOMER, "那能不能让我儿子替我去办，我下周再去取，"), (Role.AGENT, "不行，"),
        (Role.CUSTOMER, "那得我自己去吗？")]
    # a full stop between the question and the answer: the asker's own word, not moved
    told = _said(Role.CUSTOMER, 0.0, 6.0, "能不能快一点。我等了很久，不行。")
    assert split_replies([told]) == [told]


def _timed(role: Role, text: str, words: list[tuple[str, float, float]]) -> Utterance:
    return Utterance(role, 0, words[0][1], words[-1][2], text, tuple(Word(*w) for w in words), 0.99)


def test_giving_in_asks_nothing_and_i_dont_know_runs_on_into_what_is_not_known():
    # 那好吧 gives in: the 我不知道 after it is the speaker's own, whatever the pause
    gave_in = _timed(Role.CUSTOMER, "那好吧，我不知道。", [("那", 0.0, 0.2), ("好吧", 0.2, 0.6), ("我", 1.4, 1.6), ("不", 1.6, 1.8), ("知道", 1.8, 2.2)])
    assert split_replies([gave_in]) == [gave_in]
    # a pause cut 我不知道 off its object (还有这个规定), no punctuation between: one clause said, not an answer
    runs_on = _timed(Role.CUSTOMER, "能退吗？我不知道还有这个规定", [
        ("能", 0.0, 0.2), ("退", 0.2, 0.4), ("吗", 0.4, 0.6), ("我", 1.4, 1.6), ("不", 1.6, 1.8), ("知道", 1.8, 2.2),
        ("还有", 3.0, 3.4), ("这个", 3.4, 3.7), ("规定", 3.7, 4.2)])
    assert split_replies([runs_on]) == [runs_on]
    # with the comma, it answers the question: the other party's
    answered = _timed(Role.CUSTOMER, "能退吗？我不知道，还有这个规定", [
        ("能", 0.0, 0.2), ("退", 0.2, 0.4), ("吗", 0.4, 0.6), ("我", 1.4, 1.6), ("不", 1.6, 1.8), ("知道", 1.8, 2.2),
        ("还有", 3.0, 3.4), ("这个", 3.4, 3.7), ("规定", 3.7, 4.2)])
    assert [u.role for u in split_replies([answered])] == [Role.CUSTOMER, Role.AGENT, Role.CUSTOMER]


def test_any_a_not_a_form_ending_a_clause_asks_but_one_inside_it_may_be_what_is_not_known():
    # a dialect tag question (成不成, as 中不中 or 得不得) is asked like 行不行
    asked = _said(Role.CUSTOMER, 0.0, 5.0, "这个月的年费您就给免了成不成，不行。")  # ASR wrote no question mark
    assert [(u.role, u.text) for u in split_replies([asked])] == [
        (Role.CUSTOMER, "这个月的年费您就给免了成不成，"), (Role.AGENT, "不行。")]
    # whether it arrived is what the agent does not know: their own words stay theirs
    unknown = _said(Role.AGENT, 0.0, 5.0, "钱已经从我们这边转出去了，对方收没收到，我不知道。")
    assert split_replies([unknown]) == [unknown]


def test_an_a_not_a_form_ending_the_clause_asks_after_another_inside_it():
    asked = _said(Role.CUSTOMER, 0.0, 5.0, "到底扣没扣钱你给个准话成不成，不行。")
    assert [(u.role, u.text) for u in split_replies([asked])] == [
        (Role.CUSTOMER, "到底扣没扣钱你给个准话成不成，"), (Role.AGENT, "不行。")]


def test_a_bare_refusal_after_a_request_to_the_listener_is_the_listeners():
    # the customer demands, with no question asked; nobody refuses their own demand
    demanded = _said(Role.CUSTOMER, 0.0, 4.0, "那你马上把卡给我寄到家里，不可以。")
    assert [(u.role, u.text) for u in split_replies([demanded])] == [
        (Role.CUSTOMER, "那你马上把卡给我寄到家里，"), (Role.AGENT, "不可以。")]
    # the request, then the customer's own 不行 and what they will do then: theirs
    planned = _said(Role.CUSTOMER, 0.0, 4.0, "你帮我查一下流水，不行，我就去网点。")
    assert split_replies([planned]) == [planned]
