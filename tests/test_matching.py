"""Tolerant phrase matching on real Whisper-base errors (from shared/calls/VERIFY.md)."""

from __future__ import annotations

import pytest

from qa_pipeline.text.match import (
    GappedPattern,
    MatchOptions,
    evidence_for,
    find_gapped,
    find_phrase,
    find_phrases,
    span_times,
)
from qa_pipeline.text.normalize import normalize_display
from qa_pipeline.types import Role, Utterance, Word

OPTIONS = MatchOptions()


@pytest.mark.parametrize(
    ("heard", "phrase", "matched"),
    [
        # homophone substitution in a long phrase (来订 for 来电)
        ("谢谢您的来订，再见。", "谢谢您的来电", "谢谢您的来订"),
        # two substitutions in 14 characters
        ("我们一定会给你一个买衣的答复", "我们一定会给您一个满意的答复", "我们一定会给你一个买衣的答复"),
        # Traditional characters and a homophone (緊快 for 尽快)
        ("請您不要生氣,我們會緊快處理", "请您不要生气，我们会尽快处理", "请您不要生气,我们会紧快处理"),
        # short phrase, exact
        ("不行，年费已经入账了", "不行", "不行"),
        # short phrase, pinyin-exact (道账 for 到账)
        ("保证金贴道账", "到账", "道账"),
        # digits in the text meet Chinese numerals in the phrase
        ("您好金桥银行2046号", "二零四六号", "2046号"),
    ],
)
def test_found_despite_asr_errors(heard: str, phrase: str, matched: str) -> None:
    match = find_phrase(normalize_display(heard), phrase, OPTIONS)
    assert match is not None
    assert match.matched == normalize_display(matched)
    assert 0.8 <= match.similarity <= 1.0


@pytest.mark.parametrize(
    ("heard", "phrase", "why"),
    [
        ("不知到底怎么办", "不行", "phrase absent"),
        ("我们会尽快", "我们非常理解您的心情", "text shorter and different"),
        ("这个我也不清楚怎么回事", "不知道", "short phrases need an exact or pinyin-exact match"),
        ("你这系统也太差见了", "太差劲", "one wrong syllable in a 3-char phrase is not enough"),
        ("好的，请问还有其他问题吗", "谢谢您的来电", "a different sentence"),
    ],
)
def test_not_found(heard: str, phrase: str, why: str) -> None:
    assert find_phrase(normalize_display(heard), phrase, OPTIONS) is None, why


def test_heteronym_reading_accepted() -> None:
    # 行 read xing in 不行; an ASR 不型 (bu xing) must still meet it, and 银航 meets 银行 (hang)
    assert find_phrase("这个不型", "不行", OPTIONS) is not None
    assert find_phrase("星辰银航", "银行", OPTIONS) is not None


def test_all_occurrences_and_offsets() -> None:
    text = "不行，真的不行。"
    found = find_phrases(text, "不行", OPTIONS)
    assert [(m.start_char, m.end_char) for m in found] == [(0, 2), (5, 7)]


def test_gapped_pattern() -> None:
    pattern = GappedPattern("保证", "到账", 4)
    assert [m.matched for m in find_gapped("我保证今天到账", pattern, OPTIONS)] == ["保证今天到账"]
    assert find_gapped("保证金账户里的钱明天下午才会到账", pattern, OPTIONS) == []


def test_times_from_words() -> None:
    words = (Word("您好", 1.0, 1.4), Word("，", 1.4, 1.4), Word("不行", 2.0, 2.5), Word("。", 2.5, 2.5))
    utt = Utterance(Role.AGENT, 0, 1.0, 3.0, "您好，不行。", words)
    match = find_phrase(utt.text, "不行", OPTIONS)
    assert span_times(utt, match.start_char, match.end_char) == (2.0, 2.5)
    evidence = evidence_for(utt, match)
    assert (evidence.start_s, evidence.end_s, evidence.phrase, evidence.role) == (2.0, 2.5, "不行", Role.AGENT)


def test_times_interpolated_without_words() -> None:
    utt = Utterance(Role.AGENT, 0, 10.0, 14.0, "一二三四")
    assert span_times(utt, 2, 4) == (12.0, 14.0)
    with pytest.raises(ValueError):
        span_times(utt, 3, 9)


def test_options_validated() -> None:
    with pytest.raises(ValueError):
        MatchOptions(min_similarity=0.0)
    with pytest.raises(ValueError):
        MatchOptions(short_max_chars=0)


def test_fuzzy_pinyin_merges_confusable_sounds() -> None:
    # real Whisper output for 星辰银行信用卡中心 on dev_call_07: ying/yin and -ng/-n merged
    assert find_phrase("新陈鹰航行用卡中心", "星辰银行", OPTIONS) is not None
    strict = MatchOptions(fuzzy_pinyin=False)
    assert find_phrase("新陈鹰航行用卡中心", "星辰银行", strict) is None


@pytest.mark.parametrize("heard", ["可以提前还款吗", "很高兴为您服，很好"])
def test_rare_heteronym_readings_do_not_match(heard: str) -> None:
    # 还 can be read fu and 不 fu; 行 heng ~ 很 hen: such rare readings must not produce 不行
    assert find_phrase(heard, "不行", OPTIONS) is None


@pytest.mark.parametrize(
    ("heard", "matched"),
    [("金桥延航四四七一号", "延航"), ("新陈鹰航行用卡中心", "鹰航"), ("新陈菁英行系用卡", "英行"), ("正在进行处理", None)],
)
def test_sound_alike_keeps_initials(heard: str, matched: str | None) -> None:
    from qa_pipeline.text.match import find_sound_alike

    found = find_sound_alike(heard, "银行", MatchOptions(sound_min_similarity=0.8))
    assert [m.matched for m in found] == ([matched] if matched else [])


def test_dropped_character_in_long_phrase() -> None:
    # ASR drops characters too: one missing in seven is still 0.86 similar
    match = find_phrase("您好金桥银行二零四六号很高兴您服务请讲", "很高兴为您服务", OPTIONS)
    assert match is not None and match.matched == "很高兴您服务"
    assert match.similarity == pytest.approx(6 / 7)
