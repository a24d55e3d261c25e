"""Test doubles: a recognizer that answers from a script instead of a model."""

from __future__ import annotations

from typing import Sequence

from qa_pipeline.asr.recognizer import ClipText
from qa_pipeline.types import AudioClip
from qa_pipeline.types import Word


class ScriptedRecognizer:
    """Returns ``texts[i]`` for the i-th clip it is ever given (cycling), one word per character."""

    model_id = "scripted-test-recognizer"

    def __init__(self, texts: Sequence[str]) -> None:
        self.texts = list(texts)
        self.calls: list[list[AudioClip]] = []
        self._next = 0

    def transcribe(self, clips: Sequence[AudioClip], hook=None) -> list[ClipText]:
        self.calls.append(list(clips))
        results = []
        for clip in clips:
            text = self.texts[self._next % len(self.texts)]
            self._next += 1
            step = clip.duration_s / max(len(text), 1)
            words = tuple(Word(ch, i * step, (i + 1) * step) for i, ch in enumerate(text))
            results.append(ClipText(text, words))
            if hook is not None:
                hook("asr", len(results), len(clips))
        return results
