"""A cheap per-call function for batch tests: no model, deterministic, picklable into workers.

A "call" here is any file starting with ``RIFF``; its score and greeting verdict are derived from
its bytes so every run (and every engine) must produce the same report for the same file.
Files starting with ``CRASH`` kill the worker process; anything else is not audio.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

from qa_pipeline.batch.jobs import CallJob, ScoringIdentity
from qa_pipeline.errors import AudioFormatError, ModelUnavailableError
from qa_pipeline.types import CallMeta, CallReport, CheckResult, Transcript

BYTES_PER_SECOND = 16000


def write_fake_call(path: Path, seconds: float, salt: str = "", meta: dict | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    body = (salt.encode() * 64)[:64].ljust(64, b"-")
    path.write_bytes(b"RIFF" + body + b"\0" * int(seconds * BYTES_PER_SECOND))
    if meta is not None:
        import json

        path.with_name(path.stem + ".meta.json").write_text(json.dumps(meta), encoding="utf-8")
    return path


def expected_score(path: Path) -> float:
    return float(int(hashlib.sha256(path.read_bytes()).hexdigest()[:4], 16) % 101)


@dataclass(frozen=True)
class FakeScorer:
    policy_id: str
    model_id: str
    delay_s: float

    def __call__(self, job: CallJob) -> CallReport:
        data = job.audio_path.read_bytes()
        if data.startswith(b"CRASH"):
            os._exit(17)
        if not data.startswith(b"RIFF"):
            raise AudioFormatError("not an audio file (unknown format)", str(job.audio_path))
        time.sleep(self.delay_s)
        meta = job.load_meta() or CallMeta()
        score = expected_score(job.audio_path)
        transcript = Transcript(job.audio_path.stem, len(data) / BYTES_PER_SECOND, 8000, 2, ())
        checks = (CheckResult("greeting", score >= 50, {"present": score >= 50}),)
        return CallReport(transcript, meta, checks, score, self.policy_id, self.model_id)


@dataclass(frozen=True)
class FakeScorerFactory:
    policy_id: str = "fake-policy"
    model_id: str = "fake-model"
    delay_s: float = 0.0
    broken_model: bool = False

    def identity(self) -> ScoringIdentity:
        return ScoringIdentity(self.policy_id, self.model_id)

    def make(self, cpu_threads: int) -> FakeScorer:
        if self.broken_model:
            raise ModelUnavailableError("model.bin has the wrong sha256", "/models/whisper-base")
        return FakeScorer(self.policy_id, self.model_id, self.delay_s)
