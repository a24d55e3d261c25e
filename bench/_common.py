"""Shared helpers for the benchmarks: the model, speech clips as the pipeline cuts them, CER.

Benchmarks print; the library never does. Run from the repo root, e.g. ``python bench/cer.py``.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Sequence, TypeVar

import numpy as np
from rapidfuzz.distance import Levenshtein

from qa_pipeline.asr.packed import FasterWhisperRecognizer
from qa_pipeline.config import AsrOptions, VadOptions
from qa_pipeline.types import AudioClip
from qa_pipeline.text.normalize import match_form
from qa_pipeline.types import Span
from qa_pipeline.audio.io import clip_bounds_s, cut_clip
from qa_pipeline.audio.vad import speech_spans

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
T = TypeVar("T")


@dataclass(frozen=True)
class Tally:
    """Character edit errors against reference length, both in match form."""

    errors: int = 0
    ref_chars: int = 0

    def __add__(self, other: "Tally") -> "Tally":
        return Tally(self.errors + other.errors, self.ref_chars + other.ref_chars)

    @property
    def cer(self) -> float:
        return self.errors / self.ref_chars if self.ref_chars else 0.0

    def __str__(self) -> str:
        return f"{100 * self.cer:5.1f} % ({self.errors}/{self.ref_chars})"


def score(reference: str, hypothesis: str) -> Tally:
    ref, hyp = match_form(reference), match_form(hypothesis)
    return Tally(Levenshtein.distance(ref, hyp), len(ref))


def speech_clips(samples: np.ndarray, rate_hz: int, vad: VadOptions = VadOptions()) -> list[AudioClip]:
    """VAD spans of one mono channel, padded and cut exactly as the batch pipeline does."""
    total_s = len(samples) / rate_hz
    spans: list[Span] = speech_spans(samples, rate_hz, vad)
    return [cut_clip(samples, rate_hz, clip_bounds_s(span, vad.pad_ms, total_s)) for span in spans]


def make_recognizer(**overrides: object) -> FasterWhisperRecognizer:
    recognizer = FasterWhisperRecognizer(replace(AsrOptions(), **overrides))
    recognizer.load()
    return recognizer


def timed(action: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    result = action()
    return result, time.perf_counter() - start


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")
