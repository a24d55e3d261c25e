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


def browser_required() -> bool:
    """Real-browser tests may not skip when CI (or the README's test command) says a browser is there."""
    import os

    return os.environ.get("QA_REQUIRE_BROWSER") == "1"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A skipped ``browser`` test is a failure when ``QA_REQUIRE_BROWSER=1`` (never a silent skip)."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and item.get_closest_marker("browser") is not None and browser_required():
        report.outcome = "failed"
        report.longrepr = f"{item.nodeid}: a real-browser test skipped, but QA_REQUIRE_BROWSER=1 requires it to run"
