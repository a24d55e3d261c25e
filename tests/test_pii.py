"""PII masking: a table of texts with the exact masked form and the reason for each case."""

from __future__ import annotations

import pytest

from qa_pipeline.text.pii import mask_pieces, mask_report_dict, mask_text, mask_transcript
from qa_pipeline.types import Role, Transcript, Utterance, Word

CASES = [
    # (text, expected, reason)
    ("我的卡号是6222021234567890", "我的卡号是************7890", "16-digit card number, last 4 kept"),
    ("卡号6222021234567890123", "卡号***************0123", "19-digit card number"),
    ("我的卡号是6222 0212 3456 7890", "我的卡号是**** **** **** 7890", "card read in groups of four"),
    ("账号6222-0212-3456-7890", "账号****-****-****-7890", "hyphen-separated groups"),
    ("手机13812345678", "手机*******5678", "11-digit mobile number"),
    ("身份证号110105199001011234", "身份证号**************1234", "18-digit PRC ID"),
    ("身份证号11010519900101123X", "身份证号**************123X", "PRC ID ending in the check letter X"),
    ("一三八一二三四五六七八", "*******五六七八", "mobile number spoken digit by digit"),
    ("幺三八，一二三四，五六七八", "***，****，五六七八", "spoken with 幺 and pauses between groups"),
    ("6222零二一二三四五六七八九零", "************七八九零", "Arabic and spoken digits mixed"),
    ("号码是两五零零八六七七", "号码是****八六七七", "两 and 零 count as digits in a run"),
    ("身份证一一零一零五一九九零零一零一一二三叉", "身份证**************一二三叉",
     "spoken PRC ID: 17 digits and 叉 for X"),
    ("打叉", "打叉", "叉 alone is a word"),
    # Issue 14: a verification answer is masked whole (it used to stay readable and leaked the ID tail).
    ("卡号后四位是零三八六", "卡号后四位是****", "a 后四位 verification answer is masked"),
    ("身份证后六位是三二零五一四", "身份证后六位是******", "the ID's last six read for verification"),
    ("卡号后四位是零三八六，一般两个工作日", "卡号后四位是****，一般两个工作日",
     "a single digit after a comma is a new word, not a further group"),
    ("这里是星辰银行八一二三号", "这里是星辰银行八一二三号", "agent id of 4 digits"),
    ("年费是三百六十元，五千元额度", "年费是三百六十元，五千元额度", "amounts use 百/千, not digit runs"),
    ("转账50000元", "转账50000元", "5-digit amount"),
    ("2024-11-07 09:22 来电", "2024-11-07 09:22 来电", "Arabic date and time"),
    ("二零二四年十一月七号", "二零二四年十一月七号", "spoken date"),
    ("一般两个工作日之内", "一般两个工作日之内", "ordinary words containing 一 and 两"),
    ("这个3x的倍数", "这个3x的倍数", "an x not ending an ID is text"),
    # Issue 14: written and spoken forms that leaked.
    ("1 3 8 0 0 1 3 8 0 0 0", "* * * * * * * 8 0 0 0", "single-spaced Arabic digits"),
    ("幺 三 八 零 零 幺 三 八 零 零 零", "* * * * * * * 八 零 零 零", "spoken digits with spaces"),
    ("号码是一，三，八，零，零，一，三，八，零，零，零", "号码是*，*，*，*，*，*，*，八，零，零，零",
     "Chinese-comma separated single digits"),
    ("138.0013.8000", "***.****.8000", "dot-separated phone"),
    ("138,0013,8000", "***,****,8000", "comma-separated phone"),
    ("138  0013  8000", "***  ****  8000", "double spaces between groups"),
    ("138， 0013， 8000", "***， ****， 8000", "Chinese comma and a space"),
    ("卡号陆贰贰贰零贰壹贰叁肆伍陆柒捌玖零", "卡号************柒捌玖零", "financial numerals"),
    ("幺三洞洞幺三拐洞洞勾勾", "*******洞洞勾勾", "radio digits 洞 拐 勾"),
    ("6222-02-12 3456 7890", "****-**-** **** 7890", "a card that starts like a date"),
    ("2024-02-12 3456 7890", "****-**-** **** 7890", "a date glued to more digits is a number"),
    ("手机尾号是5678", "手机尾号是****", "尾号 answer"),
    ("一百二十三万四千五百六十七元", "一百二十三万四千五百六十七元", "an amount spoken with units"),
    ("共1,234,567元", "共1,234,567元", "an amount with thousands separators"),
    ("3205 1410 2438 5081 2X", "**** **** **** **81 2X", "ID in groups of four with X"),
    ("工号8123，2024年11月7日09:30来电", "工号8123，2024年11月7日09:30来电", "agent id, date and time"),
]


