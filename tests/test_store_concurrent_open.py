"""Several processes opening the same new results store at once (two ``qa batch`` runs started together).

A new store is switched to WAL on its first open; that switch needs the file to itself, and SQLite used
to answer "database is locked" at once to whichever process lost the race.
"""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path

from qa_pipeline.store.results import ResultStore

ROUNDS = 60
PROCESSES = 3


def _open_each_round(root: str, barrier, failures) -> None:  # runs in a child process
    from qa_pipeline.errors import StoreError
    for i in range(ROUNDS):
        barrier.wait()
        try:
            ResultStore(Path(root) / f"store{i}.sqlite").close()
        except StoreError as exc:
            failures.put(str(exc))


def test_processes_opening_one_new_store_together_all_succeed(tmp_path):
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(PROCESSES)
    failures = ctx.Queue()
    procs = [ctx.Process(target=_open_each_round, args=(str(tmp_path), barrier, failures))
             for _ in range(PROCESSES)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=120)
    assert all(proc.exitcode == 0 for proc in procs)
    errors = []
    while not failures.empty():
        errors.append(failures.get())
    assert errors == []
    for i in range(ROUNDS):
        with ResultStore(tmp_path / f"store{i}.sqlite") as store:
            assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
