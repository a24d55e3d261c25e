"""Issue 14: no process outlives the batch driver, and two batches on one store never do the work twice.

Real processes: a driver subprocess with real worker processes (the fake per-call function of
``batch_fakes``), killed with SIGKILL; two drivers started together on one store.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from batch_fakes import write_fake_call

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent

_DRIVER = textwrap.dedent("""
    import sys
    sys.path.insert(0, {tests!r})
    from pathlib import Path
    from batch_fakes import FakeScorerFactory
    from qa_pipeline.batch.driver import LocalEngine, run_batch
    from qa_pipeline.batch.jobs import discover_calls
    from qa_pipeline.store.results import ResultStore
    with ResultStore(Path({db!r}), mask_pii=False) as store:
        result = run_batch(discover_calls(Path({calls!r})), store, LocalEngine(workers=2),
                           FakeScorerFactory(delay_s={delay}))
    print(result.scored, result.skipped)
""")


def start_driver(calls: Path, db: Path, delay_s: float) -> subprocess.Popen:
    code = _DRIVER.format(tests=str(TESTS), db=str(db), calls=str(calls), delay=delay_s)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True, cwd=REPO, env=env)


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def stored(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=10) as conn:
            return conn.execute("SELECT COUNT(*) FROM calls").fetchone()[0]
    except sqlite3.Error:
        return 0


def test_sigkill_of_the_driver_leaves_no_worker_alive(tmp_path):
    calls = tmp_path / "calls"
    for i in range(20):
        write_fake_call(calls / f"c{i:02d}.wav", 0.1, salt=f"s{i:02d}-")
    db = tmp_path / "r.sqlite"
    driver = start_driver(calls, db, delay_s=0.5)
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while stored(db) < 2:  # the workers are up and scoring
            assert driver.poll() is None and time.monotonic() < deadline, driver.stderr.read()
            time.sleep(0.05)
        workers = [p for p in children_of(driver.pid) if "python" in Path(f"/proc/{p}/cmdline").read_bytes().decode(errors="replace")]
        assert len(workers) >= 2
        os.kill(driver.pid, signal.SIGKILL)  # the driver only, not its process group
        driver.wait(timeout=10)
        time.sleep(10)
        assert [p for p in workers if alive(p)] == []
    finally:
        for pid in workers:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        if driver.poll() is None:
            driver.kill()
            driver.wait()


def test_two_batches_on_one_store_score_each_call_once(tmp_path):
    calls = tmp_path / "calls"
    paths = [write_fake_call(calls / f"c{i:02d}.wav", 0.1, salt=f"s{i:02d}-") for i in range(12)]
    db = tmp_path / "r.sqlite"
    first = start_driver(calls, db, delay_s=0.2)
    second = start_driver(calls, db, delay_s=0.2)
    results = []
    for proc in (first, second):
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        results.append(tuple(map(int, out.split())))
    scored = sum(r[0] for r in results)
    assert scored == len(paths), results  # every call scored once, by one of the two runs
    assert sorted(r[1] for r in results) == [0, len(paths)]  # the run that waited skipped them all
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT source FROM calls").fetchall()
    assert sorted(r[0] for r in rows) == sorted(str(p.resolve()) for p in paths)


_RAY_DRIVER = textwrap.dedent("""
    import sys
    sys.path.insert(0, {tests!r})
    from pathlib import Path
    from batch_fakes import FakeScorerFactory
    from qa_pipeline.batch.driver import run_batch
    from qa_pipeline.batch.jobs import discover_calls
    from qa_pipeline.batch.ray_engine import RayEngine
    from qa_pipeline.store.results import ResultStore
    with ResultStore(Path({db!r}), mask_pii=False) as store:
        run_batch(discover_calls(Path({calls!r})), store, RayEngine(workers=2), FakeScorerFactory(delay_s={delay}))
""")


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")[:120]
    except OSError:
        return "?"


def descendants_of(pid: int) -> list[int]:
    found, frontier = [], [pid]
    while frontier:
        children = [c for p in frontier for c in children_of(p)]
        found.extend(children)
        frontier = children
    return found


@pytest.mark.ray
def test_sigkill_of_a_ray_batch_driver_leaves_no_ray_process_alive(tmp_path):
    pytest.importorskip("ray")
    calls = tmp_path / "calls"
    for i in range(30):
        write_fake_call(calls / f"c{i:02d}.wav", 0.1, salt=f"r{i:02d}-")
    db = tmp_path / "r.sqlite"
    code = _RAY_DRIVER.format(tests=str(TESTS), db=str(db), calls=str(calls), delay=0.5)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    driver = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              start_new_session=True, cwd=REPO, env=env)
    spawned: list[int] = []
    try:
        deadline = time.monotonic() + 240
        while stored(db) < 2:  # the private Ray cluster and its actors are up and scoring
            assert driver.poll() is None and time.monotonic() < deadline, driver.stderr.read()
            time.sleep(0.2)
        spawned = descendants_of(driver.pid)
        assert spawned
        os.kill(driver.pid, signal.SIGKILL)
        driver.wait(timeout=10)
        time.sleep(10)
        # Ray's workers (our actors and idle workers) are gone within 10 s ...
        left = [(p, cmdline(p)) for p in spawned if alive(p)]
        assert [(p, c) for p, c in left if "Agent" not in c] == []
        # ... while Ray's own node agents give up on the dead GCS only after Ray's 60 s reconnect timeout.
        deadline = time.monotonic() + 80
        while left and time.monotonic() < deadline:
            time.sleep(2)
            left = [(p, cmdline(p)) for p in spawned if alive(p)]
        assert left == []
    finally:
        for pid in spawned:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        if driver.poll() is None:
            driver.kill()
            driver.wait()