@pytest.mark.parametrize(("text", "expected", "reason"), CASES, ids=[c[2] for c in CASES])
def test_mask_text(text: str, expected: str, reason: str) -> None:
    assert mask_text(text) == expected, reason


@pytest.mark.parametrize(("text", "expected", "reason"), CASES, ids=[c[2] for c in CASES])
def test_masking_is_idempotent_and_keeps_length(text: str, expected: str, reason: str) -> None:
    assert mask_text(expected) == expected
    assert len(mask_text(text)) == len(text)


def test_mask_text_rejects_non_string() -> None:
    with pytest.raises(ValueError):
        mask_text(13812345678)  # type: ignore[arg-type]


def test_number_split_over_words_is_masked_word_by_word() -> None:
    assert mask_pieces(["手机", "138", "1234", "5678", "对"]) == ["手机", "***", "****", "5678", "对"]


def test_mask_transcript_masks_text_and_words() -> None:
    words = (Word("卡号", 1.0, 1.3), Word("62220212", 1.3, 2.0), Word("34567890", 2.0, 2.8))
    utterance = Utterance(Role.CUSTOMER, 1, 1.0, 2.8, "卡号6222021234567890", words)
    transcript = Transcript("c1", 3.0, 16000, 2, (utterance,))
    masked = mask_transcript(transcript)
    assert masked.utterances[0].text == "卡号************7890"
    assert [w.text for w in masked.utterances[0].words] == ["卡号", "********", "****7890"]
    assert masked.utterances[0].words[1].start_s == 1.3
    assert transcript.utterances[0].text == "卡号6222021234567890"  # original untouched


def test_mask_report_dict_masks_every_customer_text_field() -> None:
    report = {
        "call_id": "XC-0001",
        "agent_id": "8123",
        "utterances": [
            {"role": "customer", "start_s": 1.0, "end_s": 3.0, "text": "手机13812345678",
             "words": [{"text": "手机1381", "start_s": 1.0, "end_s": 2.0},
                       {"text": "2345678", "start_s": 2.0, "end_s": 3.0}]},
        ],
        "checks": {"forbidden_phrases": {"passed": False, "hits": [
            {"phrase": "不行", "start_s": 1.0, "end_s": 2.0, "text": "不行，卡号6222021234567890"}]}},
        "findings": [{"rule_id": "x", "evidence": [{"text": "身份证110105199001011234"}]}],
    }
    masked = mask_report_dict(report)
    assert masked["utterances"][0]["text"] == "手机*******5678"
    assert [w["text"] for w in masked["utterances"][0]["words"]] == ["手机****", "***5678"]
    assert masked["checks"]["forbidden_phrases"]["hits"][0]["text"] == "不行，卡号************7890"
    assert masked["checks"]["forbidden_phrases"]["hits"][0]["phrase"] == "不行"
    assert masked["findings"][0]["evidence"][0]["text"] == "身份证**************1234"
    assert masked["call_id"] == "XC-0001" and masked["agent_id"] == "8123"
    assert report["utterances"][0]["text"] == "手机13812345678"  # input untouched


def test_the_agents_staff_number_is_not_joined_to_a_customers_number_read_after_it():
    """工号5127 in the greeting, then a card number read 4 s later: the card is masked, the 工号 kept
    (the greeting check needs it, and rescoring reads the masked transcript)."""
    from qa_pipeline.text.pii import mask_call_texts

    greeting, card = mask_call_texts(["您好，江南银行，工号5127，很高兴为您服务。", "我的卡号6222 0212 3456 7890 123"], [0.5, 4.5])
    assert "5127" in greeting
    assert "6222" not in card and "0212" not in card
