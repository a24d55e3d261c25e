"""Scale-out on Ray: the same per-call function on Ray actors that each hold one model.

Only the engine changes: ``qa_pipeline.batch.driver.run_batch`` still hashes, skips what is done and
writes every outcome to the store from the driver, so resumability and exactly-once hold exactly
as with the local engine. Ray is an optional extra (``pip install -e '.[ray]'``) and is imported
only when this engine runs.

Every node must see the recordings (and their sidecars) at the same path (a shared mount) and
have qa_pipeline installed in the same environment.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Sequence

from qa_pipeline.batch.jobs import CallJob, CallOutcome, CallScorer, ScorerFactory, _meta_or_none, run_job
from qa_pipeline.batch.driver import MAX_WORKER_DEATHS_PER_CALL, WorkerSetupError, log_levels, prepare_worker_process
from qa_pipeline.errors import QAError

log = logging.getLogger(__name__)

#: One call at a time per actor, so an actor's death points at exactly one call (the round trip to
#: the driver costs milliseconds against seconds of scoring).
_PER_ACTOR_IN_FLIGHT = 1


class ScorerActor:
    """Body of the Ray actor: builds its scorer (loads its model) once, then scores jobs."""

    def __init__(self, factory: ScorerFactory, cpu_threads: int, levels: Mapping[str, int]) -> None:
        prepare_worker_process(cpu_threads, levels)
        self._scorer: CallScorer | None = None
        self._setup_error: str | None = None
        try:
            self._scorer = factory.make(cpu_threads)
        except QAError as exc:
            self._setup_error = exc.one_line()

    def score(self, index: int, job: CallJob) -> CallOutcome:
        if self._scorer is None:
            raise WorkerSetupError(self._setup_error or "the scorer was not built")
        return run_job(self._scorer, index, job)


@dataclass(frozen=True)
class RayEngine:
    """Score on a Ray cluster.

    ``address``: None starts a private local Ray (unless one is already initialised in this
    process), ``"auto"`` joins the cluster started with ``ray start``, or ``ray://host:10001``.
    ``workers``: number of actors; 0 = as many as the cluster's CPUs allow at ``cpu_threads`` each.
    """

    address: str | None = None
    workers: int = 0
    cpu_threads: int = 1

    def __post_init__(self) -> None:
        if self.workers < 0 or self.cpu_threads < 1:
            raise ValueError("workers must be >= 0 and cpu_threads >= 1")

    def run(self, jobs: Sequence[tuple[int, CallJob]], factory: ScorerFactory) -> Iterator[CallOutcome]:
        if not jobs:
            return
        ray = _import_ray()
        started_here = not ray.is_initialized()
        if started_here:
            ray.init(address=self.address, include_dashboard=False, log_to_driver=False,
                     logging_level=logging.WARNING)
        actors = []
        try:
            actor_class = ray.remote(num_cpus=self.cpu_threads, max_restarts=-1)(ScorerActor)
            levels = log_levels()
            actors = [actor_class.remote(factory, self.cpu_threads, levels)
                      for _ in range(min(self._actor_count(ray), len(jobs)))]
            yield from self._dispatch(ray, actors, list(jobs))
        finally:
            for actor in actors:
                ray.kill(actor)
            if started_here:
                ray.shutdown()

    def _actor_count(self, ray: Any) -> int:
        if self.workers:
            return self.workers
        cpus = int(ray.cluster_resources().get("CPU", 1))
        return max(1, cpus // self.cpu_threads)

    def _dispatch(self, ray: Any, actors: list[Any], jobs: list[tuple[int, CallJob]]) -> Iterator[CallOutcome]:
        from ray.exceptions import RayActorError, RayTaskError

        queue = deque(jobs)
        deaths: dict[int, int] = {}
        in_flight: dict[Any, tuple[Any, tuple[int, CallJob]]] = {}

        def submit(actor: Any) -> None:
            if queue:
                item = queue.popleft()
                in_flight[actor.score.remote(*item)] = (actor, item)

        for actor in actors:
            for _ in range(_PER_ACTOR_IN_FLIGHT):
                submit(actor)
        while in_flight:
            [ref], _ = ray.wait(list(in_flight), num_returns=1)
            actor, (index, job) = in_flight.pop(ref)
            try:
                yield ray.get(ref)
            except RayTaskError as exc:
                if isinstance(exc.cause, WorkerSetupError):
                    raise WorkerSetupError(exc.cause.problem) from None
                raise
            except RayActorError:
                deaths[index] = deaths.get(index, 0) + 1
                log.warning("a Ray actor died while scoring %s", job.audio_path)
                if deaths[index] < MAX_WORKER_DEATHS_PER_CALL:
                    queue.appendleft((index, job))
                else:
                    error = f"{job.audio_path}: the worker process died while scoring this call"
                    yield CallOutcome(index, None, _meta_or_none(job), error, 0.0)
            submit(actor)


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise QAError("the Ray engine needs the ray extra: pip install 'qa_pipeline[ray]'") from None
    return ray
