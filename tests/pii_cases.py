"""The PII test set of issue 14: written and spoken forms, numbers read in pieces, and a report that
carries them (shared by ``tests/test_pii_leaks.py`` and ``bench/pii_leaks.py``; imports no qa_pipeline code,
so the bench can measure an older checkout with it).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

# (text a customer or agent said, the part that must never appear in any output)
FORMS = [
    ("卡号6222021234567890", "622202123456"),
    ("卡号6222 0212 3456 7890", "6222 0212 3456"),
    ("卡号6222-0212-3456-7890", "6222-0212-3456"),
    ("手机13812345678", "1381234"),
    ("手机138 1234 5678", "138 1234"),
    ("手机1 3 8 1 2 3 4 5 6 7 8", "1 3 8 1 2 3 4"),
    ("手机1  3  8  1  2  3  4  5  6  7  8", "1  3  8  1  2  3  4"),
    ("手机138  1234  5678", "138  1234"),
    ("手机138.1234.5678", "138.1234"),
    ("手机138,1234,5678", "138,1234"),
    ("手机138，1234，5678", "138，1234"),
    ("手机138、1234、5678", "138、1234"),
    ("手机138， 1234， 5678", "138， 1234"),
    ("手机１３８１２３４５６７８", "１３８１２３４"),
    ("手机一三八一二三四五六七八", "一三八一二三四"),
    ("手机幺三八幺二三四五六七八", "幺三八幺二三四"),
    ("手机幺 三 八 幺 二 三 四 五 六 七 八", "幺 三 八 幺 二 三 四"),
    ("手机一，三，八，一，二，三，四，五，六，七，八", "一，三，八，一，二，三，四"),
    ("手机一三八，一二三四，五六七八", "一三八，一二三四"),
    ("手机幺三八 一二三四 五六七八", "幺三八 一二三四"),
    ("手机壹叁捌壹贰叁肆伍陆柒捌", "壹叁捌壹贰叁肆"),
    ("手机幺叁捌幺贰叁肆伍陆拐捌", "幺叁捌幺贰叁肆"),
    ("手机幺三八洞洞幺三拐勾勾洞", "幺三八洞洞幺三"),
    ("手机两五零零八六七七", "两五零零"),
    ("身份证320514199001011234", "32051419900101"),
    ("身份证32051419900101123X", "32051419900101"),
    ("身份证3205 1419 9001 0112 3X", "3205 1419 9001 01"),
    ("身份证三二零五一四一九九零零一零一一二三叉", "三二零五一四一九九零零一零一"),
    ("身份证后六位是三二零五一四", "三二零五一四"),
    ("身份证后六位是320514", "320514"),
    ("卡号后四位是零三八六", "零三八六"),
    ("手机尾号是5678", "5678"),
    ("手机尾号5678对吧", "5678"),
    ("卡号末四位是7890", "7890"),
    ("卡号6222-02-12 3456 7890", "6222-02-12 3456"),
    ("卡号2022-02-12 3456 7890", "2022-02-12 3456"),
    ("卡号6222零二一二三四五六七八九零", "6222零二一二三四五"),
    ("卡号陆贰贰贰零贰壹贰叁肆伍陆柒捌玖零", "陆贰贰贰零贰壹贰叁肆伍陆"),
    ("账号 6222 0212 3456 7890 123", "6222 0212 3456 7890"),
    ("座机02112345678", "0211234"),
    ("手机+86 138 1234 5678", "138 1234"),
]

# A number read in pieces across utterances (both channels), each piece too short on its own.
CHUNKED = [
    (("我的身份证号是320514", 10.0, 1), ("嗯，您说", 12.0, 0), ("199001", 13.0, 1), ("011234", 16.0, 1)),
    (("手机号138", 5.0, 1), ("好的", 6.0, 0), ("一二三四", 7.0, 1), ("五六七八", 8.0, 1)),
    (("卡号是6222 0212", 30.0, 1), ("6222 0212，请继续", 33.0, 0), ("3456 7890", 36.0, 1)),
]
CHUNK_SECRETS = [("320514", "199001"), ("138", "一二三四"), ("6222 0212", "3456")]


RATE_HZ = 8000
NUMBER_SPAN_S = (2.0, 3.0)


def leaky_report(call_id: str = "13812345678") -> dict:
    """A report whose customer reads numbers: whole, in pieces, and as a verification answer."""
    utterances = []
    start = 0.5
    for text, secret in FORMS[:12]:
        utterances.append({"role": "customer", "channel": 1, "start_s": start, "end_s": start + 1.0,
                           "text": text, "words": [{"text": text, "start_s": start, "end_s": start + 1.0}]})
        start += 30.0  # far apart: no chunk joining between forms
    for text, s, channel in CHUNKED[0]:
        utterances.append({"role": "customer" if channel else "agent", "channel": channel, "start_s": 400 + s,
                           "end_s": 401 + s, "text": text, "words": [{"text": text, "start_s": 400 + s,
                                                                      "end_s": 401 + s}]})
    utterances[0]["start_s"], utterances[0]["end_s"] = NUMBER_SPAN_S
    utterances[0]["words"][0].update(start_s=NUMBER_SPAN_S[0], end_s=NUMBER_SPAN_S[1])
    evidence = {"start_s": 410.0, "end_s": 411.0, "text": "320514", "role": "customer"}
    return {"call_id": call_id, "duration_s": 440.0, "direction": "inbound", "agent_id": "=HYPERLINK(\"x\")",
            "utterances": utterances, "checks": {"identity_check": {"passed": True, "evidence": [evidence]}},
            "findings": [{"rule_id": "identity_check", "severity": "minor", "message": "m",
                          "start_s": 410.0, "end_s": 411.0, "evidence": [evidence]}],
            "score": 50.0, "policy_id": "p", "model_id": "m", "incomplete": False}


def stereo_call(path: Path) -> None:
    """4 s stereo: a 440 Hz 'voice' on the customer channel throughout (the number at 2-3 s)."""
    t = np.arange(4 * RATE_HZ) / RATE_HZ
    voice = 0.5 * np.sin(2 * np.pi * 440 * t)
    sf.write(path, np.stack([0.3 * np.sin(2 * np.pi * 300 * t), voice], axis=1), RATE_HZ, subtype="PCM_16")
