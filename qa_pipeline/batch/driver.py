"""Nightly batch scoring: score the new calls in parallel, store each at once.

The driver (``run_batch``) owns the store: engines only turn jobs into outcomes and stream them
back, so resumability and exactly-once hold the same way for the local engine (worker processes,
here) and the Ray engine (``qa_pipeline.batch.ray_engine``). The jobs, their discovery and the per-call
function are ``qa_pipeline.batch.jobs``; their names are importable from here too.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import signal
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from multiprocessing import get_context
from typing import Callable, Generator, Iterator, Mapping, Protocol, Sequence

from qa_pipeline.batch.jobs import (
    CallJob,
    CallOutcome,
    CallScorer,
    ScorerFactory,
    ScoringIdentity,
    _meta_or_none,
    file_sha256,
    run_job,
)
from qa_pipeline.errors import QAError
from qa_pipeline.store.results import CallKey, ResultStore

log = logging.getLogger(__name__)

#: A Ray actor that dies twice on the same call gets that call recorded as failed.
MAX_WORKER_DEATHS_PER_CALL = 2


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


_PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int) -> None:
    """Ask the kernel to SIGKILL this process when its parent dies (Linux ``prctl``), so no worker
    outlives a driver killed with ``kill -9``. Elsewhere a watcher thread polls the parent instead."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl failed")
    except (OSError, AttributeError):
        threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True).start()
        return
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os.kill(os.getpid(), signal.SIGKILL)


def _watch_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(1.0)
    os.kill(os.getpid(), signal.SIGKILL)


def _init_worker(factory: ScorerFactory, cpu_threads: int, levels: Mapping[str, int], parent_pid: int) -> None:
    global _worker_scorer, _worker_setup_error
    die_with_parent(parent_pid)
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
    pool = ProcessPoolExecutor(workers, get_context("spawn"), _init_worker,
                               (factory, threads, log_levels(), os.getpid()))
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
    """Score the jobs not yet in ``store`` (by CallKey) and store each outcome the moment it arrives.

    One batch at a time works on a store: a second run waits for the store's batch lock, then finds
    the first run's calls done and skips them, so two runs never score a call twice.
    """
    identity = factory.identity()
    with store.batch_lock(lambda: log.warning("%s: another qa batch is working on this store; waiting "
                                              "for it to finish", store.path)):
        return _run_locked(jobs, store, engine, factory, identity, hook)


def _run_locked(jobs: Sequence[CallJob], store: ResultStore, engine: Engine, factory: ScorerFactory,
                identity: ScoringIdentity, hook: BatchHook | None) -> BatchResult:
    started = time.monotonic()
    done = store.done_keys()
    keys: dict[int, CallKey] = {}
    todo: list[tuple[int, CallJob]] = []
    queued: set[CallKey] = set()
    failures: list[FailedCall] = []
    for index, job in enumerate(jobs):
        source = str(job.audio_path.resolve())
        try:
            key = CallKey(file_sha256(job.audio_path), identity.policy_id, identity.model_for(job))
        except OSError as exc:
            key = CallKey("unreadable:" + hashlib.sha256(source.encode()).hexdigest(),
                          identity.policy_id, identity.model_for(job))
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
            store.record_result(keys[outcome.index], outcome.report, source, outcome.meta,
                                transcript=outcome.transcript)
        else:
            store.record_failure(keys[outcome.index], source, outcome.error or "unknown error", outcome.meta)
            failures.append(FailedCall(source, outcome.error or "unknown error"))
        progress = progress.advanced(outcome)
        if hook is not None:
            hook(progress, outcome)
    return BatchResult(len(jobs), progress.skipped, progress.done, tuple(failures),
                       tuple(dict.fromkeys(keys.values())), time.monotonic() - started, progress.audio_s)
