"""Batch scoring: discovery, the local engine, resumability, crash safety, failure isolation.

Most tests inject the cheap per-call function of ``batch_fakes`` into real worker processes and a real
SQLite file; the real pipeline runs in the few ``model`` tests at the end.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from batch_fakes import FakeScorerFactory, expected_score, write_fake_call
from qa_pipeline.batch.jobs import CallOutcome, discover_calls
from qa_pipeline.batch.driver import BatchProgress, LocalEngine, WorkerSetupError, default_workers, run_batch, threads_per_worker
from qa_pipeline.errors import MetaError, QAError
from qa_pipeline.store.results import ResultStore

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent


def make_calls(root: Path, count: int, seconds: float = 1.0) -> list[Path]:
    return [
        write_fake_call(root / f"day{i % 2}" / f"call_{i:03d}.wav", seconds, salt=f"call {i}",
                        meta={"call_id": f"CALL-{i:03d}", "agent_id": f"{1000 + i % 3}",
                              "direction": "inbound", "started_at": "2024-11-04T09:00:00+08:00"})
        for i in range(count)
    ]


# -- discovery ---------------------------------------------------------------------------------


def test_discovery_finds_audio_recursively_in_order(tmp_path):
    make_calls(tmp_path, 3)
    (tmp_path / "day0" / "notes.txt").write_text("not a call")
    (tmp_path / "upper.WAV").write_bytes(b"RIFF")
    (tmp_path / "deep" / "er").mkdir(parents=True)
    (tmp_path / "deep" / "er" / "x.flac").write_bytes(b"fLaC")
    found = [j.audio_path.relative_to(tmp_path).as_posix() for j in discover_calls(tmp_path)]
    assert found == ["day0/call_000.wav", "day0/call_002.wav", "day1/call_001.wav", "deep/er/x.flac",
                     "upper.WAV"]


def test_a_manifest_gives_paths_and_metadata(tmp_path):
    write_fake_call(tmp_path / "audio" / "a.wav", 1.0)
    manifest = tmp_path / "calls.csv"
    manifest.write_text("audio,call_id,agent_id,direction,started_at\n"
                        "audio/a.wav,M-1,4471,outbound,2024-11-05T10:00:00+08:00\n"
                        "audio/b.wav,M-2,,sideways,\n", encoding="utf-8")
    first, second = discover_calls(manifest)
    assert first.audio_path == tmp_path / "audio" / "a.wav"
    meta = first.load_meta()
    assert (meta.call_id, meta.agent_id, meta.direction.value) == ("M-1", "4471", "outbound")
    with pytest.raises(MetaError) as info:
        second.load_meta()  # a bad row fails its own call, not the batch
    assert info.value.source == f"{manifest}:3"


def test_a_manifest_without_an_audio_column_is_refused_with_its_line(tmp_path):
    manifest = tmp_path / "calls.csv"
    manifest.write_text("name,direction\ndev_call_01,inbound\n", encoding="utf-8")
    with pytest.raises(MetaError) as info:
        discover_calls(manifest)
    assert info.value.one_line() == f"{manifest}:1: manifest needs a header row with an 'audio' column"


def test_a_missing_directory_is_one_error(tmp_path):
    with pytest.raises(QAError, match="not a directory"):
        discover_calls(tmp_path / "nope")


def test_workers_split_the_cores():
    assert default_workers(cores=2) == 2
    assert threads_per_worker(2, cores=2) == 1
    assert threads_per_worker(1, cores=2) == 2
    assert threads_per_worker(3, cores=2) == 1
    with pytest.raises(ValueError):
        threads_per_worker(0, cores=2)


def test_progress_rate_and_eta():
    progress = BatchProgress(found=12, skipped=2, to_score=10, started_monotonic=100.0)
    assert progress.eta_s(now=130.0) is None
    for ok in (True, True, False):
        progress = progress.advanced(CallOutcome(0, {} if ok else None, None, None if ok else "x", 1.0, 60.0))
    assert (progress.done, progress.failed, progress.audio_s) == (3, 1, 180.0)
    assert progress.calls_per_minute(now=130.0) == pytest.approx(6.0)
    assert progress.eta_s(now=130.0) == pytest.approx(70.0)


# -- the local engine with the fake per-call function ------------------------------------------


def test_batch_stores_every_call_and_isolates_a_corrupt_one(tmp_path):
    calls = make_calls(tmp_path / "calls", 5)
    corrupt = tmp_path / "calls" / "day0" / "corrupt.wav"
    corrupt.write_bytes(b"this is not audio at all\n" * 10)
    seen = []
    with ResultStore(tmp_path / "r.sqlite", mask_pii=False) as store:
        result = run_batch(discover_calls(tmp_path / "calls"), store, LocalEngine(workers=2),
                           FakeScorerFactory(), hook=lambda p, o: seen.append(p))
        stored = {c.source: c for c in store.iter_calls()}
    assert result.exit_code == 3
    assert [f.error for f in result.failures] == [f"{corrupt}: not an audio file (unknown format)"]
    assert (result.found, result.scored, result.skipped) == (6, 6, 0)
    assert stored[str(corrupt)].status == "failed"
    for path in calls:
        call = stored[str(path.resolve())]
        assert (call.status, call.score) == ("ok", expected_score(path))
        assert call.call_id == "CALL-" + path.stem[-3:] and call.started_at.startswith("2024-11-04")
    assert [p.done for p in seen] == list(range(7)) and seen[-1].failed == 1 and seen[-1].to_score == 6


def test_rerun_skips_done_calls_and_a_policy_change_rescores(tmp_path):
    make_calls(tmp_path / "calls", 4)
    jobs = discover_calls(tmp_path / "calls")
    with ResultStore(tmp_path / "r.sqlite", mask_pii=False) as store:
        first = run_batch(jobs, store, LocalEngine(workers=1), FakeScorerFactory())
        again = run_batch(jobs, store, LocalEngine(workers=1), FakeScorerFactory())
        assert (first.scored, again.scored, again.skipped, again.exit_code) == (4, 0, 4, 0)
        assert store.count() == 4
        new_policy = run_batch(jobs, store, LocalEngine(workers=1), FakeScorerFactory(policy_id="policy-2"))
        assert (new_policy.scored, new_policy.skipped) == (4, 0)
        assert store.count() == 8
        assert {c.key.policy_id for c in store.iter_calls()} == {"policy-2"}


def test_identical_audio_twice_is_scored_once(tmp_path):
    a = write_fake_call(tmp_path / "a.wav", 1.0, salt="same")
    (tmp_path / "copy_of_a.wav").write_bytes(a.read_bytes())
    with ResultStore(tmp_path / "r.sqlite", mask_pii=False) as store:
        result = run_batch(discover_calls(tmp_path), store, LocalEngine(workers=1), FakeScorerFactory())
        assert (result.found, result.scored, result.skipped, store.count()) == (2, 1, 1, 1)


def test_an_unreadable_file_is_a_failed_call(tmp_path):
    write_fake_call(tmp_path / "a.wav", 1.0)
    manifest = tmp_path / "m.csv"
    manifest.write_text("audio\na.wav\ngone.wav\n", encoding="utf-8")
    with ResultStore(tmp_path / "r.sqlite", mask_pii=False) as store:
        result = run_batch(discover_calls(manifest), store, LocalEngine(workers=1), FakeScorerFactory())
        assert store.count("ok") == 1 and store.count("failed") == 1
    assert [f.error for f in result.failures] == [f"{tmp_path / 'gone.wav'}: cannot read the file: "
                                                  "No such file or directory"]


def test_a_call_that_kills_its_worker_is_failed_and_the_rest_go_on(tmp_path):
    make_calls(tmp_path, 3)
    (tmp_path / "poison.wav").write_bytes(b"CRASH" + b"\0" * 100)
    with ResultStore(tmp_path / "r.sqlite", mask_pii=False) as store:
        result = run_batch(discover_calls(tmp_path), store, LocalEngine(workers=2), FakeScorerFactory())
        assert store.count("ok") == 3 and store.count("failed") == 1
    assert [f.error for f in result.failures] == [
        f"{tmp_path / 'poison.wav'}: the worker process died while scoring this call"]


def test_a_worker_that_cannot_load_its_model_stops_the_batch_with_one_line(tmp_path):
    make_calls(tmp_path, 2)
    with ResultStore(tmp_path / "r.sqlite", mask_pii=False) as store:
        with pytest.raises(WorkerSetupError) as info:
            run_batch(discover_calls(tmp_path), store, LocalEngine(workers=1),
                      FakeScorerFactory(broken_model=True))
        assert store.count() == 0
    assert str(info.value) == "/models/whisper-base: model.bin has the wrong sha256"


# -- crash safety: kill -9 the whole batch at arbitrary moments ---------------------------------

_DRIVER = textwrap.dedent("""
    import sys
    sys.path.insert(0, {tests!r})
    from pathlib import Path
    from batch_fakes import FakeScorerFactory
    from qa_pipeline.batch.jobs import discover_calls
    from qa_pipeline.batch.driver import LocalEngine, run_batch
    from qa_pipeline.store.results import ResultStore
    with ResultStore(Path({db!r}), mask_pii=False) as store:
        result = run_batch(discover_calls(Path({calls!r})), store, LocalEngine(workers=2),
                           FakeScorerFactory(delay_s={delay}))
    print(result.scored, result.skipped)
