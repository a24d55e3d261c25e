"""background_talk.txt: ordinary, neutral bank-call utterances that are none of the judgement intents.

The file is negative material for every intent at once, so a single line that carries an intent's
marker (thanks, apology, promise, refusal, complaint…) would teach the models the opposite of what
they need. These checks keep the file clean as it grows.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from qa_pipeline.policy.files import default_policy_dir

# Words that belong to an intent (taboo/refusal, promise/compensation, complaint, comfort/apology,
# thanks/praise). None may appear in a neutral line. "错了" alone is not listed: "密码输错了" is a neutral
# fact about the account; only the taboo forms that tell the customer he is wrong are.
INTENT_MARKERS = (
    "谢谢", "感谢", "多谢", "服务真好", "建议你们",
    "抱歉", "对不起", "不好意思", "歉意", "理解您", "久等", "辛苦",
    "投诉", "监管", "媒体", "曝光", "凭什么", "生气",
    "保证", "一定", "肯定", "确保", "承诺", "绝对", "放心", "赔偿", "补偿", "给您免", "帮您免",
    "不知道", "不清楚", "不行", "不可以", "办不了", "没办法", "你错了", "您错了", "是错的", "找别人",
)
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def lines() -> list[str]:
    path = default_policy_dir() / "background_talk.txt"
    text = path.read_text(encoding="utf-8")
    assert text.endswith("\n") and "\r" not in text
    return text.split("\n")[:-1]


def test_size_and_no_blank_lines(lines: list[str]) -> None:
    assert 900 <= len(lines) <= 1200
    blank = [n for n, line in enumerate(lines, 1) if not line.strip() or line != line.strip()]
    assert blank == []


def test_no_duplicates(lines: list[str]) -> None:
    seen: dict[str, int] = {}
    dups = [(n, line) for n, line in enumerate(lines, 1) if seen.setdefault(line, n) != n]
    assert dups == []


def test_no_intent_marker(lines: list[str]) -> None:
    hits = [(n, m, line) for n, line in enumerate(lines, 1) for m in INTENT_MARKERS if m in line]
    assert hits == []


def test_every_line_has_chinese(lines: list[str]) -> None:
    assert [line for line in lines if not CJK.search(line)] == []


def test_marker_check_catches_an_intent_line() -> None:
    """The marker list is not vacuous: typical intent sentences are caught by it."""
    samples = ["非常感谢您的建议", "给您带来不便非常抱歉", "这个我们一定帮您解决", "这个不行", "我要投诉你们"]
    assert all(any(m in s for m in INTENT_MARKERS) for s in samples)
