"""The unit of batch work: a call job, where jobs come from, and how one job is scored.

``discover_calls`` turns a directory of recordings or a CSV manifest into ``CallJob``s. The per-call
work is a ``ScorerFactory`` built once per worker (one model per worker) and called per job; tests
inject fakes. ``run_job`` turns one job into a ``CallOutcome``, catching its failure. Scheduling the
jobs on engines and storing the outcomes is ``qa_pipeline.batch.driver``.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping, Protocol

from qa_pipeline.audio.io import AUDIO_SUFFIXES
from qa_pipeline.config import PipelineOptions
from qa_pipeline.errors import MetaError, QAError
from qa_pipeline.asr.factory import build_recognizer, decoding_id
from qa_pipeline.asr.model_cache import resolve_model_dir
from qa_pipeline.pipeline import audit_call, audit_transcript, find_meta
from qa_pipeline.rules.run import load_checked_policy
from qa_pipeline.text.transcript_io import TRANSCRIPT_MODEL_ID, is_transcript_path
from qa_pipeline.types import CallMeta, CallReport, Transcript

log = logging.getLogger("qa_pipeline.batch.driver")  # the name its log lines had before the split


# -- jobs and discovery ------------------------------------------------------------------------


@dataclass(frozen=True)
class CallJob:
    """One recording (or transcript JSON) to score. ``meta_row`` holds its manifest row; None means
    a sidecar (or none)."""

    audio_path: Path
    meta_row: Mapping[str, str] | None = field(default=None, compare=False)
    meta_source: str | None = None

    @property
    def is_transcript(self) -> bool:
        """A transcript JSON (scored without ASR) rather than a recording."""
        return is_transcript_path(self.audio_path)

    def load_meta(self) -> CallMeta | None:
        """The call's metadata; raises MetaError on an invalid sidecar or manifest row."""
        if self.meta_row is not None:
            return CallMeta.from_dict(self.meta_row, self.meta_source)
        return find_meta(self.audio_path)


def discover_calls(source: Path) -> list[CallJob]:
    """Audio files and transcript JSONs under a directory (recursively, sorted), or the rows of a
    CSV manifest. ``NAME.json`` is a transcript unless it is a ``.meta.json`` or ``.truth.json`` sidecar.

    A manifest has a column ``audio`` (path relative to the manifest) and optional CallMeta columns
    (``call_id, agent_id, direction, queue, started_at, hangup_by, rings, answer_delay_s``).
    """
    source = Path(source)
    if source.is_file() and source.suffix.lower() == ".csv":
        return read_manifest(source)
    if not source.is_dir():
        raise QAError("not a directory or a .csv manifest", str(source))
    paths = (p for p in source.rglob("*")
             if (p.suffix.lower() in AUDIO_SUFFIXES or is_transcript_path(p)) and p.is_file())
    return [CallJob(p) for p in sorted(paths)]


def read_manifest(path: Path) -> list[CallJob]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            if reader.fieldnames is None or "audio" not in reader.fieldnames:
                raise MetaError("manifest needs a header row with an 'audio' column", f"{path}:1")
            jobs = []
            for row in reader:
                line = f"{path}:{reader.line_num}"
                audio = (row.pop("audio") or "").strip()
                if not audio:
                    raise MetaError("empty 'audio' field", line)
                meta = {k: v.strip() for k, v in row.items() if k and v and v.strip()}
                jobs.append(CallJob(path.parent / audio, meta, line))
            return jobs
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise MetaError(f"cannot read manifest: {exc}", str(path)) from None


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# -- the per-call function ---------------------------------------------------------------------


class CallScorer(Protocol):
    """Scores one call (in a worker); raises QAError on bad input."""

    def __call__(self, job: CallJob) -> CallReport: ...


@dataclass(frozen=True)
class ScoringIdentity:
    """The policy and model a batch scores with: two thirds of every CallKey."""

    policy_id: str
    model_id: str

    def model_for(self, job: CallJob) -> str:
        """The model part of a job's key: a transcript JSON was not recognised by our model."""
        return TRANSCRIPT_MODEL_ID if job.is_transcript else self.model_id


class ScorerFactory(Protocol):
    """Picklable recipe for a scorer: ``identity()`` runs in the driver (cheap, no model),
    ``make(cpu_threads)`` once in each worker (loads the model)."""

    def identity(self) -> ScoringIdentity: ...

    def make(self, cpu_threads: int) -> CallScorer: ...


@dataclass(frozen=True)
class PipelineScorerFactory:
    """The real per-call function: ``audit_call`` with one faster-whisper model per worker.

    ``needs_model`` False (every job a transcript JSON) loads no model anywhere.
    """

    policy_dir: Path | None = None
    options: PipelineOptions = field(default_factory=PipelineOptions)
    needs_model: bool = True

    def identity(self) -> ScoringIdentity:
        if not self.needs_model:
            return ScoringIdentity(load_checked_policy(self.policy_dir).policy_id, TRANSCRIPT_MODEL_ID)
        resolve_model_dir(self.options.asr)  # join/verify the model once, before workers start
        model_id = build_recognizer(self.options.asr).model_id
        # Decoding settings change the text, so they are part of what identifies a scoring.
        return ScoringIdentity(load_checked_policy(self.policy_dir).policy_id, decoding_id(model_id, self.options.asr))

    def make(self, cpu_threads: int) -> CallScorer:
        options = replace(self.options, asr=replace(self.options.asr, cpu_threads=cpu_threads))
        recognizer = None
        if self.needs_model:
            recognizer = build_recognizer(options.asr)
            recognizer.load()
        return _PipelineScorer(load_checked_policy(self.policy_dir), options, recognizer)


@dataclass(frozen=True)
class _PipelineScorer:
    policy: Any
    options: PipelineOptions
    recognizer: Any

    def __call__(self, job: CallJob) -> CallReport:
        if job.is_transcript:
            return audit_transcript(job.audio_path, job.load_meta(), self.policy)
        if self.recognizer is None:
            raise QAError("a recording in a batch set up for transcripts only", str(job.audio_path))
        return audit_call(job.audio_path, job.load_meta(), self.policy, self.options, self.recognizer)


@dataclass(frozen=True)
class CallOutcome:
    """What an engine hands back for job ``index``: a report dict, or the one-line reason it failed.

    ``transcript`` (with its signal analysis) is kept in the store so ``--rescore`` needs no ASR.
    """

    index: int
    report: Mapping[str, Any] | None
    meta: CallMeta | None
    error: str | None
    elapsed_s: float
    audio_s: float = 0.0
    transcript: Transcript | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def run_job(scorer: CallScorer, index: int, job: CallJob) -> CallOutcome:
    """Score one job, turning its failure into an outcome (the one place per-call errors are caught)."""
    started = time.perf_counter()
    try:
        report = scorer(job)
        elapsed = time.perf_counter() - started
        return CallOutcome(index, report.to_dict(), report.meta, None, elapsed, report.transcript.duration_s,
                           report.transcript)
    except QAError as exc:
        error = exc.one_line()
    except Exception as exc:  # a bug must not end a night's batch: store it, log the traceback
        log.exception("unexpected error scoring %s", job.audio_path)
        error = f"{job.audio_path}: internal error: {type(exc).__name__}: {exc}"
    return CallOutcome(index, None, _meta_or_none(job), error, time.perf_counter() - started)


def _meta_or_none(job: CallJob) -> CallMeta | None:
    try:
        return job.load_meta()
    except QAError:
        return None