""")


def _start_driver(calls: Path, db: Path, delay_s: float) -> subprocess.Popen:
    code = _DRIVER.format(tests=str(TESTS), db=str(db), calls=str(calls), delay=delay_s)
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                            start_new_session=True, cwd=REPO)


def _stored(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=10) as conn:
            return conn.execute("SELECT COUNT(*) FROM calls").fetchone()[0]
    except sqlite3.OperationalError:  # schema not created yet
        return 0


def _kill_after(proc: subprocess.Popen, db: Path, stored_at_least: int, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while _stored(db) < stored_at_least:
        if proc.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"batch ended or stalled before {stored_at_least} calls were stored")
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and its workers, as a power cut would
    proc.wait(timeout=30)


def test_kill_minus_9_then_rerun_stores_every_call_exactly_once(tmp_path):
    calls = tmp_path / "calls"
    paths = make_calls(calls, 24, seconds=0.1)
    db = tmp_path / "r.sqlite"
    for stop_at in (3, 11):
        _kill_after(_start_driver(calls, db, delay_s=0.15), db, stop_at)
    killed_with = _stored(db)
    proc = _start_driver(calls, db, delay_s=0.0)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0
    scored, skipped = map(int, out.split())
    assert skipped == killed_with and scored + skipped == 24
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = conn.execute("SELECT source, status, score FROM calls").fetchall()
    assert sorted(r[0] for r in rows) == sorted(str(p.resolve()) for p in paths)
    assert all(status == "ok" for _, status, _ in rows)
    assert {r[0]: r[2] for r in rows} == {str(p.resolve()): expected_score(p) for p in paths}



# -- the commands ------------------------------------------------------------------------------

def run_qa(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "qa_pipeline.cli", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=REPO)


def _filled_db(tmp_path: Path) -> Path:
    make_calls(tmp_path / "calls", 3)
    (tmp_path / "calls" / "bad.wav").write_bytes(b"nope" * 10)
    db = tmp_path / "r.sqlite"
    with ResultStore(db) as store:
        run_batch(discover_calls(tmp_path / "calls"), store, LocalEngine(workers=1), FakeScorerFactory())
    return db


def test_qa_report_and_export_write_their_files(tmp_path):
    db = _filled_db(tmp_path)
    report = run_qa("report", "--db", str(db), "--date", "2024-11-04", "--out", str(tmp_path / "d.html"))
    assert report.returncode == 0, report.stderr
    # bad.wav has no metadata, so it belongs to the day it was scored, not to 2024-11-04.
    assert report.stderr.strip() == f"wrote {tmp_path / 'd.html'} (3 calls)"
    assert 'id="agents"' in (tmp_path / "d.html").read_text(encoding="utf-8")
    export = run_qa("export", "--db", str(db), "--format", "jsonl")
    assert export.returncode == 0, export.stderr
    records = [json.loads(line) for line in export.stdout.splitlines()]
    assert sorted(r["status"] for r in records) == ["failed", "ok", "ok", "ok"]
    csv_out = run_qa("export", "--db", str(db), "--format", "csv", "--out", str(tmp_path / "x.csv"))
    assert csv_out.returncode == 0 and len((tmp_path / "x.csv").read_text().splitlines()) == 5


@pytest.mark.parametrize("args,message", [
    (("report", "--db", "{tmp}/missing.sqlite"), "error: {tmp}/missing.sqlite: results store not found"),
    (("export", "--db", "{db}", "--date", "4.11.2024"), "error: --date must be YYYY-MM-DD, not '4.11.2024'"),
    (("batch", "{tmp}/no_such_dir", "--db", "{tmp}/b.sqlite"), "error: {tmp}/no_such_dir: not a directory or a .csv manifest"),
    (("batch", "{tmp}/calls", "--db", "{tmp}/calls/day0/call_000.wav"),
     "error: {tmp}/calls/day0/call_000.wav: cannot open results store: file is not a database"),
])
def test_bad_command_input_is_one_line_and_exit_2(tmp_path, args, message):
    db = _filled_db(tmp_path)
    result = run_qa(*(a.format(tmp=tmp_path, db=db) for a in args))
    assert result.returncode == 2
    assert result.stderr.strip() == message.format(tmp=tmp_path)


@pytest.mark.model
def test_qa_batch_on_real_calls_with_a_corrupt_one_then_rerun(tmp_path, samples_dir):
    import shutil

    calls = tmp_path / "calls"
    calls.mkdir()
    for name in ("dev_call_04", "dev_call_10"):
        for suffix in (".wav", ".meta.json"):
            shutil.copy(samples_dir / f"{name}{suffix}", calls / f"{name}{suffix}")
    (calls / "truncated.wav").write_bytes((samples_dir / "dev_call_10.wav").read_bytes()[:30])
    db = tmp_path / "results.sqlite"
    first = run_qa("batch", str(calls), "--db", str(db), "--workers", "2")
    assert first.returncode == 3, first.stderr
    failed_lines = [line for line in first.stderr.splitlines() if line.startswith("failed: ")]
    assert len(failed_lines) == 1 and failed_lines[0].startswith(f"failed: {calls / 'truncated.wav'}: ")
    with ResultStore(db) as store:
        by_name = {Path(c.source).name: c for c in store.iter_calls()}
        assert store.integrity_ok()
    assert {n: c.status for n, c in by_name.items()} == {
        "dev_call_04.wav": "ok", "dev_call_10.wav": "ok", "truncated.wav": "failed"}
    assert by_name["truncated.wav"].error == failed_lines[0][len("failed: "):]
    report = by_name["dev_call_04.wav"].report
    assert report["agent_id"] == "6619" and report["checks"]["closing"]["passed"] is False  # no closing
    assert by_name["dev_call_10.wav"].report["checks"]["greeting"]["passed"] is True
    again = run_qa("batch", str(calls), "--db", str(db), "--workers", "2")
    assert again.returncode == 3
    assert "3 calls found, 2 already scored" in again.stderr
    with ResultStore(db) as store:
        assert store.count() == 3
