"""Nightly batch scoring: find the calls, score the new ones in parallel, store each at once.

The driver (``run_batch``) owns the store: engines only turn jobs into outcomes and stream them
back, so resumability and exactly-once hold the same way for the local engine (worker processes,
here) and the Ray engine (``qa_pipeline.ray_engine``). The per-call work is a ``ScorerFactory``
built once per worker (one model per worker) and called per job; tests inject fakes.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import os
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Callable, Generator, Iterator, Mapping, Protocol, Sequence

from qa_pipeline.audio import AUDIO_SUFFIXES
from qa_pipeline.config import PipelineOptions
from qa_pipeline.errors import MetaError, QAError
from qa_pipeline.store import CallKey, ResultStore
from qa_pipeline.types import CallMeta, CallReport

log = logging.getLogger(__name__)

#: A Ray actor that dies twice on the same call gets that call recorded as failed.
MAX_WORKER_DEATHS_PER_CALL = 2


# -- jobs and discovery ------------------------------------------------------------------------


@dataclass(frozen=True)
class CallJob:
    """One recording to score. ``meta_row`` holds its manifest row; None means a sidecar (or none)."""

    audio_path: Path
    meta_row: Mapping[str, str] | None = field(default=None, compare=False)
    meta_source: str | None = None

    def load_meta(self) -> CallMeta | None:
        """The call's metadata; raises MetaError on an invalid sidecar or manifest row."""
        if self.meta_row is not None:
            return CallMeta.from_dict(self.meta_row, self.meta_source)
        from qa_pipeline.pipeline import find_meta

        return find_meta(self.audio_path)


def discover_calls(source: Path) -> list[CallJob]:
    """Audio files under a directory (recursively, sorted), or the rows of a CSV manifest.

    A manifest has a column ``audio`` (path relative to the manifest) and optional CallMeta columns
    (``call_id, agent_id, direction, queue, started_at, hangup_by, rings, answer_delay_s``).
    """
    source = Path(source)
    if source.is_file() and source.suffix.lower() == ".csv":
        return read_manifest(source)
    if not source.is_dir():
        raise QAError("not a directory or a .csv manifest", str(source))
    paths = (p for p in source.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())
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


class ScorerFactory(Protocol):
    """Picklable recipe for a scorer: ``identity()`` runs in the driver (cheap, no model),
    ``make(cpu_threads)`` once in each worker (loads the model)."""

    def identity(self) -> ScoringIdentity: ...

    def make(self, cpu_threads: int) -> CallScorer: ...


@dataclass(frozen=True)
class PipelineScorerFactory:
    """The real per-call function: ``audit_call`` with one faster-whisper model per worker."""

    policy_dir: Path | None = None
    options: PipelineOptions = field(default_factory=PipelineOptions)

    def identity(self) -> ScoringIdentity:
        from qa_pipeline.asr import FasterWhisperRecognizer
        from qa_pipeline.model_cache import resolve_model_dir
        from qa_pipeline.policy import load_policy

        resolve_model_dir(self.options.asr)  # join/verify the model once, before workers start
        model_id = FasterWhisperRecognizer(self.options.asr).model_id
        # Decoding settings change the text, so they are part of what identifies a scoring.
        return ScoringIdentity(load_policy(self.policy_dir).policy_id, f"{model_id}/beam{self.options.asr.beam_size}")

    def make(self, cpu_threads: int) -> CallScorer:
        from qa_pipeline.asr import FasterWhisperRecognizer
        from qa_pipeline.policy import load_policy

        options = replace(self.options, asr=replace(self.options.asr, cpu_threads=cpu_threads))
        recognizer = FasterWhisperRecognizer(options.asr)
        recognizer.load()
        return _PipelineScorer(load_policy(self.policy_dir), options, recognizer)


@dataclass(frozen=True)
class _PipelineScorer:
    policy: Any
    options: PipelineOptions
    recognizer: Any

    def __call__(self, job: CallJob) -> CallReport:
        from qa_pipeline.pipeline import audit_call

        return audit_call(job.audio_path, job.load_meta(), self.policy, self.options, self.recognizer)


@dataclass(frozen=True)
class CallOutcome:
    """What an engine hands back for job ``index``: a report dict, or the one-line reason it failed."""

    index: int
    report: Mapping[str, Any] | None
    meta: CallMeta | None
    error: str | None
    elapsed_s: float
    audio_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


