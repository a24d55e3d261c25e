"""Normalisation for display and matching: expected strings written by hand."""

from __future__ import annotations

import sys
import subprocess

import pytest

from qa_pipeline.text.normalize import (
    Tokenizer,
    chinese_digits,
    chinese_quantity,
    match_form,
    normalize_display,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("您好,海川銀行,很高興為您服務。信將.", "您好，海川银行，很高兴为您服务。信将。"),
        ("口頭掛失的有效期", "口头挂失的有效期"),
        ("请问还有其他问题吗?", "请问还有其他问题吗？"),
        ("太差了!", "太差了！"),
        ("利率是3.6%,对吗", "利率是3.6%，对吗"),  # decimal point stays, comma after % becomes Chinese
        ("１２３４ＡＢｃ", "1234ABc"),  # full-width letters and digits to half width
        ("你 好 ， 我 想 问", "你好，我想问"),  # spaces between Chinese characters collapse
        ("I  want  OK", "I want OK"),  # spaces between Latin words are kept (single)
        ("您别著急，看著我说", "您别着急，看着我说"),  # Whisper's traditional 著 for the particle 着
        ("著名的银行，效果显著", "著名的银行，效果显著"),  # where simplified Chinese keeps 著
        ("这笔钱肯定点您退回来，我这边点你加急", "这笔钱肯定给您退回来，我这边给你加急"),  # 给 heard 点 after a pledge
        ("下午五点你再打，晚点您再来，快点您说", "下午五点你再打，晚点您再来，快点您说"),  # o'clock, "a little": 点
        ("您先点您的头像，再点你那个转账", "您先点您的头像，再点你那个转账"),  # tapping the customer's screen: 点
        ("", ""),
    ],
)
def test_normalize_display(raw: str, expected: str) -> None:
    assert normalize_display(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("您好，金桥银行2046号，很高兴为您服务。", "您好金桥银行二零四六号很高兴为您服务"),
        ("额度最高是30万元", "额度最高是三十万元"),
        ("年化利率是3.6%起", "年化利率是百分之三点六起"),
        ("借款满6个月", "借款满六个月"),
        ("工本费是10元", "工本费是十元"),
        ("补卡5000元", "补卡五千元"),  # an amount before 元 is a quantity even with 4 digits
        ("1,000元", "一千元"),
        ("卡号后四位是0815", "卡号后四位是零八一五"),
        ("2024年", "二零二四年"),  # >= 3 digits not before an amount unit: digit by digit
        ("收到 OK 吗？", "收到ok吗"),
        ("轉賬５萬元！", "转账五万元"),
        ("50%", "百分之五十"),
    ],
)
def test_match_form(raw: str, expected: str) -> None:
    assert match_form(raw) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, "零"),
        (7, "七"),
        (10, "十"),
        (15, "十五"),
        (20, "二十"),
        (101, "一百零一"),
        (110, "一百一十"),
        (1005, "一千零五"),
        (1050, "一千零五十"),
        (10005, "一万零五"),
        (100010, "十万零一十"),
        (120000, "十二万"),
        (3000000, "三百万"),
        (100000000, "一亿"),
        (10000000100, "一百亿零一百"),
    ],
)
def test_chinese_quantity(value: int, expected: str) -> None:
    assert chinese_quantity(value) == expected


def test_chinese_digits() -> None:
    assert chinese_digits("2046") == "二零四六"
    with pytest.raises(ValueError):
        chinese_digits("20a")
    with pytest.raises(ValueError):
        chinese_quantity(-1)


def test_tokenizer_is_private_and_uses_user_dict(tmp_path) -> None:
    user_dict = tmp_path / "user.txt"
    user_dict.write_text("口头挂失 2000 n\n", encoding="utf-8")
    tokenizer = Tokenizer(tmp_path / "cache", user_dict)
    assert "口头挂失" in tokenizer.cut("我想办理口头挂失")
    assert (tmp_path / "cache" / Tokenizer._CACHE_NAME).exists()
    import jieba

    assert "口头挂失" not in jieba.dt.FREQ  # the global default tokenizer is untouched


def test_import_loads_nothing() -> None:
    code = (
        "import sys, qa_pipeline.text.normalize;"
        "print('opencc' in sys.modules, 'jieba' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_index_match_form_maps_back_to_display() -> None:
    from qa_pipeline.text.normalize import index_match_form

    display = normalize_display("工号2046号，利率3.6%。")
    form = index_match_form(display)
    assert form.text == "工号二零四六号利率百分之三点六"
    start, end = form.display_span(2, 6)  # 二零四六
    assert display[start:end] == "2046"
    start, end = form.display_span(9, 15)  # 百分之三点六
    assert display[start:end] == "3.6%"
    with pytest.raises(ValueError):
        form.display_span(3, 99)
