"""The Ray engine on a local Ray started by the test: same store contents as the local engine."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from batch_fakes import FakeScorerFactory, write_fake_call
from qa_pipeline.batch.jobs import discover_calls
from qa_pipeline.batch.driver import LocalEngine, run_batch
from qa_pipeline.store.results import ResultStore

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.ray

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent


@pytest.fixture(scope="module")
def local_ray():
    # Workers import the fakes from tests/, like a cluster imports qa_pipeline from its environment.
    path = os.pathsep.join(p for p in (str(TESTS), str(REPO), os.environ.get("PYTHONPATH")) if p)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": path}})
    yield
    ray.shutdown()


def stored_rows(db: Path) -> dict[str, tuple]:
    """Everything a run decides about each call (not when it ran)."""
    with ResultStore(db, mask_pii=False) as store:
        return {c.source: (c.key, c.status, c.error, c.call_id, c.agent_id, c.started_at, c.score, c.report)
                for c in store.iter_calls(latest_only=False)}


def run(engine, calls: Path, db: Path, factory) -> object:
    with ResultStore(db, mask_pii=False) as store:
        return run_batch(discover_calls(calls), store, engine, factory)


def test_ray_and_local_engines_store_the_same_results(tmp_path, local_ray):
    from qa_pipeline.batch.ray_engine import RayEngine

    calls = tmp_path / "calls"
    for i in range(6):
        write_fake_call(calls / f"c{i}.wav", 0.5, salt=str(i),
                        meta={"call_id": f"R{i}", "agent_id": "5307", "started_at": "2024-11-04T10:00:00+08:00"})
    (calls / "broken.wav").write_bytes(b"garbage" * 50)
    local = run(LocalEngine(workers=2), calls, tmp_path / "local.sqlite", FakeScorerFactory())
    remote = run(RayEngine(workers=2), calls, tmp_path / "ray.sqlite", FakeScorerFactory())
    assert (remote.scored, remote.exit_code, [f.error for f in remote.failures]) == (
        local.scored, 3, [f.error for f in local.failures])
    assert stored_rows(tmp_path / "ray.sqlite") == stored_rows(tmp_path / "local.sqlite")
    # Resumable the same way: a second Ray run finds everything done except the broken file.
    again = run(RayEngine(workers=2), calls, tmp_path / "ray.sqlite", FakeScorerFactory())
    assert (again.scored, again.skipped) == (1, 6)


def test_a_ray_actor_that_cannot_load_its_model_stops_the_batch(tmp_path, local_ray):
    from qa_pipeline.batch.driver import WorkerSetupError
    from qa_pipeline.batch.ray_engine import RayEngine

    write_fake_call(tmp_path / "a.wav", 0.5)
    with pytest.raises(WorkerSetupError) as info:
        run(RayEngine(workers=1), tmp_path, tmp_path / "r.sqlite", FakeScorerFactory(broken_model=True))
    assert str(info.value) == "/models/whisper-base: model.bin has the wrong sha256"


@pytest.mark.model
def test_ray_matches_local_on_the_real_pipeline(tmp_path, local_ray, samples_dir):
    from qa_pipeline.batch.jobs import PipelineScorerFactory
    from qa_pipeline.batch.ray_engine import RayEngine

    calls = tmp_path / "calls"
    calls.mkdir()
    for name in ("dev_call_04", "dev_call_10"):
        for suffix in (".wav", ".meta.json"):
            shutil.copy(samples_dir / f"{name}{suffix}", calls / f"{name}{suffix}")
    factory = PipelineScorerFactory()
    local = run(LocalEngine(workers=2), calls, tmp_path / "local.sqlite", factory)
    remote = run(RayEngine(workers=2), calls, tmp_path / "ray.sqlite", factory)
    assert local.exit_code == remote.exit_code == 0 and remote.scored == 2
    ray_rows, local_rows = stored_rows(tmp_path / "ray.sqlite"), stored_rows(tmp_path / "local.sqlite")
    # The same key, status and call facts, and the same verdict on every check. Transcript wording
    # is compared by its findings only: Whisper inside a Ray actor was seen to pick a different
    # near-tie token now and then (期/几) than in a local worker, with the same code and model;
    # local workers agree with each other exactly (test_ray_and_local_engines_store_the_same_results
    # keeps exact parity for the engines themselves).
    assert ray_rows.keys() == local_rows.keys()
    for source, row in ray_rows.items():
        local = local_rows[source]
        assert row[:6] == local[:6]
        assert verdicts(row[7]) == verdicts(local[7])
        assert [u["start_s"] for u in row[7]["utterances"]] == [u["start_s"] for u in local[7]["utterances"]]
    assert all(row[1] == "ok" and row[7]["utterances"] for row in ray_rows.values())


def verdicts(report: dict) -> dict:
    """Each check's pass/fail and the phrases it hit."""
    return {
        name: (check["passed"], sorted(hit["phrase"] for hit in check.get("hits", [])))
        for name, check in report["checks"].items()
    }