def run_job(scorer: CallScorer, index: int, job: CallJob) -> CallOutcome:
    """Score one job, turning its failure into an outcome (the one place per-call errors are caught)."""
    started = time.perf_counter()
    try:
        report = scorer(job)
        elapsed = time.perf_counter() - started
        return CallOutcome(index, report.to_dict(), report.meta, None, elapsed, report.transcript.duration_s)
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


# -- engines -----------------------------------------------------------------------------------


class Engine(Protocol):
    """Turns jobs into outcomes (any order), streaming each as soon as it is done."""

    def run(self, jobs: Sequence[tuple[int, CallJob]], factory: ScorerFactory) -> Iterator[CallOutcome]: ...


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def default_workers(cores: int | None = None) -> int:
    """One worker per core: on 2 cores two 1-thread models beat one 2-thread model (bench/throughput.py)."""
    return max(1, cores if cores is not None else available_cores())


def threads_per_worker(workers: int, cores: int | None = None) -> int:
    """Split the cores between workers so they do not oversubscribe the machine."""
    if workers < 1:
        raise ValueError("workers must be >= 1")
    return max(1, (cores if cores is not None else available_cores()) // workers)


class WorkerSetupError(QAError):
    """A worker could not build its scorer (model or policy unavailable): the batch stops."""


_worker_scorer: CallScorer | None = None
_worker_setup_error: str | None = None


def log_levels() -> dict[str, int]:
    """The log levels the entry point set in this process, to hand to worker processes (which start bare)."""
    levels = {"": logging.getLogger().level}
    for name, logger in logging.root.manager.loggerDict.items():
        if isinstance(logger, logging.Logger) and logger.level != logging.NOTSET:
            levels[name] = logger.level
    return levels


def prepare_worker_process(cpu_threads: int, levels: Mapping[str, int]) -> None:
    """A worker's entry point: its thread budget, and the driver's log levels."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(cpu_threads)
    try:
        import jieba  # noqa: F401  (it sets its own logger to DEBUG on import: import it before quieting)
    except ImportError:
        pass
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)
    jieba_log = logging.getLogger("jieba")
    jieba_log.setLevel(max(jieba_log.level, logging.WARNING))


def _init_worker(factory: ScorerFactory, cpu_threads: int, levels: Mapping[str, int]) -> None:
    global _worker_scorer, _worker_setup_error
    prepare_worker_process(cpu_threads, levels)
    try:
        _worker_scorer = factory.make(cpu_threads)
    except QAError as exc:
        _worker_setup_error = exc.one_line()


def _score_in_worker(index: int, job: CallJob) -> CallOutcome:
    if _worker_scorer is None:
        raise WorkerSetupError(_worker_setup_error or "worker used before its initializer ran")
    return run_job(_worker_scorer, index, job)


@dataclass(frozen=True)
class LocalEngine:
    """Worker processes on this machine, each holding one scorer (one model)."""

    workers: int = field(default_factory=default_workers)
    cpu_threads: int = 0  # per worker; 0 = split the cores

    def run(self, jobs: Sequence[tuple[int, CallJob]], factory: ScorerFactory) -> Iterator[CallOutcome]:
        # Never more workers (models) than calls; the cores are split among those that run.
        workers = max(1, min(self.workers, len(jobs)))
        threads = self.cpu_threads or threads_per_worker(workers)
        pending = list(jobs)
        while pending:
            suspects, pending = yield from _run_pool(pending, factory, workers, threads)
            if suspects:
                log.warning("a worker process died; retrying the %d calls it may have held one by one",
                            len(suspects))
            for item in suspects:  # alone in a fresh worker: a call that still kills it is the culprit
                crashed, _ = yield from _run_pool([item], factory, 1, threads)
                for index, job in crashed:
                    error = f"{job.audio_path}: the worker process died while scoring this call"
                    yield CallOutcome(index, None, _meta_or_none(job), error, 0.0)


_Item = tuple[int, CallJob]


def _run_pool(pending: list[_Item], factory: ScorerFactory, workers: int,
              threads: int) -> Generator[CallOutcome, None, tuple[list[_Item], list[_Item]]]:
    """Run jobs until all are done or a worker dies; returns (calls in flight at the death, calls not begun)."""
    queue = list(reversed(pending))
    in_flight: dict[Future[CallOutcome], _Item] = {}
    pool = ProcessPoolExecutor(workers, get_context("spawn"), _init_worker, (factory, threads, log_levels()))
    try:
        while queue or in_flight:
            while queue and len(in_flight) < 2 * workers:
                item = queue.pop()
                in_flight[pool.submit(_score_in_worker, *item)] = item
            finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            broken = []
            for future in finished:
                item = in_flight.pop(future)
                try:
                    outcome = future.result()
                except BrokenProcessPool:
                    broken.append(item)
                    continue
                yield outcome
            if broken:
                return broken + list(in_flight.values()), list(reversed(queue))
        return [], []
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


# -- the driver --------------------------------------------------------------------------------


@dataclass(frozen=True)
class FailedCall:
    source: str
    error: str


@dataclass(frozen=True)
class BatchProgress:
    """A snapshot handed to the progress hook after the start and after every finished call."""

    found: int
    skipped: int
    to_score: int
    done: int = 0
    failed: int = 0
    audio_s: float = 0.0
    started_monotonic: float = field(default_factory=time.monotonic)

    def elapsed_s(self, now: float | None = None) -> float:
        return (time.monotonic() if now is None else now) - self.started_monotonic

    def calls_per_minute(self, now: float | None = None) -> float:
        elapsed = self.elapsed_s(now)
        return 60.0 * self.done / elapsed if elapsed > 0 else 0.0

    def eta_s(self, now: float | None = None) -> float | None:
        """Seconds left at the pace so far (None before the first call finishes)."""
        if self.done == 0:
            return None
        return self.elapsed_s(now) / self.done * (self.to_score - self.done)

    def advanced(self, outcome: CallOutcome) -> "BatchProgress":
        return replace(self, done=self.done + 1, failed=self.failed + (not outcome.ok),
                       audio_s=self.audio_s + outcome.audio_s)


BatchHook = Callable[[BatchProgress, "CallOutcome | None"], None]


@dataclass(frozen=True)
class BatchResult:
    found: int
    skipped: int
    scored: int
    failures: tuple[FailedCall, ...]
    keys: tuple[CallKey, ...]
    elapsed_s: float
    audio_s: float

    @property
    def exit_code(self) -> int:
        """0 when every call is stored as scored, 3 when some failed."""
        return 3 if self.failures else 0


def run_batch(jobs: Sequence[CallJob], store: ResultStore, engine: Engine, factory: ScorerFactory,
              hook: BatchHook | None = None) -> BatchResult:
    """Score the jobs not yet in ``store`` (by CallKey) and store each outcome the moment it arrives."""
    identity = factory.identity()
    started = time.monotonic()
    done = store.done_keys()
    keys: dict[int, CallKey] = {}
    todo: list[tuple[int, CallJob]] = []
    queued: set[CallKey] = set()
    failures: list[FailedCall] = []
    for index, job in enumerate(jobs):
        source = str(job.audio_path.resolve())
        try:
            key = CallKey(file_sha256(job.audio_path), identity.policy_id, identity.model_id)
        except OSError as exc:
            key = CallKey("unreadable:" + hashlib.sha256(source.encode()).hexdigest(),
                          identity.policy_id, identity.model_id)
            error = f"{job.audio_path}: cannot read the file: {exc.strerror or exc}"
            store.record_failure(key, source, error, _meta_or_none(job))
            failures.append(FailedCall(source, error))
        else:
            if key not in done and key not in queued:  # the same audio twice is scored once
                todo.append((index, job))
                queued.add(key)
        keys[index] = key
    progress = BatchProgress(len(jobs), len(jobs) - len(todo) - len(failures), len(todo),
                             started_monotonic=started)
    if hook is not None:
        hook(progress, None)
    for outcome in engine.run(todo, factory):
        source = str(jobs[outcome.index].audio_path.resolve())
        if outcome.ok and outcome.report is not None:
            store.record_result(keys[outcome.index], outcome.report, source, outcome.meta)
        else:
            store.record_failure(keys[outcome.index], source, outcome.error or "unknown error", outcome.meta)
            failures.append(FailedCall(source, outcome.error or "unknown error"))
        progress = progress.advanced(outcome)
        if hook is not None:
            hook(progress, outcome)
    return BatchResult(len(jobs), progress.skipped, progress.done, tuple(failures),
                       tuple(dict.fromkeys(keys.values())), time.monotonic() - started, progress.audio_s)
