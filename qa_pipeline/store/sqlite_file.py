"""A private SQLite file: created readable by its owner only, switched to WAL once, written in
immediate transactions (the results store and the workbench tables alike), and guarded by an OS file
lock that dies with its process."""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import time
from pathlib import Path
from typing import Callable, Iterator

from qa_pipeline.errors import StoreError

__all__ = ["STORE_FILE_MODE", "create_private", "exclusive_lock", "transaction", "use_wal"]

#: Store, WAL and lock files: owner only.
STORE_FILE_MODE = 0o600


def create_private(path: Path) -> None:
    """Create an empty store file readable by its owner only (SQLite's WAL files copy its mode)."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, STORE_FILE_MODE))
    except FileExistsError:
        pass
    except OSError as exc:
        raise StoreError(f"cannot create results store: {exc.strerror}", str(path)) from None


def use_wal(db: sqlite3.Connection, wait_s: float = 30.0) -> None:
    """Put the store in WAL mode once; later opens find it there and change nothing.

    Switching the journal mode needs the file to itself, and SQLite answers "database is locked" at
    once rather than waiting on the busy timeout when another process is opening the same new store.
    So the switch is retried for up to ``wait_s``; once a file is in WAL, the mode is persistent.
    """
    deadline = time.monotonic() + wait_s
    last = "database is locked"
    while True:
        try:
            if db.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
                return
            if db.execute("PRAGMA journal_mode=WAL").fetchone()[0] == "wal":
                return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            last = str(exc)
        if time.monotonic() > deadline:
            raise sqlite3.OperationalError(f"could not switch the store to WAL mode: {last}")
        time.sleep(0.05)


@contextlib.contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


@contextlib.contextmanager
def exclusive_lock(lock_path: Path, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold an exclusive OS lock on ``lock_path`` (created owner-only); a second holder waits.

    ``on_wait`` is called once if another process holds it. The OS drops the lock when its process
    ends, even by ``kill -9``.
    """
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, STORE_FILE_MODE)
    except OSError as exc:
        raise StoreError(f"cannot create the batch lock file: {exc.strerror}", str(lock_path)) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait()
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock
