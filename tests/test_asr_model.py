"""The real bundled Whisper base on real audio from samples/ (slower: marked ``model``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from qa_pipeline.audio.io import load_call_audio
from qa_pipeline.config import AsrOptions
from qa_pipeline.asr.model_cache import ensure_default_model
from qa_pipeline.types import AudioClip
from qa_pipeline.text.normalize import match_form

pytestmark = pytest.mark.model

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
RATE_HZ = 16000

# Stretches of samples/dev_call_01.wav (channel, start_s, end_s) and a phrase each one says.
OPENING = (0, 0.8, 6.7)  # agent: 您好，星辰银行八一二三号，很高兴为您服务，请讲。
CARD_BILL = (1, 7.2, 10.8)  # customer: 你好，我想查一下我这个月的信用卡账单。
LAST_DIGITS = (0, 11.5, 17.0)  # agent: 好的，请问您是持卡人本人吗？麻烦您提供一下卡号的后四位。
NOISE_ONLY = (1, 0.1, 2.0)  # customer channel before anyone speaks: line noise only


@pytest.fixture(scope="module")
def recognizer(tmp_path_factory: pytest.TempPathFactory):
    """The default model joined from the wheels into a fresh cache dir, then loaded once."""
    from qa_pipeline.asr.packed import FasterWhisperRecognizer

    model_dir = ensure_default_model(tmp_path_factory.mktemp("models") / "whisper-base")
    recognizer = FasterWhisperRecognizer(AsrOptions(model_path=str(model_dir)))
    recognizer.load()
    return recognizer


@pytest.fixture(scope="module")
def call_01() -> tuple[np.ndarray, ...]:
    return load_call_audio(SAMPLES / "dev_call_01.wav").channels


def cut(channels: tuple[np.ndarray, ...], stretch: tuple[int, float, float]) -> AudioClip:
    channel, start_s, end_s = stretch
    return AudioClip(np.ascontiguousarray(channels[channel][int(start_s * RATE_HZ) : int(end_s * RATE_HZ)]))


def test_agent_opening_is_recognised(recognizer, call_01) -> None:
    (result,) = recognizer.transcribe([cut(call_01, OPENING)])
    assert "很高兴为您服务" in match_form(result.text)
    assert result.words and all(0.0 <= w.start_s <= w.end_s <= 5.9 for w in result.words)


def test_packing_keeps_each_clips_text_in_its_own_clip(recognizer, call_01) -> None:
    stretches = [OPENING, NOISE_ONLY, CARD_BILL, LAST_DIGITS]
    clips = [cut(call_01, s) for s in stretches]
    results = recognizer.transcribe(clips)
    texts = [match_form(r.text) for r in results]
    phrases = ["很高兴为您服务", None, "信用卡", "提供一下"]
    for position, text in enumerate(texts):
        for other, phrase in enumerate(phrases):
            if phrase is None:
                continue
            if other == position:
                assert phrase in text, (position, texts)
            else:
                assert phrase not in text, (position, texts)
    assert texts[1] == "", texts  # the noise clip gets nothing: no neighbour's words, no hallucination
    for clip, result in zip(clips, results):
        assert all(0.0 <= w.start_s <= w.end_s <= clip.duration_s for w in result.words)
