"""Fixtures shared across the suite: the sample calls, fakes, and the real model once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples"


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    return SAMPLES


@pytest.fixture(scope="session")
def real_recognizer():
    """The bundled Whisper base, joined into the user's cache once and loaded once per test session."""
    from qa_pipeline.asr.packed import FasterWhisperRecognizer
    from qa_pipeline.config import AsrOptions

    recognizer = FasterWhisperRecognizer(AsrOptions())
    recognizer.load()
    return recognizer


@pytest.fixture(scope="session")
def default_policy():
    from qa_pipeline.policy.policy import load_policy

    return load_policy(None)
