"""The speech-recognizer protocol every stage codes against.

The faster-whisper adapter (``qa_pipeline.asr.packed``) implements it; tests use fakes.
A recognizer receives clips of speech that VAD already cut, and returns their text
with word times relative to each clip's start. It never sees silence.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence

from qa_pipeline.hooks import Hook
from qa_pipeline.types import AudioClip, Word


@dataclass(frozen=True)
class ClipText:
    """Raw recognizer output for one clip (not yet normalised)."""

    text: str
    words: tuple[Word, ...] = ()


class Recognizer(Protocol):
    """Turns clips into text; the result list is parallel to the input list."""

    @property
    def model_id(self) -> str: ...

    def transcribe(self, clips: Sequence[AudioClip], hook: Hook | None = None) -> list[ClipText]:
        """``hook("asr", done, total)`` may be called as clips are finished (progress display)."""
        ...
